"""A crowded namespace still grades right, with paginated LISTs.

5 000 Secrets sit next to lab 03's solution. Secrets rather than ConfigMaps: lab 03 does
not read ConfigMaps, so they would never be listed; Secrets it does LIST, so the 5 000
objects go through the grader's paginated read (pages of ``kube_api.PAGE_SIZE``), and the
lab's own Secret has to be found among them. Half the names sort before
``postgres-credentials`` and half after, so it sits on a page in the middle.
"""

from __future__ import annotations

import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from kubelab.catalog import load_lab
from kubelab.grading import grade
from kubelab.kube_api import PAGE_SIZE, KubeApi
from kubelab.live_state import LiveState
from kubelab.pytest_plugin import create_namespace
from kubelab.waiting import scaled
from tests.engine.conftest import LAB03, audit_events, settled_audit_events, solve_lab03

FILLERS = 5000
WORKERS = 8


@pytest.fixture(scope="module")
def crowded(kube_api: KubeApi) -> str:
    namespace = f"t-foule-{uuid.uuid4().hex[:6]}"
    create_namespace(kube_api, namespace)
    solve_lab03(kube_api, namespace)
    names = [f"{'aa' if i % 2 else 'zz'}-remplissage-{i:05d}" for i in range(FILLERS)]

    def create(chunk: list[str]) -> None:
        for name in chunk:
            kube_api.create({"apiVersion": "v1", "kind": "Secret",
                             "metadata": {"name": name, "namespace": namespace}, "data": {"k": "dg=="}})

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(create, [names[i::WORKERS] for i in range(WORKERS)]))
    print(f"{FILLERS} Secrets créés en {time.monotonic() - started:.1f} s")
    yield namespace
    kube_api.delete("v1", "Namespace", namespace)


def test_crowded_namespace_grades_full_marks_with_paginated_lists(sandbox: Any, kube_api: KubeApi,
                                                                   crowded: str) -> None:
    """Full marks among 5 000 Secrets, each Secret LIST paginated: ceil(5 001 / page) pages,
    every page but the first carrying the previous page's continue token."""
    lab = load_lab(LAB03)
    listing_uri = f"/api/v1/namespaces/{crowded}/secrets?"

    def secret_list(event: dict[str, Any]) -> bool:
        return (event.get("verb") == "list" and event.get("requestURI", "").startswith(listing_uri)
                and event.get("stage") == "ResponseComplete")

    before_lists = len([e for e in audit_events(sandbox) if secret_list(e)])
    before = dict(kube_api.counter.counts)
    durations = []
    for _ in range(3):
        started = time.perf_counter()
        report = grade(lab, LiveState(kube_api, crowded, lab.reads, lab.probes), wait=scaled(30))
        durations.append(time.perf_counter() - started)
        assert report.score == report.max_score, "\n".join(f"{r.outcome.value} {r.check.id}: {r.message}"
                                                           for r in report.results)
        assert not report.errors
    gets = kube_api.counter.counts.get("GET", 0) - before.get("GET", 0)
    pages = -(-(FILLERS + 1) // PAGE_SIZE)
    assert gets >= 3 * (pages + len(lab.reads) - 1), f"{gets} GET pour 3 corrections : la LIST n'est pas paginée"

    lists = settled_audit_events(sandbox, None, before_lists + 3 * pages, matching=secret_list)[before_lists:]
    assert len(lists) == 3 * pages, [e["requestURI"] for e in lists]
    assert all(f"limit={PAGE_SIZE}" in e["requestURI"] for e in lists)
    assert sum("continue=" in e["requestURI"] for e in lists) == 3 * (pages - 1)
    print(f"correction de {FILLERS + 1} Secrets en {pages} pages : "
          f"médiane {statistics.median(durations) * 1000:.0f} ms")
    assert statistics.median(durations) < 10.0
