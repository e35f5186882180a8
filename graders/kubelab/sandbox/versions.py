"""Pinned versions of everything the sandbox builds or runs."""

from __future__ import annotations

KUBERNETES_VERSION = "v1.35.4"
KWOK_VERSION = "v0.8.0"
ETCD_VERSION = "v3.6.16"
KUBE_ROUTER_VERSION = "v2.1.0"
COREDNS_VERSION = "v1.12.0"
# agnhost and pause come from the k8s.io/kubernetes module; these are the versions its
# sources declare (test/images/agnhost/VERSION, build/pause/Makefile's TAG). The build checks them.
AGNHOST_VERSION = "2.59"
PAUSE_VERSION = "3.10.1"
# BusyBox for the busybox image, built from the upstream tarball Debian's archive ships; its
# sha256 is the one trixie's Sources index lists for busybox_1.37.0.orig.tar.bz2.
BUSYBOX_VERSION = "1.37.0"
BUSYBOX_SHA256 = "3311dff32e746499f4df0d5df04d7eb396382d7e108bb9250e7b519b837043a4"
GO_MINIMUM = (1, 25)
GO_TOOLCHAIN_FALLBACK = "go1.26.0"
CONTAINERD_VERSION = "containerd://1.7.27"
MICROK8S_OS_IMAGE = "Ubuntu 24.04.3 LTS"
MICROK8S_KERNEL = "6.8.0-87-generic"

K8S_COMMANDS = (
    "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kubelet", "kube-proxy",
)
KWOK_COMMANDS = ("kwok", "kwokctl")
# The plugins of MicroK8s's dns addon Corefile (data/addons/dns.yaml), by directive name, and
# whoami, what CoreDNS serves when it starts without a Corefile (as the official image does).
COREDNS_PLUGINS = (
    "errors", "health", "ready", "log", "kubernetes", "prometheus", "forward", "cache", "loop", "reload",
    "loadbalance", "whoami",
)


def cache_key() -> str:
    """The versions part of the control plane's cache folder name (the build adds its recipe)."""
    return f"k8s-{KUBERNETES_VERSION}_kwok-{KWOK_VERSION}_etcd-{ETCD_VERSION}"


def node_cache_key() -> str:
    """The versions part of the real node's cache folder name (the build adds its recipe)."""
    return (
        f"kube-router-{KUBE_ROUTER_VERSION}_coredns-{COREDNS_VERSION}"
        f"_agnhost-{AGNHOST_VERSION}_pause-{PAUSE_VERSION}"
    )
