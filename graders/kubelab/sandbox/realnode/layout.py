"""Where the real node lives on the host: folders, interface names, addresses, the lock.

One real node per machine: its names and folders are fixed, so that ``down`` (or the next
``up`` after a crash) finds everything a previous run left, even without its journal.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

NODE_ROOT = Path(os.environ.get("KUBELAB_NODE_ROOT", "/var/lib/kubelab-node"))
NODE_RUN = Path(os.environ.get("KUBELAB_NODE_RUN", "/run/kubelab-node"))
LOCK_FILE = Path("/run/kubelab-node.lock")
JOURNAL = NODE_RUN / "journal.json"

HOST_LINK = "kubelab0"  # portless bridge carrying the node's address (and the API server's)
POD_BRIDGE = "kubelab-cni0"  # the CNI bridge of the node's pods
CNI_NETWORK = "kubelab"
ROUTE_TABLE = 4343  # policy-routing table of traffic coming from pods: local or dropped
RULE_PRIORITY = 4343
CGROUP_ROOT = "kubelab-node"  # kubelet --cgroup-root: every pod cgroup lives below it

NODE_ADDRESS_RANGE = "10.10.0.0/24"  # the sandbox's node addresses (simulated ones included)
BLACKHOLES = ("10.1.0.0/16", "10.152.183.0/24", NODE_ADDRESS_RANGE)  # never leave the machine

# Folders outside NODE_ROOT that the node's components write into without a setting to move them.
SHARED_FOLDERS = (Path("/var/lib/cni"), Path("/var/log/containers"), Path("/run/containerd"))

# iptables chains and ipsets the node's components create (kubelet, kube-proxy, kube-router, CNI).
CHAIN_PREFIXES = ("KUBE-", "CNI-", "KUBELAB-")


@dataclass(frozen=True)
class NodeNetwork:
    """The addresses of the real node, from its slot in the sandbox."""

    node_ip: str
    pod_cidr: str

    @property
    def pod_gateway(self) -> str:
        return str(next(ipaddress.ip_network(self.pod_cidr).hosts()))


def folder(name: str) -> Path:
    """A folder of the node under NODE_ROOT (containerd, kubelet, cni, storage...)."""
    return NODE_ROOT / name


def run_folder(name: str) -> Path:
    return NODE_RUN / name


def containerd_socket() -> Path:
    return NODE_RUN / "containerd" / "containerd.sock"


def storage_folder() -> Path:
    """Where the hostpath provisioner puts the real node's volumes."""
    return NODE_ROOT / "default-storage"


def owned_path(path: str) -> bool:
    """Whether ``path`` lies under one of the node's own folders."""
    return any(path == str(base) or path.startswith(f"{base}/") for base in (NODE_ROOT, NODE_RUN))
