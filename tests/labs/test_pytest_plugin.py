"""Is a lab's grader a pytest module whose tests are its checks, with points and French failures?"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelab import snapshot
from kubelab.catalog import load_lab, module_name
from kubelab.grading import grade, live_state
from kubelab.kube_api import KubeApi
from kubelab.lab_setup import apply_variant, setup
from kubelab.waiting import scaled

pytest_plugins = ["pytester"]

LAB = "03-stockage-pvc"


def _snapshot_of(api: KubeApi, namespace: str, variant: str, path: Path) -> Path:
    lab = load_lab(LAB)
    setup(api, lab, namespace)
    apply_variant(api, lab, variant, namespace)
    state = live_state(lab, api, namespace)
    grade(lab, state, wait=scaled(30))
    snapshot.write(snapshot.capture(lab, state), path)
    return path


def _grader_path() -> str:
    import importlib

    return importlib.import_module(module_name(LAB)).__file__ or ""


def test_grader_module_runs_as_pytest_with_points(pytester: pytest.Pytester, kube_api: KubeApi, namespace: str,
                                                  tmp_path: Path) -> None:
    """Graded with pytest from a snapshot of the solution, does every check pass with the full score?"""
    path = _snapshot_of(kube_api, namespace, "solution", tmp_path / "solution.json")
    result = pytester.runpytest_subprocess(_grader_path(), "--lab-snapshot", str(path), "-p", "no:cacheprovider", "-v")
    lab = load_lab(LAB)
    result.assert_outcomes(passed=len(lab.checks))
    result.stdout.fnmatch_lines([f"Score\u00a0: {lab.max_points}/{lab.max_points}"])


def test_grader_module_fails_with_french_message(pytester: pytest.Pytester, kube_api: KubeApi, namespace: str,
                                                 tmp_path: Path) -> None:
    """With a mutant, do exactly its checks fail, showing the French message and hint?"""
    path = _snapshot_of(kube_api, namespace, "mutants/plaintext-password", tmp_path / "mutant.json")
    result = pytester.runpytest_subprocess(_grader_path(), "--lab-snapshot", str(path), "-p", "no:cacheprovider")
    lab = load_lab(LAB)
    result.assert_outcomes(passed=len(lab.checks) - 2, failed=2)
    output = result.stdout.str()
    assert "ne devrait contenir aucun secret en clair" in output
    assert "Indice\u00a0: Le mot de passe ne va que dans le Secret" in output
    assert f"Score\u00a0: {lab.max_points - 4}/{lab.max_points}" in output


def test_snapshot_with_live_options_is_a_usage_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """Is a bad option combination refused at once, in French?"""
    result = pytester.runpytest_subprocess(_grader_path(), "--lab-snapshot", str(tmp_path / "x.json"),
                                           "--lab-namespace", "autre")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "ne se combine pas" in result.stderr.str()


def test_ungraded_checks_are_errors_and_keep_the_maximum(pytester: pytest.Pytester, kube_api: KubeApi,
                                                         namespace: str, tmp_path: Path) -> None:
    """Lab 07 captured without dry runs: are its dry-run checks errors (not skips), still counted in the
    maximum as ``kubelab grade`` counts them, with the reason said once (« non noté : … », no doubled prefix)?"""
    import importlib

    from tests.helpers import run_cli

    lab = load_lab("07-securite-rbac-pss")
    setup(kube_api, lab, namespace)
    apply_variant(kube_api, lab, "solution", namespace)
    state = live_state(lab, kube_api, namespace)  # no "dry-run" allowed: those checks are not graded
    report = grade(lab, state, wait=30)
    path = tmp_path / "lab07.json"
    snapshot.write(snapshot.capture(lab, state), path)
    ungraded = [r for r in report.results if r.outcome.value == "error"]
    assert ungraded, "le lab 07 devrait avoir des vérifications par dry-run"

    grader = importlib.import_module(module_name(lab.id)).__file__ or ""
    result = pytester.runpytest_subprocess(grader, "--lab-snapshot", str(path), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(lab.checks) - len(ungraded), errors=len(ungraded))
    output = result.stdout.str()
    assert f"Score\u00a0: {report.score}/{lab.max_points}" in output
    assert "non noté, à relancer\u00a0: non noté" not in output and "skipped" not in output
    assert f"{len(ungraded)} vérifications non notées" in output

    cli = run_cli("grade", lab.id, "--snapshot", str(path))
    assert cli.returncode == 3
    assert f"Score\u00a0: {report.score}/{lab.max_points}" in cli.stdout
