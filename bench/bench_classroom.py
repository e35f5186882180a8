#!/usr/bin/env python3
"""Mode classe : la correction de 30 namespaces d'apprenants en une commande.

Démarre son propre bac à sable (nom et dossier uniques sous /tmp, 1 nœud), prépare
--learners namespaces ``etudiant-NN`` dans des états mêlés (un tiers avec la solution, un
tiers au point de départ, un tiers avec un mutant), attend que les solutions aient convergé,
puis chronomètre ``kubelab grade LAB --namespaces 'etudiant-*' --workers W --csv FICHIER``
lancé comme un utilisateur le lance, médiane de --runs essais pour chaque nombre de
workers de --workers. Affiche aussi le rapport entre 1 worker et le plus grand nombre.

    .venv/bin/python bench/bench_classroom.py
    .venv/bin/python bench/bench_classroom.py --learners 30 --workers 1,4,8 --runs 3
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kubelab.catalog import load_lab
from kubelab.grading import grade_live
from kubelab.lab_setup import apply_variant, setup
from kubelab.sandbox.cluster import Sandbox
from kubelab_process import kubelab_command

REPO = Path(__file__).resolve().parents[1]


LAB = "03-stockage-pvc"
VARIANTS = ("solution", "starter", "mutants/plaintext-password")
CONVERGE_S = 60.0


def time_classroom(kubeconfig: Path, workers: int, output: Path, runs: int, learners: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([*kubelab_command(), "grade", LAB, "--kubeconfig", str(kubeconfig),
                               "--namespaces", "etudiant-*", "--workers", str(workers), "--csv", str(output)],
                              capture_output=True, text=True, cwd=REPO)
        times.append(time.perf_counter() - started)
        rows = list(csv.DictReader(output.open(encoding="utf-8"))) if output.exists() else []
        if done.returncode not in (0, 1) or len(rows) != learners:
            sys.exit(f"la correction de la classe a échoué ({done.returncode}, {len(rows)} lignes) :\n"
                     f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=30, help="namespaces d'apprenants (défaut : 30)")
    parser.add_argument("--workers", default="1,4,8", help="nombres de workers essayés (défaut : 1,4,8)")
    parser.add_argument("--runs", type=int, default=3, help="essais par nombre de workers (défaut : 3)")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]

    lab = load_lab(LAB)
    root = Path(tempfile.mkdtemp(prefix="kubelab-bench-classroom-"))
    sandbox = Sandbox(f"bench-cl-{uuid.uuid4().hex[:6]}", root=root)
    results: dict[int, float] = {}
    try:
        started = time.perf_counter()
        sandbox.up(nodes=1, addons=("dns", "hostpath-storage"), progress=lambda _: None)
        api = sandbox.api()
        plan = {f"etudiant-{index:02d}": VARIANTS[index % len(VARIANTS)] for index in range(args.learners)}

        def prepare(item: tuple[str, str]) -> None:
            namespace, variant = item
            setup(api, lab, namespace)
            apply_variant(api, lab, variant, namespace)

        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(prepare, plan.items()))
        for namespace, variant in plan.items():
            if variant == "solution":
                grade_live(LAB, api, namespace, wait=CONVERGE_S)
        print(f"{args.learners} namespaces préparés en {time.perf_counter() - started:.1f} s "
              f"(bac à sable « {sandbox.name} », lab {LAB})")
        api.close()
        for workers in counts:
            results[workers] = time_classroom(sandbox.kubeconfig, workers, root / "notes.csv", args.runs, args.learners)
    finally:
        sandbox.down(progress=lambda _: None)
        shutil.rmtree(root, ignore_errors=True)

    print()
    print(f"{'workers':>8} {'médiane (s)':>12} {'par apprenant (ms)':>19}   ({args.runs} essais, processus neuf)")
    for workers, seconds in results.items():
        print(f"{workers:>8} {seconds:>12.2f} {seconds / args.learners * 1000:>19.0f}")
    if len(results) > 1:
        first, best = results[counts[0]], min(results.values())
        print(f"\nrapport {counts[0]} worker(s) / meilleur : {first / best:.2f}")


if __name__ == "__main__":
    main()
