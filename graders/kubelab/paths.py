"""Where things live: the repository, the machine-wide cache, the sandboxes."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def cache_root() -> Path:
    """Machine-wide cache (survives clones): ``$KUBELAB_CACHE`` or ``~/.cache/kubelab``."""
    env = os.environ.get("KUBELAB_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "kubelab"


def sandboxes_root() -> Path:
    """Where each running sandbox keeps its workdir: ``$KUBELAB_SANDBOX_HOME`` or the cache."""
    env = os.environ.get("KUBELAB_SANDBOX_HOME")
    return Path(env).expanduser() if env else cache_root() / "sandboxes"


def labs_root() -> Path:
    """The folder holding one sub-folder per lab."""
    return Path(os.environ.get("KUBELAB_LABS", REPO_ROOT / "labs"))
