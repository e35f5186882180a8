"""Stop the real node and give the host back as it was: idempotent, and safe after a crash.

Order matters: the kubelet first (it would restart containers), then every process in the
node's cgroups and the containerd shims, containerd itself, then mounts (deepest first),
cgroups (leaves first), the host network and firewall state, and last the node's folders.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from kubelab.sandbox.realnode import host_network, host_state, layout

Progress = Callable[[str], None]
KILL_GRACE = 2.0
POLL = 0.05


def teardown(progress: Progress) -> list[str]:
    """Undo everything; return the French list of what could not be restored (normally empty)."""
    before = host_network.journal_before()
    _stop_processes()
    _unmount_all()
    _remove_cgroups()
    host_network.restore(progress)
    _remove_files()
    host_network.forget_journal()
    shutil.rmtree(layout.NODE_RUN, ignore_errors=True)
    if before is None:
        return []
    return host_state.differences(before, host_state.capture())


def leftovers_exist() -> bool:
    """Whether a previous real node left anything behind (processes, folders, links, journal)."""
    if layout.JOURNAL.exists() or layout.NODE_ROOT.exists() or layout.NODE_RUN.exists():
        return True
    links = host_network.run(["ip", "-o", "link", "show"], check=False).stdout
    return f" {layout.HOST_LINK}:" in links or f" {layout.POD_BRIDGE}:" in links or bool(host_state.node_pids())


def _stop_processes() -> None:
    """SIGTERM the kubelet, then SIGKILL everything that belongs to the node, until none is left."""
    for pid in host_state.node_pids():
        if _command(pid).startswith(("kubelet", "kube-router", "kube-proxy")) or "/kubelet " in _command(pid):
            _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + KILL_GRACE * 10
    while time.monotonic() < deadline:
        pids = [pid for pid in host_state.node_pids() if pid != os.getpid()]
        if not pids:
            return
        for pid in pids:
            _signal(pid, signal.SIGKILL)
        time.sleep(POLL)


def _command(pid: int) -> str:
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode(errors="replace")
    except OSError:
        return ""
    return Path(argv0).name


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _unmount_all() -> None:
    """Unmount whatever lies under the node's folders, deepest first; lazily if busy."""
    for _ in range(5):
        mounts = host_state.node_mounts()
        if not mounts:
            return
        for point in mounts:
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True)


def _remove_cgroups() -> None:
    """rmdir the node's cgroup trees, leaves first (a cgroup folder only goes when empty)."""
    deadline = time.monotonic() + KILL_GRACE * 5
    while time.monotonic() < deadline:
        roots = host_state.node_cgroups()
        if not roots:
            return
        for root in roots:
            for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                _kill_tasks(folder)
                _rmdir(folder)
            _kill_tasks(root)
            _rmdir(root)
        time.sleep(POLL)


def _kill_tasks(folder: Path) -> None:
    try:
        pids = (folder / "cgroup.procs").read_text().split()
    except OSError:
        return
    for pid in pids:
        _signal(int(pid), signal.SIGKILL)


def _rmdir(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _remove_files() -> None:
    shutil.rmtree(layout.NODE_ROOT, ignore_errors=True)
    for created in host_network.created_folders():
        shutil.rmtree(created, ignore_errors=True)
    cni_cache = Path("/var/lib/cni")
    for path in list(cni_cache.glob(f"results/{layout.CNI_NETWORK}-*")) + [cni_cache / "networks" / layout.CNI_NETWORK]:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    logs = Path("/var/log/containers")
    for link in logs.glob("*.log") if logs.is_dir() else []:
        if link.is_symlink() and layout.owned_path(os.readlink(link)):
            link.unlink(missing_ok=True)
