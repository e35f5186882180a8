"""Chaque notebook de source/ s'exécute de bout en bout sur le bac à sable (nbclient).

Avec la solution, il atteint la note maximale (vérifications et questions) et « Vérifier »
donne le même verdict ; tel que publié (le point de départ de l'apprenant), il s'exécute sans
erreur et obtient une note basse. Chaque exécution a son propre namespace (KUBELAB_NAMESPACE).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest

from kubelab.catalog import Lab, available_labs
from kubelab.snapshot import read_document

from .nbtools import NOTEBOOKS, click_submit, errors, execute, kernel_env, outputs_text, scores, widget_html

LABS = available_labs()
STARTER_MAX_SHARE = 0.4
VERIFY_PROBE = """
_rapport = lab.verify_button.click()
print("VERIFIER", _rapport.score, _rapport.max_score, round(lab.verify_button.last_ms),
      'data-state="current"' in lab.verify_button.submission.value)
"""


def _source(lab: Lab) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / "source" / lab.id / f"{lab.id}.ipynb", as_version=4)


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_solution_notebook_reaches_full_marks(lab: Lab, tmp_path: Path, cluster_kubeconfig: Path,
                                              fresh_namespace) -> None:
    """Avec la solution, le notebook a-t-il tous les points, sans erreur, et « Vérifier » est-il d'accord ?"""
    notebook = click_submit(_source(lab))
    notebook.cells.append(nbformat.v4.new_code_cell(VERIFY_PROBE))
    namespace = fresh_namespace(lab.id[:2] + "-solution")
    execute(notebook, tmp_path, kernel_env(cluster_kubeconfig, namespace))
    assert not errors(notebook), errors(notebook)
    result = scores(notebook)
    assert result.lab == lab.max_points == result.lab_max, f"{lab.id} : vérifications échouées {result.failed}\n" \
                                                         + outputs_text(notebook)[-3000:]
    assert result.quiz == result.quiz_max
    document = read_document(tmp_path / "snapshot.json")
    assert document["lab"] == lab.id and document["namespace"] == namespace
    probe = next(out.text for out in notebook.cells[-1].outputs if out.get("name") == "stdout").split()
    visible = sum(check.points for check in lab.visible_checks())
    assert probe[:3] == ["VERIFIER", str(visible), str(visible)], probe
    assert probe[4] == "True", "après « Soumettre », « Vérifier » devrait dire l'instantané à jour"
    assert int(probe[3]) < 1000, f"« Vérifier » a pris {probe[3]} ms"
    assert "Connecté" in outputs_text(notebook) and namespace in outputs_text(notebook)


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_starter_notebook_runs_and_scores_low(lab: Lab, tmp_path: Path, cluster_kubeconfig: Path,
                                              fresh_namespace, released: dict[str, nbformat.NotebookNode]) -> None:
    """Tel que publié (point de départ), le notebook s'exécute-t-il sans erreur avec une note basse ?"""
    notebook = click_submit(copy.deepcopy(released[lab.id]))
    namespace = fresh_namespace(lab.id[:2] + "-depart")
    execute(notebook, tmp_path, kernel_env(cluster_kubeconfig, namespace))
    assert not errors(notebook), errors(notebook)
    result = scores(notebook)
    assert result.lab_max == lab.max_points
    assert result.lab <= STARTER_MAX_SHARE * lab.max_points, f"{lab.id} : point de départ trop bien noté ({result})"
    assert result.quiz == 0
    text = outputs_text(notebook)
    assert "✗" in text and "Indice" in text
    assert "BEGIN SOLUTION" not in json.dumps(notebook)


def test_released_notebooks_hold_no_secret_value(released: dict[str, nbformat.NotebookNode]) -> None:
    """Le notebook publié ne contient-il aucune valeur des Secrets de la solution, même quand ils
    s'écrivent en YAML (``secrets: yaml``, lab de restauration) ?"""
    from .nbtools import builder

    build = builder()
    for lab in LABS:
        text = json.dumps(released[lab.id], ensure_ascii=False)
        for path in sorted((lab.folder / "solution").glob("*.yaml")):
            secrets, _ = build.split_secrets(path.read_text(encoding="utf-8"))
            for secret in secrets:
                for key, value in build.secret_values(secret).items():
                    if build.SECRET_NAME.search(key):
                        assert value not in text, (f"{lab.id} : la valeur de {key} ({path.name}) est dans le "
                                                   "notebook publié")


def test_run_all_never_submits(tmp_path: Path, cluster_kubeconfig: Path, fresh_namespace,
                               released: dict[str, nbformat.NotebookNode]) -> None:
    """Exécuter toutes les cellules sans cliquer sur « Soumettre » n'écrit-il aucun instantané, et les
    cellules de test disent-elles « aucun instantané soumis », 0 point, sans lire le cluster ?"""
    lab = next(lab for lab in LABS if lab.id.startswith("03-"))
    notebook = copy.deepcopy(released[lab.id])
    execute(notebook, tmp_path, kernel_env(cluster_kubeconfig, fresh_namespace("03-sans-soumettre")))
    assert not errors(notebook), errors(notebook)
    assert not (tmp_path / "snapshot.json").exists()
    result = scores(notebook)
    assert result.lab == 0 and result.lab_max == lab.max_points
    text = outputs_text(notebook)
    assert text.count("aucun instantané soumis") >= len(lab.checks)
    assert "cluster en direct" not in text
    assert 'data-state="missing"' in widget_html(notebook)  # « Soumettre » et le tableau de bord le disent aussi
