"""Every lab folder is graded, or says it is in progress: no lab disappears without a word."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from kubelab.catalog import WorkInProgress, available_labs, load_lab
from tests.helpers import REPO, run_cli

LABS = REPO / "labs"


def test_every_lab_folder_is_graded_or_marked_in_progress() -> None:
    """Does each folder of labs/ have a lab.yaml and a grader that agree, unless it is marked
    ``work_in_progress: true``? And are all the graded ones listed by available_labs()?"""
    graded = []
    for folder in sorted(p for p in LABS.iterdir() if p.is_dir()):
        assert (folder / "lab.yaml").is_file(), f"{folder.name} : pas de lab.yaml"
        try:
            graded.append(load_lab(folder.name).id)
        except WorkInProgress:
            continue
    assert graded, "aucun lab corrigé"
    assert [lab.id for lab in available_labs()] == graded


def _labs_copy(tmp_path: Path, extra: dict) -> Path:
    root = tmp_path / "labs"
    shutil.copytree(LABS, root)
    (root / "11-sans-correcteur").mkdir()
    (root / "11-sans-correcteur" / "lab.yaml").write_text(yaml.safe_dump(
        {"id": "11-sans-correcteur", "title": "Sans correcteur", "namespace": "lab-x", "checks": {"a": 1}, **extra}))
    return root


def test_a_lab_without_grader_is_an_error(tmp_path: Path) -> None:
    """A lab folder with no grader module and no « work_in_progress »: `kubelab labs` exits 2 naming it."""
    result = run_cli("labs", env={"KUBELAB_LABS": str(_labs_copy(tmp_path, {}))})
    assert result.returncode == 2, result.stdout
    assert "11-sans-correcteur" in result.stderr and "work_in_progress" in result.stderr, result.stderr


def test_a_lab_in_progress_is_left_out_of_the_list(tmp_path: Path) -> None:
    """The same folder marked ``work_in_progress: true``: listed nowhere, the others still are."""
    result = run_cli("labs", env={"KUBELAB_LABS": str(_labs_copy(tmp_path, {"work_in_progress": True}))})
    assert result.returncode == 0, result.stderr
    assert "11-sans-correcteur" not in result.stdout
    assert all(lab.id in result.stdout for lab in available_labs())
