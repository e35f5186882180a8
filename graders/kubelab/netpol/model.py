"""The values of a reachability analysis: endpoints, ports, cells and the matrix.

All are frozen dataclasses. Labels are stored as sorted ``(key, value)`` tuples so that
endpoints are hashable; ``label_map`` gives them back as a dict.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from kubelab.netpol.french import NBSP, quote

Labels = tuple[tuple[str, str], ...]
Protocol = Literal["TCP", "UDP", "SCTP"]
Direction = Literal["ingress", "egress"]
PROTOCOLS: tuple[Protocol, ...] = ("TCP", "UDP", "SCTP")
WORKLOAD_ANNOTATION = "netpol.kubelab.io/workload"
"""On the synthetic pod of a controller read from files: « Deployment web »."""
FILE_ANNOTATION = "netpol.kubelab.io/file"
"""On objects read from files: the file they come from, for error messages."""


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

    @property
    def phrase(self) -> str:
        return f"le pod {quote(self.key)}"

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

    @property
    def phrase(self) -> str:
        return f"tout pod du namespace {quote(self.namespace)}"


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
        network = self.network
        return str(network.network_address) if network.prefixlen == network.max_prefixlen else self.cidr

    @property
    def phrase(self) -> str:
        network = self.network
        if network.prefixlen == network.max_prefixlen:
            return f"l'adresse {quote(network.network_address)}"
        return f"les adresses de {quote(self.cidr)}"


Endpoint = PodEndpoint | NamespaceEndpoint | IPBlockEndpoint


@dataclass(frozen=True)
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
            known = next((p for p in PROTOCOLS if p == protocol.upper()), None)
            if known is not None:
                return cls(known, _port_number(number))
        raise ValueError(f"port invalide {quote(text)} (exemples{NBSP}: 80, 53/UDP)")

    @property
    def label(self) -> str:
        return f"{self.number}/{self.protocol}"

    @property
    def sort_key(self) -> tuple[int, str]:
        """Ports sort by number, then protocol: 53/TCP, 53/UDP, 80/TCP."""
        return self.number, self.protocol


def _port_number(text: str | int) -> int:
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f"port invalide {quote(text)} (exemples{NBSP}: 80, 53/UDP)") from None
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
    """Cells for sources and (destination, port) columns: normally every pair, row by row."""

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
        return tuple(sorted({port for _, port in self.columns}, key=lambda p: p.sort_key))

    def cell(self, source: Endpoint | str, destination: PodEndpoint | str, port: Port | str | int) -> Cell:
        """The cell of a source and destination (objects or keys such as ``"ns/name"``) and port."""
        source_key = _source_key(source) if isinstance(source, str) else source.key
        destination_key = destination if isinstance(destination, str) else destination.key
        port_label = (port if isinstance(port, Port) else Port.parse(port)).label
        try:
            return self._index[(source_key, destination_key, port_label)]
        except KeyError:
            raise KeyError(f"pas de case {source_key} → {destination_key}:{port_label}") from None

    def find(self, source: Endpoint, destination: PodEndpoint, port: Port) -> Cell | None:
        """The cell, or ``None`` when this matrix has none for it (matrices may be sparse)."""
        return self._index.get((source.key, destination.key, port.label))

    def allowed(self, source: Endpoint | str, destination: PodEndpoint | str, port: Port | str | int) -> bool:
        return self.cell(source, destination, port).allowed


def _source_key(ref: str) -> str:
    """The key of a source written as text: an address or CIDR is normalised (``1.2.3.4/32``)."""
    try:
        return str(ipaddress.ip_network(ref, strict=False))
    except ValueError:
        return ref
