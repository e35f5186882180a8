"""Verdicts that changed when the labs started sharing one query each (``kubelab.objects``).

Each case starts from the lab's reference solution, changes the one thing a learner might
write differently, and grades the check from a snapshot-like state (no cluster needed):

* lab 03 took ``postgres:17-bookworm`` (PostgreSQL 17 on Debian) for a wrong image;
* lab 03 took credentials as read from the Secret when ``envFrom`` had a ``prefix`` that
  renames them (the container gets ``PG_POSTGRES_USER``, not ``POSTGRES_USER``);
* lab 02 missed a ConfigMap that only an init container reads.
"""

from __future__ import annotations

import copy
from typing import Any

from kubelab.catalog import Lab, load_lab
from kubelab.checks import Verdict
from kubelab.cluster_state import LAB_SCOPE, SnapshotState
from kubelab.lab_setup import variant_objects
from kubelab.objects import pod_spec

Obj = dict[str, Any]


def _verdict(lab: Lab, check_id: str, objects: list[Obj]) -> Verdict:
    lists: dict[str, list[Obj]] = {read.key(lab.namespace): [] for read in lab.reads}
    lists[f"v1/Event@{lab.namespace}"] = []
    for obj in objects:
        read = next((r for r in lab.reads if r.kind == obj["kind"] and r.scope == LAB_SCOPE), None)
        if read is not None:
            lists[read.key(lab.namespace)].append(obj)
    state = SnapshotState(lab.namespace, lab.reads, lab.probes, lists, {}, {})
    check = next(c for c in lab.checks if c.id == check_id)
    return check.spec.run(state)


def _solution(lab: Lab) -> list[Obj]:
    return copy.deepcopy(variant_objects(lab, "solution"))


def _one(objects: list[Obj], kind: str) -> Obj:
    return next(o for o in objects if o["kind"] == kind)


def test_lab03_accepts_every_postgres_17_tag() -> None:
    """`postgres:17-bookworm` and `postgres:17.6-alpine` are PostgreSQL 17: full marks for the StatefulSet?"""
    lab = load_lab("03-stockage-pvc")
    for image in ("postgres:17-bookworm", "postgres:17.6-alpine", "docker.io/library/postgres:17"):
        objects = _solution(lab)
        pod_spec(_one(objects, "StatefulSet"))["containers"][0]["image"] = image
        verdict = _verdict(lab, "postgres-statefulset", objects)
        assert verdict.passed, (image, verdict.message)
    objects = _solution(lab)
    pod_spec(_one(objects, "StatefulSet"))["containers"][0]["image"] = "postgres:16"
    assert not _verdict(lab, "postgres-statefulset", objects).passed


def test_lab03_envfrom_with_a_prefix_does_not_set_the_credentials() -> None:
    """`envFrom: [{prefix: PG_, secretRef: postgres-credentials}]` sets PG_POSTGRES_USER: is it refused,
    while the same envFrom without prefix is accepted?"""
    lab = load_lab("03-stockage-pvc")
    for prefix, expected in (("PG_", False), ("", True)):
        objects = _solution(lab)
        container = pod_spec(_one(objects, "StatefulSet"))["containers"][0]
        container["env"] = [e for e in container.get("env") or [] if e["name"] not in ("POSTGRES_USER",
                                                                                       "POSTGRES_PASSWORD")]
        container["envFrom"] = [{"prefix": prefix, "secretRef": {"name": "postgres-credentials"}}]
        verdict = _verdict(lab, "postgres-env-from-secret", objects)
        assert verdict.passed is expected, (prefix, verdict.message)


def test_lab02_counts_a_configmap_read_by_an_init_container() -> None:
    """The Deployment's ConfigMap read only by an init container (`envFrom`): is it « used »?"""
    lab = load_lab("02-organiser-lab")
    objects = _solution(lab)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    spec = pod_spec(deployment)
    main = spec["containers"][0]
    config_sources = [s for s in main.get("envFrom") or [] if "configMapRef" in s]
    assert config_sources, "la solution du lab 02 lit sa ConfigMap par envFrom"
    main["envFrom"] = [s for s in main["envFrom"] if "configMapRef" not in s]
    spec["initContainers"] = [{"name": "preparer", "image": "busybox:1.37", "command": ["true"],
                               "envFrom": config_sources}]
    verdict = _verdict(lab, "catalogue-uses-config", objects)
    assert verdict.passed, verdict.message
