"""Fixtures des tests de notebooks : le kubeconfig du cluster de test, des namespaces uniques,
et les notebooks « publiés » par nbgrader (solutions retirées) pour chaque lab."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from kubelab.catalog import available_labs
from kubelab.kube_api import KubeApi

from .nbtools import Course, kernel_env


@pytest.fixture(scope="session")
def cluster_kubeconfig(request: pytest.FixtureRequest, kube_sandbox: object | None) -> Path:
    """Le kubeconfig du cluster de test (celui du bac à sable de session, ou --kubeconfig)."""
    if kube_sandbox is None:
        return Path(request.config.getoption("kubelab_kubeconfig"))
    return Path(kube_sandbox.kubeconfig)  # type: ignore[attr-defined]


@pytest.fixture
def fresh_namespace(kube_api: KubeApi) -> Iterator[callable]:
    """Fabrique de noms de namespaces uniques ; ils sont supprimés à la fin du test."""
    made: list[str] = []

    def make(prefix: str) -> str:
        name = f"nb-{prefix}-{uuid.uuid4().hex[:5]}"[:63]
        made.append(name)
        return name

    yield make
    for name in made:
        kube_api.delete("v1", "Namespace", name)


@pytest.fixture(scope="session")
def released(tmp_path_factory: pytest.TempPathFactory, cluster_kubeconfig: Path) -> dict[str, nbformat.NotebookNode]:
    """Le notebook publié (``nbgrader generate_assignment``) de chaque lab, par id de lab."""
    labs = [lab.id for lab in available_labs()]
    course = Course(tmp_path_factory.mktemp("publication") / "cours", labs)
    env = kernel_env(cluster_kubeconfig)
    notebooks = {}
    for lab_id in labs:
        course.nbgrader("generate_assignment", lab_id, env=env)
        notebooks[lab_id] = nbformat.read(course.root / "release" / lab_id / f"{lab_id}.ipynb", as_version=4)
    return notebooks
