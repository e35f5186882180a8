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

UNAVAILABLE = "Grille d'accessibilité indisponible : le moteur NetworkPolicy (kubelab.netpol) n'est pas installé."


def _engine() -> Any | None:
    try:
        from kubelab.labs import lab04_networkpolicies as engine
    except ImportError:
        return None
    needed = ("_graph", "_expected_allowed", "_name")
    return engine if all(hasattr(engine, name) for name in needed) else None


def reachability_panel(api: KubeApi, lab: Lab, namespace: str) -> str:
    """The grid as HTML: rows are sources, columns destination:port."""
    engine = _engine()
    if engine is None:
        return html.notice(html.text(UNAVAILABLE), "warning")
    state = LiveState(api, namespace, lab.reads, lab.probes)
    try:
        graph = engine._graph(state)
        expected = engine._expected_allowed(graph)
    except KubelabError as exc:
        return html.notice(f"⚠ {html.text(exc.message)}", "error")
    matrix = graph.matrix
    if not graph.components:
        return html.notice(html.text("Grille d'accessibilité : les pods du lab n'existent pas encore "
                                     "(exécutez la cellule « Préparer le lab »)."), "warning")
    head = "".join(f'<th style="{html.HEAD}; font-size: 11px">{html.text(engine._name(d, graph))}<br>'
                   f'{html.text(p.label)}</th>' for d, p in matrix.columns)
    rows = []
    mismatches = 0
    for source in matrix.sources:
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
            label = "autorisé" if cell.allowed else "bloqué"
            want = "autorisé" if wanted else "bloqué"
            border = "" if ok else f"; outline: 2px solid {html.ORANGE}"
            tip = html.attribute(f"{label} ; attendu : {want}. {cell.explanation}")
            cells.append(f'<td title="{tip}" style="{html.CELL}; background: {background}; color: {colour}; '
                         f'text-align: center; white-space: nowrap{border}">{mark} {label}'
                         + ("" if ok else f"<br><small>attendu : {want}</small>") + "</td>")
        rows.append(f'<tr><th style="{html.HEAD}">{html.text(engine._name(source, graph))}</th>{"".join(cells)}</tr>')
    summary = ("toutes les cases sont conformes" if mismatches == 0
               else f"{mismatches} case{'s' if mismatches > 1 else ''} non conforme{'s' if mismatches > 1 else ''}")
    return (f'<div style="{html.FONT}"><br><b>Accessibilité réseau</b> (calculée à partir des NetworkPolicies) — '
            f'{html.text(summary)}. Vert : autorisé, rouge : bloqué ; ✓ conforme à l\'attendu, ✗ différent '
            "(survolez une case pour l'explication)."
            f'<table style="border-collapse: collapse; margin: 4px 0"><thead><tr><th style="{html.HEAD}">'
            f'source ↓ / destination →</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
