"""Meta-tests on the real node: every lab whose images exist here, graded where containers really run.

The same promise as tests/labs/test_lab_variants.py, on a cluster whose pods really run:
the solution and each alternative get full marks, each mutant fails exactly the checks its
``expect.yaml`` lists, live and from its snapshot alike. A variant that names an image the
machine cannot provide is skipped with the image's name (Grafana: Debian does not package it).
Where a verdict here differs from kwok's, the real node is right.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubelab.catalog import Lab, available_labs
from kubelab.lab_setup import read_expectation, variant_objects, variants
from kubelab.outcomes import Outcome
from kubelab.sandbox.images import ImageStore
from kubelab.sandbox.realnode import layout
from kubelab.typography import french
from tests.labs.test_lab_variants import STARTER_MAX_SHARE, _grade_variant, _summary

from .conftest import RealCluster

pytestmark = pytest.mark.real_node

WAIT = {"solution": 120.0, "alternatives": 120.0, "mutants": 45.0, "starter": 20.0}
NODES_NEEDED = {"05-haute-disponibilite": 3}


def _cases() -> list[pytest.param]:
    cases = []
    for lab in available_labs():
        names = ["starter", "solution"]
        names += [f"alternatives/{n}" for n in variants(lab, "alternatives")]
        names += [f"mutants/{n}" for n in variants(lab, "mutants")]
        cases.extend(pytest.param(lab, name, id=f"{lab.id}:{name}") for name in names)
    return cases


def _collect_images(value: object, found: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "image" and isinstance(item, str):
                found.add(item)
            else:
                _collect_images(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect_images(item, found)


def _missing_images(lab: Lab, variant: str) -> list[str]:
    store = ImageStore.open(layout.run_folder("image-store").resolve())
    wanted: set[str] = set()
    setup_files = sorted((lab.folder / "setup").glob("*.yaml"))
    setup_documents = [d for path in setup_files for d in yaml.safe_load_all(path.read_text())]
    for document in [*variant_objects(lab, variant), *setup_documents]:
        _collect_images(document, wanted)
    return sorted(ref for ref in wanted if store.lookup(ref) is None and ".invalid/" not in ref)


@pytest.mark.parametrize(("lab", "variant"), _cases())
def test_variant_scores_as_expected_on_the_real_node(real: RealCluster, real_namespace: str, tmp_path: Path,
                                                     lab: Lab, variant: str) -> None:
    """On the real node, does this variant score what its lab says, live and from its snapshot alike?"""
    missing = _missing_images(lab, variant)
    if missing:
        pytest.skip(f"image(s) absente(s) de cette machine : {', '.join(missing)}")
    extra = [real.sandbox.add_node(progress=lambda _: None) for _ in range(NODES_NEEDED.get(lab.id, 1) - 1)]
    try:
        live, offline = _grade_variant(real.api, lab, variant, real_namespace, tmp_path, WAIT)
    finally:
        for name in extra:
            real.sandbox.remove_node(name, progress=lambda _: None)
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
        assert live.failed_ids() == set(expected.fails), (
            f"{lab.id}:{variant} devrait échouer exactement {sorted(expected.fails)} :\n{_summary(live)}")
        for check_id, fragment in expected.messages.items():
            assert french(fragment) in live.result(check_id).message
        assert all(r.outcome is not Outcome.ERROR for r in live.results)
