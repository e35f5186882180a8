"""The developers' guide's list of bad inputs, in a notebook: unreachable cluster, wrong kubeconfig,
missing namespace, malformed YAML, corrupt snapshot, unknown lab.

Each runs the notebook calls a learner makes (connect, prepare, apply, « Vérifier », « Soumettre »,
a test cell) in a real kernel (nbclient). What a learner must see: a French message naming the
file, object or field, with advice a notebook user can follow (no command-line option), never a
Python traceback; and nothing changed: no namespace or object created, no snapshot written or
rewritten. The same inputs through the CLI, with their exit codes, are in
``tests/engine/test_bad_input.py`` and ``tests/engine/test_prerequisites.py``.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import nbformat
import pytest

from kubelab.kube_api import KubeApi

from .nbtools import execute, kernel_env, outputs_text, widget_html
from .pipeline import dead_kubeconfig

LAB = "03-stockage-pvc"
CLI_OPTION = re.compile(r"(?<![\w-])--(?:namespace|sandbox|kubeconfig|context|allow-dry-run|allow-probes|snapshot)\b")


def _notebook(*sources: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return notebook


LEARNER_CALLS = (
    f'from kubelab.notebook import noter, ouvrir_lab\nlab = ouvrir_lab("{LAB}")\nlab.connexion()',
    "lab.preparer()",
    'lab.appliquer("apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: essai\\ndata: {a: b}\\n")',
    "lab.verifier()\nlab.verify_button.click()\nprint(lab.verify_button.output.value)",
    "lab.soumettre()\nprint(lab.submit_button.click())",
    f'noter("{LAB}", "postgres-statefulset")',
)


def _run(notebook: nbformat.NotebookNode, folder: Path, env: dict[str, str]) -> str:
    execute(notebook, folder, env, timeout=120)
    text = outputs_text(notebook) + "\n" + widget_html(notebook)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"{cell.source} : {output.get('ename')} {output.get('evalue')}"
    assert "Traceback" not in text
    assert not CLI_OPTION.search(text), f"option de la ligne de commande dans le notebook : {CLI_OPTION.search(text)}"
    return text.replace("\u00a0", " ")


def test_unreachable_cluster(tmp_path: Path) -> None:
    """A kubeconfig aiming at a closed port: each call says the API server is unreachable, nothing is written."""
    folder = tmp_path / "devoir"
    text = _run(_notebook(*LEARNER_CALLS), folder, kernel_env(dead_kubeconfig(tmp_path)))
    assert text.count("Le serveur d'API https://127.0.0.1:9 est injoignable") >= 4, text[-2000:]
    assert "Pour travailler, il faut un cluster" in text
    assert "aucun instantané soumis" in text
    assert not (folder / "snapshot.json").exists()


def test_missing_kubeconfig_is_named(tmp_path: Path, cluster_kubeconfig: Path) -> None:
    """$KUBELAB_KUBECONFIG naming a file that does not exist: named, with notebook advice, never a fallback to
    another cluster (the session's sandbox is running and would answer)."""
    folder = tmp_path / "devoir"
    missing = tmp_path / "absent.kubeconfig"
    env = kernel_env(missing, KUBECONFIG=str(cluster_kubeconfig))
    text = _run(_notebook(*LEARNER_CALLS), folder, env)
    assert f"Le fichier kubeconfig « {missing} » (variable $KUBELAB_KUBECONFIG) est introuvable" in text, text[-2000:]
    assert "redémarrez le noyau" in text
    assert "Connecté" not in text
    assert not (folder / "snapshot.json").exists() and not missing.exists()


def test_missing_namespace(tmp_path: Path, cluster_kubeconfig: Path, kube_api: KubeApi) -> None:
    """The namespace was never prepared: « Vérifier » and « Soumettre » say to run « Préparer le lab »
    (not « --namespace »), and neither creates it."""
    folder = tmp_path / "devoir"
    namespace = f"nb-absent-{uuid.uuid4().hex[:5]}"
    calls = [call for call in LEARNER_CALLS if call not in ("lab.preparer()",) and "appliquer" not in call]
    text = _run(_notebook(*calls), folder, kernel_env(cluster_kubeconfig, namespace))
    assert f"Le namespace « {namespace} » n'existe pas" in text
    assert text.count("exécutez la cellule « Préparer le lab »") >= 2, text[-2000:]
    assert kube_api.get("v1", "Namespace", namespace) is None
    assert not (folder / "snapshot.json").exists()


def test_malformed_yaml(tmp_path: Path, cluster_kubeconfig: Path, fresh_namespace, kube_api: KubeApi) -> None:
    """A manifest that is not YAML: its line and column, the faulty line quoted; nothing applied."""
    namespace = fresh_namespace("yaml")
    notebook = _notebook(LEARNER_CALLS[0], "lab.preparer()",
                         'lab.appliquer("apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: [essai\\n")')
    text = _run(notebook, tmp_path / "devoir", kernel_env(cluster_kubeconfig, namespace))
    assert "YAML invalide, ligne" in text and "du manifeste" in text, text[-2000:]
    assert "Ligne en cause" in text
    assert kube_api.get("v1", "ConfigMap", "essai", namespace) is None


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\x00\xff", b'{"format": "kubelab-snapshot", "version": 1'])
def test_corrupt_snapshot(tmp_path: Path, cluster_kubeconfig: Path, fresh_namespace, content: bytes) -> None:
    """A snapshot.json that cannot be read: every test cell scores 0 naming the file (its name only, never a
    path of the grading machine), « Vérifier » says it cannot be graded, and the file is left as it was."""
    folder = tmp_path / "devoir"
    folder.mkdir()
    snapshot = folder / "snapshot.json"
    snapshot.write_bytes(content)
    before = (snapshot.read_bytes(), snapshot.stat().st_mtime_ns)
    calls = [LEARNER_CALLS[0], "lab.preparer()", LEARNER_CALLS[3], f'noter("{LAB}", "postgres-statefulset")']
    text = _run(_notebook(*calls), folder, kernel_env(cluster_kubeconfig, fresh_namespace("corrompu")))
    assert "L'instantané « snapshot.json » est illisible" in text, text[-2000:]
    assert "✗ 0/1 Le StatefulSet PostgreSQL" in text
    assert 'data-state="unreadable"' in text
    assert str(folder) not in text
    assert (snapshot.read_bytes(), snapshot.stat().st_mtime_ns) == before


def test_unknown_lab(tmp_path: Path, cluster_kubeconfig: Path) -> None:
    """``ouvrir_lab("99-inconnu")``: one French line listing the labs, and no traceback."""
    notebook = _notebook('from kubelab.notebook import ouvrir_lab\nlab = ouvrir_lab("99-inconnu")')
    execute(notebook, tmp_path / "devoir", kernel_env(cluster_kubeconfig))
    error = next(o for o in notebook.cells[0].outputs if o.output_type == "error")
    shown = "\n".join(error.traceback)
    assert "Lab inconnu : « 99-inconnu »".replace(" :", "\u00a0:").replace("« ", "«\u00a0").replace(" »", "\u00a0»") \
        in shown and LAB in shown, shown
    assert "Traceback" not in shown and "File " not in shown and len(error.traceback) == 1, shown
