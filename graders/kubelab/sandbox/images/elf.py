"""What an ELF executable or shared object asks the dynamic loader for.

Reads the program headers of a 64-bit little-endian ELF file (what Debian amd64 ships):
its interpreter, the sonames it needs, and its RPATH/RUNPATH. Statically linked files
need nothing; anything that is not ELF gives ``None``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
DT_NULL, DT_NEEDED, DT_STRTAB, DT_RPATH, DT_RUNPATH = 0, 1, 5, 15, 29


@dataclass(frozen=True)
class DynamicNeeds:
    interpreter: str
    needed: tuple[str, ...]
    search_paths: tuple[str, ...]


def is_elf(data: bytes) -> bool:
    return data[:4] == b"\x7fELF"


def dynamic_needs(data: bytes) -> DynamicNeeds | None:
    """The dynamic needs of an ELF64 LE file, or ``None`` when ``data`` is not one."""
    if not is_elf(data) or len(data) < 64 or data[4] != 2 or data[5] != 1:
        return None
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    loads: list[tuple[int, int, int]] = []
    dynamic: tuple[int, int] | None = None
    interpreter = ""
    for index in range(phnum):
        offset = phoff + index * phentsize
        if offset + 56 > len(data):
            return None
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", data, offset)
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
        elif p_type == PT_INTERP:
            interpreter = data[p_offset:p_offset + p_filesz].split(b"\0", 1)[0].decode()
    if dynamic is None:
        return DynamicNeeds(interpreter=interpreter, needed=(), search_paths=())
    entries: list[tuple[int, int]] = []
    start, size = dynamic
    for offset in range(start, min(start + size, len(data) - 15), 16):
        tag, value = struct.unpack_from("<qQ", data, offset)
        if tag == DT_NULL:
            break
        entries.append((tag, value))
    strtab_address = next((value for tag, value in entries if tag == DT_STRTAB), None)
    if strtab_address is None:
        return None
    strtab = _file_offset(strtab_address, loads)
    if strtab is None:
        return None

    def string(at: int) -> str:
        end = data.find(b"\0", strtab + at)
        return data[strtab + at:end].decode("utf-8", "replace")

    needed = tuple(string(value) for tag, value in entries if tag == DT_NEEDED)
    paths: list[str] = []
    for tag, value in entries:
        if tag in (DT_RPATH, DT_RUNPATH):
            paths += [path for path in string(value).split(":") if path]
    return DynamicNeeds(interpreter=interpreter, needed=needed, search_paths=tuple(paths))


def _file_offset(address: int, loads: list[tuple[int, int, int]]) -> int | None:
    for vaddr, offset, filesz in loads:
        if vaddr <= address < vaddr + filesz:
            return offset + address - vaddr
    return None
