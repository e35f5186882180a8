"""The matrix and the lint findings as a terminal grid (French) or as JSON.

JSON structure (``format`` ``kubelab.netpol/v1``), every list in a stable order (sources
and columns as in the matrix, cells row by row, findings by id, policy, subject)::

    {
      "format": "kubelab.netpol/v1",
      "sources": [ENDPOINT, ...],
      "destinations": [ENDPOINT, ...],
      "columns": [{"destination": "ns/pod", "protocol": "TCP", "port": 80, "name": "http"}, ...],
      "cells": [{"source": "ns/pod" | "ns/*" | "CIDR", "destination": "ns/pod", "protocol": "TCP",
                 "port": 80, "allowed": true, "explanation": "Autorisé. Sortie : … Entrée : …",
                 "egress": VERDICT | null, "ingress": VERDICT}, ...],
      "findings": [{"id": "...", "policy": "ns/name", "severity": "error" | "warning",
                    "subject": "...", "message": "..."}, ...]        (with --lint only)
    }

    ENDPOINT = {"id", "kind": "pod" | "namespace" | "ipBlock", then for a pod: "namespace",
                "name", "labels", "ip", "ports": [{"name", "port", "protocol"}], "workload";
                for a namespace: "namespace", "labels"; for an ipBlock: "cidr"}
    VERDICT  = {"allowed", "isolated", "policies": ["ns/name", ...],
                "rules": [{"policy": "ns/name", "index": 0}, ...], "text"}

``egress`` is null for a source outside the analysed pods (namespace, ipBlock).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kubelab.netpol.french import NBSP, plural
from kubelab.netpol.lint import SEVERITY_FR, Finding
from kubelab.netpol.model import Cell, Endpoint, IPBlockEndpoint, Matrix, NamespaceEndpoint, PodEndpoint, Verdict

FORMAT = "kubelab.netpol/v1"
ALLOWED, BLOCKED = "✓", "✗"
SEPARATOR = " │ "
CORNER = "destinations →"


def matrix_text(matrix: Matrix, title: str = "Matrice d'accessibilité") -> str:
    """Rows: sources; columns: destination pods, then their ports; ✓ allowed, ✗ blocked."""
    if not matrix.columns or not matrix.sources:
        return f"{title}{NBSP}: aucune case (aucune source, ou aucun port à tester{NBSP}: précisez --port).\n"
    groups: list[tuple[PodEndpoint, list[int]]] = []
    for index, (destination, _) in enumerate(matrix.columns):
        if not groups or groups[-1][0] != destination:
            groups.append((destination, []))
        groups[-1][1].append(index)
    widths = [len(port.label) for _, port in matrix.columns]
    for destination, indexes in groups:
        missing = len(destination.display) - (sum(widths[i] for i in indexes) + len(indexes) - 1)
        if missing > 0:
            widths[indexes[-1]] += missing
    row_width = max(len(CORNER), *(len(s.display) for s in matrix.sources))
    group_texts = [" ".join(f"{matrix.columns[i][1].label:^{widths[i]}}" for i in idx) for _, idx in groups]
    header1 = SEPARATOR.join([f"{CORNER:<{row_width}}"] + [
        f"{d.display:<{len(text)}}" for (d, _), text in zip(groups, group_texts, strict=True)])
    header2 = SEPARATOR.join([f"{'sources':<{row_width}}", *group_texts])
    rule = "─┼─".join(["─" * row_width] + ["─" * len(text) for text in group_texts])
    lines = [f"{title} ({ALLOWED} autorisé, {BLOCKED} bloqué)", "", header1.rstrip(), header2.rstrip(), rule]
    for source in matrix.sources:
        marks = [_mark(matrix.find(source, *column)) for column in matrix.columns]
        parts = [" ".join(f"{marks[i]:^{widths[i]}}" for i in idx) for _, idx in groups]
        lines.append(SEPARATOR.join([f"{source.display:<{row_width}}", *parts]).rstrip())
    allowed = sum(c.allowed for c in matrix.cells)
    lines += ["", f"{allowed} {plural(allowed, 'connexion autorisée', 'connexions autorisées')} sur "
                  f"{len(matrix.cells)}. Les explications de chaque case sont dans la sortie --json."]
    return "\n".join(lines) + "\n"


def _mark(cell: Cell | None) -> str:
    if cell is None:
        return " "
    return ALLOWED if cell.allowed else BLOCKED


def findings_text(findings: Sequence[Finding]) -> str:
    """One paragraph per finding, or a line saying there is none."""
    if not findings:
        return f"Analyse des politiques{NBSP}: aucun problème détecté.\n"
    lines = [f"Analyse des politiques{NBSP}: {len(findings)} {plural(len(findings), 'problème')}"]
    for finding in findings:
        lines.append(f"- [{SEVERITY_FR[finding.severity]}] {finding.id} ({finding.policy}){NBSP}: {finding.message}")
    return "\n".join(lines) + "\n"


def matrix_json(matrix: Matrix, findings: Sequence[Finding] | None = None) -> str:
    return json.dumps(to_dict(matrix, findings), ensure_ascii=False, indent=2) + "\n"


def to_dict(matrix: Matrix, findings: Sequence[Finding] | None = None) -> dict[str, Any]:
    """The documented JSON structure, as plain data."""
    document: dict[str, Any] = {
        "format": FORMAT,
        "sources": [endpoint_dict(s) for s in matrix.sources],
        "destinations": [endpoint_dict(d) for d in matrix.destinations],
        "columns": [{"destination": d.key, "protocol": p.protocol, "port": p.number, "name": p.name}
                    for d, p in matrix.columns],
        "cells": [cell_dict(c) for c in matrix.cells],
    }
    if findings is not None:
        document["findings"] = [finding_dict(f) for f in findings]
    return document


def endpoint_dict(endpoint: Endpoint) -> dict[str, Any]:
    if isinstance(endpoint, PodEndpoint):
        return {"id": endpoint.key, "kind": endpoint.kind, "namespace": endpoint.namespace, "name": endpoint.name,
                "labels": endpoint.label_map, "ip": endpoint.ip, "workload": endpoint.workload,
                "ports": [{"name": p.name, "port": p.number, "protocol": p.protocol} for p in endpoint.ports]}
    if isinstance(endpoint, NamespaceEndpoint):
        return {"id": endpoint.key, "kind": endpoint.kind, "namespace": endpoint.namespace,
                "labels": endpoint.label_map}
    assert isinstance(endpoint, IPBlockEndpoint)
    return {"id": endpoint.key, "kind": endpoint.kind, "cidr": endpoint.cidr}


def cell_dict(cell: Cell) -> dict[str, Any]:
    return {"source": cell.source.key, "destination": cell.destination.key, "protocol": cell.port.protocol,
            "port": cell.port.number, "allowed": cell.allowed, "explanation": cell.explanation,
            "egress": verdict_dict(cell.egress), "ingress": verdict_dict(cell.ingress)}


def verdict_dict(verdict: Verdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {"allowed": verdict.allowed, "isolated": verdict.isolated, "policies": list(verdict.policies),
            "rules": [{"policy": p, "index": i} for p, i in verdict.rules], "text": verdict.text}


def finding_dict(finding: Finding) -> dict[str, Any]:
    return {"id": finding.id, "policy": finding.policy, "severity": finding.severity, "subject": finding.subject,
            "message": finding.message}
