"""French typography for user-facing text: non-breaking spaces, « » quotes, lists."""

from __future__ import annotations

from collections.abc import Iterable

NBSP = "\u00a0"


def quote(text: object) -> str:
    """``text`` between French quotes, with the non-breaking spaces inside."""
    return f"«{NBSP}{text}{NBSP}»"


def enumerate_fr(items: Iterable[str]) -> str:
    """« a », « a et b », « a, b et c »."""
    listed = list(items)
    if len(listed) <= 1:
        return "".join(listed)
    return f"{', '.join(listed[:-1])} et {listed[-1]}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``singular`` or its plural (``singular + "s"`` unless given) depending on ``count``."""
    return singular if count == 1 else (plural_form or singular + "s")
