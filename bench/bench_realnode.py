#!/usr/bin/env python3
"""Le nœud réel : démarrage jusqu'au premier pod réel, arrêt, mémoire des processus du nœud.

Mesure, binaires et images déjà en cache (« à chaud »), --runs fois :
- ``kubelab sandbox up --real-node`` (1 nœud, addon dns) jusqu'à ce qu'un premier pod busybox
  soit Running sur le nœud réel (objectif : 15 s ou moins) ;
- ``kubelab sandbox down`` (machine rendue dans son état d'avant).
Puis, sur un nœud qui tourne avec CoreDNS et 5 pods, la mémoire résidente de chaque processus
du nœud (containerd, kubelet, kube-proxy, kube-router, registre, shims, conteneurs), à comparer
à l'objectif de 600 Mo. Affiche les médianes et les figures en JSON sur la dernière ligne.

    sudo .venv/bin/python bench/bench_realnode.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "graders"))

from bench_sandbox import rss_kib  # noqa: E402
from kubelab.kube_api import KubeApi  # noqa: E402
from kubelab.sandbox.cluster import Sandbox  # noqa: E402
from kubelab.sandbox.realnode import host_state  # noqa: E402

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "premier", "namespace": "default"},
       "spec": {"containers": [{"name": "main", "image": "busybox:1.37", "command": ["sleep", "3600"]}]}}


def first_pod_running(api: KubeApi, name: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pod = api.get("v1", "Pod", name, "default") or {}
        if pod.get("status", {}).get("phase") == "Running":
            return
        time.sleep(0.05)
    sys.exit(f"le pod {name} n'a pas démarré en {timeout:.0f} s")


def one_run(root: Path) -> tuple[float, float]:
    sandbox = Sandbox(f"bench-{uuid.uuid4().hex[:6]}", root=root)
    started = time.perf_counter()
    sandbox.up(nodes=1, addons=("dns",), progress=lambda _: None, real_node=True)
    api = sandbox.api()
    api.create(POD)
    first_pod_running(api, "premier")
    up = time.perf_counter() - started
    api.close()
    started = time.perf_counter()
    sandbox.down(progress=lambda _: None)
    return up, time.perf_counter() - started


def memory(root: Path) -> dict[str, int]:
    sandbox = Sandbox(f"bench-mem-{uuid.uuid4().hex[:6]}", root=root)
    sandbox.up(nodes=1, addons=("dns", "hostpath-storage"), progress=lambda _: None, real_node=True)
    try:
        api = sandbox.api()
        for index in range(5):
            pod = json.loads(json.dumps(POD))
            pod["metadata"]["name"] = f"pod-{index}"
            api.create(pod)
        for index in range(5):
            first_pod_running(api, f"pod-{index}")
        time.sleep(5)
        usage: dict[str, int] = {}
        for line in host_state.node_processes():
            pid, command = line.split(" ", 1)
            name = Path(command.split(" ", 1)[0]).name
            if "kubelab.sandbox.images.registry" in command:
                name = "registre"
            usage[name] = usage.get(name, 0) + (rss_kib(int(pid)) or 0)
        api.close()
        return usage
    finally:
        sandbox.down(progress=lambda _: None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-realnode-") as folder:
        root = Path(folder)
        ups, downs = [], []
        for _ in range(args.runs):
            up, down = one_run(root)
            ups.append(up)
            downs.append(down)
            print(f"up --real-node → premier pod Running : {up:.1f} s ; down : {down:.1f} s")
        usage = memory(root)
    total = sum(usage.values())
    print(f"médiane up → premier pod Running : {statistics.median(ups):.1f} s (objectif ≤ 15 s)")
    print(f"médiane down : {statistics.median(downs):.1f} s")
    for name, kib in sorted(usage.items(), key=lambda item: -item[1]):
        print(f"  {name:<28} {kib / 1024:7.1f} Mo")
    print(f"mémoire résidente du nœud (CoreDNS et 5 pods) : {total / 1024:.0f} Mo (objectif ≤ 600 Mo)")
    figures = {"up_median_s": round(statistics.median(ups), 2), "down_median_s": round(statistics.median(downs), 2),
               "rss_mib": round(total / 1024),
               "rss_by_process_mib": {name: round(kib / 1024, 1) for name, kib in usage.items()}}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
