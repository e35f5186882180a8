"""Lab 04 — NetworkPolicies : zéro confiance.

The sandbox enforces no NetworkPolicy (it has no data plane), so the grader computes the
reachability matrix from the policies with Kubernetes's semantics (``kubelab.netpol``) and
compares it with the expected one, cell by cell. A flow only counts when explicit rules
allow it: traffic that passes because no policy isolates the pods is not the learner's work.
"""

from __future__ import annotations

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
from kubelab.netpol.reachability import Analysis
from kubelab.objects import is_ready, labels_of, listing, name_of
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
SHOWN_CELLS = 6


@dataclass(frozen=True)
class Graph:
    """The lab's reachability matrix and who is who in it."""

    matrix: Matrix
    components: dict[str, PodEndpoint]
    dns: PodEndpoint | None
    other_system: PodEndpoint | None


def _representative(pods: list[dict], label: str, value: str) -> dict | None:
    chosen = sorted((p for p in pods
                     if labels_of(p).get(label) == value and not p["metadata"].get("deletionTimestamp")),
                    key=lambda p: (not is_ready(p), name_of(p)))
    return chosen[0] if chosen else None


def _graph(state: ClusterState) -> Graph:
    lab_pods = state.objects("v1", "Pod")
    system_pods = state.objects("v1", "Pod", "kube-system")
    namespaces = state.objects("v1", "Namespace", CLUSTER_SCOPE)
    policies = [*state.objects("networking.k8s.io/v1", "NetworkPolicy"),
                *state.objects("networking.k8s.io/v1", "NetworkPolicy", "kube-system")]
    picked = {app: _representative(lab_pods, "app", app) for app in COMPONENTS}
    dns = _representative(system_pods, "k8s-app", "kube-dns")
    other = next((p for p in sorted(system_pods, key=name_of) if labels_of(p).get("k8s-app") != "kube-dns"
                  and (p.get("status") or {}).get("podIP")), None)
    chosen = [p for p in (*picked.values(), dns, other) if p is not None]
    analysis = Analysis(namespaces, chosen, policies)
    by_key = {pod.key: pod for pod in analysis.pods}

    def endpoint(pod: dict | None) -> PodEndpoint | None:
        return by_key.get(f"{pod['metadata']['namespace']}/{name_of(pod)}") if pod else None

    components = {app: e for app, pod in picked.items() if (e := endpoint(pod)) is not None}
    sources: list[Endpoint] = [*components.values(),
               NamespaceEndpoint(INGRESS_NAMESPACE, tuple(analysis.namespace_labels(INGRESS_NAMESPACE).items())),
               NamespaceEndpoint(OUTSIDE_NAMESPACE, tuple(analysis.namespace_labels(OUTSIDE_NAMESPACE).items())),
               IPBlockEndpoint(OUTSIDE_ADDRESS)]
    matrix = analysis.matrix(sources, list(components.values()))
    if components and (endpoint(dns) or endpoint(other)):
        extra = analysis.matrix(list(components.values()), [e for e in (endpoint(dns), endpoint(other)) if e],
                                DNS_PORTS)
        matrix = Matrix(matrix.sources, matrix.columns + extra.columns, matrix.cells + extra.cells)
    return Graph(matrix, components, endpoint(dns), endpoint(other))


def _name(endpoint: object, graph: Graph) -> str:
    for app, pod in graph.components.items():
        if pod == endpoint:
            return app
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


def _explicit(cell: Cell) -> bool:
    """Allowed by rules on both sides: each pod involved is isolated and a rule lets it through."""
    return cell.allowed and cell.ingress.isolated and (cell.egress is None or cell.egress.isolated)


def _expected_allowed(graph: Graph) -> set[tuple[str, str, str]]:
    keys = set()
    for source, (target, port) in FLOWS.items():
        source_app = source.split("-")[0]
        if source_app in graph.components and target in graph.components:
            keys.add((graph.components[source_app].key, graph.components[target].key, f"{port}/TCP"))
    if "frontend" in graph.components:
        keys.add((f"{INGRESS_NAMESPACE}/*", graph.components["frontend"].key, "80/TCP"))
    if graph.dns is not None:
        for pod in graph.components.values():
            keys.update((pod.key, graph.dns.key, f"{port.number}/{port.protocol}") for port in DNS_PORTS)
    return keys


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
    wrong = [_cell_name(c, graph) for c in graph.matrix.cells
             if c.destination == graph.dns and not (c.allowed and c.egress is not None and c.egress.isolated)]
    if wrong:
        return failed(f"{_flows(wrong, 'devrai', 'autorisé')} par une règle de sortie explicite "
                      "(trouvé : bloqué, ou permis seulement faute de refus par défaut).")
    return passed("Chaque composant peut interroger CoreDNS en UDP et en TCP sur le port 53.")


@check("netpol-dns-only-coredns", title="Le port 53 ne s'ouvre que vers CoreDNS", category="réseau", course=COURSE,
       hint="Dans la règle DNS, `namespaceSelector` et `podSelector` doivent être dans la même entrée de `to` "
            "(un seul tiret) : c'est un ET.")
def dns_only_coredns(state: ClusterState) -> Verdict:
    graph = _graph(state)
    if (missing := _missing_pods(state, graph)) is not None:
        return missing
    if graph.other_system is None:
        return passed("Aucun autre pod de kube-system à protéger.")
    extra = [_cell_name(c, graph) for c in graph.matrix.cells if c.destination == graph.other_system and c.allowed]
    if extra:
        return failed(f"{_flows(extra, 'devrai', 'bloqué')} : le DNS ne doit viser que CoreDNS (trouvé : autorisé).")
    return passed("Le port 53 n'est ouvert que vers CoreDNS, pas vers le reste de kube-system.")


def _flow(state: ClusterState, source: str, target: str, port: int, via_namespace: bool = False) -> Verdict:
    graph = _graph(state)
    if (missing := _missing_pods(state, graph)) is not None:
        return missing
    origin = f"{INGRESS_NAMESPACE}/*" if via_namespace else graph.components[source].key
    cell = graph.matrix.cell(origin, graph.components[target], f"{port}/TCP")
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
            "port 80.")
def flow_ingress_frontend(state: ClusterState) -> Verdict:
    return _flow(state, "", "frontend", 80, via_namespace=True)


@check("netpol-no-extra-flows", title="Tout le reste est bloqué", category="réseau", course=COURSE,
       hint="Chaque règle doit viser une source ou une destination précise : évitez `namespaceSelector: {}`, "
            "`podSelector: {}` dans `from`/`to` et les règles sans `ports`.")
def no_extra_flows(state: ClusterState) -> Verdict:
    graph = _graph(state)
    if (missing := _missing_pods(state, graph)) is not None:
        return missing
    expected = _expected_allowed(graph)
    extra = [_cell_name(c, graph) for c in graph.matrix.cells
             if c.allowed and c.source != c.destination and c.destination != graph.other_system
             and (c.source.key, c.destination.key, c.port.label) not in expected]
    if extra:
        return failed(f"{_flows(extra, 'devrai', 'bloqué')} (trouvé : autorisé).")
    count = sum(1 for c in graph.matrix.cells if not c.allowed)
    return passed(f"Les {count} autres flux de la matrice sont bloqués.")


@check("netpol-policies-select-pods", title="Chaque politique sélectionne des pods", category="réseau",
       course=COURSE, hint="Vérifiez les labels : « kubectl get pods --show-labels » ; une faute de frappe dans "
                           "`podSelector` rend la politique inutile.")
def policies_select_pods(state: ClusterState) -> Verdict:
    from kubelab.objects import matches_selector

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


def _flows(cells: list[str], _verb: str, state: str) -> str:
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
