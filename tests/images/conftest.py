"""Fixtures of the image tests: the built store, a registry serving it, a private containerd."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubelab.sandbox.images import ImageStore, ensure_images
from kubelab.sandbox.realnode.containerd import hosts_files
from tests.images.node_binaries import node_binaries
from tests.images.private_containerd import PrivateContainerd, scaled, terminate, tools_missing


@dataclass
class RegistryProcess:
    process: subprocess.Popen[str]
    port: int
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def stop(self) -> int:
        return terminate(self.process, grace=10)


def start_registry(store_root: Path, log: Path) -> RegistryProcess:
    """``python -m kubelab.sandbox.images.registry`` on a free port, once its ready line is logged."""
    handle = open(log, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "kubelab.sandbox.images.registry", "--store", str(store_root),
         "--listen", "127.0.0.1:0"],
        stdout=subprocess.DEVNULL, stderr=handle, text=True,
    )
    deadline = time.monotonic() + scaled(30)
    while time.monotonic() < deadline:
        match = re.search(r"prêt sur http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
        if match:
            return RegistryProcess(process=process, port=int(match.group(1)), log=log)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError(f"le registre n'a pas démarré : {log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def binaries() -> dict[str, Path]:
    return node_binaries()


@pytest.fixture(scope="session")
def image_store(binaries: dict[str, Path]) -> ImageStore:
    return ensure_images(print, binaries)


@pytest.fixture(scope="session")
def registry(image_store: ImageStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    started = start_registry(image_store.root, tmp_path_factory.mktemp("registry") / "registry.log")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def containerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateContainerd]:
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("containerd privé : il faut Linux et root (les conteneurs, montages et espaces de noms)")
    missing = tools_missing()
    assert not missing, f"outils absents : {', '.join(missing)} (scripts/setup.sh installe containerd et runc)"
    private = PrivateContainerd(tmp_path_factory.mktemp("containerd"))
    try:
        private.start()
        yield private
    finally:
        private.stop()
        assert not private.leftovers(), f"laissé par containerd : {private.leftovers()}"


@pytest.fixture(scope="session")
def mirror_hosts(registry: RegistryProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real node's ``hosts.d`` (public registries sent to the local one only), for this registry."""
    folder = tmp_path_factory.mktemp("hosts.d")
    for relative, text in hosts_files(registry.address).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    return folder
