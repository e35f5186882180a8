"""Assemble an image's root filesystem from its catalog entry.

The content packages' selected files, BusyBox's applet links, the files, folders, links and
accounts the catalog adds, the caller's binaries, then every shared library the ELF files
need, taken from the library packages (only those files, not the whole packages).
"""

from __future__ import annotations

import posixpath
import re
import struct
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from kubelab.errors import InfrastructureError, UsageError
from kubelab.sandbox.images import elf
from kubelab.sandbox.images.catalog import FILES_DIR, ImageSpec, PackageSpec
from kubelab.sandbox.images.deb_contents import read_deb
from kubelab.sandbox.images.filetree import Entry, FileTree
from kubelab.sandbox.images.package_plan import PlannedPackage

LIBRARY_DIRS = ("usr/lib/x86_64-linux-gnu", "usr/lib", "usr/lib64", "usr/local/lib")
MERGED_LINKS = {"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"}
BASE_DIRS = {
    "dev": 0o755, "etc": 0o755, "proc": 0o555, "sys": 0o555, "run": 0o755, "tmp": 0o1777,
    "usr/bin": 0o755, "usr/sbin": 0o755, "usr/lib": 0o755, "usr/lib64": 0o755, "usr/local/bin": 0o755,
    "var/cache": 0o755, "var/lib": 0o755, "var/log": 0o755, "var/tmp": 0o1777,
}
NEVER_KEPT = (
    "usr/share/doc/**", "usr/share/man/**", "usr/share/info/**", "usr/share/lintian/**", "usr/share/locale/**",
    "usr/share/bug/**", "usr/share/bash-completion/**", "usr/share/menu/**", "etc/init.d/**",
    "usr/lib/systemd/**", "etc/logrotate.d/**",
)
CAPABILITY_BITS = {
    "cap_chown": 0, "cap_dac_override": 1, "cap_setgid": 6, "cap_setuid": 7, "cap_net_bind_service": 10,
    "cap_net_admin": 12, "cap_net_raw": 13,
}
# glibc loads libgcc_s at run time (thread cancellation, backtraces): no DT_NEEDED names it.
DLOPENED_WITH_LIBC = ("libgcc_s.so.1",)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """``**`` matches across folders, ``*`` and ``?`` within one path component."""
    out = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    return re.compile("^" + "".join(out) + "$")


def _matches(path: str, patterns: tuple[str, ...]) -> bool:
    return any(glob_regex(pattern).match(path) for pattern in patterns)


def assemble(
    spec: ImageSpec, planned: list[PlannedPackage], debs: Mapping[str, Path], binaries: Mapping[str, Path]
) -> FileTree:
    """The root filesystem of ``spec``; ``debs`` maps each planned package's sha256 to its file."""
    image = FileTree()
    if planned:
        for link, target in MERGED_LINKS.items():
            image.add_symlink(link, target)
        for folder, mode in BASE_DIRS.items():
            image.add_dir(folder, mode)
    pool = FileTree()
    for link, target in MERGED_LINKS.items():
        pool.add_symlink(link, target)
    for item in planned:
        tree = read_deb(debs[item.record.sha256])
        if item.role == "library" or item.spec is None:
            for path, entry in tree.entries.items():
                if entry.kind != "dir" and path not in pool.entries:
                    pool.put(path, entry)
            continue
        _copy_selected(tree, image, item.spec)
    _add_binaries(spec, image, binaries)
    if spec.busybox_applets:
        _add_applet_links(image)
    _add_catalog_entries(spec, image)
    _add_needed_libraries(image, pool, spec.name)
    return image


def _copy_selected(tree: FileTree, image: FileTree, package: PackageSpec) -> None:
    kept = 0
    for path in sorted(tree.entries, key=lambda item: item.split("/")):
        entry = tree.entries[path]
        if _matches(path, NEVER_KEPT) or _matches(path, package.exclude) or not _matches(path, package.include):
            continue
        if entry.kind == "dir":
            image.add_dir(path, entry.mode, entry.uid, entry.gid)
            continue
        image.put(path, entry)
        kept += 1
    if kept == 0:
        raise UsageError(
            f"Catalogue d'images : aucun fichier du paquet « {package.name} » ne correspond à "
            f"{', '.join(package.include)}."
        )


def _add_applet_links(image: FileTree) -> None:
    found = image.lookup("usr/bin/busybox")
    if found is None:
        raise UsageError("Catalogue d'images : busybox_applets demande /usr/bin/busybox dans l'image.")
    with tempfile.TemporaryDirectory(prefix="kubelab-busybox-") as folder:
        program = Path(folder) / "busybox"
        program.write_bytes(found[1].data)
        program.chmod(0o755)
        result = subprocess.run([str(program), "--list-full"], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise InfrastructureError(f"busybox --list-full a échoué : {result.stderr.strip()}")
    for line in sorted(result.stdout.split()):
        if image.lookup(line) is None and image.get(image.parent_resolved(line)) is None:
            image.add_symlink(line, "/usr/bin/busybox")


def _add_catalog_entries(spec: ImageSpec, image: FileTree) -> None:
    if spec.users:
        image.add_file("etc/passwd", ("\n".join(spec.users) + "\n").encode())
    if spec.groups:
        image.add_file("etc/group", ("\n".join(spec.groups) + "\n").encode())
    for folder in spec.directories:
        image.add_dir(folder.path, folder.mode, folder.uid, folder.gid)
    for path, target in spec.symlinks:
        image.add_symlink(path, target)
    for item in spec.files:
        image.add_file(item.path, (FILES_DIR / item.source).read_bytes(), item.mode, item.uid, item.gid)
    for edit in spec.edits:
        found = image.lookup(edit.path)
        if found is None:
            raise UsageError(f"Catalogue d'images « {spec.name} », edits : {edit.path} n'est pas dans l'image.")
        real, entry = found
        text, count = re.subn(edit.pattern, edit.replacement, entry.data.decode(), flags=re.M)
        if count == 0:
            raise UsageError(
                f"Catalogue d'images « {spec.name} », edits : le motif « {edit.pattern} » ne trouve rien dans "
                f"{edit.path}."
            )
        entry.data = text.encode()


def file_capabilities(names: tuple[str, ...]) -> bytes:
    """The ``security.capability`` xattr (VFS revision 2, effective) granting ``names``."""
    permitted = 0
    for name in names:
        if name not in CAPABILITY_BITS:
            raise UsageError(f"Catalogue d'images : capacité inconnue « {name} ».")
        permitted |= 1 << CAPABILITY_BITS[name]
    return struct.pack("<IIIII", 0x02000001, permitted & 0xFFFFFFFF, 0, permitted >> 32, 0)


def _add_binaries(spec: ImageSpec, image: FileTree, binaries: Mapping[str, Path]) -> None:
    for binary in spec.binaries:
        source = Path(binaries[binary.key])
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise UsageError(f"Le binaire « {binary.key} » ({source}) est illisible : {exc}.") from exc
        xattrs = {"security.capability": file_capabilities(binary.file_capabilities)} if binary.file_capabilities \
            else {}
        image.add_file(binary.path, data, 0o755, xattrs=xattrs)


def _add_needed_libraries(image: FileTree, pool: FileTree, name: str) -> None:
    """Copy from ``pool`` every shared object the image's ELF files need, transitively."""
    pending = [path for path, entry in image.files() if elf.is_elf(entry.data)]
    done: set[str] = set()
    missing: list[str] = []
    while pending:
        path = pending.pop()
        if path in done:
            continue
        done.add(path)
        entry = image.entries[path]
        needs = elf.dynamic_needs(entry.data)
        if needs is None:
            continue
        wanted: list[tuple[str, tuple[str, ...]]] = []
        if needs.interpreter:
            wanted.append((needs.interpreter.lstrip("/"), ("",)))
        origin = posixpath.dirname(path)
        dirs = tuple(p.replace("$ORIGIN", "/" + origin).lstrip("/") for p in needs.search_paths) + LIBRARY_DIRS
        extra = DLOPENED_WITH_LIBC if "libc.so.6" in needs.needed else ()
        wanted += [(soname, dirs) for soname in (*needs.needed, *extra)]
        for soname, search in wanted:
            real = _find_library(image, pool, soname, search)
            if real is None:
                missing.append(f"{soname} (pour /{path})")
            elif real not in done:
                pending.append(real)
    if missing:
        raise InfrastructureError(
            f"Image « {name} » : bibliothèques introuvables dans les paquets Debian : "
            f"{', '.join(sorted(set(missing)))}."
        )


def _find_library(image: FileTree, pool: FileTree, soname: str, dirs: tuple[str, ...]) -> str | None:
    for folder in dirs:
        candidate = posixpath.join(folder, soname) if folder else soname
        found = image.lookup(candidate)
        if found is not None and found[1].kind == "file":
            return found[0]
        if pool.lookup(candidate) is not None:
            return _copy_from_pool(pool, image, candidate)
    return None


def _copy_from_pool(pool: FileTree, image: FileTree, path: str) -> str:
    """Copy ``path`` and every link on its way to the real file; the image path of the file."""
    for _ in range(40):
        real_parent = pool.parent_resolved(path)
        entry: Entry | None = pool.entries.get(real_parent)
        if entry is None:
            break
        if entry.kind != "symlink":
            return image.put(real_parent, entry)
        image.put(real_parent, entry)
        base = "" if entry.target.startswith("/") else posixpath.dirname(real_parent)
        path = posixpath.normpath(f"/{base}/{entry.target}").lstrip("/")
    raise InfrastructureError(f"Lien symbolique sans fin ou cassé dans les paquets Debian : /{path}.")
