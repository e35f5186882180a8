"""The French terminal report: score, one line per check, hints and Events on failures."""

from __future__ import annotations

import os
import textwrap
from typing import TextIO

from kubelab.outcomes import GradeReport, Outcome
from kubelab.typography import french

SYMBOLS = {Outcome.PASSED: "✓", Outcome.FAILED: "✗", Outcome.ERROR: "⚠"}
COLOURS = {Outcome.PASSED: "32", Outcome.FAILED: "31", Outcome.ERROR: "33"}
WIDTH = 100


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    return hasattr(stream, "isatty") and stream.isatty() and not os.environ.get("NO_COLOR")


def render(report: GradeReport, colour: bool = False) -> str:
    """The report as French text."""

    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if colour else text

    source = "instantané" if report.source == "snapshot" else "cluster"
    origin = report.origin.get("description", "")
    lines = [
        paint(f"Lab {report.lab_id} — {report.lab_title}", "1"),
        f"Source : {source}{f' ({origin})' if origin else ''}, namespace « {report.namespace} »",
        "",
    ]
    indent = " " * 11
    for result in report.results:
        symbol = paint(SYMBOLS[result.outcome], COLOURS[result.outcome])
        earned = "–" if result.outcome is Outcome.ERROR else str(result.points)
        hidden = ", cachée" if result.check.hidden else ""
        lines.append(f"  {symbol} {earned:>2}/{result.check.points:<2}  {result.check.title} "
                     f"({result.check.id}{hidden})")
        lines.extend(textwrap.wrap(result.message, WIDTH, initial_indent=indent, subsequent_indent=indent,
                                   break_on_hyphens=False))
        if result.outcome is Outcome.FAILED:
            lines.extend(textwrap.wrap(f"Indice : {result.hint}", WIDTH, initial_indent=indent,
                                       subsequent_indent=indent + "  ", break_on_hyphens=False))
            for event in result.events:
                lines.append(f"{indent}Événement {event['reason']} ({event['object']}) : {event['message']}")
    lines.append("")
    lines.append(paint(f"Score : {report.score}/{report.max_score}", "1"))
    if report.errors:
        lines.append(paint(
            f"{len(report.errors)} vérification(s) non notée(s) : problème d'infrastructure, relancez la "
            "correction.", "33"))
    return french("\n".join(lines)) + "\n"
