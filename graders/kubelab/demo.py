"""The README's main command: every lab graded on a fresh sandbox, starter then solution."""

from __future__ import annotations

import sys
import time

from kubelab.catalog import available_labs
from kubelab.errors import EXIT_INFRASTRUCTURE, EXIT_OK
from kubelab.grading import grade_live
from kubelab.lab_setup import apply_variant, setup_all
from kubelab.reports import terminal
from kubelab.typography import french

DEMO_ADDONS = ("dns", "hostpath-storage", "ingress", "rbac", "metrics-server")
DEMO_WAIT = 20.0


def run_demo(name: str, keep: bool = False) -> int:
    """Start a 3-node sandbox, grade each lab's starter then its solution, print a summary."""
    from kubelab.sandbox import status_report
    from kubelab.sandbox.cluster import Sandbox

    sandbox = Sandbox(name)
    sandbox.up(nodes=3, addons=DEMO_ADDONS)
    colour = terminal.use_colour(sys.stdout)
    summary: list[tuple[str, str, int, int, float]] = []
    try:
        api = sandbox.api()
        sys.stdout.write("\n" + status_report.render_text(status_report.status(api, rbac=True)))
        for lab in available_labs():
            for variant in ("starter", "solution"):
                namespace = f"{lab.namespace}-{variant}"
                started = time.monotonic()
                setup_all(api, lab, namespace)
                apply_variant(api, lab, variant, namespace)
                report = grade_live(lab.id, api, namespace, allow=("dry-run",),
                                    wait=DEMO_WAIT if variant == "solution" else 2.0)
                elapsed = time.monotonic() - started
                print(french(f"\n===== {lab.id} : {variant} ====="))
                sys.stdout.write(terminal.render(report, colour=colour))
                summary.append((lab.id, variant, report.score, report.max_score, elapsed))
    finally:
        if not keep:
            sandbox.down()
    print(french("\nRésumé :"))
    for lab_id, variant, score, maximum, elapsed in summary:
        print(f"  {lab_id:<28} {variant:<9} {score:>3}/{maximum:<3}  ({elapsed:.1f} s)")
    solutions_full = all(score == maximum for _, variant, score, maximum, _ in summary if variant == "solution")
    return EXIT_OK if solutions_full else EXIT_INFRASTRUCTURE
