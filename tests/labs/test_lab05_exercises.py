"""Lab 05's exercises, with the statement's own commands, on a three-node sandbox of their own.

The sandbox runs the real scheduler and controller-manager (kwok only simulates the
containers), so a drain really evicts through the PodDisruptionBudget and a rolling update
really places, waits for and removes pods. Each test runs the commands the statement gives
(``kubectl drain``, ``kubectl uncordon``, ``kubectl set image``, ``kubectl rollout status``)
and checks what the learner would see, then what the grader says.
"""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kubelab import manifests
from kubelab.catalog import load_lab
from kubelab.grading import grade_live
from kubelab.kube_api import KubeApi
from kubelab.lab_setup import setup, split_steps, variant_objects
from kubelab.objects import is_ready
from kubelab.outcomes import Outcome
from kubelab.waiting import TIMEOUTS, wait_for

LAB = "05-haute-disponibilite"
NODES = 3


@dataclass
class Cluster:
    api: KubeApi
    kubeconfig: Path
    kubectl_path: Path

    def kubectl(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.kubectl_path), "--kubeconfig", str(self.kubeconfig), *args],
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A sandbox of three control-plane nodes, for this module alone (drains touch every namespace)."""
    from kubelab.sandbox.build import ensure_binaries
    from kubelab.sandbox.cluster import Sandbox

    sandbox = Sandbox(f"ha-{uuid.uuid4().hex[:5]}", root=tmp_path_factory.mktemp("ha"))
    sandbox.up(nodes=NODES, addons=("dns",), progress=lambda _: None)
    api = sandbox.api()
    try:
        yield Cluster(api, sandbox.kubeconfig, ensure_binaries(progress=lambda _: None).kubectl)
    finally:
        api.close()
        sandbox.down(progress=lambda _: None)


def _namespace() -> str:
    return f"ha-{uuid.uuid4().hex[:5]}"


def _ready_web_pods(api: KubeApi, namespace: str) -> list[dict]:
    return [p for p in api.list("v1", "Pod", namespace, label_selector="app=web")
            if is_ready(p) and not p["metadata"].get("deletionTimestamp")]


def _deploy_first_version(cluster: Cluster, variant: str) -> str:
    """Set the lab up in a fresh namespace and apply the variant as written before part 4 (no image change)."""
    namespace = _namespace()
    lab = load_lab(LAB)
    setup(cluster.api, lab, namespace)
    first, _ = split_steps(variant_objects(lab, variant, namespace))
    manifests.apply_all(cluster.api, first, namespace)
    wait_for(cluster.api, "v1", "Pod", lambda pods: len([p for p in pods if is_ready(p)]) == 3, namespace=namespace,
             label_selector="app=web", timeout="rollout", what="trois pods web prêts")
    return namespace


@dataclass
class Availability:
    """The fewest ready pods of `web` seen while it runs (a watch, no polling)."""

    api: KubeApi
    namespace: str
    lowest: int = 99
    stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Availability:
        self.lowest = len(_ready_web_pods(self.api, self.namespace))
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def _watch(self) -> None:
        ready: set[str] = {p["metadata"]["name"] for p in _ready_web_pods(self.api, self.namespace)}
        version = self.api.request("GET", f"/api/v1/namespaces/{self.namespace}/pods")["metadata"]["resourceVersion"]
        while not self.stop.is_set():
            for event in self.api.watch("v1", "Pod", self.namespace, version, timeout_seconds=2,
                                        label_selector="app=web"):
                pod = event.get("object", {})
                name = pod.get("metadata", {}).get("name", "")
                version = pod.get("metadata", {}).get("resourceVersion", version)
                gone = event.get("type") == "DELETED" or pod.get("metadata", {}).get("deletionTimestamp")
                if gone or not is_ready(pod):
                    ready.discard(name)
                else:
                    ready.add(name)
                self.lowest = min(self.lowest, len(ready))

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def _outcome(report, check_id: str) -> tuple[Outcome, str]:
    result = report.result(check_id)
    return result.outcome, result.message.replace("\u00a0", " ")


@pytest.mark.parametrize("variant", ["solution", "alternatives/max-unavailable-pdb"])
def test_image_update_completes_without_going_below_the_pdb(cluster: Cluster, variant: str) -> None:
    """With the reference (spread, maxSurge 1) and the course's alternative (anti-affinity, maxSurge 0,
    maxUnavailable 1), do « kubectl set image » and « kubectl rollout status » go through with never fewer
    than 2 ready pods, and does the grader give both rollout checks?"""
    assert len(cluster.api.list("v1", "Node")) == NODES
    namespace = _deploy_first_version(cluster, variant)
    with Availability(cluster.api, namespace) as seen:
        changed = cluster.kubectl("set", "image", "deployment/web", "nginx=nginx:1.29-alpine", "-n", namespace)
        assert changed.returncode == 0, changed.stderr
        status = cluster.kubectl("rollout", "status", "deployment/web", "-n", namespace,
                                 f"--timeout={TIMEOUTS['rollout']:.0f}s")
    assert status.returncode == 0 and "successfully rolled out" in status.stdout, status.stdout + status.stderr
    assert seen.lowest >= 2, f"la mise à jour est descendue à {seen.lowest} pod(s) prêt(s)"
    nodes = [p["spec"]["nodeName"] for p in _ready_web_pods(cluster.api, namespace)]
    assert len(nodes) == len(set(nodes)) == 3, f"après la mise à jour, les pods sont sur {nodes}"
    report = grade_live(LAB, cluster.api, namespace, wait=30)
    assert report.score == report.max_score, [(r.check.id, r.message) for r in report.results if r.points == 0]
    assert "(`nginx:1.29` → `nginx:1.29-alpine`) est allée au bout" in _outcome(report, "web-rollout-done")[1]


def test_a_strategy_that_cannot_complete_hangs_and_is_failed(cluster: Cluster) -> None:
    """With required anti-affinity, maxSurge 1 and maxUnavailable 0 on three nodes, does the update really
    hang (a Pending pod the scheduler cannot place), and does the grader say why before it hangs?"""
    namespace = _deploy_first_version(cluster, "mutants/hanging-rollout")
    before = grade_live(LAB, cluster.api, namespace, wait=0)
    outcome, message = _outcome(before, "web-rollout-feasible")
    assert outcome is Outcome.FAILED and "le pod supplémentaire (`maxSurge: 1`) n'a aucune place" in message
    with Availability(cluster.api, namespace) as seen:
        updated = cluster.kubectl("set", "image", "deployment/web", "nginx=nginx:1.29-alpine", "-n", namespace)
        assert updated.returncode == 0
        status = cluster.kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=15s")
    assert status.returncode != 0 and "1 out of 3 new replicas have been updated" in status.stdout, status.stdout
    assert seen.lowest == 3
    pending = [p for p in cluster.api.list("v1", "Pod", namespace, label_selector="app=web")
               if p["status"].get("phase") == "Pending"]
    assert len(pending) == 1
    report = grade_live(LAB, cluster.api, namespace, wait=3)
    assert report.failed_ids() == {"web-rollout-feasible", "web-rollout-done"}
    outcome, message = _outcome(report, "web-rollout-done")
    assert "didn't match pod anti-affinity rules" in message and "1 pod(s) à jour sur 3" in message


def test_draining_a_node_keeps_web_available(cluster: Cluster) -> None:
    """« kubectl drain » then « kubectl uncordon », as the statement says: does the PDB keep two pods ready and
    the Service its endpoints, does the grader name the cordoned node, and do uncordon and the image update of
    part 4 restore full marks?"""
    lab = load_lab(LAB)
    namespace = _namespace()
    setup(cluster.api, lab, namespace)
    manifests.apply_all(cluster.api, split_steps(variant_objects(lab, "solution", namespace))[0], namespace)
    wait_for(cluster.api, "policy/v1", "PodDisruptionBudget",
             lambda b: bool(b) and b[0].get("status", {}).get("disruptionsAllowed") == 1, namespace=namespace)
    node = _ready_web_pods(cluster.api, namespace)[0]["spec"]["nodeName"]
    try:
        with Availability(cluster.api, namespace) as seen:
            drained = cluster.kubectl("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s")
        assert drained.returncode == 0, drained.stderr
        assert seen.lowest >= 2, "le drain a fait tomber l'application"
        slices = cluster.kubectl("get", "endpointslices", "-n", namespace, "-l", "kubernetes.io/service-name=web")
        assert slices.returncode == 0 and "web-" in slices.stdout
        during = grade_live(LAB, cluster.api, namespace, wait=2)
        assert {"nodes-schedulable"} <= during.failed_ids() <= {"nodes-schedulable", "web-replicas-ready",
                                                                 "web-pods-distinct-nodes", "web-rollout-done"}
        assert f"(trouvé : `{node}`)" in _outcome(during, "nodes-schedulable")[1]
        assert _outcome(during, "web-service-endpoints")[0] is Outcome.PASSED
    finally:
        assert cluster.kubectl("uncordon", node).returncode == 0
    changed = cluster.kubectl("set", "image", "deployment/web", "nginx=nginx:1.29-alpine", "-n", namespace)
    assert changed.returncode == 0
    after = grade_live(LAB, cluster.api, namespace, wait=30)
    assert after.score == lab.max_points, [(r.check.id, r.message) for r in after.results if r.points == 0]


def test_a_single_node_cluster_is_not_highly_available(tmp_path: Path) -> None:
    """On a one-node MicroK8s, are the HA checks failed with the observed counts, and spreading impossible?"""
    from kubelab.lab_setup import apply_variant
    from kubelab.sandbox.cluster import Sandbox

    sandbox = Sandbox(f"single-{uuid.uuid4().hex[:5]}", root=tmp_path)
    sandbox.up(nodes=1, addons=("dns",), progress=lambda _: None)
    try:
        api = sandbox.api()
        lab = load_lab(LAB)
        setup(api, lab, lab.namespace)
        apply_variant(api, lab, "alternatives/max-unavailable-pdb", lab.namespace)
        report = grade_live(LAB, api, wait=3)
        assert {"ha-control-plane-nodes", "ha-formed", "web-replicas-ready", "web-pods-distinct-nodes",
                "web-rollout-feasible"} <= report.failed_ids()
        assert "(trouvé : 1 prêt(s))" in report.result("ha-control-plane-nodes").message.replace("\u00a0", " ")
        assert "(trouvé : 1, d'après les nœuds" in report.result("ha-formed").message.replace("\u00a0", " ")
        feasible = report.result("web-rollout-feasible").message.replace("\u00a0", " ")
        assert "3 réplicas n'y tiennent même pas" in feasible
        assert report.result("web-spread-required").outcome.value == "passed"
    finally:
        sandbox.down(progress=lambda _: None)
