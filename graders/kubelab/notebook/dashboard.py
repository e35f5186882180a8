"""The live dashboard: nodes and their roles, the lab's pods on each node, its claims.

Three LISTs per refresh (nodes, pods and claims of the lab's namespace), rendered as HTML in
an ipywidgets panel with an « Actualiser » button and an optional automatic refresh. A lab
may add its own panel (lab 04: the reachability grid, see ``kubelab.notebook.netpol_panel``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kubelab.catalog import Lab
from kubelab.errors import KubelabError
from kubelab.kube_api import KubeApi
from kubelab.notebook import html
from kubelab.objects import is_ready, labels_of, name_of

Obj = dict[str, Any]
Panel = Callable[[KubeApi, Lab, str], str]
REFRESH_SECONDS = 5.0
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


def render(nodes: list[Obj], pods: list[Obj], claims: list[Obj], namespace: str) -> str:
    """Nodes with their roles and pods, unscheduled pods, and claims, as HTML."""
    by_node: dict[str, list[Obj]] = {}
    for pod in sorted(pods, key=name_of):
        by_node.setdefault((pod.get("spec") or {}).get("nodeName") or "", []).append(pod)
    node_rows = []
    for node in sorted(nodes, key=name_of):
        ready = is_ready(node)
        state = (html.badge("Ready", html.GREEN, html.LIGHT_GREEN) if ready
                 else html.badge("NotReady", html.RED, html.LIGHT_RED))
        if (node.get("spec") or {}).get("unschedulable"):
            state += " " + html.badge("SchedulingDisabled", html.ORANGE, html.LIGHT_ORANGE)
        hosted = (" ".join(pod_badge(p) for p in by_node.get(name_of(node), []))
                  or f'<span style="color: {html.GREY}">aucun</span>')
        node_rows.append([f"<code>{html.text(name_of(node))}</code>", html.text(node_roles(node)), state, hosted])
    parts = [f"<b>Nœuds</b> ({len(nodes)}) et pods du namespace « {html.text(namespace)} »",
             html.table(["Nœud", "Rôle", "État", "Pods du lab"], node_rows)]
    pending = by_node.get("", [])
    if pending:
        parts.append("<b>Pods sans nœud</b> (pas encore planifiés) : " + " ".join(pod_badge(p) for p in pending))
    claim_rows = [[f"<code>{html.text(name_of(c))}</code>", claim_badge(c),
                   html.text((c.get("spec") or {}).get("volumeName") or "—"),
                   html.text(((c.get("status") or {}).get("capacity") or {}).get("storage")
                             or (((c.get("spec") or {}).get("resources") or {}).get("requests") or {})
                             .get("storage", "—")),
                   html.text((c.get("spec") or {}).get("storageClassName") or "(par défaut)"),
                   html.text(", ".join((c.get("spec") or {}).get("accessModes") or []) or "—")]
                  for c in sorted(claims, key=name_of)]
    parts.append(f"<br><b>Volumes demandés (PVC)</b> ({len(claims)})")
    parts.append(html.table(["PVC", "État", "Volume", "Capacité", "Classe", "Accès"], claim_rows) if claim_rows
                 else f'<div style="color: {html.GREY}">Aucun PVC dans le namespace.</div>')
    return f'<div style="{html.FONT}">' + "".join(parts) + "</div>"


def snapshot_of_cluster(api: KubeApi, namespace: str) -> tuple[list[Obj], list[Obj], list[Obj]]:
    """The three lists the dashboard shows."""
    return (api.list("v1", "Node"), api.list("v1", "Pod", namespace),
            api.list("v1", "PersistentVolumeClaim", namespace))


def lab_panels(lab: Lab) -> list[Panel]:
    """The extra panels of a lab (lab 04: the reachability grid)."""
    if lab.id.startswith("04-"):
        from kubelab.notebook.netpol_panel import reachability_panel

        return [reachability_panel]
    return []


class Dashboard:
    """The dashboard widget, refreshed on demand, after each apply, or every few seconds."""

    def __init__(self, api: KubeApi, lab: Lab, namespace: str) -> None:
        import ipywidgets as widgets

        self.api = api
        self.lab = lab
        self.namespace = namespace
        self.panels = lab_panels(lab)
        self.button = widgets.Button(description="Actualiser", icon="refresh")
        self.auto = widgets.Checkbox(value=False, description=f"Actualisation automatique ({REFRESH_SECONDS:.0f} s)",
                                     indent=False)
        self.status = widgets.HTML()
        self.body = widgets.HTML()
        self.button.on_click(lambda _: self.refresh())
        self.auto.observe(self._toggle, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.button, self.auto, self.status]), self.body])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def markup(self) -> str:
        nodes, pods, claims = snapshot_of_cluster(self.api, self.namespace)
        parts = [render(nodes, pods, claims, self.namespace)]
        for panel in self.panels:
            parts.append(panel(self.api, self.lab, self.namespace))
        return "".join(parts)

    def refresh(self) -> None:
        with self._lock:
            try:
                self.body.value = self.markup()
                self.status.value = (f'<span style="{html.FONT}; color: {html.GREY}">'
                                     f'mis à jour à {datetime.now():%H:%M:%S}</span>')
            except KubelabError as exc:
                self.status.value = html.notice(f"⚠ {html.text(exc.message)}", "error")

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
        self._stop.set()
        self.auto.value = False

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
