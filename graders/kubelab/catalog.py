"""The labs: metadata from ``labs/<id>/lab.yaml``, checks from ``kubelab.labs.<module>``.

A lab's weights (check id -> points) live in its ``lab.yaml``; the check logic lives in its
grader module. Loading a lab validates that both agree, with a French error naming the file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import yaml

from kubelab.checks import Check, Registry
from kubelab.cluster_state import Probe, Read
from kubelab.errors import UsageError
from kubelab.kube_api import KubeApi
from kubelab.paths import labs_root
from kubelab.requirements import Requirements, requirements_from


@dataclass(frozen=True)
class Lab:
    """One lab: its metadata, folder and weighted checks."""

    id: str
    title: str
    chapter: str
    namespace: str
    folder: Path
    checks: tuple[Check, ...]
    reads: tuple[Read, ...]
    probes: dict[str, Probe]
    setup_hook: Callable[[KubeApi, str], None] | None = None
    requires: Requirements = Requirements()
    other_namespaces: tuple[str, ...] = ()
    """Namespaces besides its own that the lab's notebook cells may write to (``lab.yaml``)."""

    @property
    def max_points(self) -> int:
        return sum(check.points for check in self.checks)

    def visible_checks(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.hidden)


def module_name(lab_id: str) -> str:
    """``03-stockage-pvc`` -> ``kubelab.labs.lab03_stockage_pvc``."""
    number, _, slug = lab_id.partition("-")
    return f"kubelab.labs.lab{number}_{slug.replace('-', '_')}"


def lab_ids() -> list[str]:
    """Every lab folder that has a ``lab.yaml``, in order."""
    root = labs_root()
    return sorted(p.parent.name for p in root.glob("*/lab.yaml"))


def _read_metadata(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", ligne {mark.line + 1}" if mark else ""
        raise UsageError(f"YAML invalide dans « {path} »{where} : {getattr(exc, 'problem', exc)}.") from exc
    if not isinstance(data, dict):
        raise UsageError(f"« {path} » devrait décrire le lab (id, title, namespace, checks).")
    for field in ("id", "title", "namespace", "checks"):
        if field not in data:
            raise UsageError(f"Le champ « {field} » manque dans « {path} ».")
    return data


def _weights(path: Path, raw: object) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise UsageError(f"« checks » de « {path} » devrait associer chaque id de vérification à ses points.")
    for check_id, points in raw.items():
        if not isinstance(points, int) or isinstance(points, bool) or points < 0:
            raise UsageError(f"Les points de « {check_id} » dans « {path} » devraient être un entier positif (trouvé : {points!r}).")
    return dict(raw)


@cache
def load_lab(lab_id: str) -> Lab:
    """A lab by id, or a French error listing the known ones."""
    folder = labs_root() / lab_id
    metadata_path = folder / "lab.yaml"
    if not metadata_path.is_file():
        known = ", ".join(lab_ids()) or "aucun"
        raise UsageError(f"Lab inconnu : « {lab_id} » (labs disponibles : {known}).")
    module = _grader_module(lab_id)
    data = _read_metadata(metadata_path)
    weights = _weights(metadata_path, data["checks"])
    registry: Registry = module.registry
    declared = {spec.id for spec in registry.specs}
    missing = [spec.id for spec in registry.specs if spec.id not in weights]
    unknown = [check_id for check_id in weights if check_id not in declared]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"sans points : {', '.join(missing)}")
        if unknown:
            problems.append(f"inconnues du correcteur : {', '.join(unknown)}")
        raise UsageError(f"Les vérifications de « {metadata_path} » ne correspondent pas au correcteur ({' ; '.join(problems)}).")
    checks = tuple(Check(spec, weights[spec.id]) for spec in registry.specs)
    try:
        requires = requirements_from(data.get("requires"), f"« {metadata_path} »")
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    others = data.get("other_namespaces") or []
    if not isinstance(others, list) or not all(isinstance(n, str) for n in others):
        raise UsageError(f"« other_namespaces » de « {metadata_path} » devrait être une liste de namespaces.")
    return Lab(
        id=data["id"], title=data["title"], chapter=data.get("chapter", ""), namespace=data["namespace"],
        folder=folder, checks=checks, reads=tuple(module.READS), probes=dict(getattr(module, "PROBES", {})),
        setup_hook=getattr(module, "setup_lab", None), requires=requires, other_namespaces=tuple(others),
    )


def _grader_module(lab_id: str) -> ModuleType:
    name = module_name(lab_id)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            raise UsageError(f"Le lab « {lab_id} » n'a pas encore de correcteur ({name}).") from exc
        raise


def available_labs(on_broken: Callable[[str, UsageError], None] | None = None) -> list[Lab]:
    """Every lab whose grader exists. A lab that does not load raises, or is passed to ``on_broken`` and skipped."""
    labs = []
    for lab_id in lab_ids():
        try:
            labs.append(load_lab(lab_id))
        except UsageError as exc:
            if "pas encore de correcteur" in exc.message:
                continue
            if on_broken is None:
                raise
            on_broken(lab_id, exc)
    return labs
