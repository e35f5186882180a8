"""The submission: grade the live cluster (waiting for it to settle), then write the lab's
snapshot next to the notebook, where nbgrader collects it with the notebook.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kubelab import snapshot
from kubelab.catalog import Lab
from kubelab.errors import UsageError
from kubelab.grading import grade, live_state
from kubelab.kube_api import KubeApi
from kubelab.notebook import html
from kubelab.notebook.environment import in_instructor_source, snapshot_path
from kubelab.outcomes import GradeReport

ALLOW = ("dry-run",)
"""Server-side dry runs write nothing: the notebook allows them on the learner's own cluster."""


@dataclass(frozen=True)
class Submission:
    """A snapshot written, and the visible score it carries."""

    path: Path
    objects: int
    sha256: str
    captured_at: str
    visible_score: int
    visible_max: int


def submit(lab: Lab, api: KubeApi, namespace: str, folder: Path | None = None) -> Submission:
    """Grade (waiting for pending state), capture and write ``snapshot.json``."""
    path = snapshot_path(folder)
    if in_instructor_source(path.parent):
        raise UsageError(
            f"Ce notebook est dans le dossier source du cours nbgrader ({path.parent}) : un instantané écrit ici "
            "serait distribué aux apprenants avec le devoir. Il n'est pas écrit ; testez le notebook depuis une copie.")
    state = live_state(lab, api, namespace, ALLOW)
    report = grade(lab, state, include_hidden=True)
    document = snapshot.capture(lab, state)
    snapshot.write(document, path)
    visible = _visible(report)
    return Submission(path, sum(len(items) for items in document["lists"].values()), document["sha256"],
                      document["captured_at"], visible[0], visible[1])


def _visible(report: GradeReport) -> tuple[int, int]:
    shown = [r for r in report.results if not r.check.hidden]
    return sum(r.points for r in shown), sum(r.check.points for r in shown)


def render(done: Submission) -> str:
    return html.notice(
        f"<b>✓ Instantané écrit</b> dans « {html.text(done.path.name)} » ({done.objects} objets, "
        f"empreinte <code>{done.sha256[:12]}</code>, capturé le {html.text(done.captured_at)}).<br>"
        f"Au moment de la soumission : <b>{done.visible_score}/{done.visible_max}</b> aux vérifications visibles. "
        "Soumettez maintenant le devoir (onglet « Assignments », bouton « Submit ») : nbgrader ramasse le notebook "
        "et son instantané, et la correction notera cet instantané, sans accès à votre cluster. "
        "Si vous modifiez encore votre travail, exécutez de nouveau cette cellule avant de soumettre.", "ok")
