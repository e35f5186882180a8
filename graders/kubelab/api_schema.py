"""The API server's own view of manifest fields: its OpenAPI v3, and a strict dry run.

``fetch`` turns the OpenAPI v3 of the group-versions the reachability matrix reads into the
compact document stored in ``kubelab/netpol/data/api-fields.json`` (``kubelab.netpol.fields``),
and ``strict_dry_run`` asks the API server which fields of an object it does not know: a
dry-run create with ``fieldValidation=Strict``, which writes nothing.

Regenerate the stored fields: ``python -m kubelab.api_schema --kubeconfig FILE``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from kubelab.kube_api import ApiError, KubeApi
from kubelab.netpol import fields

Obj = dict[str, Any]
_UNKNOWN = re.compile(r'unknown field "([^"]+)"')


def fetch(api: KubeApi) -> Obj:
    """The stored-fields document of the API server ``api`` talks to."""
    schemas: dict[str, Obj] = {}
    for group_version in fields.GROUP_VERSIONS:
        schemas.update(api.request("GET", f"/openapi/v3/{group_version}")["components"]["schemas"])
    return fields.document(schemas, str(api.server_version().get("gitVersion", "")))


def strict_dry_run(api: KubeApi) -> fields.ServerCheck:
    """The unknown fields of an object, as the API server reports them (nothing is written)."""

    def ask(obj: Obj) -> list[str]:
        info = api.resource(obj["apiVersion"], obj["kind"])
        namespace = (obj.get("metadata") or {}).get("namespace") if info.namespaced else None
        try:
            api.request("POST", info.path(namespace), body=obj, query={"dryRun": "All", "fieldValidation": "Strict"})
        except ApiError as exc:
            if exc.status in (404, 409):  # namespace absent, object already there: its fields were decoded fine
                return []
            if exc.status == 400:
                return _UNKNOWN.findall(str(exc.body.get("message", "")))
            raise
        return []

    return ask


def main(argv: list[str] | None = None) -> int:
    """Regenerate ``kubelab/netpol/data/api-fields.json`` from a cluster."""
    parser = argparse.ArgumentParser(description="Extrait les champs de l'API Kubernetes (OpenAPI v3) d'un cluster.")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--output", default=str(fields.SCHEMA_FILE))
    args = parser.parse_args(argv)
    api = KubeApi.from_kubeconfig(args.kubeconfig)
    try:
        document = fetch(api)
    finally:
        api.close()
    Path(args.output).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(document['definitions'])} types écrits dans {args.output} (Kubernetes {document['kubernetes']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
