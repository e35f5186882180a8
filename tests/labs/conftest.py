"""Fixtures of the lab tests: a shell that runs a statement's commands as a learner would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Shell = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def learner_env(request: pytest.FixtureRequest, kube_sandbox: object | None) -> dict[str, str]:
    """The environment of a learner's terminal: ``KUBECONFIG`` of the cluster under test, ``kubectl`` and
    ``kubelab`` on the ``PATH`` (kubectl is the sandbox's own build, the version of the cluster)."""
    from kubelab.sandbox.build import ensure_binaries

    if kube_sandbox is None:
        kubeconfig = Path(request.config.getoption("kubelab_kubeconfig"))
    else:
        kubeconfig = Path(kube_sandbox.kubeconfig)  # type: ignore[attr-defined]
    kubectl = ensure_binaries(progress=lambda _: None).kubectl
    path = os.pathsep.join([str(kubectl.parent), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "KUBECONFIG": str(kubeconfig), "PATH": path}


@pytest.fixture
def shell(learner_env: dict[str, str], tmp_path: Path) -> Shell:
    """``shell(command)``: run a command line with bash in a fresh folder, as typed in a terminal."""

    def run(command: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-euo", "pipefail", "-c", command], capture_output=True, text=True,
                              timeout=timeout, env=learner_env, cwd=tmp_path)

    return run
