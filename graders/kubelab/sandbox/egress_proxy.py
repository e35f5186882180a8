"""The API server's only way to nodes and pods: an HTTP CONNECT proxy on a Unix socket.

kube-apiserver reaches kubelets (logs, exec, port-forward) and pods (the proxy subresource)
through its « cluster » egress selection, which the sandbox points here. Simulated nodes have
addresses but no kubelet, and those addresses are not this machine's: without this proxy the
API server would look their names up and dial them out of the machine. Here a connection is
opened only to the real node (its address, and its pods' range); anything else is refused at
once, with a reason the API server passes on.

Run as ``python -m kubelab.sandbox.egress_proxy --socket PATH [--allow CIDR ...]``.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import selectors
import socket
import socketserver
from pathlib import Path

BUFFER = 65536
REFUSAL = ("HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
           "kubelab sandbox: {target} is a node or pod simulated by kwok (nothing runs there)\n")


def allowed(target: str, networks: list[ipaddress.IPv4Network]) -> bool:
    """Whether ``host:port`` is an address of the real node (names are never looked up)."""
    host = target.rsplit(":", 1)[0].strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        request = self.rfile.readline(8192).decode("latin-1").split()
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass
        if len(request) < 2 or request[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n\r\n")
            return
        target = request[1]
        if not allowed(target, self.server.networks):
            self.wfile.write(REFUSAL.format(target=target).encode())
            return
        host, port = target.rsplit(":", 1)
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except (OSError, ValueError) as exc:
            self.wfile.write(f"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n{exc}\n".encode())
            return
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        _pipe(self.connection, upstream)


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    upstream.settimeout(None)
    with upstream, selectors.DefaultSelector() as selector:
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        while True:
            for key, _ in selector.select():
                source: socket.socket = key.fileobj  # type: ignore[assignment]  # registered sockets only
                try:
                    data = source.recv(BUFFER)
                except OSError:
                    return
                if not data:
                    return
                try:
                    key.data.sendall(data)
                except OSError:
                    return


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, networks: list[ipaddress.IPv4Network]) -> None:
        self.networks = networks
        super().__init__(path, _Handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Mandataire de sortie du serveur d'API du bac à sable kubelab")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--allow", action="append", default=[], help="plage autorisée (CIDR), répétable")
    args = parser.parse_args(argv)
    path = Path(args.socket)
    path.unlink(missing_ok=True)
    networks = [ipaddress.IPv4Network(cidr) for cidr in args.allow]
    with _Server(str(path), networks) as server:
        os.chmod(path, 0o600)
        server.serve_forever()


if __name__ == "__main__":
    main()
