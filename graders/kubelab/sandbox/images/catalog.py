"""The image catalog: what each locally built image is published as, holds and runs.

The catalog is data (``data/catalog.yaml`` and the files it names under ``data/files``); this
module reads it into frozen dataclasses and checks it, with French errors naming the field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubelab.errors import UsageError
from kubelab.sandbox.images import references

DATA_DIR = Path(__file__).resolve().parent / "data"
CATALOG_FILE = DATA_DIR / "catalog.yaml"
FILES_DIR = DATA_DIR / "files"
SUITES = ("bookworm", "trixie")
# libyaml's loader when PyYAML has it: the catalog is read on every warm call.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class PackageSpec:
    """A Debian package whose files go into the image: all of them, or those matching ``include``."""

    name: str
    suite: str
    include: tuple[str, ...] = ("**",)
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileSpec:
    """A file kubelab adds, copied from ``data/files/<source>``."""

    path: str
    source: str
    mode: int = 0o644
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True)
class DirectorySpec:
    path: str
    mode: int = 0o755
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True)
class EditSpec:
    """A regular-expression substitution (multi-line) applied to a file of the image."""

    path: str
    pattern: str
    replacement: str


@dataclass(frozen=True)
class BinarySpec:
    """An executable the caller supplies under ``key``, stored at ``path`` (mode 0755)."""

    key: str
    path: str
    file_capabilities: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageConfig:
    """The OCI configuration; ``{version:PACKAGE}`` in ``env`` becomes the resolved Debian version."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    user: str = ""
    env: tuple[str, ...] = ()
    workdir: str = ""
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    stop_signal: str = ""


@dataclass(frozen=True)
class ImageSpec:
    name: str
    title: str
    references: tuple[str, ...]
    config: ImageConfig
    differences: tuple[str, ...]
    suite: str = "trixie"
    packages: tuple[PackageSpec, ...] = ()
    skip_dependencies: tuple[str, ...] = ()
    busybox_applets: bool = False
    binaries: tuple[BinarySpec, ...] = ()
    optional: bool = False
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    files: tuple[FileSpec, ...] = ()
    symlinks: tuple[tuple[str, str], ...] = ()
    directories: tuple[DirectorySpec, ...] = ()
    edits: tuple[EditSpec, ...] = ()

    @property
    def canonical_references(self) -> tuple[str, ...]:
        return tuple(str(references.parse(ref)) for ref in self.references)

    def fingerprint(self) -> str:
        """sha256 of everything that shapes the image: this spec and the content of its files."""
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode())
        for spec in self.files:
            digest.update(spec.source.encode() + b"\0" + (FILES_DIR / spec.source).read_bytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class Catalog:
    images: tuple[ImageSpec, ...] = field(default_factory=tuple)

    def image(self, name: str) -> ImageSpec:
        for spec in self.images:
            if spec.name == name:
                return spec
        raise UsageError(f"Image inconnue dans le catalogue : « {name} ».")


def load_catalog(path: Path = CATALOG_FILE) -> Catalog:
    """Read and check the catalog; a malformed entry raises ``UsageError`` naming it."""
    try:
        raw = yaml.load(path.read_text(), Loader=_SAFE_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"Catalogue d'images illisible ({path}) : {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("images"), list):
        raise UsageError(f"Catalogue d'images {path} : la clé « images » (une liste) manque.")
    images = tuple(_checked_image(entry, f"{path.name}, images[{index}]") for index, entry in enumerate(raw["images"]))
    seen: dict[str, str] = {}
    for spec in images:
        for ref in spec.canonical_references:
            if ref in seen:
                raise UsageError(f"Catalogue d'images : « {ref} » est publiée par « {seen[ref]} » et « {spec.name} ».")
            seen[ref] = spec.name
    return Catalog(images=images)


def _checked_image(entry: Any, where: str) -> ImageSpec:
    try:
        return _image(entry, where)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"Catalogue d'images ({where}) : entrée malformée ({exc!r}).") from exc


def _image(entry: Any, where: str) -> ImageSpec:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise UsageError(f"Catalogue d'images ({where}) : chaque image a un « name ».")
    where = f"{where} « {entry['name']} »"
    known = {
        "name", "title", "references", "suite", "packages", "skip_dependencies", "busybox_applets", "binaries",
        "optional", "users", "groups", "files", "symlinks", "directories", "edits", "config", "differences",
    }
    unknown = sorted(set(entry) - known)
    if unknown:
        raise UsageError(f"Catalogue d'images ({where}) : champ inconnu « {unknown[0]} ».")
    suite = entry.get("suite", "trixie")
    if suite not in SUITES:
        raise UsageError(f"Catalogue d'images ({where}, suite) : « {suite} » n'est pas une de {', '.join(SUITES)}.")
    refs = tuple(_strings(entry.get("references"), f"{where}, references"))
    if not refs:
        raise UsageError(f"Catalogue d'images ({where}, references) : au moins une référence est attendue.")
    for ref in refs:
        try:
            references.parse(ref)
        except ValueError as exc:
            raise UsageError(f"Catalogue d'images ({where}, references) : {exc}.") from exc
    files = tuple(
        FileSpec(
            path=_relative(item["path"], f"{where}, files"),
            source=item["source"],
            mode=_mode(item.get("mode", "0644"), f"{where}, files"),
            uid=int(item.get("uid", 0)),
            gid=int(item.get("gid", 0)),
        )
        for item in entry.get("files", [])
    )
    for spec in files:
        if not (FILES_DIR / spec.source).is_file():
            raise UsageError(f"Catalogue d'images ({where}, files) : le fichier {FILES_DIR / spec.source} manque.")
    packages = tuple(
        PackageSpec(
            name=item["name"],
            suite=item.get("suite", suite),
            include=tuple(item.get("include", ("**",))),
            exclude=tuple(item.get("exclude", ())),
        )
        for item in entry.get("packages", [])
    )
    return ImageSpec(
        name=entry["name"],
        title=str(entry.get("title", entry["name"])),
        references=refs,
        suite=suite,
        packages=packages,
        skip_dependencies=tuple(_strings(entry.get("skip_dependencies", []), f"{where}, skip_dependencies")),
        busybox_applets=bool(entry.get("busybox_applets", False)),
        binaries=tuple(
            BinarySpec(
                key=item["key"],
                path=_relative(item["path"], f"{where}, binaries"),
                file_capabilities=tuple(item.get("file_capabilities", ())),
            )
            for item in entry.get("binaries", [])
        ),
        optional=bool(entry.get("optional", False)),
        users=tuple(_strings(entry.get("users", []), f"{where}, users")),
        groups=tuple(_strings(entry.get("groups", []), f"{where}, groups")),
        files=files,
        symlinks=tuple(
            (_relative(path, f"{where}, symlinks"), str(target))
            for path, target in sorted(dict(entry.get("symlinks", {})).items())
        ),
        directories=tuple(
            DirectorySpec(
                path=_relative(item["path"], f"{where}, directories"),
                mode=_mode(item.get("mode", "0755"), f"{where}, directories"),
                uid=int(item.get("uid", 0)),
                gid=int(item.get("gid", 0)),
            )
            for item in entry.get("directories", [])
        ),
        edits=tuple(
            EditSpec(path=_relative(item["path"], f"{where}, edits"), pattern=item["pattern"],
                     replacement=item["replacement"])
            for item in entry.get("edits", [])
        ),
        config=_config(entry.get("config", {}), f"{where}, config"),
        differences=tuple(_strings(entry.get("differences"), f"{where}, differences")),
    )


def _config(raw: Any, where: str) -> ImageConfig:
    if not isinstance(raw, dict):
        raise UsageError(f"Catalogue d'images ({where}) : un dictionnaire est attendu.")
    known = {"entrypoint", "cmd", "user", "env", "workdir", "exposed_ports", "volumes", "stop_signal"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise UsageError(f"Catalogue d'images ({where}) : champ inconnu « {unknown[0]} ».")
    return ImageConfig(
        entrypoint=tuple(_strings(raw.get("entrypoint", []), f"{where}.entrypoint")),
        cmd=tuple(_strings(raw.get("cmd", []), f"{where}.cmd")),
        user=str(raw.get("user", "")),
        env=tuple(_strings(raw.get("env", []), f"{where}.env")),
        workdir=str(raw.get("workdir", "")),
        exposed_ports=tuple(_strings(raw.get("exposed_ports", []), f"{where}.exposed_ports")),
        volumes=tuple(_strings(raw.get("volumes", []), f"{where}.volumes")),
        stop_signal=str(raw.get("stop_signal", "")),
    )


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        raise UsageError(f"Catalogue d'images ({where}) : une liste de textes est attendue.")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UsageError(f"Catalogue d'images ({where}) : une liste de textes est attendue.")
    return value


def _relative(path: Any, where: str) -> str:
    text = str(path)
    if text.startswith("/") or ".." in text.split("/") or not text:
        raise UsageError(f"Catalogue d'images ({where}) : « {text} » doit être un chemin relatif à la racine.")
    return text


def _mode(value: Any, where: str) -> int:
    try:
        return int(str(value), 8)
    except ValueError as exc:
        raise UsageError(f"Catalogue d'images ({where}) : mode « {value} » invalide (octal attendu).") from exc
