"""What makes the sandbox look like MicroK8s: node names, labels, capacity, addresses."""

from __future__ import annotations

from typing import Any

from kubelab.sandbox import versions

CONTROL_PLANE_LABELS = {
    "microk8s.io/cluster": "true",
    "node.kubernetes.io/microk8s-controlplane": "microk8s-controlplane",
}
WORKER_LABELS = {"node.kubernetes.io/microk8s-worker": "microk8s-worker"}
KWOK_ANNOTATION = {"kwok.x-k8s.io/node": "fake"}
POD_CIDR = "10.1.0.0/16"
SERVICE_CIDR = "10.152.183.0/24"
DNS_SERVICE_IP = "10.152.183.10"
DQLITE_PORT = 19001
CAPACITY = {"cpu": "4", "memory": "8141820Ki", "pods": "110", "ephemeral-storage": "40973332Ki"}


def node_name(index: int, worker: bool) -> str:
    return f"worker-{index}" if worker else f"node-{index}"


def node_ip(slot: int) -> str:
    """The node's InternalIP; ``slot`` is unique per node of a sandbox."""
    return f"10.10.0.{10 + slot}"


def node_manifest(name: str, slot: int, worker: bool) -> dict[str, Any]:
    """A Node as MicroK8s registers it, managed by kwok."""
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        **(WORKER_LABELS if worker else CONTROL_PLANE_LABELS),
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {**KWOK_ANNOTATION, "node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"podCIDR": f"10.1.{slot}.0/24", "podCIDRs": [f"10.1.{slot}.0/24"]},
        "status": {
            "capacity": dict(CAPACITY),
            "allocatable": dict(CAPACITY),
            "addresses": [
                {"type": "InternalIP", "address": node_ip(slot)},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "osImage": versions.MICROK8S_OS_IMAGE,
                "kernelVersion": versions.MICROK8S_KERNEL,
                "containerRuntimeVersion": versions.CONTAINERD_VERSION,
                "kubeletVersion": versions.KUBERNETES_VERSION,
                "kubeProxyVersion": "",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
            },
        },
    }


def internal_ip(node: dict[str, Any]) -> str:
    for address in node.get("status", {}).get("addresses", []) or []:
        if address.get("type") == "InternalIP":
            return str(address.get("address"))
    return "127.0.0.1"
