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
