"""The submission: grade the live cluster (waiting for it to settle), then write the lab's
snapshot next to the notebook, where nbgrader collects it with the notebook.

The capture happens only when the learner clicks « Soumettre »: running every cell (« Run
All ») shows the button, never captures, so a snapshot always reflects a decision to submit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kubelab import snapshot
from kubelab.catalog import Lab
from kubelab.errors import KubelabError, UsageError
from kubelab.grading import grade, live_state
from kubelab.kube_api import KubeApi
from kubelab.notebook import html
from kubelab.notebook.environment import in_instructor_source, learner_identity, snapshot_path
from kubelab.notebook.submitted import moment
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
    seconds: float


def submit(lab: Lab, api: KubeApi, namespace: str, folder: Path | None = None) -> Submission:
    """Grade (waiting for pending state), capture and write ``snapshot.json``."""
    started = time.monotonic()
    path = snapshot_path(folder)
    if in_instructor_source(path.parent):
        raise UsageError(
            f"Ce notebook est dans le dossier source du cours nbgrader ({path.parent.name}) : un instantané écrit "
            "ici serait distribué aux apprenants avec le devoir. Il n'est pas écrit ; testez le notebook depuis une "
            "copie.")
    state = live_state(lab, api, namespace, ALLOW)
    report = grade(lab, state, include_hidden=True)
    document = snapshot.capture(lab, state, {"assignment": path.parent.name, "learner": learner_identity()})
    snapshot.write(document, path)
    visible = _visible(report)
    return Submission(path, sum(len(items) for items in document["lists"].values()), document["sha256"],
                      document["captured_at"], visible[0], visible[1], time.monotonic() - started)


def _visible(report: GradeReport) -> tuple[int, int]:
    shown = [r for r in report.results if not r.check.hidden]
    return sum(r.points for r in shown), sum(r.check.points for r in shown)


def render(done: Submission) -> str:
    return html.notice(
        f"<b>✓ Instantané écrit</b> dans « {html.text(done.path.name)} » ({done.objects} objets, "
        f"empreinte <code>{done.sha256[:12]}</code>, capturé {html.text(moment(done.captured_at))}, "
        f"en {done.seconds:.1f} s).<br>"
        f"Au moment de la soumission : <b>{done.visible_score}/{done.visible_max}</b> aux vérifications visibles. "
        "Soumettez maintenant le devoir (onglet « Assignments », bouton « Submit ») : nbgrader ramasse le notebook "
        "et son instantané, et la correction notera cet instantané, sans accès à votre cluster. "
        "Si vous modifiez encore votre travail, cliquez de nouveau sur « Soumettre » avant de soumettre.", "ok")


class SubmitButton:
    """The « Soumettre » button: a click captures the snapshot; displaying it captures nothing."""

    def __init__(self, submit_now: Callable[[], str], current_status: Callable[[], str]) -> None:
        import ipywidgets as widgets

        self._submit = submit_now
        self._status = current_status
        self.button = widgets.Button(description="Soumettre", button_style="success", icon="upload",
                                     tooltip="Capturer l'état du lab dans snapshot.json, pour la correction")
        self.output = widgets.HTML(value=current_status())
        self.button.on_click(lambda _: self.click())
        self.widget = widgets.VBox([self.button, self.output])

    def click(self) -> str:
        """Capture now; the HTML shown."""
        self.button.disabled = True
        self.output.value = html.notice(html.text("Capture en cours : le cluster se stabilise (pods prêts, volumes "
                                                  "liés), puis le lab est noté et l'instantané écrit…"))
        try:
            self.output.value = self._submit()
        except KubelabError as exc:
            self.output.value = html.notice(f"<b>⚠</b> {html.lines(exc.notebook_message)}", "error")
        finally:
            self.button.disabled = False
        return self.output.value

    def refresh(self) -> None:
        """Show the current status again (after a change, or another capture)."""
        if not self.button.disabled:
            self.output.value = self._status()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
