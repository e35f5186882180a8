"""Do Pod Security admission and RBAC answer as on a real cluster?"""

from __future__ import annotations

import pytest

from kubelab.kube_api import KubeApi, RefusedError
from kubelab.sandbox.processes import wait_until
from kubelab.waiting import scaled
from tests.helpers import apply_yaml

PRIVILEGED_POD = """
apiVersion: v1
kind: Pod
metadata: {name: root-shell}
spec:
  containers:
  - name: shell
    image: busybox:1.36
    securityContext: {privileged: true}
"""

ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-reads-pods}
subjects:
- {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
"""


def test_restricted_namespace_refuses_a_privileged_pod(kube_api: KubeApi, namespace: str) -> None:
    """Does a namespace enforcing « restricted » refuse a privileged pod, with the API server's reason?"""
    kube_api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": namespace, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    with pytest.raises(RefusedError) as refused:
        apply_yaml(kube_api, PRIVILEGED_POD, namespace)
    message = str(refused.value)
    assert 'violates PodSecurity "restricted:latest"' in message
    assert "privileged" in message
    assert "root-shell" in message


def _allowed(api: KubeApi, namespace: str | None, verb: str, resource: str) -> bool:
    attributes = {"verb": verb, "resource": resource}
    if namespace:
        attributes["namespace"] = namespace
    review = api.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": "alice", "resourceAttributes": attributes},
    })
    return bool(review["status"].get("allowed"))


def test_subject_access_review_follows_role_and_binding(kube_api: KubeApi, namespace: str) -> None:
    """Does a SubjectAccessReview allow what the Role grants, and only that? (The authorizer reads Roles and
    bindings from its own cache, which a loaded API server fills a moment after the write.)"""
    assert not _allowed(kube_api, namespace, "list", "pods")
    apply_yaml(kube_api, ROLE, namespace)
    wait_until(lambda: _allowed(kube_api, namespace, "list", "pods"), scaled(10),
               "que l'autorisation RBAC voie le RoleBinding")
    assert not _allowed(kube_api, namespace, "delete", "pods")
    assert not _allowed(kube_api, namespace, "get", "secrets")
    assert not _allowed(kube_api, "default", "list", "pods")
    assert not _allowed(kube_api, None, "list", "nodes")
