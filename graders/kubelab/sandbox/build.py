"""Build and cache the sandbox binaries: Kubernetes control plane, kubectl, kwok, etcd.

The binaries are built from the Go module proxy once per machine and kept under the
machine-wide cache, keyed by the pinned versions. A build writes into a temporary folder
and renames it into place only when everything succeeded, so an interrupted build never
leaves a half-filled cache behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kubelab.errors import InfrastructureError, UsageError
from kubelab.paths import REPO_ROOT, cache_root
from kubelab.sandbox import versions

Progress = Callable[[str], None]
BUILDER_DIR = REPO_ROOT / "sandbox" / "k8s-builder"
ETCD_BUILDER_DIR = REPO_ROOT / "sandbox" / "etcd-builder"
HEARTBEAT_SECONDS = 20.0


@dataclass(frozen=True)
class SandboxBinaries:
    """Paths of every executable the sandbox runs."""

    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kwok: Path
    kubectl: Path
    etcd: Path


def sandbox_cache() -> Path:
    return cache_root() / "sandbox"


def binaries_dir() -> Path:
    return sandbox_cache() / "bin" / versions.cache_key()


def cached_binaries() -> SandboxBinaries | None:
    """The cached binaries when a complete build is present, else ``None``."""
    folder = binaries_dir()
    manifest = folder / "manifest.json"
    if not manifest.exists():
        return None
    names = versions.K8S_COMMANDS + ("kwok", "etcd")
    if not all((folder / name).is_file() for name in names):
        return None
    return SandboxBinaries(
        kube_apiserver=folder / "kube-apiserver",
        kube_controller_manager=folder / "kube-controller-manager",
        kube_scheduler=folder / "kube-scheduler",
        kwok=folder / "kwok",
        kubectl=folder / "kubectl",
        etcd=folder / "etcd",
    )


def ensure_binaries(progress: Progress = print, allow_go_download: bool = True) -> SandboxBinaries:
    """Return the cached binaries, building them first when the cache is empty."""
    found = cached_binaries()
    if found is not None:
        return found
    with _build_lock():
        found = cached_binaries()
        if found is not None:
            return found
        build(progress, allow_go_download=allow_go_download)
    found = cached_binaries()
    if found is None:
        raise InfrastructureError(f"La construction n'a pas rempli le cache {binaries_dir()}.")
    return found


@contextmanager
def _build_lock() -> Iterator[None]:
    sandbox_cache().mkdir(parents=True, exist_ok=True)
    with open(sandbox_cache() / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(progress: Progress = print, allow_go_download: bool = True) -> Path:
    """Build every binary into a fresh folder and move it into the cache when complete."""
    started = time.monotonic()
    go = find_go(progress, allow_download=allow_go_download)
    staging_root = sandbox_cache() / "staging"
    shutil.rmtree(staging_root, ignore_errors=True)
    staging_root.mkdir(parents=True)
    staging = Path(tempfile.mkdtemp(prefix="build-", dir=staging_root))
    log = sandbox_cache() / "build.log"
    env = _go_env(go)
    steps = [
        ("téléchargement des modules Go de Kubernetes", ["mod", "download"], BUILDER_DIR),
        (
            "compilation de kube-apiserver, kube-controller-manager, kube-scheduler, kubectl",
            ["build", "-trimpath", "-ldflags", _ldflags(), "-o", str(staging) + "/"]
            + [f"k8s.io/kubernetes/cmd/{name}" for name in versions.K8S_COMMANDS],
            BUILDER_DIR,
        ),
        (
            f"compilation de kwok et kwokctl {versions.KWOK_VERSION}",
            ["install", "-trimpath", "-ldflags", "-s -w"]
            + [f"sigs.k8s.io/kwok/cmd/{name}@{versions.KWOK_VERSION}" for name in versions.KWOK_COMMANDS],
            staging,
        ),
        (
            f"compilation d'etcd {versions.ETCD_VERSION}",
            ["build", "-trimpath", "-ldflags", "-s -w", "-o", str(staging / "etcd"), "."],
            ETCD_BUILDER_DIR,
        ),
    ]
    env_with_bin = dict(env, GOBIN=str(staging))
    with open(log, "w") as log_file:
        for index, (label, args, cwd) in enumerate(steps, start=1):
            progress(f"[{index}/{len(steps)}] {label}…")
            _run_with_heartbeat([str(go), *args], cwd, env_with_bin, log_file, progress, started)
    _write_manifest(staging, time.monotonic() - started)
    final = binaries_dir()
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)
    shutil.rmtree(staging_root, ignore_errors=True)
    progress(f"Binaires prêts dans {final} ({time.monotonic() - started:.0f} s).")
    return final


def _ldflags() -> str:
    version = versions.KUBERNETES_VERSION
    major, minor = version.lstrip("v").split(".")[:2]
    values = {
        "gitVersion": version,
        "gitMajor": major,
        "gitMinor": minor,
        "gitCommit": "kubelab-sandbox",
        "gitTreeState": "clean",
        "buildDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {package}.{key}={value}" for key, value in values.items()]
    return " ".join(flags)


def _go_env(go: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-buildvcs=false")
    goroot = go.parent.parent
    if (goroot / "src").is_dir() and shutil.which("go") != str(go):
        env["GOROOT"] = str(goroot)
    return env


def _run_with_heartbeat(
    command: list[str], cwd: Path, env: dict[str, str], log_file, progress: Progress, started: float
) -> None:
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            progress(f"    … toujours en cours ({time.monotonic() - started:.0f} s écoulées)")

    thread = threading.Thread(target=heartbeat, daemon=True)
    thread.start()
    try:
        result = subprocess.run(command, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    finally:
        done.set()
        thread.join()
    if result.returncode != 0:
        log_file.flush()
        tail = Path(log_file.name).read_text(errors="replace").splitlines()[-15:]
        raise InfrastructureError(
            f"La commande « {' '.join(command[:3])} … » a échoué (code {result.returncode}). "
            f"Journal complet : {log_file.name}\n" + "\n".join(tail)
        )


def _write_manifest(folder: Path, seconds: float) -> None:
    manifest = {
        "kubernetes": versions.KUBERNETES_VERSION,
        "kwok": versions.KWOK_VERSION,
        "etcd": versions.ETCD_VERSION,
        "built_at": datetime.now(UTC).isoformat(),
        "build_seconds": round(seconds, 1),
        "files": sorted(p.name for p in folder.iterdir()),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))


def find_go(progress: Progress = print, allow_download: bool = True) -> Path:
    """A Go toolchain new enough for Kubernetes: ``$KUBELAB_GO``, ``PATH``, or the proxy's."""
    candidates = [os.environ.get("KUBELAB_GO"), shutil.which("go"), str(_cached_toolchain() / "bin" / "go")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and _go_is_recent(Path(candidate)):
            return Path(candidate)
    if not allow_download:
        minimum = ".".join(map(str, versions.GO_MINIMUM))
        raise UsageError(
            f"Go {minimum} ou plus récent est introuvable (ni $KUBELAB_GO, ni « go » dans le PATH). "
            "Installez-le (par exemple depuis https://go.dev/dl/) ou relancez sans "
            "« --no-go-download » pour que kubelab récupère la chaîne Go sur le proxy de modules."
        )
    return _download_toolchain(progress)


def _go_is_recent(go: Path) -> bool:
    try:
        output = subprocess.run(
            [str(go), "env", "GOVERSION"], capture_output=True, text=True, timeout=30,
            env=dict(os.environ, GOTOOLCHAIN="local"),
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return False
    digits = output.removeprefix("go").split(".")
    try:
        return (int(digits[0]), int(digits[1])) >= versions.GO_MINIMUM
    except (ValueError, IndexError):
        return False


def _cached_toolchain() -> Path:
    return cache_root() / "go" / versions.GO_TOOLCHAIN_FALLBACK


def _download_toolchain(progress: Progress) -> Path:
    """Fetch the Go toolchain published on the Go module proxy as ``golang.org/toolchain``."""
    proxy = os.environ.get("GOPROXY", "https://proxy.golang.org").split(",")[0].split("|")[0]
    if proxy in ("direct", "off"):
        proxy = "https://proxy.golang.org"
    module = f"v0.0.1-{versions.GO_TOOLCHAIN_FALLBACK}.linux-amd64"
    url = f"{proxy.rstrip('/')}/golang.org/toolchain/@v/{module}.zip"
    target = _cached_toolchain()
    progress(f"Go est absent : téléchargement de {versions.GO_TOOLCHAIN_FALLBACK} depuis le proxy de modules…")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="go-", dir=target.parent))
    try:
        archive = staging / "toolchain.zip"
        with urllib.request.urlopen(url, timeout=300) as response, open(archive, "wb") as out:
            shutil.copyfileobj(response, out)
        prefix = f"golang.org/toolchain@{module}/"
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.infolist():
                if not member.filename.startswith(prefix) or member.is_dir():
                    continue
                destination = staging / "go" / member.filename[len(prefix):]
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as source, open(destination, "wb") as out:
                    shutil.copyfileobj(source, out)
                if "/bin/" in f"/{member.filename[len(prefix):]}" or "/pkg/tool/" in member.filename:
                    destination.chmod(0o755)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging / "go", target)
    except OSError as exc:
        raise InfrastructureError(
            f"Impossible de télécharger Go depuis {url} : {exc}. Installez Go "
            f"{'.'.join(map(str, versions.GO_MINIMUM))} ou plus récent et relancez."
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target / "bin" / "go"
