"""Does the real node give the host back exactly as it found it, even after a crash?

These tests start and stop their own real-node sandboxes, so the plugin runs them before
any test that uses the shared ``real_sandbox`` (marker ``real_node_host``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from kubelab.kube_api import KubeApi
from kubelab.sandbox.cluster import Sandbox
from kubelab.sandbox.realnode import host_state, layout, lifecycle, ownership
from kubelab.waiting import scaled, wait_for
from tests.helpers import REPO, apply_yaml

pytestmark = [pytest.mark.real_node, pytest.mark.real_node_host]

WORKLOAD = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer, labels: {app: writer}}
spec:
  containers:
  - name: main
    image: busybox:1.37
    command: [sh, -c, 'echo persistent > /data/file && httpd -f -p 8080 -h /data']
    ports: [{name: http, containerPort: 8080}]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data}
---
apiVersion: v1
kind: Service
metadata: {name: writer}
spec:
  selector: {app: writer}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
"""


def _running(api: KubeApi, namespace: str, name: str) -> None:
    wait_for(api, "v1", "Pod", lambda pods: any(
        p["metadata"]["name"] == name and p.get("status", {}).get("phase") == "Running" for p in pods),
        namespace=namespace, what=f"le pod {name} en Running", timeout=scaled(120))


def _use_the_node(sandbox: Sandbox) -> None:
    """Give every component something to do: a volume, a Service, a policy, a container."""
    api = sandbox.api()
    api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "hote"}})
    wait_for(api, "v1", "ServiceAccount", lambda sas: bool(sas), namespace="hote", what="le ServiceAccount default")
    apply_yaml(api, WORKLOAD, "hote")
    _running(api, "hote", "writer")
    api.close()


@pytest.fixture
def clean_host() -> host_state.HostState:
    """The host before the test, with no real node around (a crashed one is cleaned first)."""
    ownership.wait_until_free(timeout=1800)
    lifecycle.clean_stale(progress=lambda _: None)
    return host_state.capture()


def test_down_leaves_the_host_as_it_was(clean_host: host_state.HostState, tmp_path: Path) -> None:
    """After up, real work (pod, PVC, Service, NetworkPolicy) and down, is every facet unchanged?"""
    sandbox = Sandbox("hote", root=tmp_path)
    try:
        sandbox.up(nodes=2, addons=("dns", "hostpath-storage"), progress=lambda _: None, real_node=True)
        during = host_state.capture()
        assert host_state.differences(clean_host, during), "le nœud réel n'a rien changé : il ne tourne pas ?"
        _use_the_node(sandbox)
    finally:
        sandbox.down(progress=lambda _: None)
    assert host_state.differences(clean_host, host_state.capture()) == []
    sandbox.down(progress=lambda _: None)  # idempotent
    assert host_state.differences(clean_host, host_state.capture()) == []


def test_a_crashed_node_is_cleaned_by_the_next_up(clean_host: host_state.HostState, tmp_path: Path) -> None:
    """If everything is killed without down, does the next up clean the machine, and down restore it?"""
    crashed = Sandbox("crash", root=tmp_path)
    again = Sandbox("apres-crash", root=tmp_path)
    messages: list[str] = []
    try:
        crashed.up(nodes=1, addons=("dns", "hostpath-storage"), progress=lambda _: None, real_node=True)
        _use_the_node(crashed)
        state = crashed.read_state()
        assert state is not None
        for pid in [*state.pids.values(), *host_state.node_pids()]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.5)
        assert host_state.differences(clean_host, host_state.capture()), "le crash simulé n'a rien laissé"
        again.up(nodes=1, addons=("dns",), progress=messages.append, real_node=True)
        assert any("nettoyage" in m for m in messages), messages
        assert again.api().get("v1", "Node", "node-1") is not None
    finally:
        again.down(progress=lambda _: None)
        crashed.down(progress=lambda _: None)
    assert host_state.differences(clean_host, host_state.capture()) == []


def test_real_node_needs_root_says_so_in_french() -> None:
    """Run as an ordinary user, does up --real-node refuse in French, exit 2, and change nothing?"""
    closed = [str(folder) for folder in (REPO, *REPO.parents) if not folder.stat().st_mode & 0o001]
    assert not closed, (f"l'utilisateur nobody ne peut pas traverser {', '.join(closed)} (mode sans o+x) : "
                        "clonez le dépôt dans un dossier que tout utilisateur peut traverser pour lancer ce test")
    before = host_state.capture()
    home = Path(tempfile.mkdtemp(prefix="kubelab-user-"))
    home.chmod(0o777)
    env = {**os.environ, "KUBELAB_SANDBOX_HOME": str(home / "sandboxes"), "HOME": str(home)}
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(REPO / ".venv/bin/python"), "-m",
         "kubelab.cli", "sandbox", "up", "--real-node"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "droits root" in result.stderr and "Traceback" not in result.stderr
    assert host_state.differences(before, host_state.capture()) == []
    assert not layout.JOURNAL.exists()
    shutil.rmtree(home)
