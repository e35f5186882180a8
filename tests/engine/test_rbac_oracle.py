"""Does ``kubelab.rbac`` read binding subjects as the API server's authorizer does?

Each case of the subject table becomes a real binding granting one made-up resource; a
SubjectAccessReview for the ServiceAccount then says whether the authorizer applied the
subject. The helper must give the same answer: the API server is the oracle.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kubelab.kube_api import KubeApi
from kubelab.pytest_plugin import create_namespace
from kubelab.rbac import service_account, subject_applies
from kubelab.waiting import TIMEOUTS
from tests.engine.test_semantic_helpers import SUBJECTS

Obj = dict[str, Any]
GROUP = "oracle.kubelab.test"


@pytest.fixture
def other_namespace(kube_api: KubeApi) -> Iterator[str]:
    name = f"t-rbac-autre-{uuid.uuid4().hex[:5]}"
    create_namespace(kube_api, name)
    yield name
    kube_api.delete("v1", "Namespace", name)


def _rename(text: str | None, namespace: str, other: str) -> str | None:
    if text is None:
        return None
    return text.replace("system:serviceaccounts:lab", f"system:serviceaccounts:{namespace}") \
        .replace("system:serviceaccounts:other", f"system:serviceaccounts:{other}") \
        .replace("system:serviceaccount:lab:", f"system:serviceaccount:{namespace}:")


def _subject(subject: Obj, namespace: str, other: str) -> Obj:
    copy = {**subject, "name": _rename(subject["name"], namespace, other)}
    if "namespace" in subject:
        copy["namespace"] = {"lab": namespace, "other": other}.get(subject["namespace"], subject["namespace"])
    if copy["kind"] != "ServiceAccount":
        copy["apiGroup"] = "rbac.authorization.k8s.io"
    return copy


def _allowed(api: KubeApi, account_namespace: str, namespace: str, resource: str) -> bool:
    """The API server's answer: may `<account_namespace>/app-reader` get ``resource`` in ``namespace``?"""
    identity = service_account(account_namespace, "app-reader")
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"user": identity.user, "groups": list(identity.groups),
                       "resourceAttributes": {"verb": "get", "group": GROUP, "resource": resource,
                                              "namespace": namespace}}}
    return bool(api.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", review)["status"].get("allowed"))


def _await_rbac(api: KubeApi, namespace: str, resource: str) -> None:
    """Ask until the authorizer's cache has the last binding created (it trails the API by a moment)."""
    deadline = time.monotonic() + TIMEOUTS["default"]
    while not _allowed(api, namespace, namespace, resource):
        assert time.monotonic() < deadline, "l'autorisation RBAC ne prend pas en compte les liaisons créées"
        time.sleep(0.2)


def test_subjects_agree_with_the_authorizer(kube_api: KubeApi, namespace: str, other_namespace: str) -> None:
    """For each subject of the table, does the API server grant the ServiceAccount what the helper says?"""
    tag = uuid.uuid4().hex[:6]
    cluster_objects: list[tuple[str, str]] = []
    cases = []
    try:
        for index, (subject, where, _) in enumerate(SUBJECTS):
            if where is None and subject["kind"] == "ServiceAccount" and "namespace" not in subject:
                continue  # the API server refuses such a ClusterRoleBinding subject
            resource = f"case{index}-{tag}"
            real = _subject(subject, namespace, other_namespace)
            bound_in = {"lab": namespace, "other": other_namespace}.get(where or "", None)
            rule = {"apiGroups": [GROUP], "resources": [resource], "verbs": ["get"]}
            if bound_in is None:
                name = f"kubelab-oracle-{tag}-{index}"
                kube_api.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                "metadata": {"name": name}, "rules": [rule]})
                kube_api.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                                "metadata": {"name": name}, "subjects": [real],
                                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                            "name": name}})
                cluster_objects += [("ClusterRoleBinding", name), ("ClusterRole", name)]
            else:
                name = f"case-{index}"
                kube_api.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                "metadata": {"name": name, "namespace": bound_in}, "rules": [rule]})
                kube_api.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                                "metadata": {"name": name, "namespace": bound_in}, "subjects": [real],
                                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}})
            cases.append((subject, where, real, bound_in, resource))
        sentinel = f"sentinel-{tag}"
        kube_api.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                        "metadata": {"name": "sentinel", "namespace": namespace},
                        "rules": [{"apiGroups": [GROUP], "resources": [sentinel], "verbs": ["get"]}]})
        kube_api.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                        "metadata": {"name": "sentinel", "namespace": namespace},
                        "subjects": [{"kind": "ServiceAccount", "name": "app-reader", "namespace": namespace}],
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "sentinel"}})
        _await_rbac(kube_api, namespace, sentinel)
        identity = service_account(namespace, "app-reader")
        wrong = []
        for subject, where, real, bound_in, resource in cases:
            oracle = _allowed(kube_api, namespace, bound_in or namespace, resource)
            helper = subject_applies(real, identity, bound_in)
            if oracle != helper:
                wrong.append(f"{subject} dans {where}: API server {oracle}, kubelab {helper}")
        assert not wrong, "\n".join(wrong)
    finally:
        for kind, name in cluster_objects:
            kube_api.delete("rbac.authorization.k8s.io/v1", kind, name)

