"""The queries the labs share (``kubelab.objects``), on the cases where labs used to disagree.

One rule for every lab: init containers read configuration too, optional references are
flagged, ``envFrom`` prefixes name the variables, and an image reference is split the way a
container runtime splits it.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubelab.objects import Reference, image_reference, is_image_version, references, secret_key_ref

DEPLOYMENT: dict[str, Any] = {"kind": "Deployment", "spec": {"template": {"spec": {
    "initContainers": [{"name": "migrer", "envFrom": [{"configMapRef": {"name": "migrations"}}]}],
    "containers": [{
        "name": "app",
        "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "reglages", "key": "mode",
                                                                   "optional": True}}}],
        "envFrom": [{"secretRef": {"name": "jetons"}, "prefix": "API_"}],
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}, {"name": "donnees", "mountPath": "/data"}],
    }],
    "volumes": [{"name": "config", "projected": {"sources": [
                    {"configMap": {"name": "fichiers"}}, {"secret": {"name": "tls", "items": [{"key": "tls.crt"}]}}]}},
                {"name": "donnees", "persistentVolumeClaim": {"claimName": "donnees"}},
                {"name": "oublie", "secret": {"secretName": "jamais-monte"}}],
}}}}


def test_references_cover_init_containers_volumes_and_flag_optional_ones() -> None:
    """Every way a pod template names a ConfigMap, Secret or PVC, with how it is used?"""
    found = {(r.kind, r.name, r.via, r.key, r.optional, r.mounted) for r in references(DEPLOYMENT)}
    assert found == {
        ("ConfigMap", "migrations", "envFrom", None, False, True),
        ("Secret", "db", "env", "password", False, True),
        ("ConfigMap", "reglages", "env", "mode", True, True),
        ("Secret", "jetons", "envFrom", None, False, True),
        ("ConfigMap", "fichiers", "volume", None, False, True),
        ("Secret", "tls", "volume", "tls.crt", False, True),
        ("PersistentVolumeClaim", "donnees", "volume", None, False, True),
        ("Secret", "jamais-monte", "volume", None, False, False),
    }
    assert Reference("ConfigMap", "migrations", "envFrom", "migrer") in references(DEPLOYMENT)


@pytest.mark.parametrize(("name", "expected"), [
    ("DB_PASSWORD", ("db", "password")),
    ("API_TOKEN", ("jetons", "TOKEN")),   # envFrom with a prefix: the key is the name without it
    ("TOKEN", None),                      # the prefix does not fit: nothing sets TOKEN
    ("MODE", None),                       # set from a ConfigMap
])
def test_secret_key_ref_follows_kubernetes(name: str, expected: tuple[str, str] | None) -> None:
    """Which Secret and key set a variable, as the kubelet resolves it?"""
    container = DEPLOYMENT["spec"]["template"]["spec"]["containers"][0]
    assert secret_key_ref(container, name) == expected


@pytest.mark.parametrize(("image", "registry", "repository", "tag", "digest"), [
    ("postgres", "", "postgres", "", ""),
    ("postgres:17", "", "postgres", "17", ""),
    ("docker.io/library/postgres:17.2-alpine", "docker.io", "postgres", "17.2-alpine", ""),
    ("registry.local:5000/equipe/app@sha256:abc", "registry.local:5000", "equipe/app", "", "sha256:abc"),
    ("localhost/grafana/grafana:12.2.1", "localhost", "grafana/grafana", "12.2.1", ""),
    ("grafana/grafana:latest", "", "grafana/grafana", "latest", ""),
])
def test_image_reference_splits_like_a_runtime(image: str, registry: str, repository: str, tag: str,
                                               digest: str) -> None:
    reference = image_reference(image)
    assert (reference.registry, reference.repository, reference.tag, reference.digest) == (registry, repository,
                                                                                           tag, digest)


@pytest.mark.parametrize(("image", "expected"), [
    ("postgres:17", True), ("postgres:17.2", True), ("postgres:17-alpine", True), ("postgres:17-bookworm", True),
    ("mirror.local/library/postgres:17.6-alpine3.22@sha256:abc", True),
    ("postgres:16", False), ("postgres:170", False), ("postgres", False), ("postgres:latest", False),
    ("postgresql:17", False),
])
def test_image_version(image: str, expected: bool) -> None:
    """Postgres 17 in any of its official tags (and only 17)?"""
    assert is_image_version(image, "postgres", "17") is expected
