"""Pinned versions of everything the sandbox builds or runs."""

from __future__ import annotations

KUBERNETES_VERSION = "v1.35.4"
KWOK_VERSION = "v0.8.0"
ETCD_VERSION = "v3.6.16"
GO_MINIMUM = (1, 25)
GO_TOOLCHAIN_FALLBACK = "go1.26.0"
CONTAINERD_VERSION = "containerd://1.7.27"
MICROK8S_OS_IMAGE = "Ubuntu 24.04.3 LTS"
MICROK8S_KERNEL = "6.8.0-87-generic"

K8S_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
KWOK_COMMANDS = ("kwok", "kwokctl")


def cache_key() -> str:
    """The folder name binaries are cached under: changes when a pinned version changes."""
    return f"k8s-{KUBERNETES_VERSION}_kwok-{KWOK_VERSION}_etcd-{ETCD_VERSION}"
