"""Find the learner's cluster and say plainly which one it is.

The search is ``kubelab.connection.connect``'s: the kubeconfig named by
``$KUBELAB_KUBECONFIG`` (tests, shared classrooms), else the current context of the usual
kubeconfig (``$KUBECONFIG`` or ``~/.kube/config``), else MicroK8s's own configuration
(``microk8s config``), else the running kubelab sandbox.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from kubelab.connection import connect, default_kubeconfig
from kubelab.errors import KubelabError
from kubelab.kube_api import KubeApi
from kubelab.live_probes import is_fake_node
from kubelab.notebook.environment import KUBECONFIG_ENV
from kubelab.objects import labels_of
from kubelab.paths import sandboxes_root
from kubelab.prerequisites import REAL_NODE_LABEL
from kubelab.typography import plural


@dataclass(frozen=True)
class Cluster:
    """An open connection and how it was found, in French."""

    api: KubeApi
    origin: str
    """Where the connection goes, after « Connecté » (« au bac à sable kubelab … »)."""
    version: str
    nodes: int
    simulated: bool = False
    """Every node is a kwok node: the sandbox, where nothing really runs."""

    @property
    def summary(self) -> str:
        return f"{self.origin} — Kubernetes {self.version}, {plural(self.nodes, 'nœud', 'nœuds')}"


def _origin(api: KubeApi, explicit: str | None, simulated: bool) -> str:
    description = api.description
    if simulated:
        via = f" ; kubeconfig indiqué par ${KUBECONFIG_ENV}" if explicit else ""
        return f"au bac à sable kubelab (nœuds simulés{via})"
    if explicit:
        return f"au kubeconfig indiqué par ${KUBECONFIG_ENV} ({description})"
    if "microk8s.kubeconfig" in description:
        return "à MicroK8s installé sur cette machine (« microk8s config »)"
    if str(sandboxes_root()) in description:
        return "au bac à sable kubelab (« kubelab sandbox up »)"
    return f"au contexte courant de votre kubeconfig ({description})"


def find_cluster() -> Cluster:
    """Connect, check that the API server answers, and describe the cluster.

    Raises ``KubelabError`` with a French message when no cluster can be reached.
    """
    explicit = os.environ.get(KUBECONFIG_ENV, "").strip() or None
    if explicit:
        api = KubeApi.from_kubeconfig(explicit, named_by=f"variable ${KUBECONFIG_ENV}")
    else:
        api = connect()
    try:
        version = api.server_version().get("gitVersion", "?")
        nodes = api.list("v1", "Node")
    except KubelabError:
        api.close()
        raise
    simulated = bool(nodes) and all(is_fake_node(node) for node in nodes)
    origin = _origin(api, explicit, simulated)
    if any(labels_of(node).get(REAL_NODE_LABEL) == "true" for node in nodes):
        via = f" ; kubeconfig indiqué par ${KUBECONFIG_ENV}" if explicit else ""
        origin = f"au bac à sable kubelab (avec un nœud réel, où les conteneurs s'exécutent{via})"
    return Cluster(api, origin, version, len(nodes), simulated)


def how_to_connect() -> str:
    """What to do when no cluster answers, in French."""
    found = default_kubeconfig()
    lines = [
        "Pour travailler, il faut un cluster :",
        "• MicroK8s : « microk8s config > ~/.kube/config » sur la machine MicroK8s ;",
        "• ou le bac à sable : « kubelab sandbox up » dans un terminal ;",
        f"• ou un kubeconfig désigné par la variable {KUBECONFIG_ENV}.",
    ]
    if found:
        lines.append(f"Le kubeconfig « {found} » existe : son contexte courant vise-t-il un cluster démarré ?")
    return "\n".join(lines)
