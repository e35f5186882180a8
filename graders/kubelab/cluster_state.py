"""Cluster state, two sources, one interface: live from the API, or from a snapshot.

Checks only ever see a ``ClusterState``. Live (``kubelab.live_state``), each declared kind
is LISTed once per namespace (paginated) on first use and cached for the grading run. A
snapshot holds the same lists, captured earlier. Both sanitise objects the same way (no
managedFields, no Secret values), so a check cannot tell them apart and gives the same
verdict. This module does no I/O: the pure checks may import it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kubelab.errors import KubelabError

if TYPE_CHECKING:
    from kubelab.kube_api import KubeApi

Obj = dict[str, Any]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
LAB_SCOPE = "lab"
CLUSTER_SCOPE = "cluster"
ALL_NAMESPACES = "*"


@dataclass(frozen=True)
class Read:
    """A kind a lab's checks read: in the lab's namespace, cluster-wide, or in a named namespace."""

    api_version: str
    kind: str
    scope: str = LAB_SCOPE
    label_selector: str | None = None

    def key(self, lab_namespace: str) -> str:
        where = lab_namespace if self.scope == LAB_SCOPE else self.scope
        selector = f"?{self.label_selector}" if self.label_selector else ""
        return f"{self.api_version}/{self.kind}@{where}{selector}"

    def namespace(self, lab_namespace: str) -> str | None:
        if self.scope == LAB_SCOPE:
            return lab_namespace
        return None if self.scope in (CLUSTER_SCOPE, ALL_NAMESPACES) else self.scope


EVENTS = Read("v1", "Event")


@dataclass(frozen=True)
class Probe:
    """A measurement that is not a LIST: a server-side dry run, an access review, a fact.

    ``needs`` is ``None`` for read-only probes, ``"dry-run"`` for requests that write
    nothing but use a mutating verb (dry runs, SubjectAccessReviews), ``"probe"`` for live
    probes that create objects. The function returns JSON-compatible data.
    """

    function: Callable[[KubeApi, str], Any]
    needs: str | None = None


class ProbeNotAllowed(KubelabError):
    """A check needs a probe that the grading run did not allow or the snapshot lacks."""

    exit_code = 3


class UndeclaredRead(Exception):
    """A check read a kind its lab did not declare: a bug in the grader, not the learner's."""


def sanitize(obj: Obj) -> Obj:
    """A copy fit to keep: no managedFields, and for a Secret its keys only, never values."""
    clean = copy.deepcopy(obj)
    meta = clean.get("metadata") or {}
    meta.pop("managedFields", None)
    if clean.get("kind") == "Secret":
        annotations = meta.get("annotations") or {}
        annotations.pop(LAST_APPLIED, None)
        keys = sorted({*(clean.get("data") or {}), *(clean.get("stringData") or {})})
        clean["data"] = {key: None for key in keys}
        clean.pop("stringData", None)
    return clean


def secret_keys(secret: Obj) -> set[str]:
    """The keys of a (sanitised) Secret."""
    return set(secret.get("data") or {})


class ClusterState:
    """What checks read. Subclasses provide ``_fetch``, ``_probe`` and ``identity``."""

    source = "?"

    def __init__(self, namespace: str, reads: Iterable[Read], probes: dict[str, Probe] | None = None) -> None:
        self.namespace = namespace
        self.reads = {read.key(namespace): read for read in (*reads, EVENTS)}
        self.probes = probes or {}

    def objects(self, api_version: str, kind: str, scope: str = LAB_SCOPE,
                label_selector: str | None = None) -> list[Obj]:
        """Every object of a declared kind in the scope (the lab's namespace by default)."""
        key = Read(api_version, kind, scope, label_selector).key(self.namespace)
        if key not in self.reads:
            raise UndeclaredRead(f"{key} is not declared in the lab's READS")
        return self._fetch(key)

    def get(self, api_version: str, kind: str, name: str, scope: str = LAB_SCOPE) -> Obj | None:
        """One object by name, or ``None``."""
        return next((o for o in self.objects(api_version, kind, scope) if o["metadata"]["name"] == name), None)

    def probe(self, name: str) -> Any:
        """The result of a declared probe."""
        if name not in self.probes:
            raise UndeclaredRead(f"probe {name} is not declared in the lab's PROBES")
        return self._probe(name)

    def events_for(self, kind: str, name: str, namespace: str | None = None, limit: int = 5) -> list[Obj]:
        """The most recent Events about one object of the lab's namespace."""
        if namespace not in (None, self.namespace):
            return []
        matching = [
            e for e in self._fetch(EVENTS.key(self.namespace))
            if e.get("involvedObject", {}).get("kind") == kind and e.get("involvedObject", {}).get("name") == name
        ]
        matching.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
        return matching[-limit:]

    def observed_at(self) -> datetime | None:
        """The instant the state describes, to the second (live: now; snapshot: its capture), or ``None`` if
        unknown: what « ready for 5 s » is measured against."""
        return None

    def _fetch(self, key: str) -> list[Obj]:
        raise NotImplementedError

    def _probe(self, name: str) -> Any:
        raise NotImplementedError

    def identity(self) -> Obj:
        raise NotImplementedError


class SnapshotState(ClusterState):
    """State read from a snapshot's lists and probe results."""

    source = "snapshot"

    def __init__(self, namespace: str, reads: Iterable[Read], probes: dict[str, Probe] | None,
                 lists: dict[str, list[Obj]], probe_results: dict[str, Any], identity: Obj,
                 captured_at: datetime | None = None) -> None:
        super().__init__(namespace, reads, probes)
        self._lists = lists
        self._probe_results = probe_results
        self._identity = identity
        self._captured_at = captured_at

    def observed_at(self) -> datetime | None:
        return self._captured_at

    def _fetch(self, key: str) -> list[Obj]:
        if key not in self._lists:
            raise KubelabError(f"L'instantané ne contient pas la liste « {key} » que ce lab lit.")
        return self._lists[key]

    def _probe(self, name: str) -> Any:
        stored = self._probe_results.get(name)
        if stored is None:
            raise ProbeNotAllowed(f"non noté : l'instantané ne contient pas la mesure « {name} ».")
        if "not_allowed" in stored:
            raise ProbeNotAllowed(stored["not_allowed"])
        return stored["result"]

    def identity(self) -> Obj:
        return self._identity
