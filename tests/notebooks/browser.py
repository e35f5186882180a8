"""A real JupyterLab driven by Chromium (Playwright), for the notebook tests that look at the page.

``jupyterlab(root, env)`` starts JupyterLab on 127.0.0.1 (free port, token, root folder,
no windowing so that every cell stays in the page) and stops it afterwards
(``POST /api/shutdown``, which stops the kernels too). ``chromium_page`` opens a page at a
given width. Screenshots go to ``test-output/notebooks/`` (ignored by git).

Needs ``/usr/bin/chromium`` (``scripts/setup.sh --browser``) and the ``playwright`` package.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kubelab.waiting import scaled

from .nbtools import BIN, REPO

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = REPO / "test-output" / "notebooks"

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium absent : apt-get install -y chromium (ou scripts/setup.sh --browser)")


@dataclass
class JupyterLab:
    url: str
    token: str
    root: Path
    log: Path

    def open(self, page: Any, notebook: str) -> None:
        """Open ``notebook`` and wait for its kernel to be idle."""
        page.goto(f"{self.url}/lab/tree/{notebook}?token={self.token}")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=ms(60))
        # The indicator says « idle » while the toolbar still reads « No Kernel »: wait for the kernel itself.
        page.locator(".jp-Toolbar-kernelName", has_text="Python").first.wait_for(timeout=ms(60))
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=ms(60))
        dismiss_news(page)


def dismiss_news(page: Any) -> None:
    """Answer « No » to JupyterLab's « Jupyter news » question, which would hide the bottom of the page."""
    news = page.locator(".Toastify__toast", has_text="Jupyter news").locator("button", has_text=re.compile("^No$"))
    try:
        news.first.wait_for(timeout=ms(3))
    except Exception:  # Playwright's TimeoutError: the question did not come
        return
    news.first.click()


def ms(seconds: float) -> float:
    """Playwright's timeouts are in milliseconds, scaled by ``$KUBELAB_TIMEOUT_FACTOR``."""
    return scaled(seconds) * 1000


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(url: str, token: str, method: str = "GET") -> int:
    request = urllib.request.Request(url, method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


@contextmanager
def jupyterlab(root: Path, env: dict[str, str], state: Path) -> Iterator[JupyterLab]:
    """JupyterLab serving ``root``, its kernels started with ``env``; its own settings under ``state``."""
    tracker = state / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}), encoding="utf-8")
    env = {**env, "JUPYTER_CONFIG_DIR": str(state / "config"), "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"), "JUPYTERLAB_SETTINGS_DIR": str(state / "settings")}
    port, token = _free_port(), secrets.token_hex(16)
    log = state / "jupyterlab.log"
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
        yield JupyterLab(url, token, root, log)
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


@contextmanager
def chromium_page(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A page of a headless Chromium; ``page.errors`` collects the page's JavaScript errors."""
    playwright_sync = pytest.importorskip("playwright.sync_api", reason="paquet playwright absent")
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
            page = context.new_page()
            page.errors = []
            page.on("pageerror", lambda exc: page.errors.append(str(exc)))
            yield page
        finally:
            browser.close()


def menu(page: Any, name: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{name}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


def shot(page: Any, name: str, element: Any = None) -> Path:
    """A screenshot (of the page, or of one element) in test-output/notebooks/, without JupyterLab's
    « Jupyter news » question that would hide the bottom of the page."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    news = page.locator(".Toastify__toast", has_text="Jupyter news").locator("button", has_text=re.compile("^No$"))
    if news.count():
        news.first.click()
        page.wait_for_timeout(500)
    path = OUTPUT / name
    (element or page).screenshot(path=str(path))
    return path


def code_cell(page: Any, text: str) -> Any:
    """The code cell whose source contains ``text`` (found again by its text: see ``nth_cell`` to keep it)."""
    return page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea", has_text=text)).first


def nth_cell(page: Any, text: str) -> Any:
    """The cell whose source contains ``text`` now, held by its position: it stays found once edited."""
    index = page.locator(".jp-Notebook .jp-Cell").evaluate_all(
        "(cells, text) => cells.findIndex(c => (c.querySelector('.jp-InputArea') || {}).innerText"
        "?.includes(text))", text)
    assert index >= 0, f"aucune cellule ne contient « {text} »"
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def replace_and_run(page: Any, cell: Any, source: str) -> None:
    """Replace a cell's source as a learner would type it, then run it (Shift+Enter)."""
    editor = cell.locator(".cm-content").first
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(source)
    page.keyboard.press("Shift+Enter")


def wait_idle(page: Any, seconds: float = 120) -> None:
    """Wait until the kernel has run everything queued."""
    page.wait_for_timeout(300)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=ms(seconds))


def page_errors(page: Any) -> list[str]:
    return [e for e in page.errors if "ResizeObserver" not in e]
