#!/usr/bin/env python3
"""Durées de démarrage et d'arrêt du bac à sable, mémoire de ses processus, cache des binaires.

Lance ``kubelab sandbox up`` (1 nœud, puis 3 nœuds) et ``kubelab sandbox down`` comme un
utilisateur, en processus neufs, --runs fois chacun, dans un dossier de bacs à sable
temporaire (KUBELAB_SANDBOX_HOME) et sous un nom unique : les bacs à sable déjà démarrés
sur la machine ne sont pas touchés. Affiche la médiane de chaque durée, la mémoire
résidente (VmRSS, lue dans /proc) de chaque processus d'un bac à sable qui tourne, et la
durée de ``kubelab sandbox build`` quand les binaires sont déjà en cache.

    .venv/bin/python bench/bench_sandbox.py
    .venv/bin/python bench/bench_sandbox.py --runs 5
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
import uuid
from pathlib import Path

from kubelab.sandbox.build import binaries_dir, cached_binaries
from kubelab_process import kubelab_command

REPO = Path(__file__).resolve().parents[1]


def run(args: list[str], env: dict[str, str]) -> float:
    """Run ``kubelab ARGS``; its wall time in seconds (exits on failure)."""
    started = time.perf_counter()
    done = subprocess.run([*kubelab_command(), *args], capture_output=True, text=True, env=env, cwd=REPO)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"« kubelab {' '.join(args)} » a échoué ({done.returncode}) :\n{done.stdout}{done.stderr}")
    return elapsed


def rss_kib(pid: int) -> int | None:
    """Resident memory of ``pid`` in KiB (VmRSS), or ``None`` when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="essais par configuration (défaut : 3)")
    args = parser.parse_args()

    if cached_binaries() is None:
        print("binaires absents du cache : le premier « up » les construira (long), la mesure en tiendra compte")
    home = Path(tempfile.mkdtemp(prefix="kubelab-bench-sandbox-"))
    name = f"bench-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "KUBELAB_SANDBOX_HOME": str(home)}
    results: dict[str, list[float]] = {}
    memory: list[tuple[str, int, int | None]] = []
    try:
        for nodes in (1, 3):
            ups, downs = [], []
            for attempt in range(args.runs):
                ups.append(run(["sandbox", "--name", name, "up", "--nodes", str(nodes)], env))
                if nodes == 3 and attempt == 0:
                    state = json.loads((home / name / "state.json").read_text())
                    time.sleep(2)  # let the control plane settle after start-up
                    memory = [(process, pid, rss_kib(pid)) for process, pid in state["pids"].items()]
                downs.append(run(["sandbox", "--name", name, "down"], env))
            results[f"up ({nodes} nœud{'s' if nodes > 1 else ''})"] = ups
            results[f"down ({nodes} nœud{'s' if nodes > 1 else ''})"] = downs
        results["build (en cache)"] = [run(["sandbox", "build", "--no-go-download"], env) for _ in range(args.runs)]
    finally:
        subprocess.run([*kubelab_command(), "sandbox", "--name", name, "down"], env=env, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)

    print(f"{'commande':<22} {'médiane (s)':>12} {'min':>7} {'max':>7}   ({args.runs} essais)")
    for what, times in results.items():
        print(f"{what:<22} {statistics.median(times):>12.2f} {min(times):>7.2f} {max(times):>7.2f}")
    print()
    print("mémoire résidente d'un bac à sable de 3 nœuds qui tourne :")
    total = 0
    for process, _pid, rss in sorted(memory, key=lambda item: -(item[2] or 0)):
        total += rss or 0
        print(f"  {process:<26} {('%.0f Mio' % (rss / 1024)) if rss else 'arrêté':>10}")
    print(f"  {'total':<26} {total / 1024:>6.0f} Mio")
    print()
    print(f"binaires en cache : {'oui' if cached_binaries() is not None else 'non'} ({binaries_dir()})")


if __name__ == "__main__":
    main()
