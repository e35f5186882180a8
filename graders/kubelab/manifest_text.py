"""YAML text: Kubernetes manifests and configuration files, with French errors naming where.

The one place that turns PyYAML's errors into French (« YAML invalide dans « f.yaml »,
ligne 7, colonne 12 : un « : » manque après une clé. »): lab metadata, lab manifests, the
learner's notebook cells, the NetworkPolicy analysis of files and lab 09's Prometheus
configuration all say it the same way. A leaf: it imports nothing from kubelab but
``errors``, so that every layer may use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kubelab.errors import UsageError

Obj = dict[str, Any]

NAMESPACE_PLACEHOLDER = "__NAMESPACE__"
"""In a lab's manifests, stands for the namespace the lab is applied to."""

YAML_PROBLEMS = (
    ("mapping values are not allowed", "« : » inattendu ici (indentation décalée, ou valeur à mettre entre "
                                       "guillemets)"),
    ("could not find expected ':'", "un « : » manque après une clé"),
    ("that cannot start any token", "caractère interdit en début de valeur (une tabulation ? YAML n'indente "
                                    "qu'avec des espaces)"),
    ("expected <block end>", "indentation incohérente"),
    ("did not find expected key", "indentation incohérente"),
    ("did not find expected '-' indicator", "indentation incohérente dans une liste"),
    ("expected ',' or ']'", "« , » ou « ] » attendu (crochet non fermé ?)"),
    ("expected ',' or '}'", "« , » ou « } » attendu (accolade non fermée ?)"),
    ("found unexpected end of stream", "fin du texte inattendue (guillemet non fermé ?)"),
    ("found undefined alias", "alias inconnu"),
)
"""PyYAML's problems, as a learner should read them."""


def yaml_mark(exc: yaml.YAMLError) -> yaml.Mark | None:
    """Where the parser stopped (0-based line and column), if it says."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark if isinstance(mark, yaml.Mark) else None


def yaml_position(exc: yaml.YAMLError) -> str:
    """``ligne 7, colonne 12``, or ``""`` when the parser does not say."""
    mark = yaml_mark(exc)
    return f"ligne {mark.line + 1}, colonne {mark.column + 1}" if mark else ""


def yaml_reason(exc: yaml.YAMLError) -> str:
    """Why the parser stopped, in French when the problem is a known one, else quoted as is."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    known = next((french for english, french in YAML_PROBLEMS if english in problem), None)
    if known is not None:
        return known
    return problem if problem.startswith("la clé") else f"« {problem} »"


def invalid_yaml(source: str, exc: yaml.YAMLError) -> str:
    """``YAML invalide dans « f.yaml », ligne 7, colonne 12 : …`` for a file or text named ``source``."""
    position = yaml_position(exc)
    return f"YAML invalide dans {source}{', ' + position if position else ''} : {yaml_reason(exc)}."


def read_yaml_file(path: Path) -> Any:
    """The one YAML document of a file (``None`` when empty); a French error naming the file otherwise."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UsageError(invalid_yaml(f"« {path} »", exc)) from exc


def parse(text: str, source: str) -> list[Obj]:
    """The Kubernetes objects of ``text`` (``List`` objects unwrapped); a French error naming ``source``.

    A malformed YAML raises a ``UsageError`` whose ``__cause__`` is the parser's error.
    """
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise UsageError(invalid_yaml(source, exc)) from exc
    objects: list[Obj] = []
    for index, doc in enumerate(documents, start=1):
        if not isinstance(doc, dict):
            raise UsageError(f"Le document n°{index} de {source} n'est pas un objet Kubernetes.")
        if doc.get("kind") == "List":
            objects.extend(doc.get("items", []))
            continue
        for field in ("apiVersion", "kind"):
            if not doc.get(field):
                raise UsageError(f"Le document n°{index} de {source} n'a pas de champ « {field} ».")
        if not (doc.get("metadata") or {}).get("name"):
            raise UsageError(f"Le document n°{index} ({doc['kind']}) de {source} n'a pas de « metadata.name ».")
        objects.append(doc)
    return objects
