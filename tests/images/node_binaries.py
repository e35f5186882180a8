"""The static executables the image tests wrap: the real node's builds (pause, CoreDNS,
agnhost) and BusyBox built from source, all cached machine-wide."""

from __future__ import annotations

from pathlib import Path

from kubelab.sandbox.images.payloads import payload_binaries


def node_binaries() -> dict[str, Path]:
    return payload_binaries(progress=print)
