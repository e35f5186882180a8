#!/usr/bin/env python3
"""Temps de correction de chaque lab et nombre de requêtes à l'API.

Démarre son propre bac à sable (nom et dossier uniques sous /tmp, 3 nœuds pour que le lab
de haute disponibilité ait tous ses points), applique la solution de chaque lab qui a un
correcteur, attend qu'elle ait tous les points, puis mesure :

- « processus » : la durée de ``kubelab grade LAB`` lancé comme un utilisateur le lance
  (interpréteur neuf, imports compris), médiane de --runs essais ;
- « à chaud » : la correction dans un processus déjà chaud (connexion ouverte, modules
  chargés), un ``LiveState`` neuf à chaque fois et ``wait=0``, médiane de --warm essais ;
- « requêtes » : le nombre de requêtes HTTP d'une correction à chaud (``KubeApi.counter``),
  réparti ensuite en « LIST » (la lecture des types déclarés, à comparer à « types lus »,
  ``len(lab.reads)``) et « req. mesures » (les mesures qui ne sont pas des LIST : une
  SubjectAccessReview par droit testé, un dry-run, la lecture de Secrets comparés en mémoire).

Un lab dont une vérification demande --allow-dry-run est corrigé avec (en processus comme
à chaud) : sans, elle serait « non notée » et la solution n'aurait pas tous les points.

Objectifs : à chaud ≤ 100 ms, processus ≤ 1,5 s, LIST ≤ types lus. Arrête le bac à
sable à la fin, même en cas d'erreur.

    .venv/bin/python bench/bench_grade.py
    .venv/bin/python bench/bench_grade.py --runs 9 --warm 50 --lab 03-stockage-pvc
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kubelab.catalog import Lab, available_labs
from kubelab.cluster_state import ProbeNotAllowed
from kubelab.grading import grade
from kubelab.kube_api import KubeApi
from kubelab.lab_setup import apply_variant, setup
from kubelab.live_state import LiveState
from kubelab.sandbox.cluster import Sandbox
from kubelab_process import kubelab_command

REPO = Path(__file__).resolve().parents[1]


ADDONS = ("dns", "hostpath-storage", "ingress", "rbac")
GOAL_WARM_MS = 100.0
GOAL_PROCESS_S = 1.5
CONVERGE_S = 120.0


def allow(lab: Lab) -> tuple[str, ...]:
    """``("dry-run",)`` when some check or probe of the lab needs --allow-dry-run to be graded."""
    needs = {check.spec.needs for check in lab.checks} | {probe.needs for probe in lab.probes.values()}
    return ("dry-run",) if "dry-run" in needs else ()


def state(lab: Lab, api: KubeApi) -> LiveState:
    return LiveState(api, lab.namespace, lab.reads, lab.probes, allow(lab))


def solve(api: KubeApi, lab: Lab) -> None:
    """Apply the lab's solution in its own namespace and wait until it has full marks."""
    setup(api, lab)
    apply_variant(api, lab, "solution", lab.namespace)
    report = grade(lab, state(lab, api), wait=CONVERGE_S)
    if report.score != report.max_score:
        details = "\n".join(f"  {r.outcome.value:7} {r.check.id} : {r.message}" for r in report.results
                            if r.points != r.check.points)
        sys.exit(f"la solution de {lab.id} n'a pas tous les points ({report.score}/{report.max_score}) :\n{details}")


def time_process(lab: Lab, kubeconfig: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        flags = ["--allow-dry-run"] if allow(lab) else []
        done = subprocess.run([*kubelab_command(), "grade", lab.id, "--kubeconfig", str(kubeconfig), *flags],
                              capture_output=True, text=True, cwd=REPO)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            sys.exit(f"kubelab grade {lab.id} a échoué ({done.returncode}) :\n{done.stdout}{done.stderr}")
    return statistics.median(times)


def time_warm(lab: Lab, api: KubeApi, runs: int) -> tuple[float, float]:
    """(median seconds, requests per grading) of in-process gradings, after a warm-up."""
    for _ in range(3):
        grade(lab, state(lab, api), wait=0)
    times, requests = [], []
    for _ in range(runs):
        before = api.counter.total
        started = time.perf_counter()
        report = grade(lab, state(lab, api), wait=0)
        times.append(time.perf_counter() - started)
        requests.append(api.counter.total - before)
        if report.score != report.max_score:
            sys.exit(f"{lab.id} a perdu des points pendant la mesure ({report.score}/{report.max_score})")
    return statistics.median(times), statistics.mean(requests)


def request_split(lab: Lab, api: KubeApi) -> tuple[int, int]:
    """(requests to read the declared lists, requests sent by the probes), on a fresh state."""
    fresh = state(lab, api)
    before = api.counter.total
    for read in lab.reads:
        fresh.objects(read.api_version, read.kind, read.scope, read.label_selector)
    lists = api.counter.total - before
    for name in fresh.probes:
        try:
            fresh.probe(name)
        except ProbeNotAllowed:
            pass
    return lists, api.counter.total - before - lists


def verdict(ok: bool) -> str:
    return "ok" if ok else "KO"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="essais de « kubelab grade » en processus (défaut : 5)")
    parser.add_argument("--warm", type=int, default=20, help="corrections à chaud mesurées (défaut : 20)")
    parser.add_argument("--nodes", type=int, default=3, help="nœuds du bac à sable (défaut : 3)")
    parser.add_argument("--lab", action="append", help="ne mesurer que ce lab (répétable)")
    args = parser.parse_args()

    labs = [lab for lab in available_labs(on_broken=lambda lab_id, exc: print(f"{lab_id} ignoré : {exc.message}"))
            if not args.lab or lab.id in args.lab]
    if not labs:
        sys.exit("aucun lab à mesurer")
    root = Path(tempfile.mkdtemp(prefix="kubelab-bench-grade-"))
    sandbox = Sandbox(f"bench-{uuid.uuid4().hex[:6]}", root=root)
    rows = []
    try:
        started = time.perf_counter()
        sandbox.up(nodes=args.nodes, addons=ADDONS, progress=lambda _: None)
        print(f"bac à sable « {sandbox.name} » ({args.nodes} nœuds) prêt en {time.perf_counter() - started:.1f} s")
        api = sandbox.api()
        for lab in labs:
            started = time.perf_counter()
            solve(api, lab)
            print(f"{lab.id} : solution appliquée et convergée en {time.perf_counter() - started:.1f} s")
        for lab in labs:
            warm, requests = time_warm(lab, api, args.warm)
            process = time_process(lab, sandbox.kubeconfig, args.runs)
            rows.append((lab, warm, process, requests, *request_split(lab, api)))
        api.close()
    finally:
        sandbox.down(progress=lambda _: None)
        shutil.rmtree(root, ignore_errors=True)

    print()
    header = (f"{'lab':<27} {'vérif.':>6} {'à chaud (ms)':>13} {'processus (s)':>14} {'requêtes':>9} "
              f"{'LIST':>5} {'types lus':>10} {'req. mesures':>13}  dry-run")
    print(header)
    print("-" * len(header))
    for lab, warm, process, requests, lists, probe_requests in rows:
        print(f"{lab.id:<27} {len(lab.checks):>6} {warm * 1000:>13.1f} {process:>14.2f} {requests:>9.1f} "
              f"{lists:>5} {len(lab.reads):>10} {probe_requests:>13}  {'oui' if allow(lab) else 'non'}")
    print()
    worst_warm = max(r[1] for r in rows) * 1000
    worst_process = max(r[2] for r in rows)
    over = [lab.id for lab, _, _, _, lists, _ in rows if lists > len(lab.reads)]
    print(f"objectif à chaud ≤ {GOAL_WARM_MS:.0f} ms : pire {worst_warm:.1f} ms — "
          f"{verdict(worst_warm <= GOAL_WARM_MS)}")
    print(f"objectif processus ≤ {GOAL_PROCESS_S} s : pire {worst_process:.2f} s — "
          f"{verdict(worst_process <= GOAL_PROCESS_S)}")
    print(f"objectif LIST ≤ types lus : {verdict(not over)}" + (f" (dépassé : {', '.join(over)})" if over else ""))
    print("(« req. mesures » : requêtes des mesures qui ne sont pas des LIST : une SubjectAccessReview par droit "
          "testé, un dry-run, la lecture de deux Secrets comparés en mémoire ; sans objectif)")


if __name__ == "__main__":
    main()
