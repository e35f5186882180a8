"""A finished image store: one OCI image layout holding every reference of the catalog.

``ImageStore(root, references)`` is what :func:`ensure_images` returns and what the registry
serves. Names are canonical (``docker.io/library/nginx``); :meth:`ImageStore.lookup` accepts
any spelling (``nginx:1.27``, ``docker.io/library/nginx:1.27``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from kubelab.sandbox.images import references as refs
from kubelab.sandbox.images.oci_layout import Descriptor, blob_path, read_index


@dataclass(frozen=True)
class ImageStore:
    root: Path
    references: tuple[str, ...]

    @classmethod
    def open(cls, root: Path) -> ImageStore:
        """The store of the layout at ``root`` (its ``index.json`` names the references)."""
        tagged = read_index(root)
        return cls(root=root, references=tuple(sorted(name for name, _ in tagged)))

    @cached_property
    def _tags(self) -> dict[str, Descriptor]:
        return dict(read_index(self.root))

    @cached_property
    def _repositories(self) -> dict[str, dict[str, Descriptor]]:
        grouped: dict[str, dict[str, Descriptor]] = {}
        for name, descriptor in self._tags.items():
            repository, tag = name.rsplit(":", 1)
            grouped.setdefault(repository, {})[tag] = descriptor
        return grouped

    @cached_property
    def _blobs_of(self) -> dict[str, frozenset[str]]:
        """Per repository, the digests of the blobs its manifests reference (config and layers)."""
        blobs: dict[str, frozenset[str]] = {}
        for repository, tags in self._repositories.items():
            digests: set[str] = set()
            for descriptor in tags.values():
                manifest = json.loads(blob_path(self.root, descriptor.digest).read_bytes())
                digests.add(manifest["config"]["digest"])
                digests.update(layer["digest"] for layer in manifest["layers"])
            blobs[repository] = frozenset(digests)
        return blobs

    def lookup(self, reference: str) -> Descriptor | None:
        """The manifest descriptor ``reference`` names, or ``None`` (unknown or malformed)."""
        try:
            parsed = refs.parse(reference)
        except ValueError:
            return None
        return self._tags.get(str(parsed))

    def has_repository(self, repository: str) -> bool:
        return repository in self._repositories

    def manifest(self, repository: str, tag_or_digest: str) -> Descriptor | None:
        """The manifest of ``repository`` (canonical) with that tag or digest."""
        tags = self._repositories.get(repository, {})
        if refs.is_digest(tag_or_digest):
            return next((item for item in tags.values() if item.digest == tag_or_digest), None)
        return tags.get(tag_or_digest)

    def blob(self, repository: str, digest: str) -> Path | None:
        """The file of a blob that one of ``repository``'s manifests references."""
        if not refs.is_digest(digest):
            return None
        if digest not in self._blobs_of.get(repository, frozenset()) and self.manifest(repository, digest) is None:
            return None
        path = blob_path(self.root, digest)
        return path if path.is_file() else None

    def manifest_bytes(self, descriptor: Descriptor) -> bytes:
        return blob_path(self.root, descriptor.digest).read_bytes()
