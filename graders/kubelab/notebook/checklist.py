"""The « Vérifier » button and the checklist it shows.

The button grades the lab's visible checks on the live cluster without waiting
(``grading.grade(lab, state, include_hidden=False, wait=0)``) and shows one line per check:
✓ or ✗, points, the French message, and for a failure its hint and the recent Events of
the objects involved. Under the checklist, where the submission stands: the grade comes
from the submitted snapshot, so the learner always sees the score it gives and whether it
is current (``kubelab.notebook.submitted``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from kubelab.notebook import html
from kubelab.outcomes import GradeReport, Outcome
from kubelab.typography import plural

SYMBOLS = {Outcome.PASSED: "✓", Outcome.FAILED: "✗", Outcome.ERROR: "⚠"}
COLOURS = {Outcome.PASSED: html.GREEN, Outcome.FAILED: html.RED, Outcome.ERROR: html.ORANGE}


def render(report: GradeReport, elapsed_ms: float | None = None, context: str = "") -> str:
    """The checklist of a (visible) grade report as HTML."""
    share = report.score / report.max_score if report.max_score else 0.0
    colour = html.GREEN if share == 1 else (html.ORANGE if share >= 0.5 else html.RED)
    rows = []
    for result in report.results:
        check = result.check
        symbol = f'<span style="color: {COLOURS[result.outcome]}; font-weight: 700">{SYMBOLS[result.outcome]}</span>'
        earned = "–" if result.outcome is Outcome.ERROR else str(result.points)
        body = f"<b>{html.text(check.title)}</b><br>{html.text(result.message)}"
        if result.outcome is Outcome.FAILED:
            body += f'<br><span style="color: {html.GREY}"><i>Indice</i> : {html.text(result.hint)}</span>'
            for event in result.events:
                body += (f'<br><span style="color: {html.ORANGE}">Événement {html.text(event.get("reason", ""))} '
                         f'({html.text(event.get("object", ""))}) : {html.text(event.get("message", ""))}</span>')
        rows.append([symbol, f'<span style="white-space: nowrap">{earned}/{check.points}</span>', body])
    when = datetime.now().strftime("%H:%M:%S")
    timing = f" en {elapsed_ms:.0f} ms" if elapsed_ms is not None else ""
    errors = ""
    if report.errors:
        count = plural(len(report.errors), "vérification non notée", "vérifications non notées")
        errors = html.notice(html.text(f"⚠ {count} : problème d'infrastructure, relancez la vérification."), "warning")
    shown = plural(len(report.results), "vérification visible", "vérifications visibles")
    footer = f"Vérifié à {when}{timing} — {shown}"
    if context:
        footer += f" — {context}"
    return (
        f'<div style="{html.FONT}" class="kubelab-checklist">'
        f'<div style="font-size: 15px; font-weight: 700; color: {colour}" class="kubelab-score">'
        f"{html.text(f'Score : {report.score}/{report.max_score}')}</div>"
        f'<div style="background: #e0e0e0; height: 6px; width: 320px; margin: 4px 0 6px 0">'
        f'<div style="background: {colour}; height: 6px; width: {share * 100:.0f}%"></div></div>'
        f"{errors}{html.table(['', 'Points', 'Vérification'], rows)}"
        f'<div style="color: {html.GREY}">{html.text(footer)}</div></div>'
    )


class VerifyButton:
    """The « Vérifier » button and its checklist, as ipywidgets."""

    PLACEHOLDER = "Cliquez sur « Vérifier » pour noter votre travail (vérifications visibles, sans attendre)."

    def __init__(self, grade: Callable[[], tuple[GradeReport, str]],
                 submission_status: Callable[[GradeReport | None], str] | None = None) -> None:
        import ipywidgets as widgets

        self._grade = grade
        self._submission_status = submission_status
        self.button = widgets.Button(description="Vérifier", button_style="primary", icon="check",
                                     tooltip="Noter le lab maintenant (vérifications visibles)")
        self.output = widgets.HTML(value=html.notice(html.text(self.PLACEHOLDER)))
        self.submission = widgets.HTML(value=submission_status(None) if submission_status else "")
        self.button.on_click(lambda _: self.click())
        self.widget = widgets.VBox([self.button, self.output, self.submission])
        self.last_ms: float | None = None
        self.last_report: GradeReport | None = None
        self.last_at = 0.0

    def click(self) -> GradeReport | None:
        """Grade now and show the checklist; the report, or ``None`` after an error."""
        self.button.disabled = True
        started = time.perf_counter()
        try:
            report, context = self._grade()
        except Exception as exc:  # shown to the learner, never a traceback
            message = getattr(exc, "notebook_message", None) or f"{type(exc).__name__} : {exc}"
            self.output.value = html.notice(f"<b>⚠ Vérification impossible.</b> {html.lines(message)}", "error")
            return None
        finally:
            self.button.disabled = False
        self.last_ms = (time.perf_counter() - started) * 1000
        self.last_report = report
        self.last_at = time.time()
        self.output.value = render(report, self.last_ms, context)
        if self._submission_status is not None:
            self.submission.value = self._submission_status(report)
        return report

    def show_status(self, markup: str) -> None:
        """Replace the submission's status shown under the checklist."""
        self.submission.value = markup

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
