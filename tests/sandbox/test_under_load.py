"""The tests that wait on controllers still pass on a loaded machine.

Two processes spin the CPU (each stops by itself after ``HOG_SECONDS``, and is killed as soon
as the run ends) while a fresh pytest runs the sandbox tests whose verdict depends on the
controllers (quota, EndpointSlices, CronJobs, the volume provisioner, evictions, the
scheduler, kwok's stages). Their waits scale with ``KUBELAB_TIMEOUT_FACTOR``, raised here to
at least 3 as a loaded CI would. No rerun: one failure fails this test.
"""

from __future__ import annotations

import os
import subprocess
import sys

from kubelab.waiting import TIMEOUT_FACTOR_ENV, timeout_factor
from tests.helpers import REPO

HOGS = 2
HOG_SECONDS = 900
CONTROLLER_TESTS = (
    "tests/sandbox/test_workloads.py",
    "tests/sandbox/test_storage.py",
    "tests/sandbox/test_disruption.py",
    "tests/sandbox/test_scheduling.py",
    "tests/sandbox/test_faults.py",
)
SPIN = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


def test_controller_dependent_tests_pass_beside_two_busy_processes() -> None:
    """With two CPU hogs running, do the controller-dependent sandbox tests all pass, first time?"""
    hogs = [subprocess.Popen([sys.executable, "-c", SPIN, str(HOG_SECONDS)]) for _ in range(HOGS)]
    try:
        env = {**os.environ, TIMEOUT_FACTOR_ENV: str(max(3.0, timeout_factor()))}
        env.pop("KUBELAB_TEST_TIMINGS", None)  # the outer run's table, not this one's
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *CONTROLLER_TESTS],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=HOG_SECONDS)
        still_spinning = [hog.poll() is None for hog in hogs]
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "(rien)"
    assert done.returncode == 0, f"{summary}\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    assert " passed" in summary and "failed" not in summary and "rerun" not in done.stdout, summary
    assert all(still_spinning), "un processus de charge s'est arrêté avant la fin : la charge n'a pas duré"
