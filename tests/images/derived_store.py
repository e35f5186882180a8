"""A copy of the store with extra references whose image config differs (the user, for instance).

Kubernetes' ``runAsUser``/``runAsGroup`` replace the image's ``User``; ``ctr run`` has no such
option, so a test that starts an image as a non-root user pulls the same layer under a new
reference whose config says ``User: 999:999``, which containerd applies exactly as the kubelet
would apply the pod's security context.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubelab.sandbox.images import ImageStore
from kubelab.sandbox.images.oci_layout import (
    CONFIG,
    MANIFEST,
    Descriptor,
    blob_path,
    canonical_json,
    read_index,
    write_blob,
    write_index,
)


def derive(store: ImageStore, target: Path, variants: Mapping[str, tuple[str, dict[str, Any]]]) -> ImageStore:
    """``target``: the store's blobs (hard links) plus ``new reference -> (source, config changes)``."""
    for blob in (store.root / "blobs" / "sha256").iterdir():
        destination = blob_path(target, f"sha256:{blob.name}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.link(blob, destination)
    tagged = read_index(store.root)
    for reference, (source, changes) in variants.items():
        descriptor = store.lookup(source)
        assert descriptor is not None, source
        manifest = json.loads(store.manifest_bytes(descriptor))
        config = json.loads(blob_path(store.root, manifest["config"]["digest"]).read_bytes())
        config["config"].update(changes)
        manifest["config"] = write_blob(target, canonical_json(config), CONFIG).to_json()
        written = write_blob(target, canonical_json(manifest), MANIFEST)
        tagged.append((reference, Descriptor(media_type=MANIFEST, digest=written.digest, size=written.size)))
    write_index(target, tagged)
    return ImageStore.open(target)
