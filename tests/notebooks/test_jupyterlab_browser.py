"""The lab notebooks in a real JupyterLab, driven by Chromium: what a learner and an instructor see.

- The stale-snapshot trap, closed: « Run All » on the released notebook captures nothing; a
  snapshot submitted before the solution is said stale next to « Vérifier », with the score it
  gives; once « Soumettre » is clicked again, « Vérifier », ``nbgrader validate`` and the
  autograde agree, and the feedback page reads well at 1280 px.
- « Préparer » on a sandbox without ``hostpath-storage``: « Lab pas prêt », and how to enable it.
- Lab 04's reachability grid at 1280 px: it scrolls inside its own box, every label explained.
- A bad manifest and an unknown lab: French messages naming the field, no traceback, nothing written.

Screenshots go to ``test-output/notebooks/``; look at them. Each test has its namespace and
JupyterLab, stopped at the end.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nbformat
import pytest

from kubelab.catalog import load_lab
from kubelab.kube_api import KubeApi
from kubelab.lab_setup import variant_files
from kubelab.typography import french

from .browser import (
    chromium_page,
    code_cell,
    jupyterlab,
    menu,
    ms,
    needs_chromium,
    nth_cell,
    page_errors,
    replace_and_run,
    shot,
    wait_idle,
)
from .nbtools import BIN, NOTEBOOKS, Course, builder, kernel_env
from .pipeline import dead_kubeconfig, gradebook_scores

pytestmark = needs_chromium
LAB03 = "03-stockage-pvc"
LEARNER = "alice"


def _visible_points(lab_id: str) -> int:
    return sum(check.points for check in load_lab(lab_id).visible_checks())


def _button(page: Any, label: str) -> Any:
    return page.locator("button.widget-button", has_text=label).first


def _verify(page: Any) -> Any:
    """Click « Vérifier » and wait for a fresh checklist; the widget's output box."""
    box = page.locator(".jp-OutputArea-output", has=page.locator("button.widget-button", has_text="Vérifier")).first
    before = box.locator(".kubelab-checklist").inner_text() if box.locator(".kubelab-checklist").count() else ""
    button = _button(page, "Vérifier")
    button.scroll_into_view_if_needed()
    button.click()
    page.wait_for_function("([el, old]) => { const c = el.querySelector('.kubelab-checklist');"
                           " return c && c.innerText !== old; }", arg=[box.element_handle(), before],
                           timeout=ms(30))
    return box


def _submit(page: Any) -> str:
    """Click « Soumettre » and wait for a new « Instantané écrit »; the message."""
    box = page.locator(".jp-OutputArea-output", has=_button(page, "Soumettre")).first
    before = box.inner_text()
    button = _button(page, "Soumettre")
    button.scroll_into_view_if_needed()
    button.click()
    page.wait_for_function("([el, old]) => el.innerText !== old && el.innerText.includes('Instantané écrit')",
                           arg=[box.element_handle(), before], timeout=ms(120))
    return box.inner_text()


def _solution_yaml(lab_id: str) -> str:
    return "\n---\n".join(path.read_text(encoding="utf-8").strip("\n")
                          for path in variant_files(load_lab(lab_id), "solution"))


def _state(box: Any) -> str:
    return box.locator(".kubelab-submission").first.get_attribute("data-state") or ""


@pytest.fixture
def trap_course(tmp_path: Path, cluster_kubeconfig: Path) -> tuple[Course, Path]:
    """A course with lab 03, its released notebook fetched into ``apprenante/03-stockage-pvc/``."""
    course = Course(tmp_path / "cours", [LAB03])
    course.nbgrader("generate_assignment", LAB03, env=kernel_env(cluster_kubeconfig))
    folder = tmp_path / "apprenante" / LAB03
    folder.mkdir(parents=True)
    shutil.copy(course.root / "release" / LAB03 / f"{LAB03}.ipynb", folder)
    (folder / "solution.yaml").write_text(_solution_yaml(LAB03), encoding="utf-8")
    return course, folder


def test_stale_snapshot_trap_is_closed(trap_course: tuple[Course, Path], cluster_kubeconfig: Path,
                                       fresh_namespace, tmp_path: Path) -> None:
    """The trap of issue 13: « Run All » used to submit the starter, then « Vérifier » showed full marks
    over a stale snapshot graded 0. Now: nothing captured by « Run All », the stale snapshot is said so
    with its score, and after « Soumettre » the notebook, ``nbgrader validate`` and the autograde agree."""
    course, folder = trap_course
    visible = _visible_points(LAB03)
    namespace = fresh_namespace("piege")
    env = kernel_env(cluster_kubeconfig, namespace, JUPYTERHUB_USER=LEARNER)
    with jupyterlab(folder.parent, env, tmp_path / "jupyter") as lab, chromium_page(1280, 1000) as page:
        lab.open(page, f"{LAB03}/{LAB03}.ipynb")
        menu(page, "Run", "Run All Cells")
        wait_idle(page, 240)
        page.locator(".kubelab-submission").first.wait_for(state="attached", timeout=ms(30))
        assert not (folder / "snapshot.json").exists(), "« Run All » a capturé un instantané"
        submit_box = page.locator(".jp-OutputArea-output", has=_button(page, "Soumettre")).first
        assert _state(submit_box) == "missing"
        assert french("Aucun instantané soumis : la correction notera 0") in submit_box.inner_text()
        last_test = page.locator(".jp-Notebook .jp-Cell").last
        last_test.scroll_into_view_if_needed()
        assert "aucun instantané soumis" in last_test.inner_text()
        submit_box.scroll_into_view_if_needed()
        shot(page, "piege-01-run-all-sans-instantane.png")

        starter = _submit(page)
        starter_score = re.search(r"(\d+)/(\d+) aux vérifications visibles", starter)
        assert starter_score and int(starter_score.group(1)) < visible, starter

        replace_and_run(page, code_cell(page, "lab.appliquer(autres)"), 'lab.appliquer(open("solution.yaml").read())')
        page.locator(".jp-OutputArea-output", has_text="Validé puis appliqué").first.wait_for(timeout=ms(60))
        wait_idle(page)
        box = _verify(page)
        checklist = box.locator(".kubelab-checklist").first
        page.wait_for_timeout(ms(3))  # the pod and its claim settle on the sandbox in a few seconds
        box = _verify(page)
        assert box.locator(".kubelab-score").inner_text().strip() == french(f"Score : {visible}/{visible}")
        assert _state(box) == "stale", box.inner_text()
        status = box.locator(".kubelab-submission").inner_text()
        assert f"{starter_score.group(1)}/{visible}" in status
        assert french("cliquez de nouveau sur « Soumettre »") in status
        box.scroll_into_view_if_needed()
        shot(page, "piege-02-verifier-instantane-perime.png", box)

        _submit(page)
        box = _verify(page)
        assert _state(box) == "current", box.inner_text()
        assert "le même résultat que cette vérification" in box.inner_text()
        text = checklist.inner_text()
        for check in load_lab(LAB03).visible_checks():
            assert check.title in text, f"{check.id} absent de la liste"
        timing = re.search(r"Vérifié à \d\d:\d\d:\d\d en (\d+) ms", text)
        assert timing, text[-300:]
        print(f"« Vérifier » dans le navigateur : {timing.group(1)} ms")
        shot(page, "piege-03-verifier-instantane-a-jour.png", box)
        page.keyboard.press("Control+S")
        page.wait_for_timeout(ms(2))
        assert not page_errors(page), page_errors(page)

    saved = nbformat.read(folder / f"{LAB03}.ipynb", as_version=4)
    assert any('open("solution.yaml")' in cell.source for cell in saved.cells), "le notebook n'a pas été enregistré"
    offline = kernel_env(dead_kubeconfig(tmp_path))
    validated = subprocess.run([str(BIN / "nbgrader"), "validate", f"{LAB03}.ipynb"], cwd=folder, env=offline,
                               capture_output=True, text=True, timeout=600)
    # Every check passes, as « Vérifier » said; only the course questions, left blank by this learner, fail.
    questions = len(builder().questions(load_lab(LAB03)))
    assert f"VALIDATION FAILED ON {questions} CELL(S)!" in validated.stdout, validated.stdout + validated.stderr
    assert validated.stdout.count("quiz.reponse(") == questions and "noter(" not in validated.stdout

    submitted = course.root / "submitted" / LEARNER / LAB03
    submitted.parent.mkdir(parents=True)
    shutil.copytree(folder, submitted, ignore=shutil.ignore_patterns("solution.yaml"))
    course.nbgrader("autograde", LAB03, env=offline)
    graded = gradebook_scores(course, load_lab(LAB03), LEARNER)
    lab_cells = {cell: score for cell, score in graded.cells.items() if cell.startswith("verif-")}
    assert sum(lab_cells.values()) == load_lab(LAB03).max_points, lab_cells
    course.nbgrader("generate_feedback", LAB03, env=offline)
    feedback = course.root / "feedback" / LEARNER / LAB03 / f"{LAB03}.html"
    _look_at_feedback(feedback)


def _look_at_feedback(feedback: Path) -> None:
    """The feedback page at 1280 px: no horizontal overflow, sections titled by check, whole-number scores."""
    lab = load_lab(LAB03)
    with chromium_page(1280, 900) as page:
        page.goto(feedback.as_uri())
        page.locator("h4").first.wait_for(timeout=ms(30))
        heading = page.locator("h4").first.inner_text()
        assert re.search(r"\(note\s:\s\d+ / \d+\)", heading.replace("\u00a0", " ")), heading
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"la page déborde de {overflow} px"
        labels = page.locator("span.nbgrader-label").all_inner_texts()
        for check in lab.checks:
            assert check.title in labels, f"aucune section « {check.title} »"
        assert not any(label.startswith("Cellule de test") for label in labels), labels
        assert page.locator(".kubelab-message code").count() > 0  # the messages' `code` is rendered
        assert "/tmp/" not in page.content() and "site-packages" not in page.content()
        shot(page, "retour-01-haut.png")
        page.locator(".kubelab-message", has_text="Le PVC").first.scroll_into_view_if_needed()
        shot(page, "retour-02-messages.png")


def test_prepare_without_hostpath_storage(bare_sandbox: Any, tmp_path: Path) -> None:
    """« Préparer » where claims cannot bind: never « ✓ Lab prêt », the addon named, how to enable it on both."""
    root = tmp_path / "racine"
    root.mkdir()
    shutil.copy(NOTEBOOKS / "source" / LAB03 / f"{LAB03}.ipynb", root)
    env = kernel_env(bare_sandbox.kubeconfig, "nb-sans-stockage")
    api: KubeApi = bare_sandbox.api()
    try:
        with jupyterlab(root, env, tmp_path / "jupyter") as lab, chromium_page(1280, 900) as page:
            lab.open(page, f"{LAB03}.ipynb")
            for source in ("lab.connexion()", "lab.preparer()"):
                cell = code_cell(page, source)
                cell.locator(".cm-content").first.click()
                page.keyboard.press("Shift+Enter")
                wait_idle(page, 60)
            output = code_cell(page, "lab.preparer()").locator(".jp-OutputArea-output").first
            output.wait_for(timeout=ms(60))
            text = output.inner_text().replace("\u00a0", " ")
            assert "✗ Lab pas prêt" in text and "✓ Lab prêt" not in text, text
            assert "addon hostpath-storage" in text and "aucune StorageClass par défaut" in text
            assert "« kubelab sandbox addon enable hostpath-storage »" in text
            assert "« microk8s enable hostpath-storage »" in text
            assert output.locator("li").count() >= 2  # one line per need, as a list
            connected = code_cell(page, "lab.connexion()").inner_text().replace("\u00a0", " ")
            assert "Connecté au bac à sable" in connected and "à le" not in connected
            output.scroll_into_view_if_needed()
            shot(page, "preparer-sans-hostpath-storage.png", code_cell(page, "lab.preparer()"))
            assert not page_errors(page), page_errors(page)
    finally:
        api.delete("v1", "Namespace", "nb-sans-stockage")
        api.close()


def test_reachability_grid_fits_at_1280(tmp_path: Path, cluster_kubeconfig: Path, fresh_namespace) -> None:
    """Lab 04's grid at 1280 px: inside its own scrolling box, the notebook never wider than the window,
    every row label explained (an address outside the cluster, the cluster's DNS pods)."""
    root = tmp_path / "racine"
    root.mkdir()
    lab_id = "04-networkpolicies"
    shutil.copy(NOTEBOOKS / "source" / lab_id / f"{lab_id}.ipynb", root)
    env = kernel_env(cluster_kubeconfig, fresh_namespace("grille"))
    with jupyterlab(root, env, tmp_path / "jupyter") as lab, chromium_page(1280, 1000) as page:
        lab.open(page, f"{lab_id}.ipynb")
        menu(page, "Run", "Run All Cells")
        wait_idle(page, 240)
        grid = page.locator(".kubelab-grid").first
        grid.wait_for(state="attached", timeout=ms(60))
        page.wait_for_function("() => document.querySelectorAll('.kubelab-grid td[title]').length > 8",
                               timeout=ms(60))
        grid.scroll_into_view_if_needed()
        sizes = grid.evaluate("""g => { const out = g.closest('.jp-OutputArea-output');
            const nb = g.closest('.jp-Notebook');
            return {grid: g.getBoundingClientRect().right, output: out.getBoundingClientRect().right,
                    notebookOverflow: nb.scrollWidth - nb.clientWidth,
                    pageOverflow: document.documentElement.scrollWidth - window.innerWidth}; }""")
        assert sizes["grid"] <= sizes["output"] + 1, sizes
        assert sizes["notebookOverflow"] <= 0 and sizes["pageOverflow"] <= 0, sizes
        dashboard = page.locator(".jp-OutputArea-output", has=grid).first
        text = dashboard.inner_text().replace("\u00a0", " ")
        assert "hors du cluster (203.0.113.10) : une adresse IP hors du cluster" in text
        assert "les pods DNS du cluster (namespace kube-system, label k8s-app=kube-dns)" in text
        assert "Volumes demandés" not in text  # lab 04 has no claim: no PVC panel
        legend = dashboard.locator("details li").all_inner_texts()
        rows = grid.locator("tbody th").all_inner_texts()
        assert rows and all(any(item.startswith(row.strip()) for item in legend) for row in rows), (rows, legend)
        shot(page, "grille-1280.png", dashboard)
        assert not page_errors(page), page_errors(page)


def test_bad_manifest_and_unknown_lab(tmp_path: Path, cluster_kubeconfig: Path, fresh_namespace,
                                      kube_api: KubeApi) -> None:
    """A manifest with a misspelt field and a string for a number, one aimed at another namespace, and
    ``ouvrir_lab("99-inconnu")``: French messages naming the field, no traceback, nothing written."""
    root = tmp_path / "racine"
    root.mkdir()
    shutil.copy(NOTEBOOKS / "source" / LAB03 / f"{LAB03}.ipynb", root)
    (root / "mauvais.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: trois\n"
        "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
        "    spec:\n      contaners:\n      - name: web\n        image: nginx:1.27\n", encoding="utf-8")
    (root / "ailleurs.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: reglages\n  namespace: default\ndata: {a: b}\n",
        encoding="utf-8")
    namespace = fresh_namespace("mauvais")
    env = kernel_env(cluster_kubeconfig, namespace)
    with jupyterlab(root, env, tmp_path / "jupyter") as lab, chromium_page(1280, 1000) as page:
        lab.open(page, f"{LAB03}.ipynb")
        for source in ("lab.connexion()", "lab.preparer()"):
            code_cell(page, source).locator(".cm-content").first.click()
            page.keyboard.press("Shift+Enter")
            wait_idle(page, 60)
        cell = nth_cell(page, "lab.appliquer(autres)")
        replace_and_run(page, cell, 'lab.appliquer(open("mauvais.yaml").read())')
        wait_idle(page, 60)
        text = cell.locator(".jp-OutputArea-output").first.inner_text().replace("\u00a0", " ")
        assert "Rien n'a été appliqué" in text and "Deployment « web »" in text, text
        assert "spec.template.spec.contaners" in text or "contaners" in text, text
        assert "spec.replicas" in text, text
        assert "Traceback" not in cell.inner_text()
        shot(page, "mauvais-01-champs.png", cell)

        replace_and_run(page, cell, 'lab.appliquer(open("ailleurs.yaml").read())')
        wait_idle(page, 60)
        text = cell.locator(".jp-OutputArea-output").first.inner_text().replace("\u00a0", " ")
        assert f"ce lab se fait dans le namespace « {namespace} », pas « default »" in text, text
        shot(page, "mauvais-02-namespace.png", cell)

        replace_and_run(page, cell, 'ouvrir_lab("99-inconnu")')
        wait_idle(page, 60)
        text = cell.locator(".jp-OutputArea").first.inner_text().replace("\u00a0", " ")
        assert "Lab inconnu : « 99-inconnu »" in text and LAB03 in text, text
        assert "Traceback" not in text and "UsageError" not in text and "File " not in text, text
        shot(page, "mauvais-03-lab-inconnu.png", cell)
        assert not page_errors(page), page_errors(page)
    assert kube_api.get("apps/v1", "Deployment", "web", namespace) is None
    assert kube_api.get("v1", "ConfigMap", "reglages", "default") is None
