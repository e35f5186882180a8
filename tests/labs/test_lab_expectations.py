"""Meta-tests of the labs' own test data: is every variant's ``expect.yaml`` valid, can every
check fail, and does each grader say which statement sentence each check enforces?

No cluster here: these read the lab folders and grader modules. That the mutants really fail
the checks their ``expect.yaml`` lists is what ``test_lab_variants.py`` proves on the sandbox.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from kubelab.catalog import Lab, available_labs, module_name
from kubelab.lab_setup import OVERLAY_KINDS, expectation_problems, variants
from kubelab.paths import labs_root

SCHEMA = json.loads((labs_root() / "expect.schema.json").read_text())
LABS = available_labs()
MAPPING = "Statement → check:"


def _variants() -> list[pytest.param]:
    return [pytest.param(lab, f"{kind}/{name}", id=f"{lab.id}:{kind}/{name}")
            for lab in LABS for kind in OVERLAY_KINDS for name in variants(lab, kind)]


def test_the_schema_is_a_valid_json_schema() -> None:
    """Is ``labs/expect.schema.json`` itself a valid JSON Schema (draft 2020-12)?"""
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize(("lab", "variant"), _variants())
def test_expectation_is_valid(lab: Lab, variant: str) -> None:
    """Does this variant's ``expect.yaml`` follow the schema and name only files and checks of its lab?"""
    path = lab.folder / variant / "expect.yaml"
    assert path.is_file(), f"{path} manque : chaque variante dit ce qu'elle doit obtenir"
    data = yaml.safe_load(path.read_text())
    errors = sorted(error.message for error in jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    assert not errors, f"{path} ne suit pas labs/expect.schema.json : {errors}"
    assert not expectation_problems(lab, variant), f"{path} : {expectation_problems(lab, variant)}"


def test_invalid_expectations_are_reported(tmp_path: Path) -> None:
    """Are an unknown key, a dropped file that does not exist and an unknown check all reported?"""
    lab = next(lab for lab in LABS if lab.id == "03-stockage-pvc")
    bad = {"description": "x", "drop": ["pvc.yml"], "fails": ["postgres-servic"], "messages": {"x": "y"},
           "fail": ["postgres-service"]}
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(bad))
    assert any("fail" in error.message for error in errors)
    folder = lab.folder / "mutants" / "__essai_invalide__"
    folder.mkdir()
    try:
        (folder / "expect.yaml").write_text(yaml.safe_dump(bad))
        problems = " ; ".join(expectation_problems(lab, "mutants/__essai_invalide__"))
        for fragment in ("clé inconnue « fail »", "« drop » nomme « pvc.yml »", "« postgres-servic »",
                         "« messages » donne un fragment pour « x »"):
            assert fragment in problems, problems
    finally:
        (folder / "expect.yaml").unlink()
        folder.rmdir()


CLUSTER_CHECKS = {
    ("05-haute-disponibilite", "ha-control-plane-nodes"): "test_lab05_exercises.py (un seul nœud)",
    ("05-haute-disponibilite", "ha-formed"): "test_lab05_exercises.py (un seul nœud)",
    ("05-haute-disponibilite", "nodes-schedulable"): "test_lab05_exercises.py (nœud cordonné pendant un drain)",
}
"""Checks of the cluster rather than of the learner's manifests, which no manifest overlay can fail:
each is failed by the test named, on a cluster made for it."""


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_every_check_is_failed_by_a_mutant(lab: Lab) -> None:
    """Is each check of this lab failed by at least one mutant (so a check that always passes shows)?"""
    failed = {check_id for name in variants(lab, "mutants")
              for check_id in (yaml.safe_load((lab.folder / "mutants" / name / "expect.yaml").read_text()) or {})
              .get("fails") or []}
    never = [check.id for check in lab.checks if check.id not in failed and (lab.id, check.id) not in CLUSTER_CHECKS]
    assert not never, (f"{lab.id} : {len(never)} vérification(s) qu'aucun mutant ne fait échouer : "
                       f"{', '.join(never)} ; ajoutez un mutant (labs/{lab.id}/mutants/<défaut>/) pour chacune.")


def test_cluster_checks_are_failed_elsewhere() -> None:
    """Does the test named for each cluster check really assert that the check fails?"""
    for (lab_id, check_id), where in CLUSTER_CHECKS.items():
        text = (Path(__file__).parent / where.split()[0]).read_text()
        assert f'"{check_id}"' in text, f"{where} ne fait pas échouer {lab_id}:{check_id}"


def _mapping(lab: Lab) -> str:
    """The ``Statement → check:`` section of the grader module's docstring (empty when it has none)."""
    doc = __import__(module_name(lab.id), fromlist=["_"]).__doc__ or ""
    return doc.split(MAPPING, 1)[1] if MAPPING in doc else ""


def _normal(text: str) -> str:
    """Whitespace and non-breaking spaces as one space, Markdown's bold marks and escapes dropped."""
    text = text.replace("\u00a0", " ").replace("\u202f", " ").replace("**", "").replace("\\", "")
    return re.sub(r"\s+", " ", text).strip()


def _quotes(text: str) -> list[str]:
    """The statement fragments quoted in ``text``: between « », cut where `…` or `[…]` skips words."""
    return [part for quote in re.findall(r"«\s*(.+?)\s*»", text, flags=re.S)
            for part in re.split(r"\s*\[?…\]?\s*", _normal(quote)) if len(part) > 3]


def _sentences(lab: Lab) -> dict[str, list[str]]:
    """Check id -> the statement fragments it says it enforces: quoted in its own docstring, or next to
    its id in the module's ``Statement → check:`` section (one line of the section per sentence)."""
    mapping = _mapping(lab)
    items = re.split(r"\n- ", "\n" + mapping)
    found: dict[str, list[str]] = {}
    for check in lab.checks:
        own = _quotes(check.spec.function.__doc__ or "")
        own += [part for item in items if f"``{check.id}``" in item for part in _quotes(item)]
        found[check.id] = own
    return found


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_each_check_says_which_sentence_it_enforces(lab: Lab) -> None:
    """Does every check quote the statement sentence it enforces (in its docstring or the module's
    ``Statement → check:`` section), and is every quoted fragment really in the statement?"""
    sentences = _sentences(lab)
    unmapped = [check_id for check_id, quotes in sentences.items() if not quotes]
    assert not unmapped, f"{lab.id} : vérifications sans phrase de l'énoncé : {unmapped}"
    statement = _normal((lab.folder / "README.md").read_text())
    quoted = [*_quotes(_mapping(lab)), *(part for parts in sentences.values() for part in parts)]
    unfaithful = sorted({part for part in quoted if part not in statement})
    assert not unfaithful, f"{lab.id} : citations absentes de l'énoncé : {unfaithful}"


def _checked_bullets(lab: Lab) -> list[str]:
    """The bullets of the statement's « Ce qui est vérifié » section (what the learner is told is graded)."""
    text = (lab.folder / "README.md").read_text()
    section = text.split("## Ce qui est vérifié", 1)[-1].split("\n## ", 1)[0]
    bullets: list[str] = []
    for line in section.splitlines():
        if line.startswith("- "):
            bullets.append(line[2:])
        elif bullets and line.startswith("  "):
            bullets[-1] += " " + line
    return [_normal(bullet) for bullet in bullets]


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_each_graded_sentence_has_a_check(lab: Lab) -> None:
    """Is every bullet of « Ce qui est vérifié » quoted by some check, so no promise goes unchecked?"""
    parts = [*_quotes(_mapping(lab)), *(part for parts in _sentences(lab).values() for part in parts)]
    orphans = [bullet[:80] for bullet in _checked_bullets(lab) if not any(part in bullet for part in parts)]
    assert not orphans, f"{lab.id} : phrases de « Ce qui est vérifié » qu'aucune vérification ne cite : {orphans}"
