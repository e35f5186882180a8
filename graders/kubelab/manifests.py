"""Apply manifests (parsed by ``kubelab.manifest_text``) with server-side apply.

Cluster facts: in a manifest applied by the tools (``kubelab lab apply``, the tests), a string
value that is exactly one of ``FACT_PLACEHOLDERS`` (``"__NODES__"``, ``"__SERVER_VERSION__"``…)
is replaced by that fact, read from the cluster at apply time. A reference solution that
records facts about the cluster (lab 01) stays right on every cluster. A learner's own
``kubectl apply`` or notebook cell never goes through this: the facts are theirs to find.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubelab.kube_api import KubeApi
from kubelab.objects import control_plane_pods, default_storage_class, name_of

Obj = dict[str, Any]


def with_namespace(objects: list[Obj], namespace: str | None, api: KubeApi) -> list[Obj]:
    """Copies of ``objects`` with ``namespace`` set on namespaced kinds lacking one."""
    result = []
    for obj in objects:
        copy = {**obj, "metadata": dict(obj.get("metadata") or {})}
        if namespace and not copy["metadata"].get("namespace"):
            if api.resource(copy["apiVersion"], copy["kind"]).namespaced:
                copy["metadata"]["namespace"] = namespace
        result.append(copy)
    return result


def _dns_service_ip(api: KubeApi) -> str:
    return ((api.get("v1", "Service", "kube-dns", "kube-system") or {}).get("spec") or {}).get("clusterIP", "")


FACT_PLACEHOLDERS: dict[str, Callable[[KubeApi], str]] = {
    "__NODES__": lambda api: str(len(api.list("v1", "Node"))),
    "__SERVER_VERSION__": lambda api: api.server_version().get("gitVersion", ""),
    "__DNS_SERVICE_IP__": _dns_service_ip,
    "__DEFAULT_STORAGECLASS__": lambda api: name_of(
        default_storage_class(api.list("storage.k8s.io/v1", "StorageClass")) or {}),
    "__CONTROL_PLANE_PODS__": lambda api: str(bool(control_plane_pods(api.list("v1", "Pod", "kube-system")))).lower(),
}


def fill_facts(api: KubeApi, value: Any, cache: dict[str, str] | None = None) -> Any:
    """``value`` with every string equal to a fact placeholder replaced by the fact (each read once)."""
    cache = {} if cache is None else cache
    if isinstance(value, dict):
        return {key: fill_facts(api, item, cache) for key, item in value.items()}
    if isinstance(value, list):
        return [fill_facts(api, item, cache) for item in value]
    if isinstance(value, str) and value in FACT_PLACEHOLDERS:
        if value not in cache:
            cache[value] = FACT_PLACEHOLDERS[value](api)
        return cache[value]
    return value


def apply_all(api: KubeApi, objects: list[Obj], namespace: str | None = None, dry_run: bool = False,
              field_manager: str | None = None) -> list[Obj]:
    """Server-side apply each object (namespaces first, fact placeholders filled); what the server returned."""
    objects = fill_facts(api, objects)
    ordered = sorted(with_namespace(objects, namespace, api), key=lambda o: o["kind"] != "Namespace")
    manager = {"field_manager": field_manager} if field_manager else {}
    return [api.apply(obj, dry_run=dry_run, **manager) for obj in ordered]
