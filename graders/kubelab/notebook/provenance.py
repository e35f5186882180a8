"""Does a submitted snapshot belong here? Its assignment, its learner, its capture time.

Under nbgrader's autograde, ``SubmissionContext`` (``kubelab.notebook.nbgrader_hooks``) tells
the kernel which assignment and learner it grades and the window the capture must fall in
(from the assignment's opening, if the course sets one, to the submission's timestamp). A
snapshot copied from another learner or another assignment, or captured outside the window,
is refused: every check scores 0 with the reason.

This catches mistakes and copied files. It does not stop a learner who edits the fields and
recomputes the hash: for an exam, grade a cluster the instructor controls (classroom mode).
"""

from __future__ import annotations

from datetime import UTC, datetime

from kubelab.notebook.environment import Expectation
from kubelab.outcomes import Obj


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _shown(moment: datetime) -> str:
    return f"{_aware(moment).astimezone(UTC):%d/%m/%Y %H:%M:%S} UTC"


def problem(origin: Obj, expected: Expectation) -> str | None:
    """Why the snapshot described by ``origin`` (a report's origin) must not be graded here, or ``None``."""
    submission = origin.get("submission") or {}
    if (expected.assignment or expected.learner) and not submission:
        return ("instantané refusé : il ne dit pas pour quel devoir ni quel apprenant il a été capturé (il n'a pas été "
                "écrit par le bouton « Soumettre » du notebook)")
    if expected.assignment and submission.get("assignment") != expected.assignment:
        return (f"instantané refusé : capturé pour le devoir « {submission.get('assignment') or '?'} », "
                f"pas pour « {expected.assignment} »")
    if expected.learner and submission.get("learner") != expected.learner:
        return (f"instantané refusé : capturé par « {submission.get('learner') or '?'} », "
                f"pas par « {expected.learner} »")
    if expected.opens is None and expected.closes is None:
        return None
    try:
        captured = _aware(datetime.fromisoformat(str(origin.get("captured_at"))))
    except ValueError:
        return "instantané refusé : sa date de capture est illisible"
    if expected.opens is not None and captured < _aware(expected.opens):
        return (f"instantané refusé : capturé le {_shown(captured)}, avant l'ouverture du devoir "
                f"({_shown(expected.opens)})")
    if expected.closes is not None and captured > _aware(expected.closes):
        return (f"instantané refusé : capturé le {_shown(captured)}, après la soumission du devoir "
                f"({_shown(expected.closes)})")
    return None
