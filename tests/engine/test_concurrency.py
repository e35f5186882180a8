"""Checks run in threads over one live state: the shared cache and the rounds stay right.

On the real API server: a refresh is never undone by a list that was answered before it,
and a hung check keeps one thread for the whole wait, however many rounds the wait takes.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from kubelab.catalog import Lab
from kubelab.checks import Check, ObjectRef, Registry, Verdict, failed, passed
from kubelab.cluster_state import ClusterState, Read
from kubelab.grading import grade
from kubelab.kube_api import KubeApi
from kubelab.live_state import LiveState
from kubelab.outcomes import Outcome
from kubelab.waiting import scaled

CONFIGMAPS = Read("v1", "ConfigMap")


def _configmap(namespace: str, name: str, value: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": {"valeur": value}}


class HeldFirstList:
    """The real API, except that the first LIST answer is held back until ``release`` is set."""

    def __init__(self, api: KubeApi) -> None:
        self.api = api
        self.answered = threading.Event()
        self.release = threading.Event()
        self.lists = 0

    def list(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        items = self.api.list(*args, **kwargs)
        self.lists += 1
        if self.lists == 1:
            self.answered.set()
            self.release.wait(scaled(10))
        return items


def _values(objects: list[dict[str, Any]]) -> list[str]:
    return [o["data"]["valeur"] for o in objects if o["metadata"]["name"] == "version"]


def test_a_refresh_is_not_undone_by_a_list_answered_before_it(kube_api: KubeApi, namespace: str) -> None:
    """A check lists ConfigMaps, the grader refreshes while that answer is on its way: does the next
    read see the cluster as it is after the refresh, not the older answer?"""
    kube_api.apply(_configmap(namespace, "version", "1"))
    api = HeldFirstList(kube_api)
    state = LiveState(api, namespace, [CONFIGMAPS])  # type: ignore[arg-type]  # a KubeApi with one held answer
    first: list[list[dict[str, Any]]] = []
    reader = threading.Thread(target=lambda: first.append(state.objects("v1", "ConfigMap")))
    reader.start()
    assert api.answered.wait(scaled(10)), "la première liste n'a pas répondu"
    kube_api.apply(_configmap(namespace, "version", "2"))
    state.refresh(state.reads)
    api.release.set()
    reader.join(scaled(10))
    assert _values(first[0]) == ["1"], "la lecture commencée avant le rafraîchissement garde sa réponse"
    assert _values(state.objects("v1", "ConfigMap")) == ["2"], "le rafraîchissement a été défait par l'ancienne liste"
    assert api.lists == 2


def _hung_and_pending_lab(namespace: str, rounds: list[float]) -> Lab:
    registry = Registry()

    def pending(state: ClusterState) -> Verdict:
        rounds.append(time.monotonic())
        state.objects("v1", "ConfigMap")
        return failed("La ConfigMap `jamais` devrait exister (trouvé : aucune).", ObjectRef("ConfigMap", "jamais"),
                      pending=True)

    def hung(state: ClusterState) -> Verdict:
        time.sleep(scaled(8))
        return passed("Réveillé.")

    registry.check("en-attente", title="En attente", category="configuration", hint="rien")(pending)
    registry.check("bloquee", title="Bloquée", category="fiabilité", hint="rien", timeout=0.3)(hung)
    return Lab(id="99-faux-lab", title="Faux lab", chapter="", namespace=namespace, folder=Path("."),
               checks=tuple(Check(spec, 1) for spec in registry.specs), reads=(CONFIGMAPS,), probes={})


def test_a_hung_check_keeps_one_thread_while_the_grader_waits(kube_api: KubeApi, namespace: str) -> None:
    """While a pending check is awaited over several rounds (the ConfigMaps keep changing), is the hung
    check started once and reported once as « délai dépassé », rather than once per round?"""
    rounds: list[float] = []
    lab = _hung_and_pending_lab(namespace, rounds)
    stop = threading.Event()

    def churn() -> None:
        for index in range(40):
            if stop.wait(0.3):
                return
            kube_api.apply(_configmap(namespace, "remous", str(index)))

    writer = threading.Thread(target=churn, daemon=True)
    writer.start()
    try:
        report = grade(lab, LiveState(kube_api, namespace, lab.reads), wait=4.0)
    finally:
        stop.set()
        writer.join()
    assert len(rounds) >= 3, f"la correction n'a fait que {len(rounds)} tour(s) : le test ne prouve rien"
    hung = [t for t in threading.enumerate() if t.name == "check-bloquee"]
    assert len(hung) == 1, f"{len(hung)} fils pour la vérification bloquée, en {len(rounds)} tours"
    result = report.result("bloquee")
    assert result.outcome is Outcome.ERROR and "délai dépassé" in result.message
    assert [r.check.id for r in report.results] == ["en-attente", "bloquee"]
