"""Random, valid NetworkPolicy scenarios for the differential test against NCA.

Each case has 2–3 namespaces with labels (named after the case: NCA identifies pods by
``namespace/name`` across all the cases of one run), 3–7 pods with labels and named container ports,
1–4 policies drawn over every feature both engines support, and a few external IPs to use
as sources. ``Case.features`` records what a case exercises, so that the test can check
the generator's coverage.

Left out on purpose (NCA 2.1.0 deviates from the Kubernetes API there, see the test's
docstring): ``egress: []`` without ``policyTypes``, empty label values, and ``Exists`` or
``DoesNotExist`` in the podSelector of a peer that also has a namespaceSelector.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

NAMESPACE_LABELS = {"env": ["prod", "dev"], "team": ["red", "blue"]}
POD_LABELS = {"app": ["web", "api", "db"], "tier": ["front", "back"], "zone": ["a", "b"]}
CONTAINER_PORTS = [("http", 80, "TCP"), ("http", 8080, "TCP"), ("metrics", 9090, "TCP"), ("dns", 53, "UDP"),
                   ("dns-tcp", 53, "TCP"), ("web", 443, "TCP"), ("alt", 81, "SCTP"), ("stream", 8080, "UDP")]
PORT_NAMES = ["http", "metrics", "dns", "dns-tcp", "web", "alt", "stream", "absent"]
PORT_NUMBERS = [53, 80, 81, 443, 8080, 9090]
RANGES = [(80, 90), (50, 60), (8000, 9000), (443, 443)]
CIDRS = {"0.0.0.0/0": ["10.0.0.0/8", "192.168.5.0/24"], "10.0.0.0/8": ["10.1.0.0/16", "10.2.3.0/24"],
         "192.168.0.0/16": ["192.168.5.0/24"], "8.8.8.0/24": ["8.8.8.8/32"], "10.1.0.0/16": []}
EXTERNAL_IPS = ["10.1.2.3", "10.2.3.4", "10.9.9.9", "192.168.5.5", "192.168.7.7", "8.8.8.8", "8.8.8.9", "1.1.1.1"]
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
PROBE_PORTS = [f"{n}/{p}" for p in ("TCP", "UDP", "SCTP") for n in PORT_NUMBERS]


@dataclass
class Case:
    """One random scenario."""

    index: int
    namespaces: list[Obj]
    pods: list[Obj]
    policies: list[Obj]
    external_ips: list[str]
    features: set[str] = field(default_factory=set)


def generate(seed: int, count: int) -> list[Case]:
    rng = random.Random(seed)
    return [_case(rng, i) for i in range(count)]


def _case(rng: random.Random, index: int) -> Case:
    features: set[str] = set()
    names = [f"c{index}-ns{i}" for i in range(rng.randint(2, 3))]
    namespaces = [{"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": n, "labels": _labels(rng, NAMESPACE_LABELS)}} for n in names]
    pods = [_pod(rng, f"p{i}", rng.choice(names)) for i in range(rng.randint(3, 7))]
    policies = [_policy(rng, f"pol{i}", rng.choice(names), features) for i in range(rng.randint(1, 4))]
    return Case(index, namespaces, pods, policies, rng.sample(EXTERNAL_IPS, 3), features)


def _labels(rng: random.Random, vocabulary: dict[str, list[str]]) -> dict[str, str]:
    return {k: rng.choice(v) for k, v in vocabulary.items() if rng.random() < 0.6}


def _pod(rng: random.Random, name: str, namespace: str) -> Obj:
    ports: list[Obj] = []
    seen: set[str] = set()
    for port_name, number, protocol in rng.sample(CONTAINER_PORTS, rng.randint(0, 3)):
        if port_name in seen or (number, protocol) in {(p["containerPort"], p["protocol"]) for p in ports}:
            continue
        seen.add(port_name)
        ports.append({"name": port_name, "containerPort": number, "protocol": protocol})
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": _labels(rng, POD_LABELS)},
            "spec": {"containers": [{"name": "main", "image": "nginx", "ports": ports}]},
            "status": {"podIP": f"10.1.{rng.randint(0, 255)}.{rng.randint(1, 254)}"}}


def _policy(rng: random.Random, name: str, namespace: str, features: set[str]) -> Obj:
    spec: Obj = {"podSelector": _selector(rng, POD_LABELS, features, "podSelector", empty_chance=0.3)}
    if spec["podSelector"] == {}:
        features.add("policy-selects-all")
    types = rng.choice([None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]])
    features.add(f"policyTypes={types}")
    ingress = types is None or "Ingress" in types
    egress = types is not None and "Egress" in types
    if types is None and rng.random() < 0.4:
        egress = True
        spec["egress"] = [_rule(rng, "to", features) for _ in range(rng.randint(1, 2))]
    if types is not None:
        spec["policyTypes"] = types
    if ingress:
        _rules(rng, spec, "ingress", "from", features)
    if egress and "egress" not in spec:
        _rules(rng, spec, "egress", "to", features)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def _rules(rng: random.Random, spec: Obj, key: str, peers_key: str, features: set[str]) -> None:
    shape = rng.choices(["absent", "empty", "allow-all", "rules"], [1, 1, 1, 5])[0]
    features.add(f"{key}-{shape}")
    if shape == "empty":
        spec[key] = []
    elif shape == "allow-all":
        spec[key] = [{}]
    elif shape == "rules":
        spec[key] = [_rule(rng, peers_key, features) for _ in range(rng.randint(1, 3))]


def _rule(rng: random.Random, peers_key: str, features: set[str]) -> Obj:
    rule: Obj = {}
    peers = rng.choices(["absent", "empty", "some"], [1, 1, 6])[0]
    features.add(f"{peers_key}-{peers}")
    if peers == "empty":
        rule[peers_key] = []
    elif peers == "some":
        rule[peers_key] = [_peer(rng, features) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.65:
        rule["ports"] = [_port(rng, features) for _ in range(rng.randint(1, 2))]
    else:
        features.add("rule-all-ports")
    return rule


def _peer(rng: random.Random, features: set[str]) -> Obj:
    kind = rng.choices(["pod", "namespace", "both", "ipBlock"], [3, 3, 3, 2])[0]
    features.add(f"peer-{kind}")
    if kind == "ipBlock":
        cidr = rng.choice(list(CIDRS))
        block: Obj = {"cidr": cidr}
        if CIDRS[cidr] and rng.random() < 0.6:
            block["except"] = rng.sample(CIDRS[cidr], rng.randint(1, len(CIDRS[cidr])))
            features.add("ipBlock-except")
        return {"ipBlock": block}
    peer: Obj = {}
    if kind in ("namespace", "both"):
        peer["namespaceSelector"] = _selector(rng, NAMESPACE_LABELS, features, "namespaceSelector", 0.25)
    if kind in ("pod", "both"):
        operators = OPERATORS if kind == "pod" else ("In", "NotIn")
        peer["podSelector"] = _selector(rng, POD_LABELS, features, "podSelector", 0.2, operators)
    return peer


def _selector(rng: random.Random, vocabulary: dict[str, list[str]], features: set[str], what: str,
              empty_chance: float, operators: tuple[str, ...] = OPERATORS) -> Obj:
    if rng.random() < empty_chance:
        features.add(f"{what}-empty")
        return {}
    selector: Obj = {}
    keys = rng.sample(list(vocabulary), rng.randint(1, 2))
    for key in keys:
        if rng.random() < 0.5:
            selector.setdefault("matchLabels", {})[key] = rng.choice(vocabulary[key])
            features.add(f"{what}-matchLabels")
            continue
        operator = rng.choice(operators)
        features.add(f"{what}-{operator}")
        expression: Obj = {"key": key, "operator": operator}
        if operator in ("In", "NotIn"):
            expression["values"] = rng.sample(vocabulary[key], rng.randint(1, len(vocabulary[key])))
        selector.setdefault("matchExpressions", []).append(expression)
    return selector


def _port(rng: random.Random, features: set[str]) -> Obj:
    entry: Obj = {}
    protocol = rng.choices([None, "TCP", "UDP", "SCTP"], [4, 2, 2, 1])[0]
    features.add(f"protocol-{protocol or 'default'}")
    if protocol:
        entry["protocol"] = protocol
    kind = rng.choices(["number", "named", "range", "none"], [4, 3, 2, 1])[0]
    features.add(f"port-{kind}")
    if kind == "number":
        entry["port"] = rng.choice(PORT_NUMBERS)
    elif kind == "named":
        entry["port"] = rng.choice(PORT_NAMES)
    elif kind == "range":
        entry["port"], entry["endPort"] = rng.choice(RANGES)
    return entry
