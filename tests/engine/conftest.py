"""Fixtures and helpers shared by the engine tests (bad input, read-only, secrets, reports…).

The engine tests drive ``kubelab`` as a user would, against the session's sandbox. Some of
them need identities other than the sandbox admin: ``mint_kubeconfig`` signs a fresh client
certificate with the sandbox's own CA (its workdir holds ``pki/ca.key``), so the API server
authenticates a user of our choosing, whose rights are then exactly the RBAC bindings the
test creates (the session sandbox runs with RBAC on).
"""

from __future__ import annotations

import base64
import datetime
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubelab.catalog import Lab, load_lab
from kubelab.kube_api import KubeApi
from kubelab.lab_setup import apply_variant, setup
from kubelab.objects import is_ready
from kubelab.pytest_plugin import create_namespace
from kubelab.waiting import named, scaled, wait_for

LAB03 = "03-stockage-pvc"
MUTATING_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})

Obj = dict[str, Any]


# --- the sandbox -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sandbox(kube_sandbox: Any) -> Any:
    """The session sandbox; these tests need its CA and audit log, so not an external cluster."""
    if kube_sandbox is None:
        pytest.skip("ces tests ont besoin du bac à sable de session (autorité de certification, journal d'audit)")
    return kube_sandbox


@pytest.fixture(scope="session")
def admin_kubeconfig(sandbox: Any) -> Path:
    return Path(sandbox.kubeconfig)


# --- identities --------------------------------------------------------------------------------


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def new_ca(common_name: str = "une-autre-autorite") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A certificate authority the sandbox does not trust."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_client_cert(ca_key: Any, ca_cert: x509.Certificate, user: str,
                      groups: tuple[str, ...] = ()) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) of a client identity ``user`` in ``groups``, signed by the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, user))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name(attributes)).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def sandbox_ca(sandbox: Any) -> tuple[Any, x509.Certificate]:
    ca_key = serialization.load_pem_private_key(sandbox.pki.path("ca.key").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(sandbox.pki.ca_cert.read_bytes())
    return ca_key, ca_cert


def kubeconfig_with_user(base: Path, target: Path, user: Obj, context: str = "microk8s") -> Path:
    """A copy of kubeconfig ``base`` (same server and CA) whose only user is ``user``."""
    config = yaml.safe_load(base.read_text())
    config["users"] = [{"name": "test-user", "user": user}]
    config["contexts"] = [{"name": context, "context": {"cluster": config["clusters"][0]["name"], "user": "test-user"}}]
    config["current-context"] = context
    target.write_text(yaml.safe_dump(config))
    target.chmod(0o600)
    return target


def mint_kubeconfig(sandbox: Any, target: Path, user: str, groups: tuple[str, ...] = ()) -> Path:
    """A kubeconfig for a new client-certificate identity signed by the sandbox's CA."""
    cert, key = issue_client_cert(*sandbox_ca(sandbox), user, groups)
    return kubeconfig_with_user(Path(sandbox.kubeconfig), target, {
        "client-certificate-data": base64.b64encode(cert).decode(),
        "client-key-data": base64.b64encode(key).decode(),
    })


def unique_user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def bind_cluster_role(api: KubeApi, user: str, role: str) -> str:
    """Bind ``user`` to ClusterRole ``role`` cluster-wide; the binding's name (delete it after)."""
    name = f"{user}-{role}".replace(":", "-")
    api.apply({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
        "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}],
        "roleRef": {"kind": "ClusterRole", "name": role, "apiGroup": "rbac.authorization.k8s.io"},
    })
    return name


def wait_authorized(api: KubeApi, user: str, verb: str, resource: str, namespace: str | None = None,
                    timeout: float = 20.0) -> None:
    """RBAC caches are eventually consistent: ask a SubjectAccessReview again until it says yes
    (nothing to watch), for at most ``timeout`` seconds times the timeout factor."""
    attributes = {"verb": verb, "resource": resource, **({"namespace": namespace} if namespace else {})}
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"user": user, "resourceAttributes": attributes}}
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        if api.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", review)["status"].get("allowed"):
            return
        time.sleep(0.1)
    raise AssertionError(f"RBAC n'autorise toujours pas {user} à {verb} {resource}")


# --- lab 03 ----------------------------------------------------------------------------------


def solve_lab03(api: KubeApi, namespace: str, variant: str = "solution") -> Lab:
    """Set lab 03 up in ``namespace``, apply ``variant`` and wait for its pod to be ready."""
    lab = load_lab(LAB03)
    setup(api, lab, namespace)
    apply_variant(api, lab, variant, namespace)
    wait_for(api, "v1", "Pod", named("postgres-0", is_ready), namespace=namespace, timeout=scaled(90),
             what="le pod postgres-0 prêt")
    return lab


@pytest.fixture(scope="module")
def solved_namespace(kube_api: KubeApi) -> Iterator[str]:
    """One namespace per test module with lab 03's solution, converged."""
    name = f"t-engine-{uuid.uuid4().hex[:6]}"
    create_namespace(kube_api, name)
    solve_lab03(kube_api, name)
    yield name
    kube_api.delete("v1", "Namespace", name)


# --- the audit log ------------------------------------------------------------------------------


def audit_events(sandbox: Any, user: str | None = None) -> list[Obj]:
    """The API server's audit events (one JSON object per line), optionally of one user."""
    events = []
    for line in Path(sandbox.audit_log).read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:  # a line being written right now
            continue
        if user is None or event.get("user", {}).get("username") == user:
            events.append(event)
    return events


def settled_audit_events(sandbox: Any, user: str | None, minimum: int, timeout: float = 5.0,
                         matching: Callable[[Obj], bool] = lambda event: True) -> list[Obj]:
    """The audit events of ``user`` (of everyone: ``None``) that are ``matching``, once there are
    ``minimum`` of them (the log is written in blocking mode, but allow the last flush), or
    whatever is there after ``timeout`` seconds times the timeout factor. A file has nothing to
    watch: it is read again every 0.1 s."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        events = [event for event in audit_events(sandbox, user) if matching(event)]
        if len(events) >= minimum or time.monotonic() > deadline:
            return events
        time.sleep(0.1)


def namespace_exists(api: KubeApi, name: str) -> bool:
    return api.get("v1", "Namespace", name) is not None
