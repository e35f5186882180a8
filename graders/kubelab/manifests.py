"""Read manifests (files, folders, strings) and apply them with server-side apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kubelab.errors import UsageError
from kubelab.kube_api import KubeApi

Obj = dict[str, Any]


def parse(text: str, source: str) -> list[Obj]:
    """The YAML documents of ``text``; a French error naming ``source`` when malformed."""
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", ligne {mark.line + 1}, colonne {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"YAML invalide dans {source}{where} : {problem}.") from exc
    objects: list[Obj] = []
    for index, doc in enumerate(documents, start=1):
        if not isinstance(doc, dict):
            raise UsageError(f"Le document n°{index} de {source} n'est pas un objet Kubernetes.")
        if doc.get("kind") == "List":
            objects.extend(doc.get("items", []))
            continue
        for field in ("apiVersion", "kind"):
            if not doc.get(field):
                raise UsageError(f"Le document n°{index} de {source} n'a pas de champ « {field} ».")
        if not (doc.get("metadata") or {}).get("name"):
            raise UsageError(f"Le document n°{index} ({doc['kind']}) de {source} n'a pas de « metadata.name ».")
        objects.append(doc)
    return objects


def load_path(path: Path) -> list[Obj]:
    """Every object of a YAML file, or of every ``*.yaml``/``*.yml`` file of a folder (sorted)."""
    if not path.exists():
        raise UsageError(f"Fichier ou dossier introuvable : « {path} ».")
    files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")) if path.is_dir() else [path]
    objects: list[Obj] = []
    for file in files:
        if file.name == "expect.yaml":
            continue
        objects.extend(parse(file.read_text(), f"« {file} »"))
    return objects


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


def apply_all(api: KubeApi, objects: list[Obj], namespace: str | None = None, dry_run: bool = False) -> list[Obj]:
    """Server-side apply each object (namespaces first); what the server returned."""
    ordered = sorted(with_namespace(objects, namespace, api), key=lambda o: o["kind"] != "Namespace")
    return [api.apply(obj, dry_run=dry_run) for obj in ordered]
