"""Small helpers shared by the project's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from kubelab import manifest_text, manifests
from kubelab.kube_api import KubeApi

REPO = Path(__file__).resolve().parents[1]


def apply_yaml(api: KubeApi, text: str, namespace: str | None = None) -> list[dict[str, Any]]:
    """Apply the YAML documents of ``text`` (server-side apply)."""
    return manifests.apply_all(api, manifest_text.parse(text, "le test"), namespace)


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``kubelab ARGS`` as a user would, in a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "kubelab.cli", *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})}, cwd=REPO,
    )
