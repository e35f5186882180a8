"""The check model: a check is a small pure function over cluster state returning a verdict.

A lab's grader module declares its checks with ``@check(...)``; the weights (points) live
apart from the logic, in the lab's ``lab.yaml``, so an instructor re-weights without Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubelab.typography import french

if TYPE_CHECKING:
    from kubelab.cluster_state import ClusterState

Obj = dict[str, Any]

CATEGORIES = ("configuration", "fiabilité", "réseau", "sécurité", "stockage", "exploitation", "observabilité")


@dataclass(frozen=True)
class ObjectRef:
    """An object a verdict is about (its Events are shown when the check fails)."""

    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        return f"{self.kind} `{self.name}`"


@dataclass(frozen=True)
class Verdict:
    """What a check found: passed or not, a French message, the objects involved.

    ``pending`` marks a failure that may still resolve by itself (a pod starting, a claim
    being bound): on a live cluster the runner waits for it, with a deadline. ``hint``
    replaces the check's own hint when the failure has a cause the general hint would
    misname (no StorageClass at all, rather than a claim waiting for its pod).
    """

    passed: bool
    message: str
    involved: tuple[ObjectRef, ...] = ()
    pending: bool = False
    hint: str = ""


def passed(message: str, *involved: ObjectRef) -> Verdict:
    """A success, stated as a fact."""
    return Verdict(True, french(message), tuple(involved))


def failed(message: str, *involved: ObjectRef, pending: bool = False, hint: str = "") -> Verdict:
    """A failure, stated as an expectation with the observed values (``hint``: this failure's own hint)."""
    return Verdict(False, french(message), tuple(involved), pending, french(hint))


CheckFunction = Callable[["ClusterState"], Verdict]


@dataclass(frozen=True)
class CheckSpec:
    """Everything about a check except its weight."""

    id: str
    title: str
    category: str
    hint: str
    function: CheckFunction
    course: str = ""
    related: tuple[str, ...] = ()
    hidden: bool = False
    needs: str | None = None
    timeout: float | None = None

    def run(self, state: ClusterState) -> Verdict:
        return self.function(state)


@dataclass(frozen=True)
class Check:
    """A check with its points, as a lab grades it."""

    spec: CheckSpec
    points: int

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def category(self) -> str:
        return self.spec.category

    @property
    def hidden(self) -> bool:
        return self.spec.hidden


@dataclass
class Registry:
    """The checks a grader module declares, in declaration order."""

    specs: list[CheckSpec] = field(default_factory=list)

    def check(
        self,
        id: str,
        *,
        title: str,
        category: str,
        hint: str,
        course: str = "",
        related: Iterable[str] = (),
        hidden: bool = False,
        needs: str | None = None,
        timeout: float | None = None,
    ) -> Callable[[CheckFunction], CheckFunction]:
        """Declare a check; ``needs`` is ``"dry-run"`` or ``"probe"`` for checks that write."""
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r} for check {id}")
        if needs not in (None, "dry-run", "probe"):
            raise ValueError(f"unknown need {needs!r} for check {id}")
        if any(spec.id == id for spec in self.specs):
            raise ValueError(f"duplicate check id {id}")

        def register(function: CheckFunction) -> CheckFunction:
            spec = CheckSpec(id, french(title), category, french(hint), function, course, tuple(related), hidden,
                             needs, timeout)
            self.specs.append(spec)
            function.__kubelab_check__ = spec  # type: ignore[attr-defined]  # how the pytest plugin finds checks
            return function

        return register
