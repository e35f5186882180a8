"""Likely mistakes in NetworkPolicies, as French findings naming the policy.

Checks (``Finding.id``):

* ``egress-deny-without-dns``: pods isolated for egress that cannot reach the cluster DNS
  (kube-system pods labelled ``k8s-app=kube-dns``) on 53/UDP and 53/TCP;
* ``policy-selects-no-pod``: a policy whose podSelector matches no pod of its namespace;
* ``namespace-selector-matches-nothing``: a namespaceSelector no known namespace satisfies
  (the namespaces every cluster has, such as kube-system, are always known);
* ``named-port-unresolved``: a named port no pod it could apply to declares;
* ``peer-and-vs-or``: a rule with a namespaceSelector peer and a separate podSelector peer
  (OR) where the podSelector matches no pod of the policy's namespace but matches pods of
  the selected namespaces: an AND (one peer with both selectors) was surely meant.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from kubelab.netpol.french import NBSP, enumerate_fr, plural, quote
from kubelab.netpol.model import ContainerPort, PodEndpoint, Port
from kubelab.netpol.policy import Peer, Policy, Rule, Selector
from kubelab.netpol.reachability import NAME_LABEL, Analysis

Obj = dict[str, Any]
Severity = Literal["error", "warning"]
SEVERITY_FR = {"error": "erreur", "warning": "avertissement"}
BUILTIN_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
DNS_LABELS = (("k8s-app", "kube-dns"),)
DNS_PORTS = (Port("UDP", 53, "dns"), Port("TCP", 53, "dns-tcp"))
SYNTHETIC_DNS = PodEndpoint("kube-system", "kube-dns", DNS_LABELS, None, (
    ContainerPort(53, "UDP", "dns"), ContainerPort(53, "TCP", "dns-tcp"), ContainerPort(9153, "TCP", "metrics")))


@dataclass(frozen=True)
class Finding:
    """One likely mistake: a stable check id, the policy concerned, a severity and a French message."""

    id: str
    policy: str
    severity: Severity
    message: str
    subject: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """Unique and stable: check, policy, and what inside it (rule, pods)."""
        return self.id, self.policy, self.subject


def lint(namespaces: list[Obj], pods: list[Obj], policies: list[Obj]) -> list[Finding]:
    """Every finding, sorted by check id, policy and subject."""
    analysis = Analysis(namespaces, pods, policies)
    findings = [*_dns(analysis), *_selects_no_pod(analysis), *_namespace_selectors(analysis),
                *_named_ports(analysis), *_and_vs_or(analysis)]
    return sorted(findings, key=lambda f: f.key)


def _dns(analysis: Analysis) -> list[Finding]:
    dns_pods = [p for p in analysis.pods if p.namespace == "kube-system" and p.label_map.get("k8s-app") == "kube-dns"]
    targets = dns_pods or [SYNTHETIC_DNS]
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[PodEndpoint]] = defaultdict(list)
    for pod in analysis.pods:
        if pod in dns_pods:
            continue
        isolating = tuple(p.key for p in analysis.policies if p.isolates(pod, "egress"))
        if not isolating:
            continue
        missing = tuple(port.label for port in DNS_PORTS if not any(
            analysis.verdict("egress", pod, target, port).allowed for target in targets))
        if missing:
            groups[(isolating, missing)].append(pod)
    findings = []
    for (isolating, missing), members in groups.items():
        names = enumerate_fr(quote(p.key) for p in members)
        policies = enumerate_fr(quote(k) for k in isolating)
        consequence = ("la résolution de noms échouera" if "53/UDP" in missing
                       else "les grandes réponses DNS (repli en TCP) échoueront")
        message = (f"{plural(len(members), 'Le pod', 'Les pods')} {names} "
                   f"{plural(len(members), 'est isolé', 'sont isolés')} en sortie par "
                   f"{plural(len(isolating), 'la politique', 'les politiques')} {policies}, mais aucune règle "
                   f"ne {plural(len(members), 'lui', 'leur')} permet de joindre le DNS du cluster (pods "
                   f"k8s-app=kube-dns de kube-system) sur {enumerate_fr(missing)}{NBSP}: {consequence}. "
                   "Ajoutez une règle egress vers namespaceSelector kubernetes.io/metadata.name=kube-system "
                   "et podSelector k8s-app=kube-dns, ports 53/UDP et 53/TCP.")
        severity: Severity = "error" if "53/UDP" in missing else "warning"
        findings.append(Finding("egress-deny-without-dns", isolating[0], severity, message,
                                ",".join(p.key for p in members)))
    return findings


def _selects_no_pod(analysis: Analysis) -> list[Finding]:
    findings = []
    for policy in analysis.policies:
        if not any(policy.selects(pod) for pod in analysis.pods):
            message = (f"La politique {quote(policy.key)} ne sélectionne aucun pod{NBSP}: aucun pod du namespace "
                       f"{quote(policy.namespace)} ne vérifie son podSelector "
                       f"({policy.pod_selector.describe()}). Vérifiez les labels (fautes de frappe, labels du "
                       "pod plutôt que du Deployment).")
            findings.append(Finding("policy-selects-no-pod", policy.key, "warning", message))
    return findings


def _known_namespaces(analysis: Analysis) -> dict[str, dict[str, str]]:
    known = {n: {NAME_LABEL: n} for n in BUILTIN_NAMESPACES}
    known.update({p.namespace: analysis.namespace_labels(p.namespace) for p in analysis.pods})
    known.update(analysis.namespaces)
    return known


def _rule_peers(policy: Policy) -> list[tuple[Rule, int, Peer]]:
    return [(rule, i, peer) for rule in (*policy.ingress_rules, *policy.egress_rules)
            for i, peer in enumerate(rule.peers)]


def _peer_path(rule: Rule, index: int) -> str:
    return f"{rule.path}.{'from' if rule.direction == 'ingress' else 'to'}[{index}]"


def _namespace_selectors(analysis: Analysis) -> list[Finding]:
    known = _known_namespaces(analysis)
    findings = []
    for policy in analysis.policies:
        for rule, index, peer in _rule_peers(policy):
            selector = peer.namespace_selector
            if selector is None or selector.is_empty or any(selector.matches(labels) for labels in known.values()):
                continue
            path = _peer_path(rule, index)
            message = (f"Dans la politique {quote(policy.key)}, le namespaceSelector de {path} "
                       f"({selector.describe()}) ne correspond à aucun namespace connu ({len(known)} "
                       f"{plural(len(known), 'namespace')}){NBSP}: ce pair n'autorise rien. Vérifiez les labels "
                       f"des namespaces ({quote('kubectl get ns --show-labels')}).")
            findings.append(Finding("namespace-selector-matches-nothing", policy.key, "warning", message, path))
    return findings


def _named_ports(analysis: Analysis) -> list[Finding]:
    findings = []
    for policy in analysis.policies:
        selected = [p for p in analysis.pods if policy.selects(p)]
        if not selected:
            continue
        for rule in (*policy.ingress_rules, *policy.egress_rules):
            candidates = selected if rule.direction == "ingress" else _egress_destinations(analysis, policy, rule)
            for index, entry in enumerate(rule.ports):
                if not isinstance(entry.port, str) or not candidates:
                    continue
                if any(pod.named_port(entry.port, entry.protocol) is not None for pod in candidates):
                    continue
                whom = ("les pods qu'elle sélectionne" if rule.direction == "ingress"
                        else "les pods de destination de la règle")
                message = (f"Dans la politique {quote(policy.key)}, le port nommé {quote(entry.port)} "
                           f"({entry.protocol}) de {rule.path}.ports[{index}] n'est déclaré par aucun de {whom} "
                           f"({len(candidates)} {plural(len(candidates), 'pod')}){NBSP}: la règle ne s'applique à "
                           "aucun port. Un port nommé se résout sur le pod de destination (containers[].ports[].name).")
                findings.append(Finding("named-port-unresolved", policy.key, "warning", message,
                                        f"{rule.path}.ports[{index}]"))
    return findings


def _egress_destinations(analysis: Analysis, policy: Policy, rule: Rule) -> list[PodEndpoint]:
    if not rule.peers:
        return list(analysis.pods)
    return [pod for pod in analysis.pods if any(analysis.peer_matches(peer, policy, pod) for peer in rule.peers)]


def _and_vs_or(analysis: Analysis) -> list[Finding]:
    known = _known_namespaces(analysis)
    findings = []
    for policy in analysis.policies:
        for rule in (*policy.ingress_rules, *policy.egress_rules):
            namespace_only = [p.namespace_selector for p in rule.peers if p.pod_selector is None
                              and p.namespace_selector is not None and not p.namespace_selector.is_empty]
            pod_only = [(i, p.pod_selector) for i, p in enumerate(rule.peers) if p.namespace_selector is None
                        and p.pod_selector is not None and not p.pod_selector.is_empty]
            for namespaces in namespace_only:
                selected = {n for n, labels in known.items() if namespaces.matches(labels)} - {policy.namespace}
                for index, pods in pod_only:
                    matching = [p for p in analysis.pods if pods.matches(p.label_map)]
                    remote = [p for p in matching if p.namespace in selected]
                    if remote and not any(p.namespace == policy.namespace for p in matching):
                        findings.append(_and_vs_or_finding(policy, rule, index, namespaces, pods, remote))
    return findings


def _and_vs_or_finding(policy: Policy, rule: Rule, index: int, namespaces: Selector, pods: Selector,
                       remote: list[PodEndpoint]) -> Finding:
    keys = "from" if rule.direction == "ingress" else "to"
    shown = remote[:3]
    message = (f"Dans la politique {quote(policy.key)}, la règle {rule.path} a deux pairs séparés, "
               f"namespaceSelector ({namespaces.describe()}) OU podSelector ({pods.describe()}){NBSP}: ce "
               f"podSelector seul ne vise que le namespace {quote(policy.namespace)}, où aucun pod ne le vérifie, "
               f"alors que {enumerate_fr(quote(p.key) for p in shown)} le "
               f"{plural(len(shown), 'vérifie', 'vérifient')}. Pour {quote('ces pods de ces namespaces')} (ET), "
               f"écrivez un seul élément de {keys} avec les deux sélecteurs.")
    return Finding("peer-and-vs-or", policy.key, "warning", message, _peer_path(rule, index))
