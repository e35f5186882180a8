"""containerd's registry hosts configuration (``hosts.d``) that sends public registries to ours.

Each public registry gets ``<folder>/<registry>/hosts.toml`` whose only host, and server, is
the local registry: containerd never falls back to the real registry, so an image the store
lacks fails at once with « not found » and nothing leaves the machine. Point containerd's CRI
``registry.config_path`` (or ``ctr --hosts-dir``) at the folder.
"""

from __future__ import annotations

from pathlib import Path

MIRRORED_REGISTRIES = ("docker.io", "registry.k8s.io", "quay.io", "ghcr.io", "gcr.io")


def hosts_toml(registry_url: str) -> str:
    return f'server = "{registry_url}"\n\n[host."{registry_url}"]\n  capabilities = ["pull", "resolve"]\n'


def write_hosts_dir(folder: Path, registry_url: str, registries: tuple[str, ...] = MIRRORED_REGISTRIES) -> None:
    """Write one ``hosts.toml`` per registry under ``folder`` (``http://127.0.0.1:PORT`` as URL)."""
    for registry in registries:
        (folder / registry).mkdir(parents=True, exist_ok=True)
        (folder / registry / "hosts.toml").write_text(hosts_toml(registry_url))
