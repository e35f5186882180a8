"""Le parcours nbgrader complet d'un devoir, dans un cours temporaire, pour le lab 03.

1. L'enseignant génère et publie le devoir (``generate_assignment``, ``release_assignment``).
   Dans ce cours, une vérification du lab (``postgres-service``) est **cachée**, comme un
   enseignant peut le décider : sa cellule de test ne contient rien une fois publiée.
2. Trois apprenants récupèrent le devoir (``fetch_assignment``), le remplissent, l'exécutent sur
   le bac à sable, chacun dans son namespace (KUBELAB_NAMESPACE), puis le soumettent
   (``submit``) : la solution, le point de départ tel quel, et un mutant
   (``mutants/wrong-mount-path``). Un Secret à valeur connue est créé pour deux d'entre eux.
   Un quatrième (« copieur ») soumet le point de départ avec l'instantané de l'apprenant « solution ».
3. L'enseignant ramasse (``collect``) puis corrige (``autograde``) avec un noyau dont le
   kubeconfig vise un port fermé : seuls les instantanés soumis peuvent être notés, et
   celui du copieur est refusé (il a été capturé par un autre apprenant).
4. Le carnet de notes a les notes attendues ; ``generate_feedback`` produit un retour en
   français, avec les messages des vérifications échouées, sans le code des tests cachés et
   sans aucune valeur de Secret (cherchée dans chaque fichier produit).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import yaml

from kubelab.catalog import Lab, load_lab
from kubelab.grading import grade_snapshot
from kubelab.kube_api import KubeApi
from kubelab.snapshot import read_document
from kubelab.typography import french

from .nbtools import Course, builder, kernel_env, outputs_text
from .pipeline import Learner, collect, dead_kubeconfig, gradebook_scores, learner, plant_secret, work_and_submit

LAB_ID = "03-stockage-pvc"
HIDDEN = "postgres-service"
MUTANT = "mutants/wrong-mount-path"
SECRET = "postgres-credentials"
STARTER_MAX_SHARE = 0.4


@dataclass
class Pipeline:
    lab: Lab
    course: Course
    learners: dict[str, Learner]
    autograde_seconds: float
    autograde_log: str


def _with_hidden_check(lab: Lab, check_id: str) -> Lab:
    checks = tuple(dataclasses.replace(c, spec=dataclasses.replace(c.spec, hidden=True)) if c.id == check_id else c
                   for c in lab.checks)
    return dataclasses.replace(lab, checks=checks)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, cluster_kubeconfig: Path, kube_api: KubeApi) -> Pipeline:
    lab = load_lab(LAB_ID)
    build = builder()
    work = tmp_path_factory.mktemp("parcours")
    course = Course(work / "cours", [])
    source = build.notebook_path(lab.id, course.root / "source")
    source.parent.mkdir(parents=True)
    source.write_text(build.text_of(build.build(_with_hidden_check(lab, HIDDEN))), encoding="utf-8")

    live = kernel_env(cluster_kubeconfig)
    course.nbgrader("generate_assignment", lab.id, env=live)
    course.nbgrader("release_assignment", lab.id, env=live)

    learners = {
        "solution": learner("solution", lab, work, "solution", quiz=True),
        "depart": learner("depart", lab, work, None, quiz=False),
        "mutant": learner("mutant", lab, work, MUTANT, quiz=True),
        "copieur": learner("copieur", lab, work, None, quiz=True),
    }
    for name in ("solution", "mutant"):
        who = learners[name]
        who.planted = f"plante-{name}-{uuid.uuid4().hex}"
        plant_secret(kube_api, lab, who, SECRET, {"POSTGRES_USER": "app", "POSTGRES_PASSWORD": who.planted})
    def copy_solution_snapshot(folder: Path) -> None:
        shutil.copy(learners["solution"].folder(lab) / "snapshot.json", folder / "snapshot.json")

    try:
        for name, who in learners.items():
            work_and_submit(course, lab, who, cluster_kubeconfig,
                            before_submit=copy_solution_snapshot if name == "copieur" else None)
    finally:
        for who in learners.values():
            kube_api.delete("v1", "Namespace", who.namespace)

    offline = kernel_env(dead_kubeconfig(work))
    collect(course, lab, offline)
    started = time.perf_counter()
    done = course.nbgrader("autograde", lab.id, env=offline)
    seconds = time.perf_counter() - started
    course.nbgrader("generate_feedback", lab.id, env=offline)
    return Pipeline(lab, course, learners, seconds, done.stdout + done.stderr)


def _expect(lab: Lab, variant: str) -> dict:
    return yaml.safe_load((lab.folder / variant / "expect.yaml").read_text(encoding="utf-8"))


def _points(lab: Lab, checks: list[str]) -> int:
    return sum(c.points for c in lab.checks if c.id in checks)


def _quiz_max() -> int:
    return sum(q.points for q in builder().questions(load_lab(LAB_ID)))


def _feedback(pipeline: Pipeline, name: str) -> str:
    path = pipeline.course.root / "feedback" / name / LAB_ID / f"{LAB_ID}.html"
    assert path.is_file(), f"pas de retour pour {name} : {sorted(p.name for p in path.parent.parent.glob('*'))}"
    return path.read_text(encoding="utf-8")


def _plain(markup: str) -> str:
    """Le texte d'une page HTML (le code colorié par Pygments redevient lisible)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_collect_brings_notebook_and_snapshot(pipeline: Pipeline) -> None:
    """``nbgrader collect`` ramène-t-il, pour chaque apprenant, le notebook ET son instantané ?"""
    for name, who in pipeline.learners.items():
        folder = pipeline.course.root / "submitted" / name / LAB_ID
        assert (folder / f"{LAB_ID}.ipynb").is_file(), name
        document = read_document(folder / "snapshot.json")
        captured_by = pipeline.learners["solution"] if name == "copieur" else who
        assert document["lab"] == LAB_ID and document["namespace"] == captured_by.namespace, name
        assert document["submission"] == {"assignment": LAB_ID, "learner": captured_by.name}, name


def test_copied_snapshot_is_refused(pipeline: Pipeline) -> None:
    """L'instantané d'un autre apprenant, soumis tel quel, vaut-il 0 partout avec la raison en français ?"""
    lab = pipeline.lab
    copied = gradebook_scores(pipeline.course, lab, "copieur")
    assert all(copied.cells[f"verif-{check.id}"] == 0 for check in lab.checks), copied.cells
    notebook = nbformat.read(pipeline.course.root / "autograded" / "copieur" / LAB_ID / f"{LAB_ID}.ipynb",
                             as_version=4)
    text = outputs_text(notebook)
    assert text.count(french("instantané refusé : capturé par « solution », pas par « copieur »")) == len(lab.checks)


def test_autograde_grades_snapshots_without_cluster(pipeline: Pipeline) -> None:
    """La correction (cluster injoignable) note-t-elle chaque instantané, sans erreur ni lecture en direct ?"""
    assert "Traceback" not in pipeline.autograde_log, pipeline.autograde_log[-3000:]
    # nbgrader 1961 : aucune fausse alerte pour les cellules intactes qui ont des tests cachés.
    assert "has changed" not in pipeline.autograde_log, pipeline.autograde_log[-3000:]
    for name in ("solution", "depart", "mutant"):
        notebook = nbformat.read(pipeline.course.root / "autograded" / name / LAB_ID / f"{LAB_ID}.ipynb", as_version=4)
        text = outputs_text(notebook)
        assert "Correction automatique" in text and french("instantané « snapshot.json » capturé le") in text, name
        assert "cluster en direct" not in text and "non noté" not in text, f"{name} :\n{text[-2000:]}"
    per_submission = pipeline.autograde_seconds / len(pipeline.learners)
    print(f"autograde : {pipeline.autograde_seconds:.1f} s pour {len(pipeline.learners)} soumissions "
          f"({per_submission:.1f} s chacune)")


def test_gradebook_has_the_expected_scores(pipeline: Pipeline) -> None:
    """Solution : le maximum ; point de départ : sa note basse ; mutant : le maximum moins ses vérifications."""
    lab = pipeline.lab
    full = lab.max_points + _quiz_max()
    solution = gradebook_scores(pipeline.course, lab, "solution")
    assert (solution.score, solution.max_score) == (full, full), solution.cells
    assert solution.cells[f"verif-{HIDDEN}"] == _points(lab, [HIDDEN]) > 0  # la vérification cachée est notée

    fails = _expect(lab, MUTANT)["fails"]
    mutant = gradebook_scores(pipeline.course, lab, "mutant")
    assert mutant.score == full - _points(lab, fails), mutant.cells
    assert sorted(cell[len("verif-"):] for cell, score in mutant.cells.items() if score == 0) == sorted(fails)

    starter = gradebook_scores(pipeline.course, lab, "depart")
    report = grade_snapshot(lab.id, pipeline.course.root / "submitted" / "depart" / LAB_ID / "snapshot.json")
    assert starter.score == report.score <= STARTER_MAX_SHARE * lab.max_points, starter.cells
    assert all(starter.cells[f"quiz-{q.id}"] == 0 for q in builder().questions(lab))
    for result in report.results:
        assert starter.cells[f"verif-{result.check.id}"] == result.points, result.check.id
    # La cellule cachée n'a plus qu'un commentaire une fois publiée : si la correction ne la
    # remettait pas, elle vaudrait ses points ; le Service manque au départ, elle vaut 0.
    assert starter.cells[f"verif-{HIDDEN}"] == 0
    assert not any(g.needs_manual_grade for g in (solution, mutant, starter))


def test_feedback_is_french_with_failed_messages(pipeline: Pipeline) -> None:
    """Le retour est-il en français, avec la note et les messages des vérifications échouées ?"""
    lab = pipeline.lab
    mutant = _feedback(pipeline, "mutant")
    assert '<html lang="fr">' in mutant
    text = _plain(mutant)
    full = lab.max_points + _quiz_max()
    failed = _points(lab, _expect(lab, MUTANT)["fails"])
    assert french(f"(note : {full - failed} / {full})") in text  # des points entiers, pas « 17.0 / 19.0 »
    assert ".0 /" not in text
    for check in lab.checks:  # chaque section porte le titre de sa vérification, pas son identifiant
        title = "Vérification cachée n°1" if check.id == HIDDEN else check.title
        assert f">{html.escape(french(title), quote=False)}</span>" in mutant, title
    assert "Cellule de test" not in text
    assert "white-space: pre-wrap" in mutant  # les longues lignes passent à la ligne
    assert "<code>postgres-credentials</code>" in mutant  # les `code` des messages sont rendus
    assert french("La note vient de l'instantané") in text
    root = str(pipeline.course.root.parent)
    for name in pipeline.learners:  # aucun chemin de la machine de l'enseignant
        page = _feedback(pipeline, name)
        assert root not in page and "/autograded/" not in page and "site-packages" not in page, name
    for check, fragment in _expect(lab, MUTANT)["messages"].items():
        assert french(fragment).replace("`", "") in text.replace("`", ""), f"message de {check} absent du retour"
    assert "Indice" in text
    starter = _plain(_feedback(pipeline, "depart"))
    assert "✗" in starter and "la bonne réponse est" in starter


def test_feedback_hides_hidden_tests(pipeline: Pipeline) -> None:
    """Aucun retour ne montre le code d'un test caché (vérification cachée, réponses des questions) ?"""
    for name in pipeline.learners:
        text = _plain(_feedback(pipeline, name))
        assert 'noter("03-stockage-pvc", "postgres-statefulset")' in text  # le code visible, lui, est là
        assert f'noter("{LAB_ID}", "{HIDDEN}")' not in text, name
        assert "quiz.corriger" not in text and "attendu=" not in text, name
        assert "HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, name
        assert "Vérification cachée n°1" in text


def test_no_secret_value_in_any_file(pipeline: Pipeline) -> None:
    """La valeur d'un Secret de l'apprenant n'est dans aucun fichier (notebooks, instantanés, retours, base) ?"""
    root = pipeline.course.root.parent
    files = [path for path in root.rglob("*") if path.is_file()]
    assert len(files) > 20
    planted = [who.planted for who in pipeline.learners.values() if who.planted]
    assert len(planted) == 2
    for value in planted:
        needles = [value.encode(), base64.b64encode(value.encode()), base64.b64encode(value.encode()).rstrip(b"=")]
        for path in files:
            content = path.read_bytes()
            assert not any(needle in content for needle in needles), f"valeur du Secret dans {path.relative_to(root)}"
    solution = pipeline.course.root / "submitted" / "solution" / LAB_ID / "snapshot.json"
    assert SECRET in solution.read_text(encoding="utf-8")  # le Secret est bien dans l'instantané, sans valeur
