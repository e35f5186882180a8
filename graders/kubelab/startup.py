"""What keeps a workload's pods from starting or ever becoming Ready, read from its spec.

On a simulated node every pod becomes Ready, whatever it references: a check that reads
only pod status would pass work that fails on any real cluster. These are the mistakes
that fail there for certain, so a readiness check reports them on every cluster:

- a ConfigMap, Secret or key it references does not exist (``CreateContainerConfigError``),
  unless the reference is ``optional``;
- a claim it mounts does not exist (the pod stays Pending);
- a probe targets a port name the container does not declare (the probe always fails), or a
  port number that no container of the pod declares while the container declares its ports (it
  listens on those: the probe knocks on a closed port).
"""

from __future__ import annotations

from typing import Any

from kubelab.cluster_state import ClusterState
from kubelab.objects import containers
from kubelab.ports import PROBE_KINDS, probe_port, probe_port_problem
from kubelab.references import Lookup, missing

Obj = dict[str, Any]


def startup_problems(workload: Obj, lookup: Lookup) -> list[str]:
    """The reasons, in French, why the pods of ``workload`` cannot start or become Ready."""
    problems = missing(workload, lookup)
    numbers = {p.get("containerPort") for c in containers(workload) for p in c.get("ports") or []}
    for container in containers(workload):
        for kind in PROBE_KINDS:
            port = probe_port(container.get(kind))
            numbered = isinstance(port, int) or (isinstance(port, str) and port.isdigit())
            sure = not numbered or (bool(container.get("ports")) and int(port) not in numbers)  # type: ignore[arg-type]
            found = probe_port_problem(container, kind, named_only=not numbered) if sure else None
            if found:
                problems.append(found)
    return problems


def state_lookup(state: ClusterState) -> Lookup:
    """A lookup over a ``ClusterState`` of the lab's namespace (ConfigMap, Secret, PVC reads declared)."""
    def lookup(kind: str, name: str) -> Obj | None:
        return state.get("v1", kind, name)

    return lookup
