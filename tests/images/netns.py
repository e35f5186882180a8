"""Run a function inside a container's network namespace, from a thread of the test process.

``setns`` moves only the calling thread, so a short-lived thread enters the namespace, runs
the function (its sockets belong to the container's loopback) and ends; the test process
itself never changes namespace.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import TypeVar

CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def in_network_of(pid: int, function: Callable[[], T]) -> T:
    """``function()`` run with the network namespace of process ``pid``; its exception is re-raised."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            descriptor = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
            try:
                if libc.setns(descriptor, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns vers le réseau du processus {pid}")
            finally:
                os.close(descriptor)
            outcome["value"] = function()
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"netns-{pid}")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
