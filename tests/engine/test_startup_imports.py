"""A command pays only for what it uses: what each verb loads, seen from ``sys.modules`` at exit.

Each verb runs in a fresh interpreter (``kubelab.cli.main``, as the ``kubelab`` script runs
it) that reports the modules it loaded. Verbs that need no cluster load no HTTP client at
all; live grading loads urllib3 but never the ``kubernetes`` package, nor the sandbox, the
notebooks or the NetworkPolicy analysis when the lab does not need them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubelab import snapshot
from kubelab.catalog import load_lab
from kubelab.grading import live_state
from kubelab.kube_api import KubeApi
from tests.engine.conftest import LAB03
from tests.helpers import REPO

HTTP_CLIENTS = {"kubernetes", "urllib3", "websocket"}
PROBE = ("import atexit, json, sys\n"
         "def report():\n"
         "    sys.stdout.flush()\n"
         "    sys.stderr.write('\\nMODULES=' + json.dumps(sorted(sys.modules)))\n"
         "atexit.register(report)\n"
         "{body}\n")
CLI = "from kubelab.cli import main\ncode = main(sys.argv[1:])"


def _run(body: str, *args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(body=body), *args], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, "NO_COLOR": "1", **(env or {})}, timeout=120)
    assert "MODULES=" in done.stderr, done.stderr[-3000:]
    modules = set(json.loads(done.stderr.rsplit("MODULES=", 1)[1]))
    return done.stdout + done.stderr.rsplit("MODULES=", 1)[0], {name.split(".")[0] for name in modules} | modules


@pytest.fixture(scope="module")
def lab03_snapshot(kube_api: KubeApi, solved_namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lab = load_lab(LAB03)
    path = tmp_path_factory.mktemp("instantane") / "snapshot.json"
    snapshot.write(snapshot.capture(lab, live_state(lab, kube_api, solved_namespace)), path)
    return path


@pytest.mark.parametrize("args", [
    ("--help",),
    ("labs",),
    ("netpol", "matrix", "-n", "lab-zero-trust", "--from-files", str(REPO / "labs/04-networkpolicies/solution")),
], ids=["--help", "labs", "netpol --from-files"])
def test_verbs_without_cluster_load_no_http_client(args: tuple[str, ...]) -> None:
    """`kubelab --help`, `labs`, `netpol matrix --from-files`: no kubernetes, urllib3 nor websocket loaded?"""
    output, modules = _run(CLI, *args)
    assert not modules & HTTP_CLIENTS, (modules & HTTP_CLIENTS, output[-2000:])


def test_grading_a_snapshot_loads_no_http_client(lab03_snapshot: Path) -> None:
    """`kubelab grade --snapshot`: full marks, and no HTTP client loaded?"""
    output, modules = _run(CLI, "grade", LAB03, "--snapshot", str(lab03_snapshot))
    assert "Score : 16/16" in output.replace("\u00a0", " "), output[-2000:]
    assert not modules & HTTP_CLIENTS, modules & HTTP_CLIENTS


def test_nbgrader_autograde_from_a_snapshot_loads_no_http_client(lab03_snapshot: Path, tmp_path: Path) -> None:
    """The cells nbgrader runs at autograde time (open the lab, say where the grade comes from, grade a
    check), next to the submitted snapshot: is the check graded without loading an HTTP client?"""
    (tmp_path / "snapshot.json").write_bytes(lab03_snapshot.read_bytes())
    cells = ("from kubelab.notebook import noter, ouvrir_lab\n"
             f"lab = ouvrir_lab({LAB03!r})\nlab.connexion()\nnoter({LAB03!r}, 'postgres-statefulset')")
    output, modules = _run(cells, cwd=tmp_path, env={"NBGRADER_EXECUTION": "autograde"})
    plain = output.replace("\u00a0", " ")
    assert "✓ 1/1" in plain and "instantané « snapshot.json »" in plain, output[-2000:]
    assert not modules & HTTP_CLIENTS, modules & HTTP_CLIENTS


def test_live_grading_loads_only_what_it_uses(admin_kubeconfig: Path, solved_namespace: str) -> None:
    """`kubelab grade` of lab 03 on a live cluster: urllib3 to talk to it, but not the kubernetes package,
    the websocket client (no exec), the sandbox, the notebooks nor the NetworkPolicy analysis?"""
    output, modules = _run(CLI, "grade", LAB03, "-n", solved_namespace, "--kubeconfig", str(admin_kubeconfig))
    assert "Score : 16/16" in output.replace("\u00a0", " "), output[-2000:]
    assert "urllib3" in modules
    unused = {"kubernetes", "websocket", "kubelab.sandbox", "kubelab.notebook", "kubelab.netpol", "cryptography",
              "jinja2", "IPython"}
    assert not modules & unused, modules & unused
