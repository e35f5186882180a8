"""Construction du site du cours pour les tests (MkDocs lancé dans un sous-processus)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MKDOCS_YML = REPO / "mkdocs.yml"
OUTPUT_DIR = REPO / "test-output" / "course"


@dataclass
class Build:
    site: Path
    returncode: int
    output: str

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith(("WARNING", "ERROR"))]


def build_site(dest: Path, *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Build:
    """``mkdocs build`` du cours (strict, d'après mkdocs.yml) dans ``dest``.

    La construction est lancée depuis ``cwd`` (un dossier temporaire par défaut) pour prouver
    qu'elle ne dépend pas du répertoire courant.
    """
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KUBELAB_")}
    full_env["NO_MKDOCS_2_WARNING"] = "1"
    full_env.update(env or {})
    workdir = cwd or dest.parent
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(MKDOCS_YML), "-d", str(dest)],
        cwd=workdir,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Build(dest, proc.returncode, proc.stdout + proc.stderr)


def copy_labs(dest: Path) -> Path:
    """Copie de ``labs/`` (énoncés, lab.yaml, manifestes présents) dans un dossier temporaire."""
    shutil.copytree(REPO / "labs", dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest
