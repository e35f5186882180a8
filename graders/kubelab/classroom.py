"""Classroom mode: one shared cluster, one namespace per learner, every namespace graded.

Namespaces are chosen with a shell-style pattern (``etudiant-*``) and graded concurrently by
a bounded pool of workers; the result is a CSV an LMS can import (one row per learner).
"""

from __future__ import annotations

import csv
import fnmatch
import io
from concurrent.futures import ThreadPoolExecutor

from kubelab.catalog import load_lab
from kubelab.errors import KubelabError, UsageError
from kubelab.grading import grade, live_state
from kubelab.kube_api import KubeApi
from kubelab.outcomes import GradeReport, Outcome

DEFAULT_WORKERS = 4


def matching_namespaces(api: KubeApi, pattern: str) -> list[str]:
    """The namespaces whose name matches ``pattern``, sorted; a French error when none does."""
    names = sorted(n["metadata"]["name"] for n in api.list("v1", "Namespace"))
    chosen = [name for name in names if fnmatch.fnmatchcase(name, pattern)]
    if not chosen:
        raise UsageError(f"Aucun namespace ne correspond au motif « {pattern} » sur ce cluster.")
    return chosen


def grade_classroom(lab_id: str, api: KubeApi, pattern: str, *, workers: int = DEFAULT_WORKERS,
                    allow: tuple[str, ...] = (), wait: float = 0.0) -> list[tuple[str, GradeReport | str]]:
    """Grade every matching namespace; each entry is a report, or the French error that prevented it."""
    if workers < 1:
        raise UsageError("--workers doit valoir au moins 1.")
    lab = load_lab(lab_id)
    namespaces = matching_namespaces(api, pattern)

    def one(namespace: str) -> tuple[str, GradeReport | str]:
        try:
            state = live_state(lab, api, namespace, allow)
            return namespace, grade(lab, state, wait=wait, origin={"description": api.description})
        except KubelabError as exc:
            return namespace, exc.message

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="classroom") as pool:
        return list(pool.map(one, namespaces))


def to_csv(lab_id: str, results: list[tuple[str, GradeReport | str]]) -> str:
    """One row per learner: namespace, score, maximum, status, then each check's points (or « erreur »)."""
    lab = load_lab(lab_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["apprenant", "score", "max", "statut", *(check.id for check in lab.checks)])
    for namespace, result in results:
        if isinstance(result, str):
            writer.writerow([namespace, "", lab.max_points, f"non noté : {result}", *("" for _ in lab.checks)])
            continue
        cells = {r.check.id: ("erreur" if r.outcome is Outcome.ERROR else r.points) for r in result.results}
        status = "complet" if not result.errors else "non noté, à relancer"
        writer.writerow([namespace, result.score, result.max_score, status, *(cells.get(c.id, "") for c in lab.checks)])
    return out.getvalue()
