#!/usr/bin/env python3
"""Temps de la correction nbgrader d'un devoir et latence du bouton « Vérifier ».

Démarre son propre bac à sable (nom et dossier uniques sous /tmp, 1 nœud), crée un cours
nbgrader temporaire avec le notebook du lab (``notebooks/source/LAB``), puis :

- un apprenant travaille dans un noyau Jupyter (``jupyter_client``) : il exécute les cellules
  du devoir publié remplies avec la solution, jusqu'à « Soumettre », et clique sur le bouton
  (qui écrit ``snapshot.json``) ;
- « Vérifier » à chaud : dans ce même noyau, ``lab.verify_button.click()`` répété --clicks
  fois ; médiane de la durée mesurée par le bouton (lecture du cluster + notation + rendu de
  la liste) et de l'aller-retour complet vu du client (requête d'exécution -> réponse) ;
- « autograde, 1 soumission » : ``nbgrader autograde LAB --student …`` (processus neuf, noyau
  neuf, cluster **injoignable** : seuls les instantanés sont notés), médiane de --runs essais ;
- « autograde, N soumissions » : la même soumission copiée pour --submissions apprenants (chaque
  instantané copié porte le nom de son apprenant, comme s'il l'avait soumis lui-même),
  ``nbgrader autograde LAB`` une fois : durée totale et par soumission.

Objectifs : ≤ 10 s par soumission, « Vérifier » ≤ 300 ms à chaud. Arrête le bac à sable à la
fin, même en cas d'erreur.

    .venv/bin/python bench/bench_notebooks.py
    .venv/bin/python bench/bench_notebooks.py --lab 03-stockage-pvc --submissions 30 --clicks 30 --runs 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

from kubelab import snapshot
from kubelab.catalog import load_lab
from kubelab.sandbox.cluster import Sandbox

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.notebooks

from tests.notebooks.nbtools import DEAD_KUBECONFIG, Course, builder, kernel_env  # noqa: E402 - needs REPO on sys.path

ADDONS = ("dns", "hostpath-storage", "rbac")
GOAL_PER_SUBMISSION_S = 10.0
GOAL_VERIFY_MS = 300.0
PROBE = "_r = lab.verify_button.click(); print('MS', lab.verify_button.last_ms, _r.score, _r.max_score)"


def run_cell(client, code: str, timeout: float = 300) -> str:  # type: ignore[no-untyped-def]
    """Execute ``code`` in the kernel; its stdout (an error stops the bench)."""
    out: list[str] = []

    def hook(message: dict) -> None:
        if message["msg_type"] == "stream":
            out.append(message["content"]["text"])
        elif message["msg_type"] == "error":
            out.append("ERREUR " + message["content"]["ename"] + " " + message["content"]["evalue"])

    reply = client.execute_interactive(code, timeout=timeout, output_hook=hook)
    if reply["content"]["status"] != "ok":
        sys.exit(f"la cellule a échoué :\n{code[:300]}\n{''.join(out)}")
    return "".join(out)


def learner_session(notebook: nbformat.NotebookNode, folder: Path, env: dict[str, str],
                    clicks: int) -> tuple[list[float], list[float]]:
    """Run the filled notebook up to « Soumettre » in a kernel, then time « Vérifier » clicks."""
    manager, client = start_new_kernel(kernel_name="python3", env=env, cwd=str(folder))
    try:
        for cell in notebook.cells:
            if cell.cell_type != "code" or cell.metadata.get("nbgrader", {}).get("grade"):
                continue
            run_cell(client, cell.source)
            if cell.get("id") == "soumettre":
                run_cell(client, "lab.submit_button.click()")  # the cell shows the button; the learner clicks it
                break
        if not (folder / "snapshot.json").is_file():
            sys.exit("« Soumettre » n'a pas écrit snapshot.json")
        for _ in range(3):  # à chaud : connexion ouverte, modules chargés
            run_cell(client, PROBE)
        button, round_trip = [], []
        for _ in range(clicks):
            started = time.perf_counter()
            words = run_cell(client, PROBE).split()
            round_trip.append((time.perf_counter() - started) * 1000)
            button.append(float(words[1]))
            if words[2] != words[3]:
                sys.exit(f"la solution n'a pas tous les points à « Vérifier » ({words[2]}/{words[3]})")
        return button, round_trip
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def own_snapshot(path: Path, student: str) -> None:
    """The copied snapshot as ``student``'s « Soumettre » would have written it: same state, their name
    (autograde refuses a snapshot that names another learner)."""
    document = snapshot.read_document(path)
    document["submission"] = {**document.get("submission", {}), "learner": student}
    document["sha256"] = snapshot.content_hash(document)
    snapshot.write(document, path)


def timed(course: Course, *args: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    course.nbgrader(*args, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="03-stockage-pvc", help="lab mesuré (défaut : 03-stockage-pvc)")
    parser.add_argument("--submissions", type=int, default=30, help="soumissions corrigées ensemble (défaut : 30)")
    parser.add_argument("--runs", type=int, default=3, help="essais d'autograde d'une soumission (défaut : 3)")
    parser.add_argument("--clicks", type=int, default=30, help="clics sur « Vérifier » mesurés (défaut : 30)")
    args = parser.parse_args()

    lab = load_lab(args.lab)
    build = builder()
    root = Path(tempfile.mkdtemp(prefix="kubelab-bench-notebooks-"))
    sandbox = Sandbox(f"bench-nb-{uuid.uuid4().hex[:6]}", root=root / "bac")
    try:
        started = time.perf_counter()
        sandbox.up(nodes=1, addons=ADDONS, progress=lambda _: None)
        print(f"bac à sable « {sandbox.name} » prêt en {time.perf_counter() - started:.1f} s")
        course = Course(root / "cours", [lab.id])
        live = kernel_env(sandbox.kubeconfig, f"bench-{uuid.uuid4().hex[:5]}")
        course.nbgrader("generate_assignment", lab.id, env=live)
        released = nbformat.read(course.root / "release" / lab.id / f"{lab.id}.ipynb", as_version=4)
        notebook = build.fill(released, {**build.variant_answers(lab, "solution"), **build.quiz_answers(lab, True)})

        folder = root / "apprenant" / lab.id
        folder.mkdir(parents=True)
        started = time.perf_counter()
        button, round_trip = learner_session(notebook, folder, live, args.clicks)
        print(f"apprenant : notebook exécuté jusqu'à « Soumettre » en {time.perf_counter() - started:.1f} s")
        nbformat.write(notebook, folder / f"{lab.id}.ipynb")
    finally:
        sandbox.down(progress=lambda _: None)
    print("bac à sable arrêté : la correction ne lit que les instantanés")

    try:
        dead = root / "injoignable.kubeconfig"
        dead.write_text(DEAD_KUBECONFIG, encoding="utf-8")
        offline = kernel_env(dead)
        students = [f"apprenant-{n:02d}" for n in range(1, args.submissions + 1)]
        for student in students:
            shutil.copytree(folder, course.root / "submitted" / student / lab.id)
            own_snapshot(course.root / "submitted" / student / lab.id / "snapshot.json", student)
        single = [timed(course, "autograde", lab.id, f"--student={students[0]}", "--force", env=offline)
                  for _ in range(args.runs)]
        many = timed(course, "autograde", lab.id, env=offline)
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gradebook:
            scores = {gradebook.find_submission_notebook(lab.id, lab.id, s).score for s in students}
        full = lab.max_points + sum(q.points for q in build.questions(lab))
        if scores != {full}:
            sys.exit(f"notes inattendues après autograde : {sorted(scores)} (attendu : {full})")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    per = many / args.submissions
    print()
    print(f"lab {lab.id} — machine : {os.cpu_count()} cœurs")
    print(f"autograde, 1 soumission (processus nbgrader neuf), médiane de {args.runs} : "
          f"{statistics.median(single):.2f} s "
          f"(essais : {', '.join(f'{t:.2f}' for t in single)})")
    print(f"autograde, {args.submissions} soumissions en une commande : {many:.1f} s, soit {per:.2f} s par soumission")
    print(f"« Vérifier » à chaud, médiane de {args.clicks} clics : {statistics.median(button):.1f} ms (bouton), "
          f"{statistics.median(round_trip):.1f} ms (aller-retour noyau) ; max {max(round_trip):.1f} ms")
    print()
    worst_per = max(per, statistics.median(single))
    print(f"objectif ≤ {GOAL_PER_SUBMISSION_S:.0f} s par soumission : {worst_per:.2f} s — "
          f"{'ok' if worst_per <= GOAL_PER_SUBMISSION_S else 'KO'}")
    verify = statistics.median(round_trip)
    print(f"objectif « Vérifier » ≤ {GOAL_VERIFY_MS:.0f} ms : {verify:.1f} ms — "
          f"{'ok' if verify <= GOAL_VERIFY_MS else 'KO'}")


if __name__ == "__main__":
    main()
