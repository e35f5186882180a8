"""Opt-in live probes: what only a real cluster can prove, run after grading, never scored.

A lab module may declare ``LIVE_PROBES``, a tuple of functions ``(api, namespace) -> list[LiveProbeResult]``
decorated with ``@live_probe("title")``. They run only with ``kubelab grade LAB --allow-probes``, live,
after the grading; they DO write to the cluster (that is why they are opt-in). Before anything else, the
decorator checks that the cluster has a data plane: on the sandbox (kwok nodes, nothing runs in pods, no
exec) a probe returns one ⚠ result and makes no request but a LIST of the nodes.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kubelab.catalog import module_name
from kubelab.errors import KubelabError
from kubelab.kube_api import KubeApi
from kubelab.typography import french

Obj = dict[str, Any]

TITLE = "Sondes en direct (non notées)"
FAKE_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
NO_DATA_PLANE = ("non exécutée : ce cluster n'a pas de plan de données (bac à sable), "
                 "rien n'a été créé ni modifié.")
SYMBOLS = {True: "✓", False: "✗", None: "⚠"}
COLOURS = {True: "32", False: "31", None: "33"}


@dataclass(frozen=True)
class LiveProbeResult:
    """One finding of a live probe: ``ok`` is ``None`` when it could not conclude."""

    title: str
    ok: bool | None
    message: str


LiveProbe = Callable[[KubeApi, str], list[LiveProbeResult]]


def is_fake_node(node: Obj) -> bool:
    """A kwok node: nothing really runs on it (the sandbox's nodes all are)."""
    key, value = FAKE_NODE_ANNOTATION
    return (node.get("metadata", {}).get("annotations") or {}).get(key) == value


def has_data_plane(nodes: Sequence[Obj]) -> bool:
    """Whether pods really run: at least one node, and none of them a kwok fake."""
    return bool(nodes) and not any(is_fake_node(node) for node in nodes)


def live_probe(title: str) -> Callable[[LiveProbe], LiveProbe]:
    """Declare a live probe: refuse clusters without a data plane, turn errors into ⚠ results."""

    def decorate(function: LiveProbe) -> LiveProbe:
        @functools.wraps(function)
        def run(api: KubeApi, namespace: str) -> list[LiveProbeResult]:
            try:
                if not has_data_plane(api.list("v1", "Node")):
                    return [LiveProbeResult(title, None, NO_DATA_PLANE)]
                return function(api, namespace)
            except KubelabError as exc:
                return [LiveProbeResult(title, None, f"interrompue : {exc.message}")]

        run.title = title  # type: ignore[attr-defined]  # read by reports and tests to name the probe
        return run

    return decorate


def probes_of(lab_id: str) -> tuple[LiveProbe, ...]:
    """The lab's ``LIVE_PROBES`` (none for most labs)."""
    return tuple(getattr(importlib.import_module(module_name(lab_id)), "LIVE_PROBES", ()))


def run_live_probes(lab_id: str, api: KubeApi, namespace: str) -> list[LiveProbeResult]:
    """Run every live probe of the lab, in order."""
    return [result for probe in probes_of(lab_id) for result in probe(api, namespace)]


def render(results: Sequence[LiveProbeResult], colour: bool = False) -> str:
    """The terminal section, after the grading report."""

    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if colour else text

    lines = ["", paint(TITLE, "1")]
    if not results:
        lines.append("  Ce lab n'a pas de sonde en direct.")
    for result in results:
        lines.append(f"  {paint(SYMBOLS[result.ok], COLOURS[result.ok])} {result.title} — {result.message}")
    return french("\n".join(lines)) + "\n"


# --- the writes a probe makes on a real cluster ---------------------------------------------------


def exec_in_pod(api: KubeApi, namespace: str, pod: str, container: str,
                command: list[str]) -> tuple[int | None, str, str]:
    """Run ``command`` in a container (the exec subresource, over the API's websocket): (exit code, stdout, stderr)."""
    from kubelab.waiting import deadline

    return api.exec(namespace, pod, container, command, timeout=deadline("live_exec"))


def ephemeral_container(name: str, command: list[str], image: str = "busybox:1.36") -> Obj:
    """A debug container that needs no privilege (accepted by the « restricted » Pod Security level)."""
    return {
        "name": name, "image": image, "command": command,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
    }


def add_ephemeral_container(api: KubeApi, namespace: str, pod: str, container: Obj) -> None:
    """Add an ephemeral container to a running pod (it stays in the pod's spec until the pod goes)."""
    info = api.resource("v1", "Pod")
    api.request("PATCH", info.path(namespace, pod, "ephemeralcontainers"),
                body={"spec": {"ephemeralContainers": [container]}},
                content_type="application/strategic-merge-patch+json")


def ephemeral_exit_code(pod: Obj, name: str) -> int | None:
    """The exit code of the ephemeral container ``name``, or ``None`` while it has not terminated."""
    for status in (pod.get("status") or {}).get("ephemeralContainerStatuses") or []:
        if status.get("name") == name:
            terminated = (status.get("state") or {}).get("terminated")
            return terminated.get("exitCode") if terminated else None
    return None


def ephemeral_stuck(pod: Obj, name: str) -> str | None:
    """Why the ephemeral container ``name`` cannot start (image pull…), if it is stuck waiting."""
    for status in (pod.get("status") or {}).get("ephemeralContainerStatuses") or []:
        if status.get("name") == name:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerError",
                                         "CreateContainerConfigError"):
                return f"{waiting['reason']} : {waiting.get('message', '')}".strip(" :")
    return None
