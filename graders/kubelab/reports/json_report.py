"""The JSON report, schema ``kubelab-report`` version 1 (see ``report.schema.json``)."""

from __future__ import annotations

import json
from typing import Any

from kubelab.outcomes import GradeReport

SCHEMA = "kubelab-report"
SCHEMA_VERSION = 1


def to_dict(report: GradeReport) -> dict[str, Any]:
    """A JSON-compatible dict; field meanings are documented in the schema file."""
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "tool_version": report.tool_version,
        "lab": {"id": report.lab_id, "title": report.lab_title},
        "namespace": report.namespace,
        "source": report.source,
        "origin": report.origin,
        "graded_at": report.graded_at,
        "score": report.score,
        "max_score": report.max_score,
        "complete": not report.errors,
        "checks": [
            {
                "id": r.check.id,
                "title": r.check.title,
                "category": r.check.category,
                "points": r.points,
                "max_points": r.check.points,
                "outcome": r.outcome.value,
                "message": r.message,
                "hint": r.hint,
                "course": r.check.spec.course,
                "related": list(r.check.spec.related),
                "hidden": r.check.hidden,
                "duration_ms": round(r.duration_s * 1000, 1),
                "events": list(r.events),
            }
            for r in report.results
        ],
    }


def render(report: GradeReport) -> str:
    return json.dumps(to_dict(report), ensure_ascii=False, indent=2) + "\n"
