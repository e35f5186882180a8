"""How the benchmarks launch ``kubelab`` as a user would: the installed entry point."""

from __future__ import annotations

import sys
from pathlib import Path


def kubelab_command() -> list[str]:
    """The ``kubelab`` entry point next to this interpreter (as installed), else ``-m kubelab.cli``."""
    script = Path(sys.executable).with_name("kubelab")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kubelab.cli"]
