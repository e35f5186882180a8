"""Image references in their canonical form, as containerd names them.

``nginx:1.27`` is ``docker.io/library/nginx:1.27``; a first component with a dot, a colon or
``localhost`` is a registry host; a missing tag is ``latest``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_HOST = "docker.io"
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True, order=True)
class Reference:
    """A canonical reference: ``host/path:tag`` (host included, ``library/`` added on Docker Hub)."""

    host: str
    path: str
    tag: str

    @property
    def repository(self) -> str:
        return f"{self.host}/{self.path}"

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}"


def _is_host(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


def repository_name(name: str, upstream_host: str | None = None) -> str | None:
    """``host/path`` for a repository name as a registry request carries it, else ``None``.

    ``upstream_host`` is the ``ns`` query parameter containerd adds when it uses a mirror; without it
    a name whose first component is a host is taken as full, and any other as a Docker Hub name.
    """
    parts = name.split("/")
    if not parts or not all(parts):
        return None
    if upstream_host:
        host = upstream_host
        if parts[0] == upstream_host:
            parts = parts[1:]
    elif _is_host(parts[0]):
        host, parts = parts[0], parts[1:]
    else:
        host = DEFAULT_HOST
    if host == "index.docker.io" or host == "registry-1.docker.io":
        host = DEFAULT_HOST
    if not parts or not all(_COMPONENT.match(part) for part in parts):
        return None
    if host == DEFAULT_HOST and len(parts) == 1:
        parts = ["library", *parts]
    return f"{host}/{'/'.join(parts)}"


def parse(text: str) -> Reference:
    """The canonical form of ``text`` (``nginx``, ``nginx:1.27``, ``registry.k8s.io/pause:3.10``).

    Raises ``ValueError`` for a reference with a digest or an invalid name or tag.
    """
    if "@" in text:
        raise ValueError(f"référence avec empreinte non prise en charge : {text}")
    name, tag = text, "latest"
    last = text.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = text.rsplit(":", 1)
    repository = repository_name(name)
    if repository is None or not _TAG.match(tag):
        raise ValueError(f"référence d'image invalide : {text}")
    host, path = repository.split("/", 1)
    return Reference(host=host, path=path, tag=tag)


def is_digest(text: str) -> bool:
    return bool(_DIGEST.match(text))


def is_tag(text: str) -> bool:
    return bool(_TAG.match(text))
