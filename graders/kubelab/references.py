"""What a workload's pods need to exist before they can start: ConfigMaps, Secrets, their keys, claims.

Read the way the kubelet reads a pod spec: ``env[].valueFrom`` (``configMapKeyRef``,
``secretKeyRef``), ``envFrom`` (``configMapRef``, ``secretRef``, with its ``prefix``), volumes
``configMap``, ``secret``, ``projected`` (with their ``items``) and ``persistentVolumeClaim``,
in init containers as in containers. A reference marked ``optional: true`` never blocks a
pod. A missing ConfigMap, Secret or key leaves the container in
``CreateContainerConfigError``; a missing claim leaves the pod Pending. A StatefulSet's
``volumeClaimTemplates`` are created by its controller: they are never missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubelab.objects import Reference, all_containers, references

__all__ = ["Reference", "Source", "all_containers", "keys_of", "missing", "problem", "references", "variable_source"]

Obj = dict[str, Any]
Lookup = Callable[[str, str], Obj | None]
"""``lookup(kind, name)``: an object of the workload's namespace, or ``None``."""

CONFIG_KINDS = ("ConfigMap", "Secret")


def keys_of(obj: Obj) -> set[str]:
    """The keys of a ConfigMap (``data`` and ``binaryData``) or of a (sanitised) Secret."""
    if obj.get("kind") == "Secret":
        return {*(obj.get("data") or {}), *(obj.get("stringData") or {})}
    return {*(obj.get("data") or {}), *(obj.get("binaryData") or {})}


ARTICLES = {"ConfigMap": ("la ConfigMap", "de la ConfigMap"), "Secret": ("le Secret", "du Secret"),
            "PersistentVolumeClaim": ("le PVC", "du PVC")}


def problem(reference: Reference, lookup: Lookup) -> str | None:
    """Why ``reference`` would keep the pod from starting, in French, or ``None``."""
    if reference.optional:
        return None
    target = lookup(reference.kind, reference.name)
    article, of = ARTICLES.get(reference.kind, (reference.kind, reference.kind))
    if target is None:
        return f"{reference.where} demande {article} `{reference.name}`, introuvable"
    if reference.key is not None and reference.kind in CONFIG_KINDS and reference.key not in keys_of(target):
        present = ", ".join(f"`{k}`" for k in sorted(keys_of(target))) or "aucune"
        return (f"{reference.where} demande la clé `{reference.key}` {of} `{reference.name}`, absente "
                f"(clés : {present})")
    return None


ALL_KINDS = (*CONFIG_KINDS, "PersistentVolumeClaim")


def missing(workload: Obj, lookup: Lookup, kinds: tuple[str, ...] = ALL_KINDS) -> list[str]:
    """Each reference of ``workload`` (of these kinds) that names an object or key that does not exist."""
    found = (problem(ref, lookup) for ref in dict.fromkeys(references(workload)) if ref.kind in kinds)
    return list(dict.fromkeys(p for p in found if p))


@dataclass(frozen=True)
class Source:
    """Where a container's environment variable gets its value."""

    kind: str
    """``value``, ``ConfigMap``, ``Secret`` or ``field`` (``fieldRef``, ``resourceFieldRef``)."""
    name: str = ""
    key: str = ""
    through: str = "env"
    """``env`` (a variable of its own) or ``envFrom`` (the keys of a whole ConfigMap or Secret)."""


def variable_source(container: Obj, variable: str, lookup: Lookup) -> Source | None:
    """Where ``variable`` comes from, as the kubelet decides: ``env`` wins over ``envFrom``, and
    among ``envFrom`` sources the last one that has the key (after its ``prefix``) wins."""
    for var in reversed(container.get("env") or []):
        if var.get("name") != variable:
            continue
        source = var.get("valueFrom") or {}
        for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            if field in source:
                return Source(kind, source[field].get("name", ""), source[field].get("key", ""))
        if source:
            return Source("field")
        return Source("value")
    for source in reversed(container.get("envFrom") or []):
        prefix = source.get("prefix") or ""
        for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = source.get(field)
            if not ref or not variable.startswith(prefix):
                continue
            key = variable[len(prefix):]
            target = lookup(kind, ref.get("name", ""))
            if target is not None and key in keys_of(target):
                return Source(kind, ref.get("name", ""), key, "envFrom")
    return None
