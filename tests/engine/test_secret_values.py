"""A Secret's values never leave the cluster through kubelab: not in any output, report or snapshot.

Two random values are planted in lab 03's Secret: one in ``data`` (so stored base64), one in
``stringData``; the Secret also carries kubectl's ``last-applied-configuration`` annotation
holding both, as a client-side ``kubectl apply`` leaves it. Then every way of reading the lab
is exercised and every byte produced is searched for each value, plain and base64.
"""

from __future__ import annotations

import base64
import importlib
import json
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from kubelab.catalog import module_name
from kubelab.cluster_state import LAST_APPLIED
from kubelab.kube_api import KubeApi
from kubelab.pytest_plugin import create_namespace
from tests.engine.conftest import LAB03, solve_lab03
from tests.helpers import REPO, run_cli


@pytest.fixture(scope="module")
def planted(kube_api: KubeApi) -> tuple[str, dict[str, str]]:
    """(namespace, {key: planted value}) with lab 03 solved and its Secret holding the values."""
    namespace = f"t-secret-{uuid.uuid4().hex[:6]}"
    create_namespace(kube_api, namespace)
    values = {"POSTGRES_PASSWORD": "mdp-" + secrets.token_hex(16), "POSTGRES_USER": "util-" + secrets.token_hex(12)}
    solve_lab03(kube_api, namespace)
    manifest = {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "postgres-credentials", "namespace": namespace},
        "data": {"POSTGRES_PASSWORD": base64.b64encode(values["POSTGRES_PASSWORD"].encode()).decode()},
        "stringData": {"POSTGRES_USER": values["POSTGRES_USER"]},
    }
    applied = {**manifest, "metadata": {**manifest["metadata"], "annotations": {LAST_APPLIED: json.dumps(manifest)}}}
    kube_api.request("PUT", f"/api/v1/namespaces/{namespace}/secrets/postgres-credentials", body=applied)
    stored = kube_api.get("v1", "Secret", "postgres-credentials", namespace)
    assert stored is not None
    assert base64.b64decode(stored["data"]["POSTGRES_USER"]).decode() == values["POSTGRES_USER"]
    assert values["POSTGRES_USER"] in stored["metadata"]["annotations"][LAST_APPLIED]
    assert manifest["data"]["POSTGRES_PASSWORD"] in stored["metadata"]["annotations"][LAST_APPLIED]
    yield namespace, values
    kube_api.delete("v1", "Namespace", namespace)


def _forms(value: str) -> list[str]:
    """The value as it could leak: plain, base64 (standard and URL-safe, padded or not)."""
    raw = value.encode()
    forms = {value, base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    forms |= {form.rstrip("=") for form in forms}
    return sorted(forms)


def test_no_secret_value_in_any_output(planted: tuple[str, dict[str, str]], admin_kubeconfig: Path,
                                       tmp_path: Path) -> None:
    """Live text/JSON/JUnit, snapshot, graded snapshot, JSON on stdout: no value, plain or base64."""
    namespace, values = planted
    cluster = ["-n", namespace, "--kubeconfig", str(admin_kubeconfig)]
    snap = tmp_path / "etat.snapshot.json"
    runs = {
        "grade texte + --json + --junit": run_cli("grade", LAB03, *cluster, "--json", str(tmp_path / "live.json"),
                                                  "--junit", str(tmp_path / "live.xml"), "--allow-dry-run"),
        "grade --format json": run_cli("grade", LAB03, *cluster, "--format", "json"),
        "snapshot": run_cli("snapshot", LAB03, *cluster, "-o", str(snap), "--allow-dry-run"),
    }
    runs["grade --snapshot"] = run_cli("grade", LAB03, "--snapshot", str(snap), "--json",
                                       str(tmp_path / "snap.json"), "--junit", str(tmp_path / "snap.xml"))
    runs["grade --snapshot --format json"] = run_cli("grade", LAB03, "--snapshot", str(snap), "--format", "json")
    for what, result in runs.items():
        assert result.returncode == 0, (what, result.stdout, result.stderr)

    outputs = {f"{what} ({stream})": getattr(result, stream) for what, result in runs.items()
               for stream in ("stdout", "stderr")}
    outputs |= {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir()}
    assert {"live.json", "live.xml", "etat.snapshot.json", "snap.json", "snap.xml"} <= set(outputs)
    leaks = [f"{key} sous la forme « {form} » dans {where}"
             for key, value in values.items() for form in _forms(value)
             for where, text in outputs.items() if form in text]
    assert leaks == [], "valeur de Secret divulguée :\n" + "\n".join(leaks)

    stored = json.loads(snap.read_text(encoding="utf-8"))
    secret = next(o for o in stored["lists"][f"v1/Secret@{namespace}"]
                  if o["metadata"]["name"] == "postgres-credentials")
    assert secret["data"] == {"POSTGRES_PASSWORD": None, "POSTGRES_USER": None}  # keys kept, values gone
    assert "stringData" not in secret
    assert LAST_APPLIED not in (secret["metadata"].get("annotations") or {})
    assert "managedFields" not in secret["metadata"]
    assert LAST_APPLIED not in snap.read_text(encoding="utf-8")


def test_pytest_plugin_leaks_no_secret_value(planted: tuple[str, dict[str, str]], admin_kubeconfig: Path) -> None:
    """The grader run as a pytest module (-v, with its messages) prints no value either."""
    namespace, values = planted
    grader = importlib.import_module(module_name(LAB03)).__file__
    done = subprocess.run([sys.executable, "-m", "pytest", grader, "-v", "-p", "no:cacheprovider", "-rA",
                           "--kubeconfig", str(admin_kubeconfig), "--lab-namespace", namespace],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    text = done.stdout + done.stderr
    leaks = [form for value in values.values() for form in _forms(value) if form in text]
    assert leaks == []
