"""What grading produces: one result per check, and the lab's report."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from kubelab.checks import Check
from kubelab.errors import EXIT_INFRASTRUCTURE, EXIT_NOT_FULL_SCORE, EXIT_OK

Obj = dict[str, Any]


class Outcome(StrEnum):
    """Passed; failed (the learner's work, 0 points); error (infrastructure: not graded)."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check, with the message the learner reads."""

    check: Check
    outcome: Outcome
    message: str
    duration_s: float = 0.0
    events: tuple[Obj, ...] = ()
    own_hint: str = ""

    @property
    def hint(self) -> str:
        """What to do about a failure: the verdict's own hint, else the check's."""
        return self.own_hint or self.check.spec.hint

    @property
    def points(self) -> int:
        return self.check.points if self.outcome is Outcome.PASSED else 0


@dataclass(frozen=True)
class GradeReport:
    """A lab graded once, live or from a snapshot."""

    lab_id: str
    lab_title: str
    namespace: str
    source: str
    results: tuple[CheckResult, ...]
    graded_at: str
    tool_version: str
    origin: Obj = field(default_factory=dict)

    @property
    def score(self) -> int:
        return sum(result.points for result in self.results)

    @property
    def max_score(self) -> int:
        return sum(result.check.points for result in self.results)

    @property
    def errors(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.outcome is Outcome.ERROR)

    @property
    def exit_code(self) -> int:
        """0 full score, 1 not full score, 3 when a check could not be graded."""
        if self.errors:
            return EXIT_INFRASTRUCTURE
        return EXIT_OK if self.score == self.max_score else EXIT_NOT_FULL_SCORE

    def result(self, check_id: str) -> CheckResult:
        return next(r for r in self.results if r.check.id == check_id)

    def failed_ids(self) -> set[str]:
        return {r.check.id for r in self.results if r.outcome is Outcome.FAILED}
