"""The real node's binaries: built from the Go module proxy, at the pinned versions, cached once.

kubelet and kube-proxy come with the control plane; kube-router (firewall only), CoreDNS (the
dns addon's plugins only), pause and agnhost form the node set. Each test runs a binary as the
real node would and reads what it prints, or runs the build as a user would.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from kubelab import manifest_text
from kubelab.sandbox import build, versions
from kubelab.sandbox.build import NodeBinaries, SandboxBinaries
from kubelab.waiting import deadline as scaled_deadline
from kubelab.waiting import scaled
from tests.helpers import REPO, run_cli

BUILDERS = REPO / "sandbox"
DNS_ADDON = REPO / "graders" / "kubelab" / "sandbox" / "data" / "addons" / "dns.yaml"
# Plugins that register themselves because a plugin we build imports their package. They are
# listed by ``coredns -plugins`` but are not directives of our build: no Corefile can use them.
REGISTERED_BY_DEPENDENCIES = {"debug": "forward", "dnstap": "forward", "metadata": "cache, forward, kubernetes",
                              "transfer": "kubernetes"}


@pytest.fixture(scope="module")
def control_plane() -> SandboxBinaries:
    return build.ensure_binaries(progress=print)


@pytest.fixture(scope="module")
def node() -> NodeBinaries:
    return build.ensure_node_binaries(progress=print)


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=60)


def test_kubelet_and_kube_proxy_print_the_pinned_kubernetes_version(control_plane: SandboxBinaries) -> None:
    """Do the node's kubelet and kube-proxy say they are the control plane's Kubernetes version?"""
    for binary in (control_plane.kubelet, control_plane.kube_proxy):
        assert binary.parent == build.binaries_dir()
        assert run(binary, "--version").stdout.strip() == f"Kubernetes {versions.KUBERNETES_VERSION}"


def test_kube_router_is_the_pinned_version_and_only_the_firewall(node: NodeBinaries, tmp_path: Path) -> None:
    """Does kube-router print v2.1.0, take upstream's flags, and refuse the controllers it lacks?"""
    version = run(node.kube_router, "--version")
    assert version.returncode == 0
    assert f"version {versions.KUBE_ROUTER_VERSION}, built on " in version.stderr

    usage = run(node.kube_router, "--help").stderr
    for flag in ("--run-firewall", "--run-router", "--run-service-proxy", "--kubeconfig", "--hostname-override",
                 "--service-cluster-ip-range", "--iptables-sync-period", "--metrics-port", "--health-port"):
        assert flag in usage

    defaults = run(node.kube_router, f"--kubeconfig={tmp_path / 'absent'}")
    assert defaults.returncode == 1
    assert "contains only the firewall" in defaults.stderr and "--run-router --run-service-proxy" in defaults.stderr

    firewall = run(node.kube_router, "--run-router=false", "--run-service-proxy=false",
                   f"--kubeconfig={tmp_path / 'absent'}")
    assert firewall.returncode == 1
    expected = "failed to build configuration from CLI" if os.geteuid() == 0 else "needs to be run with privileges"
    assert expected in firewall.stderr


def test_coredns_is_the_pinned_version_with_exactly_the_dns_addon_plugins(node: NodeBinaries, tmp_path: Path) -> None:
    """Does CoreDNS print 1.12.0, accept the dns addon Corefile's plugins and whoami, and no other directive?"""
    assert run(node.coredns, "-version").stdout.splitlines()[0] == f"CoreDNS-{versions.COREDNS_VERSION.lstrip('v')}"
    directives = {line.split()[0] for line in _addon_corefile().splitlines() if re.match(r"^    \w", line)}
    assert directives | {"whoami"} == set(versions.COREDNS_PLUGINS)  # whoami: what CoreDNS serves without a Corefile
    listed = set(run(node.coredns, "-plugins").stdout.split())
    assert listed == set(versions.COREDNS_PLUGINS) | set(REGISTERED_BY_DEPENDENCIES)
    for name in REGISTERED_BY_DEPENDENCIES:
        (tmp_path / "Corefile").write_text(f".:{_free_port()} {{\n    {name}\n}}\n")
        refused = run(node.coredns, "-conf", tmp_path / "Corefile")
        assert refused.returncode == 1 and f"Unknown directive '{name}'" in refused.stdout + refused.stderr


def test_coredns_directives_keep_upstream_order(node: NodeBinaries) -> None:
    """Does our CoreDNS run its plugins in the order of upstream's generated directive list?"""
    go = str(build.find_go(allow_download=False))
    done = subprocess.run([go, "list", "-m", "-f", "{{.Dir}}", "github.com/coredns/coredns"],
                          cwd=BUILDERS / "coredns-builder", capture_output=True, text=True, check=True)
    upstream = _string_list((Path(done.stdout.strip()) / "core/dnsserver/zdirectives.go").read_text(), "Directives")
    ours = _string_list((BUILDERS / "coredns-builder" / "main.go").read_text(), "directives")
    assert set(ours) == set(versions.COREDNS_PLUGINS)
    assert ours == [name for name in upstream if name in ours]


def test_coredns_answers_with_the_dns_addon_corefile(node: NodeBinaries, kube_sandbox: object | None,
                                                      request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """With the addon's own Corefile, does CoreDNS resolve Services of the sandbox and report ready?"""
    if kube_sandbox is None:
        kubeconfig = request.config.getoption("kubelab_kubeconfig")
    else:
        kubeconfig = kube_sandbox.kubeconfig  # type: ignore[attr-defined]
    dns, health, ready, metrics, closed = (_free_port() for _ in range(5))
    corefile = (_addon_corefile()
                .replace(".:53 {", f".:{dns} {{")
                .replace("health {", f"health 127.0.0.1:{health} {{")
                .replace("    ready\n", f"    ready 127.0.0.1:{ready}\n")
                .replace("prometheus :9153", f"prometheus 127.0.0.1:{metrics}")
                .replace("forward . /etc/resolv.conf", f"forward . 127.0.0.1:{closed}")
                .replace("pods insecure", f"pods insecure\n      kubeconfig {kubeconfig}"))
    assert f"kubeconfig {kubeconfig}" in corefile and f"forward . 127.0.0.1:{closed}" in corefile
    (tmp_path / "Corefile").write_text(corefile)
    process = subprocess.Popen([str(node.coredns), "-conf", str(tmp_path / "Corefile")],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + scaled_deadline("pod_ready")
        while _http(f"http://127.0.0.1:{ready}/ready") != (200, "OK"):
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "CoreDNS n'est pas prêt"
            time.sleep(0.2)
        assert _http(f"http://127.0.0.1:{health}/health") == (200, "OK")
        assert _resolve(dns, "kubernetes.default.svc.cluster.local") == ["10.152.183.1"]
        assert _resolve(dns, "kube-dns.kube-system.svc.cluster.local") == ["10.152.183.10"]
        build_info = [line for line in _http(f"http://127.0.0.1:{metrics}/metrics")[1].splitlines()
                      if line.startswith("coredns_build_info")]
        assert len(build_info) == 1 and f'version="{versions.COREDNS_VERSION.lstrip("v")}"' in build_info[0]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_pause_and_agnhost_print_the_versions_their_sources_declare(node: NodeBinaries) -> None:
    """Are pause (static) and agnhost the versions test/images and build/pause of Kubernetes declare?"""
    assert run(node.pause, "-v").stdout == f"pause.c v{versions.PAUSE_VERSION}\n"
    assert not _has_interpreter(node.pause)  # static: runs in an image that holds nothing else
    assert run(node.agnhost, "--version").stdout.strip() == f"app version {versions.AGNHOST_VERSION}"


def test_builder_modules_require_the_versions_of_versions_py() -> None:
    """Do the builder modules' go.mod files build what versions.py says?"""
    requires = {
        "k8s-builder": f"k8s.io/kubernetes {versions.KUBERNETES_VERSION}",
        "kube-router-builder": f"github.com/cloudnativelabs/kube-router/v2 {versions.KUBE_ROUTER_VERSION}",
        "coredns-builder": f"github.com/coredns/coredns {versions.COREDNS_VERSION}",
    }
    for module, line in requires.items():
        assert re.search(rf"^\s*(require )?{re.escape(line)}$", (BUILDERS / module / "go.mod").read_text(), re.M)


def test_a_second_lookup_builds_nothing(control_plane: SandboxBinaries, node: NodeBinaries) -> None:
    """Once built, are both sets found again without building, printing or rewriting anything?"""
    folders = (build.binaries_dir(), build.node_binaries_dir())
    manifests_before = {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in
                        (folder / "manifest.json" for folder in folders)}
    messages: list[str] = []
    assert build.ensure_binaries(progress=messages.append) == control_plane
    assert build.ensure_node_binaries(progress=messages.append) == node
    assert messages == []
    assert {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in manifests_before} == manifests_before


def test_failed_node_build_names_the_module_and_keeps_the_cache(control_plane: SandboxBinaries, node: NodeBinaries,
                                                                tmp_path: Path) -> None:
    """With GOPROXY=off and no module cached, does the build fail in French naming the module,
    take the proxy from the environment, and leave the control plane and an older node set intact?"""
    cache = tmp_path / "cache"
    current = _link_set(build.binaries_dir(), cache / "sandbox" / "bin" / build.control_plane_key())
    older = _link_set(build.node_binaries_dir(), cache / "sandbox" / "node" / "from-an-older-recipe")
    before = {folder: _snapshot(folder) for folder in (current, older)}

    result = run_cli("sandbox", "build", "--real-node", env={
        "KUBELAB_CACHE": str(cache), "GOPROXY": "off", "GOMODCACHE": str(tmp_path / "empty-module-cache"),
    })

    assert result.returncode == 3, result.stdout + result.stderr
    expected = ("Le module Go k8s.io/kubernetes@v1.35.4 n'a pas pu être obtenu "
                "(proxy de modules GOPROXY=off, lu par «\u00a0go env GOPROXY\u00a0»)")
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert {folder: _snapshot(folder) for folder in (current, older)} == before
    assert sorted(path.name for path in (cache / "sandbox" / "node").iterdir()) == ["from-an-older-recipe"]
    assert not (cache / "sandbox" / "node-staging").exists()


def _link_set(source: Path, target: Path) -> Path:
    """A cache folder whose binaries are links to ``source``'s, with a copy of its manifest."""
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.name == "manifest.json":
            shutil.copy2(path, target / path.name)
        else:
            (target / path.name).symlink_to(path)
    return target


def _snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {path.name: (os.readlink(path) if path.is_symlink() else path.read_text(), path.lstat().st_mtime_ns)
            for path in folder.iterdir()}


def _has_interpreter(executable: Path) -> bool:
    """Whether a 64-bit ELF file asks for a dynamic loader (a PT_INTERP program header)."""
    data = executable.read_bytes()
    assert data[:5] == b"\x7fELF\x02"
    offset, = struct.unpack_from("<Q", data, 0x20)
    size, count = struct.unpack_from("<HH", data, 0x36)
    return any(struct.unpack_from("<I", data, offset + index * size)[0] == 3 for index in range(count))


def _addon_corefile() -> str:
    documents = manifest_text.parse(DNS_ADDON.read_text(), str(DNS_ADDON))
    config = next(doc for doc in documents if doc["kind"] == "ConfigMap")
    return str(config["data"]["Corefile"])


def _string_list(go_source: str, name: str) -> list[str]:
    body = re.search(rf"{name} = \[\]string\{{(.*?)\}}", go_source, re.S)
    assert body is not None, name
    return re.findall(r'"([^"]+)"', body.group(1))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _http(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except OSError:
        return 0, ""


def _resolve(port: int, name: str) -> list[str]:
    """The A records 127.0.0.1:``port`` answers for ``name`` (a hand-made DNS query over UDP, sent up to three
    times, as a resolver does when no answer comes: on a loaded machine one can take more than 5 s)."""
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + question + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(scaled(5))
        for attempt in range(3):
            client.sendto(query, ("127.0.0.1", port))
            try:
                answer = client.recv(4096)
                break
            except TimeoutError:
                if attempt == 2:
                    raise
    count = struct.unpack(">H", answer[6:8])[0]
    offset = 12 + len(question) + 4
    addresses = []
    for _ in range(count):
        offset += 2 if answer[offset] & 0xC0 == 0xC0 else len(question)
        kind, _class, _ttl, length = struct.unpack(">HHIH", answer[offset:offset + 10])
        offset += 10
        if kind == 1:
            addresses.append(socket.inet_ntoa(answer[offset:offset + length]))
        offset += length
    return addresses
