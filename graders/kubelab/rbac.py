"""Who an RBAC binding's subjects designate, read the way the API server's authorizer reads them.

Kubernetes (``appliesToUser`` in the RBAC authorizer): a ``User`` subject matches the user's
name, a ``Group`` subject one of the user's groups, a ``ServiceAccount`` subject the user
``system:serviceaccount:<namespace>:<name>``, where a missing ``namespace`` means the
RoleBinding's own namespace (a ClusterRoleBinding has none, so such a subject matches nobody).
A ServiceAccount's token authenticates it with the groups ``system:serviceaccounts``,
``system:serviceaccounts:<namespace>`` and ``system:authenticated``.

What a subject is *allowed* to do is the API server's answer (SubjectAccessReview): these
helpers only say who a binding names, for messages and for the checks that read bindings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"
AUTHENTICATED = "system:authenticated"
BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping"


@dataclass(frozen=True)
class Identity:
    """A user as the authorizer sees it: a name and groups."""

    user: str
    groups: tuple[str, ...] = ()


def service_account(namespace: str, name: str) -> Identity:
    """The identity a ServiceAccount's token authenticates as."""
    return Identity(f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}",
                    (ALL_SERVICE_ACCOUNTS, f"{ALL_SERVICE_ACCOUNTS}:{namespace}", AUTHENTICATED))


def binding_namespace(binding: Obj) -> str | None:
    """The namespace of a RoleBinding, ``None`` for a ClusterRoleBinding."""
    if binding.get("kind") == "ClusterRoleBinding":
        return None
    return (binding.get("metadata") or {}).get("namespace") or None


def subject_applies(subject: Obj, identity: Identity, namespace: str | None) -> bool:
    """Does ``subject`` of a binding in ``namespace`` (``None``: cluster-wide) designate ``identity``?"""
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return name == identity.user
    if kind == "Group":
        return name in identity.groups
    if kind == "ServiceAccount":
        account_namespace = subject.get("namespace") or namespace
        return bool(account_namespace) and identity.user == f"{SERVICE_ACCOUNT_PREFIX}{account_namespace}:{name}"
    return False


def names_individually(subject: Obj, identity: Identity, namespace: str | None) -> bool:
    """Does ``subject`` designate ``identity`` by its own name (a User or ServiceAccount, not a group)?"""
    return subject.get("kind") in ("User", "ServiceAccount") and subject_applies(subject, identity, namespace)


def binding_applies(binding: Obj, identity: Identity) -> bool:
    """Does one of the binding's subjects designate ``identity``?"""
    namespace = binding_namespace(binding)
    return any(subject_applies(s, identity, namespace) for s in binding.get("subjects") or [])


def is_default_binding(binding: Obj) -> bool:
    """A binding the API server creates itself (``kubernetes.io/bootstrapping: rbac-defaults``)."""
    return ((binding.get("metadata") or {}).get("labels") or {}).get(BOOTSTRAP_LABEL) == "rbac-defaults"


def subject_text(subject: Obj, namespace: str | None) -> str:
    """How a subject reads in a French message: « ServiceAccount `ns/nom` », « Group `system:…` »."""
    kind, name = subject.get("kind", "?"), subject.get("name", "?")
    if kind == "ServiceAccount":
        account_namespace = subject.get("namespace") or namespace
        return f"ServiceAccount `{account_namespace}/{name}`" if account_namespace else \
            f"ServiceAccount `{name}` (sans namespace)"
    if kind == "Group" and name == AUTHENTICATED:
        return f"Group `{name}` (tout utilisateur authentifié)"
    if kind == "Group" and name == ALL_SERVICE_ACCOUNTS:
        return f"Group `{name}` (tous les comptes de service du cluster)"
    if kind == "Group" and name.startswith(f"{ALL_SERVICE_ACCOUNTS}:"):
        return f"Group `{name}` (tous les comptes de service de `{name.rsplit(':', 1)[-1]}`)"
    return f"{kind} `{name}`"
