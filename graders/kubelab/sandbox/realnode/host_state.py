"""What the real node can change on the host, read without changing anything.

``capture()`` records every facet the node touches (processes, links, routes, rules,
iptables and nftables, ipsets, mounts, sysctls, cgroups, folders); ``differences`` lists,
in French, what differs between two captures. The journal keeps the capture taken before
``up``; ``down`` restores from it, and a test proves a capture after ``down`` equals it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kubelab.sandbox.realnode import layout

# Kernel settings the node's components are known to write (kubelet, kube-proxy, our set-up).
TRACKED_SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.forwarding",
    "net.ipv4.conf.all.route_localnet",
    "net.ipv6.conf.all.forwarding",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.netfilter.nf_conntrack_max",
    "net.netfilter.nf_conntrack_tcp_timeout_established",
    "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
)
# Wider scan, to prove nothing else moved: every writable setting under these folders.
SCANNED_SYSCTL_FOLDERS = ("net/ipv4", "net/ipv6/conf/all", "net/ipv6/conf/default", "net/bridge",
                          "net/netfilter", "net/core", "vm", "kernel")
VOLATILE_SYSCTLS = re.compile(
    r"^(kernel\.(random|ns_last_pid|pty\.nr|sched_domain|usermodehelper|cad_pid|tainted|perf_event)"
    r"|net\.netfilter\.nf_conntrack_(count|buckets|expect_max)|net\.ipv4\.(conf|neigh)\.(?!all\b|default\b)"
    r"|net\.ipv4\.tcp_(mem|fastopen_key)|net\.ipv4\.route\.flush|net\.ipv4\.neigh\.|vm\.(stat_refresh|drop_caches"
    r"|compact_memory|nr_|min_free)|net\.core\.(netdev_rss_key))"
)
COUNTERS = re.compile(r"\[\d+:\d+\]|counter packets \d+ bytes \d+")


@dataclass
class HostState:
    """One capture of the host facets the real node touches."""

    processes: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    iptables: list[str] = field(default_factory=list)
    ip6tables: list[str] = field(default_factory=list)
    nftables: list[str] = field(default_factory=list)
    ipsets: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    sysctls: dict[str, str] = field(default_factory=dict)
    cgroups: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    netns: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostState:
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)


def capture() -> HostState:
    """Read every facet; never writes."""
    return HostState(
        processes=node_processes(),
        links=sorted(_lines(["ip", "-o", "link", "show"], lambda line: line.split(":")[1].strip().split("@")[0])),
        routes=sorted(_lines(["ip", "route", "show", "table", "all"], _route_key)),
        rules=sorted(_lines(["ip", "rule", "show"])),
        iptables=_tables("iptables-save"),
        ip6tables=_tables("ip6tables-save"),
        nftables=_nft_ruleset(),
        ipsets=sorted(_lines(["ipset", "list", "-n"])),
        mounts=sorted(mount_points()),
        sysctls=scan_sysctls(),
        cgroups=sorted(str(path) for path in node_cgroups()),
        paths=sorted(str(path) for path in _node_paths() if path.exists()),
        netns=sorted(path.name for path in Path("/run/netns").glob("*")) if Path("/run/netns").is_dir() else [],
    )


def differences(before: HostState, after: HostState) -> list[str]:
    """French lines naming what ``after`` has that ``before`` had not, and the reverse."""
    found: list[str] = []
    labels = {
        "processes": "processus", "links": "interface réseau", "routes": "route", "rules": "règle de routage",
        "iptables": "règle iptables", "ip6tables": "règle ip6tables", "nftables": "nftables", "ipsets": "ipset",
        "mounts": "point de montage", "cgroups": "cgroup", "paths": "dossier", "netns": "namespace réseau",
    }
    for name, label in labels.items():
        old, new = set(getattr(before, name)), set(getattr(after, name))
        found += [f"{label} en trop : {item}" for item in sorted(new - old)]
        found += [f"{label} disparu(e) : {item}" for item in sorted(old - new)]
    for key in sorted(set(before.sysctls) | set(after.sysctls)):
        if before.sysctls.get(key) != after.sysctls.get(key):
            found.append(f"sysctl modifié : {key} = {after.sysctls.get(key)} (avant : {before.sysctls.get(key)})")
    return found


# --- facets ------------------------------------------------------------------------------


def node_processes() -> list[str]:
    """Processes of the node: their command line names its folders, or they live in its cgroups."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            cgroups = (entry / "cgroup").read_text()
        except OSError:
            continue
        if not cmdline:
            continue
        if _names_node_folder(cmdline) or f"/{layout.CGROUP_ROOT}" in cgroups:
            found.append(f"{entry.name} {cmdline[:160]}")
    return sorted(found)


def node_pids() -> list[int]:
    return [int(line.split(" ", 1)[0]) for line in node_processes()]


def _names_node_folder(cmdline: str) -> bool:
    return str(layout.NODE_ROOT) in cmdline or str(layout.NODE_RUN) in cmdline


def mount_points() -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if len(fields) > 4:
            points.append(fields[4].replace("\\040", " "))
    return points


def node_mounts() -> list[str]:
    """Mount points under the node's folders or in its network namespaces, deepest first."""
    owned = [point for point in mount_points() if layout.owned_path(point)]
    return sorted(set(owned), key=lambda point: (-point.count("/"), point))


def node_cgroups() -> list[Path]:
    """The node's cgroup folders, one per hierarchy (cgroup v1 mounts one per controller)."""
    base = Path("/sys/fs/cgroup")
    candidates = [base / layout.CGROUP_ROOT] + [path / layout.CGROUP_ROOT for path in base.glob("*")]
    return [path for path in candidates if path.is_dir()]


def _node_paths() -> list[Path]:
    return [layout.NODE_ROOT, layout.NODE_RUN, *layout.SHARED_FOLDERS]


def read_sysctl(key: str) -> str | None:
    path = Path("/proc/sys") / key.replace(".", "/")
    try:
        return " ".join(path.read_text().split())
    except OSError:
        return None


def tracked_sysctls() -> dict[str, str]:
    values = {key: read_sysctl(key) for key in TRACKED_SYSCTLS}
    return {key: value for key, value in values.items() if value is not None}


def scan_sysctls() -> dict[str, str]:
    values: dict[str, str] = {}
    root = Path("/proc/sys")
    for folder in SCANNED_SYSCTL_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if not path.is_file():
                continue
            key = ".".join(path.relative_to(root).parts)
            if VOLATILE_SYSCTLS.match(key) or not path.stat().st_mode & 0o200:
                continue
            try:
                values[key] = " ".join(path.read_text().split())
            except OSError:
                continue
    values.update(tracked_sysctls())
    return values


def _tables(command: str) -> list[str]:
    if shutil.which(command) is None:
        return []
    lines = _lines([command])
    return [COUNTERS.sub("", line).strip() for line in lines if not line.startswith("#")]


def _nft_ruleset() -> list[str]:
    if shutil.which("nft") is None:
        return []
    return [COUNTERS.sub("", line).strip() for line in _lines(["nft", "list", "ruleset"]) if line.strip()]


def _route_key(line: str) -> str:
    return re.sub(r"\s+expires \S+", "", line).strip()


def _lines(argv: list[str], key: Any = None) -> list[str]:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return [key(line) for line in lines] if key else lines
