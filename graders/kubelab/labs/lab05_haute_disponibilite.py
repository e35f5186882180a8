"""Lab 05 — Haute disponibilité.

Is the control plane highly available (three voters or more), and does the application
`web` survive the loss of a node: replicas on distinct nodes, probes on declared ports, a
rolling update that never goes below the PodDisruptionBudget and can complete on the
cluster's nodes (reasoned with the scheduler's rules in ``kubelab.scheduling``), an image
update that really went through, and a PodDisruptionBudget that protects it during a drain?

Each check's docstring quotes the sentence of the statement (``labs/05-haute-disponibilite/
README.md``) that it enforces.

The section below maps each bullet of « Ce qui est vérifié » (what the learner is told is graded)
to the checks that enforce it.

Statement → check:

- « Au moins trois nœuds, tous `Ready`, et un plan de contrôle hautement disponible » →
  ``ha-control-plane-nodes``, ``ha-formed``;
- « Le Deployment `web` a au moins 3 réplicas prêts » → ``web-replicas-ready``; « répartis sur des
  nœuds tous différents » → ``web-pods-distinct-nodes``; « grâce à une anti-affinité requise sur
  `kubernetes.io/hostname` ou à une contrainte d'étalement `maxSkew: 1` en `DoNotSchedule` » →
  ``web-spread-required``;
- « Chaque conteneur de `web` a une sonde de disponibilité et une sonde de vivacité, sur un port
  qu'il déclare » → ``web-probes``;
- « La stratégie est `RollingUpdate` et garde toujours au moins le minimum du PDB » →
  ``web-rolling-update``;
- « La mise à jour peut aller au bout sur les nœuds du cluster, d'après les règles du
  planificateur » → ``web-rollout-feasible``;
- « L'image de `web` a été changée et la mise à jour est allée au bout » → ``web-rollout-done``;
- « Le Service `web` sélectionne les pods de `web`, vise un port qu'ils déclarent et a des pods
  prêts derrière lui » → ``web-service-endpoints``;
- « Le PDB `web-pdb` (`policy/v1`) sélectionne les pods de `web` » → ``web-pdb``;
- « Après l'exercice, aucun nœud n'est laissé en `SchedulingDisabled` » → ``nodes-schedulable``.
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
from kubelab.objects import (
    containers,
    is_ready,
    labels_of,
    listing,
    matches_selector,
    name_of,
    owned_by,
    pod_spec,
    pod_template,
    pods_of,
    selects,
)
from kubelab.ports import declared_ports, target_of
from kubelab.scheduling import places, rollout_feasibility, scaled, strategy_of

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
    """« au moins trois nœuds du plan de contrôle, tous `Ready` »."""
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
    """« la haute disponibilité formée (`microk8s status` affiche `high-availability: yes` et trois nœuds dans
    `datastore master nodes`) »."""
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
    """« au moins 3 réplicas » (tableau des objets, et « Le Deployment `web` a au moins 3 réplicas prêts »)."""
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
    labels = labels_of(pod_template(web))
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


def _placement_found(web: dict) -> str:
    """What the template says about placement, for a failure message."""
    spec = pod_spec(web)
    anti = (spec.get("affinity") or {}).get("podAntiAffinity") or {}
    found = []
    if anti.get("preferredDuringSchedulingIgnoredDuringExecution"):
        found.append("une anti-affinité seulement préférée")
    for term in anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []:
        found.append(f"une anti-affinité requise sur `{term.get('topologyKey')}`")
    for constraint in spec.get("topologySpreadConstraints") or []:
        found.append(f"une contrainte d'étalement sur `{constraint.get('topologyKey')}` (maxSkew "
                     f"{constraint.get('maxSkew')}, {constraint.get('whenUnsatisfiable')})")
    return " ; ".join(found) + " qui ne force pas des nœuds distincts pour ces pods" if found else \
        "aucune règle de placement"


@check("web-spread-required", title="Répartition imposée sur des nœuds distincts", category="fiabilité",
       course=COURSE, related=("kube-score:deployment-has-host-podantiaffinity",),
       hint="`podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution` avec "
            "`topologyKey: kubernetes.io/hostname` et un labelSelector qui choisit les pods de `web`, ou "
            "`topologySpreadConstraints` (`maxSkew: 1`, `whenUnsatisfiable: DoNotSchedule`).")
def spread_required(state: ClusterState) -> Verdict:
    """« placés sur des nœuds distincts, au choix : […] une contrainte `topologySpreadConstraints` avec
    `topologyKey: kubernetes.io/hostname`, `maxSkew: 1` et `whenUnsatisfiable: DoNotSchedule` […] ou une
    anti-affinité de pods requise (`requiredDuringSchedulingIgnoredDuringExecution`) sur la clé
    `kubernetes.io/hostname` »."""
    web = _web(state)
    if web is None:
        return MISSING_WEB
    rule = _spread_rule(web)
    if rule is None:
        return failed("Les pods de `web` devraient être forcés sur des nœuds distincts par une anti-affinité requise "
                      "ou une contrainte d'étalement en DoNotSchedule sur `kubernetes.io/hostname` (trouvé : "
                      f"{_placement_found(web)}).", WEB)
    return passed(f"Le Deployment `web` impose des nœuds distincts par {rule}.", WEB)


@check("web-pods-distinct-nodes", title="Réplicas sur des nœuds tous différents", category="fiabilité",
       course=COURSE, hint="« kubectl get pods -o wide » : la colonne NODE doit montrer trois nœuds différents.")
def distinct_nodes(state: ClusterState) -> Verdict:
    """« au moins 3 réplicas, placés sur des nœuds distincts » (ce que montre `kubectl get pods -o wide` ; avec
    plus de réplicas que de nœuds, au plus un pod d'écart entre deux nœuds)."""
    web = _web(state)
    if web is None:
        return MISSING_WEB
    placed = [(name_of(p), p["spec"].get("nodeName")) for p in _web_pods(state) if is_ready(p)]
    nodes = {node for _, node in placed if node}
    candidates = set(places(web, state.objects("v1", "Node", CLUSTER_SCOPE)).nodes) | nodes
    per_node = [sum(1 for _, node in placed if node == name) for name in candidates]
    if len(nodes) < MIN_REPLICAS or max(per_node) - min(per_node) > 1:
        shown = ", ".join(f"{pod} → {node}" for pod, node in sorted(placed)) or "aucun pod prêt"
        return failed(f"Les pods prêts de `web` devraient être sur au moins 3 nœuds tous différents "
                      f"(trouvé : {shown}).", WEB, pending=True)
    return passed(f"Les {len(placed)} pods prêts de `web` sont répartis sur {len(nodes)} nœuds : "
                  f"{listing(sorted(nodes))}.", WEB)


PROBE_HANDLERS = ("httpGet", "tcpSocket", "grpc")


def _probe_port_problem(container: dict, kind: str) -> str | None:
    """Why a probe's port is not one the container declares (by number or name), or ``None``."""
    probe = container.get(kind) or {}
    handler = next((probe[h] for h in PROBE_HANDLERS if h in probe), None)
    if handler is None or "port" not in handler:
        return None
    port = handler["port"]
    numbers = {p.get("containerPort") for p in container.get("ports") or []}
    names = {p.get("name") for p in container.get("ports") or [] if p.get("name")}
    if (isinstance(port, int) and port in numbers) or port in names:
        return None
    declared = ", ".join(str(p.get("containerPort")) + (f" ({p['name']})" if p.get("name") else "")
                         for p in container.get("ports") or []) or "aucun"
    return f"`{container.get('name')}.{kind}` vise le port {port}, que le conteneur ne déclare pas (ports : {declared})"


@check("web-probes", title="Sondes de disponibilité et de vivacité", category="fiabilité", course=COURSE,
       related=("polaris:readinessProbeMissing", "polaris:livenessProbeMissing",
                "kube-score:container-readiness-probe", "kube-linter:no-liveness-probe"),
       hint="Chaque conteneur de `web` : `readinessProbe` et `livenessProbe`, sur un port déclaré dans `ports` "
            "(par son numéro ou son nom), par exemple `httpGet: {path: /, port: http}`.")
def probes(state: ClusterState) -> Verdict:
    """« une `readinessProbe` **et** une `livenessProbe`, chacune sur un port que le conteneur déclare dans
    `ports` »."""
    web = _web(state)
    if web is None:
        return MISSING_WEB
    missing = [f"{c.get('name')}.{probe}" for c in containers(web) for probe in ("readinessProbe", "livenessProbe")
               if not c.get(probe)]
    if missing:
        return failed(f"Chaque conteneur de `web` devrait avoir une readinessProbe et une livenessProbe "
                      f"(manquantes : {listing(missing)}).", WEB)
    wrong = [problem for c in containers(web) for kind in ("readinessProbe", "livenessProbe")
             if (problem := _probe_port_problem(c, kind)) is not None]
    if wrong:
        return failed(f"Les sondes de `web` devraient viser un port déclaré par leur conteneur (trouvé : "
                      f"{' ; '.join(wrong)}).", WEB)
    return passed("Chaque conteneur de `web` a une readinessProbe et une livenessProbe sur un port qu'il déclare.", WEB)


PDB_FLOOR = 2  # the statement's PodDisruptionBudget keeps at least two pods


def _pdb(state: ClusterState) -> dict | None:
    return state.get("policy/v1", "PodDisruptionBudget", "web-pdb")


def _pdb_min_available(budget: dict, replicas: int) -> int | None:
    """How many pods the PDB keeps for ``replicas`` (its ``desiredHealthy``), or ``None`` if it sets neither field."""
    spec = budget.get("spec") or {}
    if spec.get("minAvailable") is not None:
        return scaled(spec["minAvailable"], replicas, round_up=True)
    if spec.get("maxUnavailable") is not None:
        return replicas - scaled(spec["maxUnavailable"], replicas, round_up=True)
    return None


def _floor(state: ClusterState, web: dict) -> tuple[int, str]:
    """The fewest pods an update may leave available, and where that number comes from."""
    replicas = web["spec"].get("replicas", 1)
    budget = _pdb(state)
    kept = _pdb_min_available(budget, replicas) if budget is not None else None
    if kept is not None and kept >= PDB_FLOOR:
        return kept, f"le minimum de `web-pdb` ({kept} pods)"
    return PDB_FLOOR, f"le minimum de l'énoncé ({PDB_FLOOR} pods)"


@check("web-rolling-update", title="Une mise à jour qui ne descend jamais sous le PDB", category="fiabilité",
       course=COURSE,
       hint="`strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}` ; avec une "
            "anti-affinité requise, `maxSurge: 0` et `maxUnavailable: 1`, qui garde encore 2 pods sur 3.")
def rolling_update(state: ClusterState) -> Verdict:
    """« une stratégie `RollingUpdate` qui ne descend **jamais sous le minimum du PDB** »."""
    web = _web(state)
    if web is None:
        return MISSING_WEB
    strategy = strategy_of(web)
    floor, source = _floor(state, web)
    if strategy.kind != "RollingUpdate":
        return failed(f"La stratégie de `web` devrait être RollingUpdate (trouvé : {strategy.kind}, qui arrête "
                      "tous les pods avant d'en créer).", WEB)
    if strategy.floor < floor:
        return failed(f"La mise à jour de `web` devrait garder au moins {floor} pods disponibles, {source} "
                      f"(trouvé : {strategy.describe()}, {strategy.floor} disponible(s) au plus bas).", WEB)
    return passed(f"La mise à jour de `web` garde au moins {strategy.floor} pods disponibles ({strategy.describe()}), "
                  f"pas moins que {source}.", WEB)


@check("web-rollout-feasible", title="Une mise à jour qui peut aller au bout sur ce cluster", category="fiabilité",
       course=COURSE,
       hint="Avec autant de réplicas que de nœuds, l'anti-affinité requise laisse une seule place par nœud : le pod "
            "supplémentaire de `maxSurge` n'a nulle part où aller. Prenez `maxSurge: 0` et `maxUnavailable: 1`, ou "
            "une contrainte d'étalement `maxSkew: 1`, qui admet deux pods sur un nœud le temps de la mise à jour.")
def rollout_feasible(state: ClusterState) -> Verdict:
    """« une stratégie `RollingUpdate` […] qui peut **aller au bout sur les nœuds du cluster** » (raisonné avec les
    règles du planificateur : nœuds, anti-affinité, étalement, `hostPort`, `maxSurge`, `maxUnavailable`)."""
    web = _web(state)
    if web is None:
        return MISSING_WEB
    feasibility = rollout_feasibility(web, state.objects("v1", "Node", CLUSTER_SCOPE))
    if not feasibility.possible:
        return failed(f"La mise à jour de `web` devrait pouvoir aller au bout sur ce cluster (trouvé : "
                      f"{feasibility.reason}).", WEB)
    return passed(f"La mise à jour de `web` peut aller au bout sur ce cluster : {feasibility.reason}.", WEB)


REVISION = "deployment.kubernetes.io/revision"


def _revision(replica_set: dict) -> int:
    value = (replica_set.get("metadata", {}).get("annotations") or {}).get(REVISION, "0")
    return int(value) if str(value).isdigit() else 0


def _images(obj: dict) -> tuple[str, ...]:
    return tuple(c.get("image", "") for c in containers(obj))


def _waiting_pod(state: ClusterState) -> str:
    """`` ; le pod `x` attend un nœud : <scheduler's message>`` for an unscheduled pod of web, else ``""``."""
    for pod in _web_pods(state):
        for condition in (pod.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
                return f" ; le pod `{name_of(pod)}` attend un nœud : {condition.get('message', '?')}"
    return ""


@check("web-rollout-done", title="La mise à jour de l'image est allée au bout", category="exploitation",
       course=COURSE,
       hint="« kubectl set image deployment/web nginx=nginx:1.29-alpine -n lab-ha », puis « kubectl rollout status "
            "deployment/web -n lab-ha » jusqu'à « successfully rolled out ».")
def rollout_done(state: ClusterState) -> Verdict:
    """« Changez l'image de `web` » et « `kubectl rollout status deployment/web -n lab-ha` doit finir par
    `successfully rolled out` » (partie 4)."""
    web = _web(state)
    if web is None:
        return MISSING_WEB
    owned = [rs for rs in state.objects("apps/v1", "ReplicaSet") if owned_by(rs, web)]
    target = _images(web)
    older = sorted((rs for rs in owned if _images(rs) != target), key=_revision)
    spec, status = web.get("spec") or {}, web.get("status") or {}
    observed = status.get("observedGeneration", 0) >= web["metadata"].get("generation", 0)
    if not older:
        revision = max((_revision(rs) for rs in owned), default=0)
        return failed(f"L'image de `web` devrait avoir été changée (partie 4), puis déployée (trouvé : révision "
                      f"{revision}, images {listing(target) or 'aucune'} depuis la création).", WEB,
                      pending=not observed)
    before, after = listing(_images(older[-1])), listing(target)
    wanted = spec.get("replicas", 1)
    progressing: dict[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == "Progressing"), {})
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return failed(f"La mise à jour de `web` ({before} → {after}) devrait aller au bout (trouvé : abandonnée "
                      f"après progressDeadlineSeconds : {progressing.get('message', '')}{_waiting_pod(state)}).", WEB)
    updated, available, total = (status.get(k, 0) for k in ("updatedReplicas", "availableReplicas", "replicas"))
    if not observed or updated < wanted or available < wanted or total > wanted:
        return failed(f"La mise à jour de `web` ({before} → {after}) devrait aller au bout (trouvé : {updated} pod(s) "
                      f"à jour sur {wanted}, {available} disponible(s), {total} au total{_waiting_pod(state)}).",
                      WEB, pending=True)
    return passed(f"La mise à jour de `web` ({before} → {after}) est allée au bout : {updated} pods à jour et "
                  "disponibles.", WEB)


def _service_port_problem(service: dict, web: dict) -> str | None:
    """Why no port of the Service reaches a port the pods of web declare, or ``None``."""
    numbers, names = declared_ports(web)
    ports = (service.get("spec") or {}).get("ports") or []
    targets = [target_of(p) for p in ports]
    if any((isinstance(t, int) and t in numbers) or t in names for t in targets):
        return None
    declared = ", ".join(map(str, sorted(numbers))) or "aucun"
    return (f"le Service vise le port {', '.join(map(str, targets)) or 'aucun'}, que les conteneurs de `web` ne "
            f"déclarent pas (ports déclarés : {declared})")


@check("web-service-endpoints", title="Le Service a des pods prêts", category="réseau", course=COURSE,
       hint="Le sélecteur du Service `web` doit reprendre les labels du template des pods, et son `targetPort` un "
            "port que le conteneur déclare (numéro ou nom).")
def service_endpoints(state: ClusterState) -> Verdict:
    """« | Service | `web` | sélectionne les pods de `web` | », « Le Service `web` envoie vers un port que les pods
    déclarent » et « vérifiez que le Service garde des pods prêts »."""
    ref = ObjectRef("Service", "web")
    service = state.get("v1", "Service", "web")
    if service is None:
        return failed("Le Service `web` devrait exister (trouvé : aucun).", ref)
    web = _web(state)
    selector = (service.get("spec") or {}).get("selector") or {}
    if web is not None:
        template_labels = labels_of(pod_template(web))
        if not selects(selector, template_labels):
            shown = ", ".join(f"{k}={v}" for k, v in sorted(selector.items())) or "aucun"
            labels = ", ".join(f"{k}={v}" for k, v in sorted(template_labels.items())) or "aucun"
            return failed(f"Le Service `web` devrait sélectionner les pods de `web` (trouvé : sélecteur {shown}, "
                          f"labels des pods {labels}).", ref)
        if (problem := _service_port_problem(service, web)) is not None:
            return failed(f"Le Service `web` devrait envoyer vers un port des pods de `web` (trouvé : {problem}).", ref)
    slices = [s for s in state.objects("discovery.k8s.io/v1", "EndpointSlice")
              if labels_of(s).get("kubernetes.io/service-name") == "web"]
    ready = sum(1 for s in slices for e in s.get("endpoints") or [] if (e.get("conditions") or {}).get("ready"))
    if ready == 0:
        return failed("Le Service `web` devrait avoir des pods prêts derrière lui (trouvé : aucun).",
                      ref, pending=web is not None)
    return passed(f"Le Service `web` a {ready} pod(s) prêt(s) derrière lui.", ref)


@check("web-pdb", title="Un PodDisruptionBudget protège web", category="fiabilité", course=COURSE,
       related=("kube-score:deployment-has-poddisruptionbudget", "polaris:missingPodDisruptionBudget"),
       hint="Un PodDisruptionBudget `web-pdb` (policy/v1) avec `minAvailable: 2` ou `maxUnavailable: 1` et le "
            "sélecteur des pods de `web`.")
def pdb(state: ClusterState) -> Verdict:
    """« | PodDisruptionBudget | `web-pdb` | `minAvailable: 2` **ou** `maxUnavailable: 1`, sélectionne les pods de
    `web` | » (« un pourcentage équivalent compte », lu comme le contrôleur de disruption le lit)."""
    ref = ObjectRef("PodDisruptionBudget", "web-pdb")
    budget = _pdb(state)
    if budget is None:
        return failed("Le PodDisruptionBudget `web-pdb` devrait exister (trouvé : aucun).", ref)
    web = _web(state)
    template_labels = labels_of(pod_template(web or {}))
    spec = budget.get("spec") or {}
    if not template_labels or not matches_selector(template_labels, spec.get("selector")):
        return failed("Le sélecteur de `web-pdb` devrait choisir les pods de `web` (trouvé : il ne les choisit pas).",
                      ref)
    replicas = (web or {}).get("spec", {}).get("replicas", 1)
    kept = _pdb_min_available(budget, replicas)
    field = "minAvailable" if spec.get("minAvailable") is not None else "maxUnavailable"
    found = f"{field} {spec.get(field)}" if kept is not None else "ni minAvailable ni maxUnavailable"
    if kept is None or kept < PDB_FLOOR or kept >= replicas:
        return failed(f"`web-pdb` devrait garder au moins 2 pods tout en permettant une éviction : `minAvailable: 2` "
                      f"ou `maxUnavailable: 1` (trouvé : {found}, pour {replicas} réplicas).", ref)
    return passed(f"`web-pdb` protège les pods de `web` ({found} : {kept} pods gardés sur {replicas}).", ref)


@check("nodes-schedulable", title="Aucun nœud laissé en SchedulingDisabled", category="exploitation", course=COURSE,
       hint="Après un drain, « kubectl uncordon <nœud> » remet le nœud en service.")
def nodes_schedulable(state: ClusterState) -> Verdict:
    """« Remettez le nœud en service : `kubectl uncordon <nœud>` » (« aucun nœud n'est laissé en
    `SchedulingDisabled` »)."""
    cordoned = [name_of(n) for n in state.objects("v1", "Node", CLUSTER_SCOPE)
                if (n.get("spec") or {}).get("unschedulable")]
    if cordoned:
        return failed(f"Aucun nœud ne devrait rester en SchedulingDisabled (trouvé : {listing(cordoned)}).",
                      *(ObjectRef("Node", n) for n in cordoned))
    return passed("Tous les nœuds acceptent de nouveaux pods.")
