"""The manifests of the course: every ```yaml block of its pages and lab statements, and the
lab files that the lab pages include, cut into YAML documents that know their page and line.

``blocks()`` finds the blocks; ``Catalog`` reads ``manifests/catalog.yaml``, the list of blocks
that are not applied (fragments, files of other tools) and of kinds whose CRD the sandbox does
not carry, each with its reason; ``classify()`` sorts every document into one of: applied by a
server dry run, checked by an extra kube-apiserver (configuration files), listed, or a problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CATALOG = Path(__file__).with_name("manifests") / "catalog.yaml"
CRD_DIR = Path(__file__).with_name("manifests") / "crds"
NAMESPACE_PLACEHOLDER = "__NAMESPACE__"

RE_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
# kube-apiserver reads these files at start-up; they are not API objects.
APISERVER_CONFIG_KINDS = {
    ("apiserver.config.k8s.io/v1", "EncryptionConfiguration"): "--encryption-provider-config",
    ("audit.k8s.io/v1", "Policy"): "--audit-policy-file",
}

Obj = dict[str, Any]
LEVELS = ("privileged", "baseline", "restricted")


@dataclass(frozen=True)
class Block:
    """One YAML block as a reader sees it: on ``page``, its text starting at ``line`` of ``source``."""

    page: str
    source: str
    line: int
    text: str
    namespace: str = "default"
    """Where its namespaced objects without a namespace go: ``default``, or the lab's namespace."""

    @property
    def where(self) -> str:
        return located(self, self.line)


@dataclass(frozen=True)
class Document:
    """One YAML document of a block; ``line`` is where it starts in the block's source."""

    block: Block
    line: int
    obj: Any

    @property
    def where(self) -> str:
        return located(self.block, self.line)

    @property
    def label(self) -> str:
        obj = self.obj if isinstance(self.obj, dict) else {}
        meta = obj.get("metadata") or {}
        return f"{obj.get('kind', '?')} « {meta.get('name', '?')} »"


def located(block: Block, line: int) -> str:
    """``page:line``, or ``page (file:line)`` for a lab file that the page includes."""
    if block.source == block.page:
        return f"{block.page}:{line}"
    return f"{block.page} ({block.source}:{line})"


def fenced_yaml_blocks(path: Path) -> list[Block]:
    """The ```yaml (or ~~~yaml) blocks of a Markdown file, indentation of their fence removed."""
    rel = path.relative_to(REPO).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = RE_FENCE_OPEN.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = opening.group("indent"), opening.group("fence")
        language = (opening.group("info").split() or [""])[0].lower().lstrip(".")
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = re.match(r"^[ \t]*(`{3,}|~{3,})[ \t]*$", lines[j])
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                break
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        if language in ("yaml", "yml"):
            found.append(Block(rel, rel, i + 2, "\n".join(body) + "\n"))
        i = j + 1
    return found


def lab_namespace(lab_dir: Path) -> str:
    data = yaml.safe_load((lab_dir / "lab.yaml").read_text(encoding="utf-8")) or {}
    return str(data.get("namespace") or "default")


def lab_file_blocks(lab_dir: Path) -> list[Block]:
    """The manifests that the lab's page includes: starter, solution and alternatives.

    ``__NAMESPACE__`` becomes the lab's namespace, as ``kubelab lab setup`` and the tests do.
    """
    namespace = lab_namespace(lab_dir)
    page = f"labs/{lab_dir.name}.md"
    found: list[Block] = []
    for folder in ("starter", "solution", "alternatives"):
        for path in sorted((lab_dir / folder).rglob("*.y*ml")):
            text = path.read_text(encoding="utf-8")
            if path.name.startswith("expect.") or not re.search(r"^apiVersion\s*:", text, re.M):
                continue
            found.append(Block(page, path.relative_to(REPO).as_posix(), 1,
                               text.replace(NAMESPACE_PLACEHOLDER, namespace), namespace))
    return found


def course_pages() -> list[Path]:
    pages = sorted(p for p in (REPO / "course").rglob("*.md") if "hooks" not in p.parts)
    return pages + sorted((REPO / "labs").glob("*/README.md"))


def blocks() -> list[Block]:
    """Every block of the course, in page order, then the lab files shown on the lab pages."""
    found = [block for page in course_pages() for block in fenced_yaml_blocks(page)]
    for lab_dir in sorted(p.parent for p in (REPO / "labs").glob("*/lab.yaml")):
        found.extend(lab_file_blocks(lab_dir))
    return found


def documents(block: Block) -> Iterator[Document]:
    """The block's documents with their first line; raises ``yaml.YAMLError`` when malformed."""
    loader = yaml.SafeLoader(block.text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            obj = loader.construct_document(node)
            if obj is not None:
                yield Document(block, block.line + node.start_mark.line, obj)
    finally:
        loader.dispose()


def expand_lists(docs: list[Document]) -> list[Document]:
    """A ``kind: List`` document stands for its items, as ``kubectl apply`` reads it."""
    out: list[Document] = []
    for doc in docs:
        if isinstance(doc.obj, dict) and doc.obj.get("kind") == "List":
            out.extend(Document(doc.block, doc.line, item) for item in doc.obj.get("items") or [])
        else:
            out.append(doc)
    return out


# ------------------------------------------------------------------------------ the catalog


@dataclass(frozen=True)
class Listed:
    """A block that is not applied, and why; ``contains`` identifies it on its page."""

    page: str
    contains: str
    reason: str
    category: str
    over: str = ""
    """For a patch: the file of the object it is applied over."""


@dataclass(frozen=True)
class ExpectedWarning:
    """A warning the API server must give for a file on purpose (a lab's broken starter…)."""

    source: str
    kind: str
    warning: str
    reason: str


@dataclass
class Catalog:
    listed: list[Listed]
    uninstalled: dict[tuple[str, str], str]
    """(apiVersion, kind) of the CRDs the sandbox does not carry -> reason."""
    expected_warnings: list[ExpectedWarning] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path = CATALOG) -> Catalog:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        listed = [Listed(e["page"], e["contains"], e["reason"], category, e.get("over", ""))
                  for category in ("fragments", "not_manifests", "patches") for e in data.get(category) or []]
        uninstalled = {(e["apiVersion"], e["kind"]): e["reason"] for e in data.get("uninstalled_kinds") or []}
        expected = [ExpectedWarning(e["source"], e["kind"], e["warning"], e["reason"])
                    for e in data.get("expected_warnings") or []]
        return cls(listed, uninstalled, expected)

    def expected_for(self, doc: Document) -> ExpectedWarning | None:
        kind = doc.obj.get("kind") if isinstance(doc.obj, dict) else None
        return next((e for e in self.expected_warnings if e.source == doc.block.source and e.kind == kind), None)

    def entry_for(self, block: Block) -> Listed | None:
        for entry in self.listed:
            if entry.page in (block.page, block.source) and entry.contains in block.text:
                return entry
        return None


# --------------------------------------------------------------------------- classification


@dataclass
class Sorted:
    """Where each document of the course goes."""

    applied: list[Document] = field(default_factory=list)
    apiserver_config: list[Document] = field(default_factory=list)
    listed: list[tuple[Block, Listed]] = field(default_factory=list)
    uninstalled: list[tuple[Document, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unused_entries: list[Listed] = field(default_factory=list)
    patches: list[Patch] = field(default_factory=list)


@dataclass(frozen=True)
class Patch:
    """A partial object a lab applies over a complete one (a later step, as ``kubectl set image``
    would): checked over its ``base``, under a field manager of its own."""

    doc: Document
    base: Document
    reason: str


def classify(all_blocks: list[Block], catalog: Catalog) -> Sorted:
    result = Sorted()
    used: set[int] = set()
    pending: list[tuple[Block, Listed]] = []
    for block in all_blocks:
        entry = catalog.entry_for(block)
        if entry is not None and entry.category == "patches":
            used.add(id(entry))
            pending.append((block, entry))
            continue
        if entry is not None:
            used.add(id(entry))
            result.listed.append((block, entry))
            continue
        try:
            docs = list(documents(block))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = located(block, block.line + mark.line if mark else block.line)
            result.problems.append(f"{where} : YAML invalide ({getattr(exc, 'problem', exc)}).")
            continue
        if not docs:
            result.problems.append(f"{block.where} : bloc YAML vide.")
        for doc in expand_lists(docs):
            obj = doc.obj
            if not (isinstance(obj, dict) and obj.get("apiVersion") and obj.get("kind")):
                result.problems.append(
                    f"{doc.where} : ni un manifeste complet (apiVersion, kind) ni un bloc répertorié dans "
                    f"{CATALOG.relative_to(REPO)} (fragments ou not_manifests, avec une raison).")
                continue
            key = (obj["apiVersion"], obj["kind"])
            if key in APISERVER_CONFIG_KINDS:
                result.apiserver_config.append(doc)
            elif key in catalog.uninstalled:
                result.uninstalled.append((doc, catalog.uninstalled[key]))
            elif not (obj.get("metadata") or {}).get("name"):
                result.problems.append(f"{doc.where} : {obj['kind']} sans metadata.name.")
            else:
                result.applied.append(doc)
    for block, entry in pending:
        for doc in documents(block):
            key = (doc.obj.get("apiVersion"), doc.obj.get("kind"), (doc.obj.get("metadata") or {}).get("name"))
            base = next((d for d in result.applied if d.block.source == entry.over
                         and (d.obj["apiVersion"], d.obj["kind"], d.obj["metadata"]["name"]) == key), None)
            if base is None:
                result.problems.append(f"{doc.where} : répertorié comme correctif de {entry.over}, "
                                       f"qui ne contient pas {key[1]} « {key[2]} ».")
            else:
                result.patches.append(Patch(doc, base, entry.reason))
    result.unused_entries = [e for e in catalog.listed if id(e) not in used]
    return result


# ------------------------------------------------------------------------- namespaces


def namespace_labels(docs: list[Document]) -> dict[str, dict[str, str]]:
    """Each namespace the course uses, with the labels its Namespace manifests give it.

    When two pages label the same namespace, the labels add up; for a Pod Security mode, the
    strictest level wins. ``warn`` is raised to the ``enforce`` level (see the module's doc).
    """
    labels: dict[str, dict[str, str]] = {}
    for doc in docs:
        obj = doc.obj
        if obj["kind"] == "Namespace" and obj["apiVersion"] == "v1":
            merged = labels.setdefault(obj["metadata"]["name"], {})
            for key, value in ((obj["metadata"].get("labels")) or {}).items():
                value = str(value)
                if key.startswith("pod-security.kubernetes.io/") and value in LEVELS and merged.get(key) in LEVELS:
                    value = max(value, merged[key], key=LEVELS.index)
                merged[key] = value
        else:
            labels.setdefault(target_namespace(doc), {})
    for values in labels.values():
        enforce = values.get("pod-security.kubernetes.io/enforce")
        if enforce in LEVELS and LEVELS.index(enforce) > LEVELS.index(values.get("pod-security.kubernetes.io/warn",
                                                                                      "privileged")):
            values["pod-security.kubernetes.io/warn"] = enforce
            if "pod-security.kubernetes.io/enforce-version" in values:
                values["pod-security.kubernetes.io/warn-version"] = values["pod-security.kubernetes.io/enforce-version"]
    labels.pop("", None)
    return labels


CLUSTER_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass", "IngressClass", "PersistentVolume",
                 "ClusterIssuer", "GatewayClass", "VolumeSnapshotClass", "CustomResourceDefinition", "PriorityClass"}


def target_namespace(doc: Document) -> str:
    """The namespace the object goes to: its own, or the block's default (cluster kinds: none)."""
    if doc.obj["kind"] in CLUSTER_KINDS:
        return ""
    return (doc.obj.get("metadata") or {}).get("namespace") or doc.block.namespace


def prepared(doc: Document) -> Obj:
    obj = json.loads(json.dumps(doc.obj))
    namespace = target_namespace(doc)
    if namespace:
        obj.setdefault("metadata", {})["namespace"] = namespace
    return obj
