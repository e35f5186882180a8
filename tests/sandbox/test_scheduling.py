"""Does the sandbox schedule like a real cluster?"""

from __future__ import annotations

from kubelab.kube_api import KubeApi
from kubelab.objects import is_ready
from kubelab.waiting import wait_for
from tests.helpers import apply_yaml

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {{matchLabels: {{app: web}}}}
            topologyKey: kubernetes.io/hostname
      containers: [{{name: web, image: nginx:1.27}}]
"""


def test_required_anti_affinity_spreads_three_replicas_and_a_fourth_stays_pending(kube_api: KubeApi,
                                                                                   namespace: str) -> None:
    """Are 3 replicas placed on 3 distinct nodes, and is a 4th left Pending by the scheduler?"""
    apply_yaml(kube_api, DEPLOYMENT.format(replicas=3), namespace)
    pods = wait_for(kube_api, "v1", "Pod", lambda ps: len([p for p in ps if is_ready(p)]) == 3,
                    namespace=namespace, what="3 pods prêts")
    assert all(p["status"]["phase"] == "Running" for p in pods)
    assert len({p["spec"]["nodeName"] for p in pods}) == 3

    apply_yaml(kube_api, DEPLOYMENT.format(replicas=4), namespace)

    def one_unschedulable(ps: list[dict]) -> bool:
        return any(
            c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable"
            for p in ps for c in p.get("status", {}).get("conditions", [])
        )

    pods = wait_for(kube_api, "v1", "Pod", one_unschedulable, namespace=namespace, what="un pod non planifiable")
    pending = [p for p in pods if p["status"]["phase"] == "Pending"]
    assert len(pending) == 1
    events = wait_for(
        kube_api, "events.k8s.io/v1", "Event",
        lambda es: any(e.get("reason") == "FailedScheduling" for e in es), namespace=namespace,
        what="l'événement FailedScheduling",
    )
    notes = [e.get("note", "") for e in events if e.get("reason") == "FailedScheduling"]
    assert any("anti-affinity" in note for note in notes), notes
