"""Lab 05's exercises on the sandbox: the drain keeps `web` available; one node is not HA."""

from __future__ import annotations

import uuid
from pathlib import Path

from kubelab.catalog import load_lab
from kubelab.grading import grade_live
from kubelab.kube_api import KubeApi
from kubelab.lab_setup import apply_variant, setup
from kubelab.objects import is_ready
from kubelab.waiting import scaled, wait_for

LAB = "05-haute-disponibilite"


def _ready_web_pods(api: KubeApi, namespace: str) -> list[dict]:
    return [p for p in api.list("v1", "Pod", namespace, label_selector="app=web")
            if is_ready(p) and not p["metadata"].get("deletionTimestamp")]


def _set_unschedulable(api: KubeApi, node: str, value: bool) -> None:
    api.request("PATCH", f"/api/v1/nodes/{node}", body={"spec": {"unschedulable": value}},
                content_type="application/merge-patch+json")


def test_draining_a_node_keeps_web_available(kube_api: KubeApi, namespace: str) -> None:
    """During « kubectl drain », does the PDB keep two pods ready, and does uncordon restore full marks?"""
    lab = load_lab(LAB)
    setup(kube_api, lab, namespace)
    apply_variant(kube_api, lab, "solution", namespace)
    assert grade_live(LAB, kube_api, namespace, wait=scaled(30)).score == lab.max_points
    wait_for(kube_api, "policy/v1", "PodDisruptionBudget",
             lambda b: bool(b) and b[0].get("status", {}).get("disruptionsAllowed") == 1, namespace=namespace)
    node = _ready_web_pods(kube_api, namespace)[0]["spec"]["nodeName"]
    _set_unschedulable(kube_api, node, True)
    try:
        for pod in [p for p in _ready_web_pods(kube_api, namespace) if p["spec"]["nodeName"] == node]:
            kube_api.post(f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}/eviction", {
                "apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": pod["metadata"]["name"], "namespace": namespace}})
        assert len(_ready_web_pods(kube_api, namespace)) >= 2, "le drain a fait tomber l'application"
        during = grade_live(LAB, kube_api, namespace, wait=2)
        assert {"web-replicas-ready", "nodes-schedulable"} <= during.failed_ids()
        assert f"(trouvé : `{node}`)" in during.result("nodes-schedulable").message.replace("\u00a0", " ")
    finally:
        _set_unschedulable(kube_api, node, False)
    after = grade_live(LAB, kube_api, namespace, wait=scaled(30))
    assert after.score == lab.max_points, [(r.check.id, r.message) for r in after.results if r.points == 0]


def test_a_single_node_cluster_is_not_highly_available(tmp_path: Path) -> None:
    """On a one-node MicroK8s, are the HA checks failed with the observed counts, and spreading impossible?"""
    from kubelab.sandbox.cluster import Sandbox

    sandbox = Sandbox(f"single-{uuid.uuid4().hex[:5]}", root=tmp_path)
    sandbox.up(nodes=1, addons=("dns",), progress=lambda _: None)
    try:
        api = sandbox.api()
        lab = load_lab(LAB)
        setup(api, lab, lab.namespace)
        apply_variant(api, lab, "solution", lab.namespace)
        report = grade_live(LAB, api, wait=3)
        assert {"ha-control-plane-nodes", "ha-formed", "web-replicas-ready", "web-pods-distinct-nodes",
                "web-service-endpoints"} <= report.failed_ids()
        assert "(trouvé : 1 prêt(s))" in report.result("ha-control-plane-nodes").message.replace("\u00a0", " ")
        assert "(trouvé : 1, d'après les nœuds" in report.result("ha-formed").message.replace("\u00a0", " ")
        assert report.result("web-spread-required").outcome.value == "passed"
    finally:
        sandbox.down(progress=lambda _: None)
