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

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kubelab.objects import pod_spec

Obj = dict[str, Any]
Lookup = Callable[[str, str], Obj | None]
"""``lookup(kind, name)``: an object of the workload's namespace, or ``None``."""

CONFIG_KINDS = ("ConfigMap", "Secret")


@dataclass(frozen=True)
class Reference:
    """One object (and maybe one key of it) a pod needs."""

    kind: str
    name: str
    key: str | None = None
    optional: bool = False
    via: str = ""
    """Where the pod spec asks for it, in French: « la variable `DB_HOST` du conteneur `api` »."""


def all_containers(workload: Obj) -> list[Obj]:
    """Init containers then containers of a workload's pod spec."""
    spec = pod_spec(workload)
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def references(workload: Obj) -> Iterator[Reference]:
    """Every ConfigMap, Secret, key and claim the pods of ``workload`` (a Pod or a controller) use."""
    for container in all_containers(workload):
        who = f"du conteneur `{container.get('name', '?')}`"
        for var in container.get("env") or []:
            source = var.get("valueFrom") or {}
            for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                ref = source.get(field)
                if ref:
                    yield Reference(kind, ref.get("name", ""), ref.get("key", ""), bool(ref.get("optional")),
                                    f"la variable `{var.get('name', '?')}` {who}")
        for source in container.get("envFrom") or []:
            for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                ref = source.get(field)
                if ref:
                    yield Reference(kind, ref.get("name", ""), None, bool(ref.get("optional")), f"`envFrom` {who}")
    for volume in pod_spec(workload).get("volumes") or []:
        where = f"le volume `{volume.get('name', '?')}`"
        sources = list((volume.get("projected") or {}).get("sources") or [])
        if "configMap" in volume:
            sources.append({"configMap": volume["configMap"]})
        if "secret" in volume:
            sources.append({"secret": {**volume["secret"], "name": volume["secret"].get("secretName", "")}})
        for source in sources:
            for field, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
                ref = source.get(field)
                if not ref:
                    continue
                optional = bool(ref.get("optional"))
                items = ref.get("items") or []
                if not items:
                    yield Reference(kind, ref.get("name", ""), None, optional, where)
                for item in items:
                    yield Reference(kind, ref.get("name", ""), item.get("key", ""), optional, where)
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            yield Reference("PersistentVolumeClaim", claim, None, False, where)


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
        return f"{reference.via} demande {article} `{reference.name}`, introuvable"
    if reference.key is not None and reference.kind in CONFIG_KINDS and reference.key not in keys_of(target):
        present = ", ".join(f"`{k}`" for k in sorted(keys_of(target))) or "aucune"
        return f"{reference.via} demande la clé `{reference.key}` {of} `{reference.name}`, absente (clés : {present})"
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
