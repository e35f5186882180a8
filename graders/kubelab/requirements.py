"""What a lab needs from the cluster, as its ``lab.yaml`` declares it (``requires``).

Pure data, read with the lab's metadata; ``kubelab.prerequisites`` checks it on a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

ADDONS = ("dns", "hostpath-storage", "ingress", "rbac")


@dataclass(frozen=True)
class Requirements:
    """A lab's needs, from the ``requires`` block of its ``lab.yaml``."""

    addons: tuple[str, ...] = ()
    nodes: int = 1
    data_plane: bool = False
    """Its live probes need containers that really run (they are not scored: a warning only)."""


def requirements_from(data: object, where: str) -> Requirements:
    """Parse a ``requires`` block; ``ValueError`` with a French message naming the wrong field."""
    if data is None:
        return Requirements()
    if not isinstance(data, dict):
        raise ValueError(f"« requires » de {where} devrait être une table (addons, nodes, data_plane).")
    unknown = sorted(set(data) - {"addons", "nodes", "data_plane"})
    if unknown:
        raise ValueError(f"« requires » de {where} : champ inconnu « {unknown[0]} » (attendus : addons, nodes, "
                         "data_plane).")
    addons = data.get("addons") or []
    if not isinstance(addons, list) or any(addon not in ADDONS for addon in addons):
        raise ValueError(f"« requires.addons » de {where} devrait être une liste parmi {', '.join(ADDONS)} "
                         f"(trouvé : {addons}).")
    nodes = data.get("nodes", 1)
    if not isinstance(nodes, int) or isinstance(nodes, bool) or nodes < 1:
        raise ValueError(f"« requires.nodes » de {where} devrait être un entier d'au moins 1 (trouvé : {nodes}).")
    return Requirements(tuple(addons), nodes, bool(data.get("data_plane", False)))
