"""The real node's part in a sandbox's ``up`` and ``down``.

``Sandbox.up(real_node=True)`` calls ``claim_host`` (checks, lock, clean-up after a crash,
host set-up) before its API server starts, and ``join`` once the API answers. ``release_host``
stops the node and restores the host when its sandbox goes down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from kubelab.errors import UsageError
from kubelab.kube_api import KubeApi
from kubelab.sandbox.pki import Pki
from kubelab.sandbox.realnode import layout, node, ownership, teardown

Progress = Callable[[str], None]


def claim_host(workdir: Path, slot: int, progress: Progress) -> layout.NodeNetwork:
    """Take the machine's real node for the sandbox in ``workdir`` and prepare the host."""
    ownership.require_capable_host()
    network = node.network_for_slot(slot)
    with ownership.node_lock():
        current = ownership.owner()
        if current is not None and current != workdir and ownership.owner_alive(current):
            raise UsageError(
                f"Le nœud réel de cette machine appartient déjà au bac à sable {current} : une seule machine, "
                "un seul nœud réel. Arrêtez-le (« kubelab sandbox down --name … ») ou lancez celui-ci sans --real-node."
            )
        _clean_stale(progress)
        node.prepare_host(network)
        ownership.claim(workdir)
    return network


def clean_stale(progress: Progress) -> None:
    """Clean what a crashed real node left, unless a live sandbox owns the node."""
    with ownership.node_lock():
        current = ownership.owner()
        if current is not None and ownership.owner_alive(current):
            return
        _clean_stale(progress)


def _clean_stale(progress: Progress) -> None:
    if teardown.leftovers_exist():
        progress("Un nœud réel précédent n'a pas été arrêté proprement : nettoyage de la machine…")
        for line in teardown.teardown(progress):
            progress(f"⚠ {line}")
        ownership.release()


def release_host(workdir: Path, progress: Progress) -> None:
    """Stop the node and restore the host, if this sandbox owns the node (or nobody does)."""
    with ownership.node_lock():
        current = ownership.owner()
        if current is not None and current != workdir:
            return
        if current is None and not teardown.leftovers_exist():
            return
        left = teardown.teardown(progress)
        ownership.release()
    for line in left:
        progress(f"⚠ reste sur la machine après l'arrêt du nœud réel : {line}")


def owns_node(workdir: Path) -> bool:
    return ownership.owner() == workdir


def join(api: KubeApi, pki: Pki, server: str, node_name: str, network: layout.NodeNetwork,
         executables: node.NodeExecutables, logs: Path, pids: dict[str, int], timeout: float) -> None:
    """Start the node's processes and wait until the Node is Ready."""
    started = time.monotonic()
    node.start(api, pki, server, node_name, network, executables, logs, pids)
    node.wait_ready(api, node_name, pids, logs, max(1.0, timeout - (time.monotonic() - started)))
    node.start_firewall(pki, server, node_name, executables, logs, pids)

