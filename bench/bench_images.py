#!/usr/bin/env python3
"""Images locales : construction à froid par image, appel à chaud, tailles, tirage par le registre.

Construit chaque image du catalogue dans un cache neuf (dossier temporaire, KUBELAB_CACHE) :
par défaut les paquets .deb et les index déjà téléchargés sur la machine sont partagés (on
mesure la construction), avec --downloads tout est retéléchargé. Mesure ensuite
``ensure_images`` à chaud (médiane de --runs, dans ce processus et dans un interpréteur neuf),
affiche les tailles (couche compressée, contenu), puis démarre le registre et un containerd
privé (espace de noms de montage à lui, comme les tests) et mesure le tirage de chaque image
(--runs fois, un containerd neuf à chaque fois). --mmdebstrap compare avec une racine
PostgreSQL faite par mmdebstrap (s'il est installé).

    .venv/bin/python bench/bench_images.py
    .venv/bin/python bench/bench_images.py --runs 5 --downloads
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "graders"))
sys.path.insert(0, str(REPO))

from kubelab.paths import cache_root  # noqa: E402
from kubelab.sandbox.images import build_images, ensure_images, load_catalog  # noqa: E402
from kubelab.sandbox.images.builder import load_indexes  # noqa: E402
from kubelab.sandbox.images.package_plan import suites_needed  # noqa: E402
from tests.images.conftest import start_registry  # noqa: E402
from tests.images.node_binaries import node_binaries  # noqa: E402
from tests.images.private_containerd import PrivateContainerd  # noqa: E402

WARM_GOAL_SECONDS = 1.0


def quiet(_: str) -> None:
    return None


def cold_builds(binaries: dict[str, Path], share_downloads: bool, folder: Path) -> None:
    real = cache_root() / "images"
    os.environ["KUBELAB_CACHE"] = str(folder / "cache")
    (folder / "cache" / "images").mkdir(parents=True)
    if share_downloads:
        for name in ("debs", "indexes"):
            if (real / name).is_dir():
                os.symlink(real / name, folder / "cache" / "images" / name)
    catalog = load_catalog()
    suites = tuple(sorted(set().union(*(suites_needed(spec) for spec in catalog.images))))
    started = time.perf_counter()
    load_indexes(quiet, suites)
    print(f"index Debian ({', '.join(suites)}) : {time.perf_counter() - started:.1f} s")
    print(f"{'image':<20} {'froid (s)':>9} {'compressée (Mo)':>16} {'contenu (Mo)':>13} {'paquets':>8}")
    total = 0.0
    for spec in catalog.images:
        started = time.perf_counter()
        built = build_images(quiet, binaries, (spec.name,))
        elapsed = time.perf_counter() - started
        if not built:
            print(f"{spec.name:<20} {'(binaire absent)':>9}")
            continue
        total += elapsed
        metadata = built[0].metadata
        print(f"{spec.name:<20} {elapsed:9.1f} {metadata['compressed_bytes'] / 1e6:16.1f} "
              f"{metadata['uncompressed_bytes'] / 1e6:13.1f} {len(metadata['packages']):8d}")
    print(f"{'total':<20} {total:9.1f}")


def warm_calls(binaries: dict[str, Path], runs: int) -> Path:
    store = ensure_images(quiet, binaries)
    in_process = []
    for _ in range(runs):
        started = time.perf_counter()
        ensure_images(quiet, binaries)
        in_process.append(time.perf_counter() - started)
    script = (
        "import json, sys, time; from pathlib import Path; started = time.perf_counter(); "
        "from kubelab.sandbox.images import ensure_images; "
        "ensure_images(lambda _: None, {k: Path(v) for k, v in json.loads(sys.argv[1]).items()}); "
        "print(time.perf_counter() - started)"
    )
    given = json.dumps({key: str(value) for key, value in binaries.items()})
    fresh = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", script, given], capture_output=True, text=True, check=True,
                              env=dict(os.environ, PYTHONPATH=str(REPO / "graders")))
        fresh.append(float(done.stdout.strip()))
    warm = statistics.median(in_process)
    state = "ok" if statistics.median(fresh) < WARM_GOAL_SECONDS else "KO"
    print(f"ensure_images à chaud : médiane {warm * 1000:.0f} ms dans le processus, "
          f"{statistics.median(fresh) * 1000:.0f} ms avec l'import dans un interpréteur neuf "
          f"(objectif < {WARM_GOAL_SECONDS:.0f} s : {state})")
    return store.root


def pulls(store_root: Path, runs: int, folder: Path) -> None:
    registry = start_registry(store_root, folder / "registry.log")
    references = {}
    for spec in load_catalog().images:
        references.setdefault(spec.name, spec.canonical_references[0])
    timings: dict[str, list[float]] = {name: [] for name in references}
    try:
        for run in range(runs):
            containerd = PrivateContainerd(folder / f"containerd-{run}")
            containerd.start()
            try:
                for name, reference in references.items():
                    started = time.perf_counter()
                    done = containerd.pull(f"{registry.address}/{reference}")
                    if done.returncode == 0:
                        timings[name].append(time.perf_counter() - started)
            finally:
                containerd.stop()
    finally:
        registry.stop()
    print(f"{'tirage (ctr pull + décompression)':<36} {'médiane (s)':>11}")
    for name, values in timings.items():
        if values:
            print(f"{name:<36} {statistics.median(values):11.2f}")
    print(f"{'tout le catalogue':<36} {sum(statistics.median(v) for v in timings.values() if v):11.2f}")


def mmdebstrap(folder: Path) -> None:
    if shutil.which("mmdebstrap") is None:
        print("mmdebstrap absent : comparaison sautée (apt-get install mmdebstrap)")
        return
    target = folder / "postgres-mmdebstrap.tar"
    started = time.perf_counter()
    done = subprocess.run(
        ["mmdebstrap", "--quiet", "--variant=essential", "--include=postgresql-17", "--format=tar", "trixie",
         str(target)],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        print(f"mmdebstrap a échoué : {done.stderr.strip()[-500:]}")
        return
    print(f"mmdebstrap trixie essential + postgresql-17 : {time.perf_counter() - started:.0f} s, "
          f"{target.stat().st_size / 1e6:.0f} Mo (tar non compressé)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="essais des mesures à chaud et des tirages (défaut : 3)")
    parser.add_argument("--downloads", action="store_true", help="retélécharger paquets et index (cache vide)")
    parser.add_argument("--mmdebstrap", action="store_true", help="comparer avec mmdebstrap pour PostgreSQL")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_images : il faut être root (containerd privé, espaces de noms de montage).")
    binaries = node_binaries()
    original = os.environ.get("KUBELAB_CACHE")
    with tempfile.TemporaryDirectory(prefix="kubelab-bench-images-") as scratch:
        folder = Path(scratch)
        cold_builds(binaries, not args.downloads, folder)
        if original is None:
            os.environ.pop("KUBELAB_CACHE")
        else:
            os.environ["KUBELAB_CACHE"] = original
        store_root = warm_calls(binaries, args.runs)
        pulls(store_root, args.runs, folder)
        if args.mmdebstrap:
            mmdebstrap(folder)


if __name__ == "__main__":
    main()
