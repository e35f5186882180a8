"""Each image, pulled by a real containerd through the local registry and run with runc.

The images are pulled under their public names through a ``hosts.d`` configuration that sends
docker.io, registry.k8s.io, quay.io, ghcr.io and gcr.io to the local registry (as the real
node will), then checked the way a learner would: a shell that echoes, a PostgreSQL that
initialises from its environment and checks passwords, nginx answering, redis answering PING.
Every container has its own network namespace (loopback only); the tests reach it through it.
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kubelab.sandbox.images import ImageStore
from tests.images.conftest import RegistryProcess, start_registry
from tests.images.derived_store import derive
from tests.images.netns import in_network_of
from tests.images.pg_wire import PostgresError, query
from tests.images.private_containerd import (
    Mount,
    PrivateContainerd,
    children_of,
    process_status,
    scaled,
)

pytestmark = pytest.mark.host_runtime

PG_ENV = {"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "s3cret-pw", "POSTGRES_DB": "appdb"}
RESTRICTED_POSTGRES = "docker.io/kubelab-test/postgres-as-999:17"


def pull(containerd: PrivateContainerd, reference: str, hosts: Path) -> None:
    result = containerd.pull(reference, hosts_dir=hosts, plain_http=False)
    assert result.returncode == 0, f"{reference} : {result.stderr.strip()}"


@pytest.fixture(scope="module")
def pulled(containerd: PrivateContainerd, mirror_hosts: Path, image_store: ImageStore) -> list[str]:
    """Every reference of the store, pulled under its public name as the kubelet would."""
    for reference in image_store.references:
        pull(containerd, reference, mirror_hosts)
    return list(image_store.references)


@pytest.fixture
def container_name(request: pytest.FixtureRequest) -> str:
    return request.node.name.replace("[", "-").replace("]", "").replace("_", "-")[:60]


@pytest.fixture
def cleanup(containerd: PrivateContainerd) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        containerd.remove(name)


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, details: Callable[[], str] = lambda: ""
) -> None:
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"délai dépassé ({timeout} s) : {what}\n{details()}")


def test_every_reference_pulls_through_the_mirror_with_the_store_digest(
    containerd: PrivateContainerd, pulled: list[str], image_store: ImageStore
) -> None:
    listing = containerd.ctr("images", "ls").stdout.splitlines()[1:]
    digests = {line.split()[0]: line.split()[2] for line in listing}
    for reference in pulled:
        descriptor = image_store.lookup(reference)
        assert descriptor is not None
        assert digests.get(reference) == descriptor.digest, reference


@pytest.mark.parametrize(
    "reference",
    ["docker.io/library/mysql:8.4", "docker.io/library/nginx:1.25", "quay.io/prometheus/prometheus:v3.0.0",
     "registry.k8s.io/kube-proxy:v1.35.4"],
)
def test_an_unknown_image_fails_at_once_with_not_found(
    containerd: PrivateContainerd, mirror_hosts: Path, registry: RegistryProcess, reference: str
) -> None:
    started = time.monotonic()
    result = containerd.pull(reference, hosts_dir=mirror_hosts, plain_http=False)
    assert result.returncode != 0
    assert "not found" in result.stderr
    assert time.monotonic() - started < scaled(10)
    assert any("ns=" in line and " 404" in line for line in registry.log_lines())


def test_a_plain_http_pull_by_registry_address_works(containerd: PrivateContainerd, registry: RegistryProcess) -> None:
    reference = f"{registry.address}/library/busybox:1.36"
    assert containerd.pull(reference).returncode == 0
    result = containerd.run_once("busybox-direct", reference, ["sh", "-c", "echo ok"])
    assert (result.returncode, result.stdout.strip()) == (0, "ok")


def test_busybox_runs_a_shell_and_has_wget_and_timeout(containerd: PrivateContainerd, pulled: list[str]) -> None:
    result = containerd.run_once("busybox-echo", "docker.io/library/busybox:1.36", ["sh", "-c", "echo ok"])
    assert (result.returncode, result.stdout.strip()) == (0, "ok")
    script = (
        "busybox | head -1; which wget timeout nslookup nc; "
        "timeout 1 wget -q -O /dev/null http://127.0.0.1:9/; echo timeout-wget=$?; "
        "wget -T 1 -q -O /dev/null http://127.0.0.1:9/; echo wget-T=$?"
    )
    result = containerd.run_once("busybox-wget", "docker.io/library/busybox:latest", ["sh", "-c", script])
    lines = result.stdout.splitlines()
    assert lines[0].startswith("BusyBox v1.37"), lines[0]
    assert lines[1:5] == ["/usr/bin/wget", "/usr/bin/timeout", "/usr/bin/nslookup", "/usr/bin/nc"]
    codes = dict(line.split("=") for line in lines if "=" in line)
    assert codes["timeout-wget"] == "1", "wget should fail on a closed port, not crash"
    assert codes["wget-T"] == "1", "wget -T should not crash (it does with Debian bookworm's 1.35)"


def _init_scripts(folder: Path) -> Path:
    folder.mkdir()
    (folder / "01-schema.sql").write_text("CREATE TABLE marker (value text);\nINSERT INTO marker VALUES ('sql');\n")
    (folder / "02-more.sh").write_text(
        'psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" '
        "-c \"INSERT INTO marker VALUES ('sh')\"\n"
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


def _pg_ready(containerd: PrivateContainerd, name: str) -> bool:
    if containerd.task_status(name) == "STOPPED":
        raise AssertionError(f"le conteneur {name} s'est arrêté :\n{containerd.logs(name)[-2000:]}")
    return containerd.exec(name, "pg_isready", "-h", "127.0.0.1", "-U", "app", "-d", "appdb").returncode == 0


def test_postgres_initialises_from_its_environment_and_checks_passwords(
    containerd: PrivateContainerd, pulled: list[str], tmp_path: Path, cleanup: list[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    mounts = [
        Mount(str(data), "/var/lib/postgresql/data"),
        Mount(str(_init_scripts(tmp_path / "initdb")), "/docker-entrypoint-initdb.d", options=("rbind", "ro")),
    ]
    cleanup.append("pg-root")
    pid = containerd.run("pg-root", "docker.io/library/postgres:17", env=PG_ENV, mounts=mounts)
    wait_until(lambda: _pg_ready(containerd, "pg-root"), 90, "pg_isready", lambda: containerd.logs("pg-root")[-2000:])
    logs = containerd.logs("pg-root")
    assert "running /docker-entrypoint-initdb.d/01-schema.sql" in logs
    assert "sourcing /docker-entrypoint-initdb.d/02-more.sh" in logs
    assert "PostgreSQL init process complete; ready for start up." in logs
    status = process_status(pid)
    assert status["Uid"].split()[0] == "999" and status["Gid"].split()[0] == "999"
    assert os.stat(data / "PG_VERSION").st_uid == 999
    count = "PGPASSWORD=s3cret-pw psql -h 127.0.0.1 -U app -d appdb -At -c 'SELECT count(*) FROM marker'"
    inside = containerd.exec("pg-root", "sh", "-c", count)
    assert (inside.returncode, inside.stdout.strip()) == (0, "2")

    def remote(password: str) -> list[tuple[str | None, ...]]:
        return query("127.0.0.1", 5432, "app", password, "appdb", "SELECT value FROM marker ORDER BY value")

    assert in_network_of(pid, lambda: remote("s3cret-pw")) == [("sh",), ("sql",)]
    with pytest.raises(PostgresError) as refused:
        in_network_of(pid, lambda: remote("wrong"))
    assert refused.value.code == "28P01"
    listening = in_network_of(
        pid, lambda: query("127.0.0.2", 5432, "app", "s3cret-pw", "appdb", "SHOW listen_addresses")
    )
    assert listening == [("*",)]

    containerd.remove("pg-root")
    cleanup.append("pg-again")
    containerd.run("pg-again", "docker.io/library/postgres:17.6", env=PG_ENV, mounts=mounts)
    wait_until(lambda: _pg_ready(containerd, "pg-again"), 90, "second start")
    assert "Skipping initialization" in containerd.logs("pg-again")


@pytest.fixture(scope="module")
def restricted_registry(
    image_store: ImageStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryProcess]:
    folder = tmp_path_factory.mktemp("derived")
    derived = derive(
        image_store, folder / "store", {RESTRICTED_POSTGRES: ("postgres:17", {"User": "999:999"})}
    )
    served = start_registry(derived.root, folder / "registry.log")
    try:
        yield served
    finally:
        served.stop()


def test_postgres_started_as_999_without_capabilities_uses_a_fresh_volume(
    containerd: PrivateContainerd, restricted_registry: RegistryProcess, tmp_path: Path, cleanup: list[str]
) -> None:
    """runAsNonRoot, runAsUser 999, fsGroup 999, drop ALL, no privilege escalation, PGDATA under the mount."""
    reference = f"{restricted_registry.address}/kubelab-test/postgres-as-999:17"
    assert containerd.pull(reference).returncode == 0
    volume = tmp_path / "volume"
    (volume / "lost+found").mkdir(parents=True)
    (volume / "lost+found").chmod(0o700)
    os.chown(volume, 0, 999)
    volume.chmod(0o2775)
    env = dict(PG_ENV, PGDATA="/var/lib/postgresql/data/pgdata")
    cleanup.append("pg-999")
    pid = containerd.run(
        "pg-999", reference, env=env, mounts=[Mount(str(volume), "/var/lib/postgresql/data")], drop_capabilities=True
    )
    wait_until(lambda: _pg_ready(containerd, "pg-999"), 90, "pg_isready", lambda: containerd.logs("pg-999")[-2000:])
    status = process_status(pid)
    assert status["Uid"].split()[0] == "999"
    assert status["CapEff"] == "0000000000000000"
    assert status["NoNewPrivs"] == "1"
    assert (volume / "pgdata" / "PG_VERSION").is_file()
    rows = in_network_of(pid, lambda: query("127.0.0.1", 5432, "app", "s3cret-pw", "appdb", "SELECT current_user"))
    assert rows == [("app",)]


def test_postgres_refuses_a_mount_point_with_lost_found_as_the_official_image_does(
    containerd: PrivateContainerd, pulled: list[str], tmp_path: Path, cleanup: list[str]
) -> None:
    volume = tmp_path / "volume"
    (volume / "lost+found").mkdir(parents=True)
    cleanup.append("pg-lost-found")
    containerd.run("pg-lost-found", "docker.io/library/postgres:17", env=PG_ENV,
                   mounts=[Mount(str(volume), "/var/lib/postgresql/data")])
    containerd.wait_stopped("pg-lost-found")
    logs = containerd.logs("pg-lost-found")
    assert "lost+found" in logs and "Create a subdirectory under the mount point" in logs


def test_postgres_without_a_password_says_so_and_exits(
    containerd: PrivateContainerd, pulled: list[str]
) -> None:
    result = containerd.run_once("pg-no-password", "docker.io/library/postgres:17", env={"POSTGRES_USER": "app"})
    assert result.returncode == 1
    assert "superuser password is not specified" in result.stdout + result.stderr


def _http_get(port: int, path: str = "/") -> tuple[int, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=scaled(5)) as response:
        return response.status, response.read().decode()


def _answers(pid: int, port: int, path: str = "/") -> bool:
    """Whether the container of ``pid`` answers 200 on ``port`` and ``path``, seen from inside its network."""
    try:
        return in_network_of(pid, lambda: _http_get(port, path))[0] == 200
    except OSError:
        return False


def test_nginx_serves_the_welcome_page_on_80_and_logs_to_stdout(
    containerd: PrivateContainerd, pulled: list[str], cleanup: list[str]
) -> None:
    cleanup.append("nginx")
    pid = containerd.run("nginx", "docker.io/library/nginx:1.27")
    wait_until(lambda: _answers(pid, 80), 30, "nginx on 80")
    status, body = in_network_of(pid, lambda: _http_get(80))
    assert status == 200 and "<title>Welcome to nginx!</title>" in body
    wait_until(lambda: '"GET / HTTP/1.1" 200' in containerd.logs("nginx"), 10, "access log on stdout")
    workers = [process_status(child)["Uid"].split()[0] for child in children_of(pid)]
    assert process_status(pid)["Uid"].split()[0] == "0" and workers and set(workers) == {"101"}
    assert containerd.exec("nginx", "nginx", "-t").returncode == 0


def test_nginx_unprivileged_runs_as_101_on_8080_with_a_read_only_root(
    containerd: PrivateContainerd, pulled: list[str], cleanup: list[str]
) -> None:
    cleanup.append("nginx-unprivileged")
    tmp = Mount("tmpfs", "/tmp", kind="tmpfs", options=("nosuid", "nodev", "mode=1777"))
    pid = containerd.run(
        "nginx-unprivileged", "docker.io/nginxinc/nginx-unprivileged:1.27-alpine", mounts=[tmp], read_only=True,
        drop_capabilities=True,
    )
    wait_until(lambda: _answers(pid, 8080), 30, "nginx on 8080", lambda: containerd.logs("nginx-unprivileged")[-1500:])
    assert "Welcome to nginx!" in in_network_of(pid, lambda: _http_get(8080))[1]
    assert not _answers(pid, 80)
    for process in [pid, *children_of(pid)]:
        assert process_status(process)["Uid"].split()[0] == "101"
    assert containerd.exec("nginx-unprivileged", "sh", "-c", "touch /etc/x").returncode != 0
    assert containerd.exec("nginx-unprivileged", "ls", "/tmp/nginx.pid").returncode == 0


def _redis_ping(source: str) -> bytes:
    with socket.create_connection(("127.0.0.1", 6379), timeout=scaled(5), source_address=(source, 0)) as link:
        link.sendall(b"*1\r\n$4\r\nPING\r\n")
        return link.recv(200)


def test_redis_answers_ping_to_a_remote_client_as_999(
    containerd: PrivateContainerd, pulled: list[str], cleanup: list[str]
) -> None:
    cleanup.append("redis")
    pid = containerd.run("redis", "docker.io/library/redis:7")
    wait_until(lambda: containerd.exec("redis", "redis-cli", "ping").stdout.strip() == "PONG", 30, "redis PING")
    assert in_network_of(pid, lambda: _redis_ping("127.0.0.2")) == b"+PONG\r\n", "protected mode must be off"
    assert process_status(pid)["Uid"].split()[0] == "999"
    version = containerd.exec("redis", "redis-server", "--version").stdout
    assert "v=7." in version


def test_pause_runs_as_65535_and_stops_on_sigterm(
    containerd: PrivateContainerd, pulled: list[str], cleanup: list[str]
) -> None:
    cleanup.append("pause")
    pid = containerd.run("pause", "registry.k8s.io/pause:3.10")
    assert process_status(pid)["Uid"].split()[0] == "65535"
    containerd.ctr("tasks", "kill", "--signal", "SIGTERM", "pause")
    containerd.wait_stopped("pause", timeout=10)


def _dns_query(name: str) -> bytes:
    header = struct.pack("!HHHHHH", 0x4B4C, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split("."))
    question = labels + b"\0" + struct.pack("!HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as link:
        link.settimeout(scaled(5))
        link.sendto(header + question, ("127.0.0.1", 53))
        return link.recv(512)


def test_coredns_binds_53_as_nonroot_thanks_to_its_file_capability(
    containerd: PrivateContainerd, pulled: list[str], cleanup: list[str]
) -> None:
    version = containerd.run_once("coredns-version", "docker.io/coredns/coredns:1.12.0", ["/coredns", "-version"])
    assert version.stdout.startswith("CoreDNS-1.12.0")
    cleanup.append("coredns")
    pid = containerd.run("coredns", "docker.io/coredns/coredns:1.12.0")
    assert process_status(pid)["Uid"].split()[0] == "65532"

    def answered() -> bool:
        try:
            return in_network_of(pid, lambda: _dns_query("example.org"))[:2] == b"\x4b\x4c"
        except OSError:
            return False

    wait_until(answered, 30, "CoreDNS on 53", lambda: containerd.logs("coredns")[-1500:])



GRAFANA = "docker.io/grafana/grafana:12.2.1"


def test_grafana_stand_in_answers_api_health_on_3000_as_472_and_creates_its_database(
    containerd: PrivateContainerd, pulled: list[str], cleanup: list[str]
) -> None:
    cleanup.append("grafana")
    pid = containerd.run("grafana", GRAFANA, env={"GF_SECURITY_ADMIN_PASSWORD": "never-logged"})
    wait_until(lambda: _answers(pid, 3000, "/api/health"), 30, "/api/health on 3000",
               lambda: containerd.logs("grafana")[-1500:])
    status, body = in_network_of(pid, lambda: _http_get(3000, "/api/health"))
    assert status == 200 and '"database": "ok"' in body and "kubelab-stand-in" in body
    assert process_status(pid)["Uid"].split()[0] == "472"
    assert containerd.exec("grafana", "test", "-f", "/var/lib/grafana/grafana.db").returncode == 0
    assert "never-logged" not in containerd.logs("grafana")


def test_grafana_stand_in_stops_like_grafana_when_its_data_folder_is_not_writable(
    containerd: PrivateContainerd, pulled: list[str], tmp_path: Path
) -> None:
    data = tmp_path / "grafana-data"
    data.mkdir(mode=0o755)
    result = containerd.run_once("grafana-read-only-data", GRAFANA, mounts=[Mount(str(data), "/var/lib/grafana")])
    assert result.returncode == 1, result.stdout
    assert "GF_PATHS_DATA='/var/lib/grafana' is not writable." in result.stdout
    assert "can't create directory '/var/lib/grafana/plugins'" in result.stdout + result.stderr


def test_grafana_stand_in_reads_gf_file_variables_and_its_port(
    containerd: PrivateContainerd, pulled: list[str], cleanup: list[str], tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "port").write_text("3300")
    secrets.chmod(0o755)
    (secrets / "port").chmod(0o644)
    cleanup.append("grafana-port")
    pid = containerd.run("grafana-port", GRAFANA, env={"GF_SERVER_HTTP_PORT__FILE": "/run/secrets/port"},
                         mounts=[Mount(str(secrets), "/run/secrets", options=("rbind", "ro"))])
    wait_until(lambda: _answers(pid, 3300, "/api/health"), 30, "/api/health on 3300",
               lambda: containerd.logs("grafana-port")[-1500:])
    assert "Getting secret GF_SERVER_HTTP_PORT from /run/secrets/port" in containerd.logs("grafana-port")


def test_a_crashed_private_containerd_is_cleaned_up_completely(
    pulled: list[str], mirror_hosts: Path, tmp_path: Path
) -> None:
    """containerd killed with a container running: stop() still leaves no process, mount or cgroup."""
    crashed = PrivateContainerd(tmp_path / "crashed")
    try:
        crashed.start()
        pull(crashed, "docker.io/library/busybox:1.37", mirror_hosts)
        pid = crashed.run("sleeper", "docker.io/library/busybox:1.37", ["sleep", "600"])
        assert Path(f"/proc/{pid}").exists()
        assert crashed.process is not None
        crashed.process.kill()
        crashed.process.wait(timeout=scaled(10))
    finally:
        crashed.stop()
    assert crashed.leftovers() == []
    shim_socket = hashlib.sha256(os.path.join(str(crashed.socket), crashed.namespace, "sleeper").encode()).hexdigest()
    assert not Path("/run/containerd/s", shim_socket).exists(), "the shim socket went to the host's /run"
