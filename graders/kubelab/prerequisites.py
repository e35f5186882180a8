"""What a lab needs from the cluster, and whether this cluster has it.

A lab declares its needs in ``lab.yaml`` (``requires``): MicroK8s addons (``dns``,
``hostpath-storage``, ``ingress``, ``rbac``), a number of nodes, and a real data plane for
its live probes. « Préparer » and ``kubelab lab setup`` check them and say, for each missing
one, how to get it on MicroK8s (``microk8s enable …``) and on the sandbox (``kubelab sandbox
addon enable …``). A lab whose claims cannot bind is never reported ready.

Every check reads the cluster, except ``rbac``, which asks one SubjectAccessReview (nothing is
stored): only the authorizer knows whether RBAC is enforced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kubelab.kube_api import ApiError, KubeApi, RefusedError
from kubelab.live_probes import has_data_plane, is_fake_node
from kubelab.objects import default_storage_class, is_ready, labels_of, name_of
from kubelab.requirements import Requirements
from kubelab.typography import plural

Obj = dict[str, Any]
HOSTPATH_PROVISIONER = "microk8s.io/hostpath"
REVIEWER = "kubelab-prerequisite-probe"
"""A user no RBAC rule names: if the authorizer lets it read Secrets, RBAC is off."""


class Flavour(StrEnum):
    """What kind of cluster this is, to give the right command first."""

    SANDBOX = "bac à sable"
    MICROK8S = "MicroK8s"
    OTHER = "autre"


@dataclass(frozen=True)
class Finding:
    """One need: met (``True``), missing (``False``) or not checkable (``None``), with the way to get it."""

    need: str
    met: bool | None
    message: str
    remedy: str = ""
    required: bool = True


REAL_NODE_LABEL = "sandbox.kubelab.io/real-node"
"""The sandbox's real node (``kubelab sandbox up --real-node``) carries it; its other nodes are kwok fakes."""


def flavour(nodes: list[Obj]) -> Flavour:
    if nodes and all(is_fake_node(node) or labels_of(node).get(REAL_NODE_LABEL) == "true" for node in nodes):
        return Flavour.SANDBOX
    if any(labels_of(node).get("microk8s.io/cluster") == "true" for node in nodes):
        return Flavour.MICROK8S
    return Flavour.OTHER


def _ordered(kind: Flavour, microk8s: str, sandbox: str) -> str:
    if kind is Flavour.SANDBOX:
        return f"sur ce cluster (le bac à sable) : {sandbox} ; sur MicroK8s : {microk8s}"
    if kind is Flavour.MICROK8S:
        return f"sur ce cluster (MicroK8s) : {microk8s} ; sur le bac à sable : {sandbox}"
    return f"sur MicroK8s : {microk8s} ; sur le bac à sable : {sandbox}"


def enable_advice(addon: str, kind: Flavour = Flavour.OTHER) -> str:
    """How to enable an addon, the command for this kind of cluster first."""
    if addon == "rbac":
        sandbox = "« kubelab sandbox addon enable rbac » (ou « kubelab sandbox up --rbac »)"
    else:
        sandbox = f"« kubelab sandbox addon enable {addon} »"
    return _ordered(kind, f"« microk8s enable {addon} »", sandbox)


def _nodes_advice(kind: Flavour, wanted: int, have: int) -> str:
    missing = wanted - have
    microk8s = ("« microk8s add-node » sur un nœud existant, puis la commande « microk8s join … » qu'il affiche, "
                f"sur {plural(missing, 'nouvelle machine', 'nouvelles machines')}")
    sandbox = " puis ".join(["« kubelab sandbox node add »"] * min(missing, 2)) + (" …" if missing > 2 else "")
    return _ordered(kind, microk8s, f"{sandbox} (ou « kubelab sandbox up --nodes {wanted} » sur un bac à sable neuf)")


def _read(what: str, read: Callable[[], Any]) -> tuple[Any, str]:
    """``read()``, or why it could not be read (a reason, not a failure: rights may be missing)."""
    try:
        return read(), ""
    except (ApiError, RefusedError) as exc:
        if exc.status not in (401, 403):
            raise
        return None, f"non vérifié ({what} refusée : {exc.status})"


def _storage(api: KubeApi, kind: Flavour) -> Finding:
    classes, why = _read("lecture des StorageClasses", lambda: api.list("storage.k8s.io/v1", "StorageClass"))
    if classes is None:
        return Finding("addon hostpath-storage", None, why)
    default = default_storage_class(classes)
    if default is None:
        found = ", ".join(f"`{name_of(c)}`" for c in classes) or "aucune"
        return Finding("addon hostpath-storage", False,
                       f"aucune StorageClass par défaut (StorageClasses : {found}) : les PVC du lab resteraient "
                       "Pending sans jamais être liés", enable_advice("hostpath-storage", kind))
    if default.get("provisioner") == HOSTPATH_PROVISIONER:
        provisioner, why = _read("lecture du provisionneur",
                                 lambda: api.get("apps/v1", "Deployment", "hostpath-provisioner", "kube-system"))
        if why:
            return Finding("addon hostpath-storage", None, why)
        if provisioner is None:
            return Finding("addon hostpath-storage", False,
                           f"la StorageClass `{name_of(default)}` existe mais son provisionneur "
                           "(`kube-system/hostpath-provisioner`) est absent : les PVC resteraient Pending",
                           enable_advice("hostpath-storage", kind))
    return Finding("addon hostpath-storage", True, f"StorageClass par défaut `{name_of(default)}`")


def _dns(api: KubeApi, kind: Flavour) -> Finding:
    service, why = _read("lecture de kube-system/kube-dns", lambda: api.get("v1", "Service", "kube-dns", "kube-system"))
    if why:
        return Finding("addon dns", None, why)
    if service is None:
        return Finding("addon dns", False, "pas de Service `kube-system/kube-dns` : les pods ne résoudraient aucun nom",
                       enable_advice("dns", kind))
    return Finding("addon dns", True, f"DNS du cluster en {(service.get('spec') or {}).get('clusterIP', '?')}")


def _ingress(api: KubeApi, kind: Flavour) -> Finding:
    classes, why = _read("lecture des IngressClasses", lambda: api.list("networking.k8s.io/v1", "IngressClass"))
    if classes is None:
        return Finding("addon ingress", None, why)
    if not classes:
        return Finding("addon ingress", False, "aucune IngressClass : aucun contrôleur n'exposerait les Ingress du lab",
                       enable_advice("ingress", kind))
    return Finding("addon ingress", True, f"IngressClass {', '.join(f'`{name_of(c)}`' for c in classes)}")


def _rbac(api: KubeApi, kind: Flavour) -> Finding:
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"user": REVIEWER, "resourceAttributes": {"verb": "list", "resource": "secrets",
                                                                "namespace": "kube-system"}}}
    answer, why = _read("SubjectAccessReview", lambda: api.post("/apis/authorization.k8s.io/v1/subjectaccessreviews",
                                                               review))
    if answer is None:
        return Finding("addon rbac", None, why)
    if (answer.get("status") or {}).get("allowed"):
        return Finding("addon rbac", False, "RBAC n'est pas appliqué : tout compte a tous les droits, les Roles du lab "
                                      "n'auraient aucun effet", enable_advice("rbac", kind))
    return Finding("addon rbac", True, "RBAC appliqué")


CHECKS: dict[str, Callable[[KubeApi, Flavour], Finding]] = {
    "dns": _dns, "hostpath-storage": _storage, "ingress": _ingress, "rbac": _rbac,
}


def check(api: KubeApi, needs: Requirements) -> list[Finding]:
    """Every declared need, checked on the cluster ``api`` talks to."""
    nodes = api.list("v1", "Node")
    kind = flavour(nodes)
    findings = [CHECKS[addon](api, kind) for addon in needs.addons]
    if needs.nodes > 1:
        ready = sum(1 for node in nodes if is_ready(node))
        if ready < needs.nodes:
            findings.append(Finding(f"{needs.nodes} nœuds", False, f"{plural(ready, 'nœud prêt', 'nœuds prêts')} sur "
                                                    f"{needs.nodes} nécessaires",
                                    _nodes_advice(kind, needs.nodes, ready)))
        else:
            findings.append(Finding(f"{needs.nodes} nœuds", True, plural(ready, "nœud prêt", "nœuds prêts")))
    if needs.data_plane:
        if has_data_plane(nodes):
            findings.append(Finding("plan de données", True, "les conteneurs s'exécutent vraiment", required=False))
        else:
            findings.append(Finding(
                "plan de données", False, "des nœuds sont simulés (kwok) : rien ne s'y exécute dans les pods, les "
                "sondes en direct (facultatives, non notées) répondront « non exécutée »",
                _ordered(kind, "les conteneurs s'exécutent déjà", "« kubelab sandbox down » puis « sudo .venv/bin/"
                         "kubelab sandbox up --real-node » (un seul nœud, réel)"), required=False))
    return findings


def missing(findings: list[Finding]) -> list[Finding]:
    """The needs that stop the lab from working."""
    return [f for f in findings if f.required and f.met is False]


def lines(findings: list[Finding]) -> list[str]:
    """One French line per need: ✓, ✗ (with the way to get it) or ⚠."""
    out = []
    for finding in findings:
        symbol = {True: "✓", False: "✗" if finding.required else "⚠", None: "⚠"}[finding.met]
        text = f"{symbol} {finding.need} : {finding.message}"
        if finding.met is False and finding.remedy:
            text += f" — {finding.remedy}"
        out.append(text + ".")
    return out

