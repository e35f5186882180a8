"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def bare_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A second sandbox as a learner's plain « kubelab sandbox up » starts it: one node, the ``dns`` addon only
    (no ``hostpath-storage``, no ``ingress``, no RBAC), for the prerequisites a lab must report missing."""
    from kubelab.sandbox.cluster import Sandbox

    root = Path(os.environ.get("KUBELAB_TEST_SANDBOX_ROOT") or tmp_path_factory.mktemp("sandboxes-nues"))
    sandbox = Sandbox(f"nu-{uuid.uuid4().hex[:6]}", root=root)
    sandbox.up(nodes=1, addons=("dns",), progress=lambda _: None)
    try:
        yield sandbox
    finally:
        sandbox.down(progress=lambda _: None)
