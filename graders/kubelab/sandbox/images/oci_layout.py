"""Write OCI image layouts: content-addressed blobs, image configs, manifests, an index.

Every blob is written through :func:`write_blob`, which names the file after the sha256 of
the bytes it writes, so a descriptor's digest and the blob's content cannot disagree.
JSON documents are canonical (sorted keys, no spaces) and the layer's gzip header carries
no name and no time: the same tree gives the same digests.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubelab.sandbox.images.filetree import FileTree

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            document["annotations"] = dict(sorted(self.annotations.items()))
        return document


@dataclass(frozen=True)
class WrittenImage:
    manifest: Descriptor
    layer_size: int
    uncompressed_size: int


def canonical_json(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def blob_path(layout: Path, digest: str) -> Path:
    algorithm, hexdigest = digest.split(":", 1)
    return layout / "blobs" / algorithm / hexdigest


def write_blob(layout: Path, data: bytes, media_type: str) -> Descriptor:
    """Store ``data`` under its own sha256 and describe it."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    target = blob_path(layout, digest)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(prefix=".blob-", dir=target.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    return Descriptor(media_type=media_type, digest=digest, size=len(data))


def write_image(layout: Path, tree: FileTree, config: dict[str, Any], annotations: dict[str, str]) -> WrittenImage:
    """One single-layer linux/amd64 image: layer, config (``rootfs`` filled in), manifest."""
    raw = io.BytesIO()
    tree.write_tar(raw)
    tar = raw.getvalue()
    compressed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, compresslevel=GZIP_LEVEL, mtime=0) as out:
        out.write(tar)
    layer = write_blob(layout, compressed.getvalue(), LAYER_GZIP)
    document = dict(config, rootfs={"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]})
    config_descriptor = write_blob(layout, canonical_json(document), CONFIG)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": config_descriptor.to_json(),
        "layers": [layer.to_json()],
        "annotations": dict(sorted(annotations.items())),
    }
    return WrittenImage(
        manifest=write_blob(layout, canonical_json(manifest), MANIFEST),
        layer_size=layer.size,
        uncompressed_size=len(tar),
    )


def write_index(layout: Path, tagged: list[tuple[str, Descriptor]]) -> None:
    """``index.json`` and ``oci-layout``: one entry per reference, named for OCI tools and containerd."""
    manifests = []
    for reference, descriptor in sorted(tagged, key=lambda item: item[0]):
        entry = descriptor.to_json()
        entry["annotations"] = {CONTAINERD_NAME: reference, REF_NAME: reference}
        entry["platform"] = {"architecture": "amd64", "os": "linux"}
        manifests.append(entry)
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests}
    (layout / "index.json").write_bytes(canonical_json(index))
    (layout / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))


def read_index(layout: Path) -> list[tuple[str, Descriptor]]:
    index = json.loads((layout / "index.json").read_bytes())
    found = []
    for entry in index.get("manifests", []):
        name = entry.get("annotations", {}).get(CONTAINERD_NAME)
        if name:
            found.append((name, Descriptor(media_type=entry["mediaType"], digest=entry["digest"], size=entry["size"])))
    return found
