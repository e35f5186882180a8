"""Opt-in live probes (``kubelab grade LAB --allow-probes``): not scored, refused on a snapshot,
and on the sandbox (no data plane) a single ⚠ result with nothing written, proved from the audit log.

What they do on a real MicroK8s (exec, pod deletion, ephemeral containers) cannot run here; the
pure parts (flows chosen, exit codes read from a pod's status, psql output) are tested with dicts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kubelab import live_probes
from kubelab.catalog import load_lab
from kubelab.errors import InfrastructureError, KubelabError
from kubelab.kube_api import KubeApi
from kubelab.lab_setup import apply_variant, setup
from kubelab.labs import lab03_stockage_pvc as lab03
from kubelab.labs import lab04_networkpolicies as lab04
from kubelab.typography import french
from tests.engine.conftest import (
    LAB03,
    MUTATING_VERBS,
    bind_cluster_role,
    mint_kubeconfig,
    settled_audit_events,
    unique_user,
    wait_authorized,
)
from tests.helpers import run_cli

LAB04 = "04-networkpolicies"
SECTION = french(live_probes.TITLE)
NO_DATA_PLANE = french(live_probes.NO_DATA_PLANE)


def _score(output: str) -> str:
    found = re.search(r"Score\s*:\s*(\d+/\d+)", output)
    assert found, output
    return found.group(1)


@pytest.fixture
def grader(sandbox: Any, kube_api: KubeApi, tmp_path: Path):
    """(user, kubeconfig) of a dedicated cluster-admin identity: its audit events are the CLI's."""
    user = unique_user("sondes")
    binding = bind_cluster_role(kube_api, user, "cluster-admin")
    wait_authorized(kube_api, user, "list", "secrets", "kube-system")
    yield user, mint_kubeconfig(sandbox, tmp_path / f"{user}.kubeconfig", user)
    kube_api.delete("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", binding)


def _pods(api: KubeApi, namespace: str) -> dict[str, tuple[str, str]]:
    return {p["metadata"]["name"]: (p["metadata"]["uid"], p["metadata"]["resourceVersion"])
            for p in api.list("v1", "Pod", namespace)}


# --- against the sandbox -----------------------------------------------------------------------


def test_lab03_probe_on_sandbox_writes_nothing(sandbox: Any, kube_api: KubeApi, grader, solved_namespace: str) -> None:
    """With --allow-probes: the same score, a « Sondes en direct » section with one ⚠ « no data
    plane » result, and not one mutating request nor changed pod."""
    user, kubeconfig = grader
    common = ["grade", LAB03, "-n", solved_namespace, "--kubeconfig", str(kubeconfig), "--wait", "30"]
    plain = run_cli(*common)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert SECTION not in plain.stdout
    before = _pods(kube_api, solved_namespace)

    probed = run_cli(*common, "--allow-probes")
    assert probed.returncode == 0, probed.stdout + probed.stderr
    assert _score(probed.stdout) == _score(plain.stdout)
    section = probed.stdout.split(SECTION, 1)[1]
    assert f"⚠ persistance — {NO_DATA_PLANE}" in section, probed.stdout
    assert "✓" not in section and "✗" not in section

    assert _pods(kube_api, solved_namespace) == before
    events = settled_audit_events(sandbox, user, minimum=2 * len(load_lab(LAB03).reads))
    assert events, f"aucun événement d'audit pour {user}"
    writes = [f"{e['verb']} {e['requestURI']}" for e in events if e["verb"] in MUTATING_VERBS]
    assert writes == [], "les sondes ont écrit sur le bac à sable :\n" + "\n".join(writes)
    assert any(e["verb"] == "list" and (e.get("objectRef") or {}).get("resource") == "nodes" for e in events)


def test_lab04_probe_on_sandbox_writes_nothing(kube_api: KubeApi, admin_kubeconfig: Path, namespace: str) -> None:
    """Lab 04's matrix probe: one ⚠ result on the sandbox, no ephemeral container added."""
    lab = load_lab(LAB04)
    try:
        setup(kube_api, lab, namespace)
        apply_variant(kube_api, lab, "solution", namespace)
    except KubelabError as exc:
        pytest.skip(f"la solution du lab 04 ne s'applique pas ici : {exc.message}")
    before = _pods(kube_api, namespace)
    result = run_cli("grade", LAB04, "-n", namespace, "--kubeconfig", str(admin_kubeconfig), "--wait", "30",
                     "--allow-probes", "--format", "json")
    assert result.returncode in (0, 1), result.stdout + result.stderr
    json.loads(result.stdout)  # the probes' section goes to stderr: stdout stays a JSON report
    assert SECTION in result.stderr and f"⚠ matrice en direct — {NO_DATA_PLANE}" in result.stderr
    after = _pods(kube_api, namespace)
    assert after == before
    assert not any(p.get("spec", {}).get("ephemeralContainers") for p in kube_api.list("v1", "Pod", namespace))


def test_allow_probes_with_snapshot_is_a_usage_error(tmp_path: Path) -> None:
    snapshot = tmp_path / "etat.json"
    snapshot.write_text("{}")
    result = run_cli("grade", LAB03, "--snapshot", str(snapshot), "--allow-probes")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--allow-probes ne se combine pas avec --snapshot" in result.stderr
    assert SECTION not in result.stdout


def test_allow_probes_in_classroom_mode_is_a_usage_error() -> None:
    """Probes write in each learner's namespace: refused before any connection, with the way to do it instead."""
    result = run_cli("grade", LAB03, "--namespaces", "etudiant-*", "--allow-probes",
                     "--kubeconfig", "/nonexistent/kubeconfig")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--allow-probes ne se combine pas avec --namespaces" in result.stderr
    assert "avec --namespace." in result.stderr and result.stdout == ""


# --- pure parts ---------------------------------------------------------------------------------


def test_data_plane_detection() -> None:
    fake = {"metadata": {"name": "n1", "annotations": {"kwok.x-k8s.io/node": "fake"}}}
    real = {"metadata": {"name": "n2", "annotations": {"node.alpha.kubernetes.io/ttl": "0"}}}
    assert live_probes.has_data_plane([real])
    assert not live_probes.has_data_plane([fake])
    assert not live_probes.has_data_plane([real, fake])
    assert not live_probes.has_data_plane([])


class _FakeApi:
    """Only LIST nodes is allowed: any other call would be a write the guard should have prevented."""

    def __init__(self, nodes: list[dict]) -> None:
        self.nodes = nodes

    def list(self, api_version: str, kind: str, *args: Any, **kwargs: Any) -> list[dict]:
        assert (api_version, kind) == ("v1", "Node")
        return self.nodes

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"appel inattendu : {name}")


@pytest.mark.parametrize("probe", [*lab03.LIVE_PROBES, *lab04.LIVE_PROBES], ids=lambda p: p.title)
def test_probes_stop_before_any_request_without_data_plane(probe) -> None:
    api = _FakeApi([{"metadata": {"annotations": {"kwok.x-k8s.io/node": "fake"}}}])
    assert probe(api, "ns") == [live_probes.LiveProbeResult(probe.title, None, live_probes.NO_DATA_PLANE)]


def test_probe_errors_become_warnings() -> None:
    @live_probes.live_probe("essai")
    def broken(api: Any, namespace: str) -> list:
        raise KubelabError("exec refusé")

    assert broken(_FakeApi([{"metadata": {}}]), "ns") == [
        live_probes.LiveProbeResult("essai", None, "interrompue : exec refusé")]


def test_lab04_flows() -> None:
    allowed = lab04.allowed_flows()
    assert allowed == [("frontend", "backend", 8080), ("backend", "postgres", 5432), ("backend", "redis", 6379)]
    blocked = lab04.blocked_flows(allowed)
    assert blocked == [("frontend", "postgres", 5432), ("frontend", "redis", 6379), ("postgres", "backend", 8080)]
    assert not set(blocked) & set(allowed) and all(s != t for s, t, _ in blocked)


def _pod(*statuses: dict) -> dict:
    return {"status": {"ephemeralContainerStatuses": list(statuses)}}


def test_ephemeral_container_state() -> None:
    done = {"name": "a", "state": {"terminated": {"exitCode": 0}}}
    refused = {"name": "b", "state": {"terminated": {"exitCode": 1}}}
    running = {"name": "c", "state": {"running": {}}}
    pulling = {"name": "d", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "busybox introuvable"}}}
    pod = _pod(done, refused, running, pulling)
    assert live_probes.ephemeral_exit_code(pod, "a") == 0
    assert live_probes.ephemeral_exit_code(pod, "b") == 1
    assert live_probes.ephemeral_exit_code(pod, "c") is None
    assert live_probes.ephemeral_exit_code(pod, "absent") is None
    assert live_probes.ephemeral_exit_code({"status": {}}, "a") is None
    assert live_probes.ephemeral_stuck(pod, "d") == "ImagePullBackOff : busybox introuvable"
    assert live_probes.ephemeral_stuck(pod, "c") is None
    assert [lab04.observed(code) for code in (0, 1, None)] == ["autorisé", "bloqué", "indéterminé"]


def test_lab04_flow_results() -> None:
    flow = ("frontend", "postgres", 5432)
    assert lab04._flow_result(flow, False, 1).ok is True
    wrong = lab04._flow_result(flow, False, 0)
    assert wrong.ok is False and wrong.title == "frontend → postgres:5432"
    assert "attendu : bloqué ; observé : autorisé" in wrong.message
    assert lab04._flow_result(flow, True, None, "aucun pod `frontend` prêt").ok is None


def test_ephemeral_container_needs_no_privilege() -> None:
    container = live_probes.ephemeral_container("kubelab-sonde-1", ["nc", "-z", "-w", "3", "10.1.0.5", "5432"])
    context = container["securityContext"]
    assert context["runAsNonRoot"] and context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}


def test_lab03_psql() -> None:
    assert lab03.psql_rows("kubelab-1a2b\n\n  autre \n") == ["kubelab-1a2b", "autre"]
    assert lab03.psql_rows("") == []
    command = lab03.psql("SELECT marker FROM kubelab_persistance;")
    assert command[:2] == ["sh", "-c"]
    assert '"$POSTGRES_USER"' in command[2] and '"$POSTGRES_PASSWORD"' in command[2]
    assert "SELECT marker FROM kubelab_persistance;" in command[2]


def test_render() -> None:
    text = live_probes.render([live_probes.LiveProbeResult("persistance", True, "la donnée a survécu."),
                               live_probes.LiveProbeResult("frontend → postgres:5432", False, "attendu : bloqué."),
                               live_probes.LiveProbeResult("x", None, "non exécutée.")])
    assert SECTION in text
    assert "✓ persistance" in text and "✗ frontend → postgres:5432" in text and "⚠ x" in text
    assert " :" not in text  # French typography: non-breaking spaces


# --- the probes' logic on a simulated real cluster (exec and the data plane replaced by fakes) ---------


class _RealishApi:
    """Real (non-kwok) nodes, pods from a dict, and a record of the writes."""

    def __init__(self, pods: list[dict]) -> None:
        self.pods = pods
        self.writes: list[tuple] = []

    def list(self, api_version: str, kind: str, namespace: str | None = None, **_: Any) -> list[dict]:
        return [{"metadata": {"name": "microk8s"}}] if kind == "Node" else self.pods

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        return next((p for p in self.pods if p["metadata"]["name"] == name), None)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        self.writes.append(("delete", name))
        return True


def _ready_pod(name: str, uid: str = "u1", app: str | None = None, ip: str = "10.1.0.1") -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "uid": uid, "labels": {"app": app or name}},
            "spec": {"containers": [{"name": app or "postgres"}]},
            "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": "True"}]}}


@pytest.mark.parametrize("survives", [True, False], ids=["persistant", "perdu"])
def test_lab03_persistence_logic(monkeypatch: pytest.MonkeyPatch, survives: bool) -> None:
    api = _RealishApi([_ready_pod("postgres-0")])
    table: list[str] = []
    sql_seen: list[str] = []

    def fake_exec(_api: Any, namespace: str, pod: str, container: str, command: list[str]):
        sql = command[2].split('-c "', 1)[1].rstrip('"')
        sql_seen.append(sql)
        if sql.startswith("CREATE TABLE"):
            table.append(sql.split("'")[1])
            return 0, "", ""
        if "to_regclass" in sql:
            return 0, "t\n" if table else "f\n", ""
        if sql.startswith("SELECT marker"):
            return 0, "\n".join(table) + "\n", ""
        return 0, "", ""

    def fake_wait(*_args: Any, **_kwargs: Any) -> list[dict]:
        if not survives:
            table.clear()  # an emptyDir: the new pod starts empty
        return []

    monkeypatch.setattr(lab03, "exec_in_pod", fake_exec)
    monkeypatch.setattr(lab03, "wait_for", fake_wait)
    [result] = lab03.persistence(api, "ns")
    assert api.writes == [("delete", "postgres-0")]
    assert result.ok is survives, result
    if survives:
        assert "la donnée écrite a survécu au redémarrage du pod" in result.message
        assert sql_seen[-1] == "DROP TABLE kubelab_persistance;"
    else:
        assert "(table absente)" in result.message and not any(s.startswith("DROP") for s in sql_seen)


def test_lab03_probe_interrupted_after_writing_names_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """The new pod never gets ready: is the ⚠ saying which table the probe left behind, and how to drop it?"""
    api = _RealishApi([_ready_pod("postgres-0")])

    def never_ready(*_args: Any, **_kwargs: Any) -> list[dict]:
        raise InfrastructureError("délai dépassé en attendant le nouveau pod `postgres-0` prêt")

    monkeypatch.setattr(lab03, "exec_in_pod", lambda *_args: (0, "", ""))
    monkeypatch.setattr(lab03, "wait_for", never_ready)
    [result] = lab03.persistence(api, "ns")
    assert result.ok is None and api.writes == [("delete", "postgres-0")]
    assert result.message.startswith("interrompue : délai dépassé")
    assert "la table `kubelab_persistance` écrite par la sonde peut rester" in result.message
    assert "DROP TABLE kubelab_persistance;" in result.message


def test_lab03_probe_does_nothing_when_pod_not_ready() -> None:
    pod = _ready_pod("postgres-0")
    pod["status"]["conditions"] = []
    api = _RealishApi([pod])
    [result] = lab03.persistence(api, "ns")
    assert result.ok is None and api.writes == []


def test_lab04_matrix_logic(monkeypatch: pytest.MonkeyPatch) -> None:
    ips = {"frontend": "10.1.0.1", "backend": "10.1.0.2", "postgres": "10.1.0.3", "redis": "10.1.0.4"}
    pods = [_ready_pod(f"{app}-abc", uid=app, app=app, ip=ip) for app, ip in ips.items()]
    api = _RealishApi(pods)
    reachable = {("10.1.0.1", "10.1.0.2", "8080"), ("10.1.0.2", "10.1.0.3", "5432"),
                 ("10.1.0.1", "10.1.0.3", "5432")}  # frontend → postgres: one policy too open
    added: list[tuple[str, dict]] = []

    def fake_add(_api: Any, namespace: str, pod: str, container: dict) -> None:
        added.append((pod, container))
        source = next(p for p in pods if p["metadata"]["name"] == pod)
        *_, ip, port = container["command"]
        code = 0 if (source["status"]["podIP"], ip, port) in reachable else 1
        source["status"].setdefault("ephemeralContainerStatuses", []).append(
            {"name": container["name"], "state": {"terminated": {"exitCode": code}}})

    monkeypatch.setattr(lab04, "add_ephemeral_container", fake_add)
    monkeypatch.setattr(lab04, "wait_for", lambda _api, _v, _k, predicate, **_: pods if predicate(pods) else [])
    results = lab04.live_matrix(api, "ns")
    assert [(r.title, r.ok) for r in results] == [
        ("frontend → backend:8080", True), ("backend → postgres:5432", True), ("backend → redis:6379", False),
        ("frontend → postgres:5432", False), ("frontend → redis:6379", True), ("postgres → backend:8080", True)]
    assert "attendu : autorisé ; observé : bloqué" in results[2].message
    assert "attendu : bloqué ; observé : autorisé" in results[3].message
    assert [pod for pod, _ in added] == ["frontend-abc", "backend-abc", "backend-abc", "frontend-abc", "frontend-abc",
                                         "postgres-abc"]
    assert all(c["image"].startswith("busybox") and c["command"][:4] == ["nc", "-z", "-w", "3"] for _, c in added)
