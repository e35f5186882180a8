"""Each check of labs 05, 08 and 09 names the sentence of its statement that it enforces.

A check's docstring quotes the statement between « guillemets » (``[…]`` marks a cut); every
quoted fragment must still be in the lab's README.md, so a statement rewritten without its
checks, or a check without a sentence, fails here.
"""

from __future__ import annotations

import re

import pytest

from kubelab.catalog import load_lab

LABS = ("05-haute-disponibilite", "08-sauvegarde-restauration", "09-observabilite")
QUOTED = re.compile(r"«\s*(.+?)\s*»", re.DOTALL)


def _plain(text: str) -> str:
    """Markdown reduced to its words: no emphasis, one space between words."""
    text = text.replace("\u00a0", " ").replace("**", "").replace("\\", "")
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("lab_id", LABS)
def test_every_check_quotes_a_sentence_of_its_statement(lab_id: str) -> None:
    """Does each check's docstring quote its statement, and is every quoted fragment in README.md?"""
    lab = load_lab(lab_id)
    statement = _plain((lab.folder / "README.md").read_text(encoding="utf-8"))
    missing: list[str] = []
    for check in lab.checks:
        doc = check.spec.function.__doc__ or ""
        quotes = QUOTED.findall(doc)
        if not quotes:
            missing.append(f"{check.id} : aucune phrase de l'énoncé citée")
        for quote in quotes:
            for fragment in (_plain(part) for part in quote.split("[…]")):
                if fragment and fragment not in statement:
                    missing.append(f"{check.id} : « {fragment} » n'est pas dans l'énoncé")
    assert not missing, "\n".join(missing)
