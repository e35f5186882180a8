"""Meta-tests on the real node: every lab whose images exist here, graded where containers really run.

The same promise as tests/labs/test_lab_variants.py, on a cluster whose pods really run:
the solution and each alternative get full marks, each mutant fails exactly the checks its
``expect.yaml`` lists, live and from its snapshot alike. A variant that names an image the
machine cannot provide is skipped with the image's name (a PostgreSQL version no lab asks for).
Where a verdict here differs from kwok's, the real node is right.

Real pods take seconds to start and a failing runtime check waits for its deadline, so the
variants are graded ahead, concurrently: one stream per lab (variants of a lab share
cluster-scoped objects, so they go one after another), each variant in its own namespace. The
tests then read their verdicts.
"""

from __future__ import annotations

import os
import threading
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from kubelab.catalog import Lab, available_labs
from kubelab.lab_setup import read_expectation, variant_objects, variants
from kubelab.outcomes import GradeReport, Outcome
from kubelab.pytest_plugin import create_namespace
from kubelab.sandbox.images import ImageStore
from kubelab.sandbox.realnode import layout
from kubelab.typography import french
from tests.labs.test_lab_variants import STARTER_MAX_SHARE, _grade_variant, _summary

from .conftest import RealCluster

pytestmark = pytest.mark.real_node

WAIT = {"solution": 120.0, "alternatives": 120.0, "mutants": 60.0, "starter": 20.0}
NODES_NEEDED = {"05-haute-disponibilite": 3}
STREAMS = 4
PULLABLE_NOWHERE = {"reddis:7-alpine"}
"""Images of mutants that no registry serves (a typo): the real node shows their pull failing, as
MicroK8s would, instead of the variant being skipped like an image this machine lacks."""


@dataclass
class Graded:
    """What grading one variant on the real node gave, or why it could not be graded."""

    live: GradeReport | None = None
    offline: GradeReport | None = None
    skipped: str = ""
    crashed: str = ""


def _variant_names(lab: Lab) -> list[str]:
    return (["starter", "solution"] + [f"alternatives/{n}" for n in variants(lab, "alternatives")]
            + [f"mutants/{n}" for n in variants(lab, "mutants")])


def _labs() -> list[Lab]:
    """Every lab, or those whose number ``KUBELAB_REAL_LABS`` lists (« 03,10 »), to rerun a few."""
    chosen = [n.strip() for n in os.environ.get("KUBELAB_REAL_LABS", "").split(",") if n.strip()]
    return [lab for lab in available_labs() if not chosen or lab.id[:2] in chosen]


def _cases() -> list[pytest.param]:
    return [pytest.param(lab, name, id=f"{lab.id}:{name}") for lab in _labs() for name in _variant_names(lab)]


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


def _missing_images(store: ImageStore, lab: Lab, variant: str) -> list[str]:
    wanted: set[str] = set()
    setup_files = sorted((lab.folder / "setup").glob("*.yaml"))
    setup_documents = [d for path in setup_files for d in yaml.safe_load_all(path.read_text())]
    for document in [*variant_objects(lab, variant), *setup_documents]:
        _collect_images(document, wanted)
    return sorted(ref for ref in wanted if store.lookup(ref) is None and ".invalid/" not in ref
                  and ref not in PULLABLE_NOWHERE)


def _grade_lab(real: RealCluster, store: ImageStore, lab: Lab, folder: Path, lock: threading.Lock,
               results: dict[tuple[str, str], Graded]) -> None:
    extra: list[str] = []
    with lock:
        for _ in range(NODES_NEEDED.get(lab.id, 1) - 1):
            extra.append(real.sandbox.add_node(progress=lambda _: None))
    try:
        for variant in _variant_names(lab):
            missing = _missing_images(store, lab, variant)
            if missing:
                skipped = f"image(s) absente(s) de cette machine : {', '.join(missing)}"
                results[(lab.id, variant)] = Graded(skipped=skipped)
                continue
            namespace = f"r-{lab.id[:2]}-{uuid.uuid4().hex[:6]}"
            create_namespace(real.api, namespace)
            work = folder / f"{lab.id}-{variant.replace('/', '-')}"
            work.mkdir(parents=True)
            try:
                live, offline = _grade_variant(real.api, lab, variant, namespace, work, WAIT)
                results[(lab.id, variant)] = Graded(live, offline)
            except Exception:
                results[(lab.id, variant)] = Graded(crashed=traceback.format_exc())
            finally:
                real.api.delete("v1", "Namespace", namespace)
    finally:
        with lock:
            for name in extra:
                real.sandbox.remove_node(name, progress=lambda _: None)


@pytest.fixture(scope="session")
def real_grades(real: RealCluster, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Graded]:
    """Every variant of every lab graded on the real node, labs side by side."""
    store = ImageStore.open(layout.run_folder("image-store").resolve())
    folder = tmp_path_factory.mktemp("real-grades")
    results: dict[tuple[str, str], Graded] = {}
    lock = threading.Lock()
    labs = sorted(_labs(), key=lambda lab: -len(_variant_names(lab)))
    alone = [lab for lab in labs if NODES_NEEDED.get(lab.id, 1) > 1]  # their simulated nodes would take others' pods
    with ThreadPoolExecutor(max_workers=STREAMS) as pool:
        for done in [pool.submit(_grade_lab, real, store, lab, folder, lock, results) for lab in labs
                     if lab not in alone]:
            done.result()
    for lab in alone:
        _grade_lab(real, store, lab, folder, lock, results)
    return results


@pytest.mark.timeout(7200)
@pytest.mark.parametrize(("lab", "variant"), _cases())
def test_variant_scores_as_expected_on_the_real_node(real_grades: dict[tuple[str, str], Graded],
                                                     lab: Lab, variant: str) -> None:
    """On the real node, does this variant score what its lab says, live and from its snapshot alike?"""
    graded = real_grades[(lab.id, variant)]
    if graded.skipped:
        pytest.skip(graded.skipped)
    assert not graded.crashed, graded.crashed
    live, offline = graded.live, graded.offline
    assert live is not None and offline is not None
    assert not live.errors, f"{lab.id}:{variant} a des vérifications non notées :\n{_summary(live)}"
    assert [(r.check.id, r.outcome, r.message) for r in offline.results] == \
        [(r.check.id, r.outcome, r.message) for r in live.results], "live et instantané diffèrent"
    kind = variant.split("/")[0]
    if kind in ("solution", "alternatives"):
        assert live.score == live.max_score, f"{lab.id}:{variant} n'a pas tous les points :\n{_summary(live)}"
    elif kind == "starter":
        assert live.score <= STARTER_MAX_SHARE * live.max_score, f"starter trop bien noté :\n{_summary(live)}"
    else:
        expected = read_expectation(lab.folder / variant).on_real_node()
        assert live.failed_ids() == set(expected.fails), (
            f"{lab.id}:{variant} devrait échouer exactement {sorted(expected.fails)} :\n{_summary(live)}")
        for check_id, fragment in expected.messages.items():
            assert french(fragment) in live.result(check_id).message
        assert all(r.outcome is not Outcome.ERROR for r in live.results)
