#!/usr/bin/env python3
"""Génère le notebook de chaque lab depuis le modèle unique ``template/lab.nb.j2``.

Pour chaque lab qui a un correcteur (``kubelab.catalog.available_labs()``), écrit
``source/<lab>/<lab>.ipynb`` : énoncé (``labs/<lab>/README.md``), lien vers le chapitre,
cellules de connexion, de préparation et de tableau de bord, une cellule de réponse par
fichier de ``labs/<lab>/solution/`` (la solution entre ``### BEGIN SOLUTION`` et
``### END SOLUTION``, que nbgrader remplace par « # VOTRE CODE ICI »), le bouton
« Vérifier », les questions de cours de ``labs/<lab>.yaml`` (ce dossier), la soumission et
une cellule de test verrouillée par vérification, avec ses points.

Un Secret de la solution devient ``lab.creer_secret(NOM, {CLÉ: ALEATOIRE, …})`` : aucune valeur
n'est écrite dans le notebook. Quand les valeurs sont le travail demandé (restaurer une
sauvegarde), ``secrets: yaml`` dans ``labs/<lab>.yaml`` garde les Secrets en YAML.

    .venv/bin/python notebooks/build_notebooks.py           # (ré)écrit les notebooks
    .venv/bin/python notebooks/build_notebooks.py --check   # échoue si un notebook n'est pas à jour

Un nouveau lab : écrire son correcteur, ajouter ``labs/<lab>.yaml`` ici (questions), relancer
ce script. Les tests (``tests/notebooks/test_build.py``) échouent si un notebook du dépôt
n'est pas celui que ce script produit.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import nbformat
import yaml

from kubelab import manifest_text
from kubelab.catalog import Lab, available_labs, load_lab
from kubelab.objects import SECRET_NAME
from kubelab.typography import french

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TEMPLATE = HERE / "template" / "lab.nb.j2"
QUESTIONS = HERE / "labs"
SOURCE = HERE / "source"
COURSE = REPO / "course"
MKDOCS = REPO / "mkdocs.yml"


Obj = dict[str, Any]
HEADER = re.compile(r"^%% (markdown|code)(?: (.*))?$")
CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ADMONITION = re.compile(r'^(?P<indent>\s*)(?:!!!|\?\?\?\+?) (?P<kind>\w+)(?: "(?P<title>[^"]*)")?\s*$')
ADMONITION_TITLES = {"note": "Remarque", "tip": "Indice", "warning": "Attention", "example": "Exercice",
                     "success": "Solution", "info": "Pour information", "danger": "Danger"}
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
NBGRADER_KINDS = {
    "readonly": {"grade": False, "locked": True, "solution": False},
    "solution": {"grade": False, "locked": False, "solution": True},
    "tests": {"grade": True, "locked": True, "solution": False},
}


class BuildError(Exception):
    """Un lab ne peut pas devenir un notebook (message en français)."""


# --- ce que le modèle reçoit -------------------------------------------------------------


@dataclass
class Part:
    """Une cellule de réponse : un fichier de la solution (ses Secrets, ou ses autres objets)."""

    file: str
    kind: str
    body: str
    starter: str | None
    heading: str
    grade_id: str
    variable: str = ""
    call: str = "appliquer"
    """``appliquer``, or ``modifier`` when the file changes an object of an earlier file (a later step of the
    statement, as ``kubectl set image``: see ``kubelab.lab_setup.apply_objects``)."""
    step: int | None = None
    """A step of the lab's preparation (``lab.preparer(etape=N)``) that runs just before this cell."""


@dataclass
class Question:
    id: str
    question: str
    choices: list[tuple[str, str]]
    answer: str
    explanation: str
    points: int = 1
    variable: str = ""
    letters: str = ""
    letters_text: str = ""
    explanation_literal: str = ""


@dataclass
class Context:
    lab: Lab
    number: str
    chapter: dict[str, str]
    statement: str
    has_setup: bool
    parts: list[Part]
    others: str
    questions: list[Question]
    checks: list[dict[str, Any]]
    secrets: bool = False
    quiz_points: int = 0
    hidden_count: int = 0
    claims: bool = False
    requirements: str = ""
    example: dict[str, str] = field(default_factory=dict)


def identifier(stem: str) -> str:
    """``allow-dns`` -> ``allow_dns`` (un nom de variable Python)."""
    name = re.sub(r"\W", "_", stem.lower())
    return f"m_{name}" if name[:1].isdigit() else name


def documents(text: str) -> list[str]:
    """Les documents YAML d'un fichier, en texte (commentaires compris)."""
    chunks = re.split(r"(?m)^---[ \t]*$", text)
    return [chunk.strip("\n") for chunk in chunks if chunk.strip()]


def _kind(document: str) -> str | None:
    try:
        data = yaml.safe_load(document)
    except yaml.YAMLError:
        return None
    return data.get("kind") if isinstance(data, dict) else None


def split_secrets(text: str) -> tuple[list[Obj], str]:
    """Les Secrets d'un fichier (objets) et le reste du fichier (texte YAML)."""
    secrets: list[Obj] = []
    others: list[str] = []
    for document in documents(text):
        if _kind(document) == "Secret":
            secrets.extend(manifest_text.parse(document, "un Secret de la solution"))
        else:
            others.append(document)
    return secrets, "\n---\n".join(others)


def secret_values(secret: Obj) -> dict[str, str]:
    values = {key: str(value) for key, value in (secret.get("stringData") or {}).items()}
    for key, value in (secret.get("data") or {}).items():
        values.setdefault(key, base64.b64decode(value).decode(errors="replace"))
    return values


def secret_call(secret: Obj) -> str:
    """``lab.creer_secret(...)`` : les clés qui ressemblent à un secret reçoivent ALEATOIRE."""
    name = secret["metadata"]["name"]
    lines = [f"lab.creer_secret({json.dumps(name)}, {{"]
    for key, value in secret_values(secret).items():
        literal = "ALEATOIRE" if SECRET_NAME.search(key) else json.dumps(value, ensure_ascii=False)
        lines.append(f"    {json.dumps(key)}: {literal},")
    kind = secret.get("type") or "Opaque"
    lines.append("}" + (f", type={json.dumps(kind)})" if kind != "Opaque" else ")"))
    return "\n".join(lines)


def secrets_code(text: str) -> str:
    return "\n".join(secret_call(secret) for secret in split_secrets(text)[0])


def describe(text: str) -> str:
    """« StatefulSet `postgres` » ou « NetworkPolicy `a`, NetworkPolicy `b` »."""
    objects = manifest_text.parse(text, "la solution")
    return ", ".join(f"{o['kind']} `{o['metadata']['name']}`" for o in objects)


def _check_literal(body: str, where: str) -> None:
    if '"""' in body:
        raise BuildError(f"{where} contient « \"\"\" » : impossible de le placer dans une chaîne Python.")
    if "\\" in body:
        raise BuildError(f"{where} contient une barre oblique inverse : écrivez le YAML sans « \\ ».")
    if "BEGIN SOLUTION" in body or "END SOLUTION" in body or "HIDDEN TESTS" in body:
        raise BuildError(f"{where} contient un marqueur nbgrader (BEGIN/END SOLUTION, HIDDEN TESTS).")


def answer_parts(lab: Lab) -> tuple[list[Part], str]:
    """Les cellules de réponse (ordre : Secrets d'abord, puis ``ordre`` du fichier de questions)."""
    solution = {p.name: p for p in sorted((lab.folder / "solution").glob("*.yaml"))}
    starter = {p.name: p for p in sorted((lab.folder / "starter").glob("*.yaml"))}
    config = _notebook_config(lab)
    order = list(config.get("ordre") or [])
    secrets_as_yaml = config.get("secrets") == "yaml"
    names = sorted(solution, key=lambda n: (order.index(n) if n in order else len(order), n))
    steps = {str(file): int(step) for step, file in (config.get("etapes") or {}).items()}
    parts: list[Part] = []
    applied: set[tuple[str, str, str]] = set()
    for name in names:
        objects = manifest_text.parse(solution[name].read_text(encoding="utf-8"), f"« {solution[name]} »")
        identities = {(o.get("apiVersion", ""), o.get("kind", ""), (o.get("metadata") or {}).get("name", ""))
                      for o in objects}
        call = "modifier" if identities and identities <= applied else "appliquer"
        applied |= identities
        first_part = len(parts)
        text = _own_namespace(solution[name].read_text(encoding="utf-8"), lab)
        secrets, rest = ([], text) if secrets_as_yaml else split_secrets(text)
        start = _own_namespace(starter[name].read_text(encoding="utf-8"), lab).strip("\n") if name in starter else None
        stem = Path(name).stem
        if secrets:
            start_secrets = secrets_code(start) if start else None
            parts.append(Part(name, "secret", "\n".join(secret_call(s) for s in secrets), start_secrets or None,
                              f"`{name}` : " + ", ".join(f"le Secret `{s['metadata']['name']}`" for s in secrets),
                              f"secret-{stem}"))
        if rest.strip():
            start_rest = (start if secrets_as_yaml else split_secrets(start)[1]) if start else None
            _check_literal(rest, f"« {solution[name]} »")
            if start_rest is not None:
                _check_literal(start_rest, f"« {starter[name]} »")
            parts.append(Part(name, "manifeste", rest, start_rest if start_rest else None,
                              f"`{name}` : {describe(rest)}", f"manifeste-{stem}", identifier(stem), call))
        if name in steps and len(parts) > first_part:
            parts[first_part].step = steps[name]
    others = "\n---\n".join(p.read_text(encoding="utf-8").strip("\n") for n, p in starter.items() if n not in solution)
    _check_literal(others, "le point de départ")
    return parts, others


def _own_namespace(text: str, lab: Lab) -> str:
    """Le jeton ``__NAMESPACE__`` des manifestes devient le namespace du lab, que l'apprenant lit."""
    return text.replace(manifest_text.NAMESPACE_PLACEHOLDER, lab.namespace)


def _notebook_config(lab: Lab) -> dict[str, Any]:
    path = QUESTIONS / f"{lab.id}.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise BuildError(f"« {path} » devrait décrire « questions » et, en option, « ordre ».")
    return data


def questions(lab: Lab) -> list[Question]:
    """Les questions de cours du lab (``labs/<lab>.yaml``), vérifiées."""
    path = QUESTIONS / f"{lab.id}.yaml"
    found: list[Question] = []
    for raw in _notebook_config(lab).get("questions") or []:
        choices = [(str(letter), str(text)) for letter, text in (raw.get("choix") or {}).items()]
        letters = "".join(letter for letter, _ in choices)
        question = Question(str(raw["id"]), str(raw["question"]), choices, str(raw["reponse"]).upper(),
                            str(raw.get("explication", "")), int(raw.get("points", 1)))
        if not re.fullmatch(r"[a-z0-9-]+", question.id):
            raise BuildError(f"« {path} » : l'id de question « {question.id} » devrait être en minuscules et tirets.")
        if question.answer not in letters or len(letters) < 2 or any(len(letter) != 1 for letter in letters):
            raise BuildError(f"« {path} » : la question « {question.id} » devrait avoir des choix d'une lettre "
                             f"et une réponse parmi eux (réponse : {question.answer}, choix : {letters}).")
        question.variable = "reponse_" + identifier(question.id)
        question.letters = letters
        question.letters_text = ", ".join(letters[:-1]) + f" ou {letters[-1]}"
        question.explanation_literal = string_lines(question.explanation, indent=4)
        found.append(question)
    return found


def string_lines(text: str, indent: int, width: int = 100) -> str:
    """``text`` as adjacent Python string literals, one per line, cut after spaces."""
    lines, current = [], ""
    for word in re.split(r"(?<= )", text):
        if current and len(json.dumps(current + word, ensure_ascii=False)) > width - indent:
            lines.append(current)
            current = ""
        current += word
    lines.append(current)
    return "\n".join(" " * indent + json.dumps(line, ensure_ascii=False) for line in lines)


def site_url() -> str | None:
    """Le ``site_url`` de ``mkdocs.yml`` (l'adresse publiée du cours), s'il est défini."""
    for line in MKDOCS.read_text(encoding="utf-8").splitlines():
        if line.startswith("site_url:"):
            return line.split(":", 1)[1].strip().strip("\"'") or None
    return None


def page_path(page: str) -> str:
    """La page que MkDocs construit pour un fichier (``use_directory_urls``) : ``microk8s/stockage/``."""
    stem = page[: -len(".md")]
    if stem == "index" or stem.endswith("/index"):
        return stem[: -len("index")]
    return stem + "/"


def chapter(lab: Lab, course_url: str | None) -> dict[str, str]:
    """Titre et lien du chapitre : la page publiée sous ``course_url`` (ou le ``site_url`` de mkdocs.yml),
    sinon la page du site construit par « mkdocs build » (``site/``), relative au notebook."""
    page = lab.chapter or "index.md"
    path = COURSE / page
    title = page
    if path.is_file():
        heading = next((line[2:].strip() for line in path.read_text(encoding="utf-8").splitlines()
                        if line.startswith("# ")), "")
        title = heading or page
    base = course_url or site_url()
    if base:
        link = base.rstrip("/") + "/" + page_path(page)
    else:
        link = f"../../../site/{page_path(page)}index.html"
    return {"title": title, "link": link, "page": page}


def statement(lab: Lab) -> str:
    """L'énoncé (``README.md`` sans son titre), admonitions MkDocs changées en citations."""
    lines = (lab.folder / "README.md").read_text(encoding="utf-8").splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    out: list[str] = []
    index = 0
    while index < len(lines):
        match = ADMONITION.match(lines[index])
        if not match:
            out.append(lines[index])
            index += 1
            continue
        indent = match.group("indent")
        title = match.group("title") or ADMONITION_TITLES.get(match.group("kind"), match.group("kind").capitalize())
        out.append(f"{indent}> **{title}**")
        out.append(f"{indent}>")
        index += 1
        while index < len(lines) and (not lines[index].strip() or lines[index].startswith(indent + "    ")):
            body = lines[index][len(indent) + 4:] if lines[index].strip() else ""
            out.append(f"{indent}> {body}".rstrip())
            index += 1
        while out and out[-1].strip() == f"{indent}>".strip():
            out.pop()
        out.append("")
    return "\n".join(out).strip("\n")


def requirements_text(lab: Lab) -> str:
    """« les addons `dns` et `hostpath-storage` », « 3 nœuds »… : ce que le lab demande, en français."""
    needs = lab.requires
    parts = []
    if needs.addons:
        names = [f"`{addon}`" for addon in needs.addons]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]
        parts.append(("l'addon " if len(names) == 1 else "les addons ") + listed)
    if needs.nodes > 1:
        parts.append(f"{needs.nodes} nœuds prêts")
    if needs.data_plane:
        parts.append("un vrai plan de données pour les sondes en direct, facultatif")
    return " ; ".join(parts)


def example_object(lab: Lab) -> dict[str, str]:
    """Un objet de la solution du lab (ni Secret ni Namespace), pour l'exemple de ``lab.supprimer``."""
    from kubelab.lab_setup import variant_objects

    for obj in variant_objects(lab, "solution"):
        if obj["kind"] not in ("Secret", "Namespace"):
            return {"kind": obj["kind"], "name": obj["metadata"]["name"]}
    return {"kind": "ConfigMap", "name": "exemple"}


def context(lab: Lab, course_url: str | None = None) -> Context:
    parts, others = answer_parts(lab)
    asked = questions(lab)
    hidden_index = 0
    checks = []
    for check in lab.checks:
        hidden_index += check.hidden
        checks.append({"id": check.id, "title": check.title, "points": check.points, "hidden": check.hidden,
                       "hidden_index": hidden_index})
    return Context(
        lab=lab, number=lab.id.split("-")[0], chapter=chapter(lab, course_url), statement=statement(lab),
        has_setup=(lab.folder / "setup").is_dir(), parts=parts, others=others, questions=asked, checks=checks,
        secrets=any(p.kind == "secret" for p in parts), quiz_points=sum(q.points for q in asked),
        hidden_count=sum(c.hidden for c in lab.checks), claims=lab.reads_kind("PersistentVolumeClaim"),
        requirements=requirements_text(lab), example=example_object(lab),
    )


# --- du texte du modèle aux cellules ---------------------------------------------------------


def render_template(ctx: Context) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE.parent), trim_blocks=True,
                                     lstrip_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return environment.get_template(TEMPLATE.name).render(**vars(ctx))


def parse_cells(text: str) -> list[nbformat.NotebookNode]:
    """Découpe le texte rendu en cellules, d'après les lignes ``%% TYPE clé=valeur…``."""
    cells: list[nbformat.NotebookNode] = []
    current: tuple[str, dict[str, str]] | None = None
    body: list[str] = []

    def close() -> None:
        if current is None:
            return
        kind, attributes = current
        source = "\n".join(body).strip("\n")
        cells.append(make_cell(kind, source, attributes, len(cells)))

    for line in text.splitlines():
        header = HEADER.match(line)
        if header:
            close()
            attributes = dict(item.split("=", 1) for item in (header.group(2) or "").split())
            current, body = (header.group(1), attributes), []
        elif current is not None:
            body.append(line)
        elif line.strip():
            raise BuildError(f"Texte hors cellule dans le modèle : « {line} ».")
    close()
    return cells


def french_markdown(text: str) -> str:
    """Espaces insécables de la typographie française, hors blocs et segments de code."""
    pieces = re.split(r"(```.*?```|`[^`\n]*`)", text, flags=re.S)
    return "".join(piece if piece.startswith("`") else french(piece) for piece in pieces)


def french_comments(source: str) -> str:
    """La typographie française dans les commentaires Python (pas dans les chaînes ni les marqueurs)."""
    lines = []
    in_string = False
    for line in source.split("\n"):
        stripped = line.strip()
        if not in_string and stripped.startswith("#") and "SOLUTION" not in line and "HIDDEN TESTS" not in line:
            line = french(line)
        elif not in_string and "  # " in line:
            code, comment = line.split("  # ", 1)
            line = f"{code}  # {french(comment)}"
        if line.count('"""') % 2:
            in_string = not in_string
        lines.append(line)
    return "\n".join(lines)


def make_cell(kind: str, source: str, attributes: dict[str, str], index: int) -> nbformat.NotebookNode:
    attributes = dict(attributes)
    cell_id = attributes.pop("id", f"cellule-{index}")
    if not CELL_ID.match(cell_id):
        raise BuildError(f"Identifiant de cellule invalide : « {cell_id} ».")
    metadata: dict[str, Any] = {}
    role = attributes.pop("nbgrader", None)
    points = attributes.pop("points", None)
    if role is not None:
        metadata["nbgrader"] = {**NBGRADER_KINDS[role], "grade_id": cell_id, "schema_version": 3, "task": False}
        if role == "tests":
            metadata["nbgrader"]["points"] = int(points or 0)
    if attributes:
        metadata["kubelab"] = attributes
    if kind == "markdown":
        cell = nbformat.v4.new_markdown_cell(french_markdown(source), metadata=metadata)
    else:
        cell = nbformat.v4.new_code_cell(french_comments(source), metadata=metadata)
    cell["id"] = cell_id
    return cell


def build(lab: Lab, course_url: str | None = None) -> nbformat.NotebookNode:
    """Le notebook source (avec solutions) d'un lab."""
    notebook = nbformat.v4.new_notebook()
    ctx = context(lab, course_url)
    notebook.cells = parse_cells(render_template(ctx))
    _title_test_cells(notebook, ctx)
    ids = [cell["id"] for cell in notebook.cells]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise BuildError(f"Identifiants de cellule en double pour {lab.id} : {', '.join(duplicates)}.")
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"},
                         "kubelab": {"lab": lab.id, "points": lab.max_points}}
    nbformat.validate(notebook)
    return notebook


def _title_test_cells(notebook: nbformat.NotebookNode, ctx: Context) -> None:
    """Le titre de chaque cellule de test (``metadata.kubelab.title``), qui nomme sa section dans le retour
    de nbgrader ; une vérification cachée n'y dit pas ce qu'elle vérifie."""
    checks = {check["id"]: check for check in ctx.checks}
    numbers = {question.id: index for index, question in enumerate(ctx.questions, start=1)}
    for cell in notebook.cells:
        meta = cell.metadata.get("kubelab") or {}
        if meta.get("role") == "verification":
            check = checks[meta["check"]]
            title = f"Vérification cachée n°{check['hidden_index']}" if check["hidden"] else check["title"]
            meta["title"] = french(title)
        elif meta.get("role") == "quiz":
            meta["title"] = french(f"Question {numbers[meta['question']]}")


def text_of(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def notebook_path(lab_id: str, root: Path = SOURCE) -> Path:
    return root / lab_id / f"{lab_id}.ipynb"


# --- remplir un notebook comme le ferait un apprenant (tests, mesures) ---------------------------


def variant_answers(lab: Lab, variant: str) -> dict[str, str]:
    """Les réponses d'un apprenant qui aurait écrit la variante (``solution``, ``mutants/x``…) :
    id de cellule -> source de la cellule."""
    from kubelab.lab_setup import variant_files

    files = {path.name: path.read_text(encoding="utf-8") for path in variant_files(lab, variant)}
    parts, _ = answer_parts(lab)
    secrets_as_yaml = _notebook_config(lab).get("secrets") == "yaml"
    answers: dict[str, str] = {}
    claimed = set()
    for part in parts:
        text = files.get(part.file, "")
        claimed.add(part.file)
        if part.kind == "secret":
            answers[part.grade_id] = secrets_code(text) or "# (pas de Secret)"
        else:
            body = (text if secrets_as_yaml else split_secrets(text)[1]) if text else ""
            answers[part.grade_id] = f'{part.variable} = """\n{body}\n"""\nlab.{part.call}({part.variable})'
    others = "\n---\n".join(t.strip("\n") for name, t in files.items() if name not in claimed)
    answers["autres"] = f'autres = """\n{others}\n"""\nlab.appliquer(autres)'
    return answers


def fill(notebook: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """Remplace le source des cellules nommées dans ``answers`` (par id de cellule)."""
    for cell in notebook.cells:
        if cell.get("id") in answers:
            cell.source = answers[cell["id"]]
    return notebook


def quiz_answers(lab: Lab, right: bool | dict[str, str] = True) -> dict[str, str]:
    """Les cellules de réponse aux questions : toutes justes, toutes vides, ou au choix."""
    found = {}
    for question in questions(lab):
        if isinstance(right, dict):
            letter = right.get(question.id, "")
        else:
            letter = question.answer if right else ""
        found[f"reponse-{question.id}"] = f'{question.variable} = "{letter}"'
    return found


# --- ligne de commande -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Génère les notebooks des labs depuis template/lab.nb.j2.")
    parser.add_argument("labs", nargs="*", help="labs à générer (défaut : tous ceux qui ont un correcteur)")
    parser.add_argument("--check", action="store_true", help="ne rien écrire ; échouer si un notebook n'est pas à jour")
    parser.add_argument("--course-url", help="adresse du site du cours publié (défaut : site_url de mkdocs.yml, "
                                             "sinon la page du site construit par « mkdocs build », dans site/)")
    args = parser.parse_args(argv)
    labs = [load_lab(lab_id) for lab_id in args.labs] if args.labs else available_labs()
    stale = []
    for lab in labs:
        try:
            expected = text_of(build(lab, args.course_url))
        except BuildError as exc:
            print(f"✗ {lab.id} : {exc}", file=sys.stderr)
            return 2
        path = notebook_path(lab.id)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == expected:
            print(f"  {lab.id} : à jour")
            continue
        if args.check:
            stale.append(lab.id)
            print(f"✗ {lab.id} : {path.relative_to(REPO)} n'est pas à jour", file=sys.stderr)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(expected, encoding="utf-8")
        if not questions(lab):
            print(f"  ⚠ {lab.id} : aucune question de cours (ajoutez notebooks/labs/{lab.id}.yaml)")
        print(f"✓ {lab.id} : {path.relative_to(REPO)} écrit")
    if stale:
        print("Relancez : .venv/bin/python notebooks/build_notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
