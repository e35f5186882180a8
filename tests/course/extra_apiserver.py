"""A second kube-apiserver beside the session sandbox's, to check the course's configuration
files (EncryptionConfiguration, audit Policy) the only way that proves them: start a real
kube-apiserver with them, then look at what it writes.

It runs from the sandbox's own binary and PKI, on the sandbox's etcd under its own key prefix
(so it shares nothing with the sandbox's objects), on 127.0.0.1, and is stopped at the end.
``etcd_value`` reads a raw key from that etcd through its JSON gateway: what a thief who copies
the datastore would read.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import ssl
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kubelab.kube_api import KubeApi
from kubelab.sandbox import processes, profile
from kubelab.sandbox.build import cached_binaries
from kubelab.sandbox.cluster import Sandbox, apiserver_identity_flags
from kubelab.waiting import scaled

START_TIMEOUT = scaled(90.0)


class ApiserverRefused(Exception):
    """kube-apiserver did not start with the given files; the message holds its log's end."""


@dataclass
class ExtraApiserver:
    api: KubeApi
    prefix: str
    log: Path
    audit_log: Path | None
    url: str
    context: ssl.SSLContext

    def text(self, path: str) -> str:
        """A plain-text endpoint (``/metrics``), read as the admin."""
        with urllib.request.urlopen(self.url + path, context=self.context, timeout=10) as answer:
            return answer.read().decode()


def etcd_port(sandbox: Sandbox) -> int:
    state = sandbox.read_state()
    assert state is not None, "le bac à sable de la session n'a pas d'état"
    return state.ports["etcd"]


def etcd_value(sandbox: Sandbox, key: str) -> bytes | None:
    """The raw value stored under ``key`` in the sandbox's etcd (``None`` when absent)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{etcd_port(sandbox)}/v3/kv/range",
        data=json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        kvs = json.loads(answer.read()).get("kvs") or []
    return base64.b64decode(kvs[0]["value"]) if kvs else None


def etcd_delete_prefix(sandbox: Sandbox, prefix: str) -> None:
    """Delete every key under ``prefix`` (what the extra kube-apiserver wrote)."""
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    request = urllib.request.Request(
        f"http://127.0.0.1:{etcd_port(sandbox)}/v3/kv/deleterange",
        data=json.dumps({"key": base64.b64encode(prefix.encode()).decode(),
                         "range_end": base64.b64encode(end.encode()).decode()}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def _kubeconfig(sandbox: Sandbox, port: int, folder: Path) -> Path:
    cert, key = sandbox.pki.client("admin")
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "extra", "cluster": {
            "server": f"https://127.0.0.1:{port}",
            "certificate-authority-data": base64.b64encode(sandbox.pki.ca_cert.read_bytes()).decode()}}],
        "users": [{"name": "admin", "user": {
            "client-certificate-data": base64.b64encode(cert.read_bytes()).decode(),
            "client-key-data": base64.b64encode(key.read_bytes()).decode()}}],
        "contexts": [{"name": "extra", "context": {"cluster": "extra", "user": "admin"}}],
        "current-context": "extra",
    }
    path = folder / "kubeconfig"
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return path


@contextmanager
def extra_apiserver(sandbox: Sandbox, folder: Path, flags: dict[str, Path]) -> Iterator[ExtraApiserver]:
    """A kube-apiserver started with ``flags`` (``--encryption-provider-config``: a file…)."""
    binaries = cached_binaries()
    assert binaries is not None, "les binaires du bac à sable ont disparu du cache"
    folder.mkdir(parents=True, exist_ok=True)
    pki, port, prefix = sandbox.pki, processes.free_port(), f"/kubelab-course-{uuid.uuid4().hex[:8]}"
    audit_log = folder / "audit.log" if "--audit-policy-file" in flags else None
    argv = [
        str(binaries.kube_apiserver),
        f"--etcd-servers=http://127.0.0.1:{etcd_port(sandbox)}", f"--etcd-prefix={prefix}",
        "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={port}",
        f"--service-cluster-ip-range={profile.SERVICE_CIDR}",
        *apiserver_identity_flags(pki),
        "--authorization-mode=AlwaysAllow", "--profiling=false", f"--cert-dir={folder / 'certs'}",
        *(f"{flag}={path}" for flag, path in flags.items()),
    ]
    if audit_log is not None:
        argv += [f"--audit-log-path={audit_log}", "--audit-log-mode=blocking", "--audit-log-format=json"]
    log = folder / "kube-apiserver.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    cert, key = pki.client("admin")
    context = processes.client_tls(pki.ca_cert, cert, key)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not processes.http_ok(f"https://127.0.0.1:{port}/readyz", context):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                raise ApiserverRefused(f"kube-apiserver n'a pas démarré avec {', '.join(flags)} :\n{tail}")
            time.sleep(0.3)
        api = KubeApi.from_kubeconfig(_kubeconfig(sandbox, port, folder))
        try:
            yield ExtraApiserver(api, prefix, log, audit_log, f"https://127.0.0.1:{port}", context)
        finally:
            api.close()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        etcd_delete_prefix(sandbox, prefix + "/")
