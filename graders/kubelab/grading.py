"""Run a lab's checks over a cluster state and gather a report.

Each check runs with its own deadline, so one hung check cannot zero the others. A check
that raises an infrastructure error, times out or crashes is reported as an error
(« non noté, à relancer »), never as the learner's failure. On a live cluster, failures
that may still resolve (``pending``) are awaited with a watch until a deadline.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kubelab import __version__
from kubelab.catalog import Lab, load_lab
from kubelab.checks import Check, Verdict
from kubelab.cluster_state import ClusterState, ProbeNotAllowed
from kubelab.errors import KubelabError, UsageError
from kubelab.kube_api import KubeApi
from kubelab.live_state import LiveState
from kubelab.outcomes import CheckResult, GradeReport, Outcome
from kubelab.typography import french
from kubelab.waiting import deadline, wait_for_change


def grade(lab: Lab, state: ClusterState, *, include_hidden: bool = True, wait: float | None = None,
          origin: dict | None = None) -> GradeReport:
    """Grade ``lab`` over ``state``; ``wait`` bounds the wait for pending state (live only)."""
    checks = [c for c in lab.checks if include_hidden or not c.hidden]
    rounds = _Rounds(checks, state)
    results = rounds.run()
    budget = deadline("converge") if wait is None else wait
    if isinstance(state, LiveState) and budget > 0:
        results = _await_pending(rounds, state, results, time.monotonic() + budget)
    final = tuple(_with_events(result, verdict, state) for result, verdict in results)
    return GradeReport(
        lab_id=lab.id, lab_title=lab.title, namespace=state.namespace, source=state.source, results=final,
        graded_at=datetime.now(UTC).isoformat(timespec="seconds"), tool_version=__version__,
        origin=origin or {},
    )


def live_state(lab: Lab, api: KubeApi, namespace: str | None = None, allow: tuple[str, ...] = ()) -> LiveState:
    """A live state for ``lab`` in ``namespace`` (the lab's own by default), which must exist."""
    target = namespace or lab.namespace
    if api.get("v1", "Namespace", target) is None:
        missing = f"Le namespace « {target} » n'existe pas sur ce cluster ({api.description}) : "
        raise UsageError(missing + f"lancez « kubelab lab setup {lab.id} » ou indiquez --namespace.",
                         notebook=missing + "exécutez la cellule « Préparer le lab ».")
    return LiveState(api, target, lab.reads, lab.probes, allow)


def grade_live(lab_id: str, api: KubeApi, namespace: str | None = None, *, allow: tuple[str, ...] = (),
               wait: float | None = None, include_hidden: bool = True) -> GradeReport:
    """Grade a lab on a live cluster (read-only unless ``allow`` names dry runs or probes)."""
    lab = load_lab(lab_id)
    state = live_state(lab, api, namespace, allow)
    return grade(lab, state, include_hidden=include_hidden, wait=wait,
                 origin={"description": api.description})


def grade_snapshot(lab_id: str, path: Path, *, include_hidden: bool = True) -> GradeReport:
    """Grade a lab from a snapshot file, with the same verdicts as live."""
    from kubelab.snapshot import load_state

    lab = load_lab(lab_id)
    state, document = load_state(lab, path)
    origin = {"description": str(path), "captured_at": document.get("captured_at"), "cluster": document["cluster"],
              "submission": document.get("submission") or {}}
    return grade(lab, state, include_hidden=include_hidden, origin=origin)


Outcomes = list[tuple[CheckResult, Verdict | None]]


@dataclass
class _Run:
    """One check running in its own daemon thread: a hung check neither waits for a free
    worker nor keeps the process alive once the report is out."""

    check: Check
    done: threading.Event = field(default_factory=threading.Event)
    verdict: Verdict | None = None
    error: BaseException | None = None


def _start(check: Check, state: ClusterState) -> _Run:
    run = _Run(check)

    def target() -> None:
        try:
            run.verdict = check.spec.run(state)
        except BaseException as exc:  # reported as « non noté », never raised
            run.error = exc
        finally:
            run.done.set()

    threading.Thread(target=target, name=f"check-{check.id}", daemon=True).start()
    return run


class _Rounds:
    """Runs every check once per round, each in its own thread, with its own deadline.

    A check that missed its deadline keeps its thread (it cannot be stopped) and is never
    started again: later rounds report the same « délai dépassé », so a hung check costs one
    thread, not one per round.
    """

    def __init__(self, checks: list[Check], state: ClusterState) -> None:
        self.checks = checks
        self.state = state
        self.hung: dict[str, tuple[CheckResult, Verdict | None]] = {}

    def run(self) -> Outcomes:
        started = time.monotonic()
        runs = [None if check.id in self.hung else _start(check, self.state) for check in self.checks]
        results: Outcomes = []
        for check, run in zip(self.checks, runs, strict=True):
            if run is None:
                results.append(self.hung[check.id])
                continue
            outcome = _collect(run, started)
            if not run.done.is_set():
                self.hung[check.id] = outcome
            results.append(outcome)
        return results


def _collect(run: _Run, started: float) -> tuple[CheckResult, Verdict | None]:
    check = run.check
    limit = check.spec.timeout or deadline("check")
    if not run.done.wait(max(0.0, started + limit - time.monotonic())):
        return _error(check, f"non noté, à relancer : délai dépassé ({limit:.0f} s).", started), None
    exc = run.error
    if isinstance(exc, KubelabError):
        return _error(check, not_graded(exc), started), None
    if exc is not None:  # a bug in a grader is never the learner's failure
        message = f"non noté, à relancer : erreur interne du correcteur ({type(exc).__name__} : {exc})."
        return _error(check, message, started), None
    verdict = run.verdict
    assert verdict is not None
    outcome = Outcome.PASSED if verdict.passed else Outcome.FAILED
    return CheckResult(check, outcome, verdict.message, time.monotonic() - started,
                       state_hint=verdict.hint), verdict


def not_graded(exc: KubelabError) -> str:
    """Why a check is not graded, once prefixed: « non noté, à relancer : … » (or the probe's own « non noté : … »)."""
    if isinstance(exc, ProbeNotAllowed):
        return exc.message
    return f"non noté, à relancer : {exc.message}"


def _error(check: Check, message: str, started: float) -> CheckResult:
    return CheckResult(check, Outcome.ERROR, french(message), time.monotonic() - started)


def _await_pending(rounds: _Rounds, state: LiveState, results: Outcomes, deadline: float) -> Outcomes:
    """Re-run the checks each time the watched objects change, until nothing is pending or the deadline.

    Every check is re-run on the refreshed state, not only the pending ones, so the final
    verdicts all describe one state: the one a snapshot taken right after would hold.
    """
    while True:
        pending = [verdict for _, verdict in results if verdict is not None and verdict.pending]
        remaining = deadline - time.monotonic()
        if not pending or remaining <= 0:
            return results
        watched = next((ref for verdict in pending for ref in verdict.involved), None)
        read = next((r for r in state.reads.values() if watched and r.kind == watched.kind), None)
        if read is not None:
            wait_for_change(state.api, read.api_version, read.kind, read.namespace(state.namespace),
                            min(remaining, 5.0))
        else:
            wait_for_change(state.api, "v1", "Pod", state.namespace, min(remaining, 5.0))
        state.refresh(list(state.reads))
        results = rounds.run()


def _with_events(result: CheckResult, verdict: Verdict | None, state: ClusterState) -> CheckResult:
    """Attach the recent Events of the objects a failed check is about."""
    if result.outcome is not Outcome.FAILED or verdict is None:
        return result
    events = []
    try:
        for ref in verdict.involved:
            events.extend(state.events_for(ref.kind, ref.name, ref.namespace))
    except KubelabError:
        return result
    summary = tuple(
        {"type": e.get("type", ""), "reason": e.get("reason", ""), "message": e.get("message", ""),
         "object": f"{e.get('involvedObject', {}).get('kind')}/{e.get('involvedObject', {}).get('name')}",
         "count": e.get("count", 1)}
        for e in events if e.get("type") != "Normal"
    )
    return CheckResult(result.check, result.outcome, result.message, result.duration_s, summary, result.state_hint)
