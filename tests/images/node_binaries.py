"""The static executables the image tests wrap: pause, CoreDNS and, when available, agnhost.

The real node's builder (``kubelab.sandbox.build.ensure_node_binaries``) provides them once it
is there; until then pause is compiled here from ``data/pause.c`` with ``gcc -static`` and
CoreDNS v1.12.0 is built from the Go module proxy, both cached in the machine-wide cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from kubelab.paths import cache_root
from kubelab.sandbox import build

COREDNS_VERSION = "v1.12.0"
PAUSE_SOURCE = Path(__file__).parent / "data" / "pause.c"


def binaries_dir() -> Path:
    return cache_root() / "images" / "test-binaries"


def node_binaries() -> dict[str, Path]:
    ensure = getattr(build, "ensure_node_binaries", None)
    if ensure is not None:
        found = ensure(progress=print)
        binaries = {"pause": Path(found.pause), "coredns": Path(found.coredns)}
        if getattr(found, "agnhost", None):
            binaries["agnhost"] = Path(found.agnhost)
        return binaries
    return {"pause": _pause(), "coredns": _coredns()}


def _pause() -> Path:
    digest = hashlib.sha256(PAUSE_SOURCE.read_bytes()).hexdigest()[:16]
    target = binaries_dir() / f"pause-{digest}"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        subprocess.run(["gcc", "-static", "-O2", "-o", str(partial), str(PAUSE_SOURCE)], check=True, timeout=300)
        os.replace(partial, target)
    return target


def _coredns() -> Path:
    folder = binaries_dir() / f"coredns-{COREDNS_VERSION}"
    target = folder / "coredns"
    if target.is_file():
        return target
    go = build.find_go(print)
    staging = folder.with_suffix(".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    env = dict(os.environ, GOBIN=str(staging), CGO_ENABLED="0", GOTOOLCHAIN="local", GOFLAGS="-buildvcs=false")
    subprocess.run(
        [str(go), "install", "-trimpath", "-ldflags", "-s -w", f"github.com/coredns/coredns@{COREDNS_VERSION}"],
        check=True, env=env, timeout=3600, cwd=staging,
    )
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)
    return target
