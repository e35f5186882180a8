#!/usr/bin/env python3
"""Vitesse de l'analyse des NetworkPolicies : une matrice complète par cas aléatoire.

Les 50 premiers cas aléatoires de ``tests/netpol/random_cases.py`` (graine fixe, ≈ 1 000
cases chacun, les ports sondés du test différentiel), analysés un par un ; médiane et pire
durée par matrice sur --runs passes. Objectif : ≤ 50 ms par matrice en moyenne. (C'était un
test chronométré : la vitesse se mesure ici, pas dans la suite de tests.)

    .venv/bin/python bench/bench_netpol.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from kubelab.netpol.model import Port
from kubelab.netpol.reachability import Analysis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.netpol

from tests.netpol.random_cases import PROBE_PORTS, generate  # noqa: E402 - needs REPO on sys.path

GOAL_MS = 50.0
SEED = 20_240_611  # the differential test's


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="passes sur les 50 cas (défaut : 5)")
    args = parser.parse_args()
    cases = generate(SEED, 50)
    ports = [Port.parse(p) for p in PROBE_PORTS]
    means = []
    for _ in range(args.runs):
        started = time.perf_counter()
        for case in cases:
            Analysis(case.namespaces, case.pods, case.policies).matrix(ports=ports)
        means.append((time.perf_counter() - started) / len(cases) * 1000)
    median = statistics.median(means)
    print(f"matrice par cas, moyenne sur 50 cas : médiane {median:.1f} ms, pire {max(means):.1f} ms "
          f"({args.runs} passes) — objectif ≤ {GOAL_MS:.0f} ms : {'ok' if median <= GOAL_MS else 'KO'}")


if __name__ == "__main__":
    main()
