"""Multiple-choice questions graded by nbgrader.

The learner writes a letter in a variable (``reponse_etcd = "B"``). The locked test cell
checks the format in the open (``reponse``); the right answer lives in its hidden part
(``corriger``), which only the autograde runs. Like the lab's checks, a wrong answer prints
on stderr (0 point) and never raises, so no hidden line shows in a traceback; and nothing is
returned, so no value becomes nbgrader's partial credit.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from kubelab.typography import french


def _user_namespace() -> dict[str, Any]:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover
        shell = None
    if shell is not None:
        return shell.user_ns
    frame = inspect.stack()[2].frame
    return frame.f_globals


def _letter(name: str) -> str | None:
    value = _user_namespace().get(name)
    if not isinstance(value, str):
        return None
    return value.strip().upper()


def _choices(choix: str) -> str:
    letters = list(choix)
    return ", ".join(letters[:-1]) + f" ou {letters[-1]}" if len(letters) > 1 else choix


def reponse(nom: str, choix: str = "ABCD") -> None:
    """Is the answer in ``nom`` one of the letters of ``choix``? (the visible part of the test)"""
    value = _user_namespace().get(nom)
    letter = _letter(nom)
    if letter is None or len(letter) != 1 or letter not in choix:
        found = "variable absente" if nom not in _user_namespace() else (f"« {value} »" if value else "vide")
        print(french(f"✗ `{nom}` devrait être une lettre parmi {_choices(choix)} (trouvé : {found})."), file=sys.stderr)
        return
    print(french(f"Réponse enregistrée : {letter}. Elle sera corrigée avec le devoir."))


def corriger(nom: str, attendu: str, explication: str = "") -> None:
    """Is the answer right? (the hidden part of the test: it runs at autograde only)"""
    letter = _letter(nom)
    if letter == attendu.upper():
        print(french(f"✓ Bonne réponse ({letter}). {explication}".rstrip()))
        return
    found = f"Réponse {letter}" if letter else "Aucune réponse"
    print(french(f"✗ {found} ; la bonne réponse est {attendu.upper()}. {explication}".rstrip()), file=sys.stderr)
