"""Prepare a lab in a cluster: its namespace, what the lab provides, and its variants.

A variant is a folder of manifests: ``starter``, ``solution``, ``alternatives/<name>`` or
``mutants/<defect>``. Alternatives and mutants are overlays of the solution: a file with
the same name replaces the solution's, a new file is added, and ``expect.yaml`` may
``drop`` solution files. So a mutant holds only its defect. In any manifest, the literal
``__NAMESPACE__`` stands for the namespace the lab is applied to (for a Namespace object
that the learner labels, or a reference to the lab's own namespace).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubelab import manifests
from kubelab.catalog import Lab
from kubelab.errors import InfrastructureError, UsageError
from kubelab.kube_api import KubeApi
from kubelab.manifest_text import NAMESPACE_PLACEHOLDER, parse, read_yaml_file
from kubelab.waiting import TIMEOUTS, wait_for

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
    real_node_fails: tuple[str, ...] | None = None
    """The checks it fails where its containers really run (the real node), when these differ."""
    real_node_messages: dict[str, str] = field(default_factory=dict)

    def on_real_node(self) -> Expectation:
        """What it must score on the real node: its ``real_node`` fails (or its own) and their messages."""
        fails = self.fails if self.real_node_fails is None else self.real_node_fails
        messages = {k: v for k, v in self.messages.items() if k in fails} | self.real_node_messages
        hints = {k: v for k, v in self.hints.items() if k in fails}
        return Expectation(fails, messages, self.drop, self.description, hints)


def read_expectation(folder: Path) -> Expectation:
    path = folder / "expect.yaml"
    if not path.is_file():
        return Expectation()
    data = read_yaml_file(path) or {}
    real = data.get("real_node") or {}
    return Expectation(tuple(data.get("fails", [])), dict(data.get("messages", {})), tuple(data.get("drop", [])),
                       data.get("description", ""), dict(data.get("hints", {})),
                       tuple(real["fails"]) if "fails" in real else None, dict(real.get("messages", {})))


EXPECTATION_KEYS = ("description", "drop", "fails", "messages", "hints", "real_node")


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
        data = read_yaml_file(path) if path.is_file() else {}
    except UsageError as exc:
        return [exc.message]
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
    real = data.get("real_node") or {}
    real_fails = list(real.get("fails") or [])
    problems += [f"« real_node.fails » nomme « {check_id} », qui n'est pas une vérification du lab"
                 for check_id in real_fails if check_id not in checks]
    problems += [f"« real_node.messages » donne un fragment pour « {check_id} », qui n'est pas dans « real_node.fails »"
                 for check_id in real.get("messages") or {} if check_id not in real_fails]
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


SETUP_MANAGER = "kubelab-setup"


def variant_objects(lab: Lab, variant: str, namespace: str | None = None) -> list[Obj]:
    """The variant's objects; ``__NAMESPACE__`` in a manifest stands for the target namespace."""
    target = namespace or lab.namespace
    objects: list[Obj] = []
    for path in variant_files(lab, variant):
        text = path.read_text().replace(NAMESPACE_PLACEHOLDER, target)
        objects.extend(parse(text, f"« {path} »"))
    return objects


def setup(api: KubeApi, lab: Lab, namespace: str | None = None, step: int = 1) -> str:
    """Create the lab's namespace and apply ``setup/`` (what the lab provides); the namespace.

    ``step`` above 1 runs a later step of the preparation instead (lab 08 : step 2 deletes what the
    learner has just backed up), in a namespace that step 1 prepared.
    """
    target = namespace or lab.namespace
    if step != 1:
        return _later_step(api, lab, target, step)
    objects: list[Obj] = []
    for path in sorted((lab.folder / "setup").glob("*.yaml")):
        objects.extend(parse(path.read_text().replace(NAMESPACE_PLACEHOLDER, target), f"« {path} »"))
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


def _later_step(api: KubeApi, lab: Lab, namespace: str, step: int) -> str:
    if step not in lab.setup_steps:
        known = ", ".join(str(n) for n in (1, *sorted(lab.setup_steps)))
        raise UsageError(f"Le lab « {lab.id} » n'a pas d'étape {step} de préparation (étapes : {known}).")
    if api.get("v1", "Namespace", namespace) is None:
        raise UsageError(f"Le namespace « {namespace} » n'existe pas ({api.description}) : lancez d'abord "
                         f"« kubelab lab setup {lab.id} » (étape 1).")
    lab.setup_steps[step].function(api, namespace)
    return namespace


def setup_all(api: KubeApi, lab: Lab, namespace: str | None = None) -> str:
    """Every step of the preparation in order: where a learner's finished work starts from (tests, demo)."""
    target = setup(api, lab, namespace)
    for step in sorted(lab.setup_steps):
        setup(api, lab, target, step)
    return target


def reset(api: KubeApi, lab: Lab, namespace: str | None = None) -> str:
    """Delete the lab's namespace (only it), wait until it is gone, and set the lab up again."""
    target = namespace or lab.namespace
    if api.delete("v1", "Namespace", target):
        wait_for(api, "v1", "Namespace", lambda items: all(n["metadata"]["name"] != target for n in items),
                 timeout="deletion", what=f"la suppression du namespace {target}")
    return setup(api, lab, target)


STEP_MANAGER = "kubelab-step"
SETTLE_SLICE = 3.0  # seconds of watch between two looks for a pod the scheduler cannot place
WATCHED_KINDS = ("Deployment", "StatefulSet", "DaemonSet")  # controllers that report status.observedGeneration


def _identity(obj: Obj) -> tuple[str, str, str]:
    return obj.get("apiVersion", ""), obj.get("kind", ""), (obj.get("metadata") or {}).get("name", "")


def split_steps(objects: list[Obj]) -> tuple[list[Obj], list[Obj]]:
    """(first version of each object, later versions in order): a later version is a later step."""
    seen: set[tuple[str, str, str]] = set()
    first: list[Obj] = []
    later: list[Obj] = []
    for obj in objects:
        (later if _identity(obj) in seen else first).append(obj)
        seen.add(_identity(obj))
    return first, later


def wait_observed(api: KubeApi, obj: Obj, namespace: str) -> None:
    """Wait until the object's controller has acted on its current spec (``status.observedGeneration``)."""
    api_version, kind, name = _identity(obj)

    def acted(items: list[Obj]) -> bool:
        current = next((o for o in items if o["metadata"]["name"] == name), None)
        if current is None:
            return True
        return (current.get("status") or {}).get("observedGeneration", 0) >= current["metadata"].get("generation", 1)

    if kind not in WATCHED_KINDS:
        return
    wait_for(api, api_version, kind, acted, namespace=namespace, timeout="rollout",
             what=f"la prise en compte de {kind} {name}")


def _unschedulable(pod: Obj) -> bool:
    return any(c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable"
               for c in (pod.get("status") or {}).get("conditions") or [])


def wait_settled(api: KubeApi, obj: Obj, namespace: str) -> None:
    """After a later step, wait as « kubectl rollout status » does: until the Deployment's rollout is done, or
    cannot go on (a pod the scheduler cannot place), or the rollout timeout. What is left, the grader reports."""
    api_version, kind, name = _identity(obj)

    def done(items: list[Obj]) -> bool:
        current = next((o for o in items if o["metadata"]["name"] == name), None)
        if current is None:
            return True
        status, wanted = current.get("status") or {}, (current.get("spec") or {}).get("replicas", 1)
        return status.get("observedGeneration", 0) >= current["metadata"].get("generation", 1) and all(
            status.get(key, 0) == wanted for key in ("updatedReplicas", "availableReplicas", "replicas"))

    if kind != "Deployment":
        return
    deadline = time.monotonic() + TIMEOUTS["rollout"]
    while time.monotonic() < deadline:  # watch the Deployment in slices; between them, look for a stuck pod
        try:
            wait_for(api, api_version, kind, done, namespace=namespace, timeout=SETTLE_SLICE)
            return
        except InfrastructureError:
            if any(_unschedulable(pod) for pod in api.list("v1", "Pod", namespace)):
                return


def apply_objects(api: KubeApi, objects: list[Obj], namespace: str) -> None:
    """Apply a variant's objects. A later document for an object already applied is a later step of the
    statement (lab 05 changes the image of `web`): it is applied once the controller has acted on the earlier
    version, under a field manager of its own, so it may hold only the fields it changes, as
    ``kubectl set image`` changes only the image."""
    first, later = split_steps(objects)
    manifests.apply_all(api, first, namespace)
    for obj in later:
        wait_observed(api, obj, namespace)
        manifests.apply_all(api, [obj], namespace, field_manager=STEP_MANAGER)
        wait_settled(api, obj, namespace)


def apply_variant(api: KubeApi, lab: Lab, variant: str, namespace: str) -> int:
    """Apply a variant into ``namespace``; the number of objects applied."""
    objects = variant_objects(lab, variant, namespace)
    apply_objects(api, objects, namespace)
    return len(objects)
