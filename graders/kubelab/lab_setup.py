"""Prepare a lab in a cluster: its namespace, what the lab provides, and its variants.

A variant is a folder of manifests: ``starter``, ``solution``, ``alternatives/<name>`` or
``mutants/<defect>``. Alternatives and mutants are overlays of the solution: a file with
the same name replaces the solution's, a new file is added, and ``expect.yaml`` may
``drop`` solution files. So a mutant holds only its defect. In any manifest, the literal
``__NAMESPACE__`` stands for the namespace the lab is applied to (for a Namespace object
that the learner labels, or a reference to the lab's own namespace).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubelab import manifests
from kubelab.catalog import Lab
from kubelab.errors import UsageError
from kubelab.kube_api import KubeApi
from kubelab.waiting import wait_for

Obj = dict[str, Any]
OVERLAY_KINDS = ("alternatives", "mutants")


@dataclass(frozen=True)
class Expectation:
    """What a variant must score: the checks it fails and a fragment of each message."""

    fails: tuple[str, ...] = ()
    messages: dict[str, str] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    description: str = ""
    hints: dict[str, str] = field(default_factory=dict)


def read_expectation(folder: Path) -> Expectation:
    path = folder / "expect.yaml"
    if not path.is_file():
        return Expectation()
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"YAML invalide dans « {path} » : {exc}.") from exc
    return Expectation(tuple(data.get("fails", [])), dict(data.get("messages", {})), tuple(data.get("drop", [])),
                       data.get("description", ""), dict(data.get("hints", {})))


EXPECTATION_KEYS = ("description", "drop", "fails", "messages", "hints")


def expectation_problems(lab: Lab, variant: str) -> list[str]:
    """What is wrong with a variant's ``expect.yaml`` for its lab, in French (empty when it is right).

    Unknown keys; ``drop`` names that are no file of ``solution/``; ``fails`` and ``messages`` ids
    that are no check of the lab; a message for a check that does not fail; a mutant that fails
    nothing; an alternative that fails something. The shape alone is also described by
    ``labs/expect.schema.json``.
    """
    folder = lab.folder / variant
    path = folder / "expect.yaml"
    try:
        data = yaml.safe_load(path.read_text()) if path.is_file() else {}
    except yaml.YAMLError as exc:
        return [f"YAML invalide : {exc}"]
    if not isinstance(data, dict):
        return ["le document devrait associer des clés (description, drop, fails, messages) à leurs valeurs"]
    problems = [f"clé inconnue « {key} » (connues : {', '.join(EXPECTATION_KEYS)})" for key in data
                if key not in EXPECTATION_KEYS]
    solution = {p.name for p in (lab.folder / "solution").glob("*.yaml")}
    problems += [f"« drop » nomme « {name} », qui n'est pas un fichier de solution/"
                 for name in data.get("drop") or [] if name not in solution]
    checks = {check.id for check in lab.checks}
    fails = list(data.get("fails") or [])
    problems += [f"« fails » nomme « {check_id} », qui n'est pas une vérification du lab" for check_id in fails
                 if check_id not in checks]
    problems += [f"« {field} » donne un fragment pour « {check_id} », qui n'est pas dans « fails »"
                 for field in ("messages", "hints") for check_id in data.get(field) or {} if check_id not in fails]
    kind = variant.split("/")[0]
    if kind == "mutants" and not fails:
        problems.append("un mutant devrait faire échouer au moins une vérification (« fails » vide)")
    if kind == "alternatives" and (fails or data.get("messages") or data.get("hints")):
        problems.append("une alternative devrait avoir tous les points (« fails », « messages » et « hints » vides)")
    return problems


def variants(lab: Lab, kind: str) -> list[str]:
    """The names of a lab's alternatives or mutants (``kind`` is one of OVERLAY_KINDS)."""
    root = lab.folder / kind
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def variant_files(lab: Lab, variant: str) -> list[Path]:
    """The manifest files making up a variant, overlays resolved."""
    folder = lab.folder / variant
    if not folder.is_dir():
        raise UsageError(f"Le lab « {lab.id} » n'a pas de variante « {variant} » ({folder} introuvable).")
    own = {p.name: p for p in sorted(folder.glob("*.yaml")) if p.name != "expect.yaml"}
    if variant.split("/")[0] not in OVERLAY_KINDS:
        return list(own.values())
    problems = expectation_problems(lab, variant)
    if problems:
        raise UsageError(f"« {folder / 'expect.yaml'} » est invalide : {' ; '.join(problems)}.")
    base = {p.name: p for p in sorted((lab.folder / "solution").glob("*.yaml"))}
    for name in read_expectation(folder).drop:
        base.pop(name, None)
    base.update(own)
    return [base[name] for name in sorted(base)]


NAMESPACE_PLACEHOLDER = "__NAMESPACE__"
SETUP_MANAGER = "kubelab-setup"


def variant_objects(lab: Lab, variant: str, namespace: str | None = None) -> list[Obj]:
    """The variant's objects; ``__NAMESPACE__`` in a manifest stands for the target namespace."""
    target = namespace or lab.namespace
    objects: list[Obj] = []
    for path in variant_files(lab, variant):
        text = path.read_text().replace(NAMESPACE_PLACEHOLDER, target)
        objects.extend(manifests.parse(text, f"« {path} »"))
    return objects


def setup(api: KubeApi, lab: Lab, namespace: str | None = None) -> str:
    """Create the lab's namespace and apply ``setup/`` (what the lab provides); the namespace."""
    target = namespace or lab.namespace
    objects: list[Obj] = []
    for path in sorted((lab.folder / "setup").glob("*.yaml")):
        objects.extend(manifests.parse(path.read_text().replace(NAMESPACE_PLACEHOLDER, target), f"« {path} »"))
    # Its own field manager: applying the bare namespace must not take back labels that a
    # variant applied earlier (lab 02 labels `monitoring`, the namespace of lab 09).
    api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target}}, field_manager=SETUP_MANAGER)
    wait_for(api, "v1", "ServiceAccount", lambda sas: any(sa["metadata"]["name"] == "default" for sa in sas),
             namespace=target, what=f"le ServiceAccount default de {target}")
    if objects:
        manifests.apply_all(api, objects, target)
    if lab.setup_hook is not None:
        lab.setup_hook(api, target)
    return target


def reset(api: KubeApi, lab: Lab, namespace: str | None = None) -> str:
    """Delete the lab's namespace (only it), wait until it is gone, and set the lab up again."""
    target = namespace or lab.namespace
    if api.delete("v1", "Namespace", target):
        wait_for(api, "v1", "Namespace", lambda items: all(n["metadata"]["name"] != target for n in items),
                 timeout="deletion", what=f"la suppression du namespace {target}")
    return setup(api, lab, target)


def apply_variant(api: KubeApi, lab: Lab, variant: str, namespace: str) -> int:
    """Apply a variant into ``namespace``; the number of objects applied."""
    objects = variant_objects(lab, variant, namespace)
    manifests.apply_all(api, objects, namespace)
    return len(objects)
