"""Lab 10's incidents on the sandbox: what the setup breaks, and the repair a folder cannot express.

The variant meta-test covers the solution, the alternatives and the mutants. Two things it
cannot: that the setup alone shows each incident's symptom (with its Events), and the
usual repair of the claim, delete then recreate ``uploads`` under its own name, because a
folder of manifests cannot delete and the API refuses to change a claim's class.
"""

from __future__ import annotations

import pytest

from kubelab.catalog import load_lab
from kubelab.grading import grade_live
from kubelab.kube_api import KubeApi, RefusedError
from kubelab.lab_setup import setup, variant_objects
from kubelab.manifests import apply_all
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
