"""Lab 06's cross-object checks on hand-made states, without a cluster.

The variant meta-test grades the solution, alternatives and mutants on the sandbox; these
cases cover the consistency rules it does not reach: named ports that do not exist, an
optional reference, a selector that also catches another component, pods not yet ready.
"""

from __future__ import annotations

import copy
from typing import Any

from kubelab.catalog import load_lab
from kubelab.cluster_state import SnapshotState, sanitize
from kubelab.lab_setup import variant_objects
from kubelab.objects import pod_template
from kubelab.typography import french

LAB = "06-app-web-reference"
NAMESPACE = "lab-webapp"
Obj = dict[str, Any]


def _meta(obj: Obj, uid: str) -> Obj:
    obj = copy.deepcopy(obj)
    obj["metadata"] = {**obj["metadata"], "namespace": NAMESPACE, "uid": uid}
    return obj


def _pod(name: str, template: Obj, owner: Obj, ready: bool) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": NAMESPACE, "uid": f"pod-{name}",
                         "labels": dict(template["metadata"].get("labels") or {}),
                         "ownerReferences": [{"uid": owner["metadata"]["uid"], "kind": owner["kind"]}]},
            "spec": template["spec"],
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": str(ready)}]}}


def _state(objects: list[Obj], ready: bool = True) -> SnapshotState:
    """The state the cluster would show once these objects have converged (pods Ready, claims Bound)."""
    lab = load_lab(LAB)
    by_kind: dict[str, list[Obj]] = {}
    for index, obj in enumerate(objects):
        by_kind.setdefault(obj["kind"], []).append(_meta(obj, f"uid-{index}"))
    for deployment in by_kind.get("Deployment", []):
        name = deployment["metadata"]["name"]
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{name}-rs", "namespace": NAMESPACE, "uid": f"rs-{name}",
                           "ownerReferences": [{"uid": deployment["metadata"]["uid"], "kind": "Deployment"}]}}
        by_kind.setdefault("ReplicaSet", []).append(rs)
        for i in range(deployment["spec"].get("replicas", 1)):
            by_kind.setdefault("Pod", []).append(_pod(f"{name}-{i}", pod_template(deployment), rs, ready))
    for sts in by_kind.get("StatefulSet", []):
        by_kind.setdefault("Pod", []).append(_pod(f"{sts['metadata']['name']}-0", pod_template(sts), sts, ready))
        for claim in sts["spec"].get("volumeClaimTemplates") or []:
            by_kind.setdefault("PersistentVolumeClaim", []).append(
                {**claim, "metadata": {"name": f"{claim['metadata']['name']}-{sts['metadata']['name']}-0",
                                       "namespace": NAMESPACE}})
    for pvc in by_kind.get("PersistentVolumeClaim", []):
        pvc["status"] = {"phase": "Bound"}
    lists: dict[str, list[Obj]] = {}
    for read in lab.reads:
        if read.kind == "IngressClass":
            lists[read.key(NAMESPACE)] = [{"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                                           "metadata": {"name": "public"}}]
        else:
            lists[read.key(NAMESPACE)] = [sanitize(o) for o in by_kind.get(read.kind, [])]
    lists["v1/Event@" + NAMESPACE] = []
    return SnapshotState(NAMESPACE, lab.reads, lab.probes, lists, {}, {})


def _solution() -> list[Obj]:
    return variant_objects(load_lab(LAB), "solution", NAMESPACE)


def _find(objects: list[Obj], kind: str, name: str) -> Obj:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _verdict(state: SnapshotState, check_id: str):
    lab = load_lab(LAB)
    return next(c for c in lab.checks if c.id == check_id).spec.run(state)


def test_solution_state_passes_every_check() -> None:
    """Does the converged solution pass every check, offline too?"""
    state = _state(_solution())
    failures = {c.id: v.message for c in load_lab(LAB).checks if not (v := c.spec.run(state)).passed}
    assert failures == {}


def test_named_target_port_must_be_a_declared_port_name() -> None:
    """Is a named targetPort that no container port carries reported, with the declared ports?"""
    objects = _solution()
    _find(objects, "Service", "backend")["spec"]["ports"][0]["targetPort"] = "api"
    verdict = _verdict(_state(objects), "services-target-ports")
    assert not verdict.passed
    assert "`backend` : `targetPort: api` (ports du conteneur : 8080, http)" in verdict.message.replace("\u00a0", " ")


def test_ingress_port_name_must_exist_on_the_service() -> None:
    """Is an Ingress backend port name that the Service lacks reported, with the Service's ports?"""
    objects = _solution()
    rule = _find(objects, "Ingress", "webapp")["spec"]["rules"][0]
    rule["http"]["paths"][0]["backend"]["service"]["port"] = {"name": "https"}
    state = _state(objects)
    verdict = _verdict(state, "ingress-backends-exist")
    assert not verdict.passed
    assert french("`frontend:https` (ports du Service : 80 (http))") in verdict.message
    assert not _verdict(state, "ingress-routes").passed


def test_ingress_port_name_of_the_right_port_routes() -> None:
    """Does `port.name: http` count as port 80 when the Service names its port 80 `http`?"""
    objects = _solution()
    rule = _find(objects, "Ingress", "webapp")["spec"]["rules"][0]
    rule["http"]["paths"][0]["backend"]["service"]["port"] = {"name": "http"}
    state = _state(objects)
    assert _verdict(state, "ingress-routes").passed
    assert _verdict(state, "ingress-backends-exist").passed


def test_optional_reference_to_a_missing_key_is_fine() -> None:
    """Is a configMapKeyRef marked optional accepted when its key is absent?"""
    objects = _solution()
    env = _find(objects, "Deployment", "backend")["spec"]["template"]["spec"]["containers"][0]["env"]
    env.append({"name": "CACHE_TTL", "valueFrom": {"configMapKeyRef": {"name": "backend-config", "key": "CACHE_TTL",
                                                                       "optional": True}}})
    assert _verdict(_state(objects), "config-references-exist").passed
    env[-1]["valueFrom"]["configMapKeyRef"].pop("optional")
    verdict = _verdict(_state(objects), "config-references-exist")
    assert not verdict.passed and "clé `CACHE_TTL`" in verdict.message


def test_missing_secret_key_is_reported() -> None:
    """Is a secretKeyRef to a key the Secret lacks reported (its keys are visible, never its values)?"""
    objects = _solution()
    _find(objects, "Secret", "postgres-credentials")["stringData"].pop("POSTGRES_DB")
    state = _state(objects)
    verdict = _verdict(state, "config-references-exist")
    assert not verdict.passed
    assert "clé `POSTGRES_DB` du Secret `postgres-credentials` (absente" in verdict.message
    assert not _verdict(state, "postgres-credentials-keys").passed


def test_selector_catching_another_component_fails() -> None:
    """Is a Service whose selector also catches the pods of another component reported?"""
    objects = _solution()
    for name in ("frontend", "backend"):
        _find(objects, "Deployment", name)["spec"]["template"]["metadata"]["labels"]["tier"] = "web"
    _find(objects, "Service", "frontend")["spec"]["selector"] = {"tier": "web"}
    verdict = _verdict(_state(objects), "services-select-ready-pods")
    assert not verdict.passed and not verdict.pending
    assert "choisit aussi les pods de Deployment `backend`" in verdict.message


def test_pods_not_ready_yet_are_pending() -> None:
    """While the pods are not Ready, are the Service and replica checks pending, not hasty failures?"""
    state = _state(_solution(), ready=False)
    for check_id in ("services-select-ready-pods", "frontend-backend-replicas", "redis-ready", "postgres-ready"):
        verdict = _verdict(state, check_id)
        assert not verdict.passed and verdict.pending, check_id


def test_tls_must_cover_every_routed_host() -> None:
    """Is a TLS section that covers only one of the two hosts reported, naming the missing one?"""
    objects = _solution()
    _find(objects, "Ingress", "webapp")["spec"]["tls"] = [{"hosts": ["www.lab.local"], "secretName": "webapp-tls"}]
    verdict = _verdict(_state(objects), "ingress-tls")
    assert not verdict.passed
    assert "devrait couvrir `api.lab.local` avec le Secret `webapp-tls`" in verdict.message


def test_password_in_configmap_is_plaintext() -> None:
    """Is a password-like key written in a ConfigMap reported as plain text?"""
    objects = _solution()
    _find(objects, "ConfigMap", "backend-config")["data"]["DB_PASSWORD"] = "s3cr3t"
    verdict = _verdict(_state(objects), "no-plaintext-passwords")
    assert not verdict.passed and "ConfigMap `backend-config` : `DB_PASSWORD`" in verdict.message.replace("\u00a0", " ")
