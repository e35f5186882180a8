"""Credentials a lab asks for: a Secret with the expected keys, and no credential written in clear.

Only key names are compared: a sanitised Secret (live or from a snapshot) has no values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kubelab.checks import ObjectRef, Verdict, failed, passed
from kubelab.cluster_state import LAST_APPLIED, ClusterState, secret_keys
from kubelab.objects import SECRET_NAME, listing, name_of, pod_template
from kubelab.references import Lookup, all_containers, keys_of

Obj = dict[str, Any]


def secret_with_keys(state: ClusterState, name: str, keys: Sequence[str]) -> Verdict:
    """Does the Secret ``name`` of the lab's namespace exist with every key of ``keys``?"""
    secret = state.get("v1", "Secret", name)
    ref = ObjectRef("Secret", name)
    if secret is None:
        return failed(f"Le Secret `{name}` devrait exister (trouvé : aucun).", ref)
    missing = [key for key in keys if key not in secret_keys(secret)]
    if missing:
        found = listing(sorted(secret_keys(secret))) or "aucune"
        return failed(f"Le Secret `{name}` devrait avoir les clés {listing(missing)} (trouvé : {found}).", ref)
    return passed(f"Le Secret `{name}` a les clés {listing(keys)}.", ref)


CREDENTIAL = re.compile(r"PASS|PWD|SECRET|TOKEN", re.IGNORECASE)
ASSIGNED = re.compile(r"(?<![A-Za-z0-9_-])([A-Za-z0-9_]*(?:PASS|PWD|SECRET|TOKEN)[A-Za-z0-9_]*)=(?![$\"'\s]|$)(\S+)",
                      re.IGNORECASE)
OPTION = re.compile(r"--(password|passwd|token|secret)[= ](?![$\"'\s])\S+", re.IGNORECASE)
NOT_A_SECRET = ("checksum/", LAST_APPLIED)


def _credential_like(name: str) -> bool:
    """A credential's name (``…PASSWORD``, ``…TOKEN``, ``…KEY``…), not a file holding one (``…_FILE``)."""
    return bool(SECRET_NAME.search(name)) and not name.upper().endswith(("_FILE", "PASSFILE"))


def plaintext_findings(workload: Obj, lookup: Lookup) -> list[str]:
    """Where ``workload`` writes a credential in clear, in French: wherever a container gets values.

    A variable whose name looks like a credential with a literal ``value`` (a path for a
    ``…_FILE`` variable is not one) or read from a ConfigMap (``configMapKeyRef``, or
    ``envFrom`` of a ConfigMap holding such a key); ``NAME=value`` or ``--password value`` in
    ``command``, ``args``, an exec probe or hook; an annotation of the workload or its pods
    named like a credential.
    A Secret's values are never read: the Secret is where the value belongs.
    """
    found: list[str] = []
    for container in all_containers(workload):
        who = f"conteneur `{container.get('name', '?')}`"
        for var in container.get("env") or []:
            name = var.get("name", "")
            source = var.get("valueFrom") or {}
            if _credential_like(name) and var.get("value") and not str(var["value"]).startswith("/"):
                found.append(f"{who} : `{name}` en clair (`value`)")
            ref = source.get("configMapKeyRef")
            if ref and (_credential_like(name) or _credential_like(ref.get("key", ""))):
                found.append(f"{who} : `{name}` lue dans la ConfigMap `{ref.get('name', '?')}` (en clair)")
        for source in container.get("envFrom") or []:
            ref = source.get("configMapRef")
            configmap = lookup("ConfigMap", ref.get("name", "")) if ref else None
            leaked = sorted(k for k in keys_of(configmap or {}) if _credential_like(k))
            if ref and leaked:
                found.append(f"{who} : `envFrom` de la ConfigMap `{ref.get('name', '?')}`, qui a en clair "
                             + ", ".join(f"`{k}`" for k in leaked))
        hooks = [(container.get("lifecycle") or {}).get(h) for h in ("postStart", "preStop")]
        probes = [container.get(kind) for kind in ("startupProbe", "readinessProbe", "livenessProbe")]
        commands = [(handler.get("exec") or {}).get("command") or [] for handler in (*hooks, *probes) if handler]
        words = " ".join(str(w) for w in [*(container.get("command") or []), *(container.get("args") or []),
                                          *(w for command in commands for w in command)])
        for match in [*ASSIGNED.finditer(words), *OPTION.finditer(words)]:
            found.append(f"{who} : `{match.group(0)[:40]}` dans sa commande")
    for where, meta in (("le", workload.get("metadata") or {}), ("le gabarit de pod de", pod_template(workload)
                                                                    .get("metadata") or {})):
        for key, value in (meta.get("annotations") or {}).items():
            if key.startswith(NOT_A_SECRET):
                continue
            if CREDENTIAL.search(key.rsplit("/", 1)[-1]) or ASSIGNED.search(str(value)):
                found.append(f"l'annotation `{key}` sur {where} {workload.get('kind', '')} `{name_of(workload)}`")
    return list(dict.fromkeys(found))
