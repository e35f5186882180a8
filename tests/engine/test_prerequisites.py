"""What a lab needs from the cluster: checked by `kubelab lab setup`, said with the way to get it.

On a sandbox started as a learner starts it (one node, ``dns`` only), lab 03 is never « prêt »:
its claims could not bind. The grade then blames the missing StorageClass, not the learner's
claim, and no Python value (``None``) reaches any message of any lab.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from kubelab.catalog import available_labs, load_lab
from kubelab.grading import grade, live_state
from kubelab.kube_api import KubeApi
from kubelab.lab_setup import apply_variant, setup
from kubelab.outcomes import Outcome
from tests.helpers import run_cli

NBSP = "\u00a0"
PYTHON_VALUES = ("None", "True", "False", "dict_keys", "dict_values")


def _plain(text: str) -> str:
    return text.replace(NBSP, " ")


@pytest.fixture(scope="module")
def bare(bare_sandbox: Any) -> Path:
    return Path(bare_sandbox.kubeconfig)


def test_setup_refuses_a_lab_whose_claims_cannot_bind(bare: Path, bare_sandbox: Any) -> None:
    """Lab 03 on a sandbox without hostpath-storage: exit 2, never « prêt », the missing addon and how to enable it."""
    namespace = f"t-prerequis-{uuid.uuid4().hex[:5]}"
    result = run_cli("lab", "setup", "03-stockage-pvc", "-n", namespace, "--kubeconfig", str(bare))
    output = _plain(result.stdout + result.stderr)
    assert result.returncode == 2, output
    assert "prêt dans le namespace" not in output
    assert "✗ addon hostpath-storage : aucune StorageClass par défaut" in output
    assert "sur ce cluster (le bac à sable) : « kubelab sandbox addon enable hostpath-storage »" in output
    assert "sur MicroK8s : « microk8s enable hostpath-storage »" in output
    assert "✓ addon dns" in output
    assert "n'est pas prêt : il manque au cluster : addon hostpath-storage" in output
    assert "Traceback" not in output
    api = bare_sandbox.api()
    try:
        api.delete("v1", "Namespace", namespace)
    finally:
        api.close()


def test_setup_says_ready_when_everything_is_there(admin_kubeconfig: Path, kube_api: KubeApi) -> None:
    """On the session sandbox (every addon, three nodes), each lab's needs are met: exit 0, « prêt »."""
    for lab_id in ("03-stockage-pvc", "05-haute-disponibilite", "07-securite-rbac-pss"):
        namespace = f"t-pret-{uuid.uuid4().hex[:5]}"
        try:
            result = run_cli("lab", "setup", lab_id, "-n", namespace, "--kubeconfig", str(admin_kubeconfig))
            output = _plain(result.stdout)
            assert result.returncode == 0, result.stdout + result.stderr
            assert f"Lab {lab_id} prêt dans le namespace « {namespace} »." in output
            assert "✗" not in output
        finally:
            kube_api.delete("v1", "Namespace", namespace)


def test_claim_without_storage_class_blames_the_cluster(bare_sandbox: Any) -> None:
    """Lab 03's solution where no StorageClass exists: the claim checks fail saying so, and no hint
    sends the learner after WaitForFirstConsumer or their own manifest."""
    lab = load_lab("03-stockage-pvc")
    api = bare_sandbox.api()
    namespace = f"t-sans-classe-{uuid.uuid4().hex[:5]}"
    try:
        setup(api, lab, namespace)
        apply_variant(api, lab, "solution", namespace)
        report = grade(lab, live_state(lab, api, namespace, ("dry-run",)), wait=5)
    finally:
        api.delete("v1", "Namespace", namespace)
        api.close()
    bound = report.result("postgres-claim-bound")
    assert bound.outcome is Outcome.FAILED
    assert "ce cluster n'a aucune StorageClass par défaut" in _plain(bound.message), bound.message
    assert "WaitForFirstConsumer" not in bound.hint and "kubelab sandbox addon enable hostpath-storage" in bound.hint
    spec = report.result("postgres-claim-spec")
    assert "ce cluster n'en a aucune" in _plain(spec.message), spec.message
    assert "None" not in spec.message


@pytest.mark.parametrize("variant", ["starter", "solution"])
def test_no_python_value_in_any_message(bare_sandbox: Any, variant: str) -> None:
    """Every lab, its starter and its solution, graded where addons are missing: no message and no hint
    shows a Python value (``None``, ``True``…)."""
    api = bare_sandbox.api()
    try:
        for lab in available_labs():
            namespace = f"t-valeurs-{lab.id[:2]}-{uuid.uuid4().hex[:5]}"
            try:
                setup(api, lab, namespace)
                apply_variant(api, lab, variant, namespace)
                report = grade(lab, live_state(lab, api, namespace, ("dry-run",)), wait=0)
            finally:
                api.delete("v1", "Namespace", namespace)
            for result in report.results:
                shown = f"{result.message} {result.hint if result.outcome is Outcome.FAILED else ''}"
                words = shown.replace("`", " ").replace("(", " ").replace(")", " ").split()
                leaked = [value for value in PYTHON_VALUES if value in words]
                assert not leaked, f"{lab.id} {variant} {result.check.id} : {leaked} dans « {shown} »"
    finally:
        api.close()
