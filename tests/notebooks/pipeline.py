"""Ce que partagent les tests du parcours nbgrader complet : des apprenants simulés qui
récupèrent le devoir publié (``nbgrader fetch_assignment``), le remplissent, l'exécutent sur
le bac à sable dans leur propre namespace puis le soumettent (``nbgrader submit``), et la
lecture du carnet de notes de nbgrader.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from kubelab.catalog import Lab
from kubelab.kube_api import KubeApi
from kubelab.lab_setup import setup
from kubelab.manifests import FACT_PLACEHOLDERS

from .nbtools import Course, builder, click_submit, errors, execute, kernel_env, without_test_cells


@dataclass
class Learner:
    """Un apprenant simulé : son nom nbgrader, son namespace, son dossier, ce qu'il répond."""

    name: str
    namespace: str
    home: Path
    answers: dict[str, str]
    planted: str | None = None
    """La valeur d'un Secret créé pour lui avant qu'il n'exécute le notebook (à ne retrouver nulle part)."""

    def folder(self, lab: Lab) -> Path:
        return self.home / lab.id

    def notebook_path(self, lab: Lab) -> Path:
        return self.folder(lab) / f"{lab.id}.ipynb"


def learner(name: str, lab: Lab, root: Path, variant: str | None, quiz: bool, api: KubeApi | None = None) -> Learner:
    """``variant`` : ``solution``, ``mutants/x``… ou ``None`` (le point de départ publié, tel quel).

    Avec ``api``, l'apprenant écrit les faits qu'il a relevés sur le cluster (lab 01) à la place
    des marqueurs ``__NODES__``… des fichiers de la variante, comme le ferait un vrai apprenant.
    """
    build = builder()
    answers: dict[str, str] = {}
    if variant is not None:
        answers.update(build.variant_answers(lab, variant))
    if api is not None:
        answers = {cell: with_facts(api, source) for cell, source in answers.items()}
    if quiz:
        answers.update(build.quiz_answers(lab, True))
    namespace = f"nb-{name}-{uuid.uuid4().hex[:5]}"[:63]
    return Learner(name, namespace, root / "apprenants" / name, answers)


def with_facts(api: KubeApi, source: str) -> str:
    """``source`` où chaque marqueur de fait (``__NODES__``…) est remplacé par le fait lu sur le cluster."""
    for placeholder, read in FACT_PLACEHOLDERS.items():
        if placeholder in source:
            source = source.replace(placeholder, read(api))
    return source


def plant_secret(api: KubeApi, lab: Lab, who: Learner, name: str, values: dict[str, str]) -> None:
    """Crée le namespace de l'apprenant et un Secret : ``ALEATOIRE`` gardera ces valeurs."""
    setup(api, lab, who.namespace)
    api.apply({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
               "metadata": {"name": name, "namespace": who.namespace}, "stringData": values})


def work_and_submit(course: Course, lab: Lab, who: Learner, kubeconfig: Path,
                    tamper: Callable[[nbformat.NotebookNode], None] | None = None,
                    before_submit: Callable[[Path], None] | None = None) -> nbformat.NotebookNode:
    """Récupère le devoir, le remplit, (le trafique,) l'exécute sur le cluster, clique sur « Soumettre »,
    l'enregistre, (touche à son dossier,) et le soumet."""
    who.home.mkdir(parents=True, exist_ok=True)
    env = kernel_env(kubeconfig, who.namespace, JUPYTERHUB_USER=who.name)
    course.nbgrader("fetch_assignment", lab.id, env=env, cwd=who.home)
    notebook = nbformat.read(who.notebook_path(lab), as_version=4)
    builder().fill(notebook, who.answers)
    if tamper is not None:
        tamper(notebook)
    execute(click_submit(notebook), who.folder(lab), env)
    assert not errors(notebook), f"{who.name} : {errors(notebook)}"
    nbformat.write(without_test_cells(notebook), who.notebook_path(lab))
    assert (who.folder(lab) / "snapshot.json").is_file(), f"{who.name} : « Soumettre » n'a pas écrit snapshot.json"
    if before_submit is not None:
        before_submit(who.folder(lab))
    course.nbgrader("submit", lab.id, f"--student={who.name}", env=env, cwd=who.home)
    return notebook


def collect(course: Course, lab: Lab, env: dict[str, str]) -> None:
    """``nbgrader collect`` (les fichiers de l'échange appartiennent tous à l'utilisateur du test)."""
    course.nbgrader("collect", lab.id, "--CollectApp.check_owner=False", env=env)


@dataclass(frozen=True)
class Graded:
    """Ce que le carnet de notes de nbgrader retient d'une soumission."""

    score: float
    max_score: float
    cells: dict[str, float]
    """id de cellule de test -> points obtenus."""
    needs_manual_grade: bool


def gradebook_scores(course: Course, lab: Lab, student: str) -> Graded:
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(lab.id, lab.id, student)
        cells = {grade.name: grade.score for grade in notebook.grades}
        return Graded(notebook.score, notebook.max_score, cells, notebook.needs_manual_grade)


def dead_kubeconfig(folder: Path) -> Path:
    """Un kubeconfig qui vise un port fermé : un cluster injoignable, comme un bac à sable arrêté."""
    from .nbtools import DEAD_KUBECONFIG

    path = folder / "injoignable.kubeconfig"
    path.write_text(DEAD_KUBECONFIG, encoding="utf-8")
    return path
