"""Small HTML pieces shared by the notebook's displays.

Inline styles only: JupyterLab keeps them in untrusted notebooks and nbconvert keeps them in
nbgrader's feedback, where a ``<style>`` element would be dropped.
"""

from __future__ import annotations

import html
import re

from kubelab.typography import french

GREEN = "#1b5e20"
RED = "#b71c1c"
ORANGE = "#e65100"
GREY = "#616161"
LIGHT_GREEN = "#e8f5e9"
LIGHT_RED = "#ffebee"
LIGHT_ORANGE = "#fff3e0"
LIGHT_GREY = "#f5f5f5"
FONT = "font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; font-size: 13px; line-height: 1.45"
CELL = "padding: 3px 8px; border-bottom: 1px solid #e0e0e0; vertical-align: top; text-align: left"
HEAD = f"{CELL}; font-weight: 600; background: {LIGHT_GREY}"

_CODE = re.compile(r"`([^`]+)`")


def text(value: object) -> str:
    """Escaped French text, with `code` spans rendered as <code>."""
    escaped = html.escape(french(str(value)), quote=False)
    return _CODE.sub(r"<code>\1</code>", escaped)


def lines(value: str) -> str:
    """Escaped text whose lines stay lines, and whose « • » lines become a list."""
    out: list[str] = []
    items: list[str] = []
    for line in str(value).splitlines():
        if line.lstrip().startswith("• "):
            items.append(line.lstrip()[2:])
            continue
        if items:
            out.append(bullets(items))
            items = []
        out.append(text(line))
    if items:
        out.append(bullets(items))
    return "<br>".join(part for part in out if part).replace("</ul><br>", "</ul>").replace("<br><ul", "<ul")


def bullets(items: list[str], symbols: bool = False) -> str:
    """A list, one escaped item per entry (nothing for no entry); ``symbols``: the items start with their own
    mark (✓, ✗, ⚠), so no bullet is drawn."""
    if not items:
        return ""
    listed = "".join(f"<li>{text(item)}</li>" for item in items)
    style = "list-style: none; padding-left: 4px" if symbols else "padding-left: 20px"
    return f'<ul style="margin: 4px 0 0 0; {style}">{listed}</ul>'


def attribute(value: object) -> str:
    return html.escape(str(value), quote=True)


def box(body: str, colour: str = GREY, background: str = "#ffffff") -> str:
    """A framed block with a coloured left border."""
    return (f'<div style="{FONT}; border-left: 4px solid {colour}; background: {background}; '
            f'padding: 6px 10px; margin: 4px 0">{body}</div>')


def notice(message: str, kind: str = "info") -> str:
    """A one-block message: ``info``, ``ok``, ``error`` or ``warning``."""
    colour, background = {
        "ok": (GREEN, LIGHT_GREEN),
        "error": (RED, LIGHT_RED),
        "warning": (ORANGE, LIGHT_ORANGE),
    }.get(kind, (GREY, LIGHT_GREY))
    return box(message, colour, background)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain table; cells are HTML already."""
    head = "".join(f'<th style="{HEAD}">{text(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f'<td style="{CELL}">{c}</td>' for c in row) + "</tr>" for row in rows)
    return (f'<table style="border-collapse: collapse; margin: 4px 0 8px 0"><thead><tr>{head}</tr></thead>'
            f'<tbody>{body}</tbody></table>')


def badge(label: str, colour: str, background: str) -> str:
    return (f'<span style="color: {colour}; background: {background}; border-radius: 3px; '
            f'padding: 0 5px; white-space: nowrap">{text(label)}</span>')


def show(markup: str) -> None:
    """Display HTML in the notebook (plain print outside IPython)."""
    try:
        from IPython.display import HTML, display
    except ImportError:  # pragma: no cover - the notebook always has IPython
        print(re.sub(r"<[^>]+>", "", markup))
        return
    display(HTML(markup))
