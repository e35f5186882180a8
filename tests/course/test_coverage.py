"""La table de couverture (course/couverture.md) couvre chaque section de chaque document source.

Les documents sources sont les cinq textes de ``../shared/seeds/``, à côté du dépôt (pour un
worktree git, à côté de son dépôt principal), ou du dossier désigné par ``KUBELAB_SEEDS`` ;
le test échoue s'ils ne sont pas là. Une « section » est :

* dans un document Markdown, chaque titre ``#`` hors des blocs de code ;
* dans un document en texte brut, la première ligne, chaque première ligne après un filet
  ``---`` et chaque ligne de flux marquée ``🔹``.

Chaque section doit figurer, sous son intitulé, dans la première colonne d'un tableau de
couverture, et chaque ligne du tableau doit renvoyer vers une page du cours (les liens et les
ancres sont vérifiés par ``mkdocs build --strict``).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import pytest

from .sitebuild import REPO


def seeds_folder() -> Path:
    """``$KUBELAB_SEEDS``, else ``../shared/seeds`` beside the repository (or beside the main checkout
    when this one is a git worktree, whose ``.git`` file names the main repository's ``.git``)."""
    if os.environ.get("KUBELAB_SEEDS"):
        return Path(os.environ["KUBELAB_SEEDS"])
    checkout = REPO
    dot_git = REPO / ".git"
    if dot_git.is_file() and dot_git.read_text().startswith("gitdir:"):
        git_dir = Path(dot_git.read_text().split(":", 1)[1].strip())
        if git_dir.parent.name == "worktrees":
            checkout = git_dir.parent.parent.parent
    return checkout.parent / "shared" / "seeds"


SEEDS = seeds_folder()
COVERAGE = REPO / "course" / "couverture.md"

# Caractères admis dans un mot « propre » : ASCII imprimable et lettres françaises. Les émojis
# et les restes d'encodage cassé (« ğŸ—ï¸ ») ne font pas partie des intitulés.
FRENCH = "àâäçéèêëîïôöùûüÿœæÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ«»’–—"


def _clean_word(word: str) -> bool:
    return all((" " < ch < "\x7f") or ch in FRENCH for ch in word)


def normalize(heading: str) -> str:
    """Intitulé comparable : sans #, émojis, numérotation, emphase ni différences d'espaces."""
    text = heading.strip().lstrip("#").replace("\u00a0", " ").replace("\u202f", " ")
    text = text.replace("’", "'").replace("**", "").replace("`", "")
    words = [w for w in text.split() if _clean_word(w)]
    text = " ".join(words)
    text = re.sub(r"^\d+(?:\.\d+)*\.?\s*(?:[-–—]\s*)?", "", text)
    text = re.sub(r"\s+([:;?!])", r"\1", text)
    text = re.sub(r"\s+", " ", text).strip()
    return unicodedata.normalize("NFC", text).casefold()


def seed_headings(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    markdown = any(re.match(r"#{1,6}\s", line) for line in lines)
    headings: list[str] = []
    if markdown:
        fence = None
        for line in lines:
            m = re.match(r"\s*(`{3,}|~{3,})", line)
            if fence:
                if m and m.group(1)[0] == fence[0]:
                    fence = None
                continue
            if m:
                fence = m.group(1)
                continue
            if re.match(r"#{1,6}\s", line):
                headings.append(line)
        return headings
    previous_rule = True
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped == "---":
            previous_rule = True
            continue
        if previous_rule or stripped.startswith("🔹"):
            headings.append(stripped)
        previous_rule = False
    return headings


def coverage_rows() -> list[tuple[str, str]]:
    rows = []
    for line in COVERAGE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 2 or set(cells[0]) <= set("-: "):
            continue
        rows.append((cells[0], cells[1]))
    return rows[1:] if rows and rows[0][0].lower().startswith("section") else rows


def seed_files() -> list[Path]:
    return sorted(p for p in SEEDS.glob("*") if p.is_file()) if SEEDS.is_dir() else []


def test_the_seeds_are_there() -> None:
    """Are the source documents in ../shared/seeds (else nothing below would be checked)?"""
    assert seed_files(), f"documents sources absents : {SEEDS} (ou KUBELAB_SEEDS)"


@pytest.mark.parametrize("seed", seed_files(), ids=lambda p: p.name[:3])
def test_every_seed_section_is_covered(seed: Path) -> None:
    covered = {normalize(title) for title, _ in coverage_rows()}
    missing = [h for h in seed_headings(seed) if normalize(h) and normalize(h) not in covered]
    assert not missing, f"{seed.name} : sections absentes de couverture.md :\n" + "\n".join(missing)


def test_every_coverage_row_points_to_a_page() -> None:
    rows = coverage_rows()
    assert len(rows) > 100, "table de couverture trop courte"
    for title, target in rows:
        if title.lower().startswith("section"):
            continue
        assert re.search(r"\]\([\w./#%-]+\)", target), f"« {title} » ne renvoie vers aucune page"


def test_normalize() -> None:
    assert normalize("### 1. 🚪 API Server") == "api server"
    assert normalize("# 1.6 - Architecture générale du lab") == "architecture générale du lab"
    assert normalize("ğŸ—ï¸ Architecture de référence") == "architecture de référence"
    assert normalize("Qu'est-ce qu'une Architecture de Référence ?") == normalize(
        "Qu’est-ce qu’une Architecture de Référence\u00a0?")
