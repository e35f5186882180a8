"""What nbgrader's feedback page needs from kubelab: the messages of the test cells as HTML.

A check's message is written with Markdown's code spans (« le Secret `postgres-credentials` »)
and, on failure, an « Indice » line. In the feedback, ``message_html`` (registered as the
Jinja filter ``kubelab_message`` in ``notebooks/nbgrader_config.py``) keeps its lines, turns
the spans into ``<code>`` and lets long lines wrap; ``score`` prints « 2 / 2 », not « 2.0 / 2.0 ».
"""

from __future__ import annotations

import html as escaping
import re

_CODE = re.compile(r"`([^`\n]+)`")


def message_html(text: str) -> str:
    """A test cell's printed message as HTML: escaped, code spans as ``<code>``, one block per line."""
    lines = []
    for line in str(text).rstrip("\n").split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        body = _CODE.sub(r"<code>\1</code>", escaping.escape(line.strip(), quote=False))
        style = f' style="margin-left: {indent // 2}em"' if indent else ""
        lines.append(f'<div class="kubelab-line"{style}>{body}</div>' if body else "")
    return "".join(lines)


def score(value: object) -> str:
    """« 2 » for 2.0, « 1.5 » for 1.5: points as a teacher writes them."""
    number = round(float(value or 0), 2)  # type: ignore[arg-type]
    return str(int(number)) if number == int(number) else f"{number:g}"
