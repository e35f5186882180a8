"""Do the shared helpers read objects as Kubernetes does? Tables of cases, no cluster.

RBAC subjects, label selectors, resource quantities, probe ports, the references a pod
needs, where a variable comes from, credentials written in clear, and why admission
refused an object. ``test_rbac_oracle.py`` asks the API server the RBAC questions again.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubelab import admission
from kubelab.credentials import plaintext_findings
from kubelab.kube_api import authorization_denied
from kubelab.objects import matches_selector, quantity, selects
from kubelab.ports import probe_port_problem
from kubelab.rbac import Identity, service_account, subject_applies
from kubelab.references import Source, missing, variable_source
from kubelab.startup import startup_problems

Obj = dict[str, Any]
APP = service_account("lab", "app-reader")

SUBJECTS = [
    # (subject, binding namespace (None: ClusterRoleBinding), designates lab/app-reader?)
    ({"kind": "ServiceAccount", "name": "app-reader", "namespace": "lab"}, "lab", True),
    ({"kind": "ServiceAccount", "name": "app-reader"}, "lab", True),  # the RoleBinding's namespace
    ({"kind": "ServiceAccount", "name": "app-reader"}, "other", False),
    ({"kind": "ServiceAccount", "name": "app-reader"}, None, False),  # no namespace to default to
    ({"kind": "ServiceAccount", "name": "app-reader", "namespace": "default"}, "lab", False),
    ({"kind": "ServiceAccount", "name": "default", "namespace": "lab"}, "lab", False),
    ({"kind": "User", "name": "system:serviceaccount:lab:app-reader"}, None, True),
    ({"kind": "User", "name": "app-reader"}, "lab", False),
    ({"kind": "Group", "name": "system:serviceaccounts"}, None, True),
    ({"kind": "Group", "name": "system:serviceaccounts:lab"}, "other", True),
    ({"kind": "Group", "name": "system:serviceaccounts:other"}, "lab", False),
    ({"kind": "Group", "name": "system:authenticated"}, None, True),
    ({"kind": "Group", "name": "system:unauthenticated"}, None, False),
    ({"kind": "Group", "name": "system:masters"}, None, False),
]


@pytest.mark.parametrize(("subject", "namespace", "expected"), SUBJECTS)
def test_rbac_subject_designates_the_account_as_the_authorizer_does(subject: Obj, namespace: str | None,
                                                                     expected: bool) -> None:
    """Does a binding subject designate `lab/app-reader`, defaults and groups included?"""
    assert subject_applies(subject, APP, namespace) is expected


def test_service_account_identity() -> None:
    """Which user and groups does a ServiceAccount's token carry?"""
    assert APP == Identity("system:serviceaccount:lab:app-reader",
                           ("system:serviceaccounts", "system:serviceaccounts:lab", "system:authenticated"))


SELECTORS = [
    # (labels, selector, matches)
    ({"app": "web"}, {"matchLabels": {"app": "web"}}, True),
    ({"app": "web", "tier": "front"}, {"matchLabels": {"app": "web"}}, True),
    ({"app": "api"}, {"matchLabels": {"app": "web"}}, False),
    ({"app": "web"}, {}, True),  # an empty LabelSelector selects everything
    ({}, {}, True),
    ({"app": "web"}, None, False),  # no selector selects nothing
    ({"app": "web"}, {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}, True),
    ({"app": "db"}, {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}, False),
    ({}, {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, True),
    ({"app": "web"}, {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, False),
    ({"app": "x"}, {"matchExpressions": [{"key": "app", "operator": "Exists"}]}, True),
    ({}, {"matchExpressions": [{"key": "app", "operator": "Exists"}]}, False),
    ({"app": "x"}, {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, False),
    ({"app": "web", "tier": "db"},
     {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]},
     False),
]


@pytest.mark.parametrize(("labels", "selector", "expected"), SELECTORS)
def test_label_selector(labels: dict[str, str], selector: Obj | None, expected: bool) -> None:
    """Does a LabelSelector (matchLabels AND matchExpressions) choose these labels?"""
    assert matches_selector(labels, selector) is expected


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ({"app": "web"}, {"app": "web", "tier": "front"}, True),
    ({"app": "web", "tier": "front"}, {"app": "web"}, False),
    ({}, {"app": "web"}, False),  # a Service without selector gets no endpoints from pods
    (None, {"app": "web"}, False),
])
def test_service_selector(selector: dict[str, str] | None, labels: dict[str, str], expected: bool) -> None:
    """Does a Service's plain selector choose a pod with these labels?"""
    assert selects(selector, labels) is expected


QUANTITIES = [
    ("1Gi", 2**30), ("1024Mi", 2**30), ("1048576Ki", 2**30), ("4Gi", 4 * 2**30), ("4096Mi", 4 * 2**30),
    ("2", 2), (2, 2), ("2000m", 2), ("0.5", 0.5), (".5", 0.5), ("500m", 0.5), ("1e3", 1000), ("1E3", 1000),
    ("1k", 1000), ("1M", 10**6), ("1G", 10**9), ("1.5Gi", 1.5 * 2**30), ("100n", 1e-7), ("+1", 1),
    ("1E", 10**18), ("1Ei", 2**60),
    ("abc", None), ("", None), (None, None), ("1mi", None), ("1 Gi", None), ("2e3m", None), (True, None),
]


@pytest.mark.parametrize(("text", "expected"), QUANTITIES)
def test_quantity(text: Any, expected: float | None) -> None:
    """What amount does a Kubernetes quantity stand for (``1Gi`` is ``1024Mi``)?"""
    value = quantity(text)
    assert (value is None) if expected is None else value == pytest.approx(expected)


def test_quantity_is_exact() -> None:
    """Are equal quantities written differently exactly equal (no rounding)?"""
    assert quantity("1Gi") == quantity("1024Mi") and quantity("0.1") * 10 == quantity("1")
    assert quantity("100m") * 3 == quantity("300m")


CONTAINER = {"name": "web", "ports": [{"name": "http", "containerPort": 8080}, {"containerPort": 9090}]}
PROBES = [
    # (probe, named_only, problem expected?)
    ({"httpGet": {"path": "/", "port": 8080}}, False, False),
    ({"httpGet": {"path": "/", "port": "http"}}, False, False),
    ({"tcpSocket": {"port": 9090}}, False, False),
    ({"httpGet": {"path": "/", "port": 80}}, False, True),
    ({"httpGet": {"path": "/", "port": 80}}, True, False),  # may listen there all the same
    ({"httpGet": {"path": "/", "port": "web"}}, True, True),  # an unknown name never resolves
    ({"tcpSocket": {"port": "metrics"}}, False, True),
    ({"grpc": {"port": 8080}}, False, False),
    ({"exec": {"command": ["true"]}}, False, False),
    (None, False, False),
]


@pytest.mark.parametrize(("probe", "named_only", "expected"), PROBES)
def test_probe_port(probe: Obj | None, named_only: bool, expected: bool) -> None:
    """Does a probe target a port its container declares, by number or by name?"""
    container = {**CONTAINER, "readinessProbe": probe} if probe else CONTAINER
    assert (probe_port_problem(container, "readinessProbe", named_only=named_only) is not None) is expected


OBJECTS = {
    ("ConfigMap", "config"): {"kind": "ConfigMap", "data": {"DB_HOST": "db", "LOG_LEVEL": "info"}},
    ("ConfigMap", "leaky"): {"kind": "ConfigMap", "data": {"DB_PASSWORD": "oups"}},
    ("Secret", "creds"): {"kind": "Secret", "data": {"PASSWORD": None, "USER": None}},
    ("PersistentVolumeClaim", "data"): {"kind": "PersistentVolumeClaim"},
}


def lookup(kind: str, name: str) -> Obj | None:
    return OBJECTS.get((kind, name))


def pod(container: Obj, volumes: list[Obj] | None = None) -> Obj:
    return {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", **container}],
                                                                  "volumes": volumes or []}}


REFERENCES = [
    # (pod, number of missing references)
    (pod({"env": [{"name": "H", "valueFrom": {"configMapKeyRef": {"name": "config", "key": "DB_HOST"}}}]}), 0),
    (pod({"env": [{"name": "H", "valueFrom": {"configMapKeyRef": {"name": "config", "key": "DB_PORT"}}}]}), 1),
    (pod({"env": [{"name": "H", "valueFrom": {"configMapKeyRef": {"name": "config", "key": "DB_PORT",
                                                                   "optional": True}}}]}), 0),
    (pod({"env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "PASSWORD"}}}]}), 0),
    (pod({"env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "PASSWORD"}}}]}), 1),
    (pod({"envFrom": [{"configMapRef": {"name": "config"}}, {"secretRef": {"name": "creds"}}]}), 0),
    (pod({"envFrom": [{"configMapRef": {"name": "nope"}}]}), 1),
    (pod({"envFrom": [{"secretRef": {"name": "nope", "optional": True}}]}), 0),
    (pod({}, [{"name": "v", "configMap": {"name": "config", "items": [{"key": "LOG_LEVEL", "path": "l"}]}}]), 0),
    (pod({}, [{"name": "v", "configMap": {"name": "config", "items": [{"key": "NOPE", "path": "l"}]}}]), 1),
    (pod({}, [{"name": "v", "secret": {"secretName": "nope"}}]), 1),
    (pod({}, [{"name": "v", "projected": {"sources": [{"secret": {"name": "creds"}},
                                                        {"configMap": {"name": "nope"}}]}}]), 1),
    (pod({}, [{"name": "v", "persistentVolumeClaim": {"claimName": "data"}}]), 0),
    (pod({}, [{"name": "v", "persistentVolumeClaim": {"claimName": "lost"}}]), 1),
]


@pytest.mark.parametrize(("workload", "count"), REFERENCES)
def test_missing_references(workload: Obj, count: int) -> None:
    """Which ConfigMaps, Secrets, keys and claims a pod needs are missing (optional ones never are)?"""
    assert len(missing(workload, lookup)) == count


HTTP = [{"name": "http", "containerPort": 80}]


@pytest.mark.parametrize(("container", "count"), [
    ({"ports": HTTP, "readinessProbe": {"httpGet": {"path": "/", "port": "web"}}}, 1),
    ({"ports": HTTP, "readinessProbe": {"httpGet": {"path": "/", "port": "http"}}}, 0),
    ({"ports": HTTP, "livenessProbe": {"tcpSocket": {"port": 8080}}}, 1),
    ({"ports": HTTP, "livenessProbe": {"tcpSocket": {"port": 80}}}, 0),
    ({"livenessProbe": {"tcpSocket": {"port": 6379}}}, 0),  # no port declared: it may listen there
    ({"readinessProbe": {"exec": {"command": ["true"]}}}, 0),
])
def test_startup_problems_of_probe_ports(container: Obj, count: int) -> None:
    """Is a probe on an undeclared port name, or on a number beside the declared ones, a reason the pod
    never gets Ready?"""
    assert len(startup_problems(pod(container), lookup)) == count


VARIABLES = [
    # (container, variable, expected source)
    ({"env": [{"name": "P", "value": "x"}]}, "P", Source("value")),
    ({"env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "PASSWORD"}}}]}, "P",
     Source("Secret", "creds", "PASSWORD")),
    ({"envFrom": [{"secretRef": {"name": "creds"}}]}, "PASSWORD", Source("Secret", "creds", "PASSWORD", "envFrom")),
    ({"envFrom": [{"secretRef": {"name": "creds"}}]}, "DB_HOST", None),  # not a key of that Secret
    ({"envFrom": [{"configMapRef": {"name": "config"}}]}, "DB_HOST", Source("ConfigMap", "config", "DB_HOST",
                                                                            "envFrom")),
    ({"envFrom": [{"secretRef": {"name": "creds"}, "prefix": "PG_"}]}, "PG_PASSWORD",
     Source("Secret", "creds", "PASSWORD", "envFrom")),
    ({"envFrom": [{"secretRef": {"name": "creds"}, "prefix": "PG_"}]}, "PASSWORD", None),
    # env wins over envFrom; among envFrom sources, the last one holding the key wins
    ({"envFrom": [{"secretRef": {"name": "creds"}}], "env": [{"name": "PASSWORD", "value": "x"}]}, "PASSWORD",
     Source("value")),
    ({"envFrom": [{"configMapRef": {"name": "leaky"}}, {"secretRef": {"name": "creds"}, "prefix": "DB_"}]},
     "DB_PASSWORD", Source("Secret", "creds", "PASSWORD", "envFrom")),
    ({"envFrom": [{"secretRef": {"name": "creds"}, "prefix": "DB_"}, {"configMapRef": {"name": "leaky"}}]},
     "DB_PASSWORD", Source("ConfigMap", "leaky", "DB_PASSWORD", "envFrom")),
]


@pytest.mark.parametrize(("container", "variable", "expected"), VARIABLES)
def test_variable_source(container: Obj, variable: str, expected: Source | None) -> None:
    """Where does a container's variable get its value (env, envFrom with prefix, precedence)?"""
    assert variable_source(container, variable, lookup) == expected


PLAINTEXT = [
    # (pod, credentials found in clear)
    (pod({"env": [{"name": "DB_PASSWORD", "value": "hunter2"}]}), 1),
    (pod({"env": [{"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db"}]}), 0),
    (pod({"env": [{"name": "LOG_LEVEL", "value": "info"}]}), 0),
    (pod({"env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "PASSWORD"}}}]}), 0),
    (pod({"env": [{"name": "DB_PASSWORD", "valueFrom": {"configMapKeyRef": {"name": "leaky",
                                                                            "key": "DB_PASSWORD"}}}]}), 1),
    (pod({"envFrom": [{"configMapRef": {"name": "leaky"}}]}), 1),
    (pod({"envFrom": [{"configMapRef": {"name": "config"}}]}), 0),
    (pod({"command": ["sh", "-c", "PGPASSWORD=hunter2 pg_dump -h db"]}), 1),
    (pod({"command": ["sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" pg_dump -h db']}), 0),
    (pod({"args": ["--password=hunter2"]}), 1),
    (pod({"readinessProbe": {"exec": {"command": ["sh", "-c", "PGPASSWORD=hunter2 pg_isready"]}}}), 1),
    (pod({"args": ["--password", "$(DB_PASSWORD)"]}), 0),
    ({**pod({}), "metadata": {"name": "p", "annotations": {"app/db-password": "hunter2"}}}, 1),
    ({**pod({}), "metadata": {"name": "p", "annotations": {"checksum/secret": "abc123"}}}, 0),
]


@pytest.mark.parametrize(("workload", "count"), PLAINTEXT)
def test_plaintext_credentials(workload: Obj, count: int) -> None:
    """Where does a workload write a credential in clear: env, ConfigMaps, command, annotations?"""
    assert len(plaintext_findings(workload, lookup)) == count


REFUSALS = [
    ('pods "g" is forbidden: exceeded quota: dev-quota, requested: requests.cpu=3, used: requests.cpu=0, '
     'limited: requests.cpu=2', admission.QUOTA),
    ('pods "g" is forbidden: failed quota: dev-quota: must specify limits.cpu for: g', admission.QUOTA),
    ('pods "g" is forbidden: maximum cpu usage per Container is 1, but limit is 3', admission.LIMIT_RANGE),
    ('pods "g" is forbidden: maximum memory usage per Pod is 1Gi, but limit is 2Gi', admission.LIMIT_RANGE),
    ('pods "i" is forbidden: violates PodSecurity "restricted:latest": privileged', admission.POD_SECURITY),
    ('pods "i" is forbidden: error looking up service account lab/x: serviceaccount "x" not found', admission.OTHER),
]


@pytest.mark.parametrize(("message", "expected"), REFUSALS)
def test_admission_cause(message: str, expected: str) -> None:
    """Which admission plugin does a refusal come from?"""
    assert admission.cause(message) == expected


@pytest.mark.parametrize(("message", "expected"), [
    ('pods "g" is forbidden: User "kubelab" cannot create resource "pods" in API group "" in the namespace "dev"',
     True),
    ('pods "g" is forbidden: exceeded quota: dev-quota', False),
    ('pods "i" is forbidden: violates PodSecurity "restricted:latest"', False),
])
def test_authorization_denial_is_told_from_admission(message: str, expected: bool) -> None:
    """Is a 403 about who we are (RBAC), not about the object sent?"""
    assert authorization_denied(message) is expected
