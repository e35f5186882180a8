"""Le notebook d'un lab dans un vrai JupyterLab, piloté par Chromium (Playwright).

Le test démarre JupyterLab sur 127.0.0.1 (port libre, jeton, dossier racine temporaire qui
contient le notebook de la solution du lab 03, KUBELAB_KUBECONFIG vers le bac à sable de la
session, un namespace à lui), ouvre le notebook, exécute toutes les cellules (menu « Run »),
clique sur « Vérifier » et attend la liste des vérifications avec le score maximal. Les
captures d'écran vont dans ``test-output/notebooks/`` (ignoré par git). JupyterLab est arrêté
à la fin (``POST /api/shutdown``, qui arrête aussi le noyau).

Prérequis : ``/usr/bin/chromium`` (``scripts/setup.sh --browser``) et le paquet ``playwright``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubelab.catalog import load_lab
from kubelab.typography import french
from kubelab.waiting import scaled

from .nbtools import BIN, NOTEBOOKS, REPO, kernel_env

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = REPO / "test-output" / "notebooks"
LAB_ID = "03-stockage-pvc"

playwright_sync = pytest.importorskip("playwright.sync_api", reason="paquet playwright absent")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium absent : apt-get install -y chromium (ou scripts/setup.sh --browser)"
)


@dataclass
class JupyterLab:
    url: str
    token: str
    root: Path
    namespace: str
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(url: str, token: str, method: str = "GET") -> int:
    request = urllib.request.Request(url, method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


@pytest.fixture
def jupyterlab(tmp_path: Path, cluster_kubeconfig: Path, fresh_namespace) -> Iterator[JupyterLab]:
    root = tmp_path / "racine"
    root.mkdir()
    shutil.copy(NOTEBOOKS / "source" / LAB_ID / f"{LAB_ID}.ipynb", root)
    namespace = fresh_namespace("navigateur")
    jupyter = tmp_path / "jupyter"
    # Toutes les cellules dans la page (pas de fenêtrage) : chacune reste dans le DOM, visible en défilant.
    tracker = jupyter / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}), encoding="utf-8")
    env = kernel_env(cluster_kubeconfig, namespace, JUPYTER_CONFIG_DIR=str(jupyter / "config"),
                     JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"),
                     JUPYTERLAB_WORKSPACES_DIR=str(jupyter / "workspaces"),
                     JUPYTERLAB_SETTINGS_DIR=str(jupyter / "settings"))
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyterlab.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(BIN / "jupyter-lab"), "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
             "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + scaled(60)
        while True:
            try:
                if _request(f"{url}/api/status", token) == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab n'a pas démarré :\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield JupyterLab(url, token, root, namespace, log)
    finally:
        try:
            _request(f"{url}/api/shutdown", token, "POST")
        except OSError:
            pass
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)


@pytest.fixture
def page() -> Iterator[object]:
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
            pg = context.new_page()
            pg.errors = []
            pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
            yield pg
        finally:
            browser.close()


def _menu(pg: object, menu: str, item: str) -> None:
    pg.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    pg.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


def _shot(pg: object, name: str) -> None:
    """Une capture, sans la question « Jupyter news » de JupyterLab qui masquerait le bas de la page."""
    news = pg.locator(".Toastify__toast", has_text="Jupyter news").locator("button", has_text=re.compile("^No$"))
    if news.count():
        news.first.click()
    pg.screenshot(path=str(OUTPUT / name))


def test_run_all_then_verify_shows_the_checklist(jupyterlab: JupyterLab, page: object) -> None:
    """Exécuter tout le notebook puis cliquer sur « Vérifier » affiche-t-il la liste et le score maximal ?"""
    lab = load_lab(LAB_ID)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.goto(f"{jupyterlab.url}/lab/tree/{LAB_ID}.ipynb?token={jupyterlab.token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=scaled(60) * 1000)
    # The indicator says « idle » while the toolbar still reads « No Kernel »: wait for the kernel itself.
    page.locator(".jp-Toolbar-kernelName", has_text="Python").first.wait_for(timeout=scaled(60) * 1000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=scaled(60) * 1000)
    _shot(page, "01-ouvert.png")

    _menu(page, "Run", "Run All Cells")
    # « Soumettre » est la dernière cellule qui attend le cluster : son message dit que tout a tourné.
    written = page.locator(".jp-OutputArea-output", has_text="Instantané écrit")
    written.first.wait_for(state="attached", timeout=scaled(240) * 1000)
    connected = page.locator(".jp-OutputArea-output", has_text="Connecté")
    assert connected.count() >= 1 and jupyterlab.namespace in connected.first.text_content()
    assert (jupyterlab.root / "snapshot.json").is_file()

    button = page.locator("button.widget-button", has_text="Vérifier")
    button.first.wait_for(state="attached", timeout=scaled(60) * 1000)
    button.first.scroll_into_view_if_needed()
    button.first.click()
    score = page.locator(".kubelab-checklist .kubelab-score")
    score.first.wait_for(state="attached", timeout=scaled(30) * 1000)
    checklist = page.locator(".kubelab-checklist").first
    checklist.scroll_into_view_if_needed()
    _shot(page, "02-verifier.png")
    assert score.first.is_visible() and checklist.is_visible()
    visible = sum(check.points for check in lab.visible_checks())
    assert score.first.inner_text().strip() == french(f"Score : {visible}/{visible}")
    text = checklist.inner_text()
    for check in lab.visible_checks():
        assert check.title in text, f"{check.id} absent de la liste"
    assert text.count("✓") == len(lab.visible_checks()) and "✗" not in text
    assert re.search(r"Vérifié à \d\d:\d\d:\d\d en \d+ ms", text), text[-300:]
    errors = [e for e in page.errors if "ResizeObserver" not in e]
    assert not errors, errors

    # Les cellules de test, en bas du notebook, notent l'instantané écrit par « Soumettre ».
    last = page.locator(".jp-Notebook .jp-Cell").last
    last.scroll_into_view_if_needed()
    _shot(page, "03-correction.png")
    saved = json.loads((jupyterlab.root / "snapshot.json").read_text(encoding="utf-8"))
    assert saved["namespace"] == jupyterlab.namespace
