"""Build and cache the configuration oracles of lab 09: Prometheus's and Alertmanager's own loaders.

``promtool-check-config`` and ``amtool-check-config`` are built from the Go module proxy
(github.com/prometheus/prometheus, whose module version v0.316.0 is Prometheus 3.16.0, and
github.com/prometheus/alertmanager v0.35.0) by our builder module
``sandbox/prometheus-tools-builder/``, once per machine, into the machine-wide cache keyed by
those versions. Each is the code path of ``promtool check config --syntax-only`` and
``amtool check-config``, without the rest of either tool (see the builder's ``main.go``
files), so the build stays small. As for the sandbox binaries, the build writes into a
staging folder renamed into place only when complete.

    python -m kubelab.sandbox.oracles_build     # builds once; says where the tools are
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from kubelab.errors import InfrastructureError, KubelabError
from kubelab.oracle_binaries import (
    ALERTMANAGER_VERSION,
    COMMANDS,
    PROMETHEUS_VERSION,
    Oracles,
    cached_oracles,
    oracles_dir,
)
from kubelab.paths import REPO_ROOT
from kubelab.sandbox.build import find_go

Progress = Callable[[str], None]
BUILDER_DIR = REPO_ROOT / "sandbox" / "prometheus-tools-builder"


def ensure_oracles(progress: Progress = print, allow_go_download: bool = True) -> Oracles:
    """The cached checkers, built first when the cache is empty (one build at a time per machine)."""
    found = cached_oracles()
    if found is not None:
        return found
    with _lock():
        found = cached_oracles()
        if found is None:
            build(progress, allow_go_download)
            found = cached_oracles()
    if found is None:
        raise InfrastructureError(f"La construction n'a pas rempli le cache {oracles_dir()}.")
    return found


@contextmanager
def _lock() -> Iterator[None]:
    root = oracles_dir().parent
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(progress: Progress = print, allow_go_download: bool = True) -> Path:
    """Download the modules, build both checkers into a staging folder, then move it into the cache."""
    started = time.monotonic()
    go = find_go(progress, allow_download=allow_go_download)
    root = oracles_dir().parent
    staging = Path(tempfile.mkdtemp(prefix="build-", dir=root))
    staging.chmod(0o755)
    env = {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false -mod=readonly"}
    log_path = root / "build.log"
    steps = [
        ("téléchargement des modules Go de Prometheus et d'Alertmanager", ["mod", "download"]),
        (f"compilation de promtool-check-config (Prometheus {PROMETHEUS_VERSION}) et amtool-check-config "
         f"(Alertmanager {ALERTMANAGER_VERSION})",
         ["build", "-trimpath", "-ldflags", "-s -w", "-o", f"{staging}/", *(f"./{c}" for c in COMMANDS)]),
    ]
    try:
        with open(log_path, "w") as log:
            for index, (label, args) in enumerate(steps, start=1):
                progress(f"[{index}/{len(steps)}] {label}…")
                done = subprocess.run([str(go), *args], cwd=BUILDER_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
                if done.returncode != 0:
                    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
                    raise InfrastructureError(f"La commande « go {args[0]} » a échoué (code {done.returncode}). "
                                              f"Journal complet : {log_path}\n{tail}")
        seconds = time.monotonic() - started
        (staging / "manifest.json").write_text(json.dumps({
            "prometheus": PROMETHEUS_VERSION, "alertmanager": ALERTMANAGER_VERSION,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"), "build_seconds": round(seconds, 1),
            "files": sorted(p.name for p in staging.iterdir()),
        }, indent=2))
        final = oracles_dir()
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress(f"Vérificateurs prêts dans {final} ({seconds:.0f} s).")
    return final


def main() -> int:
    try:
        oracles = ensure_oracles()
    except KubelabError as exc:
        print(exc.message, file=sys.stderr)
        return exc.exit_code
    print(f"promtool-check-config : {oracles.promtool}\namtool-check-config : {oracles.amtool}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
