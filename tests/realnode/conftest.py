"""Helpers of the real-node tests: kubectl as a user runs it, against the shared real sandbox."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from kubelab.kube_api import KubeApi
from kubelab.pytest_plugin import create_namespace
from kubelab.sandbox.build import ensure_binaries
from kubelab.sandbox.cluster import Sandbox
from kubelab.waiting import scaled


@dataclass
class RealCluster:
    """The shared real sandbox, an admin API connection and kubectl."""

    sandbox: Sandbox
    api: KubeApi

    def kubectl(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        binaries = ensure_binaries(progress=lambda _: None)
        result = subprocess.run([str(binaries.kubectl), f"--kubeconfig={self.sandbox.kubeconfig}", *args],
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} : code {result.returncode}\n{result.stderr}")
        return result


@pytest.fixture(scope="session")
def real(real_sandbox: Sandbox) -> Iterator[RealCluster]:
    api = real_sandbox.api()
    yield RealCluster(real_sandbox, api)
    api.close()


@pytest.fixture
def real_namespace(request: pytest.FixtureRequest, real: RealCluster) -> Iterator[str]:
    """A fresh namespace on the real sandbox, deleted after the test."""
    base = "".join(ch if ch.isalnum() else "-" for ch in request.node.name.lower())[:40].strip("-")
    name = f"r-{base}-{uuid.uuid4().hex[:5]}"
    create_namespace(real.api, name)
    yield name
    real.api.delete("v1", "Namespace", name)


def eventually(condition: Callable[[], bool], timeout: float, what: str, poll: float = 0.2) -> None:
    """Poll a condition no watch can report (a connection that a policy starts refusing), for at most
    ``timeout`` seconds times the timeout factor."""
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(poll)
    raise AssertionError(f"délai dépassé ({timeout:.0f} s) en attendant {what}")
