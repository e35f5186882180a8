"""Sandbox lifecycle as a user drives it: status, several sandboxes, clean shutdown."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import yaml

from kubelab.sandbox import processes
from kubelab.sandbox.cluster import Sandbox
from kubelab.typography import french
from tests.helpers import run_cli


def _listeners(ports: set[int]) -> list[str]:
    """Command lines of the processes listening on any of ``ports``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) in ports:
            inodes.add(f"socket:[{fields[9]}]")
    owners = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
            if links & inodes:
                owners.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return owners


def _status(sandbox: Sandbox) -> dict:
    result = run_cli("sandbox", "--name", sandbox.name, "status", "--format", "yaml",
                     env={"KUBELAB_SANDBOX_HOME": str(sandbox.workdir.parent)})
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_status_reports_ha_with_three_control_plane_nodes(kube_sandbox: Sandbox) -> None:
    """With 3 control-plane nodes, does the status say HA is formed with 3 voters?"""
    report = _status(kube_sandbox)
    assert report["microk8s"]["running"] is True
    assert report["high-availability"]["enabled"] is True
    assert [n["role"] for n in report["high-availability"]["nodes"]] == ["voter"] * 3
    assert all(n["address"].endswith(":19001") for n in report["high-availability"]["nodes"])
    statuses = {a["name"]: a["status"] for a in report["addons"]}
    assert statuses["dns"] == statuses["hostpath-storage"] == statuses["ingress"] == statuses["rbac"] == "enabled"
    assert statuses["metallb"] == statuses["registry"] == "disabled"
    assert report["sandbox-nodes"] == [{"name": f"node-{i}", "kind": "simulated", "ready": True} for i in (1, 2, 3)]


@pytest.fixture
def small_sandbox(tmp_path: Path):
    sandbox = Sandbox("petit", root=tmp_path)
    sandbox.up(nodes=1, progress=lambda _: None)
    yield sandbox
    sandbox.down(progress=lambda _: None)


def test_one_node_is_not_ha_and_down_leaves_nothing(small_sandbox: Sandbox, kube_sandbox: Sandbox) -> None:
    """Next to the session's sandbox, is a 1-node sandbox not HA, and does down leave no trace?"""
    report = _status(small_sandbox)
    assert report["high-availability"]["enabled"] is False
    assert report["high-availability"]["nodes"] == [{"address": "10.10.0.11:19001", "role": "voter"}]
    state = small_sandbox.read_state()
    session_state = kube_sandbox.read_state()
    assert state is not None and session_state is not None
    assert state.ports["kube-apiserver"] != session_state.ports["kube-apiserver"]

    again = run_cli("sandbox", "--name", "petit", "up", env={"KUBELAB_SANDBOX_HOME": str(small_sandbox.workdir.parent)})
    assert again.returncode == 0
    assert "tourne déjà" in again.stdout
    assert small_sandbox.read_state() == state

    small_sandbox.down(progress=lambda _: None)
    assert not small_sandbox.workdir.exists()
    # With the workdir as marker: on a busy machine a freed PID can already belong to another process.
    assert not any(processes.is_alive(pid, str(small_sandbox.workdir)) for pid in state.pids.values())
    assert not [owner for owner in _listeners(set(state.ports.values())) if str(small_sandbox.workdir) in owner]
    assert kube_sandbox.is_running()


def test_node_add_and_remove(kube_sandbox: Sandbox) -> None:
    """Can a worker join and leave, labelled as MicroK8s labels workers?"""
    name = kube_sandbox.add_node(worker=True, progress=lambda _: None)
    try:
        node = kube_sandbox.api().get("v1", "Node", name)
        assert node is not None
        assert node["metadata"]["labels"]["node.kubernetes.io/microk8s-worker"] == "microk8s-worker"
        assert "microk8s.io/cluster" not in node["metadata"]["labels"]
        report = _status(kube_sandbox)
        assert len(report["high-availability"]["nodes"]) == 3
    finally:
        kube_sandbox.remove_node(name, progress=lambda _: None)
    assert kube_sandbox.api().get("v1", "Node", name) is None


def test_bad_input_gets_french_errors(kube_sandbox: Sandbox, tmp_path: Path) -> None:
    """Unknown addon, unknown node, taken port: a French message naming the problem and exit code 2?"""
    env = {"KUBELAB_SANDBOX_HOME": str(kube_sandbox.workdir.parent)}
    result = run_cli("sandbox", "--name", kube_sandbox.name, "addon", "enable", "licorne", env=env)
    assert result.returncode == 2
    assert french("Addon inconnu : « licorne »") in result.stderr

    result = run_cli("sandbox", "--name", kube_sandbox.name, "node", "remove", "fantome", env=env)
    assert result.returncode == 2
    assert french("Le nœud « fantome » n'existe pas") in result.stderr

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("sandbox", "--name", "occupe", "up", "--port", str(port),
                         env={"KUBELAB_SANDBOX_HOME": str(tmp_path)})
    assert result.returncode == 2
    assert f"Le port {port} est déjà utilisé" in result.stderr
    assert not (tmp_path / "occupe").exists()

    result = run_cli("sandbox", "--name", "absent", "status", env={"KUBELAB_SANDBOX_HOME": str(tmp_path)})
    assert result.returncode == 1
    assert "microk8s is not running" in result.stdout
