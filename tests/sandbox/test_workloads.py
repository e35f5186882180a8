"""Do the real controllers run: CronJobs, EndpointSlices, ResourceQuota?"""

from __future__ import annotations

from kubelab.kube_api import KubeApi
from kubelab.waiting import wait_for
from tests.helpers import apply_yaml

SERVICE = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers: [{name: shop, image: nginx:1.27, ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Pod
metadata:
  name: shop-broken
  labels: {app: shop}
  annotations: {sandbox.kubelab.io/simulate: unready}
spec:
  containers: [{name: shop, image: nginx:1.27, ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  selector: {app: shop}
  ports: [{port: 80, targetPort: 80}]
"""


def test_service_endpoint_slices_list_ready_and_unready_pods(kube_api: KubeApi, namespace: str) -> None:
    """Does a Service get EndpointSlices with its Ready pods marked ready, and the others not?"""
    apply_yaml(kube_api, SERVICE, namespace)

    def three_endpoints(slices: list[dict]) -> bool:
        return sum(len(s.get("endpoints") or []) for s in slices) == 3

    slices = wait_for(kube_api, "discovery.k8s.io/v1", "EndpointSlice", three_endpoints, namespace=namespace,
                      label_selector="kubernetes.io/service-name=shop", what="les EndpointSlices de shop")
    endpoints = [e for s in slices for e in s["endpoints"]]
    ready = sorted(e["targetRef"]["name"] for e in endpoints if e["conditions"]["ready"])
    not_ready = [e["targetRef"]["name"] for e in endpoints if not e["conditions"]["ready"]]
    assert len(ready) == 2 and all(name.startswith("shop-") for name in ready)
    assert not_ready == ["shop-broken"]
    assert all(a.startswith("10.1.") for e in endpoints for a in e["addresses"])


def test_resource_quota_reports_usage(kube_api: KubeApi, namespace: str) -> None:
    """Does a ResourceQuota's status count the pods of its namespace?"""
    apply_yaml(kube_api, """
apiVersion: v1
kind: ResourceQuota
metadata: {name: small}
spec:
  hard: {pods: "5", requests.cpu: "1"}
---
apiVersion: v1
kind: Pod
metadata: {name: one}
spec:
  containers: [{name: c, image: nginx:1.27, resources: {requests: {cpu: 100m}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: two}
spec:
  containers: [{name: c, image: nginx:1.27, resources: {requests: {cpu: 200m}}}]
""", namespace)
    quotas = wait_for(kube_api, "v1", "ResourceQuota",
                      lambda qs: bool(qs) and qs[0].get("status", {}).get("used", {}).get("pods") == "2",
                      namespace=namespace, what="l'usage du quota")
    assert quotas[0]["status"]["used"]["requests.cpu"] == "300m"


def test_cronjob_creates_jobs_that_complete(kube_api: KubeApi, namespace: str) -> None:
    """Does a CronJob scheduled every minute create a Job whose pod completes?"""
    apply_yaml(kube_api, """
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: tick, image: busybox:1.36, command: [date]}]
""", namespace)
    jobs = wait_for(kube_api, "batch/v1", "Job",
                    lambda js: any(j.get("status", {}).get("succeeded") == 1 for j in js),
                    namespace=namespace, timeout="job_created", what="un Job terminé créé par le CronJob")
    assert jobs[0]["metadata"]["ownerReferences"][0]["name"] == "tick"
