"""Typographie française du cours.

Vérifie, dans ``course/**/*.md`` et ``labs/*/README.md``, en dehors du code (blocs et
code en ligne), de l'en-tête YAML, du HTML, des URL et de la syntaxe Markdown :

* aucun guillemet droit ``"`` dans la prose (on écrit « … ») ;
* une espace insécable (U+00A0 ou U+202F) avant ``:``, ``;``, ``?`` et ``!`` ;
* une espace insécable après « et avant ».

Les mêmes règles valent pour le texte des schémas Mermaid (libellés entre guillemets, messages
des diagrammes de séquence) et pour **le site construit** : titres de page, navigation, table
des matières, titre de la fenêtre et pages générées par le hook des labs (voir
``test_built_site_text_has_french_spacing``).

Le cours emploie un seul terme par notion (``TERMS``) : « journaux » et non « logs »,
« maillage de services », « obsolète » et non « déprécié », « sur site » et non « on-premise ».
Le terme anglais reste permis en glose, en italique (*service mesh*), dans la colonne anglaise
du glossaire et dans la première colonne de la table de couverture, qui cite les documents sources.

Chaque écart est signalé sous la forme ``fichier:ligne: message``.

Le même module sait corriger les fichiers (espaces insécables, « » à la place des
guillemets droits appariés) ::

    python tests/course/test_typography.py --fix [fichiers...]
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
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


RE_MERMAID_LABEL = re.compile(r'"([^"\n]*)"')
RE_SEQUENCE_MESSAGE = re.compile(r"^\s*[\w-]+\s*[-.x)>]+\+?-?\s*[\w-]+\s*:(?P<text>.*)$")


def mermaid_lines(lines: list[str]) -> Iterator[int]:
    """Index des lignes des schémas Mermaid (```mermaid … ```)."""
    inside = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not inside and re.match(r"(`{3,}|~{3,})\s*mermaid\b", stripped):
            inside = True
        elif inside and re.match(r"(`{3,}|~{3,})\s*$", stripped):
            inside = False
        elif inside:
            yield i


def mermaid_spans(line: str) -> list[tuple[int, int]]:
    """Le texte affiché d'une ligne Mermaid : libellés entre guillemets, message de séquence."""
    spans = [(m.start(1), m.end(1)) for m in RE_MERMAID_LABEL.finditer(line)]
    message = RE_SEQUENCE_MESSAGE.match(line)
    if message and not spans:
        spans.append((message.start("text"), message.end("text")))
    return spans


def file_violations(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    rel = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    for i, line in prose_lines(lines):
        for col, message in line_violations(line):
            out.append(f"{rel}:{i + 1}:{col + 1}: {message}")
    for i in mermaid_lines(lines):
        for start, end in mermaid_spans(lines[i]):
            for col, message in line_violations(lines[i][start:end]):
                out.append(f"{rel}:{i + 1}:{start + col + 1}: {message} (schéma Mermaid)")
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
    for i in mermaid_lines(lines):
        for start, end in reversed(mermaid_spans(lines[i])):
            lines[i] = lines[i][:start] + fix_line(lines[i][start:end]) + lines[i][end:]
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


# ---------------------------------------------------------------------- one term per notion

TERMS: dict[str, re.Pattern[str]] = {
    "« journaux » (et non « logs »)": re.compile(r"\blogs?\b", re.I),
    "« obsolète » (et non « déprécié »)": re.compile(r"\bd[ée]pr[ée]ci[ée]\w*", re.I),
    "« sur site » (et non « on-premise »)": re.compile(r"\bon[- ]?prem(?:ise)?s?\b", re.I),
    "« maillage de services » (et non « service mesh »)": re.compile(r"\bservice[- ]mesh\b|\bmesh\b", re.I),
}
RE_ITALIC_GLOSS = re.compile(r"(?<![*\w])\*[^*\n]+\*(?!\*)")


def exempt_cells(path: Path, line: str) -> list[tuple[int, int]]:
    """Cellules où le terme d'origine est voulu : l'anglais du glossaire, les sources citées."""
    if not line.lstrip().startswith("|"):
        return []
    bounds = [m.start() for m in re.finditer(r"(?<!\\)\|", line)]
    cells = list(zip(bounds, bounds[1:], strict=False))
    wanted = {"glossaire.md": 1, "couverture.md": 0}.get(path.name)
    return [cells[wanted]] if wanted is not None and wanted < len(cells) else []


def term_violations(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    rel = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    out = []
    for i, line in prose_lines(lines):
        allowed = [(m.start(), m.end()) for m in RE_ITALIC_GLOSS.finditer(line)] + exempt_cells(path, line)
        for a, b, prose in segments(line):
            if not prose:
                continue
            for wanted, pattern in TERMS.items():
                for m in pattern.finditer(line, a, b):
                    if not any(x <= m.start() < y for x, y in allowed):
                        out.append(f"{rel}:{i + 1}:{m.start() + 1}: « {m.group(0)} » : employer {wanted}")
    return out


# --------------------------------------------------------------------------- the built site


class _VisibleText(HTMLParser):
    """The text a reader sees, without code, scripts and Mermaid sources."""

    SKIPPED = {"code", "pre", "script", "style", "kbd", "svg", "textarea"}
    VOID = {"br", "img", "hr", "input", "meta", "link", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []
        self.chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        self.stack.append(tag in self.SKIPPED or "mermaid" in classes or bool(self.stack and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.chunks.append(data)


RE_BAD_SPACING = re.compile(r"(?<=\S)[ \t]+([:;?!])(?=\s|$)|«[ \t]|[ \t]»")


def html_violations(html: str) -> list[str]:
    """Passages du texte visible où une espace ordinaire précède « : ; ? ! » ou jouxte « »."""
    parser = _VisibleText()
    parser.feed(html)
    text = "".join(parser.chunks)
    return [" ".join(text[max(0, m.start() - 40):m.end() + 20].split()) for m in RE_BAD_SPACING.finditer(text)]


# ----------------------------------------------------------------------------- tests


def test_there_are_files_to_check():
    files = course_files()
    assert any(f.name == "index.md" for f in files), "course/index.md introuvable"
    assert len([f for f in files if f.name == "README.md"]) >= 10, "énoncés de labs manquants"


def test_french_typography():
    problems = all_violations(course_files())
    assert not problems, f"{len(problems)} écart(s) typographique(s) :\n" + "\n".join(problems)


def test_one_term_per_notion():
    problems = [p for f in course_files() for p in term_violations(f)]
    assert not problems, f"{len(problems)} terme(s) à remplacer :\n" + "\n".join(problems)


def test_term_checker():
    page = REPO / "course" / "x.md"
    assert term_violations_of(page, "Lisez les logs du pod.")
    assert term_violations_of(page, "Cette API est dépréciée.")
    assert term_violations_of(page, "Un cluster on-premise.")
    assert term_violations_of(page, "Un service mesh ajoute un proxy.")
    assert not term_violations_of(page, "Un maillage de services (*service mesh*) ajoute un proxy.")
    assert not term_violations_of(page, "Lancez `kubectl logs deploy/api`.")
    assert not term_violations_of(REPO / "course" / "glossaire.md", "| Maillage de services | service mesh | … |")
    assert term_violations_of(REPO / "course" / "glossaire.md", "| Maillage de services | … | un service mesh |")


def term_violations_of(path: Path, line: str) -> list[str]:
    tmp = Path(tempfile.mkdtemp()) / path.name
    tmp.write_text(line + "\n", encoding="utf-8")
    return term_violations(tmp)


def test_mermaid_labels_are_checked_and_fixed(tmp_path: Path):
    page = tmp_path / "schema.md"
    page.write_text('```mermaid\nflowchart TB\n    a["Plan de contrôle : kubelite"] -->|"push : CI"| b\n'
                    "```\n\n```mermaid\nsequenceDiagram\n    A-->>S: notification : Pods\n```\n", encoding="utf-8")
    assert len(file_violations(page)) == 3
    assert fix_file(page)
    assert not file_violations(page)
    assert "flowchart TB" in page.read_text(encoding="utf-8")


def test_built_site_text_has_french_spacing(built_site):
    """Titres, navigation, table des matières, titre de fenêtre et pages générées compris."""
    assert built_site.returncode == 0, built_site.output[-2000:]
    problems = []
    for html in sorted(built_site.site.rglob("*.html")):
        rel = html.relative_to(built_site.site).as_posix()
        problems += [f"{rel} : « {passage} »" for passage in html_violations(html.read_text(encoding="utf-8"))]
    assert not problems, f"{len(problems)} espace(s) ordinaire(s) dans le site construit :\n" + "\n".join(problems[:60])


def test_html_checker():
    assert html_violations("<title>Réseau avancé : segmentation</title>")
    assert html_violations("<nav><a>Et maintenant ?</a></nav>")
    assert not html_violations("<h1>Réseau avancé\u00a0: segmentation</h1><code>a : b</code>")
    assert not html_violations('<pre class="mermaid">a["x : y"]</pre><p>À 02:00.</p>')


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
