"""Classroom mode: 30 learner namespaces in mixed states graded at once into a CSV."""

from __future__ import annotations

import csv
import io
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kubelab.catalog import load_lab
from kubelab.kube_api import KubeApi
from kubelab.lab_setup import apply_variant, setup
from kubelab.typography import french
from tests.helpers import run_cli

LAB = "03-stockage-pvc"
VARIANTS = ("solution", "starter", "mutants/plaintext-password")


@pytest.fixture
def classroom(kube_api: KubeApi) -> tuple[str, dict[str, str]]:
    """30 learner namespaces: a third solved, a third at the starter, a third with a mutant."""
    lab = load_lab(LAB)
    prefix = f"etudiant-{uuid.uuid4().hex[:4]}"
    plan = {f"{prefix}-{index:02d}": VARIANTS[index % 3] for index in range(30)}

    def prepare(item: tuple[str, str]) -> None:
        namespace, variant = item
        setup(kube_api, lab, namespace)
        apply_variant(kube_api, lab, variant, namespace)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(prepare, plan.items()))
    setup(kube_api, lab, f"autre-{prefix}")
    yield prefix, plan
    for namespace in [*plan, f"autre-{prefix}"]:
        kube_api.delete("v1", "Namespace", namespace)


def test_thirty_namespaces_graded_into_csv(kube_sandbox: object, classroom: tuple[str, dict[str, str]],
                                           tmp_path: Path) -> None:
    """Does each learner get their own score in the CSV, and only the matching namespaces?"""
    if kube_sandbox is None:
        pytest.skip("needs the session sandbox's kubeconfig")
    prefix, plan = classroom
    output = tmp_path / "notes.csv"
    done = run_cli("grade", LAB, "--namespaces", f"{prefix}-*", "--workers", "4", "--wait", "30",
                   "--csv", str(output), "--kubeconfig", str(kube_sandbox.kubeconfig))  # type: ignore[attr-defined]
    assert done.returncode == 0, done.stderr
    assert "30/30 namespaces corrigés" in done.stdout
    rows = list(csv.DictReader(io.StringIO(output.read_text())))
    assert [row["apprenant"] for row in rows] == sorted(plan)
    lab = load_lab(LAB)
    expected = {"solution": lab.max_points, "starter": 1, "mutants/plaintext-password": lab.max_points - 4}
    for row in rows:
        variant = plan[row["apprenant"]]
        assert int(row["score"]) == expected[variant], (row["apprenant"], variant, row)
        assert row["statut"] == "complet"
        if variant == "mutants/plaintext-password":
            assert row["postgres-no-plaintext-password"] == "0" and row["postgres-claim-bound"] == "2"


def test_pattern_matching_nothing_is_a_usage_error(kube_sandbox: object) -> None:
    """Is a pattern that matches no namespace refused with a French message and exit code 2?"""
    if kube_sandbox is None:
        pytest.skip("needs the session sandbox's kubeconfig")
    done = run_cli("grade", LAB, "--namespaces", "personne-*", "--kubeconfig",
                   str(kube_sandbox.kubeconfig))  # type: ignore[attr-defined]
    assert done.returncode == 2
    assert french("Aucun namespace ne correspond au motif « personne-* »") in done.stderr
