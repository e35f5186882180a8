"""What has been submitted: the snapshot next to the notebook, its score, and whether it is current.

« Vérifier » grades the live cluster; the grade comes from ``snapshot.json``. So that a
learner never sees full marks while the submitted snapshot says otherwise, « Vérifier »,
the dashboard and « Soumettre » all show this status: no snapshot, a snapshot older than the
last change made from the notebook, a snapshot whose verdicts differ from the last
« Vérifier » (the cluster changed since, e.g. through kubectl), or a current one, always with
the score the snapshot gives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from kubelab.catalog import Lab
from kubelab.errors import KubelabError
from kubelab.grading import grade_snapshot
from kubelab.notebook import html
from kubelab.notebook.environment import snapshot_path
from kubelab.outcomes import GradeReport, Outcome

_changes: dict[str, float] = {}


def record_change(lab_id: str) -> None:
    """Something was applied, created or deleted from the notebook: a snapshot taken before is stale."""
    _changes[lab_id] = time.time()


def last_change(lab_id: str) -> float | None:
    """When the notebook last changed the lab's objects (seconds since the epoch), if it did."""
    return _changes.get(lab_id)


@dataclass(frozen=True)
class Submitted:
    """The snapshot next to the notebook, graded on its visible checks (or why it cannot be)."""

    path: Path
    written_at: float
    captured_at: str
    report: GradeReport | None
    error: str = ""


_graded: dict[tuple[str, str, int, int], Submitted] = {}


def read_submitted(lab: Lab, folder: Path | None = None) -> Submitted | None:
    """The submitted snapshot of ``lab``, graded once per file version; ``None`` when there is none."""
    path = snapshot_path(folder)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    key = (lab.id, str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _graded:
        try:
            report = grade_snapshot(lab.id, path, include_hidden=False)
            _graded[key] = Submitted(path, stat.st_mtime, report.origin.get("captured_at") or "", report)
        except KubelabError as exc:
            _graded[key] = Submitted(path, stat.st_mtime, "", None, exc.notebook_message.replace(str(path), path.name))
    return _graded[key]


class State(StrEnum):
    MISSING = "absent"
    UNREADABLE = "illisible"
    STALE = "périmé"
    DIFFERS = "différent"
    CURRENT = "à jour"


@dataclass(frozen=True)
class Status:
    """Where the submission stands, in one French sentence."""

    state: State
    message: str

    @property
    def ok(self) -> bool:
        return self.state is State.CURRENT

    def html(self) -> str:
        symbol = "✓" if self.ok else "⚠"
        return html.notice(f'<span class="kubelab-submission" data-state="{self.state.name.lower()}">'
                           f"<b>{symbol}</b> {html.text(self.message)}</span>", "ok" if self.ok else "warning")


def moment(value: str | float, full: bool = False) -> str:
    """« à 14:02:11 » today, else « le 03/05/2025 à 14:02:11 », in the machine's time zone (``full``: always
    the date and the zone, for a feedback read later and elsewhere)."""
    when = datetime.fromtimestamp(value) if isinstance(value, float) else datetime.fromisoformat(value).astimezone()
    if full:
        return f"le {when:%d/%m/%Y à %H:%M:%S} ({when:%Z})"
    if when.date() == datetime.now().date():
        return f"à {when:%H:%M:%S}"
    return f"le {when:%d/%m/%Y à %H:%M:%S}"


def _score(report: GradeReport) -> str:
    return f"{report.score}/{report.max_score}"


def _differs(submitted: GradeReport, live: GradeReport) -> bool:
    outcomes = {r.check.id: r.outcome for r in submitted.results}
    return any(r.outcome is not Outcome.ERROR and outcomes.get(r.check.id) not in (None, r.outcome)
               for r in live.results)


def status(lab: Lab, live: GradeReport | None = None, folder: Path | None = None) -> Status:
    """The submission's status; ``live`` is the report « Vérifier » just showed, if any."""
    hidden = " (les vérifications cachées sont notées à la correction)" if any(c.hidden for c in lab.checks) else ""
    submitted = read_submitted(lab, folder)
    if submitted is None:
        return Status(State.MISSING, "Aucun instantané soumis : la correction notera 0. Quand le score vous convient, "
                                     "cliquez sur « Soumettre » (section Soumettre), puis soumettez le devoir.")
    if submitted.report is None:
        return Status(State.UNREADABLE, f"L'instantané « {submitted.path.name} » ne peut pas être noté : "
                                        f"{submitted.error} Cliquez de nouveau sur « Soumettre ».")
    report = submitted.report
    captured = f"Instantané soumis {moment(submitted.captured_at)} : {_score(report)} aux vérifications visibles"
    changed = last_change(lab.id)
    if changed is not None and changed > submitted.written_at:
        return Status(State.STALE, f"{captured}, mais il date d'avant votre dernière modification "
                                   f"({moment(changed)}). La correction notera cet instantané, pas le cluster : "
                                   "cliquez de nouveau sur « Soumettre ».")
    if live is not None and _differs(report, live):
        return Status(State.DIFFERS, f"{captured}, alors que cette vérification donne {_score(live)} : le cluster a "
                                     "changé depuis la capture (ou se stabilise encore). La correction notera "
                                     "l'instantané : cliquez de nouveau sur « Soumettre ».")
    same = ", le même résultat que cette vérification" if live is not None else ""
    return Status(State.CURRENT, f"{captured}{same}. C'est lui que la correction notera{hidden}.")
