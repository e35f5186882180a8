"""The MicroK8s addons the sandbox reproduces, and MicroK8s's rule for « enabled »."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from kubelab.errors import UsageError

Marker = tuple[str, str, str, str | None]  # apiVersion, kind, name, namespace


@dataclass(frozen=True)
class Addon:
    """One addon: its manifests and the marker object whose presence means « enabled »."""

    name: str
    description: str
    version: str
    marker: Marker | None = None
    manifest: str | None = None
    requires: tuple[str, ...] = ()
    always_enabled: bool = False
    argument: str | None = None


ADDONS: dict[str, Addon] = {
    addon.name: addon
    for addon in (
        Addon("dns", "CoreDNS", "1.12.0", ("apps/v1", "Deployment", "coredns", "kube-system"), "addons/dns.yaml"),
        Addon("ha-cluster", "Configure high availability on the current node", "1.35", always_enabled=True),
        Addon("helm", "Helm - the package manager for Kubernetes", "3.16", always_enabled=True),
        Addon("helm3", "Helm 3 - the package manager for Kubernetes", "3.16", always_enabled=True),
        Addon(
            "hostpath-storage", "Storage class; allocates storage from host directory", "1.5.0",
            ("apps/v1", "Deployment", "hostpath-provisioner", "kube-system"), "addons/hostpath-storage.yaml",
        ),
        Addon(
            "ingress", "Ingress controller for external access (Traefik)", "3.3",
            ("networking.k8s.io/v1", "IngressClass", "public", None), "addons/ingress.yaml",
        ),
        Addon(
            "metallb", "Loadbalancer for your Kubernetes cluster", "0.14.8",
            ("apps/v1", "Deployment", "controller", "metallb-system"), "addons/metallb.yaml",
            argument="10.64.140.43-10.64.140.49",
        ),
        Addon(
            "metrics-server", "K8s Metrics Server for API access to service metrics", "0.7.2",
            ("apps/v1", "Deployment", "metrics-server", "kube-system"), "addons/metrics-server.yaml",
        ),
        Addon("rbac", "Role-Based Access Control for authorisation", "1.35"),
        Addon(
            "registry", "Private image registry exposed on localhost:32000", "2.8.3",
            ("apps/v1", "Deployment", "registry", "container-registry"), "addons/registry.yaml",
            requires=("hostpath-storage",),
        ),
    )
}


def get_addon(name: str) -> Addon:
    """The addon called ``name`` (an optional ``:argument`` is ignored here)."""
    base = name.split(":", 1)[0]
    if base not in ADDONS:
        raise UsageError(
            f"Addon inconnu : « {base} ». Addons disponibles dans le bac à sable : "
            f"{', '.join(sorted(ADDONS))}."
        )
    return ADDONS[base]


def load_manifests(file_name: str, variables: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Parse one of the packaged YAML files under ``data/``."""
    text = resources.files("kubelab.sandbox").joinpath("data", file_name).read_text()
    for key, value in (variables or {}).items():
        text = text.replace("${" + key + "}", value)
    return [doc for doc in yaml.safe_load_all(text) if doc]
