"""The real-node part of the manifest test: which workloads of the course can really run (their
images exist on the real node), the groups applied together (a page, or a lab variant), the
Secrets they read, and the run itself: apply for real, wait for Ready, clean up.

A workload is pinned to the real node and reduced to one replica: the question here is « do its
containers start and become Ready » (image, user, permissions, probes), not placement, which
the lab graders and the dry run already check. NetworkPolicies and Ingresses are not applied in
this part: readiness does not depend on them, and their effect is the NetworkPolicy tests' subject.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kubelab.errors import KubelabError
from kubelab.kube_api import KubeApi
from kubelab.objects import is_ready
from kubelab.waiting import wait_for

from .course_manifests import REPO, Document, Patch, prepared

Obj = dict[str, Any]

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Pod")
SUPPORT_KINDS = ("ConfigMap", "Secret", "Service", "PersistentVolumeClaim", "ServiceAccount", "Role", "RoleBinding",
                 "ResourceQuota", "LimitRange")
"""What the workloads of a page need, applied with them. The other kinds are left out of the real
run: NetworkPolicies and Ingresses (see above), CronJobs and Jobs (they run on a schedule or once,
they are never « Ready »), and cluster-wide or CRD kinds, which the dry run already checks."""
READINESS_KINDS = ("ConfigMap", "Secret", "PersistentVolumeClaim")
"""Besides the workload itself, what decides whether its pods start: two runs that share them
(a lab alternative that changes only a Service or an Ingress) are run once."""



def pod_spec(obj: Obj) -> Obj:
    if obj["kind"] == "Pod":
        return obj.setdefault("spec", {})
    return obj.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})


def containers(obj: Obj) -> list[Obj]:
    spec = pod_spec(copy.deepcopy(obj))
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


class Images(Protocol):
    def lookup(self, reference: str) -> object | None: ...


def missing_images(obj: Obj, store: Images) -> list[str]:
    """The images of the workload that the real node's image store does not hold."""
    return sorted({c.get("image", "") for c in containers(obj) if store.lookup(c.get("image", "")) is None})


def pinned(obj: Obj, node: str) -> Obj:
    """A copy of the workload with one replica, on the node whose ``kubernetes.io/hostname`` is
    ``node``, without placement rules, stopping in one second."""
    copy_ = copy.deepcopy(obj)
    if copy_["kind"] != "Pod":
        copy_["spec"]["replicas"] = 1
    spec = pod_spec(copy_)
    spec["nodeSelector"] = {"kubernetes.io/hostname": node}
    spec["terminationGracePeriodSeconds"] = 1   # the next run may reuse the names: stop fast
    for field in ("affinity", "topologySpreadConstraints", "nodeName"):
        spec.pop(field, None)
    return copy_


def selector(obj: Obj) -> str:
    """The label selector of a Deployment's or StatefulSet's pods."""
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


def secret_commands(markdown: str) -> dict[tuple[str | None, str], dict[str, str | None]]:
    """``kubectl create secret generic NAME [-n NS] --from-literal=KEY=VALUE`` commands of a page:
    (namespace or None, name) -> {key: its literal value, or None when the page computes it
    (``$(openssl rand …)``)}. Continued lines (``\\``) are joined first."""
    text = re.sub(r"\\\n\s*", " ", markdown)
    found: dict[tuple[str | None, str], dict[str, str | None]] = {}
    for line in text.splitlines():
        match = RE_CREATE_SECRET.search(line)
        if not match:
            continue
        try:
            words = shlex.split(line[match.start():], comments=True)
        except ValueError:
            continue
        name, namespace = None, None
        keys: dict[str, str | None] = {}
        rest = words[4:]
        for i, word in enumerate(rest):
            if word in ("-n", "--namespace") and i + 1 < len(rest):
                namespace = rest[i + 1]
            elif word.startswith("--namespace="):
                namespace = word.split("=", 1)[1]
            elif word.startswith("--from-literal="):
                _, key, value = (word.split("=", 2) + [""])[:3]
                keys[key] = None if "$" in value or not value else value
            elif not word.startswith("-") and name is None and (i == 0 or rest[i - 1] not in ("-n", "--namespace")):
                name = word
        if name:
            found[(namespace, name)] = keys
    return found


def generated_secret(name: str, namespace: str, keys: dict[str, str | None]) -> Obj:
    """A Secret for the keys a workload reads: the page's literal values, random ones (letters
    and digits, never printed) where the page computes them or gives none."""
    values = {key: keys[key] or f"k{secrets.token_hex(12)}" for key in sorted(keys)} or {"value": secrets.token_hex(12)}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque", "stringData": values}


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


# ------------------------------------------------------------------------ the real run


@dataclass(frozen=True)
class RealRun:
    """A group of documents applied together on the real node: a course page, or one variant of
    a lab (its solution, or one alternative over the solution). ``same_as`` names an earlier run
    with exactly the same workloads and configuration, which there is no need to run twice."""

    key: str
    docs: tuple[Document, ...]
    same_as: str = ""
    patches: tuple[Patch, ...] = ()
    """Applied once the workloads are Ready (a later step of the lab): their rollout must finish."""

    @property
    def workloads(self) -> list[Document]:
        return [d for d in self.docs if d.obj["kind"] in WORKLOAD_KINDS]

    @property
    def support(self) -> list[Document]:
        return [d for d in self.docs if d.obj["kind"] in SUPPORT_KINDS
                and d.obj["apiVersion"] in ("v1", "rbac.authorization.k8s.io/v1")]


def run_key(doc: Document) -> str:
    """The run a document belongs to: its page, or its page and lab alternative."""
    source = doc.block.source
    if "/alternatives/" in source:
        return f"{doc.block.page} : {source.split('/alternatives/')[1].split('/')[0]}"
    return doc.block.page


def real_runs(applied: list[Document], patches: Sequence[Patch] = ()) -> list[RealRun]:
    """The runs of the real-node part, in page order; lab starters are left out (broken on purpose)."""
    groups: dict[str, list[Document]] = {}
    for doc in applied:
        source = doc.block.source
        if source.startswith("labs/") and "/starter/" in source:
            continue
        groups.setdefault(run_key(doc), []).append(doc)
    for key in list(groups):
        if " : " in key:
            page = key.split(" : ")[0]
            own = {(d.obj["kind"], d.obj["metadata"]["name"]) for d in groups[key]}
            groups[key] = [d for d in groups.get(page, []) if (d.obj["kind"], d.obj["metadata"]["name"]) not in own
                           and "/solution/" in d.block.source] + groups[key]
    runs: list[RealRun] = []
    seen: dict[str, str] = {}
    for key, docs in sorted(groups.items()):
        run = RealRun(key, tuple(docs))
        if not run.workloads:
            continue
        own = tuple(p for p in patches if run_key(p.doc) == key)
        readiness_inputs = run.workloads + [d for d in run.support if d.obj["kind"] in READINESS_KINDS]
        signature = json.dumps(sorted(json.dumps(prepared(d), sort_keys=True)
                                      for d in readiness_inputs + [p.doc for p in own]))
        runs.append(RealRun(key, tuple(docs), seen.get(signature, ""), own))
        seen.setdefault(signature, key)
    return runs


def apply_run(api: KubeApi, run: RealRun, runnable: list[Document], hostname: str, field_manager: str) -> list[Obj]:
    """Apply for real what the runnable workloads need, then the workloads pinned to the node;
    the objects applied, to be removed afterwards. A Secret that the page only creates by a
    ``kubectl create secret`` command is created here, with random values."""
    markdown = (REPO / run.docs[0].block.page).read_text(encoding="utf-8") \
        if (REPO / run.docs[0].block.page).is_file() else ""
    commands = secret_commands(markdown)
    applied: list[Obj] = []
    present: set[tuple[str, str]] = set()
    for doc in run.support:
        obj = prepared(doc)
        api.apply(obj, field_manager=field_manager)
        applied.append(obj)
        if obj["kind"] == "Secret":
            present.add((obj["metadata"]["namespace"], obj["metadata"]["name"]))
    for doc in runnable:
        obj = pinned(prepared(doc), hostname)
        namespace = obj["metadata"]["namespace"]
        for secret, keys in referenced_secrets(obj).items():
            if (namespace, secret) not in present:
                given = commands.get((namespace, secret), commands.get((None, secret), {}))
                generated = generated_secret(secret, namespace, dict.fromkeys(keys) | given)
                api.apply(generated, field_manager=field_manager)
                applied.append(generated)
                present.add((namespace, secret))
        api.apply(obj, field_manager=field_manager)
        applied.append(obj)
    return applied


def wait_ready(api: KubeApi, doc: Document, timeout: float) -> str | None:
    """``None`` once the workload's pods are Ready, else why not, in the kubelet's words."""
    obj = prepared(doc)
    namespace = obj["metadata"]["namespace"]
    if obj["kind"] == "Pod":
        name = obj["metadata"]["name"]
        predicate = lambda pods: any(p["metadata"]["name"] == name and is_ready(p) for p in pods)  # noqa: E731
        labels = None
    else:
        predicate = lambda pods: bool(pods) and all(is_ready(p) for p in pods)  # noqa: E731
        labels = selector(obj)
    try:
        wait_for(api, "v1", "Pod", predicate, namespace=namespace, label_selector=labels, timeout=timeout,
                 what=doc.label)
        return None
    except KubelabError:
        pods = api.list("v1", "Pod", namespace, label_selector=labels)
        if obj["kind"] == "Pod":
            pods = [p for p in pods if p["metadata"]["name"] == obj["metadata"]["name"]]
        return "; ".join(f"{pod_problem(p)}{last_log(api, p)}" for p in pods) or "aucun pod créé"


def last_log(api: KubeApi, pod: Obj, lines: int = 8) -> str:
    """The last lines a crashed (or still running) container of ``pod`` wrote, to say why."""
    out = []
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if cs.get("ready"):
            continue
        previous = "true" if cs.get("restartCount") else "false"
        path = f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods/{pod['metadata']['name']}/log"
        query = [("container", cs["name"]), ("tailLines", lines), ("previous", previous)]
        try:
            raw = api._send("GET", path, query, "application/json", None, 15)
            text = raw.read().decode("utf-8", "replace")
            raw.release_conn()
        except Exception as exc:  # a diagnostic only: never hide the real failure
            text = f"(journal illisible : {exc})"
        out.append(f"\n    journal de {cs['name']} :\n      " + "\n      ".join(text.strip().splitlines()[-lines:]))
    return "".join(out)


def roll_out(api: KubeApi, patch: Patch, field_manager: str, store: Any, timeout: float) -> str | None:
    """Apply ``patch`` over its running base (under its own field manager, as the lab does) and
    wait until the Deployment's rollout is done: ``None``, else why not."""
    obj = prepared(patch.doc)
    missing = missing_images(obj, store)
    if missing:
        return f"image(s) du correctif absente(s) du nœud réel : {', '.join(missing)}"
    api.apply(obj, field_manager=field_manager)
    meta = obj["metadata"]

    def done(items: list[Obj]) -> bool:
        d = next((i for i in items if i["metadata"]["name"] == meta["name"]), None)
        if d is None:
            return False
        status, wanted = d.get("status") or {}, d["spec"].get("replicas", 1)
        return (status.get("observedGeneration", 0) >= d["metadata"]["generation"]
                and status.get("updatedReplicas") == wanted == status.get("availableReplicas")
                and status.get("replicas") == wanted)

    try:
        wait_for(api, obj["apiVersion"], obj["kind"], done, namespace=meta["namespace"], timeout=timeout,
                 what=f"la mise à jour de {patch.doc.label}")
        return None
    except KubelabError:
        base = prepared(patch.base)
        labels = selector(base)
        pods = api.list("v1", "Pod", meta["namespace"], label_selector=labels)
        return ("mise à jour inachevée : "
                + ("; ".join(f"{pod_problem(p)}{last_log(api, p)}" for p in pods) or "aucun pod"))


def remove_run(api: KubeApi, applied: list[Obj], runnable: list[Document], timeout: float) -> None:
    """Delete what the run applied, and the claims its StatefulSets made, then wait until their
    pods and claims are gone: the next run may reuse the names, and a claim that is still being
    deleted cannot be applied again."""
    claims = [c for c in applied if c["kind"] == "PersistentVolumeClaim"]
    for doc in runnable:
        obj = prepared(doc)
        if obj["kind"] == "StatefulSet":
            claims += [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": f"{t['metadata']['name']}-{obj['metadata']['name']}-0",
                                     "namespace": obj["metadata"]["namespace"]}}
                       for t in obj["spec"].get("volumeClaimTemplates") or []]   # pinned: one replica
    for obj in reversed(applied):
        api.delete(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))
    for doc in runnable:
        obj = prepared(doc)
        labels = None if obj["kind"] == "Pod" else selector(obj)
        name = obj["metadata"]["name"]
        wait_for(api, "v1", "Pod", lambda pods, n=name, k=obj["kind"]: not [
            p for p in pods if k != "Pod" or p["metadata"]["name"] == n], namespace=obj["metadata"]["namespace"],
            label_selector=labels, timeout=timeout, what=f"la fin des pods de {doc.label}")
    for claim in claims:
        meta = claim["metadata"]
        api.delete("v1", "PersistentVolumeClaim", meta["name"], meta["namespace"])
        wait_for(api, "v1", "PersistentVolumeClaim",
                 lambda items, n=meta["name"]: not [c for c in items if c["metadata"]["name"] == n],
                 namespace=meta["namespace"], timeout=timeout, what=f"la suppression du PVC {meta['name']}")
