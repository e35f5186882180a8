"""Small helpers shared by the project's tests."""

from __future__ import annotations

import os
import re
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


FENCED_BASH = re.compile(r"```bash\n(.*?)```", re.DOTALL)


def statement_blocks(lab_folder: Path) -> list[str]:
    """The ``bash`` code blocks of a lab's statement, indentation removed, comments kept: the commands as a
    learner copies them."""
    text = (lab_folder / "README.md").read_text(encoding="utf-8")
    blocks = []
    for block in FENCED_BASH.findall(text):
        lines = block.splitlines()
        indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
        blocks.append("\n".join(line[indent:] for line in lines).strip())
    return blocks


def statement_block(lab_folder: Path, fragment: str) -> str:
    """The one ``bash`` block of the statement that contains ``fragment``."""
    found = [block for block in statement_blocks(lab_folder) if fragment in block]
    assert len(found) == 1, f"{len(found)} blocs bash contiennent « {fragment} » dans {lab_folder}/README.md"
    return found[0]
