"""Build the catalog's images once per machine and keep them in the machine-wide cache.

Layout under ``cache_root()/images``:

- ``image/<image key>/``: one OCI layout per image, keyed by its catalog entry, the files it
  names, the caller's binaries (sha256) and the exact Debian packages (version and sha256);
- ``recipes/<recipe key>.json``: from a catalog entry and binaries to the image key, so a
  warm call needs no network (the Debian versions were resolved when the image was built);
- ``<store key>/``: the store, one layout with every reference, its blobs hard links to the
  images' blobs;
- ``debs/``, ``indexes/``: downloaded packages and indexes, by digest;
- ``binary-digests.json``: the caller's binaries' sha256, reused while their size, times and
  inode are unchanged.

Each image and the store are written into ``staging/`` and renamed into place only when
complete, under a file lock, as ``kubelab.sandbox.build`` does for the binaries.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kubelab.errors import UsageError
from kubelab.paths import cache_root
from kubelab.sandbox.images import debian_mirror
from kubelab.sandbox.images.catalog import Catalog, ImageSpec, load_catalog
from kubelab.sandbox.images.debian_packages import PackageIndex
from kubelab.sandbox.images.image_config import build_config
from kubelab.sandbox.images.oci_layout import Descriptor, blob_path, read_index, write_image, write_index
from kubelab.sandbox.images.package_plan import plan_packages, suites_needed
from kubelab.sandbox.images.rootfs import assemble
from kubelab.sandbox.images.store import ImageStore
from kubelab.typography import french

Progress = Callable[[str], None]
# Bump when the builder writes different bytes for the same inputs.
BUILDER_VERSION = "1"
IMAGE_METADATA = "image.json"
STORE_METADATA = "store.json"
DIGESTS_FILE = "binary-digests.json"


@dataclass(frozen=True)
class BuiltImage:
    """An image in the cache and what it is made of (``image.json`` of its layout)."""

    name: str
    key: str
    layout: Path
    references: tuple[str, ...]
    metadata: dict

    @property
    def manifest(self) -> Descriptor:
        return read_index(self.layout)[0][1]


def images_cache() -> Path:
    return cache_root() / "images"


def ensure_images(progress: Progress, binaries: Mapping[str, Path | None]) -> ImageStore:
    """The store of every catalog image, built first where the cache lacks it.

    ``binaries`` maps the catalog's binary keys (``pause``, ``coredns``, optional ``agnhost``)
    to static executables; a key mapped to ``None`` counts as not given. A warm call reads only
    the cache: no network, no Debian index.
    """
    catalog = load_catalog()
    given = _given(binaries)
    digests = _binary_digests(catalog, given)
    specs = [spec for spec in catalog.images if all(binary.key in digests for binary in spec.binaries)]
    images = [_cached_image(spec, digests) for spec in specs]
    if all(image is not None for image in images):
        store = _cached_store([image for image in images if image is not None])
        if store is not None:
            return store
    with _lock():
        built = [_cached_image(spec, digests) or _build_image(spec, given, digests, progress) for spec in specs]
        return _cached_store(built) or _write_store(built, progress)


def build_images(
    progress: Progress, binaries: Mapping[str, Path | None], names: tuple[str, ...] | None = None
) -> list[BuiltImage]:
    """Build (or take from the cache) the named images, or all of them; used by the benchmark."""
    catalog = load_catalog()
    given = _given(binaries)
    digests = _binary_digests(catalog, given)
    chosen = [
        spec for spec in catalog.images
        if (names is None or spec.name in names) and all(binary.key in digests for binary in spec.binaries)
    ]
    with _lock():
        return [_cached_image(spec, digests) or _build_image(spec, given, digests, progress) for spec in chosen]


def _given(binaries: Mapping[str, Path | None]) -> dict[str, Path]:
    return {key: Path(path) for key, path in binaries.items() if path is not None}


def _binary_digests(catalog: Catalog, binaries: Mapping[str, Path]) -> dict[str, str]:
    """sha256 of each binary the catalog uses; a required one missing is a usage error."""
    wanted = {binary.key: spec for spec in catalog.images for binary in spec.binaries}
    missing = sorted(key for key, spec in wanted.items() if key not in binaries and not spec.optional)
    if missing:
        raise UsageError(
            f"Images : les binaires {', '.join(f'« {key} »' for key in missing)} sont nécessaires "
            "(exécutables statiques à emballer comme images)."
        )
    known = _known_digests()
    digests = {}
    for key in sorted(set(wanted) & set(binaries)):
        path = Path(binaries[key])
        try:
            stat = path.stat()
            identity = [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]
            cached = known.get(str(path.resolve()))
            if cached is not None and cached[:4] == identity:
                digests[key] = cached[4]
                continue
            with open(path, "rb") as handle:
                digests[key] = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as exc:
            raise UsageError(f"Images : le binaire « {key} » ({path}) est illisible : {exc.strerror}.") from exc
        known[str(path.resolve())] = [*identity, digests[key]]
        _remember_digests(known)
    return digests


def _known_digests() -> dict[str, list]:
    """sha256 of binaries already hashed, with the size, times and inode they had then."""
    try:
        return dict(json.loads((images_cache() / DIGESTS_FILE).read_text()))
    except (OSError, ValueError):
        return {}


def _remember_digests(known: dict[str, list]) -> None:
    images_cache().mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=".digests-", dir=images_cache())
    with os.fdopen(handle, "w") as out:
        json.dump(known, out, sort_keys=True)
    os.replace(partial, images_cache() / DIGESTS_FILE)


def _recipe_key(spec: ImageSpec, digests: Mapping[str, str]) -> str:
    parts = [BUILDER_VERSION, spec.fingerprint()] + [f"{b.key}={digests[b.key]}" for b in spec.binaries]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _cached_image(spec: ImageSpec, digests: Mapping[str, str]) -> BuiltImage | None:
    pointer = images_cache() / "recipes" / f"{_recipe_key(spec, digests)}.json"
    try:
        key = json.loads(pointer.read_text())["image"]
        layout = images_cache() / "image" / key
        metadata = json.loads((layout / IMAGE_METADATA).read_text())
    except (OSError, ValueError, KeyError):
        return None
    return BuiltImage(name=spec.name, key=key, layout=layout, references=spec.canonical_references, metadata=metadata)


@contextmanager
def _lock() -> Iterator[None]:
    images_cache().mkdir(parents=True, exist_ok=True)
    with open(images_cache() / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.rmtree(images_cache() / "staging", ignore_errors=True)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


_INDEXES: dict[str, PackageIndex] = {}


def load_indexes(progress: Progress, suites: tuple[str, ...]) -> None:
    """Fetch and parse the Debian indexes of ``suites`` now (kept for this process's builds)."""
    for suite in suites:
        if suite not in _INDEXES:
            _INDEXES[suite] = debian_mirror.fetch_index(suite, images_cache() / "indexes", progress)


def _indexes(spec: ImageSpec, progress: Progress) -> dict[str, PackageIndex]:
    load_indexes(progress, tuple(sorted(suites_needed(spec))))
    return _INDEXES


def _build_image(
    spec: ImageSpec, binaries: Mapping[str, Path], digests: Mapping[str, str], progress: Progress
) -> BuiltImage:
    started = time.monotonic()
    recipe = _recipe_key(spec, digests)
    planned = plan_packages(spec, _indexes(spec, progress)) if spec.packages or spec.busybox_applets else []
    pins = [item.pin() for item in planned]
    key = hashlib.sha256(json.dumps({"recipe": recipe, "packages": pins}, sort_keys=True).encode()).hexdigest()
    final = images_cache() / "image" / key
    if not (final / IMAGE_METADATA).is_file():
        progress(french(f"Image « {spec.name} » : {len(planned)} paquets Debian, construction…"))
        debs = {item.record.sha256: debian_mirror.fetch_deb(item.record, images_cache() / "debs") for item in planned}
        tree = assemble(spec, planned, debs, binaries)
        config, annotations = build_config(spec, planned, digests)
        with _staging("image-") as staging:
            written = write_image(staging, tree, config, annotations)
            write_index(staging, [(reference, written.manifest) for reference in spec.canonical_references])
            metadata: dict[str, object] = {
                "name": spec.name,
                "references": list(spec.canonical_references),
                "packages": pins,
                "binaries": {binary.key: digests[binary.key] for binary in spec.binaries},
                "manifest": written.manifest.digest,
                "compressed_bytes": written.layer_size,
                "uncompressed_bytes": written.uncompressed_size,
                "build_seconds": round(time.monotonic() - started, 2),
            }
            (staging / IMAGE_METADATA).write_text(json.dumps(metadata, indent=2, sort_keys=True))
            _move_into_place(staging, final)
        progress(french(
            f"Image « {spec.name} » prête : {written.layer_size / 1e6:.1f} Mo compressés "
            f"({written.uncompressed_size / 1e6:.1f} Mo), {time.monotonic() - started:.1f} s."
        ))
    recipes = images_cache() / "recipes"
    recipes.mkdir(parents=True, exist_ok=True)
    (recipes / f"{recipe}.json").write_text(json.dumps({"image": key, "name": spec.name}))
    found = _cached_image(spec, digests)
    assert found is not None
    return found


def _store_key(images: list[BuiltImage]) -> str:
    return hashlib.sha256("\n".join(sorted(image.key for image in images)).encode()).hexdigest()


def _cached_store(images: list[BuiltImage]) -> ImageStore | None:
    root = images_cache() / _store_key(images)
    try:
        metadata = json.loads((root / STORE_METADATA).read_text())
    except (OSError, ValueError):
        return None
    return ImageStore(root=root, references=tuple(metadata["references"]))


def _write_store(images: list[BuiltImage], progress: Progress) -> ImageStore:
    tagged: list[tuple[str, Descriptor]] = []
    final = images_cache() / _store_key(images)
    with _staging("store-") as staging:
        for image in images:
            tagged += read_index(image.layout)
            for blob in sorted((image.layout / "blobs" / "sha256").iterdir()):
                target = blob_path(staging, f"sha256:{blob.name}")
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    os.link(blob, target)
        write_index(staging, tagged)
        references = sorted(reference for reference, _ in tagged)
        metadata = {"images": {image.name: image.key for image in images}, "references": references}
        (staging / STORE_METADATA).write_text(json.dumps(metadata, indent=2, sort_keys=True))
        _move_into_place(staging, final)
    progress(french(f"Magasin d'images prêt : {len(references)} références dans {final}."))
    return ImageStore(root=final, references=tuple(references))


@contextmanager
def _staging(prefix: str) -> Iterator[Path]:
    """A fresh folder under ``staging/``, removed unless it was moved into place."""
    root = images_cache() / "staging"
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _move_into_place(staging: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)
