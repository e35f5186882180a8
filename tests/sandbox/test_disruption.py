"""Does draining a node respect a PodDisruptionBudget, as with « kubectl drain »?"""

from __future__ import annotations

import pytest

from kubelab.kube_api import KubeApi, RefusedError
from kubelab.objects import is_ready
from kubelab.waiting import wait_for
from tests.helpers import apply_yaml

APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: ScheduleAnyway
        labelSelector: {{matchLabels: {{app: api}}}}
      containers: [{{name: api, image: nginx:1.27}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: api}}
spec:
  minAvailable: {min_available}
  selector: {{matchLabels: {{app: api}}}}
"""


def _evict(api: KubeApi, namespace: str, pod: str) -> None:
    api.post(f"/api/v1/namespaces/{namespace}/pods/{pod}/eviction", {
        "apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": namespace}})


def _budget_settled(healthy: int, allowed: int):
    def check(budgets: list[dict]) -> bool:
        status = budgets[0].get("status", {}) if budgets else {}
        return (status.get("observedGeneration") == budgets[0]["metadata"]["generation"]
                and status.get("currentHealthy") == healthy and status.get("disruptionsAllowed") == allowed)
    return check


def test_drain_respects_the_budget_and_pods_move_elsewhere(kube_api: KubeApi, namespace: str) -> None:
    """Is an eviction that would break minAvailable refused, and an allowed one rescheduled elsewhere?"""
    apply_yaml(kube_api, APP.format(min_available=3), namespace)
    pods = wait_for(kube_api, "v1", "Pod", lambda ps: sum(is_ready(p) for p in ps) == 3, namespace=namespace)
    wait_for(kube_api, "policy/v1", "PodDisruptionBudget", _budget_settled(3, 0), namespace=namespace)
    node = pods[0]["spec"]["nodeName"]
    victims = [p["metadata"]["name"] for p in pods if p["spec"]["nodeName"] == node]
    kube_api.request("PATCH", f"/api/v1/nodes/{node}", body={"spec": {"unschedulable": True}},
                     content_type="application/merge-patch+json")
    try:
        with pytest.raises(RefusedError) as refused:
            _evict(kube_api, namespace, victims[0])
        assert refused.value.status == 429
        assert "disruption budget" in str(refused.value)

        apply_yaml(kube_api, APP.format(min_available=2), namespace)
        wait_for(kube_api, "policy/v1", "PodDisruptionBudget", _budget_settled(3, 1), namespace=namespace)
        for victim in victims:
            _evict(kube_api, namespace, victim)
            wait_for(kube_api, "v1", "Pod",
                     lambda ps, gone=victim: all(p["metadata"]["name"] != gone for p in ps)
                     and sum(is_ready(p) for p in ps if not p["metadata"].get("deletionTimestamp")) == 3,
                     namespace=namespace, timeout="rollout", what="le remplacement du pod évincé")
        pods = kube_api.list("v1", "Pod", namespace)
        assert len(pods) == 3
        assert all(p["spec"]["nodeName"] != node for p in pods)
    finally:
        kube_api.request("PATCH", f"/api/v1/nodes/{node}", body={"spec": {"unschedulable": None}},
                         content_type="application/merge-patch+json")
