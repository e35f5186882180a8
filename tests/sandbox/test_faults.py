"""Do the sandbox's failure stages look like a real kubelet's?"""

from __future__ import annotations

from kubelab.kube_api import KubeApi
from kubelab.waiting import named, wait_for
from tests.helpers import apply_yaml


def _waiting_reason(pod: dict) -> str:
    statuses = pod.get("status", {}).get("containerStatuses") or [{}]
    return statuses[0].get("state", {}).get("waiting", {}).get("reason", "")


def _restarts(pod: dict) -> int:
    statuses = pod.get("status", {}).get("containerStatuses") or [{}]
    return int(statuses[0].get("restartCount", 0))


def test_marked_pod_crash_loops_with_rising_restart_count(kube_api: KubeApi, namespace: str) -> None:
    """Does a pod marked to crash show CrashLoopBackOff with a restartCount that keeps rising?"""
    apply_yaml(kube_api, """
apiVersion: v1
kind: Pod
metadata:
  name: api
  annotations: {sandbox.kubelab.io/crash-unless-env: DATABASE_URL}
spec:
  containers: [{name: api, image: busybox:1.36}]
""", namespace)
    pods = wait_for(kube_api, "v1", "Pod", named("api", lambda p: _waiting_reason(p) == "CrashLoopBackOff"),
                    namespace=namespace)
    first = _restarts(pods[0])
    pods = wait_for(kube_api, "v1", "Pod", named("api", lambda p: _restarts(p) >= first + 2), namespace=namespace)
    pod = pods[0]
    assert pod["status"]["phase"] == "Running"
    assert pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 1
    ready = [c for c in pod["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "False"


def test_env_fix_stops_the_crash(kube_api: KubeApi, namespace: str) -> None:
    """Does the same pod run normally once the variable it needs is set?"""
    apply_yaml(kube_api, """
apiVersion: v1
kind: Pod
metadata:
  name: api
  annotations: {sandbox.kubelab.io/crash-unless-env: DATABASE_URL}
spec:
  containers:
  - name: api
    image: busybox:1.36
    env: [{name: DATABASE_URL, value: "postgres://db:5432/app"}]
""", namespace)
    wait_for(kube_api, "v1", "Pod", named("api", lambda p: _restarts(p) == 0 and p["status"].get("phase") == "Running"
                                          and p["status"]["containerStatuses"][0]["ready"]), namespace=namespace)


def test_env_from_a_declared_source_stops_the_crash(kube_api: KubeApi, namespace: str) -> None:
    """Does `envFrom` of a ConfigMap the pod says holds the variable stop the crash, while a prefix or
    another ConfigMap does not?"""
    template = """
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  annotations: {{sandbox.kubelab.io/crash-unless-env: DATABASE_URL, sandbox.kubelab.io/env-sources: api-config}}
spec:
  containers:
  - name: api
    image: busybox:1.36
    envFrom: [{source}]
"""
    apply_yaml(kube_api, template.format(name="bon", source="{configMapRef: {name: api-config}}"), namespace)
    apply_yaml(kube_api, template.format(name="prefixe", source="{configMapRef: {name: api-config}, prefix: APP_}"),
               namespace)
    apply_yaml(kube_api, template.format(name="autre", source="{configMapRef: {name: autre}}"), namespace)
    wait_for(kube_api, "v1", "Pod", lambda pods: {
        p["metadata"]["name"]: (p["status"].get("containerStatuses") or [{}])[0].get("ready") is True
        or _waiting_reason(p) for p in pods} == {"bon": True, "prefixe": "CrashLoopBackOff",
                                                 "autre": "CrashLoopBackOff"},
        namespace=namespace, what="le crash des pods sans la variable, et pas des autres")


def test_unpullable_image_and_failing_readiness(kube_api: KubeApi, namespace: str) -> None:
    """Does an image on a .invalid registry give ImagePullBackOff, and a marked pod stay unready?"""
    apply_yaml(kube_api, """
apiVersion: v1
kind: Pod
metadata: {name: worker}
spec:
  containers: [{name: worker, image: registry.lab.invalid/worker:1.0}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations: {sandbox.kubelab.io/simulate: unready}
spec:
  containers: [{name: web, image: nginx:1.27}]
""", namespace)
    pods = wait_for(kube_api, "v1", "Pod", named("worker", lambda p: _waiting_reason(p) == "ImagePullBackOff"),
                    namespace=namespace)
    worker = next(p for p in pods if p["metadata"]["name"] == "worker")
    assert worker["status"]["phase"] == "Pending"
    assert "registry.lab.invalid/worker:1.0" in worker["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
    pods = wait_for(kube_api, "v1", "Pod", named("web", lambda p: p["status"].get("phase") == "Running"),
                    namespace=namespace)
    web = next(p for p in pods if p["metadata"]["name"] == "web")
    assert not web["status"]["containerStatuses"][0]["ready"]
