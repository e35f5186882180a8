"""Typographie française du cours.

Vérifie, dans ``course/**/*.md`` et ``labs/*/README.md``, en dehors du code (blocs et
code en ligne), de l'en-tête YAML, du HTML, des URL et de la syntaxe Markdown :

* aucun guillemet droit ``"`` dans la prose (on écrit « … ») ;
* une espace insécable (U+00A0 ou U+202F) avant ``:``, ``;``, ``?`` et ``!`` ;
* une espace insécable après « et avant ».

Chaque écart est signalé sous la forme ``fichier:ligne: message``.

Le même module sait corriger les fichiers (espaces insécables, « » à la place des
guillemets droits appariés) ::

    python tests/course/test_typography.py --fix [fichiers...]
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NBSP = "\u00a0"
NB_SPACES = "\u00a0\u202f"
PUNCT = ":;?!"

# Morceaux d'une ligne de prose qui ne sont pas de la prose (ou pas de la prose française).
RE_PROTECTED = re.compile(
    r"""
      (?P<code>(?P<ticks>`+).+?(?P=ticks))        # code en ligne
    | (?P<image>!\[)                              # début d'image Markdown
    | (?P<target>\]\([^)\s]*(?:\s+"[^"]*")?\))    # cible de lien ](url "titre")
    | (?P<ref>\]\[[^\]]*\])                       # lien par référence ][id]
    | (?P<url>\b(?:https?|ftp)://[^\s)>\]]+)      # URL nue
    | (?P<tag></?[A-Za-z!][^>\n]*>)               # balise HTML, autolien
    | (?P<attr>\{[^{}\n]*\})                      # attr_list { .classe #id clé="v" }
    | (?P<emoji>:[a-z0-9_+-]+:)                   # :material-kubernetes:
    | (?P<keys>\+\+[^+\s][^+]*\+\+)               # ++ctrl+c++
    | (?P<entity>&(?:[A-Za-z]+|\#\d+);)           # entité HTML
    | (?P<footnote>\[\^[^\]]+\])                  # appel de note
    | (?P<time>\d[:h]\d)                          # 02:00, 3:1
    """,
    re.VERBOSE,
)
RE_FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})")
RE_BLOCK_HEADER = re.compile(
    r'^(?P<syntax>\s*(?:!!!|\?\?\?\+?|===\+?)(?:[ \t]+[^"\s]+)*[ \t]*)(?:"(?P<title>[^"]*)")?(?P<rest>.*)$'
)
RE_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
RE_FULLY_PROTECTED = re.compile(
    r"""^\s*(?:
          \[(?!\^)[^\]]+\]:\s       # définition de lien (pas une note [^1]: qui est de la prose)
        | \*\[[^\]]+\]:            # abréviation
        | -{2,}8<-{2,}             # inclusion pymdownx.snippets
        | ---\s*$ | \*\*\*\s*$     # filet
        )""",
    re.VERBOSE,
)


def course_files() -> list[Path]:
    files = sorted((REPO / "course").rglob("*.md"))
    files += sorted((REPO / "labs").glob("*/README.md"))
    return [f for f in files if "hooks" not in f.parts]


def prose_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(index, ligne) des lignes qui contiennent de la prose Markdown."""
    fence: str | None = None
    in_comment = False
    start = 0
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() in {"---", "..."}:
                start = i + 1
                break
    for i in range(start, len(lines)):
        line = lines[i]
        m = RE_FENCE.match(line)
        if fence:
            if m and m.group("fence")[0] == fence[0] and len(m.group("fence")) >= len(fence) \
                    and not line.strip()[len(m.group("fence")):].strip():
                fence = None
            continue
        if m:
            fence = m.group("fence")
            continue
        if in_comment:
            if "-->" in line:
                in_comment = False
            continue
        if "<!--" in line and "-->" not in line.split("<!--", 1)[1]:
            in_comment = True
            continue
        if RE_TABLE_SEPARATOR.match(line) or RE_FULLY_PROTECTED.match(line):
            continue
        yield i, line


def segments(line: str) -> list[tuple[int, int, bool]]:
    """Découpe la ligne en (début, fin, est_de_la_prose)."""
    spans: list[tuple[int, int, bool]] = []
    offset = 0
    text = line
    header = RE_BLOCK_HEADER.match(line)
    if header:
        # !!! type "Titre" : seul le titre entre guillemets est de la prose.
        if header.group("title") is None:
            return [(0, len(line), False)]
        offset = header.start("title")
        text = header.group("title")
        spans.append((0, offset, False))
    line_no_comments = re.sub(r"<!--.*?-->", lambda m: "\0" * len(m.group(0)), text)
    pos = 0
    for m in RE_PROTECTED.finditer(line_no_comments):
        if m.start() > pos:
            spans.append((offset + pos, offset + m.start(), True))
        spans.append((offset + m.start(), offset + m.end(), False))
        pos = m.end()
    if pos < len(text):
        spans.append((offset + pos, offset + len(text), True))
    # Les commentaires HTML sur une ligne ne sont pas de la prose.
    result = []
    for a, b, prose in spans:
        if prose and "\0" in line_no_comments[a - offset:b - offset]:
            chunk = line_no_comments[a - offset:b - offset]
            k = a
            for part in re.split(r"(\0+)", chunk):
                if part:
                    result.append((k, k + len(part), not part.startswith("\0")))
                    k += len(part)
        else:
            result.append((a, b, prose))
    if header:
        end = header.end("title") if header.group("title") is not None else len(line)
        if end < len(line):
            result.append((end, len(line), False))
    return result


def _prose_mask(line: str) -> list[bool]:
    mask = [False] * len(line)
    for a, b, prose in segments(line):
        for k in range(a, b):
            mask[k] = prose
    return mask


def _is_prose_mark(line: str, k: int) -> bool:
    """Un « : ; ? ! » de prose est suivi d'une espace, d'une ponctuation ou de la fin de ligne ;
    collé à une lettre ou un chiffre (``postgres:5432``, ``a:b``), ce n'est pas de la prose."""
    nxt = line[k + 1] if k + 1 < len(line) else ""
    return not nxt or not (nxt.isalnum() or nxt in "/\\")


def line_violations(line: str) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    if RE_TABLE_SEPARATOR.match(line) or RE_FULLY_PROTECTED.match(line):
        return problems
    mask = _prose_mask(line)
    for k, ch in enumerate(line):
        if not mask[k]:
            continue
        if ch == '"':
            problems.append((k, "guillemet droit \" dans la prose : écrire « … »"))
        elif ch in PUNCT and _is_prose_mark(line, k):
            j = k - 1
            while j >= 0 and line[j] in "?!" and ch in "?!":
                j -= 1
            prev = line[j] if j >= 0 else ""
            if prev not in NB_SPACES:
                what = "espace ordinaire" if prev in " \t" else "aucune espace"
                problems.append((k, f"« {ch} » précédé de {what} : mettre une espace insécable (U+00A0)"))
        elif ch == "«" and (k + 1 >= len(line) or line[k + 1] not in NB_SPACES):
            problems.append((k, "« doit être suivi d'une espace insécable"))
        elif ch == "»" and (k == 0 or line[k - 1] not in NB_SPACES):
            problems.append((k, "» doit être précédé d'une espace insécable"))
    return problems


def file_violations(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    rel = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    for i, line in prose_lines(lines):
        for col, message in line_violations(line):
            out.append(f"{rel}:{i + 1}:{col + 1}: {message}")
    return out


def fix_line(line: str) -> str:
    mask = _prose_mask(line)
    chars = list(line)
    out: list[str] = []
    k = 0
    while k < len(chars):
        ch = chars[k]
        if not mask[k]:
            out.append(ch)
            k += 1
            continue
        if ch == '"':
            # Guillemets droits appariés dans un même segment de prose.
            end = k + 1
            while end < len(chars) and mask[end] and chars[end] != '"':
                end += 1
            if end < len(chars) and mask[end] and chars[end] == '"':
                inner = "".join(chars[k + 1:end]).strip()
                out.append(f"«{NBSP}{inner}{NBSP}»")
                k = end + 1
                continue
        if ch in PUNCT and _is_prose_mark(line, k):
            prev_is_chain = out and out[-1] in "?!" and ch in "?!"
            if not prev_is_chain:
                while out and out[-1] in " \t":
                    out.pop()
                if not out or out[-1] not in NB_SPACES:
                    out.append(NBSP)
        if ch == "«":
            out.append("«" + NBSP)
            k += 1
            while k < len(chars) and chars[k] in " \t" + NB_SPACES:
                k += 1
            continue
        if ch == "»":
            while out and out[-1] in " \t" + NB_SPACES:
                out.pop()
            out.append(NBSP + "»")
            k += 1
            continue
        out.append(ch)
        k += 1
    return "".join(out)


def fix_file(path: Path) -> bool:
    original = path.read_text(encoding="utf-8")
    lines = original.split("\n")
    for i, line in prose_lines(lines):
        lines[i] = fix_line(line)
    fixed = "\n".join(lines)
    if fixed != original:
        path.write_text(fixed, encoding="utf-8")
        return True
    return False


def all_violations(files: Iterable[Path]) -> list[str]:
    problems: list[str] = []
    for f in files:
        problems.extend(file_violations(f))
    return problems


# ----------------------------------------------------------------------------- tests


def test_there_are_files_to_check():
    files = course_files()
    assert any(f.name == "index.md" for f in files), "course/index.md introuvable"
    assert len([f for f in files if f.name == "README.md"]) >= 10, "énoncés de labs manquants"


def test_french_typography():
    problems = all_violations(course_files())
    assert not problems, f"{len(problems)} écart(s) typographique(s) :\n" + "\n".join(problems)


def test_checker_catches_and_ignores_the_right_things():
    bad = [
        'Il dit "bonjour".',
        "Attention : danger",
        "Attention: danger",
        "Vraiment ?",
        "Stop!",
        "Le mot «\u00a0test »",
    ]
    for text in bad:
        assert line_violations(text), f"non détecté : {text!r}"
    good = [
        "Attention\u00a0: danger",
        "Vraiment\u00a0?!",
        "Lancez `kubectl get pods -o jsonpath=\"{.items}\"` puis `a:b`.",
        "Voir [la doc](https://kubernetes.io/docs/?q=1 \"titre\") à 02:00.",
        '!!! note "Remarque\u00a0: important"',
        '??? success "Solution"',
        '=== "kubectl"',
        "| Nom | Rôle |",
        "|:---|---:|",
        "Icône :material-kubernetes: du cours { .annotate }",
        "Un «\u00a0mot\u00a0» bien écrit.",
        "<span class=\"x\">ok</span>",
        "le flux frontend → postgres:5432 est bloqué",
        "![Schéma](img.png)",
    ]
    for text in good:
        assert not line_violations(text), f"faux positif : {text!r} -> {line_violations(text)}"
    assert fix_line('Il dit "bonjour" : ok !') == "Il dit «\u00a0bonjour\u00a0»\u00a0: ok\u00a0!"


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    targets = [Path(a).resolve() for a in args] or course_files()
    if "--fix" in sys.argv:
        for target in targets:
            if fix_file(target):
                print(f"corrigé : {target.relative_to(REPO)}")
    problems = all_violations(targets)
    print("\n".join(problems) if problems else "Aucun écart typographique.")
    sys.exit(1 if problems else 0)
