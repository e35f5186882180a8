"""An image's root filesystem held in memory, written out as a reproducible tar layer.

Paths are relative to the root, without a leading slash. Symbolic links inside the tree are
followed when a path is looked up (``bin/sh`` finds ``usr/bin/sh`` once ``bin`` links to
``usr/bin``). The tar has sorted entries, parents first, mtime 0, numeric owners only.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

Kind = Literal["file", "dir", "symlink"]
MAX_LINKS = 40


@dataclass
class Entry:
    kind: Kind
    mode: int
    uid: int = 0
    gid: int = 0
    data: bytes = b""
    target: str = ""
    xattrs: dict[str, bytes] = field(default_factory=dict)


def clean(path: str) -> str:
    """``./usr//bin/`` as ``usr/bin``; the root is ``""``."""
    return posixpath.normpath("/" + path).lstrip("/")


class FileTree:
    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def __contains__(self, path: str) -> bool:
        return clean(path) in self.entries

    def get(self, path: str) -> Entry | None:
        return self.entries.get(clean(path))

    def add_dir(self, path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        path = self.parent_resolved(path)
        if not path:
            return
        self._ensure_parents(path)
        existing = self.entries.get(path)
        if existing is not None and existing.kind == "dir":
            existing.mode, existing.uid, existing.gid = mode, uid, gid
            return
        self.entries[path] = Entry(kind="dir", mode=mode, uid=uid, gid=gid)

    def add_file(
        self, path: str, data: bytes, mode: int = 0o644, uid: int = 0, gid: int = 0,
        xattrs: dict[str, bytes] | None = None,
    ) -> str:
        path = self.parent_resolved(path)
        self._ensure_parents(path)
        self.entries[path] = Entry(kind="file", mode=mode, uid=uid, gid=gid, data=data, xattrs=dict(xattrs or {}))
        return path

    def add_symlink(self, path: str, target: str, uid: int = 0, gid: int = 0) -> str:
        path = self.parent_resolved(path)
        self._ensure_parents(path)
        self.entries[path] = Entry(kind="symlink", mode=0o777, uid=uid, gid=gid, target=target)
        return path

    def put(self, path: str, entry: Entry) -> str:
        """Store a copy of ``entry`` at ``path`` (parents resolved and created)."""
        path = self.parent_resolved(path)
        self._ensure_parents(path)
        self.entries[path] = Entry(
            kind=entry.kind, mode=entry.mode, uid=entry.uid, gid=entry.gid, data=entry.data,
            target=entry.target, xattrs=dict(entry.xattrs),
        )
        return path

    def _ensure_parents(self, path: str) -> None:
        parent = posixpath.dirname(path)
        missing = []
        while parent and parent not in self.entries:
            missing.append(parent)
            parent = posixpath.dirname(parent)
        for folder in reversed(missing):
            self.entries[folder] = Entry(kind="dir", mode=0o755)

    def parent_resolved(self, path: str) -> str:
        """``path`` with its parent folders resolved through the tree's symlinks (not the last part)."""
        path = clean(path)
        if not path:
            return path
        parent, name = posixpath.split(path)
        resolved_parent = self.resolve(parent) if parent else ""
        return posixpath.join(resolved_parent, name) if resolved_parent else name

    def resolve(self, path: str) -> str:
        """``path`` with every symlink of the tree followed (the result may not exist)."""
        parts = clean(path).split("/") if clean(path) else []
        resolved: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            candidate = "/".join([*resolved, part])
            entry = self.entries.get(candidate)
            if entry is not None and entry.kind == "symlink":
                hops += 1
                if hops > MAX_LINKS:
                    return candidate
                base = "" if entry.target.startswith("/") else "/".join(resolved)
                target = clean(f"{base}/{entry.target}")
                parts = (target.split("/") if target else []) + parts
                resolved = []
                continue
            resolved.append(part)
        return "/".join(resolved)

    def lookup(self, path: str) -> tuple[str, Entry] | None:
        """The entry ``path`` finally designates, symlinks followed, with its real path."""
        real = self.resolve(path)
        entry = self.entries.get(real)
        return (real, entry) if entry is not None else None

    def files(self) -> Iterator[tuple[str, Entry]]:
        for path in sorted(self.entries):
            entry = self.entries[path]
            if entry.kind == "file":
                yield path, entry

    def size(self) -> int:
        return sum(len(entry.data) for entry in self.entries.values())

    def write_tar(self, out: BinaryIO) -> None:
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(self.entries, key=lambda item: item.split("/")):
                entry = self.entries[path]
                info = tarfile.TarInfo(path)
                info.mode = entry.mode
                info.uid, info.gid = entry.uid, entry.gid
                info.uname = info.gname = ""
                info.mtime = 0
                if entry.xattrs:
                    info.pax_headers = {
                        f"SCHILY.xattr.{name}": value.decode("utf-8", "surrogateescape")
                        for name, value in sorted(entry.xattrs.items())
                    }
                if entry.kind == "dir":
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif entry.kind == "symlink":
                    info.type = tarfile.SYMTYPE
                    info.linkname = entry.target
                    tar.addfile(info)
                else:
                    info.type = tarfile.REGTYPE
                    info.size = len(entry.data)
                    tar.addfile(info, io.BytesIO(entry.data))
