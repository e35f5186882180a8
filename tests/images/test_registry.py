"""The registry as containerd sees it: the read-only part of the OCI distribution API."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kubelab.sandbox.images import ImageStore
from kubelab.sandbox.images.oci_layout import blob_path
from tests.images.conftest import RegistryProcess, start_registry
from tests.images.private_containerd import scaled

MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json"


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=scaled(30)) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def error_code(body: bytes) -> str:
    return json.loads(body)["errors"][0]["code"]


def test_the_api_root_answers_200_with_the_distribution_header(registry: RegistryProcess) -> None:
    status, headers, _ = fetch(f"{registry.url}/v2/")
    assert status == 200
    assert headers["Docker-Distribution-API-Version"] == "registry/2.0"


@pytest.mark.parametrize(
    ("path", "reference"),
    [
        ("/v2/library/nginx/manifests/1.27?ns=docker.io", "nginx:1.27"),
        ("/v2/library/nginx/manifests/1.27", "nginx:1.27"),
        ("/v2/nginx/manifests/1.27", "nginx:1.27"),
        ("/v2/docker.io/library/nginx/manifests/1.27", "nginx:1.27"),
        ("/v2/pause/manifests/3.10?ns=registry.k8s.io", "registry.k8s.io/pause:3.10"),
        ("/v2/registry.k8s.io/pause/manifests/3.10.1", "registry.k8s.io/pause:3.10.1"),
        (
            "/v2/nginxinc/nginx-unprivileged/manifests/1.27-alpine?ns=docker.io",
            "nginxinc/nginx-unprivileged:1.27-alpine",
        ),
        ("/v2/coredns/coredns/manifests/1.12.0?ns=docker.io", "coredns/coredns:1.12.0"),
    ],
)
def test_a_manifest_is_served_with_its_media_type_and_digest(
    registry: RegistryProcess, image_store: ImageStore, path: str, reference: str
) -> None:
    descriptor = image_store.lookup(reference)
    assert descriptor is not None
    status, headers, body = fetch(registry.url + path)
    assert status == 200
    assert headers["Content-Type"] == MANIFEST_TYPES
    assert headers["Docker-Content-Digest"] == descriptor.digest
    assert "sha256:" + hashlib.sha256(body).hexdigest() == descriptor.digest
    head_status, head_headers, head_body = fetch(registry.url + path, method="HEAD")
    assert (head_status, head_body) == (200, b"")
    assert head_headers["Content-Length"] == str(len(body))
    by_digest = fetch(registry.url + path.split("/manifests/")[0] + f"/manifests/{descriptor.digest}"
                      + ("?" + path.split("?")[1] if "?" in path else ""))
    assert by_digest[0] == 200 and by_digest[2] == body


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/v2/pause/manifests/3.10", "NAME_UNKNOWN"),
        ("/v2/pause/manifests/3.10?ns=docker.io", "NAME_UNKNOWN"),
        ("/v2/library/nginx/manifests/1.27?ns=quay.io", "NAME_UNKNOWN"),
        ("/v2/library/mysql/manifests/8?ns=docker.io", "NAME_UNKNOWN"),
        ("/v2/library/nginx/manifests/1.25?ns=docker.io", "MANIFEST_UNKNOWN"),
        ("/v2/library/nginx/manifests/sha256:" + "0" * 64, "MANIFEST_UNKNOWN"),
        ("/v2/library/nginx/blobs/sha256:" + "0" * 64, "BLOB_UNKNOWN"),
        ("/v2/library/nginx/blobs/not-a-digest", "BLOB_UNKNOWN"),
        ("/v2/Invalid_Name/manifests/1", "NAME_UNKNOWN"),
        ("/v1/anything", "NAME_UNKNOWN"),
    ],
)
def test_unknown_names_tags_and_blobs_get_a_404_with_the_spec_error(
    registry: RegistryProcess, path: str, code: str
) -> None:
    status, headers, body = fetch(registry.url + path)
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert error_code(body) == code


def test_a_blob_of_another_repository_is_unknown_here(registry: RegistryProcess, image_store: ImageStore) -> None:
    manifest = json.loads(image_store.manifest_bytes(image_store.lookup("nginx:1.27")))
    layer = manifest["layers"][0]["digest"]
    assert fetch(f"{registry.url}/v2/library/nginx/blobs/{layer}", method="HEAD")[0] == 200
    status, _, body = fetch(f"{registry.url}/v2/library/redis/blobs/{layer}")
    assert (status, error_code(body)) == (404, "BLOB_UNKNOWN")


def test_blobs_are_served_whole_or_by_range(registry: RegistryProcess, image_store: ImageStore) -> None:
    manifest = json.loads(image_store.manifest_bytes(image_store.lookup("busybox:1.37")))
    digest = manifest["layers"][0]["digest"]
    whole = blob_path(image_store.root, digest).read_bytes()
    url = f"{registry.url}/v2/library/busybox/blobs/{digest}"
    status, headers, body = fetch(url)
    assert status == 200 and body == whole
    assert headers["Docker-Content-Digest"] == digest and headers["Accept-Ranges"] == "bytes"
    status, headers, body = fetch(url, headers={"Range": "bytes=100-199"})
    assert (status, body) == (206, whole[100:200])
    assert headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
    status, _, body = fetch(url, headers={"Range": "bytes=1000-"})
    assert (status, body) == (206, whole[1000:])
    status, _, body = fetch(url, headers={"Range": "bytes=-10"})
    assert (status, body) == (206, whole[-10:])
    status, headers, _ = fetch(url, headers={"Range": f"bytes={len(whole)}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(whole)}"


@pytest.mark.parametrize("method", ["PUT", "POST", "PATCH", "DELETE"])
def test_writes_are_refused_with_405(registry: RegistryProcess, method: str) -> None:
    status, _, body = fetch(f"{registry.url}/v2/library/nginx/manifests/1.27", method=method)
    assert (status, error_code(body)) == (405, "UNSUPPORTED")
    assert fetch(f"{registry.url}/v2/library/nginx/manifests/1.27")[0] == 200


def test_tags_and_catalog_list_the_store(registry: RegistryProcess) -> None:
    status, _, body = fetch(f"{registry.url}/v2/library/postgres/tags/list?ns=docker.io")
    assert status == 200
    assert json.loads(body)["tags"] == ["17", "17-alpine", "17.6", "latest"]
    catalog = json.loads(fetch(f"{registry.url}/v2/_catalog")[2])["repositories"]
    assert "registry.k8s.io/pause" in catalog and "docker.io/library/redis" in catalog


def test_each_request_is_logged_on_one_line(registry: RegistryProcess) -> None:
    fetch(f"{registry.url}/v2/library/nginx/manifests/9.99?ns=docker.io")
    assert any(line.endswith("GET /v2/library/nginx/manifests/9.99?ns=docker.io 404") for line in registry.log_lines())


def _copy_store(store: ImageStore, target: Path) -> Path:
    shutil.copytree(store.root, target)
    return target


def test_a_blob_whose_bytes_do_not_match_its_digest_is_never_served(
    image_store: ImageStore, tmp_path: Path
) -> None:
    """Blobs are named after their sha256 when written; if one is altered on disk, the registry refuses it."""
    copy = _copy_store(image_store, tmp_path / "store")
    manifest = json.loads(image_store.manifest_bytes(image_store.lookup("redis:7")))
    digest = manifest["layers"][0]["digest"]
    corrupted = blob_path(copy, digest)
    data = bytearray(corrupted.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupted.write_bytes(bytes(data))
    config_digest = manifest["config"]["digest"]
    served = start_registry(copy, tmp_path / "registry.log")
    try:
        status, _, body = fetch(f"{served.url}/v2/library/redis/blobs/{digest}")
        assert (status, error_code(body)) == (404, "BLOB_UNKNOWN")
        status, headers, body = fetch(f"{served.url}/v2/library/redis/blobs/{config_digest}")
        assert status == 200 and "sha256:" + hashlib.sha256(body).hexdigest() == config_digest
    finally:
        assert served.stop() == 0
    assert any("does not match its digest" in line for line in served.log_lines())


def test_every_blob_file_of_the_store_hashes_to_its_name(image_store: ImageStore) -> None:
    for blob in (image_store.root / "blobs" / "sha256").iterdir():
        with open(blob, "rb") as handle:
            assert hashlib.file_digest(handle, "sha256").hexdigest() == blob.name


def test_sigterm_stops_the_registry_cleanly(image_store: ImageStore, tmp_path: Path) -> None:
    served = start_registry(image_store.root, tmp_path / "registry.log")
    assert fetch(f"{served.url}/v2/")[0] == 200
    os.kill(served.process.pid, signal.SIGTERM)
    assert served.process.wait(timeout=scaled(10)) == 0
    assert "registre arrêté" in served.log.read_text()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--store", "/nonexistent/store", "--listen", "127.0.0.1:0"], "n'existe pas"),
        (["--store", "/nonexistent/store", "--listen", "127.0.0.1"], "adresse d'écoute invalide"),
    ],
)
def test_bad_arguments_are_a_french_error_with_exit_code_2(arguments: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kubelab.sandbox.images.registry", *arguments],
        capture_output=True, text=True, timeout=scaled(30),
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
