"""Lab 04's dashboard panel: the reachability grid, each cell coloured allowed or blocked and
compared with the expected value.

The grid is the one lab 04's checks compute (``kubelab.netpol`` over the lab's live state),
so the panel and the « Vérifier » button never disagree. The NetworkPolicy engine is
optional here: without it the panel says so and the rest of the dashboard still works.
"""

from __future__ import annotations

from typing import Any

from kubelab.catalog import Lab
from kubelab.errors import KubelabError
from kubelab.kube_api import KubeApi
from kubelab.live_state import LiveState
from kubelab.notebook import html
from kubelab.typography import plural

UNAVAILABLE = "Grille d'accessibilité indisponible : le moteur NetworkPolicy (kubelab.netpol) n'est pas installé."


def _engine() -> Any | None:
    try:
        from kubelab.labs import lab04_networkpolicies as engine
    except ImportError:
        return None
    needed = ("_graph", "_expected_allowed", "_name", "INGRESS_NAMESPACE")
    return engine if all(hasattr(engine, name) for name in needed) else None


def describe(endpoint: Any, graph: Any, engine: Any) -> tuple[str, str]:
    """(the label of a row or column, what it stands for), in French."""
    from kubelab.netpol.model import IPBlockEndpoint, NamespaceEndpoint, PodEndpoint

    name = engine._name(endpoint, graph)
    if endpoint == graph.dns:
        return "CoreDNS", "les pods DNS du cluster (namespace kube-system, label k8s-app=kube-dns)"
    if endpoint == graph.other_system and isinstance(endpoint, PodEndpoint):
        return name, f"un autre pod de kube-system (« {endpoint.name} »), qui n'est pas le DNS"
    if isinstance(endpoint, NamespaceEndpoint):
        if endpoint.namespace == engine.INGRESS_NAMESPACE:
            return name, "tout pod du namespace ingress, celui du contrôleur d'Ingress de MicroK8s"
        return name, f"tout pod d'un autre namespace (« {endpoint.namespace} », sans label particulier)"
    if isinstance(endpoint, IPBlockEndpoint):
        return f"hors du cluster ({endpoint.display})", "une adresse IP hors du cluster : un client externe"
    if isinstance(endpoint, PodEndpoint):
        app = endpoint.label_map.get("app", name)
        if endpoint in getattr(graph, "twins", {}).values():
            return name, (f"un second pod de {app}, supposé (mêmes labels et ports) : les flux entre deux pods "
                          "d'un même composant")
        if endpoint in getattr(graph, "outsiders", {}).values():
            return name, (f"un pod supposé du namespace « {endpoint.namespace} », avec les labels de {app} "
                          f"(app={app})")
        return name, f"le pod « {endpoint.name} » du namespace du lab (label app={app})"
    return name, name


def reachability_panel(api: KubeApi, lab: Lab, namespace: str) -> str:
    """The grid as HTML, in a box that scrolls when wider than the notebook: rows are sources,
    columns destination:port, and every row and column label is explained in the legend."""
    engine = _engine()
    if engine is None:
        return html.notice(html.text(UNAVAILABLE), "warning")
    state = LiveState(api, namespace, lab.reads, lab.probes)
    try:
        graph = engine._graph(state)
        expected = engine._expected_allowed(graph)
    except KubelabError as exc:
        return html.notice(f"⚠ {html.text(exc.notebook_message)}", "error")
    matrix = graph.matrix
    if not graph.components:
        return html.notice(html.text("Grille d'accessibilité : les pods du lab n'existent pas encore "
                                     "(exécutez la cellule « Préparer le lab »)."), "warning")
    legend: dict[str, str] = {}
    head = []
    for destination, port in matrix.columns:
        label, meaning = describe(destination, graph, engine)
        legend.setdefault(label, meaning)
        head.append(f'<th title="{html.attribute(meaning)}" style="{html.HEAD}; font-size: 11px">{html.text(label)}<br>'
                    f"{html.text(port.label)}</th>")
    rows = []
    mismatches = 0
    for source in matrix.sources:
        label, meaning = describe(source, graph, engine)
        legend.setdefault(label, meaning)
        cells = []
        for destination, port in matrix.columns:
            cell = matrix.find(source, destination, port)
            if cell is None or source == destination:
                cells.append(f'<td style="{html.CELL}; color: {html.GREY}; text-align: center">—</td>')
                continue
            wanted = (source.key, destination.key, port.label) in expected
            ok = cell.allowed == wanted
            mismatches += not ok
            colour, background = (html.GREEN, "#c8e6c9") if cell.allowed else (html.RED, "#ffcdd2")
            mark = "✓" if ok else "✗"
            state_text = "autorisé" if cell.allowed else "bloqué"
            want = "autorisé" if wanted else "bloqué"
            border = "" if ok else f"; outline: 2px solid {html.ORANGE}"
            tip = html.attribute(f"{state_text} ; attendu : {want}. {cell.explanation}")
            cells.append(f'<td title="{tip}" style="{html.CELL}; background: {background}; color: {colour}; '
                         f'text-align: center; white-space: nowrap{border}">{mark} {state_text}'
                         + ("" if ok else f"<br><small>attendu : {want}</small>") + "</td>")
        rows.append(f'<tr><th title="{html.attribute(meaning)}" style="{html.HEAD}; white-space: nowrap">'
                    f'{html.text(label)}</th>{"".join(cells)}</tr>')
    summary = ("toutes les cases sont conformes" if mismatches == 0
               else plural(mismatches, "case non conforme", "cases non conformes"))
    explained = html.bullets([f"{label} : {meaning}" for label, meaning in legend.items()])
    return (f'<div style="{html.FONT}; max-width: 100%"><br><b>Accessibilité réseau</b> (calculée à partir des '
            f"NetworkPolicies) — {html.text(summary)}. Vert : autorisé, rouge : bloqué ; ✓ conforme à l'attendu, "
            "✗ différent (survolez une case pour l'explication)."
            # A one-column grid whose column may shrink to nothing: the table's width no longer widens the
            # dashboard (ipywidgets sizes an HTML widget by its content); the box scrolls instead.
            '<div style="display: grid; grid-template-columns: minmax(0, 1fr)">'
            f'<div class="kubelab-grid" style="overflow-x: auto; margin: 4px 0">'
            f'<table style="border-collapse: collapse"><thead><tr><th style="{html.HEAD}">'
            f'source ↓ / destination →</th>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div></div>'
            f"<details open><summary>Ce que désigne chaque ligne et chaque colonne</summary>{explained}</details>"
            "</div>")
