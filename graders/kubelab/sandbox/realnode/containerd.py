"""containerd for the real node: its own root, state, socket and registry configuration.

Every path lives under the node's folders, never /var/lib/containerd or /run/containerd, so
a containerd of the machine (if any) is left alone. Registry hosts that the labs name
(docker.io, registry.k8s.io, quay.io, ghcr.io, gcr.io) are served by the sandbox's local
registry; any other registry goes through a proxy address where nothing listens, so a pull
fails at once and no request leaves the machine.
"""

from __future__ import annotations

from pathlib import Path

from kubelab.sandbox.realnode import layout

MIRRORED_REGISTRIES = ("docker.io", "registry.k8s.io", "quay.io", "ghcr.io", "gcr.io", "registry-1.docker.io")
CLOSED_PROXY = "http://127.0.0.1:9"  # discard port: nothing listens, connections are refused at once
CNI_BIN_DIR = Path("/usr/lib/cni")
SANDBOX_IMAGE = "registry.k8s.io/pause:3.10.1"


def config_text(registry: str) -> str:
    """containerd 1.6 configuration (version 2) for the node; ``registry`` is host:port."""
    root, state = layout.folder("containerd"), layout.run_folder("containerd")
    return f"""version = 2
root = "{root}"
state = "{state}"
oom_score = 0

[grpc]
  address = "{layout.containerd_socket()}"

[ttrpc]
  address = ""

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{layout.folder('containerd-opt')}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{SANDBOX_IMAGE}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  max_container_log_line_size = 16384

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{layout.run_folder('runc')}"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{layout.folder('cni/net.d')}"
    max_conf_num = 1

  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{layout.folder('containerd-hosts')}"
"""


def hosts_files(registry: str) -> dict[str, str]:
    """``hosts.toml`` per mirrored registry: pull and resolve from the local registry only."""
    files = {}
    for upstream in MIRRORED_REGISTRIES:
        files[f"{upstream}/hosts.toml"] = f"""server = "http://{registry}"

[host."http://{registry}"]
  capabilities = ["pull", "resolve"]
  skip_verify = true
"""
    return files


def write_config(registry: str) -> Path:
    """Write the configuration files; return the main configuration's path."""
    config = layout.folder("containerd-config.toml")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(config_text(registry))
    hosts = layout.folder("containerd-hosts")
    for relative, text in hosts_files(registry).items():
        target = hosts / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return config


def environment() -> dict[str, str]:
    """Proxy settings that make any registry not mirrored fail fast, on the machine."""
    no_proxy = "127.0.0.1,localhost"
    return {"HTTP_PROXY": CLOSED_PROXY, "HTTPS_PROXY": CLOSED_PROXY, "NO_PROXY": no_proxy,
            "http_proxy": CLOSED_PROXY, "https_proxy": CLOSED_PROXY, "no_proxy": no_proxy}


def argv(config: Path) -> list[str]:
    return ["containerd", "--config", str(config), "--log-level", "warn"]
