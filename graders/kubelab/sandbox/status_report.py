"""``microk8s status``, computed from the cluster's objects with MicroK8s's own rules.

dqlite roles: the first three control-plane nodes to join are voters, the next two
standby, the rest spare (with fewer than three, the first is the only voter). High
availability is formed with three voters or more. An addon is enabled when its marker
object exists.
"""

from __future__ import annotations

from typing import Any

import yaml

from kubelab.kube_api import KubeApi
from kubelab.microk8s import VOTERS, dqlite_roles
from kubelab.objects import is_ready
from kubelab.sandbox import profile
from kubelab.sandbox.addons import ADDONS
from kubelab.typography import french


def status(api: KubeApi, rbac: bool) -> dict[str, Any]:
    """The report as ``microk8s status --format yaml`` prints it."""
    nodes = api.list("v1", "Node")
    roles = dqlite_roles(nodes)
    voters = sum(1 for _, role in roles if role == "voter")
    addons = []
    for addon in ADDONS.values():
        if addon.always_enabled:
            enabled = True
        elif addon.name == "rbac":
            enabled = rbac
        elif addon.marker is None:  # nothing in the cluster would tell that it is on
            enabled = False
        else:
            api_version, kind, name, namespace = addon.marker
            enabled = api.get(api_version, kind, name, namespace) is not None
        addons.append({
            "name": addon.name,
            "repository": "core",
            "description": addon.description,
            "version": addon.version,
            "status": "enabled" if enabled else "disabled",
        })
    return {
        "microk8s": {"running": True},
        "high-availability": {
            "enabled": voters >= VOTERS,
            "nodes": [
                {"address": f"{profile.internal_ip(node)}:{profile.DQLITE_PORT}", "role": role}
                for node, role in roles
            ],
        },
        "addons": addons,
        # Not in MicroK8s's report: which of the sandbox's nodes are real and which simulated.
        "sandbox-nodes": [
            {"name": node["metadata"]["name"], "kind": "real" if is_real(node) else "simulated",
             "ready": is_ready(node)}
            for node in sorted(nodes, key=lambda n: n["metadata"]["name"])
        ],
    }


def is_real(node: dict[str, Any]) -> bool:
    """A node run by a real kubelet on this machine (``kubelab sandbox up --real-node``)."""
    labels = node.get("metadata", {}).get("labels", {}) or {}
    return labels.get("sandbox.kubelab.io/real-node") == "true"


def stopped() -> dict[str, Any]:
    return {"microk8s": {"running": False}}


def render_yaml(report: dict[str, Any]) -> str:
    return yaml.safe_dump(report, sort_keys=False, allow_unicode=True)


def render_text(report: dict[str, Any]) -> str:
    """The plain ``microk8s status`` layout."""
    if not report["microk8s"]["running"]:
        return "microk8s is not running. Use microk8s inspect for a deeper inspection.\n"
    ha = report["high-availability"]
    by_role = {role: [n["address"] for n in ha["nodes"] if n["role"] == role] for role in ("voter", "standby")}
    lines = [
        "microk8s is running",
        f"high-availability: {'yes' if ha['enabled'] else 'no'}",
        f"  datastore master nodes: {' '.join(by_role['voter']) or 'none'}",
        f"  datastore standby nodes: {' '.join(by_role['standby']) or 'none'}",
    ]
    kinds = {"real": "réel : kubelet, containerd, kube-router", "simulated": "simulé par kwok"}
    sandbox_nodes = report.get("sandbox-nodes", [])
    if sandbox_nodes:
        described = ", ".join(f"{n['name']} ({kinds[n['kind']]})" for n in sandbox_nodes)
        lines.append(french(f"nœuds du bac à sable : {described}"))
    lines.append("addons:")
    for state in ("enabled", "disabled"):
        lines.append(f"  {state}:")
        for addon in report["addons"]:
            if addon["status"] == state:
                lines.append(f"    {addon['name']:<20} # ({addon['repository']}) {addon['description']}")
    return "\n".join(lines) + "\n"
