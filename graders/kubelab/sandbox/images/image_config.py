"""The OCI image configuration and annotations of a catalog entry, stand-in labels included.

Every image says what it is: ``io.kubelab.stand-in``, what is really inside (Debian packages
and versions, or the caller's binaries with their sha256) and how it differs from the image
published under the same name. ``crictl inspecti`` and ``ctr images`` show these labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kubelab.errors import UsageError
from kubelab.sandbox.images.catalog import ImageSpec
from kubelab.sandbox.images.package_plan import PlannedPackage

STAND_IN = "io.kubelab.stand-in"
INSIDE = "io.kubelab.inside"
DIFFERENCES = "io.kubelab.differences"
_VERSION = re.compile(r"\{version:([a-z0-9.+-]+)\}")


def inside(spec: ImageSpec, planned: list[PlannedPackage], binary_digests: Mapping[str, str]) -> str:
    """« postgresql-17 17.12-0+deb13u1 (Debian trixie), … » for the content packages and binaries."""
    parts = [
        f"{item.record.name} {item.record.version} (Debian {item.suite})" for item in planned if item.role == "content"
    ]
    parts += [f"{binary.key} (sha256 {binary_digests[binary.key][:12]}…)" for binary in spec.binaries]
    return ", ".join(parts)


def _expand(text: str, versions: Mapping[str, str], name: str) -> str:
    def version(match: re.Match[str]) -> str:
        package = match.group(1)
        if package not in versions:
            raise UsageError(
                f"Catalogue d'images « {name} » : {{version:{package}}} ne désigne aucun paquet de l'image."
            )
        return versions[package]

    return _VERSION.sub(version, text)


def build_config(
    spec: ImageSpec, planned: list[PlannedPackage], binary_digests: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The config document (without ``rootfs``) and the manifest annotations."""
    versions = {item.record.name: item.record.version for item in planned}
    labels = {
        STAND_IN: "true",
        INSIDE: inside(spec, planned, binary_digests),
        DIFFERENCES: " ".join(spec.differences),
        "org.opencontainers.image.title": spec.title,
        "org.opencontainers.image.description": f"Image locale kubelab (bouchon) publiée sous "
        f"{', '.join(spec.references)} : {inside(spec, planned, binary_digests)}.",
    }
    settings = spec.config
    container: dict[str, Any] = {"Labels": labels}
    if settings.env:
        container["Env"] = [_expand(item, versions, spec.name) for item in settings.env]
    if settings.entrypoint:
        container["Entrypoint"] = list(settings.entrypoint)
    if settings.cmd:
        container["Cmd"] = list(settings.cmd)
    if settings.user:
        container["User"] = settings.user
    if settings.workdir:
        container["WorkingDir"] = settings.workdir
    if settings.exposed_ports:
        container["ExposedPorts"] = {port: {} for port in settings.exposed_ports}
    if settings.volumes:
        container["Volumes"] = {volume: {} for volume in settings.volumes}
    if settings.stop_signal:
        container["StopSignal"] = settings.stop_signal
    document = {
        "architecture": "amd64",
        "os": "linux",
        "config": container,
        "history": [{"created_by": f"kubelab sandbox images: {spec.name}", "comment": labels[INSIDE]}],
    }
    annotations = {
        "org.opencontainers.image.title": spec.title,
        "org.opencontainers.image.description": labels["org.opencontainers.image.description"],
        STAND_IN: "true",
    }
    return document, annotations
