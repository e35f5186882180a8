"""NetworkPolicy semantics, case by case, from the Kubernetes documentation.

https://kubernetes.io/docs/concepts/services-networking/network-policies/ — each case names
the rule it checks; the cluster is described in ``world.py``. A cell is written
``(source, destination, port)``: a source is a pod ``ns/name``, any pod of a namespace
``ns/*`` or an address or CIDR; a port is ``80`` (TCP) or ``53/UDP``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from kubelab.netpol.lint import lint
from kubelab.netpol.reachability import compute_matrix

from .world import DNS_POD, NAMESPACES, PODS, expr, labels, policy

Obj = dict[str, Any]
Expect = dict[tuple[str, str, str], bool]


@dataclass(frozen=True)
class Case:
    id: str
    rule: str
    policies: list[Obj]
    expect: Expect
    pods: list[Obj] = field(default_factory=lambda: PODS)


ALLOW_WEB: Obj = {"from": [{"podSelector": labels(role="web")}]}
ALL_NS: Obj = {"namespaceSelector": {}}

CASES = [
    Case("no-policy-allows-everything",
         "Pods are non-isolated by default: all traffic is allowed.",
         [], {("app/web", "app/db", "5432"): True, ("other/client", "app/api", "8080"): True,
              ("8.8.8.8", "app/web", "80"): True, ("dev/*", "app/db", "5432"): True}),
    Case("empty-pod-selector-selects-every-pod-of-its-namespace",
         "An empty podSelector selects all pods in the policy's namespace, and only there.",
         [policy("deny", policyTypes=["Ingress"])],
         {("app/web", "app/db", "5432"): False, ("app/db", "app/api", "8080"): False,
          ("other/client", "other/web", "80"): True}),
    Case("policy-types-default-to-ingress",
         "Without policyTypes, every policy affects ingress (even without ingress rules).",
         [policy("db", podSelector=labels(role="db"))],
         {("app/web", "app/db", "5432"): False, ("app/db", "app/web", "80"): True}),
    Case("policy-types-default-add-egress-when-egress-rules",
         "Without policyTypes, a policy with egress rules affects egress too.",
         [policy("web", podSelector=labels(role="web"), egress=[{"to": [{"podSelector": labels(role="api")}]}])],
         {("app/web", "app/api", "8080"): True, ("app/web", "app/db", "5432"): False,
          ("app/api", "app/web", "80"): False}),
    Case("empty-egress-list-without-policy-types",
         "policyTypes defaults to Egress only if the policy has egress rules: `egress: []` does not isolate "
         "for egress (regression: NCA 2.1.0 denies all egress here).",
         [policy("web", podSelector=labels(role="web"), egress=[])],
         {("app/web", "app/db", "5432"): True, ("app/api", "app/web", "80"): False}),
    Case("egress-policy-type-alone-leaves-ingress-open",
         "policyTypes [Egress] isolates for egress only; no egress rule denies all egress.",
         [policy("web", podSelector=labels(role="web"), policyTypes=["Egress"])],
         {("app/web", "app/db", "5432"): False, ("app/api", "app/web", "80"): True}),
    Case("ingress-with-one-empty-rule-allows-all",
         "`ingress: [{}]` allows all inbound traffic to the selected pods.",
         [policy("db", podSelector=labels(role="db"), ingress=[{}])],
         {("other/client", "app/db", "5432"): True, ("8.8.8.8", "app/db", "5432"): True,
          ("dev/*", "app/db", "5432"): True}),
    Case("ingress-empty-list-denies-all",
         "An isolated pod with no ingress rule accepts nothing.",
         [policy("db", podSelector=labels(role="db"), policyTypes=["Ingress"], ingress=[])],
         {("app/web", "app/db", "5432"): False, ("8.8.8.8", "app/db", "5432"): False}),
    Case("empty-from-list-matches-all-sources",
         "If `from` is empty or missing, the rule matches all sources.",
         [policy("db", podSelector=labels(role="db"), ingress=[{"from": [], "ports": [{"port": 5432}]}])],
         {("other/client", "app/db", "5432"): True, ("app/web", "app/db", "6000"): False}),
    Case("rule-without-ports-matches-all-ports",
         "If `ports` is empty or missing, the rule matches all ports.",
         [policy("db", podSelector=labels(role="db"), ingress=[{"from": [{"podSelector": labels(role="api")}]}])],
         {("app/api", "app/db", "5432"): True, ("app/api", "app/db", "6000"): True,
          ("app/api", "app/db", "53/UDP"): True, ("app/web", "app/db", "5432"): False}),
    Case("pod-selector-alone-means-the-policy-namespace",
         "A podSelector peer selects pods in the same namespace as the policy.",
         [policy("db", podSelector=labels(role="db"), ingress=[ALLOW_WEB])],
         {("app/web", "app/db", "5432"): True, ("other/web", "app/db", "5432"): False}),
    Case("namespace-selector-alone-means-every-pod-of-those-namespaces",
         "A namespaceSelector peer selects all pods of the matching namespaces.",
         [policy("db", podSelector=labels(role="db"),
                 ingress=[{"from": [{"namespaceSelector": labels(team="ops")}]}])],
         {("other/client", "app/db", "5432"): True, ("other/web", "app/db", "5432"): True,
          ("app/web", "app/db", "5432"): False, ("other/*", "app/db", "5432"): True}),
    Case("namespace-and-pod-selector-in-one-peer-are-anded",
         "namespaceSelector and podSelector in one element select those pods in those namespaces.",
         [policy("db", podSelector=labels(role="db"), ingress=[{"from": [
             {"namespaceSelector": labels(team="ops"), "podSelector": labels(role="client")}]}])],
         {("other/client", "app/db", "5432"): True, ("other/web", "app/db", "5432"): False,
          ("dev/client", "app/db", "5432"): False, ("other/*", "app/db", "5432"): False}),
    Case("separate-peers-are-ored",
         "Two elements of `from` are ORed: a namespace OR pods of the policy's namespace.",
         [policy("db", podSelector=labels(role="db"), ingress=[{"from": [
             {"namespaceSelector": labels(team="ops")}, {"podSelector": labels(role="web")}]}])],
         {("other/client", "app/db", "5432"): True, ("app/web", "app/db", "5432"): True,
          ("app/api", "app/db", "5432"): False}),
    Case("empty-namespace-selector-means-every-namespace",
         "An empty namespaceSelector selects all namespaces.",
         [policy("db", podSelector=labels(role="db"), ingress=[{"from": [
             {"namespaceSelector": {}, "podSelector": labels(role="client")}]}])],
         {("other/client", "app/db", "5432"): True, ("dev/client", "app/db", "5432"): True,
          ("other/web", "app/db", "5432"): False}),
    Case("namespace-targeted-by-its-metadata-name-label",
         "The control plane sets kubernetes.io/metadata.name on every namespace.",
         [policy("db", podSelector=labels(role="db"), ingress=[{"from": [
             {"namespaceSelector": labels(**{"kubernetes.io/metadata.name": "dev"})}]}])],
         {("dev/client", "app/db", "5432"): True, ("other/client", "app/db", "5432"): False}),
    Case("match-expressions-in",
         "In: the label exists and its value is one of the values.",
         [policy("db", podSelector=labels(role="db"),
                 ingress=[{"from": [{"podSelector": expr("role", "In", "web", "api")}]}])],
         {("app/web", "app/db", "5432"): True, ("app/api", "app/db", "5432"): True,
          ("app/db", "app/db", "5432"): False}),
    Case("match-expressions-not-in-matches-a-missing-label",
         "NotIn: the label is missing or its value is not one of the values.",
         [policy("db", podSelector=labels(role="db"),
                 ingress=[{"from": [{**ALL_NS, "podSelector": expr("tier", "NotIn", "front")}]}])],
         {("app/api", "app/db", "5432"): True, ("other/client", "app/db", "5432"): True,
          ("app/web", "app/db", "5432"): False}),
    Case("match-expressions-exists",
         "Exists: the label key is present, whatever its value.",
         [policy("db", podSelector=labels(role="db"),
                 ingress=[{"from": [{**ALL_NS, "podSelector": expr("tier", "Exists")}]}])],
         {("app/web", "app/db", "5432"): True, ("app/api", "app/db", "5432"): True,
          ("other/client", "app/db", "5432"): False}),
    Case("match-expressions-does-not-exist",
         "DoesNotExist: the label key is absent.",
         [policy("db", podSelector=labels(role="db"),
                 ingress=[{"from": [{**ALL_NS, "podSelector": expr("tier", "DoesNotExist")}]}])],
         {("other/client", "app/db", "5432"): True, ("app/web", "app/db", "5432"): False}),
    Case("match-labels-and-match-expressions-are-anded",
         "All requirements of matchLabels and matchExpressions must be satisfied.",
         [policy("db", podSelector=labels(role="db"), ingress=[{"from": [
             {"podSelector": {"matchLabels": {"role": "web"}, **expr("tier", "In", "back")}}]}])],
         {("app/web", "app/db", "5432"): False}),
    Case("pod-selector-exists-with-namespace-selector",
         "In a peer with both selectors, Exists applies to pods of the selected namespaces "
         "(regression: NCA 2.1.0 only looks in the policy's namespace).",
         [policy("db", podSelector=labels(role="db"), ingress=[{"from": [
             {"namespaceSelector": labels(team="ops"), "podSelector": expr("role", "Exists")}]}])],
         {("other/client", "app/db", "5432"): True, ("app/web", "app/db", "5432"): False}),
    Case("namespace-selector-on-a-label-no-namespace-has",
         "A namespaceSelector requirement on a missing label never matches with In.",
         [policy("db", podSelector=labels(role="db"), ingress=[{"from": [
             {"namespaceSelector": expr("team", "In", "ops", "shop")}]}])],
         {("other/client", "app/db", "5432"): True, ("dev/client", "app/db", "5432"): False}),
    Case("named-port-resolved-on-the-destination-for-ingress",
         "A named port in an ingress rule is the selected pod's container port of that name.",
         [policy("api", podSelector=labels(role="api"), ingress=[{"ports": [{"port": "http"}]}])],
         {("app/web", "app/api", "8080"): True, ("app/web", "app/api", "9090"): False,
          ("app/web", "app/api", "80"): False}),
    Case("named-port-resolved-on-the-destination-for-egress",
         "A named port in an egress rule is resolved on each destination pod.",
         [policy("web", podSelector=labels(role="web"), policyTypes=["Egress"],
                 egress=[{"to": [ALL_NS], "ports": [{"port": "http"}]}])],
         {("app/web", "app/api", "8080"): True, ("app/web", "other/web", "80"): True,
          ("app/web", "app/api", "80"): False, ("app/web", "app/db", "5432"): False}),
    Case("named-port-protocol-must-match",
         "A named port matches the container port of that name with the rule's protocol.",
         [policy("api", podSelector=labels(role="api"), ingress=[{"ports": [{"port": "http", "protocol": "UDP"}]}])],
         {("app/web", "app/api", "8080"): False, ("app/web", "app/api", "8080/UDP"): False}),
    Case("named-port-missing-on-the-destination-matches-nothing",
         "A named port the destination does not declare allows nothing there.",
         [policy("api", podSelector=labels(role="api"), ingress=[{"ports": [{"port": "grpc"}]}])],
         {("app/web", "app/api", "8080"): False, ("app/web", "app/api", "9090"): False}),
    Case("end-port-range-is-inclusive",
         "port with endPort allows the whole range, both ends included.",
         [policy("api", podSelector=labels(role="api"), ingress=[{"ports": [{"port": 8000, "endPort": 8080}]}])],
         {("app/web", "app/api", "8000"): True, ("app/web", "app/api", "8080"): True,
          ("app/web", "app/api", "7999"): False, ("app/web", "app/api", "9090"): False}),
    Case("protocol-defaults-to-tcp",
         "A port without protocol is TCP.",
         [policy("db", podSelector=labels(role="db"), ingress=[{"ports": [{"port": 5432}]}])],
         {("app/web", "app/db", "5432"): True, ("app/web", "app/db", "5432/UDP"): False}),
    Case("udp-port",
         "protocol: UDP allows that UDP port only.",
         [policy("db", podSelector=labels(role="db"), ingress=[{"ports": [{"port": 53, "protocol": "UDP"}]}])],
         {("app/web", "app/db", "53/UDP"): True, ("app/web", "app/db", "53"): False}),
    Case("protocol-without-port-means-every-port",
         "A ports entry with only a protocol matches every port of that protocol.",
         [policy("db", podSelector=labels(role="db"), ingress=[{"ports": [{"protocol": "UDP"}]}])],
         {("app/web", "app/db", "53/UDP"): True, ("app/web", "app/db", "9999/UDP"): True,
          ("app/web", "app/db", "5432"): False}),
    Case("sctp-port",
         "SCTP is a protocol of its own.",
         [policy("db", podSelector=labels(role="db"), ingress=[{"ports": [{"port": 5432, "protocol": "SCTP"}]}])],
         {("app/web", "app/db", "5432/SCTP"): True, ("app/web", "app/db", "5432"): False}),
    Case("policies-are-additive",
         "Policies do not conflict: the union of their rules applies.",
         [policy("db-web", podSelector=labels(role="db"), ingress=[ALLOW_WEB]),
          policy("db-api", podSelector=labels(role="db"), ingress=[{"from": [{"podSelector": labels(role="api")}]}])],
         {("app/web", "app/db", "5432"): True, ("app/api", "app/db", "5432"): True,
          ("other/client", "app/db", "5432"): False}),
    Case("egress-and-ingress-must-both-allow",
         "A connection needs the source's egress and the destination's ingress to allow it.",
         [policy("web-out", podSelector=labels(role="web"), policyTypes=["Egress"],
                 egress=[{"to": [{"podSelector": labels(role="db")}]}]),
          policy("db-in", podSelector=labels(role="db"), policyTypes=["Ingress"],
                 ingress=[{"from": [{"podSelector": labels(role="api")}]}])],
         {("app/web", "app/db", "5432"): False, ("app/api", "app/db", "5432"): True,
          ("app/web", "app/api", "8080"): False}),
    Case("isolation-is-per-direction",
         "A pod isolated for egress only still accepts all ingress.",
         [policy("db-out", podSelector=labels(role="db"), policyTypes=["Egress"])],
         {("app/web", "app/db", "5432"): True, ("app/db", "app/web", "80"): False}),
    Case("policy-applies-only-to-its-namespace",
         "A policy selects pods of its own namespace only.",
         [policy("deny", namespace="other", policyTypes=["Ingress", "Egress"])],
         {("app/web", "app/db", "5432"): True, ("app/web", "other/web", "80"): False,
          ("other/client", "app/web", "80"): False}),
    Case("ip-block-allows-external-addresses",
         "ipBlock selects IP ranges as ingress sources.",
         [policy("web", podSelector=labels(role="web"), ingress=[{"from": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}])],
         {("203.0.113.7", "app/web", "80"): True, ("198.51.100.1", "app/web", "80"): False}),
    Case("ip-block-except-carves-out-ranges",
         "ipBlock except removes ranges from the cidr.",
         [policy("web", podSelector=labels(role="web"),
                 ingress=[{"from": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}])],
         {("8.8.8.8", "app/web", "80"): True, ("10.2.3.4", "app/web", "80"): False}),
    Case("ip-block-matches-pod-addresses",
         "Pod-to-pod traffic is not translated: an ipBlock holding a pod's IP admits that pod, as Calico "
         "(MicroK8s) and kube-router (the real node) enforce it; its except leaves a pod out.",
         [policy("db", podSelector=labels(role="db"), ingress=[{"from": [
             {"ipBlock": {"cidr": "10.1.0.0/16", "except": ["10.1.1.0/24"]}}]}])],
         {("app/web", "app/db", "5432"): True, ("10.1.200.1", "app/db", "5432"): True,
          ("other/client", "app/db", "5432"): False, ("dev/client", "app/db", "5432"): True}),
    Case("egress-ip-block-reaches-pods-by-their-ip",
         "An egress ipBlock holding a pod's IP lets traffic reach that pod; one that does not, does not.",
         [policy("web", podSelector=labels(role="web"), policyTypes=["Egress"],
                 egress=[{"to": [{"ipBlock": {"cidr": "10.1.0.12/32"}}]}])],
         {("app/web", "app/db", "5432"): True, ("app/web", "app/api", "8080"): False}),
    Case("cidr-source-needs-every-address-allowed",
         "A CIDR source is allowed when all its addresses are, possibly by several rules.",
         [policy("web", podSelector=labels(role="web"), ingress=[
             {"from": [{"ipBlock": {"cidr": "10.0.0.0/9"}}]}, {"from": [{"ipBlock": {"cidr": "10.128.0.0/9"}}]}])],
         {("10.0.0.0/8", "app/web", "80"): True, ("0.0.0.0/0", "app/web", "80"): False}),
    Case("namespace-source-needs-a-peer-without-pod-restriction",
         "« Any pod of a namespace » is allowed only by peers that do not restrict pod labels.",
         [policy("db", podSelector=labels(role="db"), ingress=[{"from": [
             {"namespaceSelector": labels(team="ops"), "podSelector": labels(role="client")}]}]),
          policy("api", podSelector=labels(role="api"), ingress=[{"from": [
              {"namespaceSelector": labels(team="ops"), "podSelector": {}}]}])],
         {("other/*", "app/db", "5432"): False, ("other/*", "app/api", "8080"): True,
          ("dev/*", "app/api", "8080"): False}),
    Case("namespace-source-egress-not-analysed",
         "A source outside the analysed pods only needs the destination's ingress.",
         [policy("deny-out", namespace="other", policyTypes=["Egress"])],
         {("other/*", "app/db", "5432"): True, ("other/client", "app/db", "5432"): False}),
    Case("terminated-pods-are-ignored",
         "Succeeded or Failed pods have no network: they are not analysed.",
         [], {("app/web", "app/db", "5432"): True},
         pods=[*PODS, {**PODS[0], "metadata": {"name": "done", "namespace": "app"}, "status": {"phase": "Succeeded"}}]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_semantics(case: Case) -> None:
    sources = sorted({s for s, _, _ in case.expect})
    destinations = sorted({d for _, d, _ in case.expect})
    ports = sorted({p for _, _, p in case.expect})
    matrix = compute_matrix(NAMESPACES, case.pods, case.policies, sources=sources, destinations=destinations,
                            ports=ports)
    wrong = {cell: expected for cell, expected in case.expect.items() if matrix.allowed(*cell) != expected}
    assert not wrong, "\n".join(f"{cell}: attendu {expected}, {matrix.cell(*cell).explanation}"
                                for cell, expected in wrong.items())


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


# --- explanations --------------------------------------------------------------------

NB = "\u00a0"


def q(text: str) -> str:
    return f"«{NB}{text}{NB}»"


def explain(policies: list[Obj], source: str, destination: str, port: str) -> Any:
    matrix = compute_matrix(NAMESPACES, PODS, policies, sources=[source], destinations=[destination], ports=[port])
    return matrix.cell(source, destination, port)


def test_explanation_without_any_policy() -> None:
    cell = explain([], "app/web", "app/db", "5432")
    assert cell.allowed and cell.explanation.startswith("Autorisé.")
    assert f"aucune politique ne sélectionne le pod {q('app/db')}{NB}: tout est permis" in cell.explanation
    assert f"Sortie{NB}: aucune politique ne sélectionne le pod {q('app/web')}" in cell.explanation


def test_explanation_names_the_policy_and_rule_that_allow() -> None:
    policies = [policy("db", podSelector=labels(role="db"), ingress=[{"from": [{"podSelector": labels(role="api")}]},
                                                                     ALLOW_WEB])]
    cell = explain(policies, "app/web", "app/db", "5432")
    assert cell.allowed
    assert cell.ingress.rules == (("app/db", 1),)
    assert f"permise par la règle ingress[1] de la politique {q('app/db')}" in cell.explanation


def test_explanation_of_an_isolated_pod_without_matching_rule() -> None:
    policies = [policy("db", podSelector=labels(role="db"), ingress=[{"from": [{"podSelector": labels(role="api")}]}])]
    cell = explain(policies, "app/web", "app/db", "5432")
    assert not cell.allowed and cell.explanation.startswith("Bloqué.")
    assert (f"le pod {q('app/db')} est isolé en entrée par la politique {q('app/db')} et aucune règle "
            f"n'autorise la connexion depuis le pod {q('app/web')} sur le port 5432/TCP") in cell.explanation
    assert cell.ingress.policies == ("app/db",) and cell.egress is not None and cell.egress.allowed


def test_explanation_of_blocked_egress() -> None:
    policies = [policy("web-out", podSelector=labels(role="web"), policyTypes=["Egress"])]
    cell = explain(policies, "app/web", "app/db", "5432")
    assert cell.egress is not None and not cell.egress.allowed and cell.ingress.allowed
    assert f"le pod {q('app/web')} est isolé en sortie par la politique {q('app/web-out')}" in cell.explanation


def test_explanation_of_a_pod_selected_for_the_other_direction_only() -> None:
    policies = [policy("db-out", podSelector=labels(role="db"), policyTypes=["Egress"])]
    cell = explain(policies, "app/web", "app/db", "5432")
    expected = f"n'est isolé en entrée par aucune politique ({q('app/db-out')} ne concerne que la sortie)"
    assert expected in cell.explanation


def test_explanation_hints_at_the_allowed_ports_and_missing_named_ports() -> None:
    policies = [policy("api", podSelector=labels(role="api"), ingress=[
        {"from": [ALLOW_WEB["from"][0]], "ports": [{"port": 9090}]}, {"ports": [{"port": "grpc"}]}])]
    cell = explain(policies, "app/web", "app/api", "8080")
    assert "la règle ingress[0] de" in cell.explanation and "mais seulement sur 9090/TCP" in cell.explanation
    assert f"cite le port nommé {q('grpc')}, que {q('app/api')} ne déclare pas" in cell.explanation


def test_explanation_of_an_abstract_source() -> None:
    cell = explain([policy("db", podSelector=labels(role="db"), ingress=[ALLOW_WEB])], "other/*", "app/db", "5432")
    assert cell.egress is None and not cell.allowed
    assert "Sortie\u00a0: non analysée" in cell.explanation
    assert f"tout pod du namespace {q('other')}" in cell.explanation


def test_explanation_of_a_partly_allowed_cidr() -> None:
    policies = [policy("web", podSelector=labels(role="web"),
                       ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/9"}}]}])]
    cell = explain(policies, "10.0.0.0/8", "app/web", "80")
    assert not cell.allowed and "seule une partie est autorisée, par ingress[0]" in cell.explanation


def test_explanations_use_french_typography() -> None:
    policies = [policy("db", podSelector=labels(role="db"), ingress=[ALLOW_WEB])]
    matrix = compute_matrix(NAMESPACES, PODS, policies)
    for cell in matrix.cells:
        assert " :" not in cell.explanation and " ;" not in cell.explanation and '"' not in cell.explanation


# --- lint ----------------------------------------------------------------------------

DNS_EGRESS = {"to": [{"namespaceSelector": labels(**{"kubernetes.io/metadata.name": "kube-system"}),
                      "podSelector": labels(**{"k8s-app": "kube-dns"})}],
              "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


def ids(policies: list[Obj], pods: list[Obj] | None = None) -> list[tuple[str, str]]:
    return [(f.id, f.policy) for f in lint(NAMESPACES, PODS if pods is None else pods, policies)]


def test_lint_egress_deny_without_dns() -> None:
    findings = lint(NAMESPACES, PODS, [policy("deny-out", policyTypes=["Egress"])])
    assert [(f.id, f.policy, f.severity) for f in findings] == [("egress-deny-without-dns", "app/deny-out", "error")]
    message = findings[0].message
    assert q("app/deny-out") in message and q("app/web") in message and "53/UDP et 53/TCP" in message


def test_lint_egress_deny_with_dns_allowed_is_fine() -> None:
    assert ids([policy("deny-out", policyTypes=["Egress"], egress=[DNS_EGRESS])]) == []
    with_dns_pod = [*PODS, DNS_POD]
    assert ids([policy("deny-out", policyTypes=["Egress"], egress=[DNS_EGRESS])], with_dns_pod) == []
    assert ids([policy("deny-out", policyTypes=["Egress"], egress=[{"to": [ALL_NS], "ports": [
        {"port": "dns", "protocol": "UDP"}, {"port": "dns-tcp"}]}])], with_dns_pod) == []


def test_lint_egress_dns_over_udp_only_is_a_warning() -> None:
    udp_only = {**DNS_EGRESS, "ports": [{"port": 53, "protocol": "UDP"}]}
    findings = lint(NAMESPACES, PODS, [policy("deny-out", policyTypes=["Egress"], egress=[udp_only])])
    assert [(f.id, f.severity) for f in findings] == [("egress-deny-without-dns", "warning")]
    assert f"sur 53/TCP{NB}: les grandes réponses DNS" in findings[0].message


def test_lint_policy_selects_no_pod() -> None:
    assert ids([policy("typo", podSelector=labels(role="dbb"))]) == [("policy-selects-no-pod", "app/typo")]
    assert ids([policy("ok", podSelector=labels(role="db"))]) == []


def test_lint_namespace_selector_matches_nothing() -> None:
    wrong = policy("db", podSelector=labels(role="db"), ingress=[{"from": [{"namespaceSelector": labels(team="opz")}]}])
    findings = lint(NAMESPACES, PODS, [wrong])
    assert [(f.id, f.subject) for f in findings] == [("namespace-selector-matches-nothing", "ingress[0].from[0]")]
    assert q("app/db") in findings[0].message
    right = policy("db", podSelector=labels(role="db"), ingress=[{"from": [{"namespaceSelector": labels(team="ops")}]}])
    system = policy("db", podSelector=labels(role="db"), ingress=[{"from": [
        {"namespaceSelector": labels(**{"kubernetes.io/metadata.name": "kube-system"})}]}])
    assert ids([right]) == [] and ids([system]) == []


def test_lint_named_port_unresolved() -> None:
    policies = [policy("api", podSelector=labels(role="api"), ingress=[{"ports": [{"port": "grpc"}]}])]
    findings = lint(NAMESPACES, PODS, policies)
    assert [(f.id, f.subject) for f in findings] == [("named-port-unresolved", "ingress[0].ports[0]")]
    assert q("grpc") in findings[0].message
    assert ids([policy("api", podSelector=labels(role="api"), ingress=[{"ports": [{"port": "metrics"}]}])]) == []
    egress = policy("web", podSelector=labels(role="web"), policyTypes=["Egress"], egress=[
        DNS_EGRESS, {"to": [{"podSelector": labels(role="db")}], "ports": [{"port": "http"}]}])
    assert ids([egress], [*PODS, DNS_POD]) == [("named-port-unresolved", "app/web")]
    egress_ok = policy("web", podSelector=labels(role="web"), policyTypes=["Egress"], egress=[
        DNS_EGRESS, {"to": [{"podSelector": labels(role="db")}], "ports": [{"port": "pg"}]}])
    assert ids([egress_ok], [*PODS, DNS_POD]) == []


def test_lint_peer_and_vs_or() -> None:
    split = policy("db", podSelector=labels(role="db"), ingress=[{"from": [
        {"namespaceSelector": labels(team="ops")}, {"podSelector": labels(role="client")}]}])
    findings = lint(NAMESPACES, PODS, [split])
    assert [(f.id, f.subject) for f in findings] == [("peer-and-vs-or", "ingress[0].from[1]")]
    assert "OU" in findings[0].message and q("other/client") in findings[0].message


def test_lint_peer_and_vs_or_keeps_quiet_on_a_deliberate_or() -> None:
    deliberate = policy("db", podSelector=labels(role="db"), ingress=[{"from": [
        {"namespaceSelector": labels(team="ops")}, {"podSelector": labels(role="web")}]}])
    combined = policy("db", podSelector=labels(role="db"), ingress=[{"from": [
        {"namespaceSelector": labels(team="ops"), "podSelector": labels(role="client")}]}])
    assert ids([deliberate]) == [] and ids([combined]) == []


def test_lint_findings_are_sorted_and_stable() -> None:
    policies = [policy("typo", podSelector=labels(role="dbb")), policy("deny-out", policyTypes=["Egress"]),
                policy("api", podSelector=labels(role="api"), ingress=[{"ports": [{"port": "grpc"}]}])]
    first = lint(NAMESPACES, PODS, policies)
    assert first == lint(NAMESPACES, PODS, list(reversed(policies)))
    assert [f.key for f in first] == sorted(f.key for f in first)
    assert all(" :" not in f.message and '"' not in f.message for f in first)
