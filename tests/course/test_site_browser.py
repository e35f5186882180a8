"""Le site du cours dans un vrai navigateur : Chromium de Debian piloté par Playwright.

Le site construit est servi par ``python -m http.server`` sur 127.0.0.1, **sous le sous-chemin
``/cours/``** pour prouver qu'il se publie ailleurs qu'à la racine d'un domaine. Les captures
d'écran vont dans ``test-output/course/`` (ignoré par git).

Prérequis : ``/usr/bin/chromium`` (``apt-get install -y chromium``, ou
``scripts/setup.sh --browser``) et le paquet Python ``playwright``. On n'utilise pas
``playwright install`` : le navigateur est celui de Debian.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelab.waiting import scaled

from .sitebuild import Build

CHROMIUM = Path("/usr/bin/chromium")
SUBPATH = "/cours/"

playwright_sync = pytest.importorskip("playwright.sync_api", reason="paquet playwright absent")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium absent : apt-get install -y chromium (ou scripts/setup.sh --browser)"
)

# Material rend chaque diagramme Mermaid dans une racine fantôme « fermée ». Pour pouvoir
# inspecter le SVG produit, le test ouvre ces racines avant que les scripts de la page ne tournent.
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  return attach.call(this, Object.assign({}, init, {mode: "open"}));
};
"""

DIAGRAMS_STATE = """
() => Array.from(document.querySelectorAll("div.mermaid")).map((host) => {
  const svg = host.shadowRoot && host.shadowRoot.querySelector("svg");
  return {
    svg: Boolean(svg),
    nodes: svg ? svg.querySelectorAll("g").length : 0,
    error: svg ? /syntax error/i.test(svg.textContent) : false,
    width: svg ? svg.getBoundingClientRect().width : 0,
  };
})
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def base_url(built_site: Build, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Le site servi sous http://127.0.0.1:<port>/cours/ le temps des tests du module."""
    assert built_site.returncode == 0, built_site.output[-3000:]
    root = tmp_path_factory.mktemp("www")
    shutil.copytree(built_site.site, root / SUBPATH.strip("/"))
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}{SUBPATH}"
    try:
        deadline = time.monotonic() + scaled(20)
        while True:
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("le serveur http.server n'a pas démarré") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    context.add_init_script(OPEN_SHADOW_ROOTS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    try:
        yield pg
    finally:
        context.close()


def wait_for_diagrams(pg: object, expected: int) -> list[dict]:
    pg.wait_for_function(
        "n => Array.from(document.querySelectorAll('div.mermaid'))"
        ".filter(h => h.shadowRoot && h.shadowRoot.querySelector('svg')).length >= n",
        arg=expected,
        timeout=30_000,
    )
    return pg.evaluate(DIAGRAMS_STATE)


def test_home_page_is_french(page: object, base_url: str, output_dir: Path) -> None:
    response = page.goto(base_url)
    assert response is not None and response.ok
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert "Kubernetes par la pratique" in page.title()
    # Les feuilles de style et le logo viennent bien du sous-chemin /cours/.
    assert page.evaluate("getComputedStyle(document.querySelector('.md-header')).position") in {"sticky", "fixed"}
    page.screenshot(path=str(output_dir / "accueil.png"), full_page=True)
    assert not page.errors, page.errors


def test_chapter_diagrams_render_as_svg(page: object, base_url: str, built_site: Build, output_dir: Path) -> None:
    chapter = "architecture/kubernetes/"
    expected = (built_site.site / chapter / "index.html").read_text(encoding="utf-8").count('class="mermaid"')
    assert expected >= 3
    page.goto(base_url + chapter)
    assert page.evaluate("document.documentElement.lang") == "fr"
    diagrams = wait_for_diagrams(page, expected)
    assert len(diagrams) == expected
    for n, diagram in enumerate(diagrams, 1):
        assert diagram["svg"] and not diagram["error"], f"diagramme {n} : {diagram}"
        assert diagram["nodes"] > 3 and diagram["width"] > 100, f"diagramme {n} vide : {diagram}"
    page.screenshot(path=str(output_dir / "architecture-kubernetes.png"), full_page=True)
    assert not page.errors, page.errors


def test_search_finds_persistance(page: object, base_url: str, output_dir: Path) -> None:
    page.goto(base_url)
    search = page.locator("input.md-search__input")
    search.click()
    search.press_sequentially("persistance", delay=20)  # Material écoute les frappes
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=20_000)
    assert results.count() >= 1
    assert "persistance" in page.locator(".md-search-result").inner_text().lower()
    page.screenshot(path=str(output_dir / "recherche-persistance.png"))
    assert not page.errors, page.errors


def test_every_diagram_of_the_course_renders(page: object, base_url: str, built_site: Build) -> None:
    """Aucun diagramme du cours n'est en erreur de syntaxe Mermaid."""
    pages = sorted(
        p for p in built_site.site.rglob("index.html") if 'class="mermaid"' in p.read_text(encoding="utf-8")
    )
    assert len(pages) >= 15
    failures = []
    for html in pages:
        path = html.parent.relative_to(built_site.site).as_posix()
        expected = html.read_text(encoding="utf-8").count('class="mermaid"')
        page.goto(base_url + (path + "/" if path != "." else ""))
        try:
            diagrams = wait_for_diagrams(page, expected)
        except playwright_sync.TimeoutError:
            failures.append(f"{path} : diagrammes non rendus")
            continue
        for n, diagram in enumerate(diagrams, 1):
            if not diagram["svg"] or diagram["error"] or diagram["nodes"] <= 3:
                failures.append(f"{path} : diagramme {n} {diagram}")
    assert not page.errors, page.errors
    assert not failures, "\n".join(failures)


def test_relative_links_resolve_under_subpath(page: object, base_url: str) -> None:
    page.goto(base_url + "labs/")
    link = page.locator("article a[href*='04-networkpolicies']").first
    link.click()
    page.wait_for_load_state()
    assert re.search(r"/cours/labs/04-networkpolicies/$", page.url)
    assert "kubelab grade 04-networkpolicies" in page.locator("article").inner_text()
