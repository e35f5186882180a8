"""Le parcours nbgrader pour chacun des labs, dans un seul cours temporaire.

Le parcours détaillé (vérification cachée, point de départ, protections, valeurs de Secret) est
celui du lab 03 (``test_pipeline.py``). Ici, chaque devoir du cours passe par la même chaîne :
génération, publication, deux apprenants qui récupèrent le devoir, le remplissent (la solution ;
le premier mutant du lab), l'exécutent sur le bac à sable et le soumettent ; ramassage, puis
correction avec un noyau dont le cluster est injoignable, et retours. Le carnet de notes doit
donner, pour chaque lab, le maximum à la solution et le maximum moins exactement les
vérifications du mutant (``expect.yaml``) au mutant, et le retour du mutant ses messages.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from kubelab.catalog import Lab, available_labs
from kubelab.kube_api import KubeApi
from kubelab.typography import french

from .nbtools import Course, builder, kernel_env
from .pipeline import collect, dead_kubeconfig, gradebook_scores, learner, work_and_submit

LABS = available_labs()


def first_mutant(lab: Lab) -> str:
    """Le mutant que l'apprenant « mutant » rend pour ce lab : le premier par ordre alphabétique."""
    return f"mutants/{sorted(path.name for path in (lab.folder / 'mutants').iterdir() if path.is_dir())[0]}"


@dataclass
class EveryLab:
    course: Course
    autograde_log: str
    seconds: dict[str, float]
    """étape -> durée (s), affichée à la fin du parcours."""


@pytest.fixture(scope="module")
def every_lab(tmp_path_factory: pytest.TempPathFactory, cluster_kubeconfig: Path, kube_api: KubeApi) -> EveryLab:
    work = tmp_path_factory.mktemp("parcours-complet")
    course = Course(work / "cours", [lab.id for lab in LABS])
    live = kernel_env(cluster_kubeconfig)
    offline = kernel_env(dead_kubeconfig(work))
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    course.nbgrader("generate_assignment", "*", env=live)  # un motif : tous les devoirs de source/
    for lab in LABS:
        course.nbgrader("release_assignment", lab.id, env=live)
        who = [learner("solution", lab, work, "solution", quiz=True, api=kube_api),
               learner("mutant", lab, work, first_mutant(lab), quiz=True, api=kube_api)]
        try:
            for one in who:
                work_and_submit(course, lab, one, cluster_kubeconfig)
        finally:
            for one in who:
                kube_api.delete("v1", "Namespace", one.namespace)
        collect(course, lab, offline)
    seconds["publication, travail des apprenants, ramassage"] = time.perf_counter() - started
    started = time.perf_counter()
    done = course.nbgrader("autograde", "*", env=offline)
    seconds[f"autograde de {2 * len(LABS)} soumissions"] = time.perf_counter() - started
    course.nbgrader("generate_feedback", "*", env=offline)
    print(" ; ".join(f"{step} : {value:.1f} s" for step, value in seconds.items()))
    return EveryLab(course, done.stdout + done.stderr, seconds)


def _expect(lab: Lab, variant: str) -> dict:
    return yaml.safe_load((lab.folder / variant / "expect.yaml").read_text(encoding="utf-8"))


def _full(lab: Lab) -> int:
    return lab.max_points + sum(q.points for q in builder().questions(lab))


def grading_tracebacks(log: str) -> list[str]:
    """The tracebacks of an nbgrader log, each up to the next log record, but for those the kernel's
    messaging logs on its own (« Uncaught exception in ZMQStream callback », raised in pyzmq's event
    loop, with no frame of kubelab's package or of a notebook cell): a loaded machine sometimes shows one as a
    kernel shuts down."""
    blocks = [part.split("\n[", 1)[0] for part in log.split("Traceback (most recent call last):")[1:]]
    return [block for block in blocks
            if "zmq/eventloop/zmqstream.py" not in block or "graders/kubelab" in block or "Cell In[" in block]


def test_grading_tracebacks_keeps_ours_and_drops_the_kernels_messaging_noise() -> None:
    noise = ('[IPKernelApp] ERROR | Uncaught exception in ZMQStream callback\nTraceback (most recent call last):\n'
             '  File "/v/site-packages/zmq/eventloop/zmqstream.py", line 585, in _log_error\n    f.result()\n'
             'RuntimeError: boom\n[AutogradeApp | INFO] Writing 1 bytes')
    ours = ('Traceback (most recent call last):\n  File "/r/graders/kubelab/grading.py", line 3, in grade\n'
            'KeyError: x\n[AutogradeApp | INFO] done')
    assert grading_tracebacks(noise) == []
    assert len(grading_tracebacks(noise + "\n" + ours)) == 1


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_solution_gets_every_point_from_its_snapshot(every_lab: EveryLab, lab: Lab) -> None:
    """La solution soumise, corrigée sans cluster, a-t-elle le maximum dans le carnet de notes ?"""
    found = grading_tracebacks(every_lab.autograde_log)
    assert not found, "\n---\n".join(found)[:4000]
    graded = gradebook_scores(every_lab.course, lab, "solution")
    assert (graded.score, graded.max_score) == (_full(lab), _full(lab)), graded.cells
    assert not graded.needs_manual_grade


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_mutant_loses_exactly_its_checks(every_lab: EveryLab, lab: Lab) -> None:
    """Le mutant perd-il exactement les points des vérifications de son ``expect.yaml``, et son
    retour, en français, montre-t-il leurs messages ?"""
    variant = first_mutant(lab)
    fails = _expect(lab, variant)["fails"]
    graded = gradebook_scores(every_lab.course, lab, "mutant")
    lost = sum(check.points for check in lab.checks if check.id in fails)
    assert graded.score == _full(lab) - lost, graded.cells
    assert sorted(cell[len("verif-"):] for cell, score in graded.cells.items() if score == 0) == sorted(fails)

    page = every_lab.course.root / "feedback" / "mutant" / lab.id / f"{lab.id}.html"
    markup = page.read_text(encoding="utf-8")
    assert '<html lang="fr">' in markup
    text = html.unescape(re.sub(r"<[^>]+>", "", markup))
    for check, fragment in _expect(lab, variant)["messages"].items():
        # the feedback renders the messages' Markdown: a code span's backticks become <code>
        assert french(fragment).replace("`", "") in text.replace("`", ""), \
            f"{lab.id} : message de {check} absent du retour"
    # La correction a noté l'instantané soumis, sans erreur d'infrastructure (cluster injoignable).
    assert french("instantané « snapshot.json » capturé le") in text and "⚠ 0/" not in text
