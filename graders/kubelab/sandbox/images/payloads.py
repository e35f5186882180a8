"""The executables the image catalog wraps, built once per machine by the sandbox's builds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

Progress = Callable[[str], None]


def payload_binaries(progress: Progress = print, allow_go_download: bool = True) -> dict[str, Path]:
    """``pause``, ``coredns``, ``agnhost`` (the real node's Go and C builds) and ``busybox`` (from source)."""
    from kubelab.sandbox.build import ensure_node_binaries
    from kubelab.sandbox.busybox_build import ensure_busybox

    built = ensure_node_binaries(progress, allow_go_download=allow_go_download)
    return {"pause": built.pause, "coredns": built.coredns, "agnhost": built.agnhost,
            "busybox": ensure_busybox(progress)}
