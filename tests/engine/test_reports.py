"""The three renderings of a grade, as their readers see them.

JSON validates against ``graders/kubelab/reports/report.schema.json`` (kubelab-report v1)
and adds up; JUnit XML has one testcase per check, with a failure for each failed check;
the terminal report shows « Score : x/y » (non-breaking space before the colon), ✓ and ✗,
and no ANSI colour unless stdout is a terminal and NO_COLOR is unset.

Reports come from the CLI as a process: lab 03's solution (full marks), its mutant
``unknown-storage-class`` (three failures, with the claim's Warning events) live, and the
same mutant from its snapshot.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from kubelab.catalog import load_lab
from kubelab.kube_api import KubeApi
from kubelab.lab_setup import apply_variant, setup
from kubelab.pytest_plugin import create_namespace
from kubelab.waiting import scaled, wait_for
from tests.engine.conftest import LAB03
from tests.helpers import REPO, run_cli

SCHEMA_PATH = REPO / "graders" / "kubelab" / "reports" / "report.schema.json"
MUTANT = "mutants/unknown-storage-class"
MUTANT_FAILS = {"postgres-claim-spec", "postgres-claim-bound", "postgres-pod-ready"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
SCORE = re.compile(r"^Score\u00a0: (\d+)/(\d+)$", re.MULTILINE)


@dataclass
class Graded:
    """One grading through the CLI: terminal text, JSON (file and stdout), JUnit."""

    text: subprocess.CompletedProcess
    json_file: dict
    json_stdout: dict
    junit: ET.Element
    snapshot: Path | None = None


def _grade_all(out: Path, *args: str, snapshot: Path | None = None) -> Graded:
    out.mkdir(parents=True, exist_ok=True)
    text = run_cli("grade", LAB03, *args, "--json", str(out / "r.json"), "--junit", str(out / "r.xml"))
    as_json = run_cli("grade", LAB03, *args, "--format", "json")
    assert text.returncode in (0, 1), text.stderr
    assert as_json.returncode == text.returncode, as_json.stderr
    return Graded(text, json.loads((out / "r.json").read_text(encoding="utf-8")), json.loads(as_json.stdout),
                  ET.parse(out / "r.xml").getroot(), snapshot)


@pytest.fixture(scope="module")
def graded(kube_api: KubeApi, admin_kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Graded]:
    lab = load_lab(LAB03)
    out = tmp_path_factory.mktemp("rapports")
    namespaces = {"solution": f"t-rapport-ok-{uuid.uuid4().hex[:5]}", "mutant": f"t-rapport-ko-{uuid.uuid4().hex[:5]}"}
    try:
        for variant, namespace in (("solution", namespaces["solution"]), (MUTANT, namespaces["mutant"])):
            create_namespace(kube_api, namespace)
            setup(kube_api, lab, namespace)
            apply_variant(kube_api, lab, variant, namespace)
        # the mutant's claim stays Pending; wait for the PV controller's Warning about it
        wait_for(kube_api, "v1", "Event", lambda events: any(
            e.get("type") == "Warning" and e["involvedObject"].get("name") == "postgres-data" for e in events),
            namespace=namespaces["mutant"], timeout=scaled(60), what="l'événement du PVC")
        cluster = ["--kubeconfig", str(admin_kubeconfig)]
        reports = {
            "solution": _grade_all(out / "solution", "-n", namespaces["solution"], "--wait", "60", *cluster),
            "mutant": _grade_all(out / "mutant", "-n", namespaces["mutant"], "--wait", "2", *cluster),
        }
        snap = out / "mutant.snapshot.json"
        done = run_cli("snapshot", LAB03, "-n", namespaces["mutant"], "-o", str(snap), *cluster)
        assert done.returncode == 0, done.stderr
        reports["instantané"] = _grade_all(out / "instantane", "--snapshot", str(snap), snapshot=snap)
    finally:
        for namespace in namespaces.values():
            kube_api.delete("v1", "Namespace", namespace)
    return reports


KINDS = ["solution", "mutant", "instantané"]


def test_solution_and_mutant_score_as_expected(graded: dict[str, Graded]) -> None:
    """The reports under test are the expected ones: full marks, then exactly the mutant's failures."""
    assert graded["solution"].text.returncode == 0
    assert graded["solution"].json_file["score"] == graded["solution"].json_file["max_score"] == 16
    for kind in ("mutant", "instantané"):
        report = graded[kind].json_file
        assert graded[kind].text.returncode == 1
        assert {c["id"] for c in report["checks"] if c["outcome"] == "failed"} == MUTANT_FAILS


@pytest.mark.parametrize("kind", KINDS)
def test_json_report_validates_and_adds_up(graded: dict[str, Graded], kind: str) -> None:
    """--json and --format json validate against the schema, and score, points and complete agree."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    lab = load_lab(LAB03)
    for document in (graded[kind].json_file, graded[kind].json_stdout):
        jsonschema.validate(document, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        checks = document["checks"]
        assert [c["id"] for c in checks] == [c.id for c in lab.checks]
        assert document["score"] == sum(c["points"] for c in checks)
        assert document["max_score"] == sum(c["max_points"] for c in checks) == lab.max_points
        assert document["complete"] == all(c["outcome"] != "error" for c in checks)
        for check in checks:
            assert check["points"] == (check["max_points"] if check["outcome"] == "passed" else 0)
        assert document["source"] == ("snapshot" if kind == "instantané" else "live")
        if kind == "instantané":
            assert {"captured_at", "cluster"} <= set(document["origin"])
    if kind == "mutant":
        events = next(c for c in graded[kind].json_file["checks"] if c["id"] == "postgres-claim-bound")["events"]
        assert any(e["object"] == "PersistentVolumeClaim/postgres-data" and e["type"] == "Warning" for e in events)


def test_schema_documents_every_field() -> None:
    """Every property of the schema, at every level, has a French description."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["properties"]["schema"]["const"] == "kubelab-report"
    assert schema["properties"]["schema_version"]["const"] == 1
    missing = []

    def walk(node: dict, where: str) -> None:
        for name, sub in (node.get("properties") or {}).items():
            if "description" not in sub:
                missing.append(f"{where}.{name}")
            walk(sub, f"{where}.{name}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{where}[]")

    walk(schema, "")
    walk(schema["$defs"]["check"], "checks[]")
    assert missing == []


@pytest.mark.parametrize("kind", KINDS)
def test_junit_has_one_testcase_per_check(graded: dict[str, Graded], kind: str) -> None:
    """One testcase per check named by its id; a <failure> with the French message for each failed check."""
    suite, report = graded[kind].junit, graded[kind].json_file
    assert suite.tag == "testsuite" and suite.get("name") == f"kubelab.{LAB03}"
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == [c["id"] for c in report["checks"]]
    by_id = {c["id"]: c for c in report["checks"]}
    for case in cases:
        check = by_id[case.get("name")]
        failure = case.find("failure")
        assert (failure is not None) == (check["outcome"] == "failed"), case.get("name")
        assert case.find("error") is None
        if failure is not None:
            assert failure.get("message") == check["message"]
            assert failure.text.startswith("Indice")
        assert case.find("properties/property").get("value") == f"{check['points']}/{check['max_points']}"
    failed = sum(c["outcome"] == "failed" for c in report["checks"])
    assert (int(suite.get("tests")), int(suite.get("failures")), int(suite.get("errors"))) == (len(cases), failed, 0)
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert (properties["score"], properties["max_score"]) == (str(report["score"]), str(report["max_score"]))


@pytest.mark.parametrize("kind", KINDS)
def test_terminal_report(graded: dict[str, Graded], kind: str) -> None:
    """« Score : x/y » with a non-breaking space, a ✓ per passed and a ✗ per failed check, no ANSI codes."""
    text, report = graded[kind].text.stdout, graded[kind].json_file
    assert SCORE.findall(text) == [(str(report["score"]), str(report["max_score"]))]
    assert "Score :" not in text  # a plain space would let the colon wrap alone
    assert text.count("✓") == sum(c["outcome"] == "passed" for c in report["checks"])
    assert text.count("✗") == sum(c["outcome"] == "failed" for c in report["checks"])
    assert not ANSI.search(text), "couleurs ANSI alors que la sortie n'est pas un terminal"
    if kind != "solution":
        assert text.count("Indice\u00a0:") == len(MUTANT_FAILS)


def _grade_in_terminal(snapshot_path: Path, env: dict[str, str]) -> str:
    """Run `kubelab grade --snapshot` with stdout on a pseudo-terminal; what it wrote there."""
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "kubelab.cli", "grade", LAB03, "--snapshot", str(snapshot_path)],
                               stdout=slave, stderr=subprocess.PIPE, cwd=REPO, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(master)
    assert process.returncode == 1, process.stderr.read()
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal_without_no_color(graded: dict[str, Graded]) -> None:
    """On a terminal: colours; on a terminal with NO_COLOR set: none (and the same text)."""
    snap = graded["instantané"].snapshot
    assert snap is not None
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = _grade_in_terminal(snap, env)
    assert ANSI.search(coloured), "pas de couleur sur un terminal"
    plain = _grade_in_terminal(snap, {**env, "NO_COLOR": "1"})
    assert not ANSI.search(plain), "couleurs malgré NO_COLOR"
    assert SCORE.search(plain.replace("\r\n", "\n"))
    assert ANSI.sub("", coloured) == plain
