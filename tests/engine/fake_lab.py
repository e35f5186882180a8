"""A lab built by hand, with checks that pass, hang or crash: no cluster, no lab folder needed.

``build_lab`` makes a ``kubelab.catalog.Lab`` directly; ``GRADER_SOURCE`` is the same grader
as a module file, for the CLI (which loads graders by lab id from ``kubelab.labs``).
"""

from __future__ import annotations

import time
from pathlib import Path

from kubelab.catalog import Lab
from kubelab.checks import Check, Registry, Verdict, passed
from kubelab.cluster_state import ClusterState, SnapshotState

FAKE_ID = "99-faux-lab"
FAKE_NAMESPACE = "faux"
IDENTITY = {"uid": "00000000-0000-0000-0000-000000000000", "server_version": "v0.0.0"}


def build_lab(hang: float = 5.0, timeout: float = 0.5, hung: int = 1, crash: bool = True,
              fast_timeout: float | None = None) -> Lab:
    """``hung`` checks that sleep ``hang`` s with a ``timeout`` s deadline, one that raises, two that pass."""
    registry = Registry()

    def fast(state: ClusterState) -> Verdict:
        return passed("Tout va bien.")

    def sleeper(state: ClusterState) -> Verdict:
        time.sleep(hang)
        return passed("Réveillé.")

    def crasher(state: ClusterState) -> Verdict:
        raise ValueError("boum")

    registry.check("rapide-avant", title="Rapide avant", category="configuration", hint="rien",
                   timeout=fast_timeout)(fast)
    for index in range(hung):
        registry.check(f"bloquee-{index}", title="Bloquée", category="fiabilité", hint="rien", timeout=timeout)(sleeper)
    if crash:
        registry.check("plantee", title="Plantée", category="exploitation", hint="rien")(crasher)
    registry.check("rapide-apres", title="Rapide après", category="configuration", hint="rien",
                   timeout=fast_timeout)(fast)
    return Lab(id=FAKE_ID, title="Faux lab", chapter="", namespace=FAKE_NAMESPACE, folder=Path("."),
               checks=tuple(Check(spec, 1) for spec in registry.specs), reads=(), probes={})


def empty_state() -> SnapshotState:
    return SnapshotState(FAKE_NAMESPACE, (), {}, {}, {}, IDENTITY)


GRADER_SOURCE = '''
"""A grader whose checks pass, hang and crash (test fixture)."""
import time

from kubelab.checks import Registry, passed

registry = Registry()
READS = ()


@registry.check("rapide", title="Rapide", category="configuration", hint="rien")
def fast(state):
    return passed("Tout va bien.")


@registry.check("bloquee", title="Bloquée", category="fiabilité", hint="rien", timeout=0.5)
def hung(state):
    time.sleep({hang})
    return passed("Réveillé.")


@registry.check("plantee", title="Plantée", category="exploitation", hint="rien")
def crash(state):
    raise ValueError("boum")
'''

LAB_YAML = f"""id: {FAKE_ID}
title: Faux lab
chapter: ""
namespace: {FAKE_NAMESPACE}
checks:
  rapide: 1
  bloquee: 1
  plantee: 1
"""
