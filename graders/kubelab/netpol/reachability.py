"""Which source can open a connection to which pod on which port, under NetworkPolicies.

Kubernetes semantics (https://kubernetes.io/docs/concepts/services-networking/network-policies/):

* a pod is isolated for a direction only when some policy of its namespace selects it and
  has that direction in ``policyTypes`` (defaulted to Ingress, plus Egress when
  ``spec.egress`` has a rule); a pod isolated for no direction accepts everything;
* policies are additive: a connection is allowed in a direction when at least one rule of
  one isolating policy matches it; it is allowed when the source's egress AND the
  destination's ingress allow it;
* in one peer, ``namespaceSelector`` and ``podSelector`` are ANDed; peers of a rule are
  ORed; ``podSelector`` alone means the policy's own namespace, ``namespaceSelector`` alone
  every pod of the matching namespaces; a missing or empty ``from``/``to``/``ports`` matches
  everything; named ports are resolved on the destination pod (for ingress and egress);
  ``endPort`` gives a range; the protocol defaults to TCP.

``ipBlock`` peers match outside addresses and also a pod whose IP (``status.podIP``) they
hold: the documentation calls the case undefined, but pod-to-pod traffic is not translated
and both Calico (MicroK8s's enforcer) and kube-router (the sandbox's real node) match pod
IPs, as measured by tests/realnode/test_netpol_differential.py. A pod without a known IP
(a synthetic pod read from files) is never matched by an ipBlock. A namespace source (« any
pod of namespace X ») or an ipBlock source is outside the analysed pods: only the ingress
side is checked for it. An ipBlock source is allowed when every address of its CIDR is.

Out of scope: host-network pods and node traffic (always allowed by most plugins),
Services (a connection is evaluated on the pod's port, after DNAT) and loopback.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

from kubelab.errors import UsageError
from kubelab.netpol.addresses import AddressSet
from kubelab.netpol.french import NBSP, enumerate_fr, plural, quote
from kubelab.netpol.model import (
    FILE_ANNOTATION,
    WORKLOAD_ANNOTATION,
    Cell,
    Column,
    ContainerPort,
    Direction,
    Endpoint,
    IPBlockEndpoint,
    Matrix,
    NamespaceEndpoint,
    PodEndpoint,
    Port,
    Verdict,
    labels_of,
)
from kubelab.netpol.policy import Peer, Policy, Rule, parse_policy

Obj = dict[str, Any]
NAME_LABEL = "kubernetes.io/metadata.name"
ALL_ADDRESSES = AddressSet.of([ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")])
DIRECTION_FR = {"ingress": "entrée", "egress": "sortie"}


def compute_matrix(
    namespaces: list[Obj],
    pods: list[Obj],
    policies: list[Obj],
    *,
    sources: Sequence[Endpoint | str] | None = None,
    destinations: Sequence[PodEndpoint | str] | None = None,
    ports: Sequence[Port | int | str] | None = None,
) -> Matrix:
    """The reachability matrix of raw Namespace, Pod and NetworkPolicy objects.

    Defaults: every pod as destination; every pod plus one « any pod of » source per
    namespace without pods as sources; each destination probed on its declared TCP/UDP
    container ports (on the union of all declared ports when it declares none). Sources
    may be given as ``"ns/name"`` (a pod), ``"ns/*"`` (a namespace) or a CIDR.
    """
    return Analysis(namespaces, pods, policies).matrix(sources, destinations, ports)


def pod_endpoint(obj: Obj) -> PodEndpoint:
    """A ``PodEndpoint`` from a raw Pod object."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    ports = []
    for container in spec.get("containers") or []:
        for port in container.get("ports") or []:
            if isinstance(port.get("containerPort"), int):
                ports.append(ContainerPort(port["containerPort"], port.get("protocol") or "TCP", port.get("name")))
    return PodEndpoint(
        namespace=meta.get("namespace") or "default",
        name=meta.get("name") or "?",
        labels=labels_of(meta.get("labels")),
        ip=(obj.get("status") or {}).get("podIP"),
        ports=tuple(ports),
        workload=(meta.get("annotations") or {}).get(WORKLOAD_ANNOTATION),
    )


class Analysis:
    """Parsed namespaces, pods and policies, and the verdicts computed from them."""

    def __init__(self, namespaces: list[Obj], pods: list[Obj], policies: list[Obj]) -> None:
        self.namespaces: dict[str, dict[str, str]] = {}
        for obj in namespaces:
            meta = obj.get("metadata") or {}
            if meta.get("name"):
                self.namespaces[meta["name"]] = {**(meta.get("labels") or {}), NAME_LABEL: meta["name"]}
        live = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        self.pods: tuple[PodEndpoint, ...] = tuple(sorted((pod_endpoint(p) for p in live), key=lambda p: p.key))
        self.policies: tuple[Policy, ...] = tuple(sorted(
            (parse_policy(p, _file_of(p)) for p in policies), key=lambda p: p.key))

    def namespace_labels(self, name: str) -> dict[str, str]:
        """Labels of a namespace; an unknown namespace only has its ``kubernetes.io/metadata.name``."""
        return self.namespaces.get(name) or {NAME_LABEL: name}

    # --- matrix ----------------------------------------------------------------------

    def matrix(self, sources: Sequence[Endpoint | str] | None = None,
               destinations: Sequence[PodEndpoint | str] | None = None,
               ports: Sequence[Port | int | str] | None = None) -> Matrix:
        """The matrix of these sources, destinations and ports (defaults: see ``compute_matrix``)."""
        chosen_destinations = [self.pod(d) for d in destinations] if destinations is not None else list(self.pods)
        chosen_sources = [self.endpoint(s) for s in sources] if sources is not None else self.default_sources()
        columns = self.columns(chosen_destinations, ports)
        cells = tuple(self.cell(s, d, p) for s in chosen_sources for d, p in columns)
        return Matrix(tuple(chosen_sources), columns, cells)

    def default_sources(self) -> list[Endpoint]:
        """Every pod, then « any pod of » each known namespace that has no pod."""
        with_pods = {p.namespace for p in self.pods}
        abstract = [NamespaceEndpoint(n, labels_of(self.namespace_labels(n)))
                    for n in sorted(self.namespaces) if n not in with_pods]
        return [*self.pods, *abstract]

    def columns(self, destinations: Iterable[PodEndpoint],
                ports: Sequence[Port | int | str] | None) -> tuple[Column, ...]:
        """Each destination with the given ports, or with its declared ports (the union if it has none)."""
        destinations = list(destinations)
        if ports is not None:
            chosen = sorted({_port(p) for p in ports}, key=lambda p: p.sort_key)
            return tuple((d, _named(d, p)) for d in destinations for p in chosen)
        declared = {d.key: declared_ports(d) for d in destinations}
        union = sorted({p for ports_of in declared.values() for p in ports_of}, key=lambda p: p.sort_key)
        return tuple((d, _named(d, p)) for d in destinations for p in (declared[d.key] or union))

    def pod(self, ref: PodEndpoint | str) -> PodEndpoint:
        """A pod given as such or as ``"namespace/name"``."""
        if isinstance(ref, PodEndpoint):
            return ref
        for pod in self.pods:
            if pod.key == ref:
                return pod
        raise UsageError(f"Le pod {quote(ref)} est introuvable (attendu{NBSP}: namespace/nom).")

    def endpoint(self, ref: Endpoint | str) -> Endpoint:
        """A source given as such, as ``"ns/name"`` (pod), ``"ns/*"`` (namespace) or an address or CIDR."""
        if not isinstance(ref, str):
            return ref
        if ref.endswith("/*"):
            namespace = ref[:-2]
            return NamespaceEndpoint(namespace, labels_of(self.namespace_labels(namespace)))
        if "/" in ref and not ref.split("/", 1)[1].isdigit():
            return self.pod(ref)
        try:
            return IPBlockEndpoint(ref)
        except ValueError:
            raise UsageError(f"Source {quote(ref)} invalide (attendu{NBSP}: namespace/pod, namespace/* ou "
                             "CIDR).") from None

    # --- verdicts --------------------------------------------------------------------

    def cell(self, source: Endpoint, destination: PodEndpoint, port: Port) -> Cell:
        """The verdict of both directions and their French explanation."""
        ingress = self.verdict("ingress", source, destination, port)
        egress = self.verdict("egress", source, destination, port) if isinstance(source, PodEndpoint) else None
        allowed = ingress.allowed and (egress is None or egress.allowed)
        out = egress.text if egress is not None else "non analysée (source extérieure aux pods analysés)"
        explanation = f"{'Autorisé' if allowed else 'Bloqué'}. Sortie{NBSP}: {out}. Entrée{NBSP}: {ingress.text}."
        return Cell(source, destination, port, allowed, explanation, ingress, egress)

    def verdict(self, direction: Direction, source: Endpoint, destination: PodEndpoint, port: Port) -> Verdict:
        """Whether ``direction`` allows the connection: egress of the source pod or ingress of the destination."""
        subject = destination if direction == "ingress" else source
        assert isinstance(subject, PodEndpoint)
        other = source if direction == "ingress" else destination
        isolating = [p for p in self.policies if p.isolates(subject, direction)]
        if not isolating:
            return Verdict(direction, True, False, text=self._not_isolated(subject, direction))
        names = tuple(p.key for p in isolating)
        if isinstance(other, IPBlockEndpoint):
            return self._ip_verdict(isolating, other, destination, port)
        for policy in isolating:
            for rule in policy.rules(direction):
                if rule.port_matches(port, destination) and self._rule_peers_match(rule, policy, other):
                    return Verdict(direction, True, True, names, ((policy.key, rule.index),),
                                   f"permise par la règle {rule.path} de la politique {quote(policy.key)}")
        return Verdict(direction, False, True, names, (),
                       self._blocked(subject, direction, isolating, other, destination, port))

    def external_cell(self, source: PodEndpoint, destination: IPBlockEndpoint, port: Port) -> Cell:
        """Can pod ``source`` open a connection to an address outside the analysed pods (only its egress decides)?

        An egress rule lets it through when its ports cover ``port`` (a port name never does: there
        is no pod to resolve it on) and it has no peers, or an ipBlock peer holding every address of
        ``destination``. Pod and namespace selectors never designate an outside address.
        """
        egress = self._external_verdict(source, destination, port)
        ingress = Verdict("ingress", True, False, text=f"{destination.phrase} est hors du cluster analysé")
        explanation = f"{'Autorisé' if egress.allowed else 'Bloqué'}. Sortie{NBSP}: {egress.text}."
        return Cell(source, destination, port, egress.allowed, explanation, ingress, egress)

    def _external_verdict(self, source: PodEndpoint, destination: IPBlockEndpoint, port: Port) -> Verdict:
        isolating = [p for p in self.policies if p.isolates(source, "egress")]
        if not isolating:
            return Verdict("egress", True, False, text=self._not_isolated(source, "egress"))
        names = tuple(p.key for p in isolating)
        network = destination.network
        for policy in isolating:
            for rule in policy.egress_rules:
                ports_match = not rule.ports or any(
                    p.protocol == port.protocol and not isinstance(p.port, str)
                    and (p.port is None or p.port <= port.number <= (p.end_port or p.port)) for p in rule.ports)
                if not ports_match:
                    continue
                covered = not rule.peers or any(peer.ip_block is not None and peer.ip_block.addresses.covers(network)
                                                for peer in rule.peers)
                if covered:
                    return Verdict("egress", True, True, names, ((policy.key, rule.index),),
                                   f"permise par la règle {rule.path} de la politique {quote(policy.key)}")
        text = self._isolated_intro(source, "egress", isolating)
        text += f" et aucune règle n'autorise la connexion vers {destination.phrase} sur le port {port.label}"
        return Verdict("egress", False, True, names, (), text)

    def _ip_verdict(self, isolating: list[Policy], source: IPBlockEndpoint, destination: PodEndpoint,
                    port: Port) -> Verdict:
        names = tuple(p.key for p in isolating)
        network = source.network
        covered = AddressSet()
        contributing: list[tuple[Policy, Rule]] = []
        for policy in isolating:
            for rule in policy.ingress_rules:
                if not rule.port_matches(port, destination):
                    continue
                allowed = ALL_ADDRESSES if not rule.peers else AddressSet()
                for peer in rule.peers:
                    if peer.ip_block is not None:
                        allowed |= peer.ip_block.addresses
                if allowed.overlaps(network):
                    contributing.append((policy, rule))
                    covered |= allowed
        rules = tuple((p.key, r.index) for p, r in contributing)
        cited = enumerate_fr(f"{r.path} de {quote(p.key)}" for p, r in contributing)
        if covered.covers(network):
            return Verdict("ingress", True, True, names, rules,
                           f"permise par {plural(len(contributing), 'la règle', 'les règles')} {cited}")
        text = self._isolated_intro(destination, "ingress", isolating)
        every = "" if source.display != source.cidr else "toutes "
        text += f" et aucune règle n'autorise {every}{source.phrase} sur le port {port.label}"
        if contributing:
            text += f" (seule une partie est autorisée, par {cited})"
        return Verdict("ingress", False, True, names, (), text)

    def _rule_peers_match(self, rule: Rule, policy: Policy, endpoint: Endpoint) -> bool:
        return not rule.peers or any(self.peer_matches(peer, policy, endpoint) for peer in rule.peers)

    def peer_matches(self, peer: Peer, policy: Policy, endpoint: Endpoint) -> bool:
        """Whether one ``from``/``to`` element of ``policy`` designates ``endpoint`` (an ipBlock: by the pod's IP)."""
        if isinstance(endpoint, IPBlockEndpoint):
            return False
        if peer.ip_block is not None:
            return isinstance(endpoint, PodEndpoint) and endpoint.ip is not None \
                and peer.ip_block.addresses.covers(ipaddress.ip_network(endpoint.ip))
        if not self._namespace_matches(peer, policy, endpoint.namespace):
            return False
        if peer.pod_selector is None:
            return True
        if isinstance(endpoint, NamespaceEndpoint):
            return peer.pod_selector.is_empty
        return peer.pod_selector.matches(endpoint.label_map)

    def _namespace_matches(self, peer: Peer, policy: Policy, namespace: str) -> bool:
        if peer.namespace_selector is None:
            return namespace == policy.namespace
        return peer.namespace_selector.matches(self.namespace_labels(namespace))

    # --- French texts ----------------------------------------------------------------

    def _not_isolated(self, pod: PodEndpoint, direction: Direction) -> str:
        selecting = [p.key for p in self.policies if p.selects(pod)]
        if not selecting:
            return f"aucune politique ne sélectionne le pod {quote(pod.key)}{NBSP}: tout est permis"
        other = "la sortie" if direction == "ingress" else "l'entrée"
        return (f"le pod {quote(pod.key)} n'est isolé en {DIRECTION_FR[direction]} par aucune politique "
                f"({enumerate_fr(quote(k) for k in selecting)} ne {plural(len(selecting), 'concerne', 'concernent')} "
                f"que {other}){NBSP}: tout est permis")

    @staticmethod
    def _isolated_intro(pod: PodEndpoint, direction: Direction, isolating: list[Policy]) -> str:
        names = enumerate_fr(quote(p.key) for p in isolating)
        return (f"le pod {quote(pod.key)} est isolé en {DIRECTION_FR[direction]} par "
                f"{plural(len(isolating), 'la politique', 'les politiques')} {names}")

    def _blocked(self, subject: PodEndpoint, direction: Direction, isolating: list[Policy], other: Endpoint,
                 destination: PodEndpoint, port: Port) -> str:
        towards = "depuis" if direction == "ingress" else "vers"
        text = self._isolated_intro(subject, direction, isolating)
        text += f" et aucune règle n'autorise la connexion {towards} {other.phrase} sur le port {port.label}"
        hints = self._hints(direction, isolating, other, destination, port)
        return f"{text} ({f'{NBSP}; '.join(hints)})" if hints else text

    def _hints(self, direction: Direction, isolating: list[Policy], other: Endpoint, destination: PodEndpoint,
               port: Port) -> list[str]:
        """Near misses: the peer is allowed on other ports, a named port is missing, a label is missing."""
        hints: list[str] = []
        for policy in isolating:
            for rule in policy.rules(direction):
                where = f"la règle {rule.path} de {quote(policy.key)}"
                if self._rule_peers_match(rule, policy, other):
                    missing = [p.port for p in rule.ports if isinstance(p.port, str) and p.protocol == port.protocol
                               and destination.named_port(p.port, p.protocol) is None]
                    if missing:
                        hints.append(f"{where} cite le port nommé {quote(missing[0])}, "
                                     f"que {quote(destination.key)} ne déclare pas")
                    else:
                        hints.append(f"{where} l'autorise, mais seulement sur "
                                     f"{', '.join(p.describe() for p in rule.ports)}")
                elif isinstance(other, NamespaceEndpoint) and rule.port_matches(port, destination):
                    partial = [peer.pod_selector for peer in rule.peers if peer.pod_selector is not None
                               and self._namespace_matches(peer, policy, other.namespace)]
                    if partial:
                        hints.append(f"{where} n'autorise que les pods de {quote(other.namespace)} qui vérifient "
                                     f"{partial[0].describe()}")
        return hints[:3]


def declared_ports(pod: PodEndpoint) -> list[Port]:
    """The distinct TCP/UDP ports a pod declares, sorted, named after their first declaration."""
    found: dict[tuple[str, int], Port] = {}
    for port in pod.ports:
        if port.protocol in ("TCP", "UDP"):
            found.setdefault((port.protocol, port.number), Port(port.protocol, port.number, port.name))
    return sorted(found.values(), key=lambda p: p.sort_key)


def _file_of(obj: Obj) -> str:
    file = ((obj.get("metadata") or {}).get("annotations") or {}).get(FILE_ANNOTATION)
    return f"fichier {quote(file)}" if file else ""


def _port(value: Port | int | str) -> Port:
    if isinstance(value, Port):
        return value
    try:
        return Port.parse(value)
    except ValueError as exc:
        raise UsageError(f"{str(exc)[0].upper()}{str(exc)[1:]}.") from None


def _named(pod: PodEndpoint, port: Port) -> Port:
    """``port`` carrying the name ``pod`` gives it, if any."""
    for declared in pod.ports:
        if declared.number == port.number and declared.protocol == port.protocol and declared.name:
            return Port(port.protocol, port.number, declared.name)
    return Port(port.protocol, port.number, None)
