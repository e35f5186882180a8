"""Unit tests of ``kubelab.scheduling``: can a Deployment's rolling update complete on these nodes?

Driven by a table of cases; the same rules are proven end to end, with the real scheduler,
in tests/labs/test_lab05_exercises.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.scheduling import rollout_feasibility, scaled, strategy_of

Obj = dict[str, Any]


def _node(name: str, ready: bool = True, taints: list[Obj] | None = None, labels: dict[str, str] | None = None) -> Obj:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "spec": {"taints": taints or []},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


ANTI = {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "web"}}}]}}}
SPREAD = {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                         "whenUnsatisfiable": "DoNotSchedule",
                                         "labelSelector": {"matchLabels": {"app": "web"}}}]}
HOST_PORT = {"containers": [{"name": "web", "ports": [{"containerPort": 80, "hostPort": 80}]}]}
TAINT = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}


def _deployment(replicas: int, surge: object, unavailable: object, pod: Obj, kind: str = "RollingUpdate") -> Obj:
    strategy: Obj = {"type": kind}
    if kind == "RollingUpdate":
        strategy["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    spec = {"containers": [{"name": "web"}], **pod}
    return {"kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "strategy": strategy,
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": spec}}}


THREE = [_node("a"), _node("b"), _node("c")]


@pytest.mark.parametrize(("replicas", "surge", "unavailable", "pod", "nodes", "possible", "fragment"), [
    (3, 1, 0, ANTI, THREE, False, "le pod supplémentaire (`maxSurge: 1`) n'a aucune place"),
    (3, 0, 1, ANTI, THREE, True, "`maxUnavailable: 1` libère une place"),
    (3, 1, 1, ANTI, THREE, True, "libère une place"),
    (2, 1, 0, ANTI, THREE, True, "2 réplicas laissent la place"),
    (4, 0, 1, ANTI, THREE, False, "4 réplicas n'y tiennent même pas"),
    (3, "25%", "25%", ANTI, THREE, False, "`maxUnavailable: 0`"),  # 25 % of 3: surge 1 (up), unavailable 0 (down)
    (3, "50%", "50%", ANTI, THREE, True, "libère une place"),
    (3, 1, 0, SPREAD, THREE, True, "rien ne limite"),
    (3, 1, 0, SPREAD, [*THREE, _node("d", taints=[TAINT])], False, "un nœud compté qui ne prend aucun pod"),
    (3, 1, 0, HOST_PORT, THREE, False, "le `hostPort` 80"),
    (3, 1, 0, ANTI, [*THREE, _node("d", ready=False)], False, "3 pod(s) sur 3 nœud(s)"),
    (3, 1, 0, ANTI, [*THREE, _node("d", taints=[TAINT])], False, "3 pod(s) sur 3 nœud(s)"),
    (3, 1, 0, {**ANTI, "tolerations": [{"key": "dedicated", "operator": "Exists"}]},
     [*THREE, _node("d", taints=[TAINT])], True, "4 pod(s) sur 4 nœud(s)"),
    (3, 1, 0, {**ANTI, "nodeSelector": {"disk": "ssd"}},
     [_node(n, labels={"disk": "ssd"}) for n in "abcd"], True, "4 nœud(s)"),
    (3, 1, 0, ANTI, [*THREE, _node("d", taints=[{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}])],
     True, "4 nœud(s)"),  # a cordon is temporary: the node still counts
    (3, None, None, {}, THREE, True, "la stratégie Recreate"),
])
def test_rollout_feasibility(replicas: int, surge: object, unavailable: object, pod: Obj, nodes: list[Obj],
                             possible: bool, fragment: str) -> None:
    """Does the verdict follow the scheduler's rules (anti-affinity, spread, hostPort, taints, rounding)?"""
    kind = "Recreate" if surge is None else "RollingUpdate"
    verdict = rollout_feasibility(_deployment(replicas, surge, unavailable, pod, kind), nodes)
    assert (verdict.possible, fragment in verdict.reason) == (possible, True), verdict.reason


@pytest.mark.parametrize(("value", "total", "up", "expected"), [
    (1, 3, True, 1), ("25%", 3, True, 1), ("25%", 3, False, 0), ("67%", 3, False, 2), ("0%", 3, True, 0),
    (None, 4, True, 1), (None, 4, False, 1),
])
def test_int_or_percent_is_rounded_like_the_controller(value: object, total: int, up: bool, expected: int) -> None:
    """Is maxSurge rounded up and maxUnavailable down, with 25 % by default?"""
    assert scaled(value, total, round_up=up) == expected  # type: ignore[arg-type]


def test_strategy_defaults_to_a_rolling_update_of_a_quarter() -> None:
    """An unset strategy is RollingUpdate 25 %/25 %, as the API server defaults it."""
    strategy = strategy_of({"spec": {"replicas": 4}})
    assert (strategy.kind, strategy.max_surge, strategy.max_unavailable, strategy.floor) == ("RollingUpdate", 1, 1, 3)
