"""Which exact Debian packages an image is made from.

The content packages the catalog names (plus ``busybox-static`` for the applets) and the
library packages they depend on, each with the version and digest the index gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from kubelab.sandbox.images.catalog import ImageSpec, PackageSpec
from kubelab.sandbox.images.debian_packages import PackageIndex, PackageRecord, library_closure

BUSYBOX = PackageSpec(name="busybox-static", suite="trixie", include=("usr/bin/busybox",))
Role = Literal["content", "library"]


@dataclass(frozen=True)
class PlannedPackage:
    suite: str
    role: Role
    record: PackageRecord
    spec: PackageSpec | None = None

    def pin(self) -> dict[str, str]:
        return {
            "name": self.record.name, "version": self.record.version, "suite": self.suite,
            "role": self.role, "sha256": self.record.sha256,
        }


def content_packages(spec: ImageSpec) -> tuple[PackageSpec, ...]:
    names = {package.name for package in spec.packages}
    if spec.busybox_applets and BUSYBOX.name not in names:
        return (*spec.packages, BUSYBOX)
    return spec.packages


def suites_needed(spec: ImageSpec) -> set[str]:
    return {package.suite for package in content_packages(spec)}


def plan_packages(spec: ImageSpec, indexes: Mapping[str, PackageIndex]) -> list[PlannedPackage]:
    """Content packages in catalog order, then their libraries per suite, sorted by name."""
    contents = content_packages(spec)
    planned = [
        PlannedPackage(suite=package.suite, role="content", record=indexes[package.suite].record(package.name),
                       spec=package)
        for package in contents
    ]
    taken = {(item.suite, item.record.name) for item in planned}
    for suite in sorted({package.suite for package in contents}):
        roots = [package.name for package in contents if package.suite == suite]
        for record in library_closure(indexes[suite], roots, skip=spec.skip_dependencies):
            if (suite, record.name) not in taken:
                planned.append(PlannedPackage(suite=suite, role="library", record=record))
    return planned
