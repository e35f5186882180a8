"""The locked test cells: one per check, graded from the snapshot when there is one.

``noter(lab, check)`` prints the check's French message. A passed check prints on stdout;
a failed one prints on stderr, which nbgrader scores 0 (no traceback, so no code of a hidden
test ever shows in the feedback). The lab is graded once per kernel and source: every test
cell reads the same report.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from kubelab.catalog import Lab, load_lab
from kubelab.errors import KubelabError
from kubelab.grading import grade, grade_snapshot, live_state
from kubelab.notebook.environment import lab_namespace, snapshot_path
from kubelab.outcomes import GradeReport, Outcome
from kubelab.typography import french

P = ParamSpec("P")
R = TypeVar("R")

LIVE_TTL = 60.0
"""A live report is reused this long by the following test cells, unless something was applied."""


@dataclass(frozen=True)
class Graded:
    """One grading of a lab (or why it could not be graded), and where the state came from."""

    report: GradeReport | None
    source: str
    error: str = ""
    at: float = 0.0


_cache: dict[tuple, Graded] = {}
_generation = 0


def invalidate() -> None:
    """Something was applied: the next test cell grades the live cluster again."""
    global _generation
    _generation += 1


def _quietly(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run without letting a library write on stderr (nbgrader would read it as a failure)."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def graded(lab: Lab) -> Graded:
    """The lab's report: from ``snapshot.json`` if present, else from the live cluster."""
    path = snapshot_path()
    if path.is_file():
        stat = path.stat()
        key: tuple = (lab.id, "snapshot", str(path), stat.st_mtime_ns, stat.st_size)
        if key not in _cache:
            try:
                report = _quietly(grade_snapshot, lab.id, path, include_hidden=True)
                captured = report.origin.get("captured_at") or "?"
                _cache[key] = Graded(report, f"instantané « {path.name} » capturé le {captured}")
            except KubelabError as exc:
                _cache[key] = Graded(None, f"instantané « {path.name} »", exc.message)
        return _cache[key]
    namespace = lab_namespace(lab)
    key = (lab.id, "live", namespace, _generation)
    cached = _cache.get(key)
    if cached is not None and time.monotonic() - cached.at < LIVE_TTL:
        return cached
    from kubelab.notebook.cluster import find_cluster

    try:
        cluster = _quietly(find_cluster)
        try:
            state = live_state(lab, cluster.api, namespace, ("dry-run",))
            report = _quietly(grade, lab, state, include_hidden=True, origin={"description": cluster.origin})
        finally:
            cluster.api.close()
        result = Graded(report, f"cluster en direct, namespace « {namespace} » (aucun instantané « {path.name} »)",
                        at=time.monotonic())
    except KubelabError as exc:
        result = Graded(None, "cluster en direct", f"aucun instantané « {path.name} », et la lecture du cluster a "
                                                   f"échoué : {exc.message}", at=time.monotonic())
    _cache[key] = result
    return result


def noter(lab_id: str, check_id: str) -> None:
    """Print the verdict of one check: stdout when passed, stderr (0 point) otherwise."""
    lab = load_lab(lab_id)
    check = next((c for c in lab.checks if c.id == check_id), None)
    if check is None:
        print(french(f"⚠ Vérification inconnue du lab {lab_id} : « {check_id} »."), file=sys.stderr)
        return
    result = graded(lab)
    if result.report is None:
        print(french(f"⚠ 0/{check.points} {check.title} — non noté : {result.error}"), file=sys.stderr)
        return
    outcome = result.report.result(check_id)
    source = french(f"  (source : {result.source})")
    if outcome.outcome is Outcome.PASSED:
        print(french(f"✓ {outcome.points}/{check.points} {check.title} — {outcome.message}"))
    elif outcome.outcome is Outcome.ERROR:
        print(french(f"⚠ 0/{check.points} {check.title} — {outcome.message}"), file=sys.stderr)
    else:
        print(french(f"✗ 0/{check.points} {check.title} — {outcome.message}\n  Indice : {check.spec.hint}"),
              file=sys.stderr)
    print(source)
