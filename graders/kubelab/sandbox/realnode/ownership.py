"""One real node per machine: who owns it, and a lock for the moments it changes hands.

The node outlives the ``kubelab sandbox up`` process, so ownership is a file naming the
sandbox's workdir, and an flock only serialises ``up`` and ``down``. An owner whose API
server is gone is stale: the next ``up`` cleans up after it.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kubelab.errors import UsageError
from kubelab.sandbox import processes
from kubelab.sandbox.realnode import layout

OWNER_FILE = layout.NODE_RUN / "owner"


def require_capable_host() -> None:
    """A real node needs Linux and root: say so in French, before touching anything."""
    if platform.system() != "Linux":
        raise UsageError(
            "Le nœud réel (--real-node) ne fonctionne que sous Linux : il lance kubelet, containerd et "
            "kube-router sur cette machine. Sans lui, le bac à sable simule ses nœuds avec kwok."
        )
    if os.geteuid() != 0:
        raise UsageError(
            "Le nœud réel (--real-node) demande les droits root (interfaces réseau, iptables, cgroups, "
            "montages) : relancez avec sudo, ou sans --real-node pour un bac à sable simulé."
        )


@contextmanager
def node_lock() -> Iterator[None]:
    """Exclusive, machine-wide, for the duration of an ``up`` or a ``down`` of the node."""
    layout.LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with open(layout.LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def owner() -> Path | None:
    try:
        text = OWNER_FILE.read_text().strip()
    except OSError:
        return None
    return Path(text) if text else None


def claim(workdir: Path) -> None:
    OWNER_FILE.parent.mkdir(parents=True, exist_ok=True)
    OWNER_FILE.write_text(str(workdir))


def release() -> None:
    OWNER_FILE.unlink(missing_ok=True)


def wait_until_free(timeout: float, poll: float = 2.0) -> None:
    """Wait while another live sandbox owns the node (another test session, say)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = owner()
        if current is None or not owner_alive(current):
            return
        time.sleep(poll)
    raise UsageError(f"Le nœud réel est resté occupé par {owner()} pendant {timeout:.0f} s.")


def owner_alive(workdir: Path) -> bool:
    """Whether the sandbox in ``workdir`` still runs (its API server's process is alive)."""
    try:
        pid = int(json.loads((workdir / "state.json").read_text()).get("pids", {}).get("kube-apiserver", -1))
    except (ValueError, TypeError, OSError, AttributeError):
        return False
    return processes.is_alive(pid, str(workdir))
