#!/usr/bin/env python3
"""Démarrage de kubelab : chaque commande en processus, et la correction face à un script kubectl.

Démarre son propre bac à sable (1 nœud, nom et dossier uniques sous /tmp), applique la
solution du lab 03 et en prend un instantané, puis mesure en processus neufs, en
alternant les commandes à chaque tour pour qu'elles partagent la charge de la machine
(médianes de --runs tours) :

- chaque commande sans cluster (``--help``, ``labs``, ``grade --snapshot``,
  ``netpol matrix --from-files``) et la correction en direct, avec ce qu'elle a chargé :
  le client ``kubernetes`` (jamais), urllib3 (seulement pour parler au cluster) ;
- ``kubelab grade 03-stockage-pvc`` face à un script de vérification à la Killercoda qui
  lance un ``kubectl get … -o json`` par type que le correcteur lit (et ne vérifie rien),
  sur le même état : rapport correction en direct / script, et correction depuis
  l'instantané / script. Objectif : moins de 1, plus rapide que le script.

    .venv/bin/python bench/bench_startup.py
    .venv/bin/python bench/bench_startup.py --runs 21
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

from kubelab.catalog import load_lab
from kubelab.cluster_state import CLUSTER_SCOPE, LAB_SCOPE, Read
from kubelab.grading import grade
from kubelab.kube_api import BUILTIN_RESOURCES
from kubelab.lab_setup import apply_variant, setup
from kubelab.live_state import LiveState
from kubelab.sandbox.build import binaries_dir
from kubelab.sandbox.cluster import Sandbox
from kubelab_process import kubelab_command

REPO = Path(__file__).resolve().parents[1]
LAB = "03-stockage-pvc"
NETPOL_LAB = "04-networkpolicies"
PROBE = ("import atexit, sys\n"
         "def report():\n"
         "    sys.stdout.flush()\n"
         "    loaded = [name for name in ('kubernetes', 'urllib3', 'yaml') if name in sys.modules]\n"
         "    sys.stderr.write('\\nCHARGÉS=' + ','.join(loaded) + '\\n')\n"
         "atexit.register(report)\n"
         "from kubelab.cli import main\n"
         "sys.exit(main(sys.argv[1:]))\n")


def kubectl_script(kubectl: Path, kubeconfig: Path, namespace: str, reads: tuple[Read, ...]) -> str:
    """A verify script: one ``kubectl get -o json`` per kind the grader reads, nothing checked."""
    lines = ["set -e"]
    for read in reads:
        plural = BUILTIN_RESOURCES[(read.api_version, read.kind)][0]
        resource = f"{plural}.{read.api_version.split('/')[0]}" if "/" in read.api_version else plural
        if read.scope == LAB_SCOPE:
            where = f"-n {namespace}"
        elif read.scope == CLUSTER_SCOPE:
            where = ""
        else:
            where = f"-n {read.scope}"
        selector = f" -l '{read.label_selector}'" if read.label_selector else ""
        lines.append(f"{kubectl} --kubeconfig {kubeconfig} get {resource} {where}{selector} -o json > /dev/null")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="tours de mesure (défaut : 11)")
    args = parser.parse_args()

    lab = load_lab(LAB)
    kubectl = binaries_dir() / "kubectl"
    root = Path(tempfile.mkdtemp(prefix="kubelab-bench-startup-"))
    sandbox = Sandbox(f"bench-{uuid.uuid4().hex[:6]}", root=root)
    try:
        sandbox.up(nodes=1, addons=("dns", "hostpath-storage"), progress=lambda _: None)
        api = sandbox.api()
        setup(api, lab)
        apply_variant(api, lab, "solution", lab.namespace)
        report = grade(lab, LiveState(api, lab.namespace, lab.reads, lab.probes), wait=120)
        if report.score != report.max_score:
            sys.exit(f"la solution du lab 03 n'a pas tous les points ({report.score}/{report.max_score})")
        api.close()
        snapshot = root / "lab03.snapshot.json"
        subprocess.run([*kubelab_command(), "snapshot", LAB, "--kubeconfig", str(sandbox.kubeconfig),
                        "-o", str(snapshot)], check=True, capture_output=True)
        script = root / "verify.sh"
        # The lab's reads plus the Events every lab reads (for the Events shown with a failure).
        script.write_text(kubectl_script(kubectl, sandbox.kubeconfig, lab.namespace, (*lab.reads, Read("v1", "Event"))))
        kubelab = [sys.executable, "-c", PROBE]
        commands: dict[str, list[str]] = {
            "kubelab --help": [*kubelab, "--help"],
            "kubelab labs": [*kubelab, "labs"],
            "kubelab grade --snapshot": [*kubelab, "grade", LAB, "--snapshot", str(snapshot)],
            "kubelab netpol matrix --from-files": [*kubelab, "netpol", "matrix", "-n", "lab-zero-trust",
                                                   "--from-files", str(REPO / "labs" / NETPOL_LAB / "solution")],
            "kubelab grade (en direct)": [*kubelab, "grade", LAB, "--kubeconfig", str(sandbox.kubeconfig)],
            "script kubectl": ["bash", str(script)],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        loaded: dict[str, str] = {}
        for _ in range(args.runs):
            for name, command in commands.items():
                started = time.perf_counter()
                done = subprocess.run(command, capture_output=True, text=True, cwd=root)
                times[name].append(time.perf_counter() - started)
                if done.returncode != 0:
                    sys.exit(f"{name} a échoué ({done.returncode}) :\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
                if "CHARGÉS=" in done.stderr:
                    loaded[name] = done.stderr.rsplit("CHARGÉS=", 1)[1].strip() or "rien"
    finally:
        sandbox.down(progress=lambda _: None)
        shutil.rmtree(root, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"\n{'commande':<36} {'médiane (ms)':>13} {'min (ms)':>9}   chargés parmi kubernetes, urllib3, yaml")
    for name, values in times.items():
        print(f"{name:<36} {medians[name] * 1000:>13.0f} {min(values) * 1000:>9.0f}   {loaded.get(name, '—')}")
    script_s = medians["script kubectl"]
    live = medians["kubelab grade (en direct)"] / script_s
    offline = medians["kubelab grade --snapshot"] / script_s
    print(f"\n{len(lab.reads) + 1} « kubectl get » dans le script ; médianes de {args.runs} tours alternés.")
    print(f"kubelab grade {LAB} (en direct) / script kubectl : {live:.2f} — {'ok' if live < 1 else 'KO'} "
          "(objectif < 1)")
    print(f"kubelab grade {LAB} --snapshot / script kubectl : {offline:.2f} — {'ok' if offline < 1 else 'KO'} "
          "(objectif < 1)")
    never = [name for name, what in loaded.items() if "kubernetes" in what]
    print(f"client kubernetes chargé : {', '.join(never) if never else 'par aucune commande'}")


if __name__ == "__main__":
    main()
