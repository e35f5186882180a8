"""The host changes the real node makes itself, journaled, and their undoing.

``prepare`` records a capture of the host and the sysctls it will change in the journal
*before* changing anything, then creates the node's dummy interface (the node's and the API
server's address), the pods' bridge, blackhole routes so that no sandbox address ever leaves
the machine, and a policy-routing rule that drops pod traffic to anything but this machine.

``restore`` undoes all of it and what the node's components added (iptables chains of
kubelet, kube-proxy and kube-router, their ipsets), from the journal when there is one and by
the node's fixed names otherwise. It is idempotent and never touches what was there before.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubelab.errors import InfrastructureError
from kubelab.sandbox.realnode import host_state, layout

Progress = Callable[[str], None]
NODE_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
}
OUR_MARKS = re.compile(r"KUBE-|CNI-|KUBELAB|kubelab|kube-router|kubernetes|cni0")


def run(argv: list[str], check: bool = True, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a host command; with ``check``, a failure is an infrastructure error quoting it."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, input=input_text)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InfrastructureError(f"La commande « {' '.join(argv)} » n'a pas pu s'exécuter : {exc}") from exc
    if check and result.returncode != 0:
        raise InfrastructureError(
            f"La commande « {' '.join(argv)} » a échoué (code {result.returncode}) : "
            f"{(result.stderr or result.stdout).strip()[:500]}"
        )
    return result


# --- journal ------------------------------------------------------------------------------


def read_journal() -> dict[str, Any] | None:
    try:
        data = json.loads(layout.JOURNAL.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_journal(data: dict[str, Any]) -> None:
    layout.JOURNAL.parent.mkdir(parents=True, exist_ok=True)
    tmp = layout.JOURNAL.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, layout.JOURNAL)


def journal_before() -> host_state.HostState | None:
    """The capture taken before the last ``up``, if its journal survives."""
    data = read_journal()
    return host_state.HostState.from_json(data["before"]) if data and "before" in data else None


# --- prepare -------------------------------------------------------------------------------


def prepare(network: layout.NodeNetwork) -> None:
    """Journal the host, then set up the node's links, routes, rule and sysctls."""
    before = host_state.capture()
    _write_journal({"before": before.to_json(), "sysctls": host_state.tracked_sysctls(),
                    "folders": {str(path): path.exists() for path in layout.SHARED_FOLDERS}})
    for key, value in NODE_SYSCTLS.items():
        _write_sysctl(key, value)
    run(["ip", "link", "add", layout.HOST_LINK, "type", "bridge"])  # this kernel has no dummy driver
    run(["ip", "addr", "add", f"{network.node_ip}/32", "dev", layout.HOST_LINK])
    run(["ip", "link", "set", layout.HOST_LINK, "up"])
    prefix = network.pod_cidr.split("/")[1]
    run(["ip", "link", "add", layout.POD_BRIDGE, "type", "bridge"])
    run(["ip", "addr", "add", f"{network.pod_gateway}/{prefix}", "dev", layout.POD_BRIDGE])
    run(["ip", "link", "set", layout.POD_BRIDGE, "up"])
    for cidr in layout.BLACKHOLES:
        run(["ip", "route", "add", "blackhole", cidr])
    table = str(layout.ROUTE_TABLE)
    run(["ip", "route", "add", network.pod_cidr, "dev", layout.POD_BRIDGE, "table", table])
    run(["ip", "route", "add", "blackhole", "default", "table", table])
    run(["ip", "rule", "add", "iif", layout.POD_BRIDGE, "lookup", table, "priority", str(layout.RULE_PRIORITY)])


def _write_sysctl(key: str, value: str) -> None:
    path = Path("/proc/sys") / key.replace(".", "/")
    try:
        path.write_text(value)
    except OSError as exc:
        raise InfrastructureError(f"Impossible de régler le paramètre du noyau {key} = {value} : {exc}") from exc


# --- restore -------------------------------------------------------------------------------


def restore(progress: Progress) -> None:
    """Undo ``prepare`` and the components' firewall state; safe to call at any time."""
    journal = read_journal() or {}
    before = host_state.HostState.from_json(journal["before"]) if "before" in journal else None
    while run(["ip", "rule", "del", "priority", str(layout.RULE_PRIORITY)], check=False).returncode == 0:
        pass
    run(["ip", "route", "flush", "table", str(layout.ROUTE_TABLE)], check=False)
    for cidr in layout.BLACKHOLES:
        run(["ip", "route", "del", "blackhole", cidr], check=False)
    for veth in _links_of(layout.POD_BRIDGE):
        run(["ip", "link", "del", veth], check=False)
    for link in (layout.POD_BRIDGE, layout.HOST_LINK):
        run(["ip", "link", "del", link], check=False)
    for family in ("iptables", "ip6tables"):
        _clean_firewall(family, getattr(before, family) if before else None)
    _clean_nftables(before.nftables if before else None)
    _clean_ipsets(before.ipsets if before else None)
    for key, value in (journal.get("sysctls") or {}).items():
        if host_state.read_sysctl(key) != value:
            try:
                _write_sysctl(key, value)
            except InfrastructureError as exc:
                progress(f"⚠ {exc.message}")


def forget_journal() -> None:
    layout.JOURNAL.unlink(missing_ok=True)


def created_folders() -> list[Path]:
    """The shared folders (``/var/lib/cni``…) that did not exist before ``up``."""
    folders = (read_journal() or {}).get("folders") or {}
    return [Path(path) for path, existed in folders.items() if not existed]


def _links_of(bridge: str) -> list[str]:
    result = run(["ip", "-o", "link", "show", "master", bridge], check=False)
    return [line.split(":")[1].strip().split("@")[0] for line in result.stdout.splitlines() if ":" in line]


def _clean_firewall(family: str, before: list[str] | None) -> None:
    """Delete the rules and chains the node added, keeping whatever was there before."""
    saved = run([f"{family}-save"], check=False)
    if saved.returncode != 0:
        return
    kept = set(before or [])
    table = ""
    rules: list[tuple[str, str]] = []
    chains: list[tuple[str, str]] = []
    for raw in saved.stdout.splitlines():
        line = host_state.COUNTERS.sub("", raw).strip()
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":"):
            name = line[1:].split()[0]
            if name.startswith(layout.CHAIN_PREFIXES) and line not in kept:
                chains.append((table, name))
        elif line.startswith("-A ") and line not in kept and OUR_MARKS.search(line):
            rules.append((table, line))
    for table_name, rule in rules:
        chain = rule.split()[1]
        if not chain.startswith(layout.CHAIN_PREFIXES):
            run([family, "-t", table_name, "-D", *shlex.split(rule)[1:]], check=False)
    for table_name, chain in chains:
        run([family, "-t", table_name, "-F", chain], check=False)
    for table_name, chain in chains:
        run([family, "-t", table_name, "-X", chain], check=False)


def _clean_nftables(before: list[str] | None) -> None:
    """Drop nftables tables that did not exist before and hold nothing any more."""
    listed = run(["nft", "list", "tables"], check=False)
    if listed.returncode != 0:
        return
    existed = {line for line in (before or []) if line.startswith("table ")}
    for line in listed.stdout.splitlines():
        name = line.strip()
        if not name.startswith("table ") or f"{name} {{" in existed:
            continue
        family, table = name.split()[1:3]
        content = run(["nft", "list", "table", family, table], check=False).stdout
        if table.startswith(("kube-proxy", "kubelab")) or (before is not None and _holds_no_rule(content)):
            run(["nft", "delete", "table", family, table], check=False)


def _holds_no_rule(table_listing: str) -> bool:
    """Whether an ``nft list table`` output has only chain headers (iptables-nft leaves those)."""
    skeleton = re.compile(r"^(table .*\{|chain .*\{|type .* hook .*;|\}|)$")
    return all(skeleton.match(line.strip()) for line in table_listing.splitlines())


def _clean_ipsets(before: list[str] | None) -> None:
    listed = run(["ipset", "list", "-n"], check=False)
    if listed.returncode != 0:
        return
    kept = set(before or [])
    for name in listed.stdout.split():
        ours = name not in kept if before is not None else bool(re.match(r"(inet6:)?(KUBE-|kube-router)", name))
        if ours:
            run(["ipset", "destroy", name], check=False)
