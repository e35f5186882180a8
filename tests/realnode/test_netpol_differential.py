"""Differential test: our NetworkPolicy engine against real enforcement (kube-router) on the real node.

Random policy sets from tests/netpol's generator (ingress and egress, pod and namespace
selectors with every operator, named ports, ports and endPort, ipBlock peers) are deployed
with real pods that listen on every probed port (TCP, and UDP where the generator makes
UDP). Each source pod then tries every other pod of its case on every port, and the observed
matrix must equal the engine's, cell for cell. A disagreement prints the case in full, so it
can become a regression case of tests/netpol/test_semantics.py.

Cases run side by side, a batch at a time: a policy only governs pods of its own namespace,
and every probe stays inside one case, so the cases of a batch cannot affect each other.
Policies are known to be in effect when a canary, applied after them, is enforced.

Pods run agnhost's image (its netexec answers UDP), with BusyBox's nc for TCP.
Known deviations of kube-router v2.1.0 (from its ``pkg/controllers/netpol/policy.go``) are
tolerated, nothing else; the test counts their cells apart. Kubernetes, Calico (MicroK8s's
enforcer) and our engine agree against kube-router on each:

* shared named-port map: it builds the set of pods exposing a named port with a map it shares
  between all the named ports of the first pod that declares them (``grabNamedPortFromPod``
  stores the pod's ``ips`` map in each new endpoint, then appends other pods' addresses to
  it), so a pod that declares one named port of another pod (same name, protocol and number)
  also receives that pod's other named ports (:func:`kube_router_alias`);
* named ports as kube-router resolves them (:func:`kube_router_policies` rewrites the
  policies so, and a cell the rewritten policies decide as observed counts as this): a rule
  whose ports are all named ports that no pod declares opens every port to its selector
  peers (« If the ingress policy contains no ports at all create the policy based only on
  IP »); in egress, an ipBlock peer never gets the named ports, and a rule without ``to``
  resolves its named ports on the pods of the policy's namespace only;
* one chain per policy: the ingress and egress rules of a policy share one iptables chain, so
  when a policy selects both pods, what one direction's rules allow also passes the other
  direction's isolation (:func:`kube_router_shared_chain`).

Between batches, the previous batch's namespaces are gone before new pods start: a pod still
terminating keeps its address in kube-router's sets while the address may already be given to
a new pod, which would then be treated by the old pod's policies.

A probe can only fail spuriously in one direction: a connection that opens was allowed, but
one that times out may have been allowed and starved (all sources probe at once, and BusyBox's
nc listens with a backlog of one, so on a loaded machine a SYN can be dropped twice in a row).
Cells observed closed where the engine or kube-router's reading says open are therefore probed
again, one source at a time, before they count as a disagreement; the test counts them apart.

Not compared: SCTP (busybox has no SCTP client) and addresses outside the cluster as
sources (only this machine's addresses could be, and kube-router, like Calico, always lets
the node reach its own pods).
"""

from __future__ import annotations

import copy
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubelab.netpol.model import Direction, PodEndpoint, Port
from kubelab.netpol.policy import Policy
from kubelab.netpol.reachability import Analysis
from kubelab.pytest_plugin import create_namespace
from kubelab.waiting import scaled, wait_for
from tests.netpol.random_cases import Case, generate

from .conftest import RealCluster, eventually

pytestmark = pytest.mark.real_node

SEED = 20_261_201
CASES = int(os.environ.get("KUBELAB_NETPOL_REAL_CASES", "40"))
BATCH = 8
TCP_PORTS = (53, 80, 81, 443, 8080, 9090)
UDP_PORTS = (53, 8080)
# TCP: BusyBox's nc keeps listening. UDP: agnhost's netexec answers « echo ok » with « ok » and,
# unlike BusyBox's udpsvd, loses no datagram when several sources ask at once.
LISTENERS = " ".join(
    [f"nc -lk -p {port} -e true &" for port in TCP_PORTS]
    + [f"/agnhost netexec --udp-port={port} --http-port={18000 + i} &" for i, port in enumerate(UDP_PORTS)]
) + " wait"
IMAGE = "registry.k8s.io/e2e-test-images/agnhost:2.53"
# Every probe in parallel: a refused TCP connection answers at once, but a UDP exchange waits
# for nc's idle timeout even when the answer came.
PROBE_SCRIPT = r"""
for target in $TARGETS; do
  (
    ip=${target%%:*}; port=${target#*:}; port=${port%%/*}; proto=${target##*/}
    if [ "$proto" = TCP ]; then
      nc -z -w 2 "$ip" "$port" 2>/dev/null && r=1 || r=0
    else
      r=$(echo "echo ok" | nc -u -w 1 "$ip" "$port" 2>/dev/null | grep -c ok)
    fi
    echo "$target $r"
  ) &
done
wait
"""


def _real_pod(pod: dict[str, Any]) -> dict[str, Any]:
    """The generator's pod, running listeners on every probed port (SCTP ports stay declared)."""
    container = pod["spec"]["containers"][0]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": pod["metadata"]["name"], "namespace": pod["metadata"]["namespace"],
                     "labels": pod["metadata"].get("labels", {})},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "main", "image": IMAGE, "command": ["sh", "-c", LISTENERS],
                            "ports": container.get("ports", []),
                            "readinessProbe": {"tcpSocket": {"port": 9090}, "periodSeconds": 1}}],
        },
    }


def _deploy(real: RealCluster, cases: list[Case]) -> None:
    for case in cases:
        for namespace in case.namespaces:
            create_namespace(real.api, namespace["metadata"]["name"], namespace["metadata"].get("labels"))
        for pod in case.pods:
            real.api.apply(_real_pod(pod))
    for case in cases:
        for namespace in case.namespaces:
            name = namespace["metadata"]["name"]
            expected = sum(1 for pod in case.pods if pod["metadata"]["namespace"] == name)
            wait_for(real.api, "v1", "Pod", lambda pods, n=expected: sum(_is_ready(p) for p in pods) >= n,
                     namespace=name, what=f"les pods de {name}", timeout=scaled(300))


def _is_ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", []) or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _canary(real: RealCluster) -> None:
    """Apply a deny-all policy after the batch's policies; when it bites, theirs are in effect."""
    name = f"canary-{uuid.uuid4().hex[:6]}"
    create_namespace(real.api, name)
    real.api.apply(_real_pod({"metadata": {"name": "target", "namespace": name, "labels": {"canary": "yes"}},
                              "spec": {"containers": [{"ports": []}]}}))
    real.api.apply(_real_pod({"metadata": {"name": "probe", "namespace": name}, "spec": {"containers": [{}]}}))
    wait_for(real.api, "v1", "Pod", lambda pods: sum(_is_ready(p) for p in pods) >= 2, namespace=name,
             what="le canari", timeout=scaled(120))
    target = real.api.get("v1", "Pod", "target", name)
    assert target is not None
    ip = target["status"]["podIP"]

    def reaches() -> bool:
        return real.kubectl("-n", name, "exec", "probe", "--", "nc", "-z", "-w", "2", ip, "80",
                            check=False).returncode == 0

    assert reaches(), "le canari est injoignable avant toute politique"
    real.api.apply({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": "canary", "namespace": name},
                    "spec": {"podSelector": {"matchLabels": {"canary": "yes"}}, "policyTypes": ["Ingress"]}})
    eventually(lambda: not reaches(), timeout=60, what="que la politique du canari s'applique")
    real.api.delete("v1", "Namespace", name)


def _key(pod: dict[str, Any]) -> str:
    return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"


def _probe(real: RealCluster, pods: list[dict[str, Any]], source: dict[str, Any],
           targets: list[str]) -> dict[tuple[str, str, str], bool]:
    """What ``source`` observes on each target (« ip:port/PROTO »), all probed at once."""
    by_ip = {p["status"]["podIP"]: _key(p) for p in pods}
    result = real.kubectl("-n", source["metadata"]["namespace"], "exec", source["metadata"]["name"], "--",
                          "env", f"TARGETS={' '.join(targets)}", "sh", "-c", PROBE_SCRIPT, timeout=120)
    seen = {}
    for line in result.stdout.split("\n"):
        if line.strip():
            target, verdict = line.split()
            ip, port = target.split(":")
            seen[(_key(source), by_ip[ip], port)] = verdict != "0"
    assert len(seen) == len(targets), f"{_key(source)} : {len(seen)} réponses pour {len(targets)} sondes"
    return seen


def _observe(real: RealCluster, pods: list[dict[str, Any]]) -> dict[tuple[str, str, str], bool]:
    """Every source pod of a case tries every other one on every port, all sources at once."""

    def from_source(source: dict[str, Any]) -> dict[tuple[str, str, str], bool]:
        targets = [f"{p['status']['podIP']}:{port}/TCP" for p in pods if p is not source for port in TCP_PORTS]
        targets += [f"{p['status']['podIP']}:{port}/UDP" for p in pods if p is not source for port in UDP_PORTS]
        return _probe(real, pods, source, targets)

    observed: dict[tuple[str, str, str], bool] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        for seen in pool.map(from_source, pods):
            observed.update(seen)
    return observed


def _probe_again(real: RealCluster, pods: list[dict[str, Any]],
                 cells: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], bool]:
    """The cells probed again, one source at a time, each cell up to three times until it opens."""
    by_key = {_key(p): p for p in pods}
    seen: dict[tuple[str, str, str], bool] = {}
    for source_key in sorted({source for source, _, _ in cells}):
        waiting = {cell for cell in cells if cell[0] == source_key}
        for _ in range(3):
            targets = [f"{by_key[destination]['status']['podIP']}:{port}" for _, destination, port in sorted(waiting)]
            seen.update(_probe(real, pods, by_key[source_key], targets))
            waiting = {cell for cell in waiting if not seen[cell]}
            if not waiting:
                break
    return seen


def _named_ports(pod: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {(p.get("name", ""), p.get("protocol", "TCP"), p["containerPort"])
            for c in pod["spec"]["containers"] for p in c.get("ports") or [] if p.get("name")}


def kube_router_alias(pods: list[dict[str, Any]], destination: str, port: Port) -> bool:
    """Whether kube-router v2.1.0's shared-map bug can open ``port`` on ``destination``: another pod
    declares a named port with this number and protocol, which the destination does not declare
    under that name, and the two pods share a declared named port."""
    by_key = {f"{p['metadata']['namespace']}/{p['metadata']['name']}": p for p in pods}
    target = _named_ports(by_key[destination])
    for key, other in by_key.items():
        if key == destination:
            continue
        theirs = _named_ports(other)
        for name, protocol, number in theirs:
            if protocol == port.protocol and number == port.number and (name, protocol, number) not in target \
                    and target & theirs:
                return True
    return False


def _split_ports(raw_ports: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A rule's ports: (numeric or protocol-only ones, named ones)."""
    named = [p for p in raw_ports if isinstance(p.get("port"), str)]
    return [p for p in raw_ports if not isinstance(p.get("port"), str)], named


def _resolves(named: list[dict[str, Any]], pods: list[PodEndpoint]) -> list[dict[str, Any]]:
    """The numbers ``pods`` give to the named ports (protocol defaulted to TCP)."""
    found = {(p.get("protocol", "TCP"), number) for p in named for pod in pods
             if (number := pod.named_port(p["port"], p.get("protocol", "TCP"))) is not None}
    return [{"protocol": protocol, "port": number} for protocol, number in sorted(found)]


def kube_router_policies(analysis: Analysis, policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The policies rewritten as kube-router v2.1.0 enforces their named ports
    (``processNetworkPolicyPorts`` and the rule builders of ``policy.go``):

    * a rule whose ports are all named ports that resolve on no pod (ingress: the pods the
      policy selects; egress: the pods its selector peers select) has no port left, and its
      selector peers are accepted on every port; its ipBlock peers get nothing;
    * in egress, an ipBlock peer gets the numeric ports only (named ports never reach it);
    * in egress without ``to``, a named port becomes the numbers that pods of the policy's own
      namespace give it, towards every destination.
    """
    parsed = {policy.key: policy for policy in analysis.policies}
    rewritten = []
    for raw in policies:
        policy = parsed[f"{raw['metadata']['namespace']}/{raw['metadata']['name']}"]
        spec = copy.deepcopy(raw["spec"])
        for direction, peers_field in (("ingress", "from"), ("egress", "to")):
            rules = []
            for rule in policy.rules(direction):
                original = spec[direction][rule.index]
                numeric, named = _split_ports(original.get("ports") or [])
                if not named:
                    rules.append(original)
                    continue
                peers = original.get(peers_field) or []
                selectors = [peer for peer in peers if "ipBlock" not in peer]
                blocks = [peer for peer in peers if "ipBlock" in peer]
                if direction == "egress" and not peers:
                    own = [pod for pod in analysis.pods if pod.namespace == policy.namespace]
                    ports = numeric + _resolves(named, own)
                    rules.extend([{"ports": ports}] if ports else [])
                    continue
                if direction == "ingress":
                    holders = [pod for pod in analysis.pods if policy.selects(pod)]
                else:
                    holders = [pod for pod in analysis.pods
                               if any(analysis.peer_matches(peer, policy, pod) for peer in rule.peers
                                      if peer.ip_block is None)]
                if not numeric and not _resolves(named, holders):
                    if not peers:
                        rules.append(original)
                    elif selectors:
                        rules.append({peers_field: selectors})
                    continue
                if direction == "ingress" or not blocks:
                    rules.append(original)
                    continue
                rules.extend([{peers_field: selectors, "ports": numeric + named}] if selectors else [])
                rules.extend([{peers_field: blocks, "ports": numeric}] if numeric else [])
            if direction in spec:
                spec[direction] = rules
        rewritten.append({**raw, "spec": spec})
    return rewritten


def kube_router_shared_chain(analysis: Analysis, source: PodEndpoint, destination: PodEndpoint, port: Port) -> bool:
    """Whether kube-router v2.1.0 lets this connection through because a policy's ingress and
    egress rules share one iptables chain: when one policy selects both pods, the destination's
    ingress also accepts what an egress rule of that policy allows the source, and the source's
    egress what an ingress rule of it allows towards the destination."""

    def allowed_by(policy: Policy, direction: Direction, peer: PodEndpoint) -> bool:
        return any(rule.port_matches(port, destination)
                   and (not rule.peers or any(analysis.peer_matches(p, policy, peer) for p in rule.peers))
                   for rule in policy.rules(direction))

    def side(direction: Direction) -> bool:
        if analysis.verdict(direction, source, destination, port).allowed:
            return True
        subject, other = (destination, source) if direction == "ingress" else (source, destination)
        crossing: Direction = "egress" if direction == "ingress" else "ingress"
        return any(policy.isolates(subject, direction) and policy.selects(other) and policy.isolates(other, crossing)
                   and allowed_by(policy, crossing, destination if crossing == "egress" else source)
                   for policy in analysis.policies)

    return side("ingress") and side("egress")


def _describe(case: Case) -> str:
    return yaml.safe_dump_all([*case.namespaces, *case.pods, *case.policies], sort_keys=False)


@pytest.mark.timeout(3600)
def test_engine_matches_kube_router_on_random_policies(real: RealCluster, tmp_path: Path) -> None:
    """For 40 random policy sets, is every pod-to-pod cell (TCP and UDP) the same as really observed?"""
    cases = generate(SEED, CASES)
    disagreements: list[str] = []
    compared = allowed = aliased = unresolved = shared = reprobed = reopened = 0
    record: dict[int, dict[str, bool]] = {}
    ports = [Port.parse(f"{n}/TCP") for n in TCP_PORTS] + [Port.parse(f"{n}/UDP") for n in UDP_PORTS]
    for start in range(0, len(cases), BATCH):
        batch = cases[start:start + BATCH]
        began = time.monotonic()
        _deploy(real, batch)
        for case in batch:
            for policy in case.policies:
                real.api.apply(policy)
        _canary(real)
        for case in batch:
            names = {ns["metadata"]["name"] for ns in case.namespaces}
            pods = [p for name in sorted(names) for p in real.api.list("v1", "Pod", namespace=name)]
            analysis = Analysis(case.namespaces, pods, case.policies)
            matrix = analysis.matrix(list(analysis.pods), list(analysis.pods), ports)
            as_enforced = Analysis(case.namespaces, pods, kube_router_policies(analysis, case.policies))
            enforced = {(c.source.key, c.destination.key, c.port.label): c.allowed
                        for c in as_enforced.matrix(list(as_enforced.pods), list(as_enforced.pods), ports).cells}
            observed = _observe(real, pods)
            closed = {key for cell in matrix.cells if cell.source != cell.destination
                      and not observed[key := (cell.source.key, cell.destination.key, cell.port.label)]
                      and (cell.allowed or enforced[key])}
            again = _probe_again(real, pods, closed) if closed else {}
            reprobed += len(closed)
            reopened += sum(again.values())
            observed.update(again)
            record[case.index] = {f"{s} → {d}:{p}": v for (s, d, p), v in observed.items()}
            wrong = []
            for cell in matrix.cells:
                if cell.source == cell.destination:
                    continue
                key = (cell.source.key, cell.destination.key, cell.port.label)
                compared += 1
                allowed += observed[key]
                if observed[key] == cell.allowed:
                    continue
                if observed[key] and kube_router_alias(pods, cell.destination.key, cell.port):
                    aliased += 1
                elif observed[key] == enforced[key]:
                    unresolved += 1
                elif observed[key] and kube_router_shared_chain(
                        as_enforced, as_enforced.pod(cell.source.key), as_enforced.pod(cell.destination.key),
                        cell.port):
                    shared += 1
                else:
                    wrong.append(f"{cell.source.key} → {cell.destination.key}:{cell.port.label} "
                                 f"réel={observed[key]} moteur={cell.allowed} — {cell.explanation}")
            if wrong:
                disagreements.append(f"cas {case.index} ({len(wrong)} cellules) :\n  " + "\n  ".join(wrong[:8])
                                     + "\n" + _describe(case))
        for case in batch:
            for namespace in case.namespaces:
                real.api.delete("v1", "Namespace", namespace["metadata"]["name"])
        gone = {namespace["metadata"]["name"] for case in batch for namespace in case.namespaces}
        wait_for(real.api, "v1", "Namespace",
                 lambda found, gone=gone: not gone & {n["metadata"]["name"] for n in found},
                 what="la suppression des namespaces du lot", timeout=scaled(300))
        print(f"cas {start}–{start + len(batch) - 1} : {time.monotonic() - began:.0f} s")
    observations = tmp_path / "observed.json"
    observations.write_text(json.dumps(record, ensure_ascii=False, indent=1))
    print(json.dumps({"compared": compared, "allowed": allowed, "kube_router_named_port_alias": aliased,
                      "kube_router_named_ports_as_enforced": unresolved, "kube_router_shared_chain": shared,
                      "probed_again": reprobed, "opened_when_probed_again": reopened,
                      "observations": str(observations)}))
    assert compared > 150 * CASES and 0.05 < allowed / compared < 0.95, (compared, allowed)
    assert not disagreements, f"{len(disagreements)} cas en désaccord :\n" + "\n\n".join(disagreements[:3])
