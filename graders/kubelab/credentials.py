"""A credentials Secret a lab asks for: it exists and has the expected keys.

Only key names are compared: a sanitised Secret (live or from a snapshot) has no values.
"""

from __future__ import annotations

from collections.abc import Sequence

from kubelab.checks import ObjectRef, Verdict, failed, passed
from kubelab.cluster_state import ClusterState, secret_keys
from kubelab.objects import listing


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
