"""The live dashboard: where the submission stands, nodes and their roles, the lab's pods on
each node, its claims.

Two or three LISTs per refresh (nodes, pods and, for a lab that reads them, claims of the
lab's namespace), rendered as HTML in an ipywidgets panel with an « Actualiser » button and
an optional automatic refresh. After an apply it follows the cluster for a few seconds, so
pods appear and become ready without a click. A lab may add its own panel (lab 04: the
reachability grid, see ``kubelab.notebook.netpol_panel``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kubelab.catalog import Lab
from kubelab.errors import KubelabError
from kubelab.kube_api import KubeApi
from kubelab.notebook import html
from kubelab.objects import is_ready, labels_of, name_of
from kubelab.typography import plural

Obj = dict[str, Any]
Panel = Callable[[KubeApi, Lab, str], str]
REFRESH_SECONDS = 5.0
FOLLOW_SECONDS = 20.0
"""After an apply, how long the dashboard follows the cluster (one refresh a second, until it settles)."""
FOLLOW_STABLE = 3
CONTROL_PLANE_LABELS = ("node.kubernetes.io/microk8s-controlplane", "node-role.kubernetes.io/control-plane",
                        "node-role.kubernetes.io/master")
WORKER_LABELS = ("node.kubernetes.io/microk8s-worker", "node-role.kubernetes.io/worker")


def node_roles(node: Obj) -> str:
    """« plan de contrôle », « worker » or both, from the node's labels."""
    labels = labels_of(node)
    roles = []
    if any(label in labels for label in CONTROL_PLANE_LABELS):
        roles.append("plan de contrôle")
    if any(label in labels for label in WORKER_LABELS):
        roles.append("worker")
    return " et ".join(roles) or "worker"


def pod_badge(pod: Obj) -> str:
    status = pod.get("status") or {}
    phase = status.get("phase", "?")
    waiting = next((s.get("state", {}).get("waiting", {}).get("reason") for s in status.get("containerStatuses") or []
                    if s.get("state", {}).get("waiting")), None)
    if pod["metadata"].get("deletionTimestamp"):
        label, colour, background = f"{name_of(pod)} : arrêt en cours", html.GREY, html.LIGHT_GREY
    elif is_ready(pod):
        label, colour, background = f"{name_of(pod)} : prêt", html.GREEN, html.LIGHT_GREEN
    elif waiting:
        label, colour, background = f"{name_of(pod)} : {waiting}", html.RED, html.LIGHT_RED
    else:
        label, colour, background = f"{name_of(pod)} : {phase}, non prêt", html.ORANGE, html.LIGHT_ORANGE
    return html.badge(label, colour, background)


def claim_badge(claim: Obj) -> str:
    phase = (claim.get("status") or {}).get("phase", "?")
    if phase == "Bound":
        return html.badge("Bound", html.GREEN, html.LIGHT_GREEN)
    if phase == "Pending":
        return html.badge("Pending", html.ORANGE, html.LIGHT_ORANGE)
    return html.badge(phase, html.RED, html.LIGHT_RED)


def render(nodes: list[Obj], pods: list[Obj], claims: list[Obj] | None, namespace: str) -> str:
    """Nodes with their roles and pods, unscheduled pods, and claims (``None``: the lab has none), as HTML."""
    by_node: dict[str, list[Obj]] = {}
    for pod in sorted(pods, key=name_of):
        by_node.setdefault((pod.get("spec") or {}).get("nodeName") or "", []).append(pod)
    node_rows = []
    for node in sorted(nodes, key=name_of):
        if is_ready(node):
            state = html.badge("Ready", html.GREEN, html.LIGHT_GREEN)
        else:
            state = html.badge("NotReady", html.RED, html.LIGHT_RED)
        if (node.get("spec") or {}).get("unschedulable"):
            state += " " + html.badge("SchedulingDisabled", html.ORANGE, html.LIGHT_ORANGE)
        hosted = (" ".join(pod_badge(p) for p in by_node.get(name_of(node), []))
                  or f'<span style="color: {html.GREY}">aucun</span>')
        node_rows.append([f'<code style="white-space: nowrap">{html.text(name_of(node))}</code>',
                          html.text(node_roles(node)), state, hosted])
    ready = sum(1 for pod in pods if is_ready(pod))
    parts = [f"<b>{html.text(plural(len(nodes), 'nœud', 'nœuds').capitalize())}</b> et "
             f"{html.text(plural(len(pods), 'pod', 'pods'))} ({html.text(plural(ready, 'prêt', 'prêts'))}) "
             f"du namespace « {html.text(namespace)} »",
             html.table(["Nœud", "Rôle", "État", "Pods du lab"], node_rows)]
    pending = by_node.get("", [])
    if pending:
        parts.append("<b>Pods sans nœud</b> (pas encore planifiés) : " + " ".join(pod_badge(p) for p in pending))
    if claims is not None:
        parts.append(claims_panel(claims))
    return f'<div style="{html.FONT}">' + "".join(parts) + "</div>"


def claims_panel(claims: list[Obj]) -> str:
    """The claims of the lab's namespace: state, volume, capacity, class, access modes."""
    rows = []
    for claim in sorted(claims, key=name_of):
        spec, status = claim.get("spec") or {}, claim.get("status") or {}
        requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "—")
        rows.append([f"<code>{html.text(name_of(claim))}</code>", claim_badge(claim),
                     html.text(spec.get("volumeName") or "—"),
                     html.text((status.get("capacity") or {}).get("storage") or requested),
                     html.text(spec.get("storageClassName") or "(par défaut)"),
                     html.text(", ".join(spec.get("accessModes") or []) or "—")])
    title = f"<br><b>Volumes demandés (PVC)</b> ({len(claims)})"
    if not rows:
        return title + f'<div style="color: {html.GREY}">Aucun PVC dans le namespace.</div>'
    return title + html.table(["PVC", "État", "Volume", "Capacité", "Classe", "Accès"], rows)


def snapshot_of_cluster(api: KubeApi, namespace: str, claims: bool = True) -> tuple[list[Obj], list[Obj],
                                                                                     list[Obj] | None]:
    """The lists the dashboard shows (claims only when asked)."""
    return (api.list("v1", "Node"), api.list("v1", "Pod", namespace),
            api.list("v1", "PersistentVolumeClaim", namespace) if claims else None)


def lab_panels(lab: Lab) -> list[Panel]:
    """The extra panels of a lab (lab 04: the reachability grid)."""
    if lab.id.startswith("04-"):
        from kubelab.notebook.netpol_panel import reachability_panel

        return [reachability_panel]
    return []


class Dashboard:
    """The dashboard widget, refreshed on demand, after each apply, or every few seconds."""

    def __init__(self, api: KubeApi, lab: Lab, namespace: str, submission: Callable[[], str] | None = None) -> None:
        import ipywidgets as widgets

        self.api = api
        self.lab = lab
        self.namespace = namespace
        self.panels = lab_panels(lab)
        self.claims = lab.reads_kind("PersistentVolumeClaim")
        self.submission = submission
        self.button = widgets.Button(description="Actualiser", icon="refresh")
        self.auto = widgets.Checkbox(value=False, description=f"Actualisation automatique ({REFRESH_SECONDS:.0f} s)",
                                     indent=False)
        self.status = widgets.HTML()
        self.body = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.button.on_click(lambda _: self.refresh())
        self.auto.observe(self._toggle, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.button, self.auto, self.status]), self.body])
        self._stop = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._follower: threading.Thread | None = None
        self._follow_until = 0.0
        self._lock = threading.Lock()

    def markup(self) -> str:
        nodes, pods, claims = snapshot_of_cluster(self.api, self.namespace, self.claims)
        parts = [self.submission() if self.submission else "", render(nodes, pods, claims, self.namespace)]
        for panel in self.panels:
            parts.append(panel(self.api, self.lab, self.namespace))
        return "".join(parts)

    def refresh(self) -> str:
        """Read the cluster again and show it; the markup shown (empty after an error)."""
        with self._lock:
            try:
                self.body.value = self.markup()
            except KubelabError as exc:
                self.status.value = html.notice(f"⚠ {html.text(exc.notebook_message)}", "error")
                return ""
            self.status.value = (f'<span style="{html.FONT}; color: {html.GREY}">mis à jour à '
                                 f"{datetime.now():%H:%M:%S}</span>")
            return self.body.value

    def follow(self, seconds: float = FOLLOW_SECONDS) -> None:
        """Refresh now, then every second while the lab's objects settle (pods created after an apply)."""
        self.refresh()
        self._follow_until = time.monotonic() + seconds
        if self._follower is None or not self._follower.is_alive():
            self._follower = threading.Thread(target=self._follow, name="kubelab-dashboard-follow", daemon=True)
            self._follower.start()

    def _follow(self) -> None:
        previous, stable = "", 0
        while time.monotonic() < self._follow_until and not self._closed.wait(1.0):
            shown = self.refresh()
            stable = stable + 1 if shown == previous else 0
            if stable >= FOLLOW_STABLE:
                return
            previous = shown

    def _toggle(self, change: dict) -> None:
        if change["new"]:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="kubelab-dashboard", daemon=True)
            self._thread.start()
        else:
            self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(REFRESH_SECONDS):
            self.refresh()

    def stop(self) -> None:
        """This dashboard is replaced: no more refreshes."""
        self._closed.set()
        self._stop.set()
        self.auto.value = False

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
