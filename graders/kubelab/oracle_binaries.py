"""Where the configuration checkers of lab 09 (promtool's and amtool's loaders) are cached.

Built once per machine by ``kubelab.sandbox.oracles_build``; this module only finds them, so
that graders can use them without importing the sandbox's build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kubelab.paths import cache_root

PROMETHEUS_VERSION = "3.16.0"  # Go module github.com/prometheus/prometheus v0.316.0
ALERTMANAGER_VERSION = "0.35.0"  # Go module github.com/prometheus/alertmanager v0.35.0
COMMANDS = ("promtool-check-config", "amtool-check-config")


@dataclass(frozen=True)
class Oracles:
    """Paths of the two configuration checkers."""

    promtool: Path
    amtool: Path


def oracles_dir() -> Path:
    return cache_root() / "oracles" / f"prometheus-{PROMETHEUS_VERSION}_alertmanager-{ALERTMANAGER_VERSION}"


def cached_oracles() -> Oracles | None:
    """The cached checkers when a complete build is present, else ``None`` (nothing is built)."""
    folder = oracles_dir()
    if not (folder / "manifest.json").is_file() or not all((folder / name).is_file() for name in COMMANDS):
        return None
    return Oracles(folder / COMMANDS[0], folder / COMMANDS[1])
