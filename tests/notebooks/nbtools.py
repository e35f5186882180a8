"""Outils des tests de notebooks : exécuter un notebook, le remplir comme un apprenant, lire
ses notes avec les règles de nbgrader, lancer les commandes nbgrader d'un cours temporaire.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import nbformat
from nbclient import NotebookClient
from nbgrader.utils import determine_grade, is_grade

from kubelab.waiting import scaled

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
BIN = Path(sys.executable).parent
DEAD_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: injoignable
  cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}
users:
- name: personne
  user: {token: "jeton-factice"}
contexts:
- name: injoignable
  context: {cluster: injoignable, user: personne}
current-context: injoignable
"""


def builder() -> ModuleType:
    """``notebooks/build_notebooks.py``, importé comme module."""
    name = "kubelab_build_notebooks"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, NOTEBOOKS / "build_notebooks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def kernel_env(kubeconfig: Path | str, namespace: str | None = None, **extra: str) -> dict[str, str]:
    """L'environnement d'un noyau ou d'une commande : le cluster et le namespace visés, rien d'autre
    (``JUPYTERHUB_USER=…`` dans ``extra`` : l'apprenant, comme sur un JupyterHub)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KUBELAB_", "NBGRADER_", "KUBECONFIG", "JUPYTERHUB_"))}
    env["KUBELAB_KUBECONFIG"] = str(kubeconfig)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    if namespace:
        env["KUBELAB_NAMESPACE"] = namespace
    env.update(extra)
    return env


def execute(notebook: nbformat.NotebookNode, folder: Path, env: dict[str, str],
            timeout: int = 180) -> nbformat.NotebookNode:
    """Exécute le notebook dans ``folder`` (répertoire de travail du noyau) avec ``env`` ; ``timeout``
    par cellule, multiplié par le facteur des délais (les cellules attendent le cluster)."""
    folder.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(notebook, kernel_name="python3", timeout=int(scaled(timeout)), allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    client.execute(env=env)
    return notebook


SUBMIT_CLICK = "lab.submit_button.click()"
"""What a learner does after running every cell: click « Soumettre » (the cell only shows the button)."""
TEST_TAG = "kubelab-test"


def click_submit(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Add, right after the « Soumettre » cell, a cell that clicks its button (tagged, see ``without_test_cells``)."""
    index = next(i for i, cell in enumerate(notebook.cells) if cell.get("id") == "soumettre")
    cell = nbformat.v4.new_code_cell(SUBMIT_CLICK, metadata={"tags": [TEST_TAG]})
    notebook.cells.insert(index + 1, cell)
    return notebook


def without_test_cells(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as the learner saves it: without the cells the test added."""
    notebook.cells = [c for c in notebook.cells if TEST_TAG not in c.get("metadata", {}).get("tags", [])]
    return notebook


def errors(notebook: nbformat.NotebookNode) -> list[str]:
    """Les erreurs Python des cellules (id et message)."""
    return [f"{cell.get('id')} : {out.get('ename')} {out.get('evalue')}"
            for cell in notebook.cells for out in cell.get("outputs", []) if out.get("output_type") == "error"]


@dataclass(frozen=True)
class Scores:
    """Les notes d'un notebook exécuté, calculées comme nbgrader les calcule."""

    lab: float
    lab_max: float
    quiz: float
    quiz_max: float
    failed: tuple[str, ...]

    @property
    def total(self) -> float:
        return self.lab + self.quiz


def scores(notebook: nbformat.NotebookNode) -> Scores:
    lab = lab_max = quiz = quiz_max = 0.0
    failed = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or not is_grade(cell):
            continue
        earned, points = determine_grade(cell)
        earned = earned or 0.0
        if cell.metadata.get("kubelab", {}).get("role") == "quiz":
            quiz, quiz_max = quiz + earned, quiz_max + points
        else:
            lab, lab_max = lab + earned, lab_max + points
            if earned < points:
                failed.append(cell.metadata["kubelab"]["check"])
    return Scores(lab, lab_max, quiz, quiz_max, tuple(failed))


def outputs_text(notebook: nbformat.NotebookNode) -> str:
    """Tout le texte produit par les cellules (flux, HTML, texte brut)."""
    parts = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            for key in ("text/html", "text/plain"):
                value = out.get("data", {}).get(key)
                if value:
                    parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def widget_html(notebook: nbformat.NotebookNode) -> str:
    """The HTML that the notebook's widgets showed when it was executed (from the widget state that
    nbclient stores in the notebook: a widget's text repr is cut, its state is not)."""
    state = notebook.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    values = [model.get("state", {}).get("value") for model in state.get("state", {}).values()]
    return "\n".join(v for v in values if isinstance(v, str))


class Course:
    """Un cours nbgrader temporaire : la configuration du dépôt, des labs de source/, un échange."""

    def __init__(self, root: Path, labs: list[str]) -> None:
        self.root = root
        self.exchange = root.parent / "echange"
        root.mkdir(parents=True)
        self.exchange.mkdir(mode=0o777)
        shutil.copy(NOTEBOOKS / "nbgrader_config.py", root)
        shutil.copytree(NOTEBOOKS / "templates", root / "templates")
        for lab in labs:
            shutil.copytree(NOTEBOOKS / "source" / lab, root / "source" / lab)

    def options(self) -> list[str]:
        return [f"--Exchange.root={self.exchange}", "--CourseDirectory.course_id=kubelab"]

    def nbgrader(self, *args: str, env: dict[str, str], cwd: Path | None = None,
                 check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(BIN / "nbgrader"), *args, *self.options()], cwd=cwd or self.root, env=env,
                              capture_output=True, text=True, timeout=900)
        if check and done.returncode != 0:
            raise AssertionError(f"nbgrader {' '.join(args)} a échoué "
                                 f"({done.returncode}) :\n{done.stdout}\n{done.stderr}")
        return done
