"""Fetch verified Debian indexes and packages from the mirror this machine's apt uses.

The mirror is ``$KUBELAB_DEBIAN_MIRROR`` or the first Debian archive in apt's sources. The
suite's ``InRelease`` is checked with ``gpgv`` against Debian's archive keyring, the
``Packages`` index against the sha256 it lists, and every ``.deb`` against the index: a
downloaded file is used only once its digest matches. Everything is cached by digest.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from kubelab.errors import InfrastructureError
from kubelab.sandbox.images.debian_packages import PackageIndex, PackageRecord, parse_index
from kubelab.typography import french

Progress = Callable[[str], None]
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
INDEX_PATH = "main/binary-amd64/Packages.xz"
ATTEMPTS = 3


def mirror_url() -> str:
    """The Debian archive to download from, without a trailing slash."""
    configured = os.environ.get("KUBELAB_DEBIAN_MIRROR")
    if configured:
        return configured.rstrip("/")
    for uri in _apt_archive_uris():
        return uri.rstrip("/")
    raise InfrastructureError(
        "Aucun miroir Debian trouvé dans les sources d'apt (/etc/apt/sources.list, /etc/apt/sources.list.d). "
        "Indiquez-en un avec la variable KUBELAB_DEBIAN_MIRROR."
    )


def _apt_archive_uris() -> list[str]:
    """URIs of the Debian main archive (not the security one) in apt's sources, in file order."""
    uris: list[str] = []
    files: list[Path] = []
    for source in APT_SOURCES:
        if source.is_dir():
            files += sorted(path for path in source.iterdir() if path.suffix in (".list", ".sources"))
        elif source.is_file():
            files.append(source)
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        if path.suffix == ".sources":
            for stanza in text.split("\n\n"):
                fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.M))
                if fields.get("Enabled", "yes").lower() == "no":
                    continue
                if "main" in fields.get("Components", "").split():
                    uris += [uri for uri in fields.get("URIs", "").split() if _is_archive(uri)]
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(words) >= 4 and words[0] == "deb" and "main" in words[3:] and _is_archive(words[1]):
                    uris.append(words[1])
    return uris


def _is_archive(uri: str) -> bool:
    return uri.startswith(("http://", "https://")) and uri.rstrip("/").endswith("/debian")


def fetch_index(suite: str, cache_dir: Path, progress: Progress) -> PackageIndex:
    """The verified ``Packages`` index of ``suite`` (main, amd64)."""
    mirror = mirror_url()
    cache_dir.mkdir(parents=True, exist_ok=True)
    progress(french(f"Index Debian {suite} : téléchargement de la liste signée des paquets…"))
    release = _verified_release(_download_bytes(f"{mirror}/dists/{suite}/InRelease"), suite)
    sha256 = _listed_sha256(release, INDEX_PATH, suite)
    cached = cache_dir / f"Packages-{suite}-{sha256}.xz"
    if not cached.is_file():
        _download_verified(f"{mirror}/dists/{suite}/{INDEX_PATH}", sha256, cached)
    return parse_index(lzma.decompress(cached.read_bytes()).decode("utf-8", "replace"), suite)


def fetch_deb(record: PackageRecord, cache_dir: Path) -> Path:
    """The ``.deb`` of ``record``, downloaded once and checked against the index's sha256."""
    target = cache_dir / f"{record.name}_{record.version.replace(':', '%3a')}_{record.sha256[:16]}.deb"
    if target.is_file() and target.stat().st_size == record.size:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    _download_verified(f"{mirror_url()}/{record.filename}", record.sha256, target)
    return target


def _verified_release(signed: bytes, suite: str) -> str:
    if not KEYRING.is_file():
        raise InfrastructureError(
            f"Le trousseau des clés de Debian {KEYRING} manque : installez le paquet debian-archive-keyring."
        )
    with tempfile.TemporaryDirectory(prefix="kubelab-inrelease-") as folder:
        signed_path = Path(folder) / "InRelease"
        signed_path.write_bytes(signed)
        result = subprocess.run(
            ["gpgv", "--keyring", str(KEYRING), "--output", "-", str(signed_path)],
            capture_output=True,
            timeout=60,
        )
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise InfrastructureError(
            f"La signature de l'index Debian {suite} (InRelease) n'est pas valide : {detail[0]} "
            "Mettez à jour le paquet debian-archive-keyring."
        )
    return result.stdout.decode("utf-8", "replace")


def _listed_sha256(release: str, path: str, suite: str) -> str:
    section = release.split("\nSHA256:", 1)[-1]
    for line in section.splitlines()[1:]:
        if not line.startswith(" "):
            break
        parts = line.split()
        if len(parts) == 3 and parts[2] == path:
            return parts[0]
    raise InfrastructureError(f"L'index Debian {suite} ne liste pas {path}.")


def _download_bytes(url: str) -> bytes:
    last: Exception | None = None
    for attempt in range(ATTEMPTS):
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return response.read()
        except (urllib.error.URLError, OSError) as exc:
            last = exc
            time.sleep(1 + attempt)
    raise InfrastructureError(f"Téléchargement impossible de {url} : {last}")


def _download_verified(url: str, sha256: str, target: Path) -> None:
    """Download ``url`` to ``target`` atomically, refusing content whose sha256 differs."""
    target.parent.mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    for attempt in range(ATTEMPTS):
        handle, partial = tempfile.mkstemp(prefix=".partial-", dir=target.parent)
        try:
            digest = hashlib.sha256()
            with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=120) as response:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != sha256:
                raise InfrastructureError(
                    f"{url} ne correspond pas à l'index Debian (sha256 {digest.hexdigest()} au lieu de {sha256})."
                )
            os.replace(partial, target)
            return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
            time.sleep(1 + attempt)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    raise InfrastructureError(f"Téléchargement impossible de {url} : {last}")
