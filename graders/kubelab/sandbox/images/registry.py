"""A read-only OCI distribution registry serving an :class:`ImageStore`, for containerd's pulls.

    python -m kubelab.sandbox.images.registry --store DIR --listen 127.0.0.1:PORT

Serves ``GET /v2/``, ``GET``/``HEAD`` of ``/v2/<name>/manifests/<tag or digest>`` and
``/v2/<name>/blobs/<digest>`` (with ``Range``), ``/v2/<name>/tags/list`` and ``/v2/_catalog``;
everything else is a 404 with the specification's JSON error, and writes are refused (405).
When containerd uses it as a mirror it adds ``?ns=<upstream host>``: ``pause`` with
``ns=registry.k8s.io`` is ``registry.k8s.io/pause``, ``library/nginx`` with ``ns=docker.io``
is ``docker.io/library/nginx``; without ``ns`` a full name (``registry.k8s.io/pause``) or a
Docker Hub one (``library/nginx``, ``nginx``) is accepted. A blob or manifest is served only
once its bytes hash to the digest asked for. One line per request goes to stderr; SIGTERM
stops the server cleanly. Port 0 picks a free port; the ready line on stderr gives it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import signal
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from urllib.parse import parse_qs, urlsplit

from kubelab.sandbox.images.references import repository_name
from kubelab.sandbox.images.store import ImageStore
from kubelab.typography import french

API_VERSION_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")
_ROUTE = re.compile(r"^/v2/(?P<name>.+)/(?P<kind>manifests|blobs)/(?P<reference>[^/]+)$")
_TAGS = re.compile(r"^/v2/(?P<name>.+)/tags/list$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 1 << 20


class VerifiedBlobs:
    """Remembers which blob files were checked against their digest (by size and mtime)."""

    def __init__(self) -> None:
        self._checked: dict[Path, tuple[int, int, bool]] = {}
        self._lock = threading.Lock()

    def matches(self, path: Path, digest: str) -> bool:
        stat = path.stat()
        with self._lock:
            known = self._checked.get(path)
        if known is not None and known[:2] == (stat.st_size, stat.st_mtime_ns):
            return known[2]
        with open(path, "rb") as handle:
            good = "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest() == digest
        with self._lock:
            self._checked[path] = (stat.st_size, stat.st_mtime_ns, good)
        return good


class RegistryHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubelab-registry/1"
    store: ImageStore
    verified: VerifiedBlobs

    def do_GET(self) -> None:
        self._route(send_body=True)

    def do_HEAD(self) -> None:
        self._route(send_body=False)

    def _refuse_write(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "UNSUPPORTED", "this registry is read-only", True)

    do_POST = do_PUT = do_PATCH = do_DELETE = _refuse_write

    def _route(self, send_body: bool) -> None:
        url = urlsplit(self.path)
        upstream = parse_qs(url.query).get("ns", [None])[0]
        if url.path in ("/v2", "/v2/"):
            self._json(HTTPStatus.OK, {}, send_body)
            return
        if url.path == "/v2/_catalog":
            repositories = sorted({reference.rsplit(":", 1)[0] for reference in self.store.references})
            self._json(HTTPStatus.OK, {"repositories": repositories}, send_body)
            return
        tags = _TAGS.match(url.path)
        if tags:
            repository = repository_name(tags.group("name"), upstream)
            found = sorted(
                reference.rsplit(":", 1)[1] for reference in self.store.references
                if reference.rsplit(":", 1)[0] == repository
            )
            if not found:
                self._error(HTTPStatus.NOT_FOUND, "NAME_UNKNOWN", "repository name not known to registry", send_body)
                return
            self._json(HTTPStatus.OK, {"name": tags.group("name"), "tags": found}, send_body)
            return
        match = _ROUTE.match(url.path)
        if not match:
            self._error(HTTPStatus.NOT_FOUND, "NAME_UNKNOWN", "repository name not known to registry", send_body)
            return
        repository = repository_name(match.group("name"), upstream)
        if repository is None or not self.store.has_repository(repository):
            self._error(HTTPStatus.NOT_FOUND, "NAME_UNKNOWN", "repository name not known to registry", send_body)
            return
        if match.group("kind") == "manifests":
            self._manifest(repository, match.group("reference"), send_body)
        else:
            self._blob(repository, match.group("reference"), send_body)

    def _manifest(self, repository: str, reference: str, send_body: bool) -> None:
        descriptor = self.store.manifest(repository, reference)
        if descriptor is None:
            self._error(HTTPStatus.NOT_FOUND, "MANIFEST_UNKNOWN", "manifest unknown", send_body)
            return
        data = self.store.manifest_bytes(descriptor)
        if "sha256:" + hashlib.sha256(data).hexdigest() != descriptor.digest:
            self.log_message("manifest %s does not match its digest: not served", descriptor.digest)
            self._error(HTTPStatus.NOT_FOUND, "MANIFEST_UNKNOWN", "manifest content does not match", send_body)
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", descriptor.media_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Docker-Content-Digest", descriptor.digest)
        self.send_header("ETag", f'"{descriptor.digest}"')
        self.send_header(*API_VERSION_HEADER)
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def _blob(self, repository: str, digest: str, send_body: bool) -> None:
        path = self.store.blob(repository, digest)
        if path is None:
            self._error(HTTPStatus.NOT_FOUND, "BLOB_UNKNOWN", "blob unknown to registry", send_body)
            return
        if not self.verified.matches(path, digest):
            self.log_message("blob %s does not match its digest: not served", digest)
            self._error(HTTPStatus.NOT_FOUND, "BLOB_UNKNOWN", "blob content does not match its digest", send_body)
            return
        size = path.stat().st_size
        start, end = 0, size - 1
        status = HTTPStatus.OK
        requested = self.headers.get("Range")
        if requested:
            bounds = _byte_range(requested, size)
            if bounds is None:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, end = bounds
            status = HTTPStatus.PARTIAL_CONTENT
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Docker-Content-Digest", digest)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{digest}"')
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header(*API_VERSION_HEADER)
        self.end_headers()
        if not send_body:
            return
        with open(path, "rb") as handle:
            handle.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)

    def _json(self, status: HTTPStatus, document: object, send_body: bool) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header(*API_VERSION_HEADER)
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def _error(self, status: HTTPStatus, code: str, message: str, send_body: bool) -> None:
        self._json(status, {"errors": [{"code": code, "message": message, "detail": self.path}]}, send_body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        status = code.value if isinstance(code, HTTPStatus) else code
        sys.stderr.write(f"{self.address_string()} {self.command} {self.path} {status}\n")

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` within a blob of ``size`` bytes, else ``None``."""
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    if not match.group(1):
        length = int(match.group(2))
        if length == 0:
            return None
        return max(0, size - length), size - 1
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


def serve(store: ImageStore, host: str, port: int) -> ThreadingHTTPServer:
    """A started-ready server (call ``serve_forever``) for ``store`` on ``host:port``."""
    handler = type("StoreHandler", (RegistryHandler,), {"store": store, "verified": VerifiedBlobs()})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def _listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(french(f"adresse d'écoute invalide : « {text} » (attendu HÔTE:PORT)"))
    return host.strip("[]"), int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kubelab.sandbox.images.registry",
        description="Registre d'images en lecture seule (API de distribution OCI) servant un magasin kubelab.",
    )
    parser.add_argument("--store", required=True, type=Path, help="dossier du magasin (disposition OCI)")
    parser.add_argument("--listen", required=True, type=_listen_address, help="HÔTE:PORT, par exemple 127.0.0.1:5000")
    args = parser.parse_args(argv)
    if not (args.store / "index.json").is_file():
        sys.stderr.write(french(f"Le magasin d'images {args.store} n'existe pas ou n'a pas d'index.json.") + "\n")
        return 2
    try:
        store = ImageStore.open(args.store)
        server = serve(store, *args.listen)
    except (OSError, ValueError, KeyError) as exc:
        where = f"{args.store}, {args.listen[0]}:{args.listen[1]}"
        sys.stderr.write(french(f"Registre impossible à démarrer ({where}) : {exc}") + "\n")
        return 3

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    host = host.decode() if isinstance(host, bytes) else host
    sys.stderr.write(f"registre prêt sur http://{host}:{port} ({len(store.references)} références, {args.store})\n")
    sys.stderr.flush()
    started = time.monotonic()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    sys.stderr.write(f"registre arrêté après {time.monotonic() - started:.0f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
