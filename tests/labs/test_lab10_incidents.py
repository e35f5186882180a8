"""Lab 10's incidents on the sandbox: what the setup breaks, and the repair a folder cannot express.

The variant meta-test covers the solution, the alternatives and the mutants. Two things it
cannot: that the setup alone shows each incident's symptom (with its Events), and the
usual repair of the claim, delete then recreate ``uploads`` under its own name, because a
folder of manifests cannot delete and the API refuses to change a claim's class.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from kubelab.catalog import load_lab
from kubelab.cluster_state import Read, SnapshotState
from kubelab.grading import grade, grade_live, live_state
from kubelab.kube_api import KubeApi, RefusedError
from kubelab.lab_setup import setup, variant_objects
from kubelab.manifests import apply_all
from kubelab.objects import ready_since
from kubelab.outcomes import Outcome
from kubelab.waiting import scaled, wait_for

LAB = "10-incidents"
INCIDENTS = {"api-pods-ready", "worker-image-pulled", "uploads-claim-bound", "web-service-selects-web-pods",
             "web-ingress-backend-port"}


def _plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def test_setup_shows_every_incident_with_its_symptom(kube_api: KubeApi, namespace: str) -> None:
    """Right after « lab setup », does each incident fail with the symptom a learner would see, and its Events?"""
    setup(kube_api, load_lab(LAB), namespace)
    wait_for(kube_api, "v1", "Pod", lambda pods: any(
        (s.get("restartCount") or 0) >= 1 for p in pods if p["metadata"]["name"].startswith("api-")
        for s in p.get("status", {}).get("containerStatuses") or []), namespace=namespace, what="le crash de api")
    report = grade_live(LAB, kube_api, namespace, wait=scaled(5))
    assert report.failed_ids() == INCIDENTS, [(r.check.id, r.message) for r in report.results]
    messages = {r.check.id: _plain(r.message) for r in report.results}
    assert "(trouvé : 1 pod en CrashLoopBackOff, " in messages["api-pods-ready"]
    assert ("1 pod en ImagePullBackOff, image `registry.corp.invalid/library/busybox:1.37`"
            in messages["worker-image-pulled"])
    assert "la StorageClass `fast-ssd` n'existe pas" in messages["uploads-claim-bound"]
    assert "qui ne désigne aucun pod" in messages["web-service-selects-web-pods"]
    assert "`web:8080`" in messages["web-ingress-backend-port"]
    reasons = {e["reason"] for e in report.result("api-pods-ready").events}
    assert "BackOff" in reasons, report.result("api-pods-ready").events
    assert report.result("worker-image-pulled").events, "aucun événement joint pour worker"


def test_recreating_uploads_under_its_own_name_is_accepted(kube_api: KubeApi, namespace: str) -> None:
    """Is a changed class refused by the API, and does deleting then recreating `uploads` give full marks?"""
    lab = load_lab(LAB)
    setup(kube_api, lab, namespace)
    objects = [o for o in variant_objects(lab, "solution", namespace) if o["metadata"]["name"] != "uploads-v2"]
    for obj in objects:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "files":
            obj["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] = "uploads"
    fixed_claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "uploads"},
                   "spec": {"storageClassName": "microk8s-hostpath", "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}}
    apply_all(kube_api, objects, namespace)
    with pytest.raises(RefusedError):
        apply_all(kube_api, [fixed_claim], namespace)
    assert kube_api.delete("v1", "PersistentVolumeClaim", "uploads", namespace)
    wait_for(kube_api, "v1", "PersistentVolumeClaim", lambda claims: not any(
        c["metadata"]["name"] == "uploads" for c in claims), namespace=namespace, timeout="deletion",
        what="la suppression du PVC uploads")
    apply_all(kube_api, [fixed_claim], namespace)
    report = grade_live(LAB, kube_api, namespace, wait=scaled(30))
    assert report.score == lab.max_points, [(r.check.id, r.message) for r in report.results if r.points == 0]
    assert "Le PVC `uploads`, monté par le volume `uploads` de `files`, est Bound" in \
        _plain(report.result("uploads-claim-bound").message)


def test_a_pod_ready_for_less_than_five_seconds_is_not_counted_yet(kube_api: KubeApi, namespace: str) -> None:
    """A container that exits at once is Ready for a moment: read 2 s after its pod became Ready, is `api` still
    « en cours » rather than passed, and passed 5 s after?"""
    lab = load_lab(LAB)
    setup(kube_api, lab, namespace)
    apply_all(kube_api, variant_objects(lab, "solution", namespace), namespace)
    state = live_state(lab, kube_api, namespace)
    assert grade(lab, state, wait=scaled(60)).result("api-pods-ready").outcome is Outcome.PASSED
    lists, probes = state.capture()
    pods = lists[Read("v1", "Pod").key(namespace)]
    since = max(moment for p in pods if p["metadata"]["name"].startswith("api-") and (moment := ready_since(p)))

    def api_result(seconds: int) -> tuple[Outcome, str]:
        stored = SnapshotState(namespace, lab.reads, lab.probes, lists, probes, state.identity(),
                               since + timedelta(seconds=seconds))
        result = grade(lab, stored).result("api-pods-ready")
        return result.outcome, _plain(result.message)

    outcome, message = api_result(2)
    assert outcome is Outcome.FAILED and "(trouvé : 0 prêt sur 1, 1 prêt depuis moins de 5 s" in message, message
    assert api_result(5)[0] is Outcome.PASSED
