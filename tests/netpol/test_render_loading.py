"""The terminal grid and the JSON document; reading manifests from a folder; live mode."""

from __future__ import annotations

import argparse
import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from kubelab import cli_netpol
from kubelab.errors import UsageError
from kubelab.netpol.lint import lint
from kubelab.netpol.loading import load_directory
from kubelab.netpol.reachability import compute_matrix
from kubelab.netpol.render import findings_text, matrix_json, matrix_text

from .world import DNS_POD, NAMESPACES, PODS, labels, namespace, policy

POLICIES = [policy("db", podSelector=labels(role="db"), ingress=[{"from": [{"podSelector": labels(role="api")}]}]),
            policy("typo", podSelector=labels(role="dbb"))]


def test_grid_columns_line_up() -> None:
    text = matrix_text(compute_matrix(NAMESPACES, PODS, POLICIES), "Matrice")
    lines = text.splitlines()
    assert lines[0] == "Matrice (✓ autorisé, ✗ bloqué)"
    table = [line for line in lines[2:] if "│" in line or "┼" in line]
    assert len(table) == 2 + 1 + len(PODS)
    separators = {tuple(i for i, ch in enumerate(line) if ch in "│┼") for line in table}
    assert len(separators) == 1
    api_row = next(line for line in table if line.startswith("app/api "))
    assert api_row.split("│")[3].split() == ["✓"]


def test_grid_without_columns_says_so() -> None:
    matrix = compute_matrix(NAMESPACES, [PODS[3]], [])
    assert "aucune case" in matrix_text(matrix) and "--port" in matrix_text(matrix)


def test_default_columns_are_the_declared_ports_of_each_destination() -> None:
    matrix = compute_matrix(NAMESPACES, PODS, [])
    columns = [(d.key, p.label, p.name) for d, p in matrix.columns]
    assert ("app/api", "8080/TCP", "http") in columns and ("app/api", "9090/TCP", "metrics") in columns
    assert ("app/db", "80/TCP", None) not in columns
    assert [p for d, p, _ in columns if d == "other/client"] == ["80/TCP", "5432/TCP", "8080/TCP", "9090/TCP"]
    assert [s.key for s in matrix.sources] == sorted(s.key for s in matrix.sources)


def test_json_document_is_complete_and_stable() -> None:
    matrix = compute_matrix(NAMESPACES, PODS, POLICIES, sources=["app/api", "other/*", "8.8.8.8"])
    findings = lint(NAMESPACES, PODS, POLICIES)
    document = json.loads(matrix_json(matrix, findings))
    assert document["format"] == "kubelab.netpol/v1"
    assert [s["kind"] for s in document["sources"]] == ["pod", "namespace", "ipBlock"]
    assert len(document["cells"]) == 3 * len(document["columns"])
    cell = next(c for c in document["cells"] if c["source"] == "app/api" and c["destination"] == "app/db")
    assert cell["allowed"] and cell["ingress"]["rules"] == [{"policy": "app/db", "index": 0}]
    assert next(c for c in document["cells"] if c["source"] == "8.8.8.8/32")["egress"] is None
    assert [f["id"] for f in document["findings"]] == ["policy-selects-no-pod"]
    assert matrix_json(matrix, findings) == matrix_json(
        compute_matrix(NAMESPACES, list(reversed(PODS)), list(reversed(POLICIES)),
                       sources=["app/api", "other/*", "8.8.8.8"]), findings)
    assert "findings" not in json.loads(matrix_json(matrix))


def test_findings_text() -> None:
    text = findings_text(lint(NAMESPACES, PODS, POLICIES))
    assert text.startswith("Analyse des politiques\u00a0: 1 problème\n- [avertissement] policy-selects-no-pod "
                           "(app/typo)")
    assert findings_text([]) == "Analyse des politiques\u00a0: aucun problème détecté.\n"


CONTROLLERS = """\
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: shop, labels: {team: shop}}}
- {apiVersion: v1, kind: Service, metadata: {name: ignored}, spec: {ports: [{port: 80}]}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: monitoring}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: a, ports: [{name: metrics, containerPort: 9100}]}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: backup}}
        spec: {containers: [{name: b, image: b}], restartPolicy: Never}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, labels: {app: debug}}
spec: {containers: [{name: d, image: d, ports: [{containerPort: 53, protocol: UDP}]}]}
"""


def test_loading_reads_controllers_as_synthetic_pods(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "all.yml").write_text(CONTROLLERS)
    (tmp_path / "kustomization.yaml").write_text("resources: [sub/all.yml]\n")
    (tmp_path / "notes.txt").write_text("{ not yaml")
    inventory = load_directory(tmp_path, "shop")
    assert [n["metadata"]["name"] for n in inventory.namespaces] == ["shop"]
    pods = {f"{p['metadata']['namespace']}/{p['metadata']['name']}": p for p in inventory.pods}
    assert sorted(pods) == ["monitoring/agent", "shop/backup", "shop/debug"]
    annotations = pods["monitoring/agent"]["metadata"]["annotations"]
    assert annotations["netpol.kubelab.io/workload"] == "DaemonSet agent"
    assert annotations["netpol.kubelab.io/file"] == str(tmp_path / "sub" / "all.yml")
    matrix = compute_matrix(inventory.namespaces, inventory.pods, inventory.policies)
    assert {(d.key, p.label) for d, p in matrix.columns} >= {("monitoring/agent", "9100/TCP"), ("shop/debug", "53/UDP")}
    assert next(d for d in matrix.destinations if d.key == "shop/backup").workload == "CronJob backup"


def test_loading_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "deploy.yaml"
    bad.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n")
    with pytest.raises(UsageError, match="spec.template") as error:
        load_directory(tmp_path)
    assert str(bad) in error.value.message
    bad.write_text(b"\xff\xfe".decode("latin-1"), encoding="latin-1")
    with pytest.raises(UsageError, match="illisible"):
        load_directory(tmp_path)


class FakeApi:
    """What ``KubeApi.list`` would return for a small cluster."""

    def __init__(self) -> None:
        self.closed = False
        self.calls: list[tuple[str, str, Any]] = []

    def list(self, api_version: str, kind: str, ns: str | None = None, **_: Any) -> list[dict[str, Any]]:
        self.calls.append((api_version, kind, ns))
        return {"Namespace": [*NAMESPACES, namespace("kube-system")], "Pod": [*PODS, DNS_POD],
                "NetworkPolicy": POLICIES}[kind]

    def close(self) -> None:
        self.closed = True


def test_live_mode_reads_the_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeApi()
    monkeypatch.setattr(cli_netpol, "connect_from_args", lambda args: api)
    args = argparse.Namespace(namespace="app", from_files=None, json=True, lint=True, port=None,
                              kubeconfig=None, context=None, sandbox=False)
    output = io.StringIO()
    with redirect_stdout(output):
        assert cli_netpol.cmd_netpol_matrix(args) == 0
    assert api.closed and {kind for _, kind, _ in api.calls} == {"Namespace", "Pod", "NetworkPolicy"}
    document = json.loads(output.getvalue())
    assert [s["id"] for s in document["sources"]] == [
        "app/api", "app/db", "app/web", "dev/*", "kube-system/*", "other/*"]
    assert [d["id"] for d in document["destinations"]] == ["app/api", "app/db", "app/web", "kube-system/coredns"]
    assert [c["port"] for c in document["columns"] if c["destination"] == "kube-system/coredns"] == [53, 53, 9153]
    assert [f["id"] for f in document["findings"]] == ["policy-selects-no-pod"]


def test_loading_replaces_the_namespace_placeholder(tmp_path: Path) -> None:
    (tmp_path / "np.yaml").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: {}\n"
        "  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: __NAMESPACE__}}}]}]\n")
    policy_obj = load_directory(tmp_path, "lab-x").policies[0]
    assert policy_obj["metadata"]["namespace"] == "lab-x"
    peer = policy_obj["spec"]["ingress"][0]["from"][0]
    assert peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "lab-x"
