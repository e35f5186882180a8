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
Not compared: SCTP (busybox has no SCTP client) and addresses outside the cluster as
sources (only this machine's addresses could be, and kube-router, like Calico, always lets
the node reach its own pods).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import yaml

from kubelab.netpol.model import Port
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


def _observe(real: RealCluster, pods: list[dict[str, Any]]) -> dict[tuple[str, str, str], bool]:
    """Every source pod of a case tries every other one on every port, all sources at once."""
    by_ip = {p["status"]["podIP"]: f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in pods}

    def from_source(source: dict[str, Any]) -> dict[tuple[str, str, str], bool]:
        targets = [f"{p['status']['podIP']}:{port}/TCP" for p in pods if p is not source for port in TCP_PORTS]
        targets += [f"{p['status']['podIP']}:{port}/UDP" for p in pods if p is not source for port in UDP_PORTS]
        result = real.kubectl("-n", source["metadata"]["namespace"], "exec", source["metadata"]["name"], "--",
                              "env", f"TARGETS={' '.join(targets)}", "sh", "-c", PROBE_SCRIPT, timeout=120)
        key = f"{source['metadata']['namespace']}/{source['metadata']['name']}"
        seen = {}
        for line in result.stdout.split("\n"):
            if line.strip():
                target, verdict = line.split()
                ip, port = target.split(":")
                seen[(key, by_ip[ip], port)] = verdict != "0"
        assert len(seen) == len(targets), f"{key} : {len(seen)} réponses pour {len(targets)} sondes"
        return seen

    observed: dict[tuple[str, str, str], bool] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:
        for seen in pool.map(from_source, pods):
            observed.update(seen)
    return observed


def _describe(case: Case) -> str:
    return yaml.safe_dump_all([*case.namespaces, *case.pods, *case.policies], sort_keys=False)


@pytest.mark.timeout(3600)
def test_engine_matches_kube_router_on_random_policies(real: RealCluster) -> None:
    """For 40 random policy sets, is every pod-to-pod cell (TCP and UDP) the same as really observed?"""
    cases = generate(SEED, CASES)
    disagreements: list[str] = []
    compared = allowed = 0
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
            observed = _observe(real, pods)
            wrong = []
            for cell in matrix.cells:
                if cell.source == cell.destination:
                    continue
                key = (cell.source.key, cell.destination.key, cell.port.label)
                compared += 1
                allowed += observed[key]
                if observed[key] != cell.allowed:
                    wrong.append(f"{cell.source.key} → {cell.destination.key}:{cell.port.label} "
                                 f"réel={observed[key]} moteur={cell.allowed} — {cell.explanation}")
            if wrong:
                disagreements.append(f"cas {case.index} ({len(wrong)} cellules) :\n  " + "\n  ".join(wrong[:8])
                                     + "\n" + _describe(case))
        for case in batch:
            for namespace in case.namespaces:
                real.api.delete("v1", "Namespace", namespace["metadata"]["name"])
        print(f"cas {start}–{start + len(batch) - 1} : {time.monotonic() - began:.0f} s")
    print(json.dumps({"compared": compared, "allowed": allowed}))
    assert compared > 150 * CASES and 0.05 < allowed / compared < 0.95, (compared, allowed)
    assert not disagreements, f"{len(disagreements)} cas en désaccord :\n" + "\n\n".join(disagreements[:3])
