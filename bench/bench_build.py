#!/usr/bin/env python3
"""Coût des binaires du nœud réel : compilation à froid de chacun, amont complet contre nos mains réduits.

Chaque compilation « à froid » part d'un cache de compilation Go vide (GOCACHE temporaire,
supprimé ensuite) ; le cache de modules (GOMODCACHE) reste partagé : on mesure la compilation,
pas le téléchargement. Les commandes sont celles de la recette de kubelab.sandbox.build ;
kube-router et CoreDNS sont aussi compilés tels que l'amont les publie (``go install``), pour
le rapport complet / réduit. Affiche la durée réelle et le temps CPU (utilisateur + système,
moins sensible à une machine partagée) de chaque compilation, puis la durée d'une recherche
en cache (tiède) : médiane de ``ensure_binaries`` + ``ensure_node_binaries`` dans le processus
et de ``kubelab sandbox build --real-node`` en processus neuf.

    .venv/bin/python bench/bench_build.py                    # tout (≈ 40 min sur 2 cœurs)
    .venv/bin/python bench/bench_build.py --only coredns     # les compilations dont le nom contient « coredns »
    .venv/bin/python bench/bench_build.py --warm-only
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "graders"))

from kubelab.sandbox import build, versions  # noqa: E402
from kubelab_process import kubelab_command  # noqa: E402


@dataclass(frozen=True)
class ColdBuild:
    name: str
    tool: str
    args: tuple[str, ...]
    module: str | None


def _recipe_build(name: str, output: str) -> ColdBuild:
    recipe = build.node_recipe() if output != "kubelet" else build.control_plane_recipe()
    for step in recipe.steps:
        if output == "kubelet" and any(arg.endswith("/cmd/kubelet") for arg in step.args):
            wanted = ("k8s.io/kubernetes/cmd/kubelet", "k8s.io/kubernetes/cmd/kube-proxy")
            args = tuple(arg for arg in step.args if not arg.startswith("k8s.io/kubernetes/cmd/")) + wanted
            return ColdBuild(name, step.tool, args, step.module)
        if f"{{out}}/{output}" in step.args:
            return ColdBuild(name, step.tool, step.args, step.module)
    raise SystemExit(f"la recette ne construit pas {output}")


def cold_builds() -> list[ColdBuild]:
    return [
        _recipe_build("kubelet + kube-proxy", "kubelet"),
        _recipe_build(f"agnhost {versions.AGNHOST_VERSION}", "agnhost"),
        _recipe_build("kube-router réduit (pare-feu seul)", "kube-router"),
        ColdBuild("kube-router amont (cmd/kube-router)", "go",
                  ("install", "-trimpath", "-ldflags", "-s -w",
                   f"github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@{versions.KUBE_ROUTER_VERSION}"), None),
        _recipe_build(f"coredns réduit ({len(versions.COREDNS_PLUGINS)} plugins)", "coredns"),
        ColdBuild("coredns amont (tous les plugins)", "go",
                  ("install", "-trimpath", "-ldflags", "-s -w",
                   f"github.com/coredns/coredns@{versions.COREDNS_VERSION}"), None),
        _recipe_build("pause (gcc -static)", "pause"),
    ]


def measure(cold: ColdBuild, go: Path, kubernetes: str) -> tuple[float, float]:
    """Wall and CPU seconds of one build from an empty Go build cache."""
    scratch = Path(tempfile.mkdtemp(prefix="kubelab-bench-build-"))
    out = scratch / "out"
    out.mkdir()
    values = {"out": str(out), "date": "bench", "kubernetes": kubernetes}
    args = []
    for arg in cold.args:
        for name, value in values.items():
            arg = arg.replace("{" + name + "}", value)
        args.append(arg)
    command = [str(go) if cold.tool == "go" else shutil.which(cold.tool) or cold.tool, *args]
    env = dict(os.environ, **build.GO_ENV, GOCACHE=str(scratch / "gocache"), GOBIN=str(out))
    cwd = build.BUILDERS_DIR / cold.module if cold.module else out
    started = time.perf_counter()
    try:
        with open(scratch / "log", "w") as log:
            process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{cold.name} : échec\n" + (scratch / "log").read_text()[-3000:])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return wall, usage.ru_utime + usage.ru_stime


def warm_lookups(runs: int) -> tuple[list[float], list[float]]:
    in_process, as_process = [], []
    for _ in range(runs * 10):
        started = time.perf_counter()
        build.ensure_binaries(progress=lambda _: None)
        build.ensure_node_binaries(progress=lambda _: None)
        in_process.append(time.perf_counter() - started)
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([*kubelab_command(), "sandbox", "build", "--real-node", "--no-go-download"],
                              capture_output=True, text=True, cwd=REPO)
        as_process.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"kubelab sandbox build --real-node a échoué :\n{done.stderr}")
    return in_process, as_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="ne compiler que ces binaires (sous-chaîne)")
    parser.add_argument("--warm-only", action="store_true", help="ne mesurer que la recherche en cache")
    parser.add_argument("--runs", type=int, default=3, help="essais des recherches en cache (défaut : 3)")
    args = parser.parse_args()

    go = build.find_go(allow_download=False)
    build.ensure_binaries()
    build.ensure_node_binaries()
    print(f"machine : {os.cpu_count()} cœurs, charge {os.getloadavg()[0]:.1f} au départ ; {go}")
    if not args.warm_only:
        kubernetes = subprocess.run([str(go), "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes"],
                                    cwd=build.BUILDERS_DIR / "k8s-builder", capture_output=True, text=True,
                                    check=True).stdout.strip()
        selected = [cold for cold in cold_builds()
                    if not args.only or any(word.lower() in cold.name.lower() for word in args.only)]
        print(f"\n{'compilation à froid (GOCACHE vide)':<40} {'durée (s)':>10} {'CPU (s)':>9}")
        figures: dict[str, tuple[float, float]] = {}
        for cold in selected:
            wall, cpu = measure(cold, go, kubernetes)
            figures[cold.name] = (wall, cpu)
            print(f"{cold.name:<40} {wall:>10.0f} {cpu:>9.0f}   (charge {os.getloadavg()[0]:.1f})", flush=True)
        for project in ("kube-router", "coredns"):
            full = next((value for name, value in figures.items() if name.startswith(f"{project} amont")), None)
            trimmed = next((value for name, value in figures.items() if name.startswith(f"{project} réduit")), None)
            if full and trimmed:
                print(f"{project} : amont / réduit = {full[0] / trimmed[0]:.2f} en durée, "
                      f"{full[1] / trimmed[1]:.2f} en CPU")

    print("\ndurées enregistrées par la construction de cette machine (manifest.json) :")
    for folder in (build.binaries_dir(), build.node_binaries_dir()):
        manifest = json.loads((folder / "manifest.json").read_text())
        for label, seconds in manifest.get("step_seconds", {}).items():
            print(f"  {label:<100} {seconds:>7.0f} s")

    in_process, as_process = warm_lookups(args.runs)
    print(f"\nrecherche en cache, dans le processus : médiane {statistics.median(in_process) * 1000:.2f} ms "
          f"({len(in_process)} essais)")
    print(f"« kubelab sandbox build --real-node » en cache : médiane {statistics.median(as_process):.2f} s "
          f"({len(as_process)} essais)")


if __name__ == "__main__":
    main()
