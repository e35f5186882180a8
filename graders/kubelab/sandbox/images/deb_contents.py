"""The files of a ``.deb``, read with ``dpkg-deb`` into a :class:`FileTree`.

Paths are moved under ``/usr`` as on a merged-``/usr`` system (``/lib/x`` becomes
``/usr/lib/x``) so that bookworm and trixie packages land in the same places; hard links
become copies; device files are skipped.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from kubelab.errors import InfrastructureError
from kubelab.sandbox.images.filetree import Entry, FileTree, clean

MERGED_DIRS = ("bin", "sbin", "lib", "lib64", "lib32", "libx32")


def merged_usr(path: str) -> str:
    path = clean(path)
    first = path.split("/", 1)[0]
    return f"usr/{path}" if first in MERGED_DIRS else path


def read_deb(deb: Path) -> FileTree:
    result = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, timeout=600)
    if result.returncode != 0:
        raise InfrastructureError(
            f"Lecture impossible du paquet {deb} : {result.stderr.decode(errors='replace').strip()}"
        )
    tree = FileTree()
    hardlinks: list[tuple[str, str]] = []
    with tarfile.open(fileobj=io.BytesIO(result.stdout), mode="r:") as tar:
        for member in tar:
            path = merged_usr(member.name)
            if not path:
                continue
            if member.isdir():
                tree.entries[path] = Entry(kind="dir", mode=member.mode, uid=member.uid, gid=member.gid)
            elif member.issym():
                target = member.linkname
                if target.startswith("/"):
                    target = "/" + merged_usr(target)
                tree.entries[path] = Entry(kind="symlink", mode=0o777, target=target, uid=member.uid, gid=member.gid)
            elif member.islnk():
                hardlinks.append((path, merged_usr(member.linkname)))
            elif member.isfile():
                extracted = tar.extractfile(member)
                data = extracted.read() if extracted is not None else b""
                tree.entries[path] = Entry(kind="file", mode=member.mode, data=data, uid=member.uid,
                                           gid=member.gid)
    for path, source in hardlinks:
        original = tree.entries.get(source)
        if original is not None:
            tree.put(path, original)
    return tree
