"""Lab 01: are the fact checks tolerant where they should be, and strict where they must be?

Pure tests over a hand-made state (no cluster): the facts the learner records are compared
with what the API server says.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.catalog import load_lab
from kubelab.cluster_state import SnapshotState
from kubelab.typography import french

LAB = load_lab("01-explorer-cluster")
NAMESPACE = LAB.namespace


def _state(facts: dict[str, str], version: str = "v1.35.7",
           kube_system_pods: tuple[str, ...] = ("coredns-abc",)) -> SnapshotState:
    lists: dict[str, list[dict[str, Any]]] = {read.key(NAMESPACE): [] for read in LAB.reads}
    lists["v1/Event@" + NAMESPACE] = []
    lists[f"v1/ConfigMap@{NAMESPACE}"] = [{"metadata": {"name": "cluster-facts"}, "data": facts}]
    lists["v1/Node@cluster"] = [{"metadata": {"name": f"node-{i}"}} for i in range(3)]
    lists["v1/Service@kube-system"] = [{"metadata": {"name": "kube-dns"}, "spec": {"clusterIP": "10.152.183.10"}}]
    lists["storage.k8s.io/v1/StorageClass@cluster"] = [
        {"metadata": {"name": "other"}},
        {"metadata": {"name": "microk8s-hostpath",
                      "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}},
    ]
    lists["v1/Pod@kube-system"] = [{"metadata": {"name": name}} for name in kube_system_pods]
    probes = {"server-version": {"result": {"gitVersion": version, "major": "1", "minor": "35"}}}
    return SnapshotState(NAMESPACE, LAB.reads, LAB.probes, lists, probes, {})


RIGHT = {"nodes": "3", "server-version": "v1.35.7", "dns-service-ip": "10.152.183.10",
         "default-storageclass": "microk8s-hostpath", "control-plane-pods": "false"}


def _verdict(check_id: str, state: SnapshotState):
    return next(c for c in LAB.checks if c.id == check_id).spec.run(state)


def test_right_facts_pass() -> None:
    """Do the five right facts pass, each in its own check?"""
    state = _state(RIGHT)
    for check_id in ("facts-configmap", "fact-nodes", "fact-server-version", "fact-dns-service-ip",
                     "fact-default-storageclass", "fact-control-plane-pods"):
        assert _verdict(check_id, state).passed, check_id


@pytest.mark.parametrize("given", ["1.35.7", "v1.35.7", " v1.35.7\n", "V1.35.7"])
def test_server_version_with_or_without_v(given: str) -> None:
    """Is « 1.35.7 » as good as « v1.35.7 » (and surrounding blanks ignored)?"""
    assert _verdict("fact-server-version", _state({**RIGHT, "server-version": given})).passed


def test_server_version_build_suffix() -> None:
    """A distribution's suffix (``+k3s1``) may be left out, but the patch number may not."""
    assert _verdict("fact-server-version", _state({**RIGHT, "server-version": "1.35.7"}, "v1.35.7+k3s1")).passed
    verdict = _verdict("fact-server-version", _state({**RIGHT, "server-version": "v1.35"}))
    assert not verdict.passed and "`v1.35.7`" in verdict.message and french("(trouvé : `v1.35`)") in verdict.message


def test_each_wrong_fact_costs_its_own_check() -> None:
    """Does a wrong fact fail its check only, with the observed value in the message?"""
    state = _state({**RIGHT, "nodes": "1", "default-storageclass": "other"})
    nodes = _verdict("fact-nodes", state)
    assert not nodes.passed and "devrait valoir `3`" in nodes.message and french("(trouvé : `1`)") in nodes.message
    storage = _verdict("fact-default-storageclass", state)
    assert not storage.passed and "`microk8s-hostpath`" in storage.message
    assert _verdict("fact-dns-service-ip", state).passed


def test_control_plane_pods_on_kubeadm() -> None:
    """On a kubeadm cluster (static pods in kube-system), is « true » the right answer?"""
    pods = ("coredns-abc", "kube-apiserver-cp1", "kube-scheduler-cp1")
    capitalised = _state({**RIGHT, "control-plane-pods": "True"}, kube_system_pods=pods)
    assert _verdict("fact-control-plane-pods", capitalised).passed
    verdict = _verdict("fact-control-plane-pods", _state(RIGHT, kube_system_pods=pods))
    assert not verdict.passed and "`kube-apiserver-cp1`" in verdict.message


def test_missing_key() -> None:
    """A missing key fails the ConfigMap check and that fact's check, nothing else."""
    facts = {k: v for k, v in RIGHT.items() if k != "dns-service-ip"}
    state = _state(facts)
    assert not _verdict("facts-configmap", state).passed
    assert french("(trouvé : absente)") in _verdict("fact-dns-service-ip", state).message
    assert _verdict("fact-nodes", state).passed
