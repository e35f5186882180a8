"""Read a kubeconfig file: which server, how to trust it, and who we are.

What kubectl reads from the chosen context: the cluster's ``server``, its CA
(``certificate-authority`` or ``-data``, or ``insecure-skip-tls-verify``), ``tls-server-name``
and ``proxy-url``; the user's client certificate and key (files or ``-data``), bearer
``token`` or ``tokenFile``, ``username``/``password``, or an ``exec`` credential plugin (run
once, here). Relative paths are relative to the kubeconfig's folder, as kubectl does. Every
problem is a French ``UsageError`` naming the file. No request is sent from here.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubelab.errors import UsageError

Obj = dict[str, Any]
EXEC_TIMEOUT = 60.0


@dataclass(frozen=True)
class Endpoint:
    """An API server and the credentials to present to it."""

    server: str
    description: str
    ca_pem: bytes | None = None
    insecure: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None
    token: str | None = None
    token_file: Path | None = None
    username: str | None = None
    password: str | None = None


def environment_path() -> Path | None:
    """The kubeconfig ``$KUBECONFIG`` names (its first existing path), ``None`` when the variable is unset.

    A variable naming only missing files is an error naming them: kubelab never falls back to
    another cluster than the one the user pointed at.
    """
    value = os.environ.get("KUBECONFIG", "")
    paths = [Path(part) for part in value.split(os.pathsep) if part.strip()]
    if not paths:
        return None
    existing = next((path for path in paths if path.is_file()), None)
    if existing is None:
        named = " ni ".join(f"« {path} »" for path in paths)
        raise UsageError(
            f"La variable $KUBECONFIG désigne {named}, introuvable : aucun cluster n'est contacté à la place. "
            "Corrigez la variable (« export KUBECONFIG=… ») ou retirez-la (« unset KUBECONFIG »).",
            notebook=f"La variable $KUBECONFIG du serveur Jupyter désigne {named}, introuvable : aucun cluster n'est "
            "contacté à la place. Corrigez-la ou retirez-la, puis relancez JupyterLab.")
    return existing


def default_path() -> Path:
    """``$KUBECONFIG`` (its first existing file) or ``~/.kube/config``, as kubectl picks it."""
    return environment_path() or Path.home() / ".kube" / "config"


def read(path: Path | None = None, context: str | None = None, named_by: str = "") -> Endpoint:
    """The endpoint of ``context`` (the current one by default) in the kubeconfig at ``path``.

    ``named_by`` says where ``path`` comes from (« l'option --kubeconfig »): a kubeconfig that
    does not exist is an error naming it, never a fallback to another one.
    """
    path = path or default_path()
    if not path.is_file():
        where = f" ({named_by})" if named_by else ""
        missing = f"Le fichier kubeconfig « {path} »{where} est introuvable. "
        raise UsageError(
            missing + "Corrigez le chemin ; sur MicroK8s : « microk8s config > ~/.kube/config » ; sinon utilisez "
            "le bac à sable (--sandbox).",
            notebook=missing + "Corrigez le chemin, ou retirez la variable et redémarrez le noyau ; sur MicroK8s : "
            "« microk8s config > ~/.kube/config » ; sinon démarrez le bac à sable (« kubelab sandbox up » dans "
            "un terminal).")
    config = _load(path)
    names = [str(c.get("name")) for c in _entries(config, "contexts", path)]
    chosen = context or config.get("current-context")
    if context and context not in names:
        raise UsageError(
            f"Le contexte « {context} » n'existe pas dans « {path} » "
            f"(contextes disponibles : {', '.join(names) or 'aucun'})."
        )
    if not chosen or chosen not in names:
        raise _invalid(path, f"aucun contexte courant (« current-context ») parmi {', '.join(names) or 'aucun'}")
    entry = _named(config, "contexts", chosen, path, "context")
    cluster = _named(config, "clusters", str(entry.get("cluster", "")), path, "cluster")
    user = _named(config, "users", str(entry.get("user", "")), path, "user") if entry.get("user") else {}
    server = str(cluster.get("server") or "")
    if not server.startswith(("https://", "http://")):
        raise _invalid(path, f"le cluster « {entry.get('cluster')} » n'a pas de « server » https://… (trouvé : "
                             f"« {server or 'rien'} »)")
    folder = path.parent
    if "auth-provider" in user:
        name = (user.get("auth-provider") or {}).get("name", "?")
        raise _invalid(path, f"« auth-provider: {name} » n'est pas pris en charge (obsolète depuis Kubernetes 1.26) : "
                             "utilisez un jeton, un certificat client ou un plugin « exec »")
    credentials = _exec_credentials(user["exec"], path) if user.get("exec") else {}
    cert = credentials.get("clientCertificateData", "").encode() or _pem(user, "client-certificate", folder, path)
    key = credentials.get("clientKeyData", "").encode() or _pem(user, "client-key", folder, path)
    if bool(cert) != bool(key):
        raise _invalid(path, "un certificat client va avec sa clé : « client-certificate » et « client-key » "
                             "(ou leurs variantes « -data ») sont à donner ensemble")
    return Endpoint(
        server=server.rstrip("/"),
        description=f"contexte « {chosen} » de {path}",
        ca_pem=_pem(cluster, "certificate-authority", folder, path),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=cluster.get("tls-server-name") or None,
        proxy_url=cluster.get("proxy-url") or None,
        client_cert_pem=cert,
        client_key_pem=key,
        token=credentials.get("token") or user.get("token") or None,
        token_file=_relative(folder, user["tokenFile"]) if user.get("tokenFile") else None,
        username=user.get("username") or None,
        password=user.get("password") or None,
    )


def _load(path: Path) -> Obj:
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"Le fichier kubeconfig « {path} » est illisible : {_first_line(exc)}") from exc
    if not isinstance(config, dict):
        raise UsageError(f"Le fichier kubeconfig « {path} » est illisible : ce n'est pas un kubeconfig (YAML "
                         "« apiVersion: v1, kind: Config »).")
    return config


def _entries(config: Obj, field: str, path: Path) -> list[Obj]:
    entries = config.get(field) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise _invalid(path, f"« {field} » devrait être une liste d'entrées nommées")
    return entries


def _named(config: Obj, field: str, name: str, path: Path, key: str) -> Obj:
    entry = next((e for e in _entries(config, field, path) if e.get("name") == name), None)
    if entry is None:
        raise _invalid(path, f"« {name} » n'est pas dans « {field} »")
    value = entry.get(key) or {}
    if not isinstance(value, dict):
        raise _invalid(path, f"l'entrée « {name} » de « {field} » devrait contenir « {key}: {{…}} »")
    return value


def _relative(folder: Path, value: str) -> Path:
    candidate = Path(os.path.expanduser(value))
    return candidate if candidate.is_absolute() else folder / candidate


def _pem(entry: Obj, field: str, folder: Path, path: Path) -> bytes | None:
    """The PEM bytes of ``field-data`` (base64) or of the file ``field``; ``None`` when neither is given."""
    data = entry.get(f"{field}-data")
    if data:
        try:
            return base64.b64decode(str(data), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _invalid(path, f"« {field}-data » n'est pas du base64 valide") from exc
    if entry.get(field):
        file = _relative(folder, str(entry[field]))
        try:
            return file.read_bytes()
        except OSError as exc:
            raise _invalid(path, f"« {field} » désigne « {file} », illisible ({_first_line(exc)})") from exc
    return None


def _exec_credentials(spec: Obj, path: Path) -> dict[str, str]:
    """Run an ``exec`` credential plugin once; the ``status`` of the ExecCredential it prints."""
    command = spec.get("command")
    if not command:
        raise _invalid(path, "le plugin « exec » n'a pas de « command »")
    env = {**os.environ, **{str(e.get("name")): str(e.get("value", "")) for e in spec.get("env") or []}}
    api_version = spec.get("apiVersion", "client.authentication.k8s.io/v1")
    env["KUBERNETES_EXEC_INFO"] = json.dumps({"apiVersion": api_version, "kind": "ExecCredential",
                                              "spec": {"interactive": False}})
    try:
        done = subprocess.run([str(command), *map(str, spec.get("args") or [])], capture_output=True, text=True,
                              env=env, timeout=EXEC_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _invalid(path, f"le plugin « exec » « {command} » n'a pas pu s'exécuter ({_first_line(exc)})") from exc
    if done.returncode != 0:
        raise _invalid(path, f"le plugin « exec » « {command} » a échoué ({done.returncode}) : "
                             f"{_first_line(done.stderr) or 'aucun message'}")
    try:
        status = json.loads(done.stdout).get("status") or {}
    except (ValueError, AttributeError) as exc:
        raise _invalid(path, f"le plugin « exec » « {command} » n'a pas écrit d'ExecCredential JSON") from exc
    return {key: str(value) for key, value in status.items() if isinstance(value, str)}


def _invalid(path: Path, why: str) -> UsageError:
    return UsageError(f"Le fichier kubeconfig « {path} » est invalide : {why}.")


def _first_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0][:200] if text else type(value).__name__
