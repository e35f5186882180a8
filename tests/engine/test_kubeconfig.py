"""Kubeconfigs as kubectl reads them: files relative to the kubeconfig, exec plugins, clear refusals.

Each kubeconfig here is derived from the sandbox's admin one and used against the real API
server: if kubelab read it wrongly, listing the namespaces would fail.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubelab.errors import UsageError
from kubelab.kube_api import KubeApi


def _admin(admin_kubeconfig: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    config = yaml.safe_load(admin_kubeconfig.read_text())
    return config, config["users"][0]["user"]


def _write(config: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def _namespaces(path: Path) -> list[str]:
    api = KubeApi.from_kubeconfig(path)
    try:
        return [n["metadata"]["name"] for n in api.list("v1", "Namespace")]
    finally:
        api.close()


def test_certificate_files_relative_to_the_kubeconfig(admin_kubeconfig: Path, tmp_path: Path) -> None:
    """CA, client certificate and key given as files next to the kubeconfig (relative paths): do they work?"""
    config, user = _admin(admin_kubeconfig)
    folder = tmp_path / "conf"
    folder.mkdir()
    cluster = config["clusters"][0]["cluster"]
    (folder / "ca.crt").write_bytes(base64.b64decode(cluster.pop("certificate-authority-data")))
    (folder / "client.crt").write_bytes(base64.b64decode(user.pop("client-certificate-data")))
    (folder / "client.key").write_bytes(base64.b64decode(user.pop("client-key-data")))
    cluster["certificate-authority"] = "ca.crt"
    user.update({"client-certificate": "client.crt", "client-key": "client.key"})
    assert "kube-system" in _namespaces(_write(config, folder / "config"))


def test_exec_credential_plugin(admin_kubeconfig: Path, tmp_path: Path) -> None:
    """A user whose credentials come from an ``exec`` plugin (as cloud kubeconfigs have): is it run and used?"""
    config, user = _admin(admin_kubeconfig)
    credential = {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {
        "clientCertificateData": base64.b64decode(user["client-certificate-data"]).decode(),
        "clientKeyData": base64.b64decode(user["client-key-data"]).decode()}}
    plugin = tmp_path / "plugin.py"
    plugin.write_text("import json, os, sys\n"
                      "assert json.loads(os.environ['KUBERNETES_EXEC_INFO'])['kind'] == 'ExecCredential'\n"
                      f"print(json.dumps({credential!r}))\n")
    config["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
                                           "args": [str(plugin)], "interactiveMode": "Never"}}
    assert "kube-system" in _namespaces(_write(config, tmp_path / "exec.kubeconfig"))


@pytest.mark.parametrize(("user", "expected"), [
    ({"auth-provider": {"name": "oidc"}}, "« auth-provider: oidc » n'est pas pris en charge"),
    ({"exec": {"command": "/bin/false"}}, "le plugin « exec » « /bin/false » a échoué (1)"),
    ({"client-certificate-data": "pas du base64 !"}, "« client-certificate-data » n'est pas du base64 valide"),
    ({"client-key": "absente.key"}, "« client-key » désigne"),
    ({"client-certificate-data": "Y2VydA=="}, "un certificat client va avec sa clé"),
])
def test_unusable_user_is_a_french_usage_error(admin_kubeconfig: Path, tmp_path: Path, user: dict[str, Any],
                                               expected: str) -> None:
    """A kubeconfig whose user cannot be used: a UsageError naming the file and the field, before any request."""
    config, _ = _admin(admin_kubeconfig)
    config["users"][0]["user"] = user
    path = _write(config, tmp_path / "casse.kubeconfig")
    with pytest.raises(UsageError) as caught:
        KubeApi.from_kubeconfig(path)
    assert f"Le fichier kubeconfig « {path} » est invalide" in caught.value.message
    assert expected in caught.value.message, caught.value.message


def test_not_a_kubeconfig_is_unreadable(tmp_path: Path) -> None:
    """A file that is YAML but no kubeconfig, and one that is not YAML: « illisible », naming the file."""
    for name, text in (("liste.yaml", json.dumps([1, 2])), ("casse.yaml", "clusters: [\n")):
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(UsageError) as caught:
            KubeApi.from_kubeconfig(path)
        assert f"Le fichier kubeconfig « {path} » est illisible" in caught.value.message
