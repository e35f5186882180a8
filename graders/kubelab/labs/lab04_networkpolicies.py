"""Lab 04 — NetworkPolicies : zéro confiance.

The sandbox enforces no NetworkPolicy (it has no data plane), so the grader computes the
reachability matrix from the policies with Kubernetes's semantics (``kubelab.netpol``) and
compares it with the expected one, cell by cell. A flow only counts when explicit rules
allow it: traffic that passes because no policy isolates the pods is not the learner's work.

« Tout ce qui n'est pas dans ce tableau doit être bloqué (y compris entre deux pods du même
composant, et depuis les autres namespaces) » covers every class of flow the policies decide,
so the matrix holds, besides one pod of each component:

- a second pod of each component (same labels and ports), as source and as destination;
- the namespace `ingress` and another namespace as sources (any pod of them), and in that
  other namespace a pod with each component's labels, as source and as destination (a
  `namespaceSelector: {}` next to a `podSelector` opens those);
- an address outside the cluster, as source (ingress `ipBlock`) and as destination (egress
  to `0.0.0.0/0`);
- CoreDNS and another pod of `kube-system`, as destinations;
- on each destination, its declared ports, one port it does not declare (a rule without
  `ports` opens them all) and, towards the outside, the ports 53, 80 and 443.

Statement → check:

- « une politique de refus par défaut qui sélectionne tous les pods du namespace
  (`podSelector: {}`) pour l'`Ingress` et l'`Egress` » → ``netpol-default-deny``;
- « tous les pods de `lab-zero-trust` … pods `k8s-app=kube-dns` du namespace `kube-system` …
  UDP 53 et TCP 53 » → ``netpol-dns-allowed`` (it is allowed) and ``netpol-dns-only-coredns``
  (port 53 opens towards CoreDNS only: not the rest of `kube-system`, another namespace or
  the outside);
- each other row of the table → ``flow-frontend-backend``, ``flow-backend-postgres``,
  ``flow-backend-redis``, ``flow-ingress-frontend``, allowed « en sortie de la source et en
  entrée de la destination »;
- « Tout ce qui n'est pas dans ce tableau doit être bloqué », « la matrice d'accessibilité
  complète » → ``netpol-no-extra-flows``;
- « Le DNS est autorisé en UDP et en TCP vers CoreDNS » → ``netpol-dns-allowed``, « et le port 53
  ne s'ouvre que vers CoreDNS » → ``netpol-dns-only-coredns``;
- « Chaque politique sélectionne au moins un pod » → ``netpol-policies-select-pods``;
- « Sur un vrai MicroK8s, `kubelab grade 04-networkpolicies --allow-probes` confirme en plus la
  matrice en direct, sans la noter » → no check: the live probe (``LIVE_PROBES``).
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass

from kubelab.checks import ObjectRef, Registry, Verdict, failed, passed
from kubelab.cluster_state import CLUSTER_SCOPE, ClusterState, Read
from kubelab.kube_api import KubeApi
from kubelab.live_probes import (
    LiveProbeResult,
    add_ephemeral_container,
    ephemeral_container,
    ephemeral_exit_code,
    ephemeral_stuck,
    live_probe,
)
from kubelab.netpol.model import Cell, Endpoint, IPBlockEndpoint, Matrix, NamespaceEndpoint, PodEndpoint, Port
from kubelab.netpol.reachability import Analysis, declared_ports
from kubelab.objects import is_ready, labels_of, listing, matches_selector, name_of
from kubelab.waiting import wait_for

registry = Registry()
check = registry.check

READS = (
    Read("v1", "Namespace", CLUSTER_SCOPE),
    Read("v1", "Pod"),
    Read("v1", "Pod", "kube-system"),
    Read("networking.k8s.io/v1", "NetworkPolicy"),
    Read("networking.k8s.io/v1", "NetworkPolicy", "kube-system"),
)

COURSE = "microk8s/reseau-avance.md"
COMPONENTS = ("frontend", "backend", "postgres", "redis")
FLOWS = {
    "frontend": ("backend", 8080),
    "backend": ("postgres", 5432),
    "backend-redis": ("redis", 6379),
}
INGRESS_NAMESPACE = "ingress"
OUTSIDE_NAMESPACE = "kubelab-exterieur"
OUTSIDE_ADDRESS = "203.0.113.10/32"
DNS_PORTS = (Port("UDP", 53), Port("TCP", 53))
UNDECLARED_PORT = Port("TCP", 9999)
OUTSIDE_PORTS = (*DNS_PORTS, Port("TCP", 80), Port("TCP", 443))
TWIN = "-kubelab-jumeau"
SHOWN_CELLS = 6


@dataclass(frozen=True)
class Graph:
    """The lab's reachability cells and who is who in them."""

    cells: tuple[Cell, ...]
    components: dict[str, PodEndpoint]
    twins: dict[str, PodEndpoint]
    """A second pod of each component: same labels and ports, another name."""
    outsiders: dict[str, PodEndpoint]
    """In another namespace, a pod with each component's labels and ports."""
    dns: PodEndpoint | None
    other_system: PodEndpoint | None
    outside: IPBlockEndpoint

    @property
    def lab_pods(self) -> list[PodEndpoint]:
        return [*self.components.values(), *self.twins.values()]

    def cell(self, source: Endpoint, destination: PodEndpoint, port: Port) -> Cell:
        return next(c for c in self.cells if c.source == source and c.destination == destination and c.port == port)

    @property
    def matrix(self) -> Matrix:
        """The cells as a grid (rows: sources; columns: destination and port, outside addresses last),
        for the dashboard."""
        sources = tuple(dict.fromkeys(c.source for c in self.cells))
        columns = tuple(dict.fromkeys((c.destination, c.port) for c in self.cells))
        return Matrix(sources, columns, self.cells)  # type: ignore[arg-type]  # outside addresses are columns too


def _representative(pods: list[dict], label: str, value: str) -> dict | None:
    chosen = sorted((p for p in pods
                     if labels_of(p).get(label) == value and not p["metadata"].get("deletionTimestamp")),
                    key=lambda p: (not is_ready(p), name_of(p)))
    return chosen[0] if chosen else None


def _copy(pod: dict, name: str, namespace: str) -> dict:
    """A synthetic pod: ``pod``'s labels and ports under another name, maybe in another namespace."""
    twin = copy.deepcopy(pod)
    twin["metadata"] = {"name": name, "namespace": namespace, "labels": labels_of(pod)}
    twin["status"] = {"phase": "Running"}
    return twin


def _graph(state: ClusterState) -> Graph:
    lab_pods = state.objects("v1", "Pod")
    system_pods = state.objects("v1", "Pod", "kube-system")
    namespaces = state.objects("v1", "Namespace", CLUSTER_SCOPE)
    policies = [*state.objects("networking.k8s.io/v1", "NetworkPolicy"),
                *state.objects("networking.k8s.io/v1", "NetworkPolicy", "kube-system")]
    picked = {app: pod for app in COMPONENTS if (pod := _representative(lab_pods, "app", app)) is not None}
    twins = {app: _copy(pod, f"{name_of(pod)}{TWIN}", state.namespace) for app, pod in picked.items()}
    outsiders = {app: _copy(pod, app, OUTSIDE_NAMESPACE) for app, pod in picked.items()}
    dns = _representative(system_pods, "k8s-app", "kube-dns")
    other = next((p for p in sorted(system_pods, key=name_of) if labels_of(p).get("k8s-app") != "kube-dns"
                  and (p.get("status") or {}).get("podIP")), None)
    chosen = [p for p in (*picked.values(), *twins.values(), *outsiders.values(), dns, other) if p is not None]
    analysis = Analysis(namespaces, chosen, policies)
    by_key = {pod.key: pod for pod in analysis.pods}

    def endpoint(pod: dict | None) -> PodEndpoint | None:
        return by_key.get(f"{pod['metadata']['namespace']}/{name_of(pod)}") if pod else None

    def endpoints(pods: dict[str, dict]) -> dict[str, PodEndpoint]:
        return {app: e for app, pod in pods.items() if (e := endpoint(pod)) is not None}

    components, twin_endpoints, outsider_endpoints = endpoints(picked), endpoints(twins), endpoints(outsiders)
    lab = [*components.values(), *twin_endpoints.values()]
    outside = IPBlockEndpoint(OUTSIDE_ADDRESS)
    sources: list[Endpoint] = [
        *lab,
        NamespaceEndpoint(INGRESS_NAMESPACE, tuple(analysis.namespace_labels(INGRESS_NAMESPACE).items())),
        NamespaceEndpoint(OUTSIDE_NAMESPACE, tuple(analysis.namespace_labels(OUTSIDE_NAMESPACE).items())),
        *outsider_endpoints.values(), outside]
    cells: list[Cell] = []
    for destination in lab:
        cells += analysis.matrix(sources, [destination], [*declared_ports(destination), UNDECLARED_PORT]).cells
    for destination in outsider_endpoints.values():
        cells += analysis.matrix(lab, [destination], [*declared_ports(destination), UNDECLARED_PORT, *DNS_PORTS]).cells
    for system in (endpoint(dns), endpoint(other)):
        if system is not None:
            cells += analysis.matrix(lab, [system], [*DNS_PORTS, UNDECLARED_PORT]).cells
    cells += [analysis.external_cell(source, outside, port) for source in lab for port in OUTSIDE_PORTS]
    return Graph(tuple(cells), components, twin_endpoints, outsider_endpoints, endpoint(dns), endpoint(other), outside)


def _name(endpoint: object, graph: Graph) -> str:
    for app, pod in graph.components.items():
        if pod == endpoint:
            return app
    for app, pod in graph.twins.items():
        if pod == endpoint:
            return f"{app} (2ᵉ pod)"
    for app, pod in graph.outsiders.items():
        if pod == endpoint:
            return f"{OUTSIDE_NAMESPACE}/{app}"
    if endpoint == graph.dns:
        return "CoreDNS"
    if endpoint == graph.other_system and isinstance(endpoint, PodEndpoint):
        labels = endpoint.label_map
        return f"kube-system/{labels.get('k8s-app') or labels.get('app') or endpoint.name}"
    if isinstance(endpoint, NamespaceEndpoint):
        return f"namespace {endpoint.namespace}"
    if isinstance(endpoint, IPBlockEndpoint):
        return endpoint.display
    return getattr(endpoint, "key", "?")


def _cell_name(cell: Cell, graph: Graph) -> str:
    return f"{_name(cell.source, graph)} → {_name(cell.destination, graph)}:{cell.port.number}/{cell.port.protocol}"


def _app_of(endpoint: object, graph: Graph) -> str | None:
    """The component of a lab pod (a component's pod or its twin), else ``None``."""
    return next((app for pods in (graph.components, graph.twins) for app, pod in pods.items() if pod == endpoint), None)


def _summary(cells: list[Cell], graph: Graph) -> list[str]:
    """The cells' names, without repeats: a second pod counts apart only between two pods of one
    component, and a pod of the other namespace only when « any pod » of it is not listed already."""
    keys = {(c.source.key, c.destination.key, c.port.label) for c in cells}
    names = []
    for cell in cells:
        source, destination = cell.source, cell.destination
        if isinstance(source, PodEndpoint) and source in graph.outsiders.values() \
                and (f"{OUTSIDE_NAMESPACE}/*", destination.key, cell.port.label) in keys:
            continue
        if _app_of(source, graph) != _app_of(destination, graph):
            source = graph.components.get(_app_of(source, graph) or "", source)
            destination = graph.components.get(_app_of(destination, graph) or "", destination)
        names.append(f"{_name(source, graph)} → {_name(destination, graph)}:{cell.port.number}/{cell.port.protocol}")
    return list(dict.fromkeys(names))


def _explicit(cell: Cell) -> bool:
    """Allowed by rules on both sides: each pod involved is isolated and a rule lets it through."""
    return cell.allowed and cell.ingress.isolated and (cell.egress is None or cell.egress.isolated)


def _expected_allowed(graph: Graph) -> set[tuple[str, str, str]]:
    def pods_of(app: str) -> list[PodEndpoint]:
        return [pod for pods in (graph.components, graph.twins) for a, pod in pods.items() if a == app]

    keys: set[tuple[str, str, str]] = set()
    for source, (target, port) in FLOWS.items():
        keys.update((s.key, d.key, f"{port}/TCP") for s in pods_of(source.split("-")[0]) for d in pods_of(target))
    keys.update((f"{INGRESS_NAMESPACE}/*", d.key, "80/TCP") for d in pods_of("frontend"))
    if graph.dns is not None:
        keys.update((pod.key, graph.dns.key, port.label) for pod in graph.lab_pods for port in DNS_PORTS)
    return keys


def _dns_elsewhere(cell: Cell, graph: Graph) -> bool:
    """A port-53 cell towards anything but CoreDNS and the lab's pods: ``netpol-dns-only-coredns`` judges it."""
    return cell.port in DNS_PORTS and cell.destination != graph.dns and cell.destination not in graph.lab_pods


def _missing_pods(state: ClusterState, graph: Graph) -> Verdict | None:
    missing = [app for app in COMPONENTS if app not in graph.components]
    if missing:
        return failed(f"Les pods {listing(missing)} devraient exister dans le namespace du lab "
                      "(trouvé : absents ; lancez « kubelab lab setup 04-networkpolicies »).",
                      *(ObjectRef("Deployment", app) for app in missing), pending=True)
    return None


def _policies(state: ClusterState) -> list[dict]:
    return state.objects("networking.k8s.io/v1", "NetworkPolicy")


@check("netpol-default-deny", title="Refus par défaut en entrée et en sortie", category="réseau", course=COURSE,
       related=("kubescape:C-0260",),
       hint="Une NetworkPolicy avec `podSelector: {}` et `policyTypes: [Ingress, Egress]`, sans règle.")
def default_deny(state: ClusterState) -> Verdict:
    covered: dict[str, list[str]] = {"Ingress": [], "Egress": []}
    for policy in _policies(state):
        spec = policy.get("spec") or {}
        selector = spec.get("podSelector") or {}
        if selector.get("matchLabels") or selector.get("matchExpressions"):
            continue
        types = spec.get("policyTypes") or (["Ingress", "Egress"] if spec.get("egress") else ["Ingress"])
        for kind in types:
            if kind in covered and not spec.get(kind.lower()):
                covered[kind].append(name_of(policy))
    missing = [kind for kind, names in covered.items() if not names]
    if missing:
        found = "aucune politique" if not _policies(state) else "aucun refus par défaut pour ce sens"
        return failed("Une politique avec `podSelector: {}` devrait refuser par défaut le trafic "
                      f"{' et '.join('entrant' if k == 'Ingress' else 'sortant' for k in missing)} de tous les pods "
                      f"(trouvé : {found}).")
    names = sorted({n for names in covered.values() for n in names})
    return passed(f"{listing(names)} refuse(nt) par défaut le trafic entrant et sortant de tous les pods.")


@check("netpol-dns-allowed", title="Le DNS reste possible", category="réseau", course=COURSE,
       hint="Une règle de sortie pour tous les pods vers les pods `k8s-app: kube-dns` du namespace `kube-system`, "
            "ports 53 en UDP et en TCP.")
def dns_allowed(state: ClusterState) -> Verdict:
    graph = _graph(state)
    if (missing := _missing_pods(state, graph)) is not None:
        return missing
    if graph.dns is None:
        return failed("Les pods CoreDNS (`k8s-app=kube-dns`) devraient exister dans kube-system (trouvé : aucun).")
    wrong = _summary([c for c in graph.cells if c.destination == graph.dns and c.port in DNS_PORTS
                      and not (c.allowed and c.egress is not None and c.egress.isolated)], graph)
    if wrong:
        return failed(f"{_flows(wrong, 'autorisé')} par une règle de sortie explicite "
                      "(trouvé : bloqué, ou permis seulement faute de refus par défaut).")
    return passed("Chaque pod du namespace peut interroger CoreDNS en UDP et en TCP sur le port 53.")


@check("netpol-dns-only-coredns", title="Le port 53 ne s'ouvre que vers CoreDNS", category="réseau", course=COURSE,
       hint="La règle DNS nomme sa destination dans `to` : `namespaceSelector` (kube-system) et `podSelector` "
            "(`k8s-app: kube-dns`) dans la même entrée (un seul tiret, c'est un ET) ; sans `to`, le port 53 "
            "s'ouvre vers toutes les adresses.")
def dns_only_coredns(state: ClusterState) -> Verdict:
    graph = _graph(state)
    if (missing := _missing_pods(state, graph)) is not None:
        return missing
    extra = [c for c in graph.cells if _dns_elsewhere(c, graph) and c.allowed]
    if extra:
        order = [graph.outside, graph.other_system, *graph.outsiders.values()]
        towards = sorted({c.destination for c in extra}, key=lambda d: order.index(d) if d in order else len(order))
        sources = listing(dict.fromkeys(_name(graph.components.get(_app_of(c.source, graph) or "", c.source), graph)
                                        for c in extra))
        return failed(f"Le port 53 ne devrait s'ouvrir que vers CoreDNS (trouvé : ouvert aussi vers "
                      f"{_shown(towards, graph)}, depuis {sources}).")
    return passed("Le port 53 n'est ouvert que vers CoreDNS : ni vers le reste de kube-system, ni vers un autre "
                  "namespace, ni hors du cluster.")


def _flow(state: ClusterState, source: str, target: str, port: int, via_namespace: bool = False) -> Verdict:
    graph = _graph(state)
    if (missing := _missing_pods(state, graph)) is not None:
        return missing
    origin: Endpoint = next(c.source for c in graph.cells if c.source.key == f"{INGRESS_NAMESPACE}/*") \
        if via_namespace else graph.components[source]
    cell = graph.cell(origin, graph.components[target], Port("TCP", port))
    name = _cell_name(cell, graph)
    if not cell.allowed:
        return failed(f"{name} devrait être autorisé (trouvé : bloqué). {cell.explanation}")
    if not _explicit(cell):
        return failed(f"{name} devrait être autorisé par des règles explicites (trouvé : permis seulement parce "
                      "qu'aucune politique n'isole ces pods).")
    return passed(f"{name} est autorisé par des règles explicites.")


@check("flow-frontend-backend", title="frontend → backend:8080", category="réseau", course=COURSE,
       hint="Sortie de frontend vers `app: backend` port 8080, ET entrée de backend depuis `app: frontend` port 8080.")
def flow_frontend_backend(state: ClusterState) -> Verdict:
    return _flow(state, "frontend", "backend", 8080)


@check("flow-backend-postgres", title="backend → postgres:5432", category="réseau", course=COURSE,
       hint="Sortie de backend vers `app: postgres` port 5432, ET entrée de postgres depuis `app: backend` port 5432.")
def flow_backend_postgres(state: ClusterState) -> Verdict:
    return _flow(state, "backend", "postgres", 5432)


@check("flow-backend-redis", title="backend → redis:6379", category="réseau", course=COURSE,
       hint="Sortie de backend vers `app: redis` port 6379, ET entrée de redis depuis `app: backend` port 6379.")
def flow_backend_redis(state: ClusterState) -> Verdict:
    return _flow(state, "backend", "redis", 6379)


@check("flow-ingress-frontend", title="namespace ingress → frontend:80", category="réseau", course=COURSE,
       hint="Entrée de frontend depuis `namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress}}`, "
            "port 80 (« kubectl get ns ingress --show-labels » montre les labels du namespace).")
def flow_ingress_frontend(state: ClusterState) -> Verdict:
    return _flow(state, "", "frontend", 80, via_namespace=True)


@check("netpol-no-extra-flows", title="Tout le reste est bloqué", category="réseau", course=COURSE,
       hint="Chaque règle doit viser une source ou une destination précise et ses ports : évitez "
            "`namespaceSelector: {}`, `podSelector: {}` dans `from`/`to`, les `ipBlock` larges et les règles sans "
            "`ports` ; deux pods du même composant ne se parlent pas.")
def no_extra_flows(state: ClusterState) -> Verdict:
    graph = _graph(state)
    if (missing := _missing_pods(state, graph)) is not None:
        return missing
    expected = _expected_allowed(graph)
    extra = _summary([c for c in graph.cells if c.allowed and c.source != c.destination and not _dns_elsewhere(c, graph)
                      and (c.source.key, c.destination.key, c.port.label) not in expected], graph)
    if extra:
        return failed(f"{_flows(extra, 'bloqué')} (trouvé : autorisé).")
    blocked = sum(1 for c in graph.cells if not c.allowed)
    return passed(f"Les {blocked} autres flux de la matrice sont bloqués : entre deux pods d'un même composant, "
                  "depuis et vers les autres namespaces, depuis et vers l'extérieur du cluster, sur les ports non "
                  "déclarés.")


@check("netpol-policies-select-pods", title="Chaque politique sélectionne des pods", category="réseau",
       course=COURSE, hint="Vérifiez les labels : « kubectl get pods --show-labels » ; une faute de frappe dans "
                           "`podSelector` rend la politique inutile.")
def policies_select_pods(state: ClusterState) -> Verdict:
    policies = _policies(state)
    if not policies:
        return failed("Le namespace devrait contenir des NetworkPolicies (trouvé : aucune).")
    pods = state.objects("v1", "Pod")
    useless = [name_of(p) for p in policies
               if not any(matches_selector(labels_of(pod), (p.get("spec") or {}).get("podSelector") or {})
                          for pod in pods)]
    if useless:
        return failed(f"Les politiques {listing(useless)} devraient sélectionner au moins un pod (trouvé : aucun).",
                      *(ObjectRef("NetworkPolicy", n) for n in useless))
    return passed(f"Les {len(policies)} politiques sélectionnent toutes au moins un pod.")


def _shown(endpoints: list, graph: Graph) -> str:
    """``a, b et c``, or ``a, b, …, f et 2 autres``: the endpoints' names."""
    names = [_name(e, graph) for e in endpoints]
    more = len(names) - SHOWN_CELLS
    if more > 0:
        return ", ".join(names[:SHOWN_CELLS]) + f" et {more} autre{'s' if more > 1 else ''}"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]


def _flows(cells: list[str], state: str) -> str:
    """« Le flux A devrait être bloqué » or « Les flux A, B et 3 autres devraient être bloqués »."""
    if len(cells) == 1:
        return f"Le flux {cells[0]} devrait être {state}"
    shown = ", ".join(cells[:SHOWN_CELLS])
    more = len(cells) - SHOWN_CELLS
    listed = f"{shown} et {more} autre{'s' if more > 1 else ''}" if more > 0 else shown
    return f"Les flux {listed} devraient être {state}s"


# --- live probe (real cluster only, opt-in with --allow-probes, not scored) ------------------------

LiveFlow = tuple[str, str, int]
"""(source app, target app, port)."""


def allowed_flows() -> list[LiveFlow]:
    """The lab's expected-allowed flows between its components, in the statement's order."""
    return [(source.split("-")[0], target, port) for source, (target, port) in FLOWS.items()]


def blocked_flows(allowed: list[LiveFlow], count: int | None = None) -> list[LiveFlow]:
    """As many flows that must stay blocked: other sources towards the same targets and ports,
    the frontend first (it must never reach the databases)."""
    ports = {target: port for _, target, port in allowed}
    pairs = {(source, target) for source, target, _ in allowed}
    candidates = [(source, target, port) for source in COMPONENTS for target, port in ports.items()
                  if source != target and (source, target) not in pairs]
    return candidates[:len(allowed) if count is None else count]


def observed(exit_code: int | None) -> str:
    """What an ``nc -z`` exit code says about a flow."""
    if exit_code is None:
        return "indéterminé"
    return "autorisé" if exit_code == 0 else "bloqué"


def _flow_result(flow: LiveFlow, expected_allowed: bool, exit_code: int | None,
                 problem: str | None = None) -> LiveProbeResult:
    source, target, port = flow
    expected = "autorisé" if expected_allowed else "bloqué"
    seen = observed(exit_code)
    title = f"{source} → {target}:{port}"
    if problem:
        return LiveProbeResult(title, None, f"attendu : {expected} ; non mesuré : {problem}.")
    return LiveProbeResult(title, seen == expected, f"attendu : {expected} ; observé : {seen} (nc -z, code "
                                                    f"{exit_code}).")


def _measure(api: KubeApi, namespace: str, source_pod: dict, target_ip: str,
             port: int) -> tuple[int | None, str | None]:
    name = f"kubelab-sonde-{secrets.token_hex(3)}"
    pod_name = name_of(source_pod)
    add_ephemeral_container(api, namespace, pod_name, ephemeral_container(
        name, ["nc", "-z", "-w", "3", target_ip, str(port)]))

    def settled(pods: list[dict]) -> bool:
        pod = next((p for p in pods if name_of(p) == pod_name), None)
        return pod is None or ephemeral_exit_code(pod, name) is not None or ephemeral_stuck(pod, name) is not None

    pods = wait_for(api, "v1", "Pod", settled, namespace=namespace, timeout="live_ephemeral",
                    what=f"la fin du conteneur éphémère « {name} » dans « {pod_name} »")
    pod = next((p for p in pods if name_of(p) == pod_name), None)
    if pod is None:
        return None, f"le pod « {pod_name} » a disparu pendant la mesure"
    stuck = ephemeral_stuck(pod, name)
    if stuck:
        return None, f"le conteneur éphémère ne démarre pas ({stuck})"
    return ephemeral_exit_code(pod, name), None


@live_probe("matrice en direct")
def live_matrix(api: KubeApi, namespace: str) -> list[LiveProbeResult]:
    """Test each expected-allowed flow and as many expected-blocked ones from the real source pods,
    with an ephemeral busybox container (``nc -z``): no new pod carries the app's labels."""
    pods = api.list("v1", "Pod", namespace)
    picked = {app: _representative(pods, "app", app) for app in COMPONENTS}
    allowed = allowed_flows()
    results = []
    for flow, expected in [*((f, True) for f in allowed), *((f, False) for f in blocked_flows(allowed))]:
        source, target, port = flow
        source_pod, target_pod = picked.get(source), picked.get(target)
        target_ip = ((target_pod or {}).get("status") or {}).get("podIP")
        if source_pod is None or not is_ready(source_pod) or not target_ip:
            missing = source if source_pod is None or not is_ready(source_pod) else target
            results.append(_flow_result(flow, expected, None, f"aucun pod `{missing}` prêt"))
            continue
        exit_code, problem = _measure(api, namespace, source_pod, target_ip, port)
        results.append(_flow_result(flow, expected, exit_code, problem))
    return results


LIVE_PROBES = (live_matrix,)
