"""Configuration and command lines of the real node's components: kubelet, kube-proxy, kube-router.

Each function only builds files and argv lists; ``node.py`` starts the processes.
Choices that differ from a default are explained where they are made.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from kubelab.sandbox import profile
from kubelab.sandbox.realnode import layout

REAL_NODE_LABEL = "sandbox.kubelab.io/real-node"
KUBELET_PORT = 10250


def node_labels() -> dict[str, str]:
    """MicroK8s's first node is control plane and worker: its labels, plus ours."""
    return {**profile.CONTROL_PLANE_LABELS, REAL_NODE_LABEL: "true"}


def node_manifest(name: str, network: layout.NodeNetwork) -> dict[str, Any]:
    """The Node object registered before the kubelet starts, so that it carries its pod CIDR
    (the controller-manager does not allocate CIDRs in the sandbox) and MicroK8s's labels."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                       "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64", **node_labels()},
        },
        "spec": {"podCIDR": network.pod_cidr, "podCIDRs": [network.pod_cidr]},
    }


def kubelet_config(network: layout.NodeNetwork, ca_file: Path, resolv_conf: Path) -> dict[str, Any]:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # This VM mounts cgroup v1 hierarchies; kubelet 1.35 refuses them unless told otherwise.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{layout.CGROUP_ROOT}",
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket()}",
        "address": network.node_ip,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzPort": 0,
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(ca_file)}},
        "authorization": {"mode": "Webhook"},
        "clusterDNS": [profile.DNS_SERVICE_IP],
        "clusterDomain": "cluster.local",
        # The host's resolvers are outside the machine: pods with dnsPolicy Default (CoreDNS
        # among them) get a resolver on the node's address where nothing listens.
        "resolvConf": str(resolv_conf),
        "podLogsDir": str(layout.folder("pod-logs")),
        "staticPodPath": "",
        "failSwapOn": False,
        "hairpinMode": "hairpin-veth",
        "serializeImagePulls": False,
        "maxPods": 110,
        # A sandbox on a busy disk must not evict the learner's pods.
        "evictionHard": {"memory.available": "50Mi", "nodefs.available": "1%", "nodefs.inodesFree": "1%",
                         "imagefs.available": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "nodeStatusReportFrequency": "10s",
        "shutdownGracePeriod": "0s",
        "localStorageCapacityIsolation": True,
    }


def kubelet_argv(binary: Path, name: str, network: layout.NodeNetwork, config: Path, kubeconfig: Path) -> list[str]:
    labels = ",".join(f"{key}={value}" for key, value in node_labels().items())
    return [
        str(binary), f"--config={config}", f"--kubeconfig={kubeconfig}", f"--root-dir={layout.folder('kubelet')}",
        f"--cert-dir={layout.folder('kubelet/pki')}", f"--hostname-override={name}", f"--node-ip={network.node_ip}",
        f"--node-labels={labels}", "--v=1",
    ]


def kube_proxy_argv(binary: Path, name: str, network: layout.NodeNetwork, kubeconfig: Path,
                    ports: dict[str, int]) -> list[str]:
    return [
        str(binary), f"--kubeconfig={kubeconfig}", f"--hostname-override={name}", "--proxy-mode=iptables",
        f"--cluster-cidr={profile.POD_CIDR}", f"--nodeport-addresses={network.node_ip}/32",
        # Leave the host's conntrack and route_localnet settings as they are.
        "--conntrack-max-per-core=0", "--conntrack-tcp-timeout-established=0s",
        "--conntrack-tcp-timeout-close-wait=0s", "--iptables-localhost-nodeports=false",
        f"--metrics-bind-address=127.0.0.1:{ports['kube-proxy-metrics']}",
        f"--healthz-bind-address=127.0.0.1:{ports['kube-proxy-healthz']}", "--v=1",
    ]


def kube_router_argv(binary: Path, name: str, kubeconfig: Path, ports: dict[str, int]) -> list[str]:
    """kube-router as MicroK8s would not run it: the NetworkPolicy firewall only (Calico is not
    obtainable here). Difference: kube-router REJECTs a denied connection, Calico DROPs it."""
    return [
        str(binary), f"--kubeconfig={kubeconfig}", f"--hostname-override={name}",
        "--run-firewall=true", "--run-router=false", "--run-service-proxy=false",
        "--enable-ipv4=true", "--enable-ipv6=false", "--iptables-sync-period=5m",
        f"--service-cluster-ip-range={profile.SERVICE_CIDR}",
        f"--health-port={ports['kube-router-health']}", "--metrics-port=0", "--v=1",
    ]


def cni_config(network: layout.NodeNetwork) -> dict[str, Any]:
    """The node's pod network: a bridge and host-local addresses in the node's pod CIDR.

    No masquerade: pod traffic never leaves the machine (the policy-routing rule drops it)."""
    return {
        "cniVersion": "0.4.0",
        "name": layout.CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": layout.POD_BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": network.pod_cidr, "gateway": network.pod_gateway}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(layout.folder("cni/ipam")),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def write_cni_config(network: layout.NodeNetwork) -> Path:
    folder = layout.folder("cni/net.d")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "10-kubelab.conflist"
    target.write_text(json.dumps(cni_config(network), indent=2))
    return target


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
