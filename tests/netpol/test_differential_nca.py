"""Differential test: our reachability engine against network-config-analyzer (NCA) 2.1.0.

NCA (IBM, PyPI ``network-config-analyzer``) is an independent implementation of the
NetworkPolicy semantics. ``CASES`` random cases (seeded) are generated over every feature
both support: policyTypes present or defaulted, empty and non-empty podSelectors, ingress
and egress lists absent, empty, ``[{}]`` or with rules, ``from``/``to`` absent, empty or
with podSelector, namespaceSelector, both (AND) or ipBlock peers (with ``except``),
matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist), ports by number, by
name (resolved on the destination pod), by range (``endPort``), with every protocol or
none, and rules without ports. NCA runs once per batch through a scheme file; every
pod-to-pod cell (not a pod to itself: NCA does not report self-loops), every
external-address-to-pod cell and every pod-to-external-address cell (egress), on 18 probe
ports, must agree.

Where NCA 2.1.0 deviates from Kubernetes, the feature is left out of the generator:

* ``egress: []`` without ``policyTypes``: the API server defaults policyTypes to Egress
  only when ``spec.egress`` has at least one rule (``len(spec.Egress) != 0`` in
  ``SetDefaults_NetworkPolicy``; the documentation says « if the NetworkPolicy has any
  egress rules »), so such a policy does not isolate for egress; NCA checks for the key and
  denies all egress. Kept as the regression case ``empty-egress-list-without-policy-types``
  of test_semantics.py.
* empty label values in ``In``/``NotIn`` of a namespaceSelector: NCA reads a missing
  namespace label as the value ``""``, so ``In [""]`` would match namespaces without the
  label, while Kubernetes requires the key to exist.

Where NCA differs from real enforcement, the comparison leaves the difference out: NCA
models pods and addresses apart, so its ipBlock peers never match a pod, while Calico and
kube-router (and our engine, see ``reachability``) match a pod by its IP. Our engine gets
the pods without their IPs here; tests/realnode/test_netpol_differential.py compares pods
with real IPs against kube-router.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubelab.netpol.model import Endpoint, IPBlockEndpoint, Port
from kubelab.netpol.reachability import Analysis

from . import nca
from .random_cases import PROBE_PORTS, Case, generate

SEED = 20_240_611
CASES = 400
REQUIRED_FEATURES = {
    "policyTypes=None", "policyTypes=['Ingress']", "policyTypes=['Egress']", "policyTypes=['Ingress', 'Egress']",
    "policy-selects-all", "ingress-absent", "ingress-empty", "ingress-allow-all", "ingress-rules",
    "egress-empty", "egress-allow-all", "egress-rules", "from-absent", "from-empty", "from-some", "to-absent",
    "to-empty", "to-some", "peer-pod", "peer-namespace", "peer-both", "peer-ipBlock", "ipBlock-except",
    "podSelector-matchLabels", "podSelector-In", "podSelector-NotIn", "podSelector-Exists",
    "podSelector-DoesNotExist", "namespaceSelector-matchLabels", "namespaceSelector-In", "namespaceSelector-NotIn",
    "namespaceSelector-Exists", "namespaceSelector-DoesNotExist", "namespaceSelector-empty", "podSelector-empty",
    "protocol-default", "protocol-TCP", "protocol-UDP", "protocol-SCTP", "port-number", "port-named", "port-range",
    "port-none", "rule-all-ports",
}


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return generate(SEED, CASES)


@pytest.fixture(scope="module")
def nca_outputs(cases: list[Case], tmp_path_factory: pytest.TempPathFactory) -> dict[int, str]:
    if not nca.NCA.exists():
        pytest.fail(f"NCA est introuvable ({nca.NCA}) : lancez « bash scripts/setup_nca.sh » "
                    "(virtualenv .venv-nca avec network-config-analyzer==2.1.0).")
    return nca.run(cases, tmp_path_factory.mktemp("nca"))


def test_generator_covers_every_feature(cases: list[Case]) -> None:
    seen = set().union(*(case.features for case in cases))
    assert REQUIRED_FEATURES <= seen, f"jamais générés : {sorted(REQUIRED_FEATURES - seen)}"


def test_no_disagreement_with_nca(cases: list[Case], nca_outputs: dict[int, str]) -> None:
    disagreements: list[str] = []
    compared = allowed = 0
    for case in cases:
        expected = nca.parse(nca_outputs[case.index])
        analysis = Analysis(case.namespaces, [_without_ip(pod) for pod in case.pods], case.policies)
        sources: list[Endpoint] = [*analysis.pods, *(IPBlockEndpoint(ip) for ip in case.external_ips)]
        matrix = analysis.matrix(sources, list(analysis.pods), [Port.parse(p) for p in PROBE_PORTS])
        outside = [analysis.external_cell(pod, IPBlockEndpoint(ip), Port.parse(port))
                   for pod in analysis.pods for ip in case.external_ips for port in PROBE_PORTS]
        for cell in [*matrix.cells, *outside]:
            if cell.source == cell.destination:
                continue
            source = cell.source.display
            destination = cell.destination.display if isinstance(cell.destination, IPBlockEndpoint) \
                else cell.destination.key
            theirs = expected.allows(source, destination, cell.port.protocol, cell.port.number)
            compared += 1
            allowed += cell.allowed
            if theirs != cell.allowed:
                disagreements.append(f"cas {case.index} : {source} → {destination}:{cell.port.label} "
                                     f"NCA={theirs} nous={cell.allowed} — {cell.explanation}")
    assert compared > 200_000 and 0.1 < allowed / compared < 0.9
    assert not disagreements, f"{len(disagreements)} désaccords, dont :\n" + "\n".join(disagreements[:15])


def _without_ip(pod: dict[str, Any]) -> dict[str, Any]:
    """The pod as NCA sees it: addressed by its labels only, never by an ipBlock."""
    return {key: value for key, value in pod.items() if key != "status"}


def test_nca_installation_script_exists() -> None:
    script = Path(nca.REPO / "scripts" / "setup_nca.sh")
    assert script.exists() and "network-config-analyzer==$NCA_VERSION" in script.read_text()
