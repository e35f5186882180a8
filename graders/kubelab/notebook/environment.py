"""Where the notebook runs: who runs it (a learner, nbgrader's autograde or validate), the
lab's namespace, and where the submission snapshot lives.

nbgrader sets ``NBGRADER_EXECUTION`` to ``autograde`` or ``validate`` while it executes a
notebook. In both cases the notebook writes nothing: it applies no manifest and captures no
snapshot, so grading a submission never touches the instructor's cluster nor replaces the
learner's snapshot.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from datetime import datetime
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
HUB_USER_ENV = "JUPYTERHUB_USER"
EXPECT_ASSIGNMENT_ENV = "KUBELAB_EXPECT_ASSIGNMENT"
EXPECT_LEARNER_ENV = "KUBELAB_EXPECT_LEARNER"
WINDOW_OPENS_ENV = "KUBELAB_WINDOW_OPENS"
WINDOW_CLOSES_ENV = "KUBELAB_WINDOW_CLOSES"
"""Set for the autograde kernel by ``kubelab.notebook.nbgrader_hooks.SubmissionContext``."""


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


def learner_identity() -> str:
    """Who submits, as nbgrader names them: the JupyterHub user, else the account running the kernel."""
    return os.environ.get(HUB_USER_ENV, "").strip() or pwd.getpwuid(os.getuid()).pw_name


@dataclass(frozen=True)
class Expectation:
    """What autograde expects of a snapshot: its assignment, its learner and its capture window."""

    assignment: str | None = None
    learner: str | None = None
    opens: datetime | None = None
    closes: datetime | None = None


def _moment(name: str) -> datetime | None:
    value = os.environ.get(name, "").strip()
    return datetime.fromisoformat(value) if value else None


def expectation() -> Expectation:
    """The expectation nbgrader's autograde passed to this kernel (nothing outside autograde)."""
    return Expectation(os.environ.get(EXPECT_ASSIGNMENT_ENV) or None, os.environ.get(EXPECT_LEARNER_ENV) or None,
                       _moment(WINDOW_OPENS_ENV), _moment(WINDOW_CLOSES_ENV))


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
