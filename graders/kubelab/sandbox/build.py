"""Build and cache the sandbox binaries, from the Go module proxy only.

Two sets, each built once per machine: the control plane (kube-apiserver, the controller
manager, the scheduler, kubectl, kwok, etcd, and the real node's kubelet and kube-proxy, built
in the same Go invocation) and the real node's other binaries (kube-router, CoreDNS, pause,
agnhost). Each set lives in a folder named by its pinned versions and a digest of its recipe
(the builder modules and the build commands), so a changed recipe builds into a new folder and
never replaces one that a running sandbox may be using. A build writes into a staging folder
and renames it into place only when everything succeeded, so an interrupted or failed build
leaves the cache as it was. The module proxy is Go's own (``go env GOPROXY``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
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
from typing import TextIO

from kubelab.errors import InfrastructureError, UsageError
from kubelab.paths import REPO_ROOT, cache_root
from kubelab.sandbox import versions

Progress = Callable[[str], None]
BUILDERS_DIR = REPO_ROOT / "sandbox"
HEARTBEAT_SECONDS = 20.0
# Part of every recipe (and so of its digest): a local toolchain, static binaries, no VCS stamp.
GO_ENV = {"GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"}
KUBERNETES_MODULE = "k8s.io/kubernetes"
_MODULE_FAILURE = re.compile(r"^(?:go: )?(?P<module>[^\s@:]+@v[^\s:]+): (?P<reason>.+)$", re.M)


@dataclass(frozen=True)
class SandboxBinaries:
    """Paths of every executable the sandbox's control plane and the real node's kubelet run."""

    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kwok: Path
    kubectl: Path
    etcd: Path
    kubelet: Path
    kube_proxy: Path


@dataclass(frozen=True)
class NodeBinaries:
    """The real node's other executables: the firewall, the DNS server, and two image payloads."""

    kube_router: Path
    coredns: Path
    pause: Path
    agnhost: Path


@dataclass(frozen=True)
class Step:
    """One command of a recipe. In ``args``, ``{out}`` is the staging folder, ``{date}`` the
    build date and ``{kubernetes}`` the k8s.io/kubernetes module's source folder."""

    label: str
    tool: str
    args: tuple[str, ...]
    module: str | None  # the builder module (under sandbox/) to run in; None: the staging folder


@dataclass(frozen=True)
class Recipe:
    """A set of binaries built together and cached in one folder."""

    kind: str
    versions_key: str
    files: tuple[str, ...]
    steps: tuple[Step, ...]

    def key(self) -> str:
        """The cache folder's name: the pinned versions and a digest of the recipe."""
        digest = hashlib.sha256()
        commands = [(step.tool, step.args, step.module) for step in self.steps]
        digest.update(json.dumps({"commands": commands, "env": GO_ENV}).encode())
        for module in sorted({step.module for step in self.steps if step.module}):
            for path in sorted((BUILDERS_DIR / module).iterdir()):
                if path.name in ("go.mod", "go.sum") or path.suffix == ".go":
                    digest.update(f"{module}/{path.name}\0".encode() + path.read_bytes() + b"\0")
        return f"{self.versions_key}_{digest.hexdigest()[:12]}"

    def folder(self) -> Path:
        return sandbox_cache() / self.kind / self.key()


def _k8s_ldflags() -> str:
    version = versions.KUBERNETES_VERSION
    major, minor = version.lstrip("v").split(".")[:2]
    values = {
        "gitVersion": version,
        "gitMajor": major,
        "gitMinor": minor,
        "gitCommit": "kubelab-sandbox",
        "gitTreeState": "clean",
        "buildDate": "{date}",
    }
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {package}.{key}={value}" for key, value in values.items()]
    return " ".join(flags)


def control_plane_recipe() -> Recipe:
    commands = ", ".join(versions.K8S_COMMANDS)
    return Recipe(
        kind="bin",
        versions_key=versions.cache_key(),
        files=versions.K8S_COMMANDS + ("kwok", "etcd"),
        steps=(
            Step("téléchargement des modules Go de Kubernetes", "go", ("mod", "download"), "k8s-builder"),
            Step(
                f"compilation de {commands}", "go",
                ("build", "-trimpath", "-ldflags", _k8s_ldflags(), "-o", "{out}/")
                + tuple(f"{KUBERNETES_MODULE}/cmd/{name}" for name in versions.K8S_COMMANDS),
                "k8s-builder",
            ),
            Step(
                f"compilation de kwok et kwokctl {versions.KWOK_VERSION}", "go",
                ("install", "-trimpath", "-ldflags", "-s -w")
                + tuple(f"sigs.k8s.io/kwok/cmd/{name}@{versions.KWOK_VERSION}" for name in versions.KWOK_COMMANDS),
                None,
            ),
            Step(
                f"compilation d'etcd {versions.ETCD_VERSION}", "go",
                ("build", "-trimpath", "-ldflags", "-s -w", "-o", "{out}/etcd", "."), "etcd-builder",
            ),
        ),
    )


def node_recipe() -> Recipe:
    kube_router_version = "github.com/cloudnativelabs/kube-router/v2/pkg/version"
    return Recipe(
        kind="node",
        versions_key=versions.node_cache_key(),
        files=("kube-router", "coredns", "pause", "agnhost"),
        steps=(
            Step("téléchargement des modules Go de kube-router", "go", ("mod", "download"), "kube-router-builder"),
            Step("téléchargement des modules Go de CoreDNS", "go", ("mod", "download"), "coredns-builder"),
            Step(
                f"compilation d'agnhost {versions.AGNHOST_VERSION}", "go",
                ("build", "-trimpath", "-ldflags", f"-s -w -X main.Version={versions.AGNHOST_VERSION}",
                 "-o", "{out}/agnhost", f"{KUBERNETES_MODULE}/test/images/agnhost"),
                "k8s-builder",
            ),
            Step(
                f"compilation de kube-router {versions.KUBE_ROUTER_VERSION} (pare-feu seul)", "go",
                ("build", "-trimpath", "-ldflags",
                 f"-s -w -X {kube_router_version}.Version={versions.KUBE_ROUTER_VERSION}"
                 f" -X {kube_router_version}.BuildDate={{date}}",
                 "-o", "{out}/kube-router", "."),
                "kube-router-builder",
            ),
            Step(
                f"compilation de CoreDNS {versions.COREDNS_VERSION} ({len(versions.COREDNS_PLUGINS)} plugins)", "go",
                ("build", "-trimpath", "-ldflags", "-s -w -X github.com/coredns/coredns/coremain.GitCommit=kubelab",
                 "-o", "{out}/coredns", "."),
                "coredns-builder",
            ),
            Step(
                f"compilation de pause {versions.PAUSE_VERSION} (gcc -static)", "gcc",
                ("-static", "-O2", "-Wall", "-Werror", f"-DVERSION=v{versions.PAUSE_VERSION}",
                 "-o", "{out}/pause", "{kubernetes}/build/pause/linux/pause.c"),
                None,
            ),
        ),
    )


def sandbox_cache() -> Path:
    return cache_root() / "sandbox"


def control_plane_key() -> str:
    return control_plane_recipe().key()


def node_key() -> str:
    return node_recipe().key()


def binaries_dir() -> Path:
    return control_plane_recipe().folder()


def node_binaries_dir() -> Path:
    return node_recipe().folder()


def _complete(recipe: Recipe) -> Path | None:
    folder = recipe.folder()
    if (folder / "manifest.json").is_file() and all((folder / name).is_file() for name in recipe.files):
        return folder
    return None


def cached_binaries() -> SandboxBinaries | None:
    """The cached control-plane binaries when a complete build is present, else ``None``."""
    folder = _complete(control_plane_recipe())
    if folder is None:
        return None
    return SandboxBinaries(
        kube_apiserver=folder / "kube-apiserver",
        kube_controller_manager=folder / "kube-controller-manager",
        kube_scheduler=folder / "kube-scheduler",
        kwok=folder / "kwok",
        kubectl=folder / "kubectl",
        etcd=folder / "etcd",
        kubelet=folder / "kubelet",
        kube_proxy=folder / "kube-proxy",
    )


def cached_node_binaries() -> NodeBinaries | None:
    """The cached real-node binaries when a complete build is present, else ``None``."""
    folder = _complete(node_recipe())
    if folder is None:
        return None
    return NodeBinaries(
        kube_router=folder / "kube-router", coredns=folder / "coredns", pause=folder / "pause",
        agnhost=folder / "agnhost",
    )


def ensure_binaries(progress: Progress = print, allow_go_download: bool = True) -> SandboxBinaries:
    """Return the cached control-plane binaries, building them first when the cache is empty."""
    found = cached_binaries()
    if found is None:
        with _build_lock("build.lock"):
            if cached_binaries() is None:
                build(progress, allow_go_download=allow_go_download)
        found = cached_binaries()
    if found is None:
        raise InfrastructureError(f"La construction n'a pas rempli le cache {binaries_dir()}.")
    return found


def ensure_node_binaries(progress: Progress = print, allow_go_download: bool = True) -> NodeBinaries:
    """Return the cached real-node binaries, building them first when the cache is empty."""
    found = cached_node_binaries()
    if found is None:
        with _build_lock("node-build.lock"):
            if cached_node_binaries() is None:
                build_node(progress, allow_go_download=allow_go_download)
        found = cached_node_binaries()
    if found is None:
        raise InfrastructureError(f"La construction n'a pas rempli le cache {node_binaries_dir()}.")
    return found


@contextmanager
def _build_lock(name: str) -> Iterator[None]:
    sandbox_cache().mkdir(parents=True, exist_ok=True)
    with open(sandbox_cache() / name, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(progress: Progress = print, allow_go_download: bool = True) -> Path:
    """Build the control-plane set into a staging folder, then move it into the cache."""
    return _build(control_plane_recipe(), "staging", "build.log", progress, allow_go_download)


def build_node(progress: Progress = print, allow_go_download: bool = True) -> Path:
    """Build the real-node set into a staging folder, then move it into the cache."""
    return _build(node_recipe(), "node-staging", "node-build.log", progress, allow_go_download)


def _build(recipe: Recipe, staging_name: str, log_name: str, progress: Progress, allow_go_download: bool) -> Path:
    """Run ``recipe`` (the caller holds its lock) and rename the result to its cache folder."""
    started = time.monotonic()
    go = find_go(progress, allow_download=allow_go_download)
    env = _go_env(go)
    values = {"date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    gcc = _find_gcc() if any(step.tool == "gcc" for step in recipe.steps) else "gcc"
    if any("{kubernetes}" in arg for step in recipe.steps for arg in step.args):
        values["kubernetes"] = str(_kubernetes_source(go, env, progress))
    staging_root = sandbox_cache() / staging_name
    shutil.rmtree(staging_root, ignore_errors=True)  # what a killed build of this set left
    staging_root.mkdir(parents=True)
    staging = Path(tempfile.mkdtemp(prefix="build-", dir=staging_root))
    values["out"] = str(staging)
    log = sandbox_cache() / log_name
    seconds: dict[str, float] = {}
    try:
        with open(log, "w") as log_file:
            for index, step in enumerate(recipe.steps, start=1):
                progress(f"[{index}/{len(recipe.steps)}] {step.label}…")
                args = [_substitute(arg, values) for arg in step.args]
                command = [str(go) if step.tool == "go" else gcc, *args]
                cwd = BUILDERS_DIR / step.module if step.module else staging
                step_started = time.monotonic()
                _run_with_heartbeat(command, cwd, dict(env, GOBIN=str(staging)), log_file, progress, started)
                seconds[step.label] = round(time.monotonic() - step_started, 1)
        _write_manifest(recipe, staging, time.monotonic() - started, seconds)
        final = recipe.folder()
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            # Never a complete set (that one is found and reused): set an incomplete one aside, never delete it.
            aside = final.with_name(f"{final.name}.incomplete-{int(time.time())}")
            progress(f"Dossier incomplet {final} mis de côté dans {aside}.")
            os.replace(final, aside)
        os.replace(staging, final)
    finally:
        shutil.rmtree(staging_root, ignore_errors=True)
    progress(f"Binaires prêts dans {final} ({time.monotonic() - started:.0f} s).")
    return final


def _substitute(arg: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        arg = arg.replace("{" + name + "}", value)
    return arg


def _find_gcc() -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        raise UsageError(
            "gcc est introuvable : il compile le binaire pause du nœud réel. Installez les paquets Debian "
            "« gcc » et « libc6-dev » (scripts/setup.sh le fait) et relancez."
        )
    return gcc


def _kubernetes_source(go: Path, env: dict[str, str], progress: Progress) -> Path:
    """The k8s.io/kubernetes module's folder, after checking the agnhost and pause versions it declares."""
    progress(f"Sources de {KUBERNETES_MODULE} (agnhost, pause)…")
    done = subprocess.run(
        [str(go), "mod", "download", "-json", KUBERNETES_MODULE], cwd=BUILDERS_DIR / "k8s-builder", env=env,
        capture_output=True, text=True,
    )
    try:
        info = json.loads(done.stdout)
    except json.JSONDecodeError:
        info = {"Error": (done.stderr or done.stdout).strip() or f"code {done.returncode}"}
    if info.get("Error") or not info.get("Dir"):
        module = f"{info.get('Path', KUBERNETES_MODULE)}@{info.get('Version', '?')}"
        raise InfrastructureError(_module_message(module, info.get("Error", "dossier absent"), go, env))
    source = Path(info["Dir"])
    agnhost = (source / "test/images/agnhost/VERSION").read_text().strip()
    pause = re.search(r"^TAG \?= (\S+)$", (source / "build/pause/Makefile").read_text(), re.M)
    found = {"agnhost": (agnhost, versions.AGNHOST_VERSION), "pause": (pause.group(1) if pause else "?",
                                                                      versions.PAUSE_VERSION)}
    for name, (declared, pinned) in found.items():
        if declared != pinned:
            raise InfrastructureError(
                f"{KUBERNETES_MODULE} déclare {name} {declared} mais versions.py épingle {pinned} : "
                "mettez versions.py à jour."
            )
    return source


def _go_env(go: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(GO_ENV)
    goroot = go.parent.parent
    if (goroot / "src").is_dir() and shutil.which("go") != str(go):
        env["GOROOT"] = str(goroot)
    return env


def _run_with_heartbeat(
    command: list[str], cwd: Path, env: dict[str, str], log_file: TextIO, progress: Progress, started: float
) -> None:
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            progress(f"    … toujours en cours ({time.monotonic() - started:.0f} s écoulées)")

    log_file.write(f"$ {' '.join(command)}\n")
    log_file.flush()
    thread = threading.Thread(target=heartbeat, daemon=True)
    thread.start()
    try:
        result = subprocess.run(command, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    finally:
        done.set()
        thread.join()
    if result.returncode != 0:
        log_file.flush()
        output = Path(log_file.name).read_text(errors="replace")
        tail = "\n".join(output.splitlines()[-15:])
        name = Path(command[0]).name
        explained = _module_failure(output, Path(command[0]), env) if name == "go" else None
        raise InfrastructureError(
            (explained + "\n" if explained else "")
            + f"La commande « {name} {' '.join(command[1:3])} … » a échoué (code {result.returncode}). "
            f"Journal complet : {log_file.name}\n" + tail
        )


def _module_failure(output: str, go: Path, env: dict[str, str]) -> str | None:
    """A French sentence naming the module Go could not obtain, when ``output`` shows one."""
    match = _MODULE_FAILURE.search(output)
    return None if match is None else _module_message(match["module"], match["reason"], go, env)


def _module_message(module: str, reason: str, go: Path, env: dict[str, str]) -> str:
    return (
        f"Le module Go {module} n'a pas pu être obtenu (proxy de modules GOPROXY={go_proxy(go, env)}, "
        f"lu par « go env GOPROXY ») : {reason}"
    )


def go_proxy(go: Path, env: dict[str, str] | None = None) -> str:
    """The module proxy list Go itself uses (``go env GOPROXY``: the environment, then Go's env file)."""
    try:
        return subprocess.run(
            [str(go), "env", "GOPROXY"], capture_output=True, text=True, timeout=30,
            env=env or dict(os.environ, GOTOOLCHAIN="local"),
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return os.environ.get("GOPROXY", "")


def _write_manifest(recipe: Recipe, folder: Path, seconds: float, step_seconds: dict[str, float]) -> None:
    manifest = {
        "key": recipe.key(),
        "kubernetes": versions.KUBERNETES_VERSION,
        "built_at": datetime.now(UTC).isoformat(),
        "build_seconds": round(seconds, 1),
        "step_seconds": step_seconds,
        "files": sorted(p.name for p in folder.iterdir()),
    }
    if recipe.kind == "bin":
        manifest.update(kwok=versions.KWOK_VERSION, etcd=versions.ETCD_VERSION)
    else:
        manifest.update(
            kube_router=versions.KUBE_ROUTER_VERSION, coredns=versions.COREDNS_VERSION,
            coredns_plugins=list(versions.COREDNS_PLUGINS), agnhost=versions.AGNHOST_VERSION,
            pause=versions.PAUSE_VERSION,
        )
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))


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


def _toolchain_proxy() -> str:
    """The first proxy URL of Go's own setting: an older ``go env GOPROXY``, else ``$GOPROXY``, else Go's env file."""
    setting = ""
    older_go = shutil.which("go")
    if older_go:
        setting = go_proxy(Path(older_go))
    setting = setting or os.environ.get("GOPROXY", "")
    if not setting:
        config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        env_file = Path(os.environ.get("GOENV") or config / "go" / "env")
        if env_file.is_file():
            match = re.search(r"^GOPROXY=(.*)$", env_file.read_text(), re.M)
            setting = match.group(1).strip() if match else ""
    for entry in re.split(r"[,|]", setting):
        if entry.strip() == "off":
            break
        if entry.strip().startswith(("https://", "http://", "file://")):
            return entry.strip().rstrip("/")
    raise UsageError(
        f"Go {'.'.join(map(str, versions.GO_MINIMUM))} ou plus récent est introuvable, et aucun proxy de modules "
        f"n'est configuré pour le télécharger (GOPROXY={setting or 'non défini'}). Installez Go, ou définissez "
        "GOPROXY (variable d'environnement ou « go env -w GOPROXY=… ») et relancez."
    )


def _download_toolchain(progress: Progress) -> Path:
    """Fetch the Go toolchain published on the Go module proxy as ``golang.org/toolchain``."""
    module = f"v0.0.1-{versions.GO_TOOLCHAIN_FALLBACK}.linux-amd64"
    url = f"{_toolchain_proxy()}/golang.org/toolchain/@v/{module}.zip"
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
