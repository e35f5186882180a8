"""Suite-wide fixtures and reports.

The time spent in each test folder is printed at the end of the run. With
``$KUBELAB_TEST_TIMINGS`` set (``scripts/test.sh`` does), the same figures are written there,
one ``folder<TAB>seconds`` line each, for its final table of phase durations. A folder's time
is the sum of its tests' set-up, call and tear-down (so a session sandbox counts in the first
folder that starts it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_seconds: dict[str, float] = {}


def _folder(nodeid: str) -> str:
    parts = nodeid.split("::", 1)[0].split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    folder = _folder(report.nodeid)
    _seconds[folder] = _seconds.get(folder, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _seconds:
        return
    terminalreporter.section("durée par dossier")
    for folder, seconds in sorted(_seconds.items()):
        terminalreporter.write_line(f"{folder:<32} {seconds:7.0f} s")
    target = os.environ.get("KUBELAB_TEST_TIMINGS")
    if target:
        Path(target).write_text("".join(f"{folder}\t{seconds:.0f}\n" for folder, seconds in sorted(_seconds.items())),
                                encoding="utf-8")


@pytest.fixture(scope="session")
def bare_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A second sandbox as a learner's plain « kubelab sandbox up » starts it: one node, the ``dns`` addon only
    (no ``hostpath-storage``, no ``ingress``, no RBAC), for the prerequisites a lab must report missing."""
    from kubelab.sandbox.cluster import Sandbox

    root = Path(os.environ.get("KUBELAB_TEST_SANDBOX_ROOT") or tmp_path_factory.mktemp("sandboxes-nues"))
    sandbox = Sandbox(f"nu-{uuid.uuid4().hex[:6]}", root=root)
    sandbox.up(nodes=1, addons=("dns",), progress=lambda _: None)
    try:
        yield sandbox
    finally:
        sandbox.down(progress=lambda _: None)
