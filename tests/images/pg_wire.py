"""A minimal PostgreSQL client (startup, SCRAM-SHA-256 or trust, simple query) for the tests.

``psql`` cannot choose its source address, and the official image trusts 127.0.0.1; this
client binds another loopback address (127.0.0.2) so that the server treats it as a remote
client, as a pod from another address is: the password is then really checked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import struct


class PostgresError(Exception):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(f"{fields.get('C', '?')} {fields.get('M', '')}")
        self.code = fields.get("C", "")
        self.message = fields.get("M", "")


def query(
    host: str, port: int, user: str, password: str, database: str, sql: str, source: str = "127.0.0.2",
    timeout: float = 10,
) -> list[tuple[str | None, ...]]:
    """Run ``sql`` and return its rows as text; raises :class:`PostgresError` on a server error."""
    with socket.create_connection((host, port), timeout=timeout, source_address=(source, 0)) as connection:
        session = _Session(connection)
        session.startup(user, password, database)
        return session.simple_query(sql)


class _Session:
    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection

    def _send(self, kind: bytes, payload: bytes) -> None:
        self.connection.sendall(kind + struct.pack("!I", len(payload) + 4) + payload)

    def _receive(self) -> tuple[bytes, bytes]:
        header = self._exactly(5)
        length = struct.unpack("!I", header[1:])[0]
        return header[:1], self._exactly(length - 4)

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.connection.recv(size - len(data))
            if not chunk:
                raise ConnectionError("connexion fermée par le serveur")
            data += chunk
        return data

    def _expect_auth(self) -> tuple[int, bytes]:
        kind, payload = self._receive()
        if kind == b"E":
            raise PostgresError(_error_fields(payload))
        if kind != b"R":
            raise ConnectionError(f"message inattendu {kind!r}")
        return struct.unpack("!I", payload[:4])[0], payload[4:]

    def startup(self, user: str, password: str, database: str) -> None:
        parameters = f"user\0{user}\0database\0{database}\0\0".encode()
        self.connection.sendall(struct.pack("!II", len(parameters) + 8, 196608) + parameters)
        code, body = self._expect_auth()
        if code == 10:
            self._scram(password, body)
            code, body = self._expect_auth()
        if code != 0:
            raise ConnectionError(f"méthode d'authentification non prise en charge ({code})")
        while True:
            kind, payload = self._receive()
            if kind == b"E":
                raise PostgresError(_error_fields(payload))
            if kind == b"Z":
                return

    def _scram(self, password: str, mechanisms: bytes) -> None:
        if b"SCRAM-SHA-256\0" not in mechanisms:
            raise ConnectionError(f"SCRAM-SHA-256 non proposé : {mechanisms!r}")
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = f"n=,r={nonce}"
        first = ("n,," + first_bare).encode()
        self._send(b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first)
        code, server_first_raw = self._expect_auth()
        if code != 11:
            raise ConnectionError(f"réponse SCRAM inattendue ({code})")
        server_first = server_first_raw.decode()
        fields = dict(item.split("=", 1) for item in server_first.split(","))
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        final_without_proof = f"c=biws,r={fields['r']}"
        auth_message = f"{first_bare},{server_first},{final_without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self._send(b"p", f"{final_without_proof},p={base64.b64encode(proof).decode()}".encode())
        code, _ = self._expect_auth()
        if code != 12:
            raise ConnectionError(f"fin SCRAM inattendue ({code})")

    def simple_query(self, sql: str) -> list[tuple[str | None, ...]]:
        self._send(b"Q", sql.encode() + b"\0")
        rows: list[tuple[str | None, ...]] = []
        error: PostgresError | None = None
        while True:
            kind, payload = self._receive()
            if kind == b"D":
                rows.append(_data_row(payload))
            elif kind == b"E":
                error = PostgresError(_error_fields(payload))
            elif kind == b"Z":
                if error is not None:
                    raise error
                return rows


def _data_row(payload: bytes) -> tuple[str | None, ...]:
    count = struct.unpack("!H", payload[:2])[0]
    at = 2
    values: list[str | None] = []
    for _ in range(count):
        length = struct.unpack("!i", payload[at:at + 4])[0]
        at += 4
        if length < 0:
            values.append(None)
        else:
            values.append(payload[at:at + length].decode())
            at += length
    return tuple(values)


def _error_fields(payload: bytes) -> dict[str, str]:
    fields = {}
    for item in payload.split(b"\0"):
        if item:
            fields[item[:1].decode()] = item[1:].decode(errors="replace")
    return fields
