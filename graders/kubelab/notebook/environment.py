"""Where the notebook runs: who runs it (a learner, nbgrader's autograde or validate), the
lab's namespace, and where the submission snapshot lives.

nbgrader sets ``NBGRADER_EXECUTION`` to ``autograde`` or ``validate`` while it executes a
notebook. In both cases the notebook writes nothing: it applies no manifest and captures no
snapshot, so grading a submission never touches the instructor's cluster nor replaces the
learner's snapshot.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from kubelab.catalog import Lab

KUBECONFIG_ENV = "KUBELAB_KUBECONFIG"
"""A kubeconfig to use instead of the usual search (tests point it at their sandbox)."""
NAMESPACE_ENV = "KUBELAB_NAMESPACE"
"""A namespace to use instead of the lab's own (one per learner on a shared cluster, tests)."""
NBGRADER_ENV = "NBGRADER_EXECUTION"
SNAPSHOT_NAME = "snapshot.json"
"""The submission snapshot, next to the notebook: nbgrader collects it with the notebook."""


class Mode(StrEnum):
    """Who executes the notebook."""

    LEARNER = "apprenant"
    AUTOGRADE = "correction"
    VALIDATE = "validation"


def current_mode() -> Mode:
    """The learner's kernel, or nbgrader executing the notebook (autograde or validate)."""
    value = os.environ.get(NBGRADER_ENV, "")
    if value == "autograde":
        return Mode.AUTOGRADE
    if value == "validate":
        return Mode.VALIDATE
    return Mode.LEARNER


def lab_namespace(lab: Lab) -> str:
    """The namespace to work in: ``$KUBELAB_NAMESPACE``, or the lab's own."""
    return os.environ.get(NAMESPACE_ENV, "").strip() or lab.namespace


def snapshot_path(folder: Path | None = None) -> Path:
    """``snapshot.json`` in the notebook's folder (the kernel's working directory)."""
    return (folder or Path.cwd()) / SNAPSHOT_NAME


def in_instructor_source(folder: Path | None = None) -> bool:
    """Is this the ``source/<lab>/`` folder of an nbgrader course?

    nbgrader releases every file of that folder to the learners: a snapshot written there
    would be handed out with the assignment, so the notebook never writes one there.
    """
    here = (folder or Path.cwd()).resolve()
    return here.parent.name == "source" and (here.parent.parent / "nbgrader_config.py").is_file()
