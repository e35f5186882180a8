"""The labs: metadata from ``labs/<id>/lab.yaml``, checks from ``kubelab.labs.<module>``.

A lab's weights (check id -> points) live in its ``lab.yaml``; the check logic lives in its
grader module. Loading a lab validates that both agree, with a French error naming the file.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from kubelab.checks import Check, Registry
from kubelab.cluster_state import Probe, Read
from kubelab.errors import UsageError
from kubelab.kube_api import KubeApi
from kubelab.manifest_text import read_yaml_file
from kubelab.paths import labs_root
from kubelab.requirements import Requirements, requirements_from


@dataclass(frozen=True)
class SetupStep:
    """A later step of a lab's preparation, run by ``kubelab lab setup LAB --step N`` (step 1 is the setup)."""

    description: str
    function: Callable[[KubeApi, str], None]


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
    setup_steps: dict[int, SetupStep] = dataclasses.field(default_factory=dict)
    requires: Requirements = Requirements()
    other_namespaces: tuple[str, ...] = ()
    """Namespaces besides its own that the lab's notebook cells may write to (``lab.yaml``)."""

    @property
    def max_points(self) -> int:
        return sum(check.points for check in self.checks)

    def reads_kind(self, kind: str) -> bool:
        """Do the lab's checks read objects of ``kind`` (the dashboard shows claims only if so)?"""
        return any(read.kind == kind for read in self.reads)

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


class WorkInProgress(UsageError):
    """A lab that its ``lab.yaml`` marks ``work_in_progress: true``: listed nowhere, graded by nothing yet."""


class NoGrader(UsageError):
    """A lab folder whose grader module does not exist (and that is not marked as work in progress)."""


def _read_metadata(path: Path) -> dict:
    data = read_yaml_file(path)
    if not isinstance(data, dict):
        raise UsageError(f"« {path} » devrait décrire le lab (id, title, namespace, checks).")
    if data.get("work_in_progress") is True:
        raise WorkInProgress(f"Le lab « {path.parent.name} » est en préparation (« work_in_progress: true » dans "
                             f"« {path} ») : il n'a pas encore de correcteur.")
    for field in ("id", "title", "namespace", "checks"):
        if field not in data:
            raise UsageError(f"Le champ « {field} » manque dans « {path} ».")
    return data


def _weights(path: Path, raw: object) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise UsageError(f"« checks » de « {path} » devrait associer chaque id de vérification à ses points.")
    for check_id, points in raw.items():
        if not isinstance(points, int) or isinstance(points, bool) or points < 0:
            raise UsageError(f"Les points de « {check_id} » dans « {path} » devraient être un entier positif (trouvé : "
                             f"{points!r}).")
    return dict(raw)


@cache
def load_lab(lab_id: str) -> Lab:
    """A lab by id, or a French error listing the known ones."""
    folder = labs_root() / lab_id
    metadata_path = folder / "lab.yaml"
    if not metadata_path.is_file():
        known = ", ".join(lab_ids()) or "aucun"
        raise UsageError(f"Lab inconnu : « {lab_id} » (labs disponibles : {known}).")
    data = _read_metadata(metadata_path)
    module = _grader_module(lab_id)
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
        raise UsageError(f"Les vérifications de « {metadata_path} » ne correspondent pas au correcteur "
                         f"({' ; '.join(problems)}).")
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
        setup_hook=getattr(module, "setup_lab", None), setup_steps=dict(getattr(module, "SETUP_STEPS", {})),
        requires=requires, other_namespaces=tuple(others),
    )


def _grader_module(lab_id: str) -> ModuleType:
    name = module_name(lab_id)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            raise NoGrader(f"Le lab « {lab_id} » n'a pas de correcteur ({name}) : écrivez-le, ou marquez le lab "
                           "« work_in_progress: true » dans son lab.yaml.") from exc
        raise


def available_labs(on_broken: Callable[[str, UsageError], None] | None = None) -> list[Lab]:
    """Every lab but those marked as work in progress.

    A lab that does not load (no grader, a grader that disagrees with its ``lab.yaml``…) raises,
    or is passed to ``on_broken`` and skipped: a lab never disappears without a word.
    """
    labs = []
    for lab_id in lab_ids():
        try:
            labs.append(load_lab(lab_id))
        except WorkInProgress:
            continue
        except UsageError as exc:
            if on_broken is None:
                raise
            on_broken(lab_id, exc)
    return labs
