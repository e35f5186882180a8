"""Lab 05 — Haute disponibilité.

Is the control plane highly available (three voters or more), and does the application
`web` survive the loss of a node: replicas on distinct nodes, probes, a rolling update
that keeps capacity, and a PodDisruptionBudget that protects it during a drain?
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import yaml

from kubelab.checks import ObjectRef, Registry, Verdict, failed, passed
from kubelab.cluster_state import CLUSTER_SCOPE, ClusterState, Probe, Read
from kubelab.kube_api import KubeApi
from kubelab.microk8s import VOTERS, dqlite_roles, is_control_plane
from kubelab.objects import containers, is_ready, labels_of, listing, matches_selector, name_of, pod_spec, pods_of

registry = Registry()
check = registry.check

READS = (
    Read("v1", "Node", CLUSTER_SCOPE),
    Read("apps/v1", "Deployment"),
    Read("apps/v1", "ReplicaSet"),
    Read("v1", "Pod"),
    Read("v1", "Service"),
    Read("discovery.k8s.io/v1", "EndpointSlice"),
    Read("policy/v1", "PodDisruptionBudget"),
)

COURSE = "production/plan-de-controle.md"
HOSTNAME = "kubernetes.io/hostname"
MIN_REPLICAS = 3
WEB = ObjectRef("Deployment", "web")
MISSING_WEB = failed("Le Deployment `web` devrait exister dans le namespace du lab (trouvé : aucun).", WEB)


def microk8s_status(_api: KubeApi, _namespace: str) -> Any:
    """``microk8s status --format yaml`` when the grader runs on a MicroK8s node, else ``None``."""
    if shutil.which("microk8s") is None:
        return None
    try:
        done = subprocess.run(["microk8s", "status", "--format", "yaml"], capture_output=True, text=True,
                              timeout=30, check=False)
        return yaml.safe_load(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, yaml.YAMLError):
        return None


PROBES = {"microk8s-status": Probe(microk8s_status)}


def _control_plane(node: dict) -> bool:
    return is_control_plane(node) or "node-role.kubernetes.io/control-plane" in labels_of(node)


def _web(state: ClusterState) -> dict | None:
    return state.get("apps/v1", "Deployment", "web")


def _web_pods(state: ClusterState) -> list[dict]:
    web = _web(state)
    if web is None:
        return []
    return pods_of(web, state.objects("v1", "Pod"), state.objects("apps/v1", "ReplicaSet"))


@check("ha-control-plane-nodes", title="Trois nœuds du plan de contrôle prêts", category="fiabilité", course=COURSE,
       hint="Sur MicroK8s : « microk8s add-node » sur le premier nœud, puis « microk8s join … » (sans --worker) "
            "sur deux autres ; dans le bac à sable : « kubelab sandbox up --nodes 3 ».")
def control_plane_nodes(state: ClusterState) -> Verdict:
    nodes = [n for n in state.objects("v1", "Node", CLUSTER_SCOPE) if _control_plane(n)]
    ready = [name_of(n) for n in nodes if is_ready(n)]
    not_ready = [name_of(n) for n in nodes if not is_ready(n)]
    if len(ready) < MIN_REPLICAS or not_ready:
        extra = f", non prêts : {listing(not_ready)}" if not_ready else ""
        return failed(f"Le cluster devrait avoir au moins 3 nœuds du plan de contrôle, tous Ready "
                      f"(trouvé : {len(ready)} prêt(s){extra}).", *(ObjectRef("Node", n) for n in not_ready))
    return passed(f"Le plan de contrôle compte {len(ready)} nœuds prêts : {listing(ready)}.")


@check("ha-formed", title="Haute disponibilité formée", category="fiabilité", course=COURSE,
       hint="« microk8s status » doit afficher « high-availability: yes » avec trois nœuds voter dans "
            "« datastore master nodes ».")
def ha_formed(state: ClusterState) -> Verdict:
    status = state.probe("microk8s-status")
    if isinstance(status, dict) and "high-availability" in status:
        members = status["high-availability"].get("nodes") or []
        voters = [m.get("address", "?") for m in members if m.get("role") == "voter"]
        source = "d'après « microk8s status »"
    else:
        nodes = [n for n in state.objects("v1", "Node", CLUSTER_SCOPE) if _control_plane(n) and is_ready(n)]
        voters = [name_of(node) for node, role in dqlite_roles(nodes) if role == "voter"]
        source = "d'après les nœuds, selon les règles de dqlite"
    if len(voters) < VOTERS:
        return failed(f"La haute disponibilité devrait être formée avec au moins 3 votants dqlite "
                      f"(trouvé : {len(voters)}, {source}).")
    return passed(f"La haute disponibilité est formée : {len(voters)} votants dqlite ({source}).")


@check("web-replicas-ready", title="Au moins trois réplicas prêts", category="fiabilité", course=COURSE,
       related=("kube-score:deployment-replicas",),
       hint="`spec.replicas: 3` (ou plus) ; « kubectl get deploy web » doit afficher 3/3.")
def replicas_ready(state: ClusterState) -> Verdict:
    web = _web(state)
    if web is None:
        return MISSING_WEB
    wanted = web["spec"].get("replicas", 1)
    ready = sum(1 for pod in _web_pods(state) if is_ready(pod))
    if wanted < MIN_REPLICAS:
        return failed(f"Le Deployment `web` devrait demander au moins 3 réplicas (trouvé : {wanted}).", WEB)
    if ready < wanted:
        return failed(f"Le Deployment `web` devrait avoir {wanted} réplicas prêts (trouvé : {ready}).", WEB,
                      pending=True)
    return passed(f"Le Deployment `web` a {ready} réplicas prêts.", WEB)


def _spread_rule(web: dict) -> str | None:
    """How the template forces distinct nodes, or ``None``."""
    spec = pod_spec(web)
    labels = labels_of(web["spec"].get("template") or {})
    required = (((spec.get("affinity") or {}).get("podAntiAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or [])
    for term in required:
        if term.get("topologyKey") == HOSTNAME and matches_selector(labels, term.get("labelSelector")):
            return "une anti-affinité requise sur `kubernetes.io/hostname`"
    for constraint in spec.get("topologySpreadConstraints") or []:
        if (constraint.get("topologyKey") == HOSTNAME and constraint.get("maxSkew") == 1
                and constraint.get("whenUnsatisfiable") == "DoNotSchedule"
                and matches_selector(labels, constraint.get("labelSelector"))):
            return "une contrainte d'étalement `maxSkew: 1` en `DoNotSchedule` sur `kubernetes.io/hostname`"
    return None


@check("web-spread-required", title="Répartition imposée sur des nœuds distincts", category="fiabilité",
       course=COURSE, related=("kube-score:deployment-has-host-podantiaffinity",),
       hint="`podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution` avec `topologyKey: "
            "kubernetes.io/hostname`"
            " et un labelSelector qui choisit les pods de `web`, ou `topologySpreadConstraints` "
            "(`maxSkew: 1`, `whenUnsatisfiable: DoNotSchedule`).")
def spread_required(state: ClusterState) -> Verdict:
    web = _web(state)
    if web is None:
        return MISSING_WEB
    rule = _spread_rule(web)
    if rule is None:
        return failed("Les pods de `web` devraient être forcés sur des nœuds distincts par une anti-affinité requise "
                      "ou une contrainte d'étalement en DoNotSchedule sur `kubernetes.io/hostname` (trouvé : aucune "
                      "règle obligatoire qui sélectionne ces pods).", WEB)
    return passed(f"Le Deployment `web` impose des nœuds distincts par {rule}.", WEB)


@check("web-pods-distinct-nodes", title="Réplicas sur des nœuds tous différents", category="fiabilité",
       course=COURSE, hint="« kubectl get pods -o wide » : la colonne NODE doit montrer trois nœuds différents.")
def distinct_nodes(state: ClusterState) -> Verdict:
    web = _web(state)
    if web is None:
        return MISSING_WEB
    placed = [(name_of(p), p["spec"].get("nodeName")) for p in _web_pods(state) if is_ready(p)]
    nodes = {node for _, node in placed if node}
    if len(nodes) < MIN_REPLICAS or len(nodes) < len(placed):
        shown = ", ".join(f"{pod} → {node}" for pod, node in sorted(placed)) or "aucun pod prêt"
        return failed("Les pods prêts de `web` devraient être sur au moins 3 nœuds tous différents (trouvé : "
                      f"{shown}).",
                      WEB, pending=True)
    return passed(f"Les {len(placed)} pods prêts de `web` sont sur des nœuds tous différents : "
                  f"{listing(sorted(nodes))}.", WEB)


@check("web-probes", title="Sondes de disponibilité et de vivacité", category="fiabilité", course=COURSE,
       related=("polaris:readinessProbeMissing", "polaris:livenessProbeMissing",
                "kube-score:container-readiness-probe", "kube-linter:no-liveness-probe"),
       hint="Chaque conteneur de `web` : `readinessProbe` et `livenessProbe` (httpGet sur le port 80 pour nginx).")
def probes(state: ClusterState) -> Verdict:
    web = _web(state)
    if web is None:
        return MISSING_WEB
    missing = [f"{c.get('name')}.{probe}" for c in containers(web) for probe in ("readinessProbe", "livenessProbe")
               if not c.get(probe)]
    if missing:
        return failed(f"Chaque conteneur de `web` devrait avoir une readinessProbe et une livenessProbe "
                      f"(manquantes : {listing(missing)}).", WEB)
    return passed("Chaque conteneur de `web` a une readinessProbe et une livenessProbe.", WEB)


@check("web-rolling-update", title="Mise à jour sans perte de capacité", category="fiabilité", course=COURSE,
       hint="`strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}`.")
def rolling_update(state: ClusterState) -> Verdict:
    web = _web(state)
    if web is None:
        return MISSING_WEB
    strategy = web["spec"].get("strategy") or {}
    kind = strategy.get("type", "RollingUpdate")
    unavailable = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%")
    if kind != "RollingUpdate" or str(unavailable) not in ("0", "0%"):
        return failed(f"La stratégie de `web` devrait être RollingUpdate avec `maxUnavailable: 0` "
                      f"(trouvé : {kind}, maxUnavailable {unavailable}).", WEB)
    return passed("La stratégie de `web` est RollingUpdate avec `maxUnavailable: 0`.", WEB)


@check("web-service-endpoints", title="Le Service a des pods prêts", category="réseau", course=COURSE,
       hint="Le sélecteur du Service `web` doit reprendre les labels du template des pods.")
def service_endpoints(state: ClusterState) -> Verdict:
    ref = ObjectRef("Service", "web")
    if state.get("v1", "Service", "web") is None:
        return failed("Le Service `web` devrait exister (trouvé : aucun).", ref)
    slices = [s for s in state.objects("discovery.k8s.io/v1", "EndpointSlice")
              if labels_of(s).get("kubernetes.io/service-name") == "web"]
    ready = sum(1 for s in slices for e in s.get("endpoints") or [] if (e.get("conditions") or {}).get("ready"))
    if ready < MIN_REPLICAS:
        return failed(f"Le Service `web` devrait avoir au moins 3 pods prêts derrière lui (trouvé : {ready}).",
                      ref, pending=_web(state) is not None)
    return passed(f"Le Service `web` a {ready} pods prêts derrière lui.", ref)


@check("web-pdb", title="Un PodDisruptionBudget protège web", category="fiabilité", course=COURSE,
       related=("kube-score:deployment-has-poddisruptionbudget", "polaris:missingPodDisruptionBudget"),
       hint="Un PodDisruptionBudget `web-pdb` (policy/v1) avec `minAvailable: 2` ou `maxUnavailable: 1` et le "
            "sélecteur des pods de `web`.")
def pdb(state: ClusterState) -> Verdict:
    ref = ObjectRef("PodDisruptionBudget", "web-pdb")
    budget = state.get("policy/v1", "PodDisruptionBudget", "web-pdb")
    if budget is None:
        return failed("Le PodDisruptionBudget `web-pdb` devrait exister (trouvé : aucun).", ref)
    web = _web(state)
    template_labels = labels_of((web or {}).get("spec", {}).get("template") or {})
    spec = budget.get("spec") or {}
    if not template_labels or not matches_selector(template_labels, spec.get("selector")):
        return failed("Le sélecteur de `web-pdb` devrait choisir les pods de `web` (trouvé : il ne les choisit "
                      "pas).", ref)
    replicas = (web or {}).get("spec", {}).get("replicas", 1)
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    protects = (isinstance(min_available, int) and 2 <= min_available < replicas) or str(max_unavailable) == "1"
    if not protects:
        found = f"minAvailable {min_available}" if min_available is not None else f"maxUnavailable {max_unavailable}"
        return failed(f"`web-pdb` devrait garder au moins 2 pods tout en permettant une éviction : `minAvailable: 2` "
                      f"ou `maxUnavailable: 1` (trouvé : {found}, pour {replicas} réplicas).", ref)
    rule = f"minAvailable {min_available}" if min_available is not None else "maxUnavailable 1"
    return passed(f"`web-pdb` protège les pods de `web` ({rule}).", ref)


@check("nodes-schedulable", title="Aucun nœud laissé en SchedulingDisabled", category="exploitation", course=COURSE,
       hint="Après un drain, « kubectl uncordon <nœud> » remet le nœud en service.")
def nodes_schedulable(state: ClusterState) -> Verdict:
    cordoned = [name_of(n) for n in state.objects("v1", "Node", CLUSTER_SCOPE)
                if (n.get("spec") or {}).get("unschedulable")]
    if cordoned:
        return failed(f"Aucun nœud ne devrait rester en SchedulingDisabled (trouvé : {listing(cordoned)}).",
                      *(ObjectRef("Node", n) for n in cordoned))
    return passed("Tous les nœuds acceptent de nouveaux pods.")
