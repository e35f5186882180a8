"""``kubelab netpol matrix --from-files``: grid, JSON, lint and French errors (exit 2)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from kubelab import cli
from kubelab.typography import french
from tests.helpers import run_cli

NB = "\u00a0"
APP = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: monitoring, labels: {team: obs}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: frontend}
spec:
  selector: {matchLabels: {app: frontend}}
  template:
    metadata: {labels: {app: frontend}}
    spec: {containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - {name: api, image: api, ports: [{name: http, containerPort: 9000}, {name: metrics, containerPort: 9090}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: pg, image: postgres, ports: [{name: pg, containerPort: 5432}]}]}
"""
POLICIES = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: frontend}}}]
    ports: [{port: http}]
  - from: [{namespaceSelector: {matchLabels: {team: obs}}}]
    ports: [{port: metrics}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: frontend-out}
spec:
  podSelector: {matchLabels: {app: frontend}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: api}}}]}]
"""


@pytest.fixture(scope="module", autouse=True)
def netpol_is_registered() -> None:
    parser = cli.build_parser()
    verbs = next(a for a in parser._actions if a.dest == "verb")
    if "netpol" not in (verbs.choices or {}):
        pytest.fail("« kubelab netpol » n'est pas branché : cli.build_parser() doit appeler "
                    "cli_netpol.register(verbs) (from kubelab import cli_netpol).")


@pytest.fixture(scope="module")
def manifests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shop")
    (folder / "app.yaml").write_text(APP)
    (folder / "policies").mkdir()
    (folder / "policies" / "policies.yml").write_text(POLICIES)
    (folder / "README.md").write_text("pas un manifeste")
    return folder


def matrix(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("netpol", "matrix", *args, timeout=60)


def test_grid(manifests: Path) -> None:
    done = matrix("--namespace", "shop", "--from-files", str(manifests))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"Matrice d'accessibilité du namespace «{NB}shop{NB}» (✓ autorisé, ✗ bloqué)"
    header = next(line for line in lines if line.startswith("destinations →"))
    assert all(name in header for name in ("shop/api", "shop/db", "shop/frontend"))
    row = next(line for line in lines if line.startswith("shop/frontend "))
    assert row.split("│")[1].split() == ["✓", "✗"]
    monitoring = next(line for line in lines if line.startswith("tout pod de monitoring"))
    assert monitoring.split("│")[1].split() == ["✗", "✓"]
    assert "2 connexions autorisées sur 16." in done.stdout


def test_json(manifests: Path) -> None:
    done = matrix("-n", "shop", "--from-files", str(manifests), "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["format"] == "kubelab.netpol/v1"
    assert [s["id"] for s in document["sources"]] == ["shop/api", "shop/db", "shop/frontend", "monitoring/*"]
    assert document["sources"][0]["workload"] == "Deployment api"
    cell = next(c for c in document["cells"] if (c["source"], c["destination"], c["port"])
                == ("shop/frontend", "shop/api", 9000))
    assert cell["allowed"] and cell["ingress"]["rules"] == [{"policy": "shop/api", "index": 0}]
    assert cell["explanation"].startswith("Autorisé. Sortie")
    assert "findings" not in document
    assert matrix("-n", "shop", "--from-files", str(manifests), "--json").stdout == done.stdout


def test_lint(manifests: Path) -> None:
    done = matrix("-n", "shop", "--from-files", str(manifests), "--lint", "--json")
    findings = json.loads(done.stdout)["findings"]
    assert {f["id"] for f in findings} == {"egress-deny-without-dns"}
    text = matrix("-n", "shop", "--from-files", str(manifests), "--lint", "--port", "53/UDP")
    assert text.returncode == 0 and "[erreur] egress-deny-without-dns (shop/default-deny)" in text.stdout
    assert "53/UDP" in text.stdout.splitlines()[3]


def test_malformed_yaml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(APP)
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x\n")
    done = matrix("--namespace", "shop", "--from-files", str(tmp_path))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(french("Erreur : YAML invalide dans")) and str(broken) in done.stderr


def test_bad_inputs_exit_2_with_french_messages(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
                                       "spec: {containers: [{name: c, image: nginx}]}\n")
    unknown = matrix("--namespace", "nowhere", "--from-files", str(tmp_path))
    assert unknown.returncode == 2 and f"namespace «{NB}nowhere{NB}» n'existe pas" in unknown.stderr
    port = matrix("--namespace", "shop", "--from-files", str(tmp_path), "--port", "99999")
    assert port.returncode == 2 and french(f"Erreur : Port hors limites «{NB}99999{NB}»") in port.stderr
    missing = matrix("--namespace", "shop", "--from-files", str(tmp_path / "absent"))
    assert missing.returncode == 2 and "introuvable" in missing.stderr
    (tmp_path / "bad.yaml").write_text(POLICIES.replace("podSelector: {matchLabels: {app: frontend}}}]",
                                                        "podSelector: {}, ipBlock: {cidr: 1.2.3.4/32}}]"))
    invalid = matrix("--namespace", "default", "--from-files", str(tmp_path))
    assert invalid.returncode == 2
    assert f"«{NB}default/api{NB}»" in invalid.stderr and str(tmp_path / "bad.yaml") in invalid.stderr
