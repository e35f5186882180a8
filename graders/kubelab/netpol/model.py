"""The values of a reachability analysis: endpoints, ports, cells and the matrix.

All are frozen dataclasses. Labels are stored as sorted ``(key, value)`` tuples so that
endpoints are hashable; ``label_map`` gives them back as a dict.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from kubelab.netpol.french import quote

Labels = tuple[tuple[str, str], ...]
Protocol = Literal["TCP", "UDP", "SCTP"]
Direction = Literal["ingress", "egress"]
PROTOCOLS: tuple[Protocol, ...] = ("TCP", "UDP", "SCTP")


def labels_of(mapping: Mapping[str, str] | None) -> Labels:
    """Labels as a sorted tuple of pairs (values forced to strings)."""
    return tuple(sorted((str(k), str(v)) for k, v in (mapping or {}).items()))


@dataclass(frozen=True)
class ContainerPort:
    """A port declared by a container: number, protocol and optional name."""

    number: int
    protocol: Protocol = "TCP"
    name: str | None = None


@dataclass(frozen=True)
class PodEndpoint:
    """A pod (real, or synthetic for a controller read from files)."""

    namespace: str
    name: str
    labels: Labels = ()
    ip: str | None = None
    ports: tuple[ContainerPort, ...] = ()
    workload: str | None = None
    kind: ClassVar[str] = "pod"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def display(self) -> str:
        return self.key

    def named_port(self, name: str, protocol: str) -> int | None:
        """The number of the container port called ``name`` with ``protocol``, if declared."""
        for port in self.ports:
            if port.name == name and port.protocol == protocol:
                return port.number
        return None


@dataclass(frozen=True)
class NamespaceEndpoint:
    """Any pod of a namespace, whatever its labels: an abstract source (ingress side only)."""

    namespace: str
    labels: Labels = ()
    kind: ClassVar[str] = "namespace"

    @property
    def key(self) -> str:
        return f"{self.namespace}/*"

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def display(self) -> str:
        return f"tout pod de {self.namespace}"


@dataclass(frozen=True)
class IPBlockEndpoint:
    """Addresses outside the analysed pods (an external IP or a CIDR): a source, ingress side only."""

    cidr: str
    kind: ClassVar[str] = "ipBlock"

    def __post_init__(self) -> None:
        object.__setattr__(self, "cidr", str(ipaddress.ip_network(self.cidr, strict=False)))

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr)

    @property
    def key(self) -> str:
        return self.cidr

    @property
    def display(self) -> str:
        return self.cidr


Endpoint = PodEndpoint | NamespaceEndpoint | IPBlockEndpoint


@dataclass(frozen=True, order=True)
class Port:
    """A destination port: protocol, number and the name the destination pod gives it, if any."""

    protocol: Protocol
    number: int
    name: str | None = field(default=None, compare=False)

    @classmethod
    def parse(cls, text: str | int) -> Port:
        """``80``, ``"80"``, ``"53/UDP"`` or ``"udp/53"``; ``ValueError`` otherwise."""
        if isinstance(text, int):
            return cls("TCP", _port_number(text))
        parts = [p.strip() for p in str(text).split("/")]
        if len(parts) == 1:
            return cls("TCP", _port_number(parts[0]))
        if len(parts) == 2:
            number, protocol = (parts[1], parts[0]) if parts[0].upper() in PROTOCOLS else (parts[0], parts[1])
            if protocol.upper() in PROTOCOLS:
                return cls(protocol.upper(), _port_number(number))  # type: ignore[arg-type]
        raise ValueError(f"port invalide {quote(text)} (exemples : 80, 53/UDP)")

    @property
    def label(self) -> str:
        return f"{self.number}/{self.protocol}"


def _port_number(text: str | int) -> int:
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f"port invalide {quote(text)} (exemples : 80, 53/UDP)") from None
    if not 1 <= number <= 65535:
        raise ValueError(f"port hors limites {quote(number)} (1 à 65535)")
    return number


@dataclass(frozen=True)
class Verdict:
    """The decision of one direction (egress of the source, ingress of the destination)."""

    direction: Direction
    allowed: bool
    isolated: bool
    policies: tuple[str, ...] = ()
    rules: tuple[tuple[str, int], ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Cell:
    """Can ``source`` open a connection to ``destination`` on ``port``, and why."""

    source: Endpoint
    destination: PodEndpoint
    port: Port
    allowed: bool
    explanation: str
    ingress: Verdict
    egress: Verdict | None


Column = tuple[PodEndpoint, Port]


@dataclass(frozen=True)
class Matrix:
    """Cells for every source and every (destination, port) column, row by row."""

    sources: tuple[Endpoint, ...]
    columns: tuple[Column, ...]
    cells: tuple[Cell, ...]
    _index: dict[tuple[str, str, str], Cell] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {(c.source.key, c.destination.key, c.port.label): c for c in self.cells}
        object.__setattr__(self, "_index", index)

    @property
    def destinations(self) -> tuple[PodEndpoint, ...]:
        return tuple(dict.fromkeys(destination for destination, _ in self.columns))

    @property
    def ports(self) -> tuple[Port, ...]:
        return tuple(sorted({port for _, port in self.columns}))

    def cell(self, source: Endpoint | str, destination: PodEndpoint | str, port: Port | str | int) -> Cell:
        """The cell of a source and destination (objects or keys such as ``"ns/name"``) and port."""
        source_key = source if isinstance(source, str) else source.key
        destination_key = destination if isinstance(destination, str) else destination.key
        port_label = (port if isinstance(port, Port) else Port.parse(port)).label
        try:
            return self._index[(source_key, destination_key, port_label)]
        except KeyError:
            raise KeyError(f"pas de case {source_key} → {destination_key}:{port_label}") from None

    def allowed(self, source: Endpoint | str, destination: PodEndpoint | str, port: Port | str | int) -> bool:
        return self.cell(source, destination, port).allowed
