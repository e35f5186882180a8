"""BusyBox built from its source with upstream's default configuration, as the busybox image has it.

Debian's busybox-static leaves out ``nc -z`` (and other « extra » options) that the official
busybox image, built with upstream's defconfig, has and that the course and the live probes
use. So the busybox image's binary is built here: the upstream tarball as Debian's archive
ships it (``pool/main/b/busybox/busybox_<version>.orig.tar.bz2``, checked against the sha256
pinned in versions.py), ``make defconfig``, static, once per machine, cached like the other
binaries (staging folder, then rename).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

from kubelab.errors import InfrastructureError, UsageError
from kubelab.paths import cache_root
from kubelab.sandbox import versions
from kubelab.typography import french

Progress = Callable[[str], None]
# CONFIG_TC does not build against current kernel headers (upstream bug 15934); the official
# image's build disables it too. Static, so that the binary runs in an image with nothing else.
CONFIG_CHANGES = {"CONFIG_STATIC": "y", "CONFIG_TC": None}
SOURCE_DATE_EPOCH = "1700000000"


def _recipe_digest() -> str:
    text = repr((versions.BUSYBOX_VERSION, versions.BUSYBOX_SHA256, sorted(CONFIG_CHANGES.items()), SOURCE_DATE_EPOCH))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def busybox_folder() -> Path:
    return cache_root() / "sandbox" / "busybox" / f"busybox-{versions.BUSYBOX_VERSION}_{_recipe_digest()}"


def ensure_busybox(progress: Progress = print) -> Path:
    """The path of the built ``busybox``; built the first time, then taken from the cache."""
    target = busybox_folder() / "busybox"
    if target.is_file():
        return target
    busybox_folder().parent.mkdir(parents=True, exist_ok=True)
    with open(busybox_folder().parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_file():
            _build(progress)
    return target


def _build(progress: Progress) -> None:
    started = time.monotonic()
    for tool in ("make", "gcc"):
        if shutil.which(tool) is None:
            raise UsageError(french(f"« {tool} » est introuvable : il compile BusyBox pour l'image busybox du nœud "
                                    "réel. Installez les paquets Debian make et gcc (scripts/setup.sh le fait)."))
    staging = Path(tempfile.mkdtemp(prefix="busybox-", dir=busybox_folder().parent))
    try:
        progress(french(f"BusyBox {versions.BUSYBOX_VERSION} : téléchargement des sources…"))
        archive = staging / "source.tar.bz2"
        _download(archive)
        with tarfile.open(archive) as source:
            source.extractall(staging, filter="data")
        tree = staging / f"busybox-{versions.BUSYBOX_VERSION}"
        env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "KCONFIG_NOTIMESTAMP": "1", "LC_ALL": "C"}
        log = busybox_folder().parent / "build.log"
        with open(log, "w") as output:
            _make(["defconfig"], tree, env, output, log)
            _configure(tree / ".config")
            _make(["oldconfig"], tree, env, output, log, stdin="\n" * 50)
            progress(french(f"BusyBox {versions.BUSYBOX_VERSION} : compilation (defconfig, statique)…"))
            _make([f"-j{os.cpu_count() or 2}", "busybox"], tree, env, output, log)
        result = staging / "result"
        result.mkdir()
        shutil.copy2(tree / "busybox", result / "busybox")
        (result / "VERSION").write_text(f"{versions.BUSYBOX_VERSION}\n")
        os.replace(result, busybox_folder())
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress(french(f"BusyBox {versions.BUSYBOX_VERSION} prêt ({time.monotonic() - started:.0f} s)."))


def _download(target: Path) -> None:
    from kubelab.sandbox.images.debian_mirror import mirror_url

    name = f"busybox_{versions.BUSYBOX_VERSION}.orig.tar.bz2"
    url = f"{mirror_url()}/pool/main/b/busybox/{name}"
    try:
        with urllib.request.urlopen(url, timeout=120) as response, open(target, "wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError) as exc:
        raise InfrastructureError(f"Impossible de télécharger {url} : {exc}") from exc
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != versions.BUSYBOX_SHA256:
        raise InfrastructureError(f"{name} : sha256 {digest}, attendu {versions.BUSYBOX_SHA256} (versions.py).")


def _configure(config: Path) -> None:
    lines = config.read_text().splitlines()
    kept = [line for line in lines if not any(line.startswith((f"{key}=", f"# {key} ")) for key in CONFIG_CHANGES)]
    for key, value in CONFIG_CHANGES.items():
        kept.append(f"{key}={value}" if value else f"# {key} is not set")
    config.write_text("\n".join(kept) + "\n")


def _make(args: list[str], tree: Path, env: dict[str, str], output: IO[str], log: Path,
          stdin: str | None = None) -> None:
    done = subprocess.run(["make", *args], cwd=tree, env=env, stdout=output, stderr=subprocess.STDOUT,
                          input=stdin, text=True)
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise InfrastructureError(f"La compilation de BusyBox a échoué (make {' '.join(args)}) :\n{tail}")
