"""A small cluster shared by the semantic tests, and helpers to write policies tersely.

Namespaces: ``app`` (team=shop, env=prod), ``other`` (team=ops, env=prod), ``dev``
(env=dev). Pods (IPs in 10.1.0.0/16):

=============  =========================  ==============================
pod            labels                     container ports
=============  =========================  ==============================
app/web        role=web, tier=front       http 80/TCP
app/api        role=api, tier=back        http 8080/TCP, metrics 9090/TCP
app/db         role=db                    pg 5432/TCP
other/client   role=client                —
other/web      role=web                   http 80/TCP
dev/client     role=client                —
=============  =========================  ==============================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Obj = dict[str, Any]


def namespace(name: str, **labels: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def pod(key: str, ip: str, labels: dict[str, str], ports: Sequence[tuple[str | None, int, str]] = ()) -> Obj:
    ns, name = key.split("/")
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "main", "image": "nginx", "ports": [
                {**({"name": n} if n else {}), "containerPort": number, "protocol": protocol}
                for n, number, protocol in ports]}]},
            "status": {"phase": "Running", "podIP": ip}}


NAMESPACES = [namespace("app", team="shop", env="prod"), namespace("other", team="ops", env="prod"),
              namespace("dev", env="dev")]
PODS = [
    pod("app/web", "10.1.0.10", {"role": "web", "tier": "front"}, [("http", 80, "TCP")]),
    pod("app/api", "10.1.0.11", {"role": "api", "tier": "back"}, [("http", 8080, "TCP"), ("metrics", 9090, "TCP")]),
    pod("app/db", "10.1.0.12", {"role": "db"}, [("pg", 5432, "TCP")]),
    pod("other/client", "10.1.1.10", {"role": "client"}),
    pod("other/web", "10.1.1.11", {"role": "web"}, [("http", 80, "TCP")]),
    pod("dev/client", "10.1.2.10", {"role": "client"}),
]
DNS_POD = pod("kube-system/coredns", "10.1.9.9", {"k8s-app": "kube-dns"},
              [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")])


def policy(name: str, namespace: str = "app", **spec: Any) -> Obj:
    """A NetworkPolicy; ``spec`` keys as in YAML (``podSelector`` defaults to ``{}``)."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": {"podSelector": {}, **spec}}


def labels(**values: str) -> Obj:
    """``{"matchLabels": values}``."""
    return {"matchLabels": values}


def expr(key: str, operator: str, *values: str) -> Obj:
    """A selector with one ``matchExpressions`` entry."""
    return {"matchExpressions": [{"key": key, "operator": operator, **({"values": list(values)} if values else {})}]}
