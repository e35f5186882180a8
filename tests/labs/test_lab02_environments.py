"""Lab 02: the clean slate of the environment namespaces, the `environment` label in another
namespace than `dev`, and what counts as the quota's refusal."""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.catalog import load_lab
from kubelab.cluster_state import SnapshotState
from kubelab.kube_api import ApiError, KubeApi
from kubelab.lab_setup import setup
from kubelab.labs import lab02_organiser_lab as lab02
from kubelab.waiting import wait_for

LAB = load_lab("02-organiser-lab")


def _namespace(name: str, marked: bool) -> dict[str, Any]:
    annotations = {lab02.MARKER: lab02.LAB_ID} if marked else {}
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"environment": "staging"}, "annotations": annotations}}


def _names(api: KubeApi) -> set[str]:
    return {n["metadata"]["name"] for n in api.list("v1", "Namespace")}


def test_setup_deletes_only_the_reference_namespaces(kube_api: KubeApi, namespace: str) -> None:
    """Does « lab setup » delete the environment namespaces the reference solution made, and keep a learner's own?"""
    kube_api.apply(_namespace("staging", marked=True))
    kube_api.apply(_namespace("monitoring", marked=False))
    try:
        setup(kube_api, LAB, namespace)
        names = _names(kube_api)
        assert "staging" not in names and "monitoring" in names and namespace in names
    finally:
        kube_api.delete("v1", "Namespace", "monitoring")
        wait_for(kube_api, "v1", "Namespace", lambda items: all(n["metadata"]["name"] != "monitoring" for n in items),
                 timeout="deletion", what="la suppression du namespace monitoring")


def _state(namespace: str, label: str) -> SnapshotState:
    lists: dict[str, list[dict[str, Any]]] = {read.key(namespace): [] for read in LAB.reads}
    lists[f"v1/Event@{namespace}"] = []
    lists["v1/Namespace@cluster"] = [
        {"metadata": {"name": namespace, "labels": {"environment": label}}},
        *({"metadata": {"name": name, "labels": {"environment": env}}} for name, env in lab02.OTHER_NAMESPACES.items()),
    ]
    return SnapshotState(namespace, LAB.reads, LAB.probes, lists, {}, {})


@pytest.mark.parametrize(("namespace", "label", "ok"), [
    ("dev", "dev", True), ("dev", "prod", False),
    ("etudiant-3", "dev", True), ("etudiant-3", "etudiant-3", True), ("etudiant-3", "staging", False),
])
def test_lab_namespace_environment_label(namespace: str, label: str, ok: bool) -> None:
    """In another namespace than `dev`, is `environment` = `dev` or that namespace's name (as the notebook writes it)
    accepted?"""
    verdict = lab02.namespaces_labeled(_state(namespace, label))
    assert verdict.passed is ok, verdict.message


class _Api:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def create(self, obj: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
        assert dry_run
        if self.error:
            raise self.error
        return obj


def test_only_the_quota_403_is_a_refusal() -> None:
    """Is a 403 « exceeded quota » the learner's quota at work, while a 403 from RBAC stays an infrastructure error?"""
    quota = ApiError("403", 403, "Forbidden", {"message": 'pods "gourmand" is forbidden: exceeded quota: dev-quota'})
    assert lab02.greedy_pod_answer(_Api(quota), "dev")["refused"] is True  # type: ignore[arg-type]
    assert lab02.greedy_pod_answer(_Api(None), "dev")["refused"] is False  # type: ignore[arg-type]
    rbac = ApiError("403", 403, "Forbidden", {"message": 'pods is forbidden: User "x" cannot create resource'})
    with pytest.raises(ApiError):
        lab02.greedy_pod_answer(_Api(rbac), "dev")  # type: ignore[arg-type]


def test_the_probe_knows_which_quota_status_must_refuse_the_greedy_pod() -> None:
    """Does the probe ask again only when the quota's computed status leaves less than 3 CPUs?"""
    def status(hard: dict[str, str], used: dict[str, str] | None = None) -> dict[str, object]:
        return {"status": {"hard": hard, "used": used or {}}}
    assert lab02.quota_refuses_greedy_pod(status({"requests.cpu": "2", "limits.cpu": "4"}))
    assert lab02.quota_refuses_greedy_pod(status({"limits.cpu": "4"}, {"limits.cpu": "1500m"}))
    assert lab02.quota_refuses_greedy_pod(status({"pods": "3"}, {"pods": "3"}))
    assert not lab02.quota_refuses_greedy_pod(status({"requests.cpu": "8", "limits.cpu": "8", "pods": "10"}))
    assert not lab02.quota_refuses_greedy_pod(status({"requests.memory": "1Gi"}))


def test_quota_applied_just_now_is_enforced_by_the_probe(kube_api: KubeApi, namespace: str) -> None:
    """A pod admitted before the quota existed makes the API server remember « no quota here »
    for a while; right after the quota is applied, is the 3-CPU pod still reported as refused?"""
    small = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "avant", "namespace": namespace},
             "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}
    kube_api.create(small, dry_run=True)
    kube_api.apply({"apiVersion": "v1", "kind": "ResourceQuota",
                    "metadata": {"name": "dev-quota", "namespace": namespace},
                    "spec": {"hard": {"requests.cpu": "2", "limits.cpu": "4"}}})
    answer = lab02.greedy_dry_run(kube_api, namespace)
    assert answer["refused"] and answer["status"] == 403, answer
    assert "quota" in answer["message"]


def test_setup_keeps_a_reference_namespace_that_holds_work(kube_api: KubeApi, namespace: str) -> None:
    """A `monitoring` made by the reference solution, where lab 09 was done since: does « lab setup » keep it?"""
    kube_api.apply(_namespace("monitoring", marked=True))
    kube_api.apply({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "prometheus-config", "namespace": "monitoring"},
                    "data": {"prometheus.yml": "scrape_configs: []\n"}})
    try:
        setup(kube_api, LAB, namespace)
        assert "monitoring" in _names(kube_api)
        assert kube_api.get("v1", "ConfigMap", "prometheus-config", "monitoring") is not None
    finally:
        kube_api.delete("v1", "Namespace", "monitoring")
        wait_for(kube_api, "v1", "Namespace", lambda items: all(n["metadata"]["name"] != "monitoring" for n in items),
                 timeout="deletion")
