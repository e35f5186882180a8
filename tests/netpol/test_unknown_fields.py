"""`kubelab netpol matrix --from-files` refuses the fields the cluster would refuse (``podSelectr``,
``contaners``): a NetworkPolicy with a misspelt ``podSelector`` would otherwise select every pod.

Without a cluster, the fields come from the API schema stored in the package; with
``--kubeconfig``, the API server itself answers (a dry run with strict field validation, which
writes nothing). The stored schema is compared with the sandbox's API server, so it cannot drift.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubelab import api_schema
from kubelab.kube_api import KubeApi
from kubelab.netpol import fields
from kubelab.netpol.loading import load_directory
from tests.helpers import REPO, run_cli

NB = "\u00a0"
TYPOS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all
spec:
  podSelectr: {}
  policyTypes: [Ingress]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      contaners:
      - name: web
        image: nginx:1.27
"""


def _typos(folder: Path) -> Path:
    folder.mkdir()
    (folder / "typos.yaml").write_text(TYPOS, encoding="utf-8")
    return folder / "typos.yaml"


def _assert_refused(done, path: Path) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == "", "la matrice ne devrait pas être calculée"
    message = done.stderr.replace(NB, " ")
    assert "Manifestes refusés, la matrice n'est pas calculée" in message
    assert f"« {path} », NetworkPolicy « deny-all » : champ inconnu `spec.podSelectr`" in message, message
    assert "le champ connu le plus proche est `podSelector`" in message
    assert f"« {path} », Deployment « web » : champ inconnu `spec.template.spec.contaners`" in message
    assert "le champ connu le plus proche est `containers`" in message
    assert "Traceback" not in done.stderr
    return message


def test_unknown_fields_without_cluster(tmp_path: Path) -> None:
    """No cluster named: the stored schema of the API refuses the misspelt fields, exit 2."""
    path = _typos(tmp_path / "manifestes")
    message = _assert_refused(run_cli("netpol", "matrix", "-n", "demo", "--from-files", str(path.parent)), path)
    assert "d'après le schéma de Kubernetes v1." in message


def test_unknown_fields_asked_to_the_api_server(tmp_path: Path, kube_api: KubeApi, kube_sandbox: object,
                                                 request: pytest.FixtureRequest) -> None:
    """With --kubeconfig, the API server's own strict decoding refuses them, and nothing is created."""
    path = _typos(tmp_path / "manifestes")
    kubeconfig = str(kube_sandbox.kubeconfig if kube_sandbox is not None  # type: ignore[attr-defined]
                     else request.config.getoption("kubelab_kubeconfig"))
    done = run_cli("netpol", "matrix", "-n", "default", "--from-files", str(path.parent), "--kubeconfig", kubeconfig)
    message = _assert_refused(done, path)
    assert "dry-run avec validation stricte des champs, rien n'est écrit" in message
    assert kube_api.get("networking.k8s.io/v1", "NetworkPolicy", "deny-all", "default") is None
    assert kube_api.get("apps/v1", "Deployment", "web", "default") is None


def test_every_lab_manifest_passes() -> None:
    """No false alarm: every manifest of every lab (solutions, starters, variants) has only known fields."""
    folders = [p for p in sorted((REPO / "labs").glob("*/*/**")) if p.is_dir() and list(p.glob("*.yaml"))]
    assert len(folders) > 30
    for folder in folders:
        assert fields.problems(load_directory(folder, "x").manifests) == [], folder


def test_stored_schema_is_the_sandbox_api(kube_api: KubeApi) -> None:
    """The stored fields are those the sandbox's API server publishes (regenerate: python -m kubelab.api_schema)."""
    stored = json.loads(fields.SCHEMA_FILE.read_text(encoding="utf-8"))
    assert api_schema.fetch(kube_api) == stored
