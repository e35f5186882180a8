"""The live probes (``kubelab grade LAB --allow-probes``) run for real on the real node.

Lab 03: a marker written with psql survives the deletion of ``postgres-0`` in the reference,
and is lost when the volume is mounted beside the data (mutant ``wrong-mount-path``). Lab 04:
the allowed flows connect and the forbidden ones are refused in the reference; a mutant that
closes an allowed flow makes the probe report that flow.
The probes leave nothing behind but their ephemeral containers.
"""

from __future__ import annotations

import pytest

from kubelab import live_probes
from kubelab.catalog import load_lab
from kubelab.lab_setup import apply_variant, setup
from kubelab.labs import lab03_stockage_pvc as lab03
from kubelab.live_probes import exec_in_pod
from kubelab.objects import is_ready
from kubelab.typography import french
from kubelab.waiting import wait_for

from .conftest import RealCluster

pytestmark = pytest.mark.real_node


def _deploy(real: RealCluster, lab_id: str, variant: str, namespace: str, ready: dict[str, int]) -> None:
    lab = load_lab(lab_id)
    setup(real.api, lab, namespace)
    apply_variant(real.api, lab, variant, namespace)
    for app, count in ready.items():
        wait_for(real.api, "v1", "Pod", lambda pods, n=count: sum(is_ready(p) for p in pods) >= n,
                 namespace=namespace, label_selector=f"app={app}", what=f"{count} pod(s) {app} prêt(s)",
                 timeout="rollout")


def _table_absent(real: RealCluster, namespace: str) -> bool:
    code, out, _ = exec_in_pod(real.api, namespace, lab03.POD, "postgres",
                               lab03.psql(f"SELECT to_regclass('{lab03.PROBE_TABLE}') IS NULL;"))
    return code == 0 and lab03.psql_rows(out) == ["t"]


@pytest.mark.parametrize(("variant", "kept"), [("solution", True), ("mutants/wrong-mount-path", False)])
def test_lab03_persistence_probe(real: RealCluster, real_namespace: str, variant: str, kept: bool) -> None:
    """Does the marker survive the pod's deletion exactly when the data lives on the claim?"""
    _deploy(real, "03-stockage-pvc", variant, real_namespace, {"postgres": 1})
    results = live_probes.run_live_probes("03-stockage-pvc", real.api, real_namespace)
    assert [r.ok for r in results] == [kept], results
    assert ("a survécu au redémarrage" if kept else "ne sont pas sur le volume persistant") in results[0].message
    assert _table_absent(real, real_namespace), "la sonde a laissé sa table"


def test_lab04_live_matrix_agrees_with_the_reference(real: RealCluster, real_namespace: str) -> None:
    """Reference: every allowed flow connects, every forbidden one is refused (kube-router rejects)."""
    _deploy(real, "04-networkpolicies", "solution", real_namespace,
            {"frontend": 1, "backend": 1, "postgres": 1, "redis": 1})
    results = live_probes.run_live_probes("04-networkpolicies", real.api, real_namespace)
    assert len(results) == 6 and all(r.ok for r in results), "\n".join(f"{r.title} : {r.message}" for r in results)
    assert sum(french("observé : autorisé") in french(r.message) for r in results) == 3


@pytest.mark.parametrize(("variant", "flow"), [("mutants/backend-ingress-label-typo", "frontend → backend:8080"),
                                             ("mutants/redis-missing-egress", "backend → redis:6379")])
def test_lab04_live_matrix_reports_a_blocked_flow(real: RealCluster, real_namespace: str, variant: str,
                                                  flow: str) -> None:
    """A mutant that closes an allowed flow: the probe reports that flow, and that flow only.

    (Without the default deny, mutant ``no-default-deny``, the six probed flows stay as they
    should: each component's own policy still isolates it, which only the static checks see.)"""
    _deploy(real, "04-networkpolicies", variant, real_namespace,
            {"frontend": 1, "backend": 1, "postgres": 1, "redis": 1})
    results = live_probes.run_live_probes("04-networkpolicies", real.api, real_namespace)
    failures = [r for r in results if r.ok is not True]
    assert [r.title for r in failures] == [flow], "\n".join(f"{r.title} : {r.message}" for r in results)
    assert french("attendu : autorisé ; observé : bloqué") in french(failures[0].message)
