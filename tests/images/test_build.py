"""The catalog and the builder: what the store holds, how it is keyed, cached and reproduced."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import socket
import tarfile
from pathlib import Path

import pytest

from kubelab.errors import UsageError
from kubelab.paths import cache_root
from kubelab.sandbox.images import ImageStore, build_images, ensure_images, load_catalog
from kubelab.sandbox.images import builder as builder_module
from kubelab.sandbox.images.oci_layout import blob_path
from kubelab.sandbox.images.references import parse
from tests.helpers import REPO

# Images a lab names that the store does not hold, on purpose or for want of a source.
NOT_IN_STORE = {
    "registry.corp.invalid/library/busybox:1.37": "lab 10: an image that must fail to pull",
    "docker.io/library/postgres:16": "lab 06 mutant: a PostgreSQL version the statement does not ask for",
    "docker.io/library/postgres:18": "lab 03 mutant: a PostgreSQL version the statement does not ask for",
    "docker.io/library/reddis:7-alpine": "lab 06 mutant: a misspelt image that no registry serves",
    "registry.lab.invalid/nginx:1.27": "a mutant's image from a registry that does not exist",
}


REAL_CACHE = cache_root()


def lab_images() -> set[str]:
    found = set()
    for path in (REPO / "labs").rglob("*.yaml"):
        for match in re.finditer(r"^\s*(?:-\s*)?image:\s*[\"']?([^\s\"']+)", path.read_text(), re.M):
            found.add(str(parse(match.group(1))))
    return found


def config_of(store: ImageStore, reference: str) -> dict:
    descriptor = store.lookup(reference)
    assert descriptor is not None, reference
    manifest = json.loads(store.manifest_bytes(descriptor))
    return json.loads(blob_path(store.root, manifest["config"]["digest"]).read_bytes())


def layer_of(store: ImageStore, reference: str) -> Path:
    descriptor = store.lookup(reference)
    assert descriptor is not None, reference
    manifest = json.loads(store.manifest_bytes(descriptor))
    return blob_path(store.root, manifest["layers"][0]["digest"])


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty machine cache, sharing only the downloads (packages and indexes, by digest) of the real one."""
    monkeypatch.setenv("KUBELAB_CACHE", str(tmp_path / "cache"))
    _share_downloads(tmp_path / "cache")
    return tmp_path / "cache"


def _share_downloads(cache: Path) -> None:
    (cache / "images").mkdir(parents=True)
    for name in ("debs", "indexes"):
        real = REAL_CACHE / "images" / name
        if real.is_dir():
            os.symlink(real, cache / "images" / name)


def test_every_image_a_lab_deploys_is_in_the_store(image_store: ImageStore) -> None:
    wanted = lab_images() - set(NOT_IN_STORE)
    if "agnhost" not in " ".join(image_store.references):
        wanted.discard("registry.k8s.io/e2e-test-images/agnhost:2.53")
    missing = sorted(reference for reference in wanted if image_store.lookup(reference) is None)
    assert not missing, f"images des labs absentes du magasin : {missing}"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("nginx", "docker.io/library/nginx:latest"),
        ("nginx:1.27", "docker.io/library/nginx:1.27"),
        ("docker.io/library/nginx:1.27", "docker.io/library/nginx:1.27"),
        ("nginxinc/nginx-unprivileged:1.27", "docker.io/nginxinc/nginx-unprivileged:1.27"),
        ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
    ],
)
def test_references_are_named_as_containerd_names_them(text: str, canonical: str) -> None:
    assert str(parse(text)) == canonical


def test_the_store_holds_each_catalog_reference(image_store: ImageStore) -> None:
    for spec in load_catalog().images:
        if spec.optional and spec.name == "agnhost" and image_store.lookup(spec.references[0]) is None:
            continue
        for reference in spec.references:
            assert image_store.lookup(reference) is not None, reference
    assert image_store.lookup("nginx:1.25") is None
    assert image_store.lookup("not a reference") is None


def test_tags_of_one_image_share_one_manifest(image_store: ImageStore) -> None:
    digests = {image_store.lookup(tag).digest for tag in ("busybox:1.36", "busybox:1.37", "busybox:latest")}
    assert len(digests) == 1


def test_images_say_they_are_stand_ins_and_what_is_inside(image_store: ImageStore) -> None:
    postgres = config_of(image_store, "postgres:17")["config"]
    assert postgres["Labels"]["io.kubelab.stand-in"] == "true"
    inside = postgres["Labels"]["io.kubelab.inside"]
    assert re.search(r"postgresql-17 17\.\d+-\S+ \(Debian trixie\)", inside), inside
    version = dict(item.split("=", 1) for item in postgres["Env"])["PG_VERSION"]
    assert f"postgresql-17 {version} " in inside
    assert postgres["Entrypoint"] == ["docker-entrypoint.sh"] and postgres["Cmd"] == ["postgres"]
    assert postgres["ExposedPorts"] == {"5432/tcp": {}} and "User" not in postgres
    assert "PGDATA=/var/lib/postgresql/data" in postgres["Env"]
    unprivileged = config_of(image_store, "nginxinc/nginx-unprivileged:1.27")["config"]
    assert unprivileged["User"] == "101" and unprivileged["ExposedPorts"] == {"8080/tcp": {}}
    assert unprivileged["Cmd"] == ["nginx", "-g", "daemon off;"]
    redis = config_of(image_store, "redis:7")["config"]
    assert redis["WorkingDir"] == "/data" and "redis-tools 5:7." in redis["Labels"]["io.kubelab.inside"]
    pause = config_of(image_store, "registry.k8s.io/pause:3.10")
    assert pause["config"]["Entrypoint"] == ["/pause"] and pause["config"]["User"] == "65535:65535"
    assert (pause["architecture"], pause["os"]) == ("amd64", "linux")


def test_layers_are_reproducible_tars(image_store: ImageStore) -> None:
    layer = layer_of(image_store, "busybox:1.37")
    header = layer.read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0", "no time in the gzip header"
    with gzip.open(layer) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
        members = list(tar)
    names = [member.name for member in members]
    assert names == sorted(names, key=lambda name: name.split("/"))
    assert all(member.mtime == 0 and member.uname == "" and member.gname == "" for member in members)
    assert "usr/bin/busybox" in names and "etc/passwd" in names


def test_small_images_keep_only_what_is_needed(image_store: ImageStore) -> None:
    sizes = {reference: layer_of(image_store, reference).stat().st_size for reference in
             ("busybox:1.37", "nginx:1.27", "redis:7", "postgres:17")}
    assert sizes["busybox:1.37"] < 3_000_000
    assert sizes["nginx:1.27"] < 15_000_000
    assert sizes["redis:7"] < 20_000_000
    assert sizes["postgres:17"] < 60_000_000
    with gzip.open(layer_of(image_store, "postgres:17")) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
        names = {member.name for member in tar}
    assert "usr/lib/postgresql/17/bin/pg_isready" in names and "usr/lib/postgresql/17/bin/psql" in names
    assert not any(name.startswith(("usr/share/doc/", "usr/bin/perl", "usr/lib/x86_64-linux-gnu/libLLVM"))
                   for name in names)


def test_a_warm_call_uses_no_network(
    image_store: ImageStore, binaries: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network used on a warm call")

    monkeypatch.setenv("KUBELAB_DEBIAN_MIRROR", "http://127.0.0.1:9/debian")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert ensure_images(print, binaries) == image_store
    if "agnhost" not in binaries:
        assert ensure_images(print, {**binaries, "agnhost": None}) == image_store


def test_a_missing_binary_is_a_french_usage_error(binaries: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="« coredns »"):
        ensure_images(print, {"pause": binaries["pause"]})
    with pytest.raises(UsageError, match=r"« pause » \(.*absent\) est illisible"):
        ensure_images(print, {"pause": tmp_path / "absent", "coredns": binaries["coredns"],
                              "busybox": binaries["busybox"]})


def test_two_builds_from_scratch_give_the_same_digests(
    fresh_cache: Path, binaries: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = {image.name: image.manifest.digest for image in build_images(print, binaries, ("busybox", "pause"))}
    monkeypatch.setenv("KUBELAB_CACHE", str(fresh_cache.parent / "second"))
    _share_downloads(fresh_cache.parent / "second")
    second = {image.name: image.manifest.digest for image in build_images(print, binaries, ("busybox", "pause"))}
    assert first == second


def test_agnhost_is_built_only_when_its_binary_is_given(
    fresh_cache: Path, image_store: ImageStore, binaries: dict[str, Path]
) -> None:
    without = {key: path for key, path in binaries.items() if key != "agnhost"}
    assert [image.name for image in build_images(print, without, ("agnhost",))] == []
    built = build_images(print, {**without, "agnhost": binaries["pause"]}, ("agnhost",))
    with_agnhost = ImageStore.open(built[0].layout)
    assert with_agnhost.references == ("registry.k8s.io/e2e-test-images/agnhost:2.53",)
    config = config_of(with_agnhost, "registry.k8s.io/e2e-test-images/agnhost:2.53")["config"]
    assert config["Entrypoint"] == ["/agnhost"] and config["Cmd"] == ["pause"]


def test_an_interrupted_build_leaves_nothing_half_written(
    fresh_cache: Path, binaries: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("interrupted")

    monkeypatch.setattr(builder_module, "write_index", broken)
    with pytest.raises(RuntimeError):
        build_images(print, binaries, ("pause",))
    images = fresh_cache / "images"
    assert not (images / "image").exists() or not any((images / "image").iterdir())
    assert not (images / "recipes").exists() or not any((images / "recipes").iterdir())
    monkeypatch.undo()
    monkeypatch.setenv("KUBELAB_CACHE", str(fresh_cache))
    built = build_images(print, binaries, ("pause",))
    assert [image.name for image in built] == ["pause"]
    assert not any((images / "staging").iterdir())


def test_a_changed_binary_is_hashed_again(fresh_cache: Path, binaries: dict[str, Path], tmp_path: Path) -> None:
    """The remembered sha256 of a binary serves only while its size, times and inode are unchanged."""
    pause = tmp_path / "pause"
    pause.write_bytes(binaries["pause"].read_bytes())
    catalog = load_catalog()
    given = {"pause": pause, "coredns": binaries["coredns"], "busybox": binaries["busybox"]}
    first = builder_module._binary_digests(catalog, given)["pause"]
    assert builder_module._binary_digests(catalog, given)["pause"] == first
    with open(pause, "ab") as out:
        out.write(b"\0")
    second = builder_module._binary_digests(catalog, given)["pause"]
    assert second != first
    assert second == hashlib.sha256(pause.read_bytes()).hexdigest()
