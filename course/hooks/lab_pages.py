"""Hook MkDocs : une page de cours par lab.

Pour chaque dossier ``labs/<id>/`` qui contient un ``lab.yaml``, ce hook ajoute au site
une page générée ``labs/<id>.md`` qui contient :

* le titre et les métadonnées du lab (namespace, chapitres, notebook, commande de correction) ;
* l'énoncé, c'est-à-dire le contenu de ``labs/<id>/README.md`` ;
* les manifestes de départ (``labs/<id>/starter/**/*.yaml``) et la solution de référence
  (``labs/<id>/solution/**/*.yaml``, plus les variantes ``alternatives/<nom>/``), **inclus**
  depuis les fichiers du dépôt par ``pymdownx.snippets`` au moment de la construction : le site
  montre exactement les fichiers que les tests appliquent, et un dossier absent donne une
  note « solution à venir » au lieu d'une erreur ;
* le barème : pris dans ``kubelab.catalog`` (``load_lab(id).checks``) quand le correcteur du lab
  existe, sinon dans la table ``checks`` de ``lab.yaml`` ; les vérifications cachées ne sont
  que comptées ;
* la commande de correction (``kubelab grade <id>``) et le chemin du notebook du lab
  (``notebooks/source/<id>/<id>.ipynb``), joint au site s'il existe.

Le hook complète aussi la section « Labs » de la navigation et remplace, dans
``labs/index.md``, le marqueur ``<!-- kubelab:labs-table -->`` par le tableau des labs.

Le chapitre principal d'un lab est le champ ``chapter`` de son ``lab.yaml`` ; à défaut, c'est le
premier chapitre (dans l'ordre du menu) dont la section « Exercices » renvoie vers le lab. Tous
les chapitres qui y renvoient sont listés sur la page du lab.

Masquer les solutions (construction pour une classe)
----------------------------------------------------
``KUBELAB_HIDE_SOLUTIONS=1 mkdocs build`` produit un site sans aucune solution : ni les
manifestes de ``solution/`` et ``alternatives/``, ni les blocs repliables ``??? success`` des
chapitres et des énoncés (ils sont remplacés par un court avertissement).

``KUBELAB_LABS=<dossier>`` (la même variable que ``kubelab``) fait lire les labs ailleurs que
dans ``labs/`` : les tests du site s'en servent.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.lab_pages")

HIDE_ENV = "KUBELAB_HIDE_SOLUTIONS"
LABS_ENV = "KUBELAB_LABS"
LABS_TABLE_MARKER = "<!-- kubelab:labs-table -->"
NAV_SECTION = "Labs"
NBSP = "\u00a0"
YAML_SUFFIXES = {".yaml", ".yml"}

# Ouverture d'un bloc repliable « solution » : ??? success "…" ou ???+ success "…".
RE_SOLUTION_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\?\?\?\+?[ \t]+success\b")
RE_LAB_LINK = re.compile(r"\]\((?:\.\./)*labs/(?P<id>[\w.-]+)\.md(?:#[^)]*)?\)")
RE_H2 = re.compile(r"^##\s+(?P<title>.+?)\s*#*\s*$")


# --------------------------------------------------------------------------- outils


def hide_solutions() -> bool:
    """Vrai si la construction doit masquer toutes les solutions."""
    return os.environ.get(HIDE_ENV, "").strip().lower() in {"1", "true", "yes", "oui", "on"}


def french_typography(text: str) -> str:
    """Espace insécable avant : ; ? ! et à l'intérieur des guillemets (textes venant du YAML)."""
    text = re.sub(r"[ \u00a0\u202f]*([:;?!])(?=\s|$)", NBSP + r"\1", text)
    text = re.sub(r"«[ \u00a0\u202f]*", "«" + NBSP, text)
    return re.sub(r"[ \u00a0\u202f]*»", NBSP + "»", text)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def repo_root(config: Any) -> Path:
    return Path(config.config_file_path).resolve().parent


def labs_root(config: Any) -> Path:
    env = os.environ.get(LABS_ENV, "").strip()
    return Path(env).expanduser().resolve() if env else repo_root(config) / "labs"


def discover_labs(root: Path) -> list[Path]:
    """Dossiers de labs (ceux qui contiennent un lab.yaml), triés par identifiant."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "lab.yaml").is_file())


def load_lab_metadata(lab_dir: Path) -> dict[str, Any]:
    """Le contenu de lab.yaml, tolérant : un champ absent ou mal formé prend une valeur neutre."""
    try:
        data = yaml.safe_load((lab_dir / "lab.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        log.info("lab %s : lab.yaml illisible (%s)", lab_dir.name, exc)
        data = {}
    if not isinstance(data, dict):
        data = {}
    lab = {
        "id": str(data.get("id") or lab_dir.name),
        "title": str(data.get("title") or data.get("id") or lab_dir.name),
        "namespace": str(data.get("namespace") or ""),
        "chapter": str(data.get("chapter") or ""),
        "raw_checks": data.get("checks") or [],
        "dir": lab_dir,
    }
    return lab


def lab_number(lab_id: str) -> str:
    m = re.match(r"(\d+)", lab_id)
    return m.group(1) if m else ""


def lab_page_title(lab: dict[str, Any]) -> str:
    num = lab_number(lab["id"])
    title = french_typography(lab["title"])
    return f"Lab {num} — {title}" if num else title


def lab_nav_title(lab: dict[str, Any]) -> str:
    num = lab_number(lab["id"])
    title = french_typography(lab["title"])
    return f"{num}. {title}" if num else title


def source_title(file: File) -> str:
    """Titre d'une page du cours : son premier titre de niveau 1 (sinon son chemin)."""
    try:
        text = file.content_string
    except (OSError, TypeError, ValueError):
        return file.src_uri
    in_front_matter = text.startswith("---")
    for n, line in enumerate(text.splitlines()):
        if in_front_matter:
            if n > 0 and line.strip() == "---":
                in_front_matter = False
            continue
        m = re.match(r"#\s+(.+?)\s*#*\s*$", line)
        if m:
            return re.sub(r"\s*\{[^}]*\}\s*$", "", m.group(1))
    return file.src_uri


def nav_order(nav: Any) -> list[str]:
    """Chemins des pages dans l'ordre du menu."""
    out: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(nav or [])
    return out


def exercise_links(markdown: str) -> list[str]:
    """Identifiants des labs cités dans la section « Exercices » d'une page."""
    found: list[str] = []
    in_section = False
    fence: str | None = None
    for line in markdown.splitlines():
        stripped = line.lstrip()
        m_fence = re.match(r"(`{3,}|~{3,})", stripped)
        if fence:
            if m_fence and m_fence.group(1)[0] == fence[0] and len(m_fence.group(1)) >= len(fence):
                fence = None
            continue
        if m_fence:
            fence = m_fence.group(1)
            continue
        m = RE_H2.match(line)
        if m:
            in_section = m.group("title").strip().lower().startswith("exercice")
            continue
        if in_section:
            for link in RE_LAB_LINK.finditer(line):
                if link.group("id") not in found:
                    found.append(link.group("id"))
    return found


RE_MANIFEST = re.compile(r"^apiVersion\s*:", re.M)
NOT_MANIFESTS = {"expect.yaml", "expect.yml"}  # attentes des tests (alternatives, mutants)


def is_manifest(path: Path) -> bool:
    """Un manifeste Kubernetes : un fichier YAML qui déclare au moins un ``apiVersion``."""
    if path.name in NOT_MANIFESTS or path.suffix not in YAML_SUFFIXES:
        return False
    try:
        return bool(RE_MANIFEST.search(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError):
        return False


def yaml_files(folder: Path) -> list[Path]:
    """Les manifestes d'un dossier de lab (récursivement), dans un ordre stable."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.rglob("*") if p.is_file() and is_manifest(p)]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _fence_for(path: Path) -> str:
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        content = ""
    longest = max((len(m) for m in re.findall(r"`{3,}", content)), default=0)
    return "`" * max(3, longest + 1)


def include_block(path: Path, root: Path, label: str, indent: str = "") -> str:
    """Bloc de code qui **inclut** le fichier (pymdownx.snippets), sans le recopier ici."""
    fence = _fence_for(path)
    rel = path.relative_to(root).as_posix()
    lines = [f'{fence} yaml title="{label}"', f'--8<-- "{rel}"', fence]
    return "\n".join(indent + line for line in lines)


def strip_first_h1(markdown: str) -> str:
    """Retire le premier titre de niveau 1 de l'énoncé (la page a le sien)."""
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if re.match(r"#\s", line):
            del lines[i]
        break
    return "\n".join(lines).strip("\n")


def strip_section(markdown: str, title_prefix: str) -> str:
    """Retire une section de niveau 2 (titre commençant par ``title_prefix``) hors code."""
    out: list[str] = []
    skipping = False
    fence: str | None = None
    for line in markdown.splitlines():
        stripped = line.lstrip()
        m_fence = re.match(r"(`{3,}|~{3,})", stripped)
        if fence:
            if m_fence and m_fence.group(1)[0] == fence[0] and len(m_fence.group(1)) >= len(fence):
                fence = None
            if not skipping:
                out.append(line)
            continue
        if m_fence:
            fence = m_fence.group(1)
        m = RE_H2.match(line) if not m_fence else None
        if m:
            skipping = m.group("title").strip().lower().startswith(title_prefix.lower())
        if not skipping:
            out.append(line)
    return "\n".join(out).rstrip("\n")


def strip_solution_blocks(markdown: str) -> str:
    """Remplace chaque bloc ``??? success`` (et son contenu indenté) par un avertissement."""
    out: list[str] = []
    lines = markdown.splitlines()
    i = 0
    in_fence: str | None = None
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        fence = re.match(r"(`{3,}|~{3,})", stripped)
        if in_fence:
            if fence and fence.group(1)[0] == in_fence[0] and len(fence.group(1)) >= len(in_fence):
                in_fence = None
            out.append(line)
            i += 1
            continue
        if fence:
            in_fence = fence.group(1)
            out.append(line)
            i += 1
            continue
        m = RE_SOLUTION_BLOCK.match(line)
        if not m:
            out.append(line)
            i += 1
            continue
        indent = m.group("indent")
        base = len(indent.expandtabs(4))
        i += 1
        # Le contenu du bloc : lignes vides ou plus indentées que l'ouverture.
        while i < len(lines):
            nxt = lines[i].expandtabs(4)
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= base:
                break
            i += 1
        out.append(f'{indent}!!! info "Solution masquée"')
        out.append(f"{indent}    Les solutions ne sont pas publiées dans cette version du cours.")
        out.append("")
    return "\n".join(out) + ("\n" if markdown.endswith("\n") else "")


# ------------------------------------------------------------------------- le barème


def _import_catalog(root: Path) -> Any:
    try:
        from kubelab import catalog  # type: ignore[import-not-found]
    except ImportError:
        graders = str(root / "graders")
        if graders not in sys.path:
            sys.path.insert(0, graders)
        from kubelab import catalog  # type: ignore[import-not-found]
    return catalog


def catalog_checks(lab_id: str, root: Path) -> list[dict[str, Any]] | None:
    """Les vérifications du lab selon ``kubelab.catalog``, ou None pour un lab en préparation.

    Un lab marqué ``work_in_progress: true`` n'a pas encore de correcteur : sa page montre le
    barème de lab.yaml. Tout autre échec du catalogue (correcteur absent ou en désaccord avec
    lab.yaml) arrête la construction en nommant le lab : une page ne ment jamais en silence.
    """
    catalog = _import_catalog(root)
    try:
        lab = catalog.load_lab(lab_id)
    except catalog.WorkInProgress:
        log.info("lab %s : en préparation, barème pris dans lab.yaml", lab_id)
        return None
    except Exception as exc:  # the catalog's own French message, and the build stops
        raise PluginError(f"lab {lab_id} : {getattr(exc, 'message', exc)}") from exc
    return [
        {
            "id": str(check.id),
            "title": str(check.title or ""),
            "points": check.points,
            "category": str(check.category or ""),
            "hidden": bool(check.hidden),
        }
        for check in lab.checks
    ]


def yaml_checks(raw: Any) -> list[dict[str, Any]]:
    """Les vérifications déclarées dans lab.yaml : ``{id: points}`` ou liste de dictionnaires."""
    checks: list[dict[str, Any]] = []
    if isinstance(raw, dict):
        for check_id, value in raw.items():
            if isinstance(value, dict):
                checks.append({"id": str(check_id), **value})
            else:
                checks.append({"id": str(check_id), "points": value})
    elif isinstance(raw, list):
        checks = [dict(c) for c in raw if isinstance(c, dict)]
    return checks


def _points(check: dict[str, Any]) -> float:
    try:
        return float(check.get("points", 0) or 0)
    except (TypeError, ValueError):
        return 0.0


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}".replace(".", ",")


def scoring_table(checks: list[dict[str, Any]], source: str) -> str:
    if not checks:
        return (
            "Le barème de ce lab sera publié avec son correcteur. La commande de correction "
            "affiche de toute façon chaque vérification et son résultat."
        )
    visible = [c for c in checks if not c.get("hidden")]
    hidden = [c for c in checks if c.get("hidden")]
    total = sum(_points(c) for c in checks)
    has_titles = any(c.get("title") for c in visible)
    if has_titles:
        rows = ["| Vérification | Ce qui est vérifié | Catégorie | Points |", "|---|---|---|---:|"]
        for c in visible:
            title = _cell(french_typography(str(c.get("title") or "")))
            category = _cell(str(c.get("category") or ""))
            rows.append(f"| `{c.get('id', '?')}` | {title} | {category} | {_fmt(_points(c))} |")

        def row(text: str, points: str) -> str:
            return f"| | {text} | | {points} |"
    else:
        rows = ["| Vérification | Points |", "|---|---:|"]
        for c in visible:
            rows.append(f"| `{c.get('id', '?')}` | {_fmt(_points(c))} |")

        def row(text: str, points: str) -> str:
            return f"| {text} | {points} |"
    if hidden:
        label = "vérification cachée" if len(hidden) == 1 else "vérifications cachées"
        detail = "détaillée à la correction" if len(hidden) == 1 else "détaillées à la correction"
        rows.append(row(f"*{len(hidden)} {label}, {detail}*", _fmt(sum(_points(c) for c in hidden))))
    rows.append(row("**Total**", f"**{_fmt(total)}**"))
    count = f"{len(checks)}{NBSP}vérification" + ("s" if len(checks) > 1 else "")
    intro = f"Le lab compte {count} pour un total de {_fmt(total)}{NBSP}points."
    if source == "lab.yaml":
        intro += " Les intitulés détaillés s'afficheront ici dès que le correcteur du lab sera publié."
    return intro + "\n\n" + "\n".join(rows)


# ----------------------------------------------------------------- contenu des pages


def _chapter_link(files: Files, uri: str) -> str:
    return f"[{source_title(files.get_file_from_path(uri))}](../{uri})"


def solution_section(lab: dict[str, Any], root: Path) -> str:
    lab_dir: Path = lab["dir"]
    parts = ["## Solution de référence\n"]
    if hide_solutions():
        parts.append(
            '!!! info "Solution masquée"\n'
            "    Les solutions ne sont pas publiées dans cette version du cours.\n"
        )
        return "\n".join(parts)
    solution = yaml_files(lab_dir / "solution")
    alternatives_root = lab_dir / "alternatives"
    alternatives = {
        d.name: yaml_files(d)
        for d in sorted(alternatives_root.iterdir() if alternatives_root.is_dir() else [])
        if d.is_dir() and yaml_files(d)
    }
    if not solution:
        parts.append(
            '!!! note "Solution à venir"\n'
            "    La solution de référence de ce lab n'est pas encore publiée. En attendant, la "
            "correction automatique vous dit précisément ce qui manque.\n"
        )
        return "\n".join(parts)
    parts.append(
        "Essayez d'abord par vous-même : la correction automatique vous dit ce qui manque. "
        f"Les manifestes ci-dessous sont inclus depuis `labs/{lab['id']}/solution/`, ceux-là mêmes "
        "que les tests du projet appliquent.\n"
    )
    block = ['??? success "Solution"', ""]
    if alternatives:
        block.append("    Plusieurs écritures obtiennent la note maximale : la solution de référence "
                     "et des variantes.")
        block.append("")
        block.append('    === "Référence"')
        block.append("")
        for path in solution:
            block.append(include_block(path, root, path.relative_to(lab_dir).as_posix(), " " * 8))
            block.append("")
        for name, paths in alternatives.items():
            block.append(f'    === "Variante {name}"')
            block.append("")
            for path in paths:
                block.append(include_block(path, root, path.relative_to(lab_dir).as_posix(), " " * 8))
                block.append("")
    else:
        for path in solution:
            block.append(include_block(path, root, path.relative_to(lab_dir).as_posix(), " " * 4))
            block.append("")
    parts.append("\n".join(block))
    return "\n".join(parts)


def build_lab_page(
    lab: dict[str, Any],
    root: Path,
    files: Files,
    chapters: list[str],
    checks: list[dict[str, Any]],
    checks_source: str,
    notebook_uri: str | None,
) -> str:
    lab_id = lab["id"]
    lab_dir: Path = lab["dir"]
    notebook_path = f"notebooks/source/{lab_id}/{lab_id}.ipynb"
    parts: list[str] = [f"# {lab_page_title(lab)}\n"]

    meta = ["| | |", "|---|---|", f"| Identifiant | `{lab_id}` |"]
    if lab["namespace"]:
        meta.append(f"| Namespace | `{lab['namespace']}` |")
    if chapters:
        meta.append(f"| Chapitre | {_chapter_link(files, chapters[0])} |")
    if len(chapters) > 1:
        others = ", ".join(_chapter_link(files, uri) for uri in chapters[1:])
        meta.append(f"| Voir aussi | {others} |")
    nb_cell = f"`{notebook_path}`"
    if notebook_uri:
        nb_cell += f" ([télécharger](../{notebook_uri}))"
    meta.append(f"| Notebook | {nb_cell} |")
    meta.append(f"| Correction | `kubelab grade {lab_id}` |")
    parts.append('<div class="kubelab-lab-meta" markdown>\n\n' + "\n".join(meta) + "\n\n</div>\n")

    readme = lab_dir / "README.md"
    if readme.is_file():
        statement = strip_first_h1(readme.read_text(encoding="utf-8"))
        parts.append(strip_section(statement, "Faire corriger") + "\n")
    else:
        parts.append('!!! note "Énoncé à venir"\n    L\'énoncé de ce lab n\'est pas encore rédigé.\n')

    starter = yaml_files(lab_dir / "starter")
    if starter:
        parts.append("## Fichiers de départ\n")
        parts.append(
            f"`kubelab lab setup {lab_id}` applique ces manifestes pour vous. Ils sont inclus "
            f"ici depuis `labs/{lab_id}/starter/`, tels que le dépôt les contient.\n"
        )
        parts.extend(include_block(p, root, p.relative_to(lab_dir).as_posix()) + "\n" for p in starter)

    parts.append(solution_section(lab, root))
    parts.append("## Barème\n")
    parts.append(scoring_table(checks, checks_source) + "\n")

    parts.append("## Faire corriger son travail\n")
    parts.append(
        '=== "Terminal"\n\n'
        "    ```bash\n"
        f"    kubelab grade {lab_id}\n"
        "    ```\n\n"
        "    La commande affiche chaque vérification, les points obtenus et, en cas d'échec, "
        "ce qui a été observé dans le cluster. Relancez-la autant de fois que nécessaire.\n\n"
        '=== "Notebook"\n\n'
        f"    Le notebook du lab se trouve dans le dépôt sous `{notebook_path}`. Ouvrez-le dans "
        "JupyterLab, exécutez les cellules dans l'ordre puis cliquez sur le bouton "
        f"«{NBSP}Vérifier{NBSP}»{NBSP}: il lance la même correction que `kubelab grade`.\n\n"
        "    ```bash\n"
        f"    jupyter lab {notebook_path}\n"
        "    ```\n"
    )
    return "\n".join(parts)


def labs_table(labs: list[dict[str, Any]], files: Files) -> str:
    rows = ["| Lab | Titre | Namespace | Chapitre | Correction |", "|---|---|---|---|---|"]
    for lab in labs:
        num = lab_number(lab["id"]) or lab["id"]
        chapters = lab.get("chapters") or []
        chapter_cell = _chapter_link(files, chapters[0]) if chapters else ""
        namespace = f"`{lab['namespace']}`" if lab["namespace"] else ""
        rows.append(
            f"| {num} | [{_cell(french_typography(lab['title']))}]({lab['id']}.md) | "
            f"{namespace} | {chapter_cell} | `kubelab grade {lab['id']}` |"
        )
    return "\n".join(rows)


# ------------------------------------------------------------------------ hooks MkDocs

_state: dict[str, Any] = {"labs": []}


def on_config(config: Any) -> Any:
    root = labs_root(config)
    labs = [load_lab_metadata(d) for d in discover_labs(root)]
    _state["labs"] = labs

    # Les inclusions de manifestes sont résolues depuis le dossier des labs, quel que soit le
    # répertoire courant de la construction.
    snippets = config.mdx_configs.setdefault("pymdownx.snippets", {})
    snippets["base_path"] = [str(root), str(repo_root(config))]
    snippets["check_paths"] = True

    nav = config.nav
    if not nav:
        return config
    for entry in nav:
        if isinstance(entry, dict) and NAV_SECTION in entry:
            section = entry[NAV_SECTION]
            if not isinstance(section, list):
                section = [section]
                entry[NAV_SECTION] = section
            present = set(nav_order(section))
            for lab in labs:
                uri = f"labs/{lab['id']}.md"
                if uri not in present:
                    section.append({lab_nav_title(lab): uri})
            break
    return config


def on_files(files: Files, config: Any) -> Files:
    root = labs_root(config)
    repo = repo_root(config)
    labs: list[dict[str, Any]] = _state["labs"]

    # Quels chapitres renvoient vers quel lab (section « Exercices »), dans l'ordre du menu.
    order = {uri: n for n, uri in enumerate(nav_order(config.nav))}
    pages = sorted(
        (f for f in files.documentation_pages() if not f.src_uri.startswith("labs/")),
        key=lambda f: (order.get(f.src_uri, len(order)), f.src_uri),
    )
    cited: dict[str, list[str]] = {}
    for page in pages:
        try:
            text = page.content_string
        except (OSError, UnicodeDecodeError):
            continue
        for lab_id in exercise_links(text):
            cited.setdefault(lab_id, []).append(page.src_uri)

    for lab in labs:
        lab_id = lab["id"]
        uri = f"labs/{lab_id}.md"
        existing = files.get_file_from_path(uri)
        if existing is not None:
            log.warning("course/%s est remplacé par la page générée du lab %s", uri, lab_id)
            files.remove(existing)

        chapters = list(cited.get(lab_id, []))
        declared = lab["chapter"]
        if declared and files.get_file_from_path(declared) is not None:
            chapters = [declared] + [c for c in chapters if c != declared]
        elif declared:
            log.info("lab %s : le chapitre %r de lab.yaml n'existe pas dans le cours", lab_id, declared)
        lab["chapters"] = chapters

        notebook = repo / "notebooks" / "source" / lab_id / f"{lab_id}.ipynb"
        notebook_uri = None
        if notebook.is_file():
            notebook_uri = f"notebooks/{lab_id}.ipynb"
            files.append(File.generated(config, notebook_uri, abs_src_path=str(notebook)))

        checks = catalog_checks(lab_id, repo)
        source = "catalog"
        if checks is None:
            checks, source = yaml_checks(lab["raw_checks"]), "lab.yaml"

        content = build_lab_page(lab, root, files, chapters, checks, source, notebook_uri)
        files.append(File.generated(config, uri, content=content))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if LABS_TABLE_MARKER in markdown:
        markdown = markdown.replace(LABS_TABLE_MARKER, labs_table(_state["labs"], files))
    if hide_solutions():
        markdown = strip_solution_blocks(markdown)
    return markdown
