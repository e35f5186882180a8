"""Cluster state read live from the API server, once per kind, for one grading run.

Checks run in threads and share one ``LiveState``: each declared list is requested once
(the first reader lists, the others wait for it) and kept. ``refresh`` forgets lists so the
next read sees the cluster again; a list request that started before a refresh still
answers its own caller but is never kept, so a refresh cannot be undone by older data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from kubelab.cluster_state import ClusterState, Obj, Probe, ProbeNotAllowed, Read, sanitize
from kubelab.kube_api import KubeApi


class LiveState(ClusterState):
    """State read from the API on first use, cached for one grading run."""

    source = "live"

    def __init__(self, api: KubeApi, namespace: str, reads: Iterable[Read], probes: dict[str, Probe] | None = None,
                 allow: Iterable[str] = ()) -> None:
        super().__init__(namespace, reads, probes)
        self.api = api
        self.allow = set(allow)
        self._cache: dict[str, Any] = {}
        self._generations: dict[str, int] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def observed_at(self) -> datetime:
        """Now, to the second, as a snapshot captured now would record it (this machine's clock; the sandbox's
        kubelet shares it, and MicroK8s's node is the learner's own machine)."""
        return datetime.now(UTC).replace(microsecond=0)

    def _once(self, key: str, compute: Callable[[], Any]) -> Any:
        """The cached value of ``key``, computed by one thread at a time when missing.

        The value is kept only if no ``refresh`` of ``key`` happened while it was computed.
        """
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._cache:
                    return self._cache[key]
                generation = self._generations.get(key, 0)
            value = compute()
            with self._guard:
                if self._generations.get(key, 0) == generation:
                    self._cache[key] = value
            return value

    def _fetch(self, key: str) -> list[Obj]:
        read = self.reads[key]

        def list_kind() -> list[Obj]:
            items = self.api.list(read.api_version, read.kind, read.namespace(self.namespace), read.label_selector)
            return [sanitize(item) for item in items]

        result: list[Obj] = self._once(key, list_kind)
        return result

    def _probe(self, name: str) -> Any:
        probe = self.probes[name]
        if probe.needs and probe.needs not in self.allow:
            flag = "--allow-dry-run" if probe.needs == "dry-run" else "--allow-probes"
            raise ProbeNotAllowed(f"non noté : cette vérification écrit dans le cluster et demande {flag}.")
        return self._once(f"probe:{name}", lambda: probe.function(self.api, self.namespace))

    def refresh(self, keys: Iterable[str]) -> None:
        """Forget cached lists so the next read sees the cluster again (lists under way are not kept)."""
        with self._guard:
            for key in keys:
                self._cache.pop(key, None)
                self._generations[key] = self._generations.get(key, 0) + 1

    def identity(self) -> Obj:
        def read_identity() -> Obj:
            kube_system = self.api.get("v1", "Namespace", "kube-system") or {}
            version = self.api.server_version()
            return {"uid": kube_system.get("metadata", {}).get("uid", ""),
                    "server_version": version.get("gitVersion", "")}

        result: Obj = self._once("identity", read_identity)
        return result

    def capture(self) -> tuple[dict[str, list[Obj]], dict[str, Any]]:
        """Every declared list and every allowed probe (for a snapshot)."""
        lists = {key: self._fetch(key) for key in sorted(self.reads)}
        probes: dict[str, Any] = {}
        for name in sorted(self.probes):
            try:
                probes[name] = {"result": self._probe(name)}
            except ProbeNotAllowed as exc:
                probes[name] = {"not_allowed": exc.message}
        return lists, probes
