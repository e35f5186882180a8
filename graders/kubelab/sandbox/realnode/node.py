"""Start the real node's processes beside the sandbox's control plane.

The sandbox calls ``prepare_host`` before its API server starts (the API server serves on the
node's address, so that pods reach it through the ``kubernetes`` Service), then ``start``
once the API answers: the local image registry, containerd, the Node object, the kubelet,
kube-proxy and kube-router. ``teardown.teardown`` undoes it all.
"""

from __future__ import annotations

import base64
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubelab.errors import InfrastructureError
from kubelab.kube_api import KubeApi
from kubelab.sandbox import processes
from kubelab.sandbox.pki import Pki, issue_client
from kubelab.sandbox.realnode import components, containerd, host_network, layout

Progress = Callable[[str], None]
START_TIMEOUT = 60.0

# Client identities of the node's components: stem -> (common name, organisation).
IDENTITIES: dict[str, tuple[str, str | None]] = {
    "kube-proxy": ("system:kube-proxy", None),
    "kube-router": ("kube-router", "system:masters"),
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
}


@dataclass(frozen=True)
class NodeExecutables:
    """Everything the node runs; binaries come from the sandbox's builds."""

    kubelet: Path
    kube_proxy: Path
    kube_router: Path
    image_store: Path  # the OCI store the local registry serves


def network_for_slot(slot: int) -> layout.NodeNetwork:
    from kubelab.sandbox import profile

    return layout.NodeNetwork(node_ip=profile.node_ip(slot), pod_cidr=f"10.1.{slot}.0/24")


def prepare_host(network: layout.NodeNetwork) -> None:
    """Journal the host, then create the node's interfaces and routes (before the API server)."""
    host_network.prepare(network)
    layout.NODE_ROOT.mkdir(parents=True, exist_ok=True)


def issue_identities(pki: Pki, node_name: str) -> None:
    for stem, (common_name, organisation) in IDENTITIES.items():
        issue_client(pki, stem, common_name, organisation)
    issue_client(pki, "kubelet", f"system:node:{node_name}", "system:nodes")


def start(api: KubeApi, pki: Pki, server: str, node_name: str, network: layout.NodeNetwork,
          executables: NodeExecutables, logs: Path, pids: dict[str, int]) -> None:
    """Start registry, containerd, kubelet, kube-proxy, kube-router; record their PIDs in ``pids``."""
    work = layout.folder("config")
    work.mkdir(parents=True, exist_ok=True)
    kubeconfigs = {stem: _kubeconfig(pki, server, stem, work) for stem in ("kubelet", "kube-proxy", "kube-router")}
    registry = f"127.0.0.1:{processes.free_port()}"
    store = layout.run_folder("image-store")  # a link under the node's folder marks the process as the node's
    store.unlink(missing_ok=True)
    store.symlink_to(executables.image_store)
    pids["registry"] = processes.spawn("registry", [
        sys.executable, "-m", "kubelab.sandbox.images.registry", "--store", str(store), "--listen", registry], logs)
    processes.wait_until(lambda: processes.http_ok(f"http://{registry}/v2/"), START_TIMEOUT,
                         "le registre d'images local", logs / "registry.log")
    config = containerd.write_config(registry)
    pids["containerd"] = processes.spawn("containerd", containerd.argv(config), logs,
                                         env={**os.environ, **containerd.environment()})
    processes.wait_until(lambda: _socket_answers(layout.containerd_socket()), START_TIMEOUT,
                         "containerd", logs / "containerd.log")
    components.write_cni_config(network)
    if api.get("v1", "Node", node_name) is None:
        api.create(components.node_manifest(node_name, network))
    create_cgroup_root()
    resolv_conf = work / "resolv.conf"
    resolv_conf.write_text(f"nameserver {network.node_ip}\n")
    kubelet_config = components.write_yaml(work / "kubelet-config.yaml",
                                           components.kubelet_config(network, pki.ca_cert, resolv_conf))
    pids["kubelet"] = processes.spawn("kubelet", components.kubelet_argv(
        executables.kubelet, node_name, network, kubelet_config, kubeconfigs["kubelet"]), logs)
    ports = {name: processes.free_port() for name in ("kube-proxy-metrics", "kube-proxy-healthz")}
    pids["kube-proxy"] = processes.spawn("kube-proxy", components.kube_proxy_argv(
        executables.kube_proxy, node_name, network, kubeconfigs["kube-proxy"], ports), logs)


def start_firewall(pki: Pki, server: str, node_name: str, executables: NodeExecutables, logs: Path,
                   pids: dict[str, int]) -> None:
    """kube-router reads the node's addresses at start: run it once the kubelet has posted them."""
    kubeconfig = layout.folder("config") / "kube-router.kubeconfig"
    ports = {"kube-router-health": processes.free_port()}
    pids["kube-router"] = processes.spawn("kube-router", components.kube_router_argv(
        executables.kube_router, node_name, kubeconfig, ports), logs)
    health = f"http://127.0.0.1:{ports['kube-router-health']}/healthz"

    def healthy() -> bool:
        check_alive(pids, logs)
        return processes.http_ok(health)

    processes.wait_until(healthy, START_TIMEOUT, "kube-router", logs / "kube-router.log")


def check_alive(pids: dict[str, int], logs: Path) -> None:
    """Fail with the log's tail when one of the node's processes died."""
    for name in ("registry", "containerd", "kubelet", "kube-proxy", "kube-router"):
        pid = pids.get(name)
        if pid is not None and not processes.is_alive(pid):
            log = logs / f"{name}.log"
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log.exists() else ""
            raise InfrastructureError(f"Le processus {name} du nœud réel s'est arrêté.\n{tail}")


def wait_ready(api: KubeApi, node_name: str, pids: dict[str, int], logs: Path, timeout: float) -> None:
    def ready() -> bool:
        check_alive(pids, logs)
        node = api.get("v1", "Node", node_name) or {}
        conditions = node.get("status", {}).get("conditions", []) or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    raise InfrastructureError(f"Le nœud réel « {node_name} » n'est pas devenu Ready en {timeout:.0f} s "
                              f"(journaux : {logs / 'kubelet.log'}).")


def create_cgroup_root() -> None:
    """The kubelet's --cgroup-root must exist in every cgroup v1 hierarchy before it starts."""
    base = Path("/sys/fs/cgroup")
    for hierarchy in sorted(base.iterdir()):
        if not (hierarchy / "cgroup.procs").exists() or (hierarchy / "cgroup.controllers").exists():
            continue  # not a v1 hierarchy (cgroup2's unified tree carries cgroup.controllers)
        target = hierarchy / layout.CGROUP_ROOT
        target.mkdir(exist_ok=True)
        for inherited in ("cpuset.cpus", "cpuset.mems"):  # an empty cpuset cannot hold tasks
            if (target / inherited).exists() and not (target / inherited).read_text().strip():
                (target / inherited).write_text((hierarchy / inherited).read_text())


def _socket_answers(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def _kubeconfig(pki: Pki, server: str, stem: str, folder: Path) -> Path:
    cert, key = pki.client(stem)
    config: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "microk8s-cluster", "cluster": {
            "server": server, "certificate-authority-data": base64.b64encode(pki.ca_cert.read_bytes()).decode()}}],
        "users": [{"name": stem, "user": {"client-certificate-data": base64.b64encode(cert.read_bytes()).decode(),
                                          "client-key-data": base64.b64encode(key.read_bytes()).decode()}}],
        "contexts": [{"name": "microk8s", "context": {"cluster": "microk8s-cluster", "user": stem}}],
        "current-context": "microk8s",
    }
    target = folder / f"{stem}.kubeconfig"
    target.write_text(yaml.safe_dump(config))
    target.chmod(0o600)
    return target


def executables(kubelet: Path, kube_proxy: Path, progress: Progress, allow_go_download: bool) -> NodeExecutables:
    """Build (once per machine) what the node runs beyond the control plane's build."""
    from kubelab.sandbox.build import ensure_node_binaries
    from kubelab.sandbox.images import ensure_images
    from kubelab.sandbox.images.payloads import payload_binaries

    built = ensure_node_binaries(progress, allow_go_download=allow_go_download)
    store = ensure_images(progress, payload_binaries(progress, allow_go_download))
    return NodeExecutables(kubelet=kubelet, kube_proxy=kube_proxy, kube_router=built.kube_router,
                           image_store=store.root)
