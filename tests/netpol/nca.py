"""Run network-config-analyzer (NCA) on many cases at once and read its connectivity maps.

Cases are batched through NCA's scheme files (one network config and one
``connectivityMap`` query per case, ``txt_no_fw_rules`` output in one file per case), one
NCA process per batch, the batches in parallel. Each output line reads
``SOURCE => DESTINATION : CONNECTIONS`` (a pair may have several lines, to be ORed) where a
source is ``ns/pod[Pod]`` or an address range, and CONNECTIONS is ``All connections``,
``{protocols:TCP, UDP,dst_ports:80,8000-9000},…`` or ``All but {…}``.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.helpers import REPO

from .random_cases import Case

NCA = REPO / ".venv-nca" / "bin" / "nca"
PROTOCOL_NUMBERS = {"TCP": 6, "UDP": 17, "SCTP": 132}
LINE = re.compile(r"^(?P<src>\S+) => (?P<dst>\S+) : (?P<conns>.+)$")
Allows = Callable[[str, int], bool]


def write_case(case: Case, folder: Path) -> None:
    """``resources.yaml`` (namespaces and pods) and ``policies/policies.yaml``."""
    (folder / "policies").mkdir(parents=True)
    (folder / "resources.yaml").write_text(yaml.safe_dump_all([*case.namespaces, *case.pods]))
    (folder / "policies" / "policies.yaml").write_text(yaml.safe_dump_all(case.policies))


def run(cases: Sequence[Case], workdir: Path, batches: int = 2) -> dict[int, str]:
    """NCA's connectivity map of every case (its ``txt_no_fw_rules`` text), by case index."""
    empty = workdir / "empty.yaml"
    empty.write_text("")
    processes = []
    for batch in range(batches):
        members = cases[batch::batches]
        configs, queries = [], []
        for case in members:
            folder = workdir / f"case-{case.index}"
            write_case(case, folder)
            configs.append({"name": f"case-{case.index}", "namespaceList": str(folder / "resources.yaml"),
                            "podList": str(folder / "resources.yaml"),
                            "networkPolicyList": [str(folder / "policies")]})
            queries.append({"name": f"map-{case.index}", "connectivityMap": [f"case-{case.index}"],
                            "outputConfiguration": {"outputFormat": "txt_no_fw_rules",
                                                    "outputPath": str(folder / "nca.txt")}})
        scheme = workdir / f"scheme-{batch}.yaml"
        scheme.write_text(yaml.safe_dump({"namespaceList": str(empty), "podList": str(empty),
                                          "networkConfigList": configs, "queries": queries}))
        log = (workdir / f"nca-{batch}.log").open("w")
        processes.append((subprocess.Popen([str(NCA), "--scheme", str(scheme)], stdout=log,
                                           stderr=subprocess.STDOUT, cwd=workdir), log, scheme))
    for process, log, scheme in processes:
        code = process.wait(timeout=600)
        log.close()
        if code != 0:
            tail = Path(log.name).read_text()[-3000:]
            raise AssertionError(f"NCA a échoué sur {scheme} (code {code}) :\n{tail}")
    outputs = {}
    for case in cases:
        path = workdir / f"case-{case.index}" / "nca.txt"
        if not path.exists():
            raise AssertionError(f"NCA n'a rien écrit pour le cas {case.index} ({path}) : voir {workdir}/nca-*.log")
        outputs[case.index] = path.read_text()
    return outputs


@dataclass(frozen=True)
class ConnectivityMap:
    """NCA's answer for one case: allowed connections per (source, destination pod)."""

    pods: dict[tuple[str, str], list[Allows]]
    ranges: dict[str, list[tuple[int, int, Allows]]]

    def allows(self, source: str, destination: str, protocol: str, port: int) -> bool:
        """``source``: ``ns/pod`` or an IPv4 address; ``destination``: ``ns/pod``."""
        if "/" in source:
            return any(check(protocol, port) for check in self.pods.get((source, destination), []))
        address = int(ipaddress.ip_address(source))
        return any(start <= address <= end and check(protocol, port)
                   for start, end, check in self.ranges.get(destination, []))


def parse(text: str) -> ConnectivityMap:
    pods: dict[tuple[str, str], list[Allows]] = {}
    ranges: dict[str, list[tuple[int, int, Allows]]] = {}
    for line in text.splitlines():
        match = LINE.match(line.strip())
        if not match or not match["dst"].endswith("[Pod]"):
            continue
        destination = match["dst"][:-len("[Pod]")]
        check = parse_connections(match["conns"])
        if match["src"].endswith("[Pod]"):
            pods.setdefault((match["src"][:-len("[Pod]")], destination), []).append(check)
        else:
            for start, end in _address_ranges(match["src"]):
                ranges.setdefault(destination, []).append((start, end, check))
    return ConnectivityMap(pods, ranges)


def _address_ranges(text: str) -> list[tuple[int, int]]:
    result = []
    for part in text.split(","):
        if "-" in part:
            first, last = part.split("-")
            result.append((int(ipaddress.ip_address(first)), int(ipaddress.ip_address(last))))
        else:
            network = ipaddress.ip_network(part)
            result.append((int(network.network_address), int(network.broadcast_address)))
    return result


def parse_connections(text: str) -> Allows:
    """A predicate on (protocol, port) from NCA's text for a set of connections."""
    text = text.strip()
    if text == "All connections":
        return lambda protocol, port: True
    if text == "No connections":
        return lambda protocol, port: False
    negate = text.startswith("All but ")
    if negate:
        text = text[len("All but "):]
    cubes = [_cube(c) for c in text.strip("{}").split("},{")]
    return lambda protocol, port: negate != any(c(protocol, port) for c in cubes)


def _cube(text: str) -> Allows:
    protocols_text, _, ports_text = text.partition("dst_ports:")
    protocols_text = protocols_text.rstrip(",")
    protocols: set[int] | None = None
    negated = False
    if protocols_text:
        assert protocols_text.startswith("protocols:"), text
        names = protocols_text[len("protocols:"):].strip()
        if names.startswith("all but "):
            negated, names = True, names[len("all but "):]
        protocols = {PROTOCOL_NUMBERS.get(n.strip(), -1) if not n.strip().isdigit() else int(n)
                     for n in names.split(",")}
    ports = _address_ranges_of_ports(ports_text) if ports_text else None

    def check(protocol: str, port: int) -> bool:
        if protocols is not None and (PROTOCOL_NUMBERS[protocol] in protocols) == negated:
            return False
        return ports is None or any(start <= port <= end for start, end in ports)

    return check


def _address_ranges_of_ports(text: str) -> list[tuple[int, int]]:
    result = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        result.append((int(first), int(last or first)))
    return result
