"""Building the sandbox: a missing Go is explained, an interrupted build poisons nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from kubelab.sandbox import build, versions
from tests.helpers import REPO, run_cli


def test_missing_go_is_explained_in_french(tmp_path: Path) -> None:
    """Without Go and without download, does the build say in French what to install?"""
    result = run_cli("sandbox", "build", "--no-go-download",
                     env={"KUBELAB_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin", "KUBELAB_GO": ""})
    assert result.returncode == 2
    assert "Go 1.25 ou plus récent est introuvable" in result.stderr
    assert not (tmp_path / "sandbox" / "bin").exists()


def test_toolchain_download_takes_the_proxy_from_the_environment(tmp_path: Path) -> None:
    """Without Go, does kubelab fetch it only from the proxy GOPROXY names, and refuse in French when it is off?"""
    result = run_cli("sandbox", "build", env={"KUBELAB_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin", "KUBELAB_GO": "",
                                              "GOPROXY": "off"})
    assert result.returncode == 2
    assert "aucun proxy de modules n'est configuré pour le télécharger (GOPROXY=off)" in result.stderr
    assert not (tmp_path / "go").exists() and not (tmp_path / "sandbox" / "bin").exists()


def test_interrupted_build_leaves_no_cache_and_a_rerun_completes(tmp_path: Path) -> None:
    """Killed in the middle, does a build leave no half-filled cache, and does a rerun finish?"""
    env = {**os.environ, "KUBELAB_CACHE": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "kubelab.cli", "sandbox", "build"], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("[2/"):
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    final = tmp_path / "sandbox" / "bin" / build.control_plane_key()
    assert not final.exists()

    result = run_cli("sandbox", "build", env={"KUBELAB_CACHE": str(tmp_path)}, timeout=1800)
    assert result.returncode == 0, result.stderr
    assert (final / "manifest.json").exists()
    assert not (tmp_path / "sandbox" / "staging").exists()
    version = subprocess.run([str(final / "kube-apiserver"), "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"Kubernetes {versions.KUBERNETES_VERSION}"
