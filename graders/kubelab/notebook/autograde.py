"""The locked test cells: one per check, graded from the submitted snapshot only.

``noter(lab, check)`` prints the check's French message. A passed check prints on stdout;
a failed one prints on stderr, which nbgrader scores 0 (no traceback, so no code of a hidden
test ever shows in the feedback). The grade comes from the learner's work and nothing else:
without ``snapshot.json`` every check scores 0 (« aucun instantané soumis »), whoever runs
the notebook; the live cluster is never read here, so autograde cannot grade whatever the
grading machine's cluster holds. Under autograde the snapshot must also belong to the
assignment and the learner, captured within the assignment's window (``provenance``).
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from kubelab.catalog import Lab, load_lab
from kubelab.errors import KubelabError
from kubelab.grading import grade_snapshot
from kubelab.notebook import provenance
from kubelab.notebook.environment import Expectation, Mode, current_mode, expectation, snapshot_path
from kubelab.notebook.submitted import last_change, moment
from kubelab.outcomes import GradeReport, Outcome
from kubelab.typography import french

NO_SNAPSHOT = "aucun instantané soumis"
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Graded:
    """One grading of a lab's snapshot (or why there is none to grade)."""

    report: GradeReport | None
    source: str
    error: str = ""


_cache: dict[tuple[Any, ...], Graded] = {}


def _quietly(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run without letting a library write on stderr (nbgrader would read it as a failure)."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def graded(lab: Lab) -> Graded:
    """The lab's report from ``snapshot.json``, graded once per file version and expectation."""
    path = snapshot_path()
    mode = current_mode()
    if not path.is_file():
        if mode is Mode.AUTOGRADE:
            return Graded(None, "", f"{NO_SNAPSHOT} (pas de « {path.name} » avec le devoir)")
        return Graded(None, "", f"{NO_SNAPSHOT} : cliquez sur « Soumettre », puis soumettez le devoir")
    expected = expectation() if mode is Mode.AUTOGRADE else Expectation()
    stat = path.stat()
    key = (lab.id, str(path), stat.st_mtime_ns, stat.st_size, expected)
    if key not in _cache:
        try:
            report = _quietly(grade_snapshot, lab.id, path, include_hidden=True)
        except KubelabError as exc:
            _cache[key] = Graded(None, "", exc.notebook_message.replace(str(path), path.name))
        else:
            refused = provenance.problem(report.origin, expected)
            captured = report.origin.get("captured_at") or ""
            source = f"instantané « {path.name} »" + (f" capturé {moment(captured, full=True)}" if captured else "")
            _cache[key] = Graded(None if refused else report, source, refused or "")
    result = _cache[key]
    changed = last_change(lab.id)
    if mode is Mode.LEARNER and result.report is not None and changed is not None and changed > stat.st_mtime:
        return Graded(result.report, f"{result.source} ⚠ avant votre dernière modification : cliquez de nouveau "
                                     "sur « Soumettre »")
    return result


def noter(lab_id: str, check_id: str) -> None:
    """Print the verdict of one check: stdout when passed, stderr (0 point) otherwise."""
    try:
        lab = load_lab(lab_id)
    except KubelabError as exc:
        print(french(f"⚠ {exc.notebook_message}"), file=sys.stderr)
        return
    check = next((c for c in lab.checks if c.id == check_id), None)
    if check is None:
        print(french(f"⚠ Vérification inconnue du lab {lab_id} : « {check_id} »."), file=sys.stderr)
        return
    result = graded(lab)
    if result.report is None:
        print(french(f"✗ 0/{check.points} {check.title} — {result.error}."), file=sys.stderr)
        return
    outcome = result.report.result(check_id)
    if outcome.outcome is Outcome.PASSED:
        print(french(f"✓ {outcome.points}/{check.points} {check.title} — {outcome.message}"))
    elif outcome.outcome is Outcome.ERROR:
        print(french(f"⚠ 0/{check.points} {check.title} — {outcome.message}"), file=sys.stderr)
    else:
        print(french(f"✗ 0/{check.points} {check.title} — {outcome.message}\n  Indice : {outcome.hint}"),
              file=sys.stderr)
    print(french(f"  (source : {result.source})"))
