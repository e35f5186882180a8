"""What the scheduler and the Deployment controller allow, reasoned from objects (no cluster).

Used to tell, before anything hangs, whether a Deployment's rolling update can complete on
the cluster's nodes. The rules are the scheduler's own:

- a node is a candidate when it is Ready, its labels fit the pod's ``nodeSelector`` and
  required ``nodeAffinity``, and the pod tolerates its ``NoSchedule``/``NoExecute`` taints
  (a cordon is left out: it is temporary, and reported apart);
- a required pod anti-affinity on ``kubernetes.io/hostname`` that selects the pod's own labels,
  or a ``hostPort``, allows one such pod per node (``InterPodAffinity``, ``NodePorts``);
- a ``topologySpreadConstraints`` in ``DoNotSchedule`` on the hostname never blocks while every
  counted node can take pods (a pod can always go to the least loaded one); when some counted
  node cannot (a taint, which ``nodeTaintsPolicy: Ignore`` still counts), that node stays at 0
  and every other node takes at most ``maxSkew`` pods;
- a rolling update (``maxSurge`` rounded up, ``maxUnavailable`` rounded down, 25 % by default)
  with ``maxUnavailable: 0`` must place a new pod before it removes an old one: it hangs when
  the replicas already fill every place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from kubelab.objects import is_ready, labels_of, matches_selector, name_of, pod_spec, pod_template

Obj = dict[str, Any]

HOSTNAME = "kubernetes.io/hostname"
CORDON_TAINT = "node.kubernetes.io/unschedulable"
BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")


def scaled(value: int | str | None, total: int, round_up: bool, default: str = "25%") -> int:
    """An ``int-or-percent`` field of a rolling update resolved against ``total`` replicas."""
    raw = default if value is None else value
    if isinstance(raw, int):
        return raw
    text = str(raw).strip()
    if text.endswith("%"):
        share = float(text[:-1] or 0) * total / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(text) if text.isdigit() else 0


@dataclass(frozen=True)
class Strategy:
    """A Deployment's update strategy, resolved to pod counts."""

    kind: str
    replicas: int
    max_surge: int
    max_unavailable: int

    @property
    def floor(self) -> int:
        """The fewest available pods a rolling update keeps."""
        return self.replicas - self.max_unavailable if self.kind == "RollingUpdate" else 0

    def describe(self) -> str:
        if self.kind != "RollingUpdate":
            return f"{self.kind}, {self.replicas} réplicas"
        return f"{self.replicas} réplicas, maxSurge {self.max_surge}, maxUnavailable {self.max_unavailable}"


def strategy_of(deployment: Obj) -> Strategy:
    spec = deployment.get("spec") or {}
    replicas = spec.get("replicas", 1)
    strategy = spec.get("strategy") or {}
    kind = strategy.get("type", "RollingUpdate")
    rolling = strategy.get("rollingUpdate") or {}
    surge = scaled(rolling.get("maxSurge"), replicas, round_up=True)
    unavailable = scaled(rolling.get("maxUnavailable"), replicas, round_up=False)
    if kind == "RollingUpdate" and surge == 0 and unavailable == 0:
        unavailable = 1  # the controller's own fallback (deploymentutil.ResolveFenceposts)
    return Strategy(kind, replicas, surge, unavailable)


def _node_term_matches(node: Obj, term: Obj) -> bool:
    labels = labels_of(node)
    for expression in term.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator in ("Gt", "Lt"):
            try:
                found, bound = int(labels.get(key, "")), int(values[0])
            except (ValueError, IndexError):
                return False
            if not (found > bound if operator == "Gt" else found < bound):
                return False
        elif not matches_selector(labels, {"matchExpressions": [expression]}):
            return False
    for expression in term.get("matchFields") or []:
        if expression.get("key") == "metadata.name":
            inside = name_of(node) in (expression.get("values") or [])
            if inside != (expression.get("operator") == "In"):
                return False
    return True


def fits_node(spec: Obj, node: Obj) -> bool:
    """Whether a pod spec's ``nodeSelector`` and required ``nodeAffinity`` accept the node."""
    labels = labels_of(node)
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = ((((spec.get("affinity") or {}).get("nodeAffinity") or {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution")) or {})
    terms = required.get("nodeSelectorTerms") or []
    return not terms or any(_node_term_matches(node, term) for term in terms)


def _tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    for toleration in tolerations:
        if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
            continue
        if toleration.get("operator") == "Exists":
            if not toleration.get("key") or toleration.get("key") == taint.get("key"):
                return True
        elif toleration.get("key") == taint.get("key") and toleration.get("value", "") == taint.get("value", ""):
            return True
    return False


def tolerates_node(spec: Obj, node: Obj) -> bool:
    """Whether the pod tolerates every blocking taint of the node (a cordon aside)."""
    tolerations = spec.get("tolerations") or []
    return all(_tolerates(tolerations, taint) for taint in (node.get("spec") or {}).get("taints") or []
               if taint.get("effect") in BLOCKING_EFFECTS and taint.get("key") != CORDON_TAINT)


@dataclass(frozen=True)
class Places:
    """Where a workload's pods can go: candidate nodes and the most pods the rules allow."""

    nodes: tuple[str, ...]
    limit: int | None  # None: no rule caps the number of pods
    rule: str  # why there is a cap, in French ("" when none)


def _own_anti_affinity(spec: Obj, labels: dict[str, str]) -> bool:
    terms = ((((spec.get("affinity") or {}).get("podAntiAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution")) or [])
    return any(t.get("topologyKey") == HOSTNAME and matches_selector(labels, t.get("labelSelector")) for t in terms)


def _host_ports(spec: Obj) -> list[int]:
    return [p["hostPort"] for c in spec.get("containers") or [] for p in c.get("ports") or [] if p.get("hostPort")]


def places(workload: Obj, nodes: list[Obj]) -> Places:
    """The candidate nodes of a workload's pods and the cap its placement rules put on them."""
    template = pod_template(workload)
    spec, labels = pod_spec(workload), labels_of(template)
    ready = [n for n in nodes if is_ready(n)]
    counted = [n for n in ready if fits_node(spec, n)]
    candidates = tuple(name_of(n) for n in counted if tolerates_node(spec, n))
    if _own_anti_affinity(spec, labels):
        return Places(candidates, len(candidates), "l'anti-affinité requise sur `kubernetes.io/hostname`")
    if ports := _host_ports(spec):
        return Places(candidates, len(candidates), f"le `hostPort` {ports[0]}")
    for constraint in spec.get("topologySpreadConstraints") or []:
        if (constraint.get("topologyKey") == HOSTNAME and constraint.get("whenUnsatisfiable") == "DoNotSchedule"
                and matches_selector(labels, constraint.get("labelSelector"))):
            honor = constraint.get("nodeTaintsPolicy") == "Honor"
            domains = len(candidates) if honor else len(counted)
            if domains > len(candidates):
                skew = int(constraint.get("maxSkew", 1))
                return Places(candidates, skew * len(candidates),
                              f"la contrainte d'étalement (`maxSkew: {skew}`, un nœud compté qui ne prend aucun pod)")
    return Places(candidates, None, "")


@dataclass(frozen=True)
class Feasibility:
    """Whether a rolling update can complete, and why not."""

    possible: bool
    reason: str


def rollout_feasibility(deployment: Obj, nodes: list[Obj]) -> Feasibility:
    """Can the Deployment's update complete on these nodes? (``reason`` explains, in French)."""
    strategy = strategy_of(deployment)
    where = places(deployment, nodes)
    count = len(where.nodes)
    if strategy.kind != "RollingUpdate":
        return Feasibility(True, f"la stratégie {strategy.kind} arrête tous les pods avant d'en créer")
    if where.limit is None:
        return Feasibility(count > 0, f"rien ne limite le nombre de pods par nœud ({count} nœud(s) candidat(s))"
                           if count else "aucun nœud prêt n'accepte ces pods")
    room = f"{where.rule} limite `{name_of(deployment)}` à {where.limit} pod(s) sur {count} nœud(s)"
    if strategy.replicas > where.limit:
        return Feasibility(False, f"{room} : {strategy.replicas} réplicas n'y tiennent même pas avant la mise à jour")
    if strategy.replicas == where.limit and strategy.max_unavailable == 0:
        return Feasibility(False, f"{room} ; avec {strategy.replicas} réplicas et `maxUnavailable: 0`, le pod "
                                  f"supplémentaire (`maxSurge: {strategy.max_surge}`) n'a aucune place, et aucun "
                                  "ancien pod ne part avant qu'il soit prêt : la mise à jour reste bloquée")
    if strategy.replicas == where.limit:
        return Feasibility(True, f"{room} ; `maxUnavailable: {strategy.max_unavailable}` libère une place avant "
                                 "chaque nouveau pod")
    return Feasibility(True, f"{room} ; {strategy.replicas} réplicas laissent la place du pod supplémentaire "
                             f"(`maxSurge: {strategy.max_surge}`)")
