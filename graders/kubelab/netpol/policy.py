"""Raw NetworkPolicy objects turned into checked, typed rules.

Follows the API server: ``policyTypes`` defaults to Ingress, plus Egress when
``spec.egress`` has at least one rule; a missing or empty ``from``/``to``/``ports`` matches
everything; a missing protocol is TCP. A policy the API server would refuse raises
``PolicyError`` with a French message naming it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubelab.errors import UsageError
from kubelab.netpol.addresses import AddressSet, Network
from kubelab.netpol.french import NBSP, quote
from kubelab.netpol.model import PROTOCOLS, Direction, PodEndpoint, Port

Obj = dict[str, Any]
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class PolicyError(UsageError):
    """A NetworkPolicy the API server would refuse."""


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` entry."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels

    def describe(self) -> str:
        values = ", ".join(self.values)
        return {"In": f"{self.key} dans ({values})", "NotIn": f"{self.key} hors de ({values})",
                "Exists": f"{self.key} présent", "DoesNotExist": f"{self.key} absent"}[self.operator]


@dataclass(frozen=True)
class Selector:
    """A label selector: ``matchLabels`` AND every ``matchExpressions`` entry; empty selects all."""

    match_labels: tuple[tuple[str, str], ...] = ()
    expressions: tuple[Requirement, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            e.matches(labels) for e in self.expressions)

    def describe(self) -> str:
        if self.is_empty:
            return "{}"
        parts = [f"{k}={v}" for k, v in self.match_labels] + [e.describe() for e in self.expressions]
        return ", ".join(parts)


@dataclass(frozen=True)
class IPBlock:
    """``cidr`` minus ``except``."""

    cidr: Network
    excepts: tuple[Network, ...] = ()

    @property
    def addresses(self) -> AddressSet:
        return AddressSet.block(self.cidr, self.excepts)

    def describe(self) -> str:
        if not self.excepts:
            return str(self.cidr)
        return f"{self.cidr} sauf {', '.join(str(e) for e in self.excepts)}"


@dataclass(frozen=True)
class Peer:
    """One entry of ``from``/``to``: selectors (AND) or an ipBlock."""

    pod_selector: Selector | None = None
    namespace_selector: Selector | None = None
    ip_block: IPBlock | None = None

    def describe(self) -> str:
        if self.ip_block is not None:
            return f"ipBlock {self.ip_block.describe()}"
        parts = []
        if self.namespace_selector is not None:
            parts.append(f"namespaceSelector {self.namespace_selector.describe()}")
        if self.pod_selector is not None:
            parts.append(f"podSelector {self.pod_selector.describe()}")
        return " et ".join(parts)


@dataclass(frozen=True)
class RulePort:
    """One entry of ``ports``: protocol, and a number, a range (``endPort``) or a name."""

    protocol: str = "TCP"
    port: int | str | None = None
    end_port: int | None = None

    def matches(self, port: Port, destination: PodEndpoint) -> bool:
        """Whether ``port`` on ``destination`` is covered; a name is resolved on the destination pod."""
        if port.protocol != self.protocol:
            return False
        if self.port is None:
            return True
        if isinstance(self.port, str):
            return destination.named_port(self.port, self.protocol) == port.number
        return self.port <= port.number <= (self.end_port or self.port)

    def describe(self) -> str:
        if self.port is None:
            return f"tout port {self.protocol}"
        if self.end_port is not None:
            return f"{self.port}-{self.end_port}/{self.protocol}"
        return f"{self.port}/{self.protocol}"


@dataclass(frozen=True)
class Rule:
    """One ingress or egress rule; no peers means all peers, no ports means all ports."""

    direction: Direction
    index: int
    peers: tuple[Peer, ...] = ()
    ports: tuple[RulePort, ...] = ()

    @property
    def path(self) -> str:
        return f"{self.direction}[{self.index}]"

    def port_matches(self, port: Port, destination: PodEndpoint) -> bool:
        return not self.ports or any(p.matches(port, destination) for p in self.ports)


@dataclass(frozen=True)
class Policy:
    """A NetworkPolicy, checked and defaulted."""

    namespace: str
    name: str
    pod_selector: Selector
    ingress: bool
    egress: bool
    ingress_rules: tuple[Rule, ...] = ()
    egress_rules: tuple[Rule, ...] = ()
    source: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def selects(self, pod: PodEndpoint) -> bool:
        return pod.namespace == self.namespace and self.pod_selector.matches(pod.label_map)

    def isolates(self, pod: PodEndpoint, direction: Direction) -> bool:
        return (self.ingress if direction == "ingress" else self.egress) and self.selects(pod)

    def rules(self, direction: Direction) -> tuple[Rule, ...]:
        return self.ingress_rules if direction == "ingress" else self.egress_rules


def parse_policy(obj: Obj, source: str = "") -> Policy:
    """A ``Policy`` from a raw networking.k8s.io/v1 NetworkPolicy object."""
    meta = obj.get("metadata") or {}
    name = meta.get("name") or "?"
    namespace = meta.get("namespace") or "default"
    where = f"la NetworkPolicy {quote(f'{namespace}/{name}')}" + (f" ({source})" if source else "")
    spec = _mapping(obj.get("spec"), where, "spec")
    types = _list(spec.get("policyTypes"), where, "spec.policyTypes")
    for kind in types:
        if kind not in ("Ingress", "Egress"):
            raise PolicyError(f"{where}{NBSP}: spec.policyTypes ne peut contenir que Ingress et Egress, pas "
                              f"{quote(kind)}.")
    ingress_raw = _list(spec.get("ingress"), where, "spec.ingress")
    egress_raw = _list(spec.get("egress"), where, "spec.egress")
    if not types:
        types = ["Ingress", "Egress"] if egress_raw else ["Ingress"]
    return Policy(
        namespace=namespace,
        name=name,
        pod_selector=_selector(spec.get("podSelector") or {}, where, "spec.podSelector"),
        ingress="Ingress" in types,
        egress="Egress" in types,
        ingress_rules=tuple(_rule(r, "ingress", i, where) for i, r in enumerate(ingress_raw)),
        egress_rules=tuple(_rule(r, "egress", i, where) for i, r in enumerate(egress_raw)),
        source=source,
    )


def _rule(raw: Any, direction: Direction, index: int, where: str) -> Rule:
    path = f"spec.{direction}[{index}]"
    rule = _mapping(raw, where, path)
    peers_key = "from" if direction == "ingress" else "to"
    peers = _list(rule.get(peers_key), where, f"{path}.{peers_key}")
    ports = _list(rule.get("ports"), where, f"{path}.ports")
    return Rule(
        direction=direction,
        index=index,
        peers=tuple(_peer(p, where, f"{path}.{peers_key}[{i}]") for i, p in enumerate(peers)),
        ports=tuple(_port(p, where, f"{path}.ports[{i}]") for i, p in enumerate(ports)),
    )


def _peer(raw: Any, where: str, path: str) -> Peer:
    peer = _mapping(raw, where, path)
    pod, namespace, block = peer.get("podSelector"), peer.get("namespaceSelector"), peer.get("ipBlock")
    if pod is None and namespace is None and block is None:
        raise PolicyError(f"{where}{NBSP}: {path} doit contenir podSelector, namespaceSelector ou ipBlock.")
    if block is not None:
        if pod is not None or namespace is not None:
            raise PolicyError(f"{where}{NBSP}: {path} ne peut pas combiner ipBlock avec un sélecteur.")
        return Peer(ip_block=_ip_block(block, where, f"{path}.ipBlock"))
    return Peer(
        pod_selector=None if pod is None else _selector(pod, where, f"{path}.podSelector"),
        namespace_selector=None if namespace is None else _selector(namespace, where, f"{path}.namespaceSelector"),
    )


def _ip_block(raw: Any, where: str, path: str) -> IPBlock:
    block = _mapping(raw, where, path)
    try:
        cidr = ipaddress.ip_network(str(block.get("cidr")), strict=False)
        excepts = tuple(ipaddress.ip_network(str(e), strict=False)
                        for e in _list(block.get("except"), where, f"{path}.except"))
    except ValueError as exc:
        raise PolicyError(f"{where}{NBSP}: {path} contient un CIDR invalide ({exc}).") from exc
    return IPBlock(cidr, excepts)


def _port(raw: Any, where: str, path: str) -> RulePort:
    entry = _mapping(raw, where, path)
    protocol = entry.get("protocol") or "TCP"
    if protocol not in PROTOCOLS:
        raise PolicyError(f"{where}{NBSP}: {path}.protocol doit valoir TCP, UDP ou SCTP, pas {quote(protocol)}.")
    port, end_port = entry.get("port"), entry.get("endPort")
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if (port is not None and not isinstance(port, (int, str))) or isinstance(port, bool):
        raise PolicyError(f"{where}{NBSP}: {path}.port doit être un numéro ou un nom de port.")
    if isinstance(port, int) and not 1 <= port <= 65535:
        raise PolicyError(f"{where}{NBSP}: {path}.port {port} est hors de 1 à 65535.")
    if end_port is not None:
        if not isinstance(port, int):
            raise PolicyError(f"{where}{NBSP}: {path}.endPort demande un port numérique.")
        if not isinstance(end_port, int) or isinstance(end_port, bool) or not port <= end_port <= 65535:
            raise PolicyError(f"{where}{NBSP}: {path}.endPort doit être compris entre port et 65535.")
    return RulePort(protocol, port, end_port)


def _selector(raw: Any, where: str, path: str) -> Selector:
    selector = _mapping(raw, where, path)
    labels = _mapping(selector.get("matchLabels"), where, f"{path}.matchLabels")
    expressions = []
    for i, item in enumerate(_list(selector.get("matchExpressions"), where, f"{path}.matchExpressions")):
        entry = _mapping(item, where, f"{path}.matchExpressions[{i}]")
        operator = entry.get("operator")
        values = tuple(str(v) for v in _list(entry.get("values"), where, f"{path}.matchExpressions[{i}].values"))
        if operator not in OPERATORS or not entry.get("key"):
            raise PolicyError(f"{where}{NBSP}: {path}.matchExpressions[{i}] doit avoir une clé et un opérateur "
                              f"In, NotIn, Exists ou DoesNotExist.")
        if (operator in ("In", "NotIn")) != bool(values):
            raise PolicyError(f"{where}{NBSP}: {path}.matchExpressions[{i}]{NBSP}: les opérateurs In et NotIn "
                              "demandent des valeurs, Exists et DoesNotExist n'en acceptent pas.")
        expressions.append(Requirement(str(entry["key"]), operator, values))
    return Selector(tuple(sorted((str(k), str(v)) for k, v in labels.items())), tuple(expressions))


def _mapping(value: Any, where: str, path: str) -> Obj:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PolicyError(f"{where}{NBSP}: {path} doit être un objet.")
    return value


def _list(value: Any, where: str, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PolicyError(f"{where}{NBSP}: {path} doit être une liste.")
    return value
