"""What the real-node part of the manifest test needs: which workloads of the course can really
run (their images exist on the real node), how to run them there, and the Secrets they read.

A workload is pinned to the real node and reduced to one replica: the question here is « do its
containers start and become Ready » (image, user, permissions, probes), not placement, which
the lab graders and the dry run already check. NetworkPolicies and Ingresses are not applied in
this part: readiness does not depend on them, and their effect is the NetworkPolicy tests' subject.
"""

from __future__ import annotations

import copy
import re
import secrets
import shlex
from collections.abc import Iterable
from typing import Any

Obj = dict[str, Any]

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Pod")
SUPPORT_KINDS = ("ConfigMap", "Secret", "Service", "PersistentVolumeClaim", "ServiceAccount", "Role", "RoleBinding",
                 "ResourceQuota", "LimitRange")
"""What the workloads of a page need, applied with them. The other kinds are left out of the real
run: NetworkPolicies and Ingresses (see above), CronJobs and Jobs (they run on a schedule or once,
they are never « Ready »), and cluster-wide or CRD kinds, which the dry run already checks."""

LOCAL_IMAGES = (
    "busybox:1.36", "busybox:1.37", "busybox:latest",
    "postgres:17", "postgres:17.6", "postgres:17-alpine",
    "nginx:1.27", "nginx:1.29", "nginx:alpine", "nginx:latest",
    "nginxinc/nginx-unprivileged:1.27", "nginxinc/nginx-unprivileged:1.27-alpine",
    "redis:7", "redis:7.4", "redis:7-alpine",
    "registry.k8s.io/e2e-test-images/agnhost:2.53",
)
"""The images the real node holds (the images issue), under their Docker Hub names."""


def normalized(image: str) -> str:
    """``nginx`` and ``docker.io/library/nginx:latest`` are the same reference."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        name += ":latest"
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return name


def pod_spec(obj: Obj) -> Obj:
    if obj["kind"] == "Pod":
        return obj.setdefault("spec", {})
    return obj.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})


def containers(obj: Obj) -> list[Obj]:
    spec = pod_spec(copy.deepcopy(obj))
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def missing_images(obj: Obj, local: Iterable[str]) -> list[str]:
    have = {normalized(i) for i in local}
    return [c.get("image", "") for c in containers(obj) if normalized(c.get("image", "")) not in have]


def pinned(obj: Obj, node: str) -> Obj:
    """A copy of the workload with one replica, on ``node`` only, without placement rules."""
    copy_ = copy.deepcopy(obj)
    if copy_["kind"] != "Pod":
        copy_["spec"]["replicas"] = 1
    spec = pod_spec(copy_)
    spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    for field in ("affinity", "topologySpreadConstraints", "nodeName"):
        spec.pop(field, None)
    return copy_


def selector(obj: Obj) -> str:
    """The label selector of the workload's pods."""
    if obj["kind"] == "Pod":
        return f"metadata.name={obj['metadata']['name']}"
    labels = (obj["spec"].get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def referenced_secrets(obj: Obj) -> dict[str, set[str]]:
    """Secrets the pods read, with the keys they name (envFrom names none)."""
    found: dict[str, set[str]] = {}
    spec = pod_spec(copy.deepcopy(obj))
    for container in containers(obj):
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref and not ref.get("optional"):
                found.setdefault(ref["name"], set()).add(ref["key"])
        for source in container.get("envFrom") or []:
            ref = source.get("secretRef")
            if ref and not ref.get("optional"):
                found.setdefault(ref["name"], set())
    for volume in spec.get("volumes") or []:
        ref = volume.get("secret")
        if ref and not ref.get("optional"):
            found.setdefault(ref["secretName"], set()).update(i["key"] for i in ref.get("items") or [])
    return found


RE_CREATE_SECRET = re.compile(r"kubectl\s+create\s+secret\s+generic\s")


def secret_commands(markdown: str) -> dict[tuple[str | None, str], set[str]]:
    """``kubectl create secret generic NAME [-n NS] --from-literal=KEY=…`` commands of a page:
    (namespace or None, name) -> keys. Continued lines (``\\``) are joined first."""
    text = re.sub(r"\\\n\s*", " ", markdown)
    found: dict[tuple[str | None, str], set[str]] = {}
    for line in text.splitlines():
        match = RE_CREATE_SECRET.search(line)
        if not match:
            continue
        try:
            words = shlex.split(line[match.start():], comments=True)
        except ValueError:
            continue
        name, namespace, keys = None, None, set()
        rest = words[4:]
        for i, word in enumerate(rest):
            if word in ("-n", "--namespace") and i + 1 < len(rest):
                namespace = rest[i + 1]
            elif word.startswith("--namespace="):
                namespace = word.split("=", 1)[1]
            elif word.startswith("--from-literal="):
                keys.add(word.split("=", 2)[1])
            elif not word.startswith("-") and name is None and (i == 0 or rest[i - 1] not in ("-n", "--namespace")):
                name = word
        if name:
            found[(namespace, name)] = keys
    return found


def generated_secret(name: str, namespace: str, keys: set[str]) -> Obj:
    """A Secret with random values (never printed), for the keys a workload reads."""
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque", "stringData": {key: secrets.token_urlsafe(18) for key in sorted(keys) or ["value"]}}


def pod_problem(pod: Obj) -> str:
    """Why a pod is not Ready, in the kubelet's words."""
    status = pod.get("status") or {}
    reasons = []
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        for phase in ("waiting", "terminated"):
            if phase in state:
                detail = state[phase]
                reasons.append(f"{cs['name']} : {detail.get('reason', phase)} {detail.get('message', '')}".strip())
        if cs.get("ready") is False and "running" in state:
            reasons.append(f"{cs['name']} : en cours, pas prêt (sonde de disponibilité)")
    for condition in status.get("conditions") or []:
        if condition.get("status") == "False" and condition.get("message"):
            reasons.append(f"{condition['type']} : {condition['message']}")
    return "; ".join(reasons) or f"phase {status.get('phase', '?')}"
