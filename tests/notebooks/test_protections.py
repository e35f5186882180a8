"""Les protections de nbgrader elles-mêmes, sur le notebook du lab 03 du dépôt.

Un apprenant (mutant ``plaintext-password`` : deux vérifications échouées, 2 + 2 points)
trafique son devoir avant de l'exécuter : il **réécrit** la cellule de test verrouillée de
l'une (« print('✓ …') » : elle « passe » chez lui) et **supprime** celle de l'autre. Ce que
nbgrader fait vraiment :

- ``nbgrader validate`` signale la cellule verrouillée modifiée (« THE CONTENTS OF 1 TEST
  CELL(S) HAVE CHANGED! » et le code trafiqué) ; il ne voit pas la cellule supprimée ;
- ``nbgrader autograde`` remet le code original de la cellule modifiée (« Attribute
  'checksum' … has changed! »), remet la cellule supprimée avec notre avertissement en
  français en commentaire (``OverwriteCells.add_missing_cells``), et exécute les deux : la note est celle des
  tests originaux, le maximum moins 4 points, comme sans trafic.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import yaml

from kubelab.catalog import load_lab
from kubelab.kube_api import KubeApi

from .nbtools import NOTEBOOKS, Course, builder, kernel_env
from .pipeline import collect, dead_kubeconfig, gradebook_scores, learner, work_and_submit

LAB_ID = "03-stockage-pvc"
MUTANT = "mutants/plaintext-password"
EDITED = "verif-postgres-env-from-secret"
DELETED = "verif-postgres-no-plaintext-password"
FORGED = 'print("✓ 2/2 La variable vient bien du Secret.")'


def _tamper(notebook: nbformat.NotebookNode) -> None:
    cell = next(c for c in notebook.cells if c.get("id") == EDITED)
    cell.source = FORGED
    notebook.cells = [c for c in notebook.cells if c.get("id") != DELETED]


def test_tampered_test_cells_are_restored_and_graded(tmp_path: Path, cluster_kubeconfig: Path,
                                                     kube_api: KubeApi) -> None:
    lab = load_lab(LAB_ID)
    expect = yaml.safe_load((lab.folder / MUTANT / "expect.yaml").read_text(encoding="utf-8"))
    assert sorted(expect["fails"]) == sorted(cell[len("verif-"):] for cell in (EDITED, DELETED))
    course = Course(tmp_path / "cours", [LAB_ID])
    live = kernel_env(cluster_kubeconfig)
    course.nbgrader("generate_assignment", LAB_ID, env=live)
    course.nbgrader("release_assignment", LAB_ID, env=live)

    cheater = learner("tricheur", lab, tmp_path, MUTANT, quiz=True)
    try:
        worked = work_and_submit(course, lab, cheater, cluster_kubeconfig, tamper=_tamper)
    finally:
        kube_api.delete("v1", "Namespace", cheater.namespace)
    forged = next(c for c in worked.cells if c.get("id") == EDITED)
    assert [o.get("name") for o in forged.outputs] == ["stdout"], "chez l'apprenant, la cellule trafiquée « passe »"
    assert DELETED not in [c.get("id") for c in worked.cells]

    offline = kernel_env(dead_kubeconfig(tmp_path))
    validated = course.nbgrader("validate", str(cheater.notebook_path(lab)), env=offline, check=False)
    report = validated.stdout + validated.stderr
    assert "THE CONTENTS OF 1 TEST CELL(S) HAVE CHANGED!" in report, report[-3000:]
    assert FORGED in report

    collect(course, lab, offline)
    done = course.nbgrader("autograde", LAB_ID, env=offline)
    log = done.stdout + done.stderr
    assert f"Attribute 'checksum' for cell {EDITED} has changed!" in log, log[-3000:]
    assert f"Missing grade cell {DELETED} encountered, adding to notebook" in log, log[-3000:]

    graded = nbformat.read(course.root / "autograded" / cheater.name / LAB_ID / f"{LAB_ID}.ipynb", as_version=4)
    source = {c.get("id"): c for c in nbformat.read(NOTEBOOKS / "source" / LAB_ID / f"{LAB_ID}.ipynb",
                                                    as_version=4).cells}
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in graded.cells}
    assert cells[EDITED].source == source[EDITED].source
    assert cells[DELETED].source.startswith(f"# Cette cellule ({DELETED}) manquait dans le devoir soumis")
    assert source[DELETED].source in cells[DELETED].source
    for grade_id in (EDITED, DELETED):
        assert any(o.get("name") == "stderr" for o in cells[grade_id].outputs), f"{grade_id} n'a pas été ré-exécutée"

    scores = gradebook_scores(course, lab, cheater.name)
    quiz = sum(q.points for q in builder().questions(lab))
    lost = sum(c.points for c in lab.checks if c.id in expect["fails"])
    assert scores.cells[EDITED] == 0 and scores.cells[DELETED] == 0, scores.cells
    assert scores.score == lab.max_points + quiz - lost == scores.max_score - lost


def test_raised_points_are_reset(tmp_path: Path) -> None:
    """Un apprenant qui gonfle les points d'une cellule de test : nbgrader remet le barème (sans cluster)."""
    lab = load_lab(LAB_ID)
    course = Course(tmp_path / "cours", [LAB_ID])
    offline = kernel_env(dead_kubeconfig(tmp_path))
    course.nbgrader("generate_assignment", LAB_ID, env=offline)
    notebook = nbformat.read(course.root / "release" / LAB_ID / f"{LAB_ID}.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.get("id") == EDITED)
    cell.metadata["nbgrader"]["points"] = 100
    submitted = course.root / "submitted" / "gourmand" / LAB_ID
    submitted.mkdir(parents=True)
    nbformat.write(notebook, submitted / f"{LAB_ID}.ipynb")
    done = course.nbgrader("autograde", LAB_ID, env=offline)
    assert f"Attribute 'points' for cell {EDITED} has changed!" in done.stdout + done.stderr
    scores = gradebook_scores(course, lab, "gourmand")
    quiz = sum(q.points for q in builder().questions(lab))
    assert scores.max_score == lab.max_points + quiz
    # Sans instantané ni cluster joignable, rien n'est noté : chaque vérification vaut 0.
    assert scores.score == 0, scores.cells
