"""Unknown fields in manifests read from files, reported as the API server would report them.

A NetworkPolicy with ``podSelectr`` instead of ``podSelector`` would be refused by the cluster
(« strict decoding error: unknown field "spec.podSelectr" ») but, read from a file, it would
silently select every pod. So ``kubelab netpol matrix --from-files`` checks each manifest it
reads: through the API server when one is named (``--kubeconfig``, ``--context``,
``--sandbox``: a server-side dry run with strict field validation, nothing is written), else
against the fields of the Kubernetes API schema stored in ``data/api-fields.json``.

That file is a compact extract of the API server's OpenAPI v3 (``document``): for each type,
its fields and the type of each. ``kubelab.api_schema`` fetches the OpenAPI from a cluster and
asks the API server itself; regenerate the file with ``python -m kubelab.api_schema --kubeconfig
FILE`` on a cluster of the sandbox's version (a test compares it with the sandbox). This module
reads no cluster: it only knows the stored fields.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from kubelab.netpol.french import NBSP, quote

Obj = dict[str, Any]
SCHEMA_FILE = Path(__file__).with_name("data") / "api-fields.json"
KINDS = {
    "v1/Namespace": "io.k8s.api.core.v1.Namespace",
    "v1/Pod": "io.k8s.api.core.v1.Pod",
    "networking.k8s.io/v1/NetworkPolicy": "io.k8s.api.networking.v1.NetworkPolicy",
    "apps/v1/Deployment": "io.k8s.api.apps.v1.Deployment",
    "apps/v1/ReplicaSet": "io.k8s.api.apps.v1.ReplicaSet",
    "apps/v1/StatefulSet": "io.k8s.api.apps.v1.StatefulSet",
    "apps/v1/DaemonSet": "io.k8s.api.apps.v1.DaemonSet",
    "batch/v1/Job": "io.k8s.api.batch.v1.Job",
    "batch/v1/CronJob": "io.k8s.api.batch.v1.CronJob",
}
"""The kinds the reachability matrix reads from files, and their OpenAPI type."""
GROUP_VERSIONS = ("api/v1", "apis/apps/v1", "apis/batch/v1", "apis/networking.k8s.io/v1")
ANY = "*"
"""A field whose content the schema does not constrain (``x-kubernetes-preserve-unknown-fields``, scalars)."""


# --- the stored schema ---------------------------------------------------------------------------------


def _field_type(prop: Obj) -> str:
    """``Name`` (an object), ``[]Name`` (a list of them), ``{}Name`` (a map of them), or ``*`` (anything)."""
    if prop.get("x-kubernetes-preserve-unknown-fields"):
        return ANY
    ref = prop.get("$ref") or next((part.get("$ref") for part in prop.get("allOf") or [] if "$ref" in part), None)
    if ref:
        return ref.rsplit("/", 1)[-1]
    if prop.get("type") == "array":
        inner = _field_type(prop.get("items") or {})
        return f"[]{inner}" if inner != ANY else ANY
    if prop.get("type") == "object" and isinstance(prop.get("additionalProperties"), dict):
        inner = _field_type(prop["additionalProperties"])
        return f"{{}}{inner}" if inner != ANY else ANY
    return ANY


def document(schemas: dict[str, Obj], version: str) -> Obj:
    """The stored form of an API server's OpenAPI v3 ``components.schemas``: the fields of every type the
    matrix's kinds reach."""
    definitions: dict[str, dict[str, str]] = {}
    pending = list(KINDS.values())
    while pending:
        name = pending.pop()
        if name in definitions or name not in schemas:
            continue
        properties = schemas[name].get("properties")
        if not properties or schemas[name].get("x-kubernetes-preserve-unknown-fields"):
            continue
        definitions[name] = {field: _field_type(prop) for field, prop in sorted(properties.items())}
        pending.extend(kind.lstrip("[]{}") for kind in definitions[name].values() if kind != ANY)
    return {"kubernetes": version, "kinds": KINDS, "definitions": dict(sorted(definitions.items()))}


@cache
def stored_schema() -> Obj:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def _walk(value: Any, kind: str, path: str, definitions: dict[str, dict[str, str]],
          found: list[tuple[str, str]]) -> None:
    if kind == ANY or value is None:
        return
    if kind.startswith("[]"):
        if isinstance(value, list):
            for index, item in enumerate(value):
                _walk(item, kind[2:], f"{path}[{index}]", definitions, found)
        return
    if kind.startswith("{}"):
        if isinstance(value, dict):
            for key, item in value.items():
                _walk(item, kind[2:], f"{path}.{key}", definitions, found)
        return
    fields = definitions.get(kind)
    if fields is None or not isinstance(value, dict):
        return
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in fields:
            found.append((where, kind))
            continue
        _walk(item, fields[key], where, definitions, found)


def unknown_fields(obj: Obj) -> list[tuple[str, str]]:
    """(path, type holding it) of each field of ``obj`` its kind does not have, per the stored schema."""
    schema = stored_schema()
    root = schema["kinds"].get(f"{obj.get('apiVersion')}/{obj.get('kind')}")
    if root is None:
        return []
    found: list[tuple[str, str]] = []
    _walk(obj, root, "", schema["definitions"], found)
    return found


def _closest(path: str, holder: str | None) -> str:
    if holder is None:
        return ""
    known = list(stored_schema()["definitions"].get(holder, {}))
    name = path.rsplit(".", 1)[-1]
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (faute de frappe{NBSP}? le champ connu le plus proche est `{match[0]}`)" if match else ""


def _holder(obj: Obj, path: str) -> str | None:
    """The type that should hold the field at ``path`` (for a suggestion), from the stored schema."""
    return next((holder for where, holder in unknown_fields(obj) if where == path), None)


# --- the checks ------------------------------------------------------------------------------------------

ServerCheck = Callable[[Obj], list[str]]
"""Ask an API server for an object's unknown fields (``kubelab.api_schema.strict_dry_run``)."""


def problems(manifests: list[tuple[str, Obj]], server: ServerCheck | None = None) -> list[str]:
    """One French line per unknown field of the manifests (``(file, object)``), as the cluster would refuse them:
    asked to ``server`` when given, else found with the stored schema."""
    lines = []
    for source, obj in manifests:
        paths = server(obj) if server is not None else [path for path, _ in unknown_fields(obj)]
        who = f"{obj.get('kind')} {quote((obj.get('metadata') or {}).get('name', '?'))}"
        for path in paths:
            lines.append(f"{quote(source)}, {who}{NBSP}: champ inconnu `{path}`{_closest(path, _holder(obj, path))}")
    return lines
