"""Les notebooks du dépôt sont ceux du modèle, et ont la forme qu'attend nbgrader (sans cluster)."""

from __future__ import annotations

import dataclasses
import re

import nbformat
import pytest
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
from traitlets.config.loader import PyFileConfigLoader

from kubelab.catalog import Lab, available_labs
from kubelab.errors import UsageError
from kubelab.kube_api import ApiError, RefusedError
from kubelab.notebook import applying
from kubelab.typography import french

from .nbtools import NOTEBOOKS, builder

LABS = available_labs()
NBSP_BEFORE = re.compile(r" [:;?!»]|« ")


def _cells(notebook: nbformat.NotebookNode, role: str) -> list[nbformat.NotebookNode]:
    return [c for c in notebook.cells if c.metadata.get("kubelab", {}).get("role") == role]


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_committed_notebook_is_up_to_date(lab: Lab) -> None:
    """Le notebook du dépôt est-il exactement celui que produit build_notebooks.py ?"""
    build = builder()
    path = build.notebook_path(lab.id)
    assert path.is_file(), f"{path} manque : lancez « .venv/bin/python notebooks/build_notebooks.py »"
    assert path.read_text(encoding="utf-8") == build.text_of(build.build(lab)), (
        f"{path} n'est pas à jour : lancez « .venv/bin/python notebooks/build_notebooks.py »")


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_test_cells_carry_the_lab_points(lab: Lab) -> None:
    """Une cellule de test verrouillée par vérification, avec ses points, et rien d'autre de noté ?"""
    notebook = builder().build(lab)
    cells = _cells(notebook, "verification")
    assert [c.metadata["kubelab"]["check"] for c in cells] == [check.id for check in lab.checks]
    for cell, check in zip(cells, lab.checks, strict=True):
        meta = cell.metadata["nbgrader"]
        assert meta["grade"] and meta["locked"] and not meta["solution"]
        assert meta["points"] == check.points
        assert f'noter("{lab.id}", "{check.id}")' in cell.source
    assert sum(c.metadata["nbgrader"]["points"] for c in cells) == lab.max_points
    quiz = _cells(notebook, "quiz")
    graded = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(graded) == len(cells) + len(quiz), "une cellule notée n'est ni une vérification ni une question"
    for cell in quiz:
        assert "### BEGIN HIDDEN TESTS" in cell.source and "quiz.corriger" in cell.source
    assert notebook.metadata["kubelab"] == {"lab": lab.id, "points": lab.max_points}


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_answer_cells_hold_the_reference_solution(lab: Lab) -> None:
    """Chaque fichier de solution/ a sa cellule de réponse, la solution entre les marqueurs nbgrader ?"""
    build = builder()
    notebook = build.build(lab)
    answers = _cells(notebook, "manifeste") + _cells(notebook, "secret")
    files = {c.metadata["kubelab"]["fichier"] for c in answers}
    assert files == {p.name for p in (lab.folder / "solution").glob("*.yaml")}
    for cell in answers:
        assert cell.metadata["nbgrader"]["solution"] and not cell.metadata["nbgrader"]["locked"]
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
    for cell in _cells(notebook, "manifeste"):
        text = (lab.folder / "solution" / cell.metadata["kubelab"]["fichier"]).read_text(encoding="utf-8")
        rest = text if build._notebook_config(lab).get("secrets") == "yaml" else build.split_secrets(text)[1]
        assert build._own_namespace(rest, lab).strip() in cell.source


def test_secret_values_never_reach_the_notebook() -> None:
    """Un Secret de la solution devient-il « lab.creer_secret(…, ALEATOIRE) », sans sa valeur ?

    Sauf dans un lab dont le travail est de restaurer des valeurs (``secrets: yaml``) : elles y
    sont la solution, retirée du notebook publié (vérifié par le test de publication)."""
    build = builder()
    for lab in LABS:
        if build._notebook_config(lab).get("secrets") == "yaml":
            continue
        for path in sorted((lab.folder / "solution").glob("*.yaml")):
            secrets, _ = build.split_secrets(path.read_text(encoding="utf-8"))
            text = "\n".join(cell.source for cell in build.build(lab).cells)
            for secret in secrets:
                for key, value in build.secret_values(secret).items():
                    if build.SECRET_NAME.search(key):
                        assert value not in text, f"la valeur de {key} ({path}) est dans le notebook"
                        assert f'"{key}": ALEATOIRE' in text


def test_hidden_checks_become_hidden_tests() -> None:
    """Une vérification cachée ne s'exécute-t-elle qu'à la correction, sans titre ni id visibles ?"""
    lab = next(lab for lab in LABS if lab.id.startswith("03-"))
    hidden = dataclasses.replace(lab.checks[0], spec=dataclasses.replace(lab.checks[0].spec, hidden=True))
    secret_lab = dataclasses.replace(lab, checks=(hidden, *lab.checks[1:]))
    notebook = builder().build(secret_lab)
    cell = _cells(notebook, "verification")[0]
    assert "### BEGIN HIDDEN TESTS" in cell.source
    ClearHiddenTests().preprocess(notebook, {})
    ClearSolutions(code_stub={"python": "# VOTRE CODE ICI"}).preprocess(notebook, {})
    released = _cells(notebook, "verification")[0].source
    assert "noter" not in released and hidden.id not in released and hidden.title not in released
    assert "Vérification cachée n°1" in released


def test_nbgrader_config_is_french() -> None:
    """Les textes de remplacement de nbgrader sont-ils français, et le retour masque-t-il les tests cachés ?"""
    loader = PyFileConfigLoader("nbgrader_config.py", path=str(NOTEBOOKS))
    config = loader.load_config()
    assert config.ClearSolutions.code_stub == {"python": "# VOTRE CODE ICI"}
    assert config.ClearSolutions.text_stub == "VOTRE RÉPONSE ICI"
    assert ClearHiddenTests in config.GenerateFeedback.preprocessors
    assert config.OverwriteCells.add_missing_cells is True
    assert all(labs == ["snapshot.json"] for labs in config.Autograde.exclude_overwriting.values())


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_text_follows_french_typography(lab: Lab) -> None:
    """Espaces insécables avant « : ; ? ! » et dans les guillemets, hors code ?"""
    notebook = builder().build(lab)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            prose = re.sub(r"```.*?```|`[^`\n]*`|\]\([^)]*\)", "", cell.source, flags=re.S)
            found = NBSP_BEFORE.search(prose)
            assert not found, f"{cell.id} : {found.group()!r} dans {prose[:200]!r}"


def test_statement_admonitions_become_quotes() -> None:
    """Les encadrés MkDocs de l'énoncé deviennent-ils des citations lisibles dans Jupyter ?"""
    lab = next(lab for lab in LABS if lab.id.startswith("03-"))
    text = builder().statement(lab)
    assert "!!!" not in text and "???" not in text
    assert french("> **Pourquoi `PGDATA` dans un sous-dossier ?**") in text


# --- messages d'erreur de lab.appliquer (sans cluster) -------------------------------------


def test_refusal_names_the_field_in_french() -> None:
    """Un refus 422 du serveur devient-il « champ … : valeur obligatoire manquante » ?"""
    body = {"details": {"causes": [
        {"reason": "FieldValueRequired", "message": "Required value",
         "field": "spec.template.spec.containers[0].image"},
        {"reason": "FieldValueInvalid", "message": "Invalid value: -1: must be greater than or equal to 0",
         "field": "spec.replicas"}]}}
    problems = applying.problems_from(RefusedError("refusé", 422, body),
                                      {"kind": "StatefulSet", "metadata": {"name": "postgres"}})
    assert [(p.field, p.reason) for p in problems] == [
        ("spec.template.spec.containers[0].image", "valeur obligatoire manquante"),
        ("spec.replicas", "valeur invalide (la valeur doit être positive ou nulle)"),
    ]


def test_unknown_field_from_server_side_apply_is_the_learners_mistake() -> None:
    """L'erreur 500 « field not declared in schema » de server-side apply nomme-t-elle le champ ?"""
    message = ('PATCH … a échoué (500) : failed to create typed patch object (ns/x; apps/v1, Kind=StatefulSet): '
               'errors:\n'
               '  .spec.template.spec.containers[name="c"].imagee: field not declared in schema\n'
               '  .spec.replica: field not declared in schema')
    problems = applying.problems_from(ApiError(message, 500), {"kind": "StatefulSet", "metadata": {"name": "x"}})
    assert [p.field for p in problems] == ['spec.template.spec.containers[name="c"].imagee', "spec.replica"]
    assert all("champ inconnu" in p.reason for p in problems)


def test_yaml_error_quotes_the_line() -> None:
    """Une faute d'indentation YAML est-elle signalée avec sa ligne ?"""
    with pytest.raises(UsageError) as caught:
        applying.parse("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: {}\n", "ns")
    assert "ligne 5" in caught.value.message and "`data: {}`" in caught.value.message


def test_empty_manifest_is_not_an_error() -> None:
    """Une cellule encore vide (« # VOTRE CODE ICI ») n'est-elle pas une erreur ?"""
    report = applying.validate_and_apply(None, '\n# VOTRE CODE ICI\n', "ns")  # type: ignore[arg-type]
    assert report.empty and report.ok
    assert "Rien à appliquer" in applying.render(report)
