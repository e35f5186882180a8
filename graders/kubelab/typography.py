"""French typography for learner-facing text: non-breaking spaces where French wants them."""

from __future__ import annotations

import re

NBSP = "\u00a0"
NNBSP = "\u202f"
_BEFORE = re.compile(r" ([:;?!»])")
_AFTER = re.compile(r"« ")


def french(text: str) -> str:
    """Turn the plain spaces before « : ; ? ! » and inside guillemets into non-breaking ones."""
    return _AFTER.sub(f"«{NBSP}", _BEFORE.sub(rf"{NBSP}\1", text))


def plural(count: int, singular: str, plural_form: str) -> str:
    """« 1 pod prêt », « 0 pod prêt », « 3 pods prêts » (French: the singular up to 1)."""
    return f"{count} {singular if abs(count) <= 1 else plural_form}"
