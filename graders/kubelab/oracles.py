"""Prometheus's and Alertmanager's own configuration loaders, run on a text when they are built here.

The binaries come from ``kubelab.sandbox.oracles_build`` (cached once per machine); nothing is
built at grading time. Lab 09 runs them in a read-only probe, so their word is stored in a
snapshot with the rest, and its checks agree with them wherever they are present. A binary that
is absent, crashes or hangs gives ``None``: the grader then relies on its own reading.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kubelab.oracle_binaries import ALERTMANAGER_VERSION, PROMETHEUS_VERSION, Oracles, cached_oracles

TIMEOUT_SECONDS = 20.0
FIELD_NOT_FOUND = re.compile(r"line (\d+): field (\S+) not found in type (\S+)")
CANNOT_UNMARSHAL = re.compile(r"line (\d+): cannot unmarshal !!(\w+) `?([^`]*)`? into (\S+)")
YAML_LINE = re.compile(r"^yaml: line (\d+): (.*)$")
UNREGISTERED_DISCOVERY = re.compile(r"field (\w+)_sd_configs not found")
REGISTERED_DISCOVERIES = ("kubernetes", "file", "dns", "http")  # see the builder's promtool-check-config/main.go


@dataclass(frozen=True)
class ToolVerdict:
    """What one tool said of one configuration: accepted, or refused with its own words."""

    tool: str
    accepted: bool
    message: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _run(binary: Path, tool: str, text: str) -> ToolVerdict | None:
    with tempfile.TemporaryDirectory(prefix="kubelab-oracle-") as folder:
        path = Path(folder) / "config.yml"
        path.write_text(text, encoding="utf-8")
        try:
            done = subprocess.run([str(binary), str(path)], capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
                                  cwd=folder, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
    output = done.stdout.strip()
    if done.returncode == 0 and output == "SUCCESS":
        return ToolVerdict(tool, True, "")
    if done.returncode == 1 and output.startswith("FAILED: "):
        return ToolVerdict(tool, False, output.removeprefix("FAILED: ").replace(str(path), "le fichier"))
    return None


def check_prometheus(text: str, oracles: Oracles | None = None) -> ToolVerdict | None:
    """``promtool check config --syntax-only`` on ``text`` (Prometheus's loader), or ``None`` if not built, or
    blind to the file: it names a discovery the trimmed build does not register (``consul_sd_configs``…),
    which real Prometheus knows."""
    found = oracles or cached_oracles()
    verdict = _run(found.promtool, f"Prometheus {PROMETHEUS_VERSION}", text) if found else None
    unknown = UNREGISTERED_DISCOVERY.search(verdict.message) if verdict and not verdict.accepted else None
    if unknown and unknown.group(1) not in REGISTERED_DISCOVERIES:
        return None
    return verdict


def check_alertmanager(text: str, oracles: Oracles | None = None) -> ToolVerdict | None:
    """``amtool check-config`` on ``text`` (Alertmanager's loader), or ``None`` if not built."""
    found = oracles or cached_oracles()
    return _run(found.amtool, f"Alertmanager {ALERTMANAGER_VERSION}", text) if found else None


def french_message(message: str) -> str:
    """A tool's refusal, with the frequent forms told in French (line, field) and the rest quoted."""
    field = FIELD_NOT_FOUND.search(message)
    if field:
        return f"ligne {field.group(1)} : champ inconnu `{field.group(2)}`"
    wrong_type = CANNOT_UNMARSHAL.search(message)
    if wrong_type:
        return f"ligne {wrong_type.group(1)} : valeur de type {wrong_type.group(2)} à la place de {wrong_type.group(4)}"
    line = YAML_LINE.match(message)
    if line:
        return f"YAML invalide, ligne {line.group(1)} : « {line.group(2)} »"
    return f"« {message.strip()} »"
