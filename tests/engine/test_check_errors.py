"""One check that hangs or crashes is « non noté, à relancer », and never takes the others down.

A lab built by hand (``fake_lab``) over an empty state: a check that sleeps longer than its
``timeout`` is an error « délai dépassé »; a check that raises is an error « erreur interne du
correcteur »; both count 0 points but make the report incomplete (exit 3), while the other
checks pass. Through the CLI, the process must also give the terminal back once the report
is printed, even though the hung check's thread is still asleep.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema

from kubelab import snapshot
from kubelab.catalog import module_name
from kubelab.grading import grade
from kubelab.outcomes import Outcome
from kubelab.reports import json_report, terminal
from kubelab.typography import french
from tests.engine.fake_lab import FAKE_ID, FAKE_NAMESPACE, GRADER_SOURCE, IDENTITY, LAB_YAML, build_lab, empty_state
from tests.helpers import REPO

SCHEMA = json.loads((REPO / "graders" / "kubelab" / "reports" / "report.schema.json").read_text())


def test_hung_check_times_out_and_crash_is_internal_error() -> None:
    """Hung → error « délai dépassé », crash → error « erreur interne du correcteur », others pass, exit 3."""
    lab = build_lab(hang=5.0, timeout=0.5)
    started = time.monotonic()
    report = grade(lab, empty_state())
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"la correction a attendu la vérification bloquée ({elapsed:.1f} s)"

    outcomes = {r.check.id: r for r in report.results}
    assert outcomes["rapide-avant"].outcome is Outcome.PASSED
    assert outcomes["rapide-apres"].outcome is Outcome.PASSED
    hung = outcomes["bloquee-0"]
    assert hung.outcome is Outcome.ERROR and hung.points == 0
    assert "non noté, à relancer" in hung.message and "délai dépassé" in hung.message
    crash = outcomes["plantee"]
    assert crash.outcome is Outcome.ERROR and crash.points == 0
    assert "erreur interne du correcteur" in crash.message and "ValueError" in crash.message
    assert report.failed_ids() == set()  # never the learner's failure
    assert report.score == 2 and report.max_score == 4
    assert report.exit_code == 3

    text = terminal.render(report)
    assert "2 vérification(s) non notée(s)" in text
    assert text.count("⚠") == 2 and "✗" not in text
    document = json_report.to_dict(report)
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert document["complete"] is False


def test_error_messages_are_typeset_like_the_others() -> None:
    """The « non noté » messages reach JSON and JUnit as learners read them: French typography
    (non-breaking spaces before « : »), as every check message is."""
    report = grade(build_lab(hang=2.0, timeout=0.2), empty_state())
    for result in report.errors:
        assert result.message == french(result.message), repr(result.message)


def test_many_hung_checks_do_not_starve_the_others() -> None:
    """Eight hung checks (more than a pool of workers would hold): a quick check behind them still
    gets its own deadline (it is not timed out for having waited its turn)."""
    lab = build_lab(hang=2.0, timeout=1.0, hung=8, crash=False, fast_timeout=1.0)
    report = grade(lab, empty_state())
    outcomes = {r.check.id: r.outcome for r in report.results}
    assert outcomes["rapide-avant"] is Outcome.PASSED
    assert outcomes["rapide-apres"] is Outcome.PASSED, report.result("rapide-apres").message


def test_cli_gives_back_the_terminal_despite_a_hung_check(tmp_path: Path) -> None:
    """`kubelab grade` (the real CLI main, with a grader module added to kubelab.labs) on a lab whose
    check hangs 20 s: report printed, exit 3, and the process ends within seconds, not 20 s."""
    graders = tmp_path / "graders"
    graders.mkdir()
    (graders / f"{module_name(FAKE_ID).rsplit('.', 1)[1]}.py").write_text(GRADER_SOURCE.replace("{hang}", "20"))
    labs = tmp_path / "labs"
    (labs / FAKE_ID).mkdir(parents=True)
    (labs / FAKE_ID / "lab.yaml").write_text(LAB_YAML)
    document = {"format": snapshot.FORMAT, "version": snapshot.VERSION, "lab": FAKE_ID, "namespace": FAKE_NAMESPACE,
                "captured_at": "2025-01-01T00:00:00+00:00", "tool_version": "0", "cluster": IDENTITY,
                "lists": {f"v1/Event@{FAKE_NAMESPACE}": []}, "probes": {}}  # Events: every lab reads them
    document["sha256"] = snapshot.content_hash(document)
    state = tmp_path / "faux.snapshot.json"
    state.write_text(json.dumps(document))
    program = ("import sys, kubelab.labs; kubelab.labs.__path__.append(sys.argv[1]); "
               "from kubelab.cli import main; sys.exit(main(sys.argv[2:]))")
    started = time.monotonic()
    command = [sys.executable, "-c", program, str(graders), "grade", FAKE_ID, "--snapshot", str(state)]
    process = subprocess.Popen(command,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                               env={**os.environ, "KUBELAB_LABS": str(labs), "NO_COLOR": "1"})
    try:
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    elapsed = time.monotonic() - started
    assert process.returncode == 3, stdout + stderr
    plain = stdout.replace("\u00a0", " ")
    assert "délai dépassé" in plain and "erreur interne du correcteur" in plain
    assert "Score : 1/3" in plain
    assert elapsed < 10, f"le processus a attendu la vérification bloquée avant de rendre la main ({elapsed:.0f} s)"
