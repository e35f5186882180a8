"""Le site du cours se construit en mode strict, avec ou sans les solutions.

* ``mkdocs build --strict`` réussit sans aucun avertissement (lien cassé, ancre absente,
  inclusion manquante…), depuis n'importe quel répertoire courant ;
* chaque lab a sa page, qui renvoie vers son chapitre, son notebook et sa commande de correction ;
* les manifestes des labs sont **inclus** depuis ``labs/<id>/starter|solution/`` ; un dossier
  absent donne « Solution à venir » ;
* le barème vient de ``kubelab.catalog`` (cachées comptées, jamais détaillées), de ``lab.yaml``
  pour un lab en préparation (``work_in_progress: true``) ; un lab que le catalogue refuse
  arrête la construction en le nommant ;
* ``KUBELAB_HIDE_SOLUTIONS=1`` retire tout texte de solution du site, index de recherche compris.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from .sitebuild import REPO, Build, build_site, copy_labs

LAB_IDS = sorted(p.parent.name for p in (REPO / "labs").glob("*/lab.yaml"))
MARK_SOLUTION = "marqueur-solution-kubelab-7f3a"
MARK_ALTERNATIVE = "marqueur-variante-kubelab-7f3a"
MARK_STARTER = "marqueur-depart-kubelab-7f3a"


def site_text(site: Path) -> str:
    """Tout le texte publié : pages HTML et index de recherche."""
    parts = [p.read_text(encoding="utf-8") for p in site.rglob("*.html")]
    parts.append((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    return "\n".join(parts)


def page(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


def assert_clean(build: Build) -> None:
    assert build.returncode == 0, f"mkdocs build a échoué :\n{build.output[-4000:]}"
    assert not build.warnings, "avertissements de construction :\n" + "\n".join(build.warnings)


# ------------------------------------------------------------------- le dépôt tel quel


def test_strict_build_passes(built_site: Build) -> None:
    assert_clean(built_site)
    assert (built_site.site / "index.html").is_file()


def test_every_lab_has_a_page(built_site: Build) -> None:
    assert LAB_IDS, "aucun lab dans labs/"
    for lab_id in LAB_IDS:
        html = page(built_site.site, f"labs/{lab_id}")
        assert f"kubelab grade {lab_id}" in html
        assert f"notebooks/source/{lab_id}/{lab_id}.ipynb" in html
        assert "Barème" in html


def test_every_chapter_ends_with_exercises(built_site: Build) -> None:
    """Chaque chapitre a une section « Exercices » qui cite un lab, son notebook et sa correction."""
    chapters = [p for p in (REPO / "course").rglob("*.md")
                if p.parts[-2] not in {"labs", "hooks"} and p.name not in {"glossaire.md", "couverture.md"}]
    assert len(chapters) >= 20
    for chapter in chapters:
        text = chapter.read_text(encoding="utf-8")
        rel = chapter.relative_to(REPO)
        assert "\n## Exercices\n" in text, f"{rel} : pas de section « Exercices »"
        h2 = re.findall(r"^## (.+)$", text, re.M)
        assert h2[-1] == "Exercices", f"{rel} : la section « Exercices » doit terminer le chapitre"
        section = text.split("\n## Exercices\n", 1)[1]
        labs = set(re.findall(r"labs/([\w-]+)\.md\)", section))
        assert labs, f"{rel} : la section « Exercices » ne renvoie vers aucun lab"
        for lab_id in labs:
            assert lab_id in LAB_IDS, f"{rel} : lab inconnu {lab_id}"
            assert f"kubelab grade {lab_id}" in section, f"{rel} : commande de correction de {lab_id} absente"
            assert f"notebooks/source/{lab_id}/{lab_id}.ipynb" in section, f"{rel} : notebook de {lab_id} absent"


def test_links_are_relative(built_site: Build) -> None:
    """Aucun lien interne absolu : le site fonctionne servi depuis n'importe quel sous-chemin."""
    for html_file in built_site.site.rglob("*.html"):
        if html_file.name == "404.html":
            continue  # servie à n'importe quelle adresse par l'hébergeur : liens absolus voulus
        html = html_file.read_text(encoding="utf-8")
        absolute = re.findall(r'(?:href|src)="(/[^/"][^"]*)"', html)
        assert not absolute, f"{html_file.relative_to(built_site.site)} : liens absolus {absolute[:3]}"


def test_html_is_french(built_site: Build) -> None:
    assert '<html lang="fr"' in page(built_site.site, "")
    config = json.loads(re.search(r'<script id="__config" type="application/json">(.*?)</script>',
                                  page(built_site.site, ""), re.S).group(1))
    assert "search" in config


def test_hidden_build_has_no_solution(tmp_path: Path) -> None:
    build = build_site(tmp_path / "site", env={"KUBELAB_HIDE_SOLUTIONS": "1"})
    assert_clean(build)
    text = site_text(build.site)
    assert 'class="success' not in text, "un bloc ??? success a survécu au masquage"
    assert "Solution masquée" in text
    # Aucun manifeste de solution ou de variante présent dans le dépôt ne doit apparaître
    # (chaque bloc inclus porte en titre son chemin dans le dossier du lab).
    for lab_id in LAB_IDS:
        lab_dir = REPO / "labs" / lab_id
        for folder in ("solution", "alternatives"):
            for manifest in (lab_dir / folder).rglob("*.y*ml"):
                label = manifest.relative_to(lab_dir).as_posix()
                assert f'title="{label}"' not in text and f">{label}<" not in text, label


# ------------------------------------------------ des labs factices : inclusion et masquage


FAKE_CATALOG = '''
from dataclasses import dataclass

@dataclass
class Check:
    id: str
    title: str
    points: int
    category: str
    hidden: bool = False

@dataclass
class Lab:
    id: str
    checks: tuple

class WorkInProgress(Exception):
    pass

def load_lab(lab_id):
    if lab_id != "{lab_id}":
        raise WorkInProgress(lab_id)
    return Lab(lab_id, (
        Check("policy-default-deny", "Refus par défaut : entrée et sortie", 3, "réseau"),
        Check("dns-open", "DNS ouvert vers CoreDNS seulement", 2, "réseau"),
        Check("secret-matrix", "Intitulé-caché-ne-doit-pas-paraître", 5, "réseau", True),
    ))
'''


@pytest.fixture(scope="module")
def fake_labs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Une copie de labs/ où un lab a des fichiers de départ, une solution et une variante,
    un autre a perdu son dossier solution/ ; plus un paquet ``kubelab.catalog`` factice."""
    base = tmp_path_factory.mktemp("fake")
    labs = copy_labs(base / "labs")
    with_files, without = LAB_IDS[0], LAB_IDS[1]
    lab = labs / with_files
    for sub in ("starter", "solution", "alternatives"):
        if (lab / sub).exists():
            shutil.rmtree(lab / sub)
    (lab / "starter").mkdir()
    (lab / "starter" / "namespace.yaml").write_text(
        f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {MARK_STARTER}\n")
    (lab / "solution" / "nested").mkdir(parents=True)
    (lab / "solution" / "nested" / "config.yml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {MARK_SOLUTION}\n")
    (lab / "solution" / "notes.txt").write_text("pas un manifeste\n")
    (lab / "alternatives" / "autre").mkdir(parents=True)
    (lab / "alternatives" / "autre" / "cm.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {MARK_ALTERNATIVE}\n")
    (lab / "alternatives" / "autre" / "expect.yaml").write_text("checks: [attente-non-publiee]\n")
    meta = yaml.safe_load((lab / "lab.yaml").read_text(encoding="utf-8"))
    meta["checks"] = {"a-check": 4, "b-check": 6}
    meta["work_in_progress"] = True  # no grader knows these checks: the page takes lab.yaml's
    (lab / "lab.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    shutil.rmtree(labs / without / "solution", ignore_errors=True)

    pkg = base / "pkg" / "kubelab"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "catalog.py").write_text(textwrap.dedent(FAKE_CATALOG.format(lab_id=without)))
    return {"labs": labs, "pythonpath": base / "pkg", "with_files": Path(with_files), "without": Path(without)}


def test_manifests_are_included_from_lab_folders(fake_labs: dict, tmp_path: Path) -> None:
    build = build_site(tmp_path / "site", env={"KUBELAB_LABS": str(fake_labs["labs"])})
    assert_clean(build)
    lab_id = fake_labs["with_files"].name
    html = page(build.site, f"labs/{lab_id}")
    assert MARK_STARTER in html
    assert MARK_SOLUTION in html
    assert MARK_ALTERNATIVE in html
    assert "solution/nested/config.yml" in html
    assert "pas un manifeste" not in html
    assert "attente-non-publiee" not in html, "expect.yaml n'est pas un manifeste"
    assert re.search(r'<details class="success"', html), "la solution doit être repliable"
    # Barème de repli : lab.yaml.
    assert "a-check" in html and "b-check" in html and "10" in html
    other = page(build.site, f"labs/{fake_labs['without'].name}")
    assert "Solution à venir" in other


def test_scoring_table_comes_from_catalog(fake_labs: dict, tmp_path: Path) -> None:
    build = build_site(tmp_path / "site", env={
        "KUBELAB_LABS": str(fake_labs["labs"]),
        "PYTHONPATH": str(fake_labs["pythonpath"]),
    })
    assert_clean(build)
    html = page(build.site, f"labs/{fake_labs['without'].name}")
    assert "policy-default-deny" in html and "Refus par défaut" in html
    assert "secret-matrix" not in html and "Intitulé-caché" not in html
    assert "1 vérification cachée" in html.replace("\u00a0", " ")
    assert "<strong>10</strong>" in html


def test_a_lab_the_catalog_refuses_stops_the_build(tmp_path: Path) -> None:
    """A lab whose lab.yaml names checks its grader does not have (and is not in progress): does the
    build fail naming the lab, rather than publish a scoring table nobody grades?"""
    labs = copy_labs(tmp_path / "labs")
    path = labs / LAB_IDS[0] / "lab.yaml"
    meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    meta["checks"] = {"inconnue-du-correcteur": 3}
    path.write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    build = build_site(tmp_path / "site", env={"KUBELAB_LABS": str(labs)})
    assert build.returncode != 0, "la construction a réussi avec un barème que le correcteur ne connaît pas"
    assert f"lab {LAB_IDS[0]}" in build.output and "inconnues du correcteur" in build.output, build.output[-3000:]


def test_hidden_build_removes_included_solutions(fake_labs: dict, tmp_path: Path) -> None:
    build = build_site(tmp_path / "site", env={
        "KUBELAB_LABS": str(fake_labs["labs"]), "KUBELAB_HIDE_SOLUTIONS": "1"})
    assert_clean(build)
    text = site_text(build.site)
    assert MARK_STARTER in text, "les fichiers de départ restent publiés"
    assert MARK_SOLUTION not in text
    assert MARK_ALTERNATIVE not in text
    assert 'class="success' not in text
