"""Lab 07: does the grader's reading of the `restricted` profile agree with Pod Security Admission?

Each pod spec of the table is sent as a server-side dry run (nothing is created) to a
namespace that enforces `restricted`; the API server's admission is the oracle. The grader's
``_restricted_problems`` must find problems exactly when admission refuses the pod.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelab import admission
from kubelab.kube_api import KubeApi, RefusedError
from kubelab.labs.lab07_securite_rbac_pss import _restricted_problems
from kubelab.pytest_plugin import create_namespace

Obj = dict[str, Any]
SAFE = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
POD = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
       "containers": [{"name": "app", "image": "nginxinc/nginx-unprivileged:1.27", "securityContext": SAFE}]}


def variant(change: dict[str, Any] | None = None, container: dict[str, Any] | None = None,
            pod: dict[str, Any] | None = None) -> Obj:
    """The compliant pod, with ``container`` merged in its container's securityContext and ``pod`` in its spec."""
    spec = copy.deepcopy(POD)
    spec["containers"][0]["securityContext"].update(container or {})
    spec.update(pod or {})
    spec.update(change or {})
    return spec


CASES = [
    ("conforme", variant()),
    ("conforme-niveau-conteneur", {"containers": [{"name": "app", "image": "nginx", "securityContext": {
        **SAFE, "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}}]}),
    ("sans-runAsNonRoot", variant(pod={"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}})),
    ("runAsNonRoot-faux-dans-le-conteneur", variant(container={"runAsNonRoot": False})),
    ("runAsUser-0", variant(container={"runAsUser": 0})),
    ("escalade-permise", variant(container={"allowPrivilegeEscalation": True})),
    ("escalade-absente", variant(container={"allowPrivilegeEscalation": None})),
    ("capacites-gardees", variant(container={"capabilities": {}})),
    ("net-bind-service-ajoutee", variant(container={"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}})),
    ("sys-admin-ajoutee", variant(container={"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}})),
    ("seccomp-absent", variant(pod={"securityContext": {"runAsNonRoot": True}})),
    ("seccomp-unconfined-dans-le-conteneur", variant(container={"seccompProfile": {"type": "Unconfined"}})),
    ("privilegie", variant(container={"privileged": True, "allowPrivilegeEscalation": True})),
    ("reseau-de-l-hote", variant(pod={"hostNetwork": True})),
    ("pid-de-l-hote", variant(pod={"hostPID": True})),
    ("hostPort", variant(change={"containers": [{**POD["containers"][0], "ports": [
        {"containerPort": 8080, "hostPort": 8080}]}]})),
    ("volume-hostPath", variant(pod={"volumes": [{"name": "h", "hostPath": {"path": "/tmp"}}]})),
    ("volume-emptyDir", variant(pod={"volumes": [{"name": "e", "emptyDir": {}}]})),
    ("init-non-conforme", variant(pod={"initContainers": [{"name": "init", "image": "busybox:1.36"}]})),
    ("init-conforme", variant(pod={"initContainers": [{"name": "init", "image": "busybox:1.36",
                                                       "securityContext": SAFE}]})),
]


def _clean(spec: Obj) -> Obj:
    """The spec without the keys a case set to ``None`` (« absent »)."""
    spec = copy.deepcopy(spec)
    for container in [*spec.get("containers", []), *spec.get("initContainers", [])]:
        context = container.get("securityContext") or {}
        for key in [k for k, v in context.items() if v is None]:
            del context[key]
    return spec


@pytest.fixture(scope="module")
def restricted(kube_api: KubeApi) -> Any:
    name = "t-lab07-restricted-oracle"
    create_namespace(kube_api, name, {"pod-security.kubernetes.io/enforce": "restricted"})
    yield name
    kube_api.delete("v1", "Namespace", name)


@pytest.mark.parametrize(("case", "spec"), CASES, ids=[case for case, _ in CASES])
def test_restricted_reading_agrees_with_pod_security_admission(kube_api: KubeApi, restricted: str, case: str,
                                                               spec: Obj) -> None:
    """Does the grader see a problem in this pod spec exactly when Pod Security Admission refuses it?"""
    spec = _clean(spec)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": case.lower(), "namespace": restricted},
           "spec": spec}
    try:
        kube_api.create(pod, dry_run=True)
        admitted, reason = True, ""
    except RefusedError as exc:
        admitted, reason = False, str(exc.body.get("message", ""))
        assert admission.cause(reason) == admission.POD_SECURITY, f"{case} : refusé pour une autre raison : {reason}"
    problems = _restricted_problems(spec)
    assert admitted == (not problems), (f"{case} : l'API server {'admet' if admitted else 'refuse'} ({reason}), "
                                        f"le correcteur trouve {problems or 'rien'}")
