"""``KubeApi.exec`` speaks the API server's exec protocol (``v4.channel.k8s.io`` over a websocket).

The sandbox's kwok nodes run no container, so the happy path is checked against a small
websocket server on 127.0.0.1 that answers as the API server does: the request it receives
(path, command, container, streams, sub-protocol, credentials) and the frames it sends back
(stdout, stderr, then the Status with the exit code). The refusal paths run on the real API
server of the sandbox.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from kubelab.errors import KubelabError
from kubelab.kube_api import KubeApi
from kubelab.kubeconfig import Endpoint

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _frame(opcode: int, payload: bytes) -> bytes:
    assert len(payload) < 126
    return bytes([0x80 | opcode, len(payload)]) + payload


@dataclass
class FakeExecServer:
    """Accepts one websocket upgrade, records the request, sends ``frames`` and closes."""

    frames: list[bytes]
    request: list[str] = field(default_factory=list)

    @contextmanager
    def serve(self) -> Iterator[int]:
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]

        def answer() -> None:
            connection, _ = listener.accept()
            with connection:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += connection.recv(4096)
                self.request.extend(data.decode().split("\r\n"))
                key = next(line.split(":", 1)[1].strip() for line in self.request
                           if line.lower().startswith("sec-websocket-key:"))
                accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
                connection.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                    f"Sec-WebSocket-Accept: {accept}\r\n"
                                    "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n").encode())
                for frame in self.frames:
                    connection.sendall(frame)
                connection.sendall(_frame(0x8, b""))

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        try:
            yield port
        finally:
            thread.join(5)
            listener.close()


def _exec(frames: list[bytes]) -> tuple[tuple[int | None, str, str], list[str]]:
    server = FakeExecServer(frames)
    with server.serve() as port:
        api = KubeApi(Endpoint(server=f"http://127.0.0.1:{port}", description="serveur de test", token="jeton-test"))
        try:
            return api.exec("ns", "postgres-0", "postgres", ["sh", "-c", "echo bonjour"], timeout=5), server.request
        finally:
            api.close()


def test_exec_returns_exit_code_stdout_and_stderr() -> None:
    """The command failed with code 3 after writing on both streams: does exec say so, having asked for
    the right pod, container and command, with the sub-protocol and the bearer token?"""
    status = {"status": "Failure", "reason": "NonZeroExitCode",
              "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}
    result, request = _exec([_frame(0x2, b"\x01bonjour\n"), _frame(0x2, b"\x02attention\n"),
                             _frame(0x2, b"\x03" + json.dumps(status).encode())])
    assert result == (3, "bonjour\n", "attention\n")
    assert request[0] == ("GET /api/v1/namespaces/ns/pods/postgres-0/exec?command=sh&command=-c&command=echo+bonjour"
                          "&container=postgres&stdout=true&stderr=true HTTP/1.1")
    headers = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in request[1:] if ":" in line}
    assert headers["sec-websocket-protocol"] == "v4.channel.k8s.io"
    assert headers["authorization"] == "Bearer jeton-test"


@pytest.mark.parametrize(("status", "code"), [
    ({"status": "Success"}, 0),
    ({"status": "Failure", "message": "executable file not found in $PATH"}, None),
])
def test_exec_exit_code_from_the_status(status: dict, code: int | None) -> None:
    """Success is 0; a command that never started has no exit code (``None``), not a made-up one."""
    result, _ = _exec([_frame(0x2, b"\x03" + json.dumps(status).encode())])
    assert result == (code, "", "")


def test_exec_in_a_missing_pod_names_it_and_the_status(kube_api: KubeApi, namespace: str) -> None:
    """On the real API server, exec into a pod that does not exist: a French error naming the pod, 404."""
    with pytest.raises(KubelabError) as caught:
        kube_api.exec(namespace, "absent", "c", ["true"], timeout=5)
    assert "exec dans le pod « absent » impossible (404)" in caught.value.message
    assert 'pods "absent" not found' in caught.value.message
