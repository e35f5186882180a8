"""Meta-tests: every lab's variants graded on the sandbox score what they must.

The solution and each alternative get full marks; each mutant fails exactly the checks
its ``expect.yaml`` lists, with the expected French message; the starter scores low; and
the same state graded from its snapshot gives identical results.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelab import snapshot
from kubelab.catalog import Lab, available_labs
from kubelab.grading import grade, live_state
from kubelab.kube_api import KubeApi
from kubelab.lab_setup import apply_variant, read_expectation, setup_all, variants
from kubelab.outcomes import GradeReport, Outcome
from kubelab.typography import french
from kubelab.waiting import scaled

STARTER_MAX_SHARE = 0.4
WAIT = {"solution": 30.0, "alternatives": 30.0, "mutants": 8.0, "starter": 5.0}


def _cases() -> list[pytest.param]:
    cases = []
    for lab in available_labs():
        names = ["starter", "solution"]
        names += [f"alternatives/{n}" for n in variants(lab, "alternatives")]
        names += [f"mutants/{n}" for n in variants(lab, "mutants")]
        cases.extend(pytest.param(lab, name, id=f"{lab.id}:{name}") for name in names)
    return cases


def _grade_variant(api: KubeApi, lab: Lab, variant: str, namespace: str, tmp_path: Path,
                   waits: dict[str, float] = WAIT) -> tuple[GradeReport, GradeReport]:
    setup_all(api, lab, namespace)
    apply_variant(api, lab, variant, namespace)
    state = live_state(lab, api, namespace, allow=("dry-run",))
    live = grade(lab, state, wait=scaled(waits[variant.split("/")[0]]))
    path = tmp_path / "state.snapshot.json"
    snapshot.write(snapshot.capture(lab, state), path)
    stored, _ = snapshot.load_state(lab, path)
    return live, grade(lab, stored)


def _summary(report: GradeReport) -> str:
    return "\n".join(f"{r.outcome.value:7} {r.check.id}: {r.message}" for r in report.results)


@pytest.mark.parametrize(("lab", "variant"), _cases())
def test_variant_scores_as_expected(kube_api: KubeApi, namespace: str, tmp_path: Path, lab: Lab, variant: str) -> None:
    """Does this variant score what its lab says, live and from its snapshot alike?"""
    live, offline = _grade_variant(kube_api, lab, variant, namespace, tmp_path)
    assert not live.errors, f"{lab.id}:{variant} a des vérifications non notées :\n{_summary(live)}"
    assert [(r.check.id, r.outcome, r.message) for r in offline.results] == \
        [(r.check.id, r.outcome, r.message) for r in live.results], "live et instantané diffèrent"
    kind = variant.split("/")[0]
    if kind in ("solution", "alternatives"):
        assert live.score == live.max_score, f"{lab.id}:{variant} n'a pas tous les points :\n{_summary(live)}"
    elif kind == "starter":
        assert live.score <= STARTER_MAX_SHARE * live.max_score, f"starter trop bien noté :\n{_summary(live)}"
    else:
        expected = read_expectation(lab.folder / variant)
        assert expected.fails, f"{variant}/expect.yaml ne liste aucune vérification"
        assert live.failed_ids() == set(expected.fails), (
            f"{lab.id}:{variant} devrait échouer exactement {sorted(expected.fails)} :\n{_summary(live)}")
        for check_id, fragment in expected.messages.items():
            message = live.result(check_id).message
            assert french(fragment) in message, f"{check_id} : message inattendu « {message} »"
        assert all(r.outcome is not Outcome.ERROR for r in live.results)
