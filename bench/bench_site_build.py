#!/usr/bin/env python3
"""Temps de construction du site du cours et nombre de pages.

Lance ``mkdocs build --strict`` plusieurs fois (un processus neuf à chaque essai, comme en
ligne de commande), dans un dossier temporaire, et affiche la médiane des durées et le nombre
de pages produites.

    .venv/bin/python bench/bench_site_build.py              # 5 essais
    .venv/bin/python bench/bench_site_build.py --runs 9 --hide-solutions
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build_once(dest: Path, hide_solutions: bool) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBELAB_")}
    env["NO_MKDOCS_2_WARNING"] = "1"
    if hide_solutions:
        env["KUBELAB_HIDE_SOLUTIONS"] = "1"
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "-f", str(REPO / "mkdocs.yml"), "-d", str(dest)],
        cwd=dest.parent, env=env, capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"la construction a échoué :\n{proc.stdout}{proc.stderr}")
    return elapsed


def count_pages(site: Path) -> tuple[int, int, int]:
    pages = [p for p in site.rglob("index.html")]
    labs = [p for p in pages if p.parent.parent.name == "labs"]
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    return len(pages), len(labs), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="nombre d'essais (défaut : 5)")
    parser.add_argument("--hide-solutions", action="store_true", help="construire avec KUBELAB_HIDE_SOLUTIONS=1")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        times = []
        for n in range(args.runs):
            dest = Path(tmp) / f"site-{n}"
            times.append(build_once(dest, args.hide_solutions))
        pages, labs, size = count_pages(Path(tmp) / "site-0")

    mode = " (solutions hidden)" if args.hide_solutions else ""
    print(f"site build{mode}: median {statistics.median(times):.2f} s over {args.runs} runs "
          f"(min {min(times):.2f} s, max {max(times):.2f} s)")
    print(f"pages: {pages} ({labs} generated lab pages), site size {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
