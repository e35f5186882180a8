"""MicroK8s's own rules, shared by the graders and the sandbox that imitates it.

Which nodes are in the control plane (the ``microk8s.io/cluster`` label, no worker label)
and which dqlite role each one holds: the first three to join vote, the next two stand by,
the others are spares; with fewer than three, only the first votes.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

VOTERS = 3
STANDBYS = 2
CLUSTER_LABEL = "microk8s.io/cluster"
WORKER_LABEL = "node.kubernetes.io/microk8s-worker"


def is_control_plane(node: Obj) -> bool:
    """A node of MicroK8s's control plane (``microk8s join`` without ``--worker``)."""
    labels = node.get("metadata", {}).get("labels", {}) or {}
    return labels.get(CLUSTER_LABEL) == "true" and WORKER_LABEL not in labels


def dqlite_roles(nodes: list[Obj]) -> list[tuple[Obj, str]]:
    """Control-plane nodes in join order, each with its dqlite role."""
    members = sorted(
        (node for node in nodes if is_control_plane(node)),
        key=lambda n: (n["metadata"].get("creationTimestamp", ""), n["metadata"]["name"]),
    )
    voters = VOTERS if len(members) >= VOTERS else 1
    roles = []
    for index, node in enumerate(members):
        role = "voter" if index < voters else "standby" if index < voters + STANDBYS else "spare"
        roles.append((node, role))
    return roles
