"""A Debian ``Packages`` index and the library dependencies of a set of packages.

Pure logic, no network: parsing the index text and walking ``Depends``/``Pre-Depends``.
Only library packages (section ``libs`` or ``lib*``) are followed: the image takes the files it needs from them
(the shared objects its executables load), never a maintainer script or a whole userland.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from kubelab.errors import InfrastructureError


@dataclass(frozen=True)
class PackageRecord:
    """One stanza of the index: what is needed to fetch, verify and follow the package."""

    name: str
    version: str
    filename: str
    sha256: str
    size: int
    depends: tuple[tuple[str, ...], ...]
    provides: tuple[str, ...]
    section: str = ""

    @property
    def is_library(self) -> bool:
        """A shared-library package: section ``libs`` (``zlib1g`` is one) or a ``lib*`` name."""
        return self.section.split("/")[-1] in ("libs", "oldlibs") or self.name.startswith("lib")


class PackageIndex:
    """The stanzas of one suite's index by package name, each parsed when first asked for."""

    def __init__(self, suite: str, stanzas: dict[str, str], providers: dict[str, tuple[str, ...]]) -> None:
        self.suite = suite
        self.stanzas = stanzas
        self.providers = providers
        self._parsed: dict[str, PackageRecord] = {}

    def record(self, name: str) -> PackageRecord:
        found = self.find(name)
        if found is None:
            raise InfrastructureError(f"Le paquet Debian « {name} » est introuvable dans {self.suite}.")
        return found

    def find(self, name: str) -> PackageRecord | None:
        """The real package ``name``, or the first one providing it."""
        if name not in self.stanzas:
            providers = self.providers.get(name, ())
            if not providers:
                return None
            name = providers[0]
        if name not in self._parsed:
            self._parsed[name] = _record(self.stanzas[name])
        return self._parsed[name]


_FIELD = re.compile(r"^([A-Za-z0-9-]+):[ \t]*(.*)$")


def parse_index(text: str, suite: str) -> PackageIndex:
    """Index a ``Packages`` file (amd64 and all); when a name appears twice, the later stanza wins."""
    stanzas: dict[str, str] = {}
    providers: dict[str, list[str]] = {}
    for stanza in text.split("\n\n"):
        stanza = stanza.strip("\n")
        if not stanza.startswith("Package: "):
            continue
        name = stanza[9:stanza.find("\n")].strip()
        if "\nArchitecture: amd64" not in stanza and "\nArchitecture: all" not in stanza:
            continue
        stanzas[name] = stanza
        at = stanza.find("\nProvides: ")
        if at >= 0:
            line = stanza[at + 11:stanza.find("\n", at + 1) if stanza.find("\n", at + 1) >= 0 else None]
            for virtual in _relations(line):
                providers.setdefault(virtual[0], []).append(name)
    return PackageIndex(suite, stanzas, {virtual: tuple(sorted(names)) for virtual, names in providers.items()})


def _record(stanza: str) -> PackageRecord:
    fields: dict[str, str] = {}
    for line in stanza.splitlines():
        match = _FIELD.match(line)
        if match:
            fields[match.group(1)] = match.group(2)
    return PackageRecord(
        name=fields["Package"],
        version=fields["Version"],
        filename=fields["Filename"],
        sha256=fields["SHA256"],
        size=int(fields["Size"]),
        depends=_relations(fields.get("Pre-Depends", "")) + _relations(fields.get("Depends", "")),
        provides=tuple(alternative[0] for alternative in _relations(fields.get("Provides", ""))),
        section=fields.get("Section", ""),
    )


def _relations(text: str) -> tuple[tuple[str, ...], ...]:
    """``a (>= 1) | b, c:any`` as ``(("a", "b"), ("c",))``: names only, versions dropped."""
    groups = []
    for group in text.split(","):
        names = tuple(
            alternative.strip().split(" ")[0].split("(")[0].split(":")[0]
            for alternative in group.split("|")
            if alternative.strip()
        )
        if names:
            groups.append(names)
    return tuple(groups)


def library_closure(index: PackageIndex, roots: Iterable[str], skip: Iterable[str] = ()) -> list[PackageRecord]:
    """The library packages the ``roots`` depend on, directly or not, sorted by name.

    For ``a | b`` the first alternative present in the index is taken; packages in ``skip``
    and non-library packages are not followed.
    """
    skipped = set(skip)
    seen: dict[str, PackageRecord] = {}
    pending = [index.record(name) for name in roots]
    while pending:
        record = pending.pop()
        for alternatives in record.depends:
            chosen = next((found for name in alternatives if (found := index.find(name)) is not None), None)
            if chosen is None or chosen.name in skipped or not chosen.is_library or chosen.name in seen:
                continue
            seen[chosen.name] = chosen
            pending.append(chosen)
    return [seen[name] for name in sorted(seen)]
