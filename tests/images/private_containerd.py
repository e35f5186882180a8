"""A private containerd for the image tests, isolated from the machine's own.

It runs in a mount namespace of its own with a tmpfs over ``/run`` (containerd 1.6 puts the
shims' sockets under ``/run/containerd/s`` whatever its state folder), and keeps its root,
state, socket, FIFOs and logs in a temporary folder. Overlay and container mounts live and
die with that namespace: nothing is mounted on the host. Containers get a network namespace
of their own (loopback only); the tests reach them with ``nsenter --net``.
Clean-up kills the tasks, the shims found by this containerd's unique socket path, then
containerd, all by process id.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
# containerd's default capability set: dropping them all is Kubernetes' `capabilities: drop: [ALL]`.
DEFAULT_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
)
TIMEOUT_FACTOR = float(os.environ.get("KUBELAB_TIMEOUT_FACTOR", "1"))


def scaled(seconds: float) -> float:
    return seconds * TIMEOUT_FACTOR


@dataclass
class Mount:
    source: str
    destination: str
    kind: str = "bind"
    options: tuple[str, ...] = ("rbind", "rw")

    def argument(self) -> str:
        return f"type={self.kind},src={self.source},dst={self.destination},options={':'.join(self.options)}"


@dataclass
class PrivateContainerd:
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    containers: list[str] = field(default_factory=list)
    task_pids: dict[str, int] = field(default_factory=dict)
    namespace: str = field(default_factory=lambda: f"kubelab-images-{os.getpid()}-{time.monotonic_ns()}")

    @property
    def socket(self) -> Path:
        return self.folder / "containerd.sock"

    def start(self) -> None:
        for name in ("root", "state", "fifo", "logs", "hosts"):
            (self.folder / name).mkdir(parents=True, exist_ok=True)
        config = self.folder / "config.toml"
        config.write_text(
            "version = 2\n"
            f'root = "{self.folder / "root"}"\n'
            f'state = "{self.folder / "state"}"\n'
            'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
            "[grpc]\n"
            f'  address = "{self.socket}"\n'
            "[ttrpc]\n"
            f'  address = "{self.socket}.ttrpc"\n'
            "[debug]\n"
            '  address = ""\n'
        )
        log = open(self.folder / "containerd.log", "wb")
        script = 'mount -t tmpfs -o mode=0755 kubelab-images-test /run && exec containerd --config "$0"'
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(config)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + scaled(30)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"containerd s'est arrêté : {self.log_tail()}")
            if self.socket.exists() and self.ctr("version", check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError(f"containerd ne répond pas après 30 s : {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        path = self.folder / "containerd.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def ctr(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["ctr", "--address", str(self.socket), "--namespace", self.namespace, *args],
            capture_output=True, text=True, timeout=scaled(timeout),
        )
        if check and result.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)} a échoué ({result.returncode}) : {result.stderr.strip()}")
        return result

    def pull(
        self, reference: str, hosts_dir: Path | None = None, plain_http: bool = True
    ) -> subprocess.CompletedProcess[str]:
        args = ["images", "pull"]
        if plain_http:
            args.append("--plain-http")
        if hosts_dir is not None:
            args += ["--hosts-dir", str(hosts_dir)]
        return self.ctr(*args, reference, check=False, timeout=300)

    def run(
        self,
        name: str,
        image: str,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        mounts: Sequence[Mount] = (),
        read_only: bool = False,
        drop_capabilities: bool = False,
    ) -> int:
        """Start ``image`` detached as container ``name``; its task's host pid."""
        options = ["run", "-d", "--log-uri", f"file://{self.log_path(name)}"]
        options += self._options(env, mounts, read_only, drop_capabilities)
        self.containers.append(name)
        self.ctr(*options, image, name, *args)
        self.task_pids[name] = self.task_pid(name)
        return self.task_pids[name]

    def run_once(
        self, name: str, image: str, args: Sequence[str] = (), env: dict[str, str] | None = None,
        mounts: Sequence[Mount] = (), timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``image`` to completion; ctr's exit code is the container's, its output the container's."""
        options = ["run", "--rm", "--fifo-dir", str(self.folder / "fifo")] + self._options(env, mounts, False, False)
        self.containers.append(name)
        try:
            return self.ctr(*options, image, name, *args, check=False, timeout=timeout)
        finally:
            self.remove(name)

    @staticmethod
    def _options(
        env: dict[str, str] | None, mounts: Sequence[Mount], read_only: bool, drop_capabilities: bool
    ) -> list[str]:
        options: list[str] = []
        for key, value in (env or {}).items():
            options += ["--env", f"{key}={value}"]
        for mount in mounts:
            options += ["--mount", mount.argument()]
        if read_only:
            options.append("--read-only")
        if drop_capabilities:
            for capability in DEFAULT_CAPABILITIES:
                options += ["--cap-drop", capability]
        return options

    def wait_stopped(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + scaled(timeout)
        while self.task_status(name) not in ("STOPPED", "ABSENT"):
            if time.monotonic() > deadline:
                raise AssertionError(f"le conteneur {name} tourne encore après {timeout} s : {self.logs(name)[-2000:]}")
            time.sleep(0.2)

    def log_path(self, name: str) -> Path:
        return self.folder / "logs" / f"{name}.log"

    def logs(self, name: str) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def task_pid(self, name: str) -> int:
        for line in self.ctr("tasks", "ls").stdout.splitlines()[1:]:
            parts = line.split()
            if parts and parts[0] == name:
                return int(parts[1])
        raise AssertionError(f"pas de tâche pour le conteneur {name}")

    def task_status(self, name: str) -> str:
        for line in self.ctr("tasks", "ls").stdout.splitlines()[1:]:
            parts = line.split()
            if parts and parts[0] == name:
                return parts[2]
        return "ABSENT"

    def exec(self, name: str, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        exec_id = f"exec-{time.monotonic_ns()}"
        return self.ctr(
            "tasks", "exec", "--fifo-dir", str(self.folder / "fifo"), "--exec-id", exec_id, name, *argv,
            check=False, timeout=timeout,
        )

    def remove(self, name: str) -> None:
        self.ctr("tasks", "kill", "--signal", "SIGKILL", name, check=False)
        deadline = time.monotonic() + scaled(20)
        while self.task_status(name) not in ("STOPPED", "ABSENT") and time.monotonic() < deadline:
            time.sleep(0.1)
        self.ctr("tasks", "delete", name, check=False)
        self.ctr("containers", "delete", name, check=False)
        if name in self.containers:
            self.containers.remove(name)
        self.task_pids.pop(name, None)

    def stop(self) -> None:
        """Remove every container, then stop containerd and any shim of ours that is left."""
        if self.process is not None and self.process.poll() is None:
            for name in list(self.containers):
                try:
                    self.remove(name)
                except (subprocess.SubprocessError, AssertionError):
                    pass
        for pid in [*self.task_pids.values(), *self._own_shims()]:
            _kill(pid)
        if self.process is not None:
            terminate(self.process)
        for pid in self._own_shims():
            _kill(pid)
        self._wait_gone(list(self.task_pids.values()))
        self._remove_cgroups()

    @staticmethod
    def _wait_gone(pids: list[int]) -> None:
        deadline = time.monotonic() + scaled(10)
        while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)

    def _remove_cgroups(self) -> None:
        """runc removes each container's cgroup; the namespace's parent cgroups are ours to remove."""
        for hierarchy in CGROUP_ROOT.iterdir() if CGROUP_ROOT.is_dir() else ():
            top = hierarchy / self.namespace
            if not top.is_dir():
                continue
            for folder in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                folder.rmdir()
            top.rmdir()

    def leftovers(self) -> list[str]:
        """What this containerd left on the host: processes, mounts, cgroups (empty when clean)."""
        found = [f"processus {pid}" for pid in self._own_shims()]
        found += [f"processus {pid}" for pid in self.task_pids.values() if Path(f"/proc/{pid}").exists()]
        if self.process is not None and self.process.poll() is None:
            found.append(f"containerd {self.process.pid}")
        mounts = Path("/proc/self/mountinfo").read_text()
        found += [f"montage {line.split()[4]}" for line in mounts.splitlines() if str(self.folder) in line]
        found += [f"cgroup {path}" for path in self.leftover_cgroups()]
        return found

    def leftover_cgroups(self) -> list[Path]:
        if not CGROUP_ROOT.is_dir():
            return []
        return [
            hierarchy / self.namespace for hierarchy in CGROUP_ROOT.iterdir() if (hierarchy / self.namespace).exists()
        ]

    def _own_shims(self) -> list[int]:
        """Processes started by this containerd: their command line names its unique socket."""
        marker = str(self.socket).encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"containerd-shim" in cmdline and marker in cmdline.split(b"\0"):
                found.append(int(entry.name))
        return found

    def in_network(self, pid: int, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` on the host side inside the network namespace of task ``pid``."""
        return subprocess.run(
            ["nsenter", f"--net=/proc/{pid}/ns/net", *argv], capture_output=True, text=True, timeout=scaled(timeout),
        )


def terminate(process: subprocess.Popen, grace: float = 20) -> int:  # type: ignore[type-arg]
    """SIGTERM, then SIGKILL after ``grace`` seconds; the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=scaled(grace))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=scaled(grace))
    return process.returncode


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def tools_missing() -> list[str]:
    return [tool for tool in ("containerd", "containerd-shim-runc-v2", "runc", "ctr", "unshare", "nsenter")
            if shutil.which(tool) is None]


def process_status(pid: int) -> dict[str, str]:
    """The fields of ``/proc/PID/status`` (``Uid``, ``Gid``, ``Groups``, ``CapEff``, ``NoNewPrivs``…)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if process_status(int(entry.name)).get("PPid") == str(pid):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
