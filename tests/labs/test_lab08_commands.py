"""Lab 08's statement, command by command, in a learner's terminal (bash, kubectl, kubelab).

The commands are read from the statement itself (its ``bash`` blocks and the inline restore
command), so a statement that names a command that does not exist, or an option that does
not, fails here. The one thing a learner does by hand, cleaning the exports, is done with the
statement's own list of fields to remove.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kubelab.catalog import load_lab
from kubelab.grading import grade_live
from kubelab.kube_api import KubeApi
from kubelab.waiting import wait_for
from tests.helpers import statement_block, statement_blocks

from .conftest import Shell

LAB = "08-sauvegarde-restauration"
FOLDER = load_lab(LAB).folder
NAMESPACE = load_lab(LAB).namespace
README = (FOLDER / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def lab_namespace(kube_api: KubeApi) -> Iterator[str]:
    """The statement's commands name the lab's own namespace: it is removed before and after the test."""
    _remove(kube_api)
    yield NAMESPACE
    _remove(kube_api)


def _remove(api: KubeApi) -> None:
    if api.delete("v1", "Namespace", NAMESPACE):
        wait_for(api, "v1", "Namespace", lambda items: all(n["metadata"]["name"] != NAMESPACE for n in items),
                 timeout="deletion", what=f"la suppression du namespace {NAMESPACE}")


def _clean(path: Path) -> None:
    """What the statement asks to remove from an export, removed (the learner's hand edit)."""
    obj = yaml.safe_load(path.read_text())
    meta = obj["metadata"]
    for field in ("uid", "resourceVersion", "creationTimestamp", "managedFields"):
        meta.pop(field, None)
    (meta.get("annotations") or {}).pop("kubectl.kubernetes.io/last-applied-configuration", None)
    obj.pop("status", None)
    path.write_text(yaml.safe_dump(obj, allow_unicode=True))


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"code {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout.replace("\u00a0", " ")


def _inline(pattern: str) -> str:
    """An inline command of the statement (between backquotes) that starts with ``pattern``."""
    found = re.search(rf"`({re.escape(pattern)}[^`]*)`", README)
    assert found, f"l'énoncé ne donne plus la commande « {pattern}… »"
    return found.group(1)


SETUP = "kubelab lab setup 08-sauvegarde-restauration"


def test_every_command_of_the_statement_does_what_it_says(shell: Shell, kube_api: KubeApi, lab_namespace: str,
                                                          tmp_path: Path) -> None:
    """Setup, the test Job of part 1, the export loop, step 2 and its listing, the restore, the rollout status
    and the grade: does each command of the statement run and do what the statement says, up to full marks?"""
    assert SETUP in statement_blocks(FOLDER)
    assert f"prêt dans le namespace « {lab_namespace} »" in _ok(shell(SETUP))

    solution = FOLDER / "solution"
    _ok(shell(f"kubectl apply -n {lab_namespace} -f {solution / 'pvc.yaml'} -f {solution / 'cronjob.yaml'}"))
    assert "job.batch/essai created" in _ok(shell(_inline("kubectl create job --from=cronjob/db-backup")))

    _ok(shell(statement_block(FOLDER, 'kubectl get "$o" -n lab-sauvegarde -o yaml')))
    exports = sorted(p.name for p in tmp_path.glob("*.yaml"))
    assert exports == ["configmap-app-config.yaml", "deployment-app.yaml", "secret-app-secret.yaml"]
    for name in exports:
        _clean(tmp_path / name)

    listing = _ok(shell(statement_block(FOLDER, "--step 2")))
    assert "Étape 2 du lab 08-sauvegarde-restauration faite" in listing
    for gone in ("configmap/app-config ", "secret/app-secret ", "deployment.apps/app "):
        assert gone not in listing, listing
    for kept in ("configmap/inventaire ", "configmap/kube-root-ca.crt ", "secret/inventaire-empreintes "):
        assert kept in listing, listing

    _ok(shell(_inline("kubectl apply -f configmap-app-config.yaml")))
    assert "successfully rolled out" in _ok(shell(_inline("kubectl rollout status deployment/app"), timeout=120))
    wait_for(kube_api, "v1", "PersistentVolumeClaim", namespace=lab_namespace, what="le PVC backup-storage lié",
             predicate=lambda claims: any(c.get("status", {}).get("phase") == "Bound" for c in claims))
    graded = shell("kubelab grade 08-sauvegarde-restauration")
    assert graded.returncode == 0, graded.stdout + graded.stderr


def test_without_step_two_nothing_was_restored(shell: Shell, kube_api: KubeApi, lab_namespace: str) -> None:
    """Step 1 alone leaves the objects in place: are the three restore checks failed, saying to run step 2?"""
    _ok(shell(SETUP))
    report = grade_live(LAB, kube_api, lab_namespace, wait=0)
    assert {"app-config-restored", "app-secret-restored", "app-restored"} <= report.failed_ids()
    assert "app-available" not in report.failed_ids()
    message = report.result("app-restored").message.replace("\u00a0", " ")
    assert "jamais supprimé ni restauré" in message and f"« {SETUP} --step 2 »" in message


def test_a_step_the_lab_does_not_have_is_a_clear_error(shell: Shell, lab_namespace: str) -> None:
    """« --step 3 » and « --step 2 » before step 1: French errors naming the steps, exit code 2, nothing created."""
    missing = shell(f"{SETUP} --step 2")
    assert missing.returncode == 2 and "lancez d'abord « kubelab lab setup 08-sauvegarde-restauration »" in \
        missing.stderr.replace("\u00a0", " "), missing.stderr
    _ok(shell(SETUP))
    unknown = shell(f"{SETUP} --step 3")
    assert unknown.returncode == 2 and "n'a pas d'étape 3 de préparation (étapes : 1, 2)" in \
        unknown.stderr.replace("\u00a0", " "), unknown.stderr
