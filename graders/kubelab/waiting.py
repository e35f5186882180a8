"""Wait for cluster state to converge, driven by watches, with deadlines kept in one place.

Every deadline of ``TIMEOUTS`` is multiplied by ``$KUBELAB_TIMEOUT_FACTOR`` (1 by default):
a loaded machine or a slow CI raises it (``KUBELAB_TIMEOUT_FACTOR=3``) rather than failing
because a controller took its time. Tests scale their own waits with ``scaled``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from kubelab.errors import InfrastructureError, UsageError
from kubelab.kube_api import KubeApi

Obj = dict[str, Any]

TIMEOUT_FACTOR_ENV = "KUBELAB_TIMEOUT_FACTOR"

TIMEOUTS: dict[str, float] = {
    "pod_ready": 30.0,
    "pvc_bound": 30.0,
    "deletion": 30.0,
    "rollout": 60.0,
    "node_ready": 60.0,
    "job_created": 90.0,
    "quota_synced": 5.0,
    "quota_admission": 3.0,
    "check": 10.0,
    "converge": 20.0,
    "default": 30.0,
    "live_restart": 180.0,
    "live_exec": 30.0,
    "live_ephemeral": 90.0,
}
"""Deadlines in seconds on an idle machine; read them through ``deadline``, which scales them."""


def timeout_factor() -> float:
    """``$KUBELAB_TIMEOUT_FACTOR`` (a positive number), 1 when unset."""
    raw = os.environ.get(TIMEOUT_FACTOR_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        factor = float(raw)
    except ValueError:
        factor = 0.0
    if not factor > 0:
        raise UsageError(f"{TIMEOUT_FACTOR_ENV} devrait être un nombre positif, par exemple 3 (trouvé : « {raw} »).")
    return factor


def scaled(seconds: float) -> float:
    """``seconds`` times the timeout factor."""
    return seconds * timeout_factor()


def deadline(name: str) -> float:
    """The deadline called ``name`` in ``TIMEOUTS``, scaled by the timeout factor."""
    return scaled(TIMEOUTS[name])


def wait_for(
    api: KubeApi,
    api_version: str,
    kind: str,
    predicate: Callable[[list[Obj]], bool],
    namespace: str | None = None,
    label_selector: str | None = None,
    timeout: float | str = "default",
    what: str = "",
) -> list[Obj]:
    """Wait until ``predicate(objects)`` holds for the listed objects; return them.

    ``timeout`` names a deadline of ``TIMEOUTS`` (scaled by the timeout factor) or gives seconds
    as they are. The objects are listed once, then kept current from a watch started at the
    list's resourceVersion, so no polling loop is needed and no change is missed.
    """
    seconds = deadline(timeout) if isinstance(timeout, str) else timeout
    until = time.monotonic() + seconds
    info = api.resource(api_version, kind)
    while True:
        page = api.request("GET", info.path(namespace), query={"labelSelector": label_selector})
        objects = {_key(item): item for item in page.get("items", [])}
        if predicate(list(objects.values())):
            return list(objects.values())
        version = page.get("metadata", {}).get("resourceVersion")
        remaining = until - time.monotonic()
        if remaining <= 0:
            break
        for event in api.watch(api_version, kind, namespace, version, timeout_seconds=max(1, int(remaining)),
                               label_selector=label_selector):
            kind_of_event = event.get("type")
            obj = event.get("object", {})
            if kind_of_event == "BOOKMARK":
                continue
            if kind_of_event == "ERROR":
                break
            if kind_of_event == "DELETED":
                objects.pop(_key(obj), None)
            else:
                objects[_key(obj)] = obj
            if predicate(list(objects.values())):
                return list(objects.values())
            if time.monotonic() >= until:
                break
        if time.monotonic() >= until:
            break
    raise InfrastructureError(f"Délai dépassé ({seconds:.0f} s) en attendant {what or kind}.")


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata", {})
    return meta.get("namespace", ""), meta.get("name", "")


def named(name: str, condition: Callable[[Obj], bool]) -> Callable[[list[Obj]], bool]:
    """A predicate: the object called ``name`` exists and satisfies ``condition``."""
    return lambda objects: any(o["metadata"]["name"] == name and condition(o) for o in objects)


def wait_for_change(api: KubeApi, api_version: str, kind: str, namespace: str | None, timeout: float) -> bool:
    """Block until an object of ``kind`` changes (``True``) or ``timeout`` passes (``False``)."""
    info = api.resource(api_version, kind)
    page = api.request("GET", info.path(namespace), query={"limit": 1})
    version = page.get("metadata", {}).get("resourceVersion")
    until = time.monotonic() + timeout
    for event in api.watch(api_version, kind, namespace, version, timeout_seconds=max(1, int(timeout))):
        if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
            return True
        if time.monotonic() >= until:
            break
    return False
