"""kubelab's pytest plugin: options, the ``points`` marker, cluster and namespace fixtures.

Registered through the ``pytest11`` entry point. By default a session-scoped sandbox is
started once per test run (and stopped at the end); ``--kubeconfig`` grades an existing
cluster instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelab.kube_api import KubeApi
from kubelab.waiting import wait_for

SESSION_ADDONS = ("dns", "hostpath-storage", "ingress", "rbac")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kubelab", "kubelab : cluster à corriger")
    group.addoption("--kubeconfig", dest="kubelab_kubeconfig", default=None,
                    help="kubeconfig d'un cluster existant (sinon : un bac à sable démarré pour la session)")
    group.addoption("--context", dest="kubelab_context", default=None, help="contexte du kubeconfig")
    group.addoption("--sandbox-nodes", dest="kubelab_sandbox_nodes", type=int, default=3,
                    help="nœuds du plan de contrôle du bac à sable de session (défaut : 3)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): nombre de points de la vérification")
    if config.getoption("kubelab_context") and not config.getoption("kubelab_kubeconfig"):
        raise pytest.UsageError("--context demande aussi --kubeconfig.")


@pytest.fixture(scope="session")
def kube_sandbox(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object | None]:
    """The session's sandbox (``None`` when testing an existing cluster with --kubeconfig)."""
    if request.config.getoption("kubelab_kubeconfig"):
        yield None
        return
    from kubelab.sandbox.cluster import Sandbox

    root = Path(os.environ.get("KUBELAB_TEST_SANDBOX_ROOT") or tmp_path_factory.mktemp("sandboxes"))
    sandbox = Sandbox(f"session-{uuid.uuid4().hex[:6]}", root=root)
    sandbox.up(nodes=request.config.getoption("kubelab_sandbox_nodes"), addons=SESSION_ADDONS,
               audit=True, progress=lambda _: None)
    try:
        yield sandbox
    finally:
        sandbox.down(progress=lambda _: None)


@pytest.fixture(scope="session")
def kube_api(request: pytest.FixtureRequest, kube_sandbox: object | None) -> Iterator[KubeApi]:
    """An admin connection to the cluster under test."""
    if kube_sandbox is None:
        api = KubeApi.from_kubeconfig(request.config.getoption("kubelab_kubeconfig"),
                                      request.config.getoption("kubelab_context"))
    else:
        api = kube_sandbox.api()  # type: ignore[attr-defined]
    yield api
    api.close()


@pytest.fixture
def namespace(request: pytest.FixtureRequest, kube_api: KubeApi) -> Iterator[str]:
    """A fresh namespace with a unique name, deleted after the test."""
    base = "".join(ch if ch.isalnum() else "-" for ch in request.node.name.lower())[:40].strip("-")
    name = f"t-{base}-{uuid.uuid4().hex[:5]}"
    create_namespace(kube_api, name)
    yield name
    kube_api.delete("v1", "Namespace", name)


def create_namespace(api: KubeApi, name: str, labels: dict[str, str] | None = None) -> None:
    """Create a namespace and wait for its default ServiceAccount (pods need it)."""
    api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}})
    wait_for(api, "v1", "ServiceAccount", lambda sas: any(sa["metadata"]["name"] == "default" for sa in sas),
             namespace=name, what=f"le ServiceAccount default de {name}")
