"""Shared queries on ports: what containers declare, what a Service's ``targetPort`` and an
Ingress backend designate.

Several labs check that the objects of an application point at each other (a Service at its
pods' container port, an Ingress at a Service port, by number or by name); they ask these
questions the same way, with Kubernetes's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubelab.objects import containers

Obj = dict[str, Any]


def container_ports(workload: Obj) -> list[Obj]:
    """Every port declared by a container of the workload's pod template."""
    return [port for container in containers(workload) for port in container.get("ports") or []]


def declared_ports(workload: Obj) -> tuple[set[int], set[str]]:
    """The port numbers (``containerPort``) and port names the workload's containers declare."""
    ports = container_ports(workload)
    return {p["containerPort"] for p in ports if "containerPort" in p}, {p["name"] for p in ports if p.get("name")}


def target_of(service_port: Obj) -> int | str | None:
    """The container port a Service port sends to: its ``targetPort``, else its ``port``."""
    return service_port.get("targetPort", service_port.get("port"))


def shown_ports(ports: list[Obj], number_key: str) -> str:
    """``80 (http), 9090``: each port's number (``number_key``) and, when it has one, its name."""
    return ", ".join(f"{p.get(number_key)}" + (f" ({p['name']})" if p.get("name") else "") for p in ports)


def service_port(service: Obj, reference: Obj) -> Obj | None:
    """The Service port that an Ingress backend's ``port`` (``number`` or ``name``) designates, or ``None``."""
    for candidate in (service.get("spec") or {}).get("ports") or []:
        if "number" in reference and candidate.get("port") == reference["number"]:
            return candidate
        if "name" in reference and candidate.get("name") == reference["name"]:
            return candidate
    return None


def port_text(reference: Obj) -> str:
    """How an Ingress backend's ``port`` reads in a message: its ``number``, else its ``name``."""
    return str(reference.get("number", reference.get("name", "?")))


@dataclass(frozen=True)
class IngressBackend:
    """One backend of an Ingress: the default one (``host`` is ``None``) or a rule's path."""

    host: str | None
    path: str
    service: Obj  # ``{name, port}``; empty when the backend is a resource, not a Service


def ingress_backends(ingress: Obj) -> list[IngressBackend]:
    """The default backend first, then each path of each rule."""
    spec = ingress.get("spec") or {}
    found = []
    if spec.get("defaultBackend"):
        found.append(IngressBackend(None, "", spec["defaultBackend"].get("service") or {}))
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            found.append(IngressBackend(rule.get("host", ""), path.get("path", "/"),
                                        (path.get("backend") or {}).get("service") or {}))
    return found


PROBE_KINDS = ("startupProbe", "readinessProbe", "livenessProbe")


def probe_port(probe: Obj | None) -> int | str | None:
    """The port an ``httpGet``, ``tcpSocket`` or ``grpc`` probe knocks on (``None`` for ``exec``)."""
    for handler in ("httpGet", "tcpSocket", "grpc"):
        if handler in (probe or {}):
            return (probe or {})[handler].get("port")
    return None


def probe_port_problem(container: Obj, kind: str, *, named_only: bool = False) -> str | None:
    """Why the probe ``kind`` of ``container`` targets a port the container does not declare, or ``None``.

    The kubelet resolves a named probe port among the container's own ports: an unknown name
    makes every probe fail. A number the container does not declare is reported too, unless
    ``named_only`` (the application may still listen there: only a real node can tell).
    """
    port = probe_port(container.get(kind))
    if port is None:
        return None
    ports = container.get("ports") or []
    shown = shown_ports(ports, "containerPort") or "aucun"
    named = isinstance(port, str) and not port.isdigit()
    if named and not any(p.get("name") == port for p in ports):
        return (f"la `{kind}` du conteneur `{container.get('name', '?')}` vise le port nommé `{port}`, que le "
                f"conteneur ne déclare pas (ports déclarés : {shown})")
    if not named and not named_only and not any(p.get("containerPort") == int(port) for p in ports):
        return (f"la `{kind}` du conteneur `{container.get('name', '?')}` vise le port {port}, que le conteneur "
                f"ne déclare pas (ports déclarés : {shown})")
    return None
