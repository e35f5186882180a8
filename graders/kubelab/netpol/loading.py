"""Namespaces, pods and NetworkPolicies from a folder of YAML manifests (``--from-files``).

Every ``*.yaml``/``*.yml`` file under the folder (but a lab's ``expect.yaml`` and
kustomize's ``kustomization.yaml``) is read (multi-document, ``List`` objects
unwrapped) with ``kubelab.manifest_text.parse``: malformed YAML is a French ``UsageError``
naming the file. Controllers (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob)
become one synthetic pod each, named after the controller, with the labels and container
ports of its pod template. Objects without a namespace get ``default_namespace``, which
also replaces the labs' ``__NAMESPACE__`` placeholder. Other kinds are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubelab.errors import UsageError
from kubelab.manifest_text import NAMESPACE_PLACEHOLDER, parse
from kubelab.netpol.french import NBSP, quote
from kubelab.netpol.model import FILE_ANNOTATION, WORKLOAD_ANNOTATION

Obj = dict[str, Any]
CONTROLLERS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob")
SKIPPED_FILES = ("expect.yaml", "kustomization.yaml", "kustomization.yml")
"""Not manifests: a lab's expected results, kustomize's configuration."""


@dataclass
class Inventory:
    """The raw objects the reachability engine reads."""

    namespaces: list[Obj] = field(default_factory=list)
    pods: list[Obj] = field(default_factory=list)
    policies: list[Obj] = field(default_factory=list)
    manifests: list[tuple[str, Obj]] = field(default_factory=list)
    """Read from files: each object the matrix uses, as written, with its file (for field validation)."""

    def extend(self, other: Inventory) -> None:
        self.namespaces += other.namespaces
        self.pods += other.pods
        self.policies += other.policies
        self.manifests += other.manifests


def yaml_files(folder: Path) -> list[Path]:
    """The YAML files under ``folder``, sorted; a French error if it is not a folder."""
    if not folder.is_dir():
        raise UsageError(f"Le dossier {quote(folder)} est introuvable (option --from-files).")
    return sorted(p for p in folder.rglob("*")
                  if p.suffix in (".yaml", ".yml") and p.is_file() and p.name not in SKIPPED_FILES)


def load_directory(folder: Path, default_namespace: str = "default") -> Inventory:
    """Every namespace, pod (real or synthetic) and NetworkPolicy of the folder's files."""
    inventory = Inventory()
    for file in yaml_files(folder):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"Le fichier {quote(file)} est illisible{NBSP}: {exc}.") from exc
        for obj in parse(text.replace(NAMESPACE_PLACEHOLDER, default_namespace), quote(file)):
            add_object(inventory, obj, default_namespace, str(file))
    return inventory


def add_object(inventory: Inventory, obj: Obj, default_namespace: str, source: str = "") -> None:
    """File ``obj`` in ``inventory``: as is, as a synthetic pod, or not at all."""
    kind = obj.get("kind")
    if kind == "Namespace":
        inventory.namespaces.append(obj)
        if source:
            inventory.manifests.append((source, obj))
        return
    if kind not in ("Pod", "NetworkPolicy", *CONTROLLERS):
        return
    meta = dict(obj.get("metadata") or {})
    meta["namespace"] = meta.get("namespace") or default_namespace
    if source:
        inventory.manifests.append((source, {**obj, "metadata": dict(meta)}))
    if source:
        meta["annotations"] = {**(meta.get("annotations") or {}), FILE_ANNOTATION: source}
    if kind == "Pod":
        inventory.pods.append({**obj, "metadata": meta})
    elif kind == "NetworkPolicy":
        inventory.policies.append({**obj, "metadata": meta})
    else:
        inventory.pods.append(synthetic_pod(obj, meta, source))


def synthetic_pod(controller: Obj, meta: Obj, source: str = "") -> Obj:
    """The pod a controller would create: its template's labels and containers, the controller's name."""
    spec = controller.get("spec") or {}
    if controller.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template")
    if not isinstance(template, dict):
        where = f" ({quote(source)})" if source else ""
        raise UsageError(f"Le {controller['kind']} {quote(meta['name'])}{where} n'a pas de spec.template.")
    template_meta = template.get("metadata") or {}
    annotations = {WORKLOAD_ANNOTATION: f"{controller['kind']} {meta['name']}"}
    if source:
        annotations[FILE_ANNOTATION] = source
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                     "labels": dict(template_meta.get("labels") or {}), "annotations": annotations},
        "spec": template.get("spec") or {},
    }
