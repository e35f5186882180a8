"""The only module that talks HTTP to a Kubernetes API server.

REST over urllib3 (one connection pool per API server, shared by the grading threads):
resource discovery per group-version (cached), paginated LIST, GET, server-side apply,
create, delete, watch, and exec over a websocket. The connection comes from a kubeconfig
(``kubelab.kubeconfig``). Every failure becomes a French ``KubelabError``: usage problems
(bad kubeconfig, unknown context, refused object) and infrastructure problems
(unreachable, 401, 403, timeouts) are never confused.

urllib3 (and ssl) are imported when a connection is opened, not with this module: commands
that need no cluster (``kubelab labs``, ``grade --snapshot``…) never load an HTTP client.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, MutableSequence, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from kubelab import kubeconfig
from kubelab.errors import InfrastructureError, KubelabError, UsageError

if TYPE_CHECKING:
    import ssl

    import urllib3

DEFAULT_TIMEOUT = 10.0
PAGE_SIZE = 500
POOL_SIZE = 32
"""Connections kept per API server: the checks of a lab (or of a classroom) run in threads."""
FIELD_MANAGER = "kubelab"
USER_AGENT = "kubelab"
EXEC_PROTOCOL = "v4.channel.k8s.io"

Obj = dict[str, Any]


class ApiError(InfrastructureError):
    """An API request failed; ``status`` is the HTTP code (0 when nothing answered)."""

    def __init__(self, message: str, status: int = 0, reason: str = "", body: Obj | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.body = body or {}


class RefusedError(UsageError):
    """The API server refused an object (400, 404, 409, 422, or 403 from admission): its content."""

    def __init__(self, message: str, status: int, body: Obj) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


AUTHORIZATION_DENIAL = re.compile(r'forbidden: (User|ServiceAccount) "[^"]*" cannot ')


def authorization_denied(message: str) -> bool:
    """Does a 403 message say who we are may not do this (RBAC), rather than what was sent is refused?"""
    return bool(AUTHORIZATION_DENIAL.search(message))


@dataclass(frozen=True)
class ResourceInfo:
    """Where a kind lives in the API."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if subresource:
            base += f"/{subresource}"
        return base


@dataclass
class RequestCounter:
    """Counts requests per verb, for benchmarks and the read-only proof."""

    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, verb: str) -> None:
        with self.lock:
            self.counts[verb] = self.counts.get(verb, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


BUILTIN_RESOURCES: dict[tuple[str, str], tuple[str, bool]] = {
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "Node"): ("nodes", False),
    ("v1", "PersistentVolume"): ("persistentvolumes", False),
    ("v1", "Pod"): ("pods", True),
    ("v1", "Service"): ("services", True),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "ConfigMap"): ("configmaps", True),
    ("v1", "PersistentVolumeClaim"): ("persistentvolumeclaims", True),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("v1", "Event"): ("events", True),
    ("v1", "ResourceQuota"): ("resourcequotas", True),
    ("v1", "LimitRange"): ("limitranges", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("apps/v1", "ReplicaSet"): ("replicasets", True),
    ("apps/v1", "StatefulSet"): ("statefulsets", True),
    ("apps/v1", "DaemonSet"): ("daemonsets", True),
    ("batch/v1", "Job"): ("jobs", True),
    ("batch/v1", "CronJob"): ("cronjobs", True),
    ("discovery.k8s.io/v1", "EndpointSlice"): ("endpointslices", True),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("networkpolicies", True),
    ("networking.k8s.io/v1", "Ingress"): ("ingresses", True),
    ("networking.k8s.io/v1", "IngressClass"): ("ingressclasses", False),
    ("policy/v1", "PodDisruptionBudget"): ("poddisruptionbudgets", True),
    ("storage.k8s.io/v1", "StorageClass"): ("storageclasses", False),
    ("rbac.authorization.k8s.io/v1", "Role"): ("roles", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("rolebindings", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): ("clusterroles", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): ("clusterrolebindings", False),
}
"""Kinds every Kubernetes 1.35 server serves: no discovery request needed for them."""


class KubeApi:
    """A connection to one API server, with cached discovery."""

    def __init__(self, endpoint: kubeconfig.Endpoint) -> None:
        import urllib3

        self.endpoint = endpoint
        self.description = endpoint.description
        self.server = endpoint.server
        self._ssl = _ssl_context(endpoint) if endpoint.server.startswith("https://") else None
        options: dict[str, Any] = {"maxsize": POOL_SIZE, "retries": False}
        if self._ssl is not None:
            options.update(ssl_context=self._ssl, server_hostname=endpoint.tls_server_name)
        self._pool: urllib3.PoolManager = (urllib3.ProxyManager(endpoint.proxy_url, **options) if endpoint.proxy_url
                                           else urllib3.PoolManager(**options))
        self._resources: dict[str, dict[str, ResourceInfo]] = {}
        self._lock = threading.Lock()
        self.counter = RequestCounter()

    @classmethod
    def from_kubeconfig(cls, path: str | os.PathLike[str] | None = None, context: str | None = None,
                        named_by: str = "") -> KubeApi:
        """Connect with a kubeconfig file (``$KUBECONFIG`` or ``~/.kube/config`` by default); ``named_by`` says
        where an explicit path comes from (« l'option --kubeconfig »), for the error naming a missing file."""
        return cls(kubeconfig.read(Path(path) if path else None, context, named_by))

    def close(self) -> None:
        self._pool.clear()

    def _headers(self, content_type: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if content_type:
            headers["Content-Type"] = content_type
        endpoint = self.endpoint
        token = endpoint.token
        if endpoint.token_file is not None:
            try:
                token = endpoint.token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise UsageError(f"Le fichier de jeton « {endpoint.token_file} » est illisible ({self.description}) : "
                                 f"{_short(exc)}.") from exc
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif endpoint.username is not None:
            import urllib3

            headers.update(urllib3.make_headers(basic_auth=f"{endpoint.username}:{endpoint.password or ''}"))
        return headers

    # --- discovery -------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> ResourceInfo:
        """Resolve a kind: built-in kinds directly, others through discovery (one request, cached)."""
        builtin = BUILTIN_RESOURCES.get((api_version, kind))
        if builtin is not None:
            return ResourceInfo(api_version, kind, *builtin)
        with self._lock:
            known = self._resources.get(api_version)
        if known is None:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            try:
                listing = self.request("GET", path)
            except ApiError as exc:
                if exc.status == 404:
                    raise UsageError(f"La version d'API « {api_version} » n'existe pas sur ce cluster.") from exc
                raise
            known = {
                item["kind"]: ResourceInfo(api_version, item["kind"], item["name"], item["namespaced"])
                for item in listing.get("resources", [])
                if "/" not in item["name"]
            }
            with self._lock:
                self._resources[api_version] = known
        if kind not in known:
            raise UsageError(f"Le type « {kind} » n'existe pas dans l'API « {api_version} » de ce cluster.")
        return known[kind]

    # --- requests ----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Obj | str | None = None,
        query: dict[str, Any] | None = None,
        content_type: str = "application/json",
        timeout: float = DEFAULT_TIMEOUT,
        warnings: MutableSequence[str] | None = None,
    ) -> Obj:
        """One HTTP request; the decoded JSON answer, or a French error.

        When ``warnings`` is a list, the texts of the answer's ``Warning`` headers (deprecated
        API, unknown field, « would violate PodSecurity »…) are appended to it, refusals included.
        """
        self.counter.add(method)
        query_params = [(k, v) for k, v in (query or {}).items() if v is not None]
        raw = self._send(method, path, query_params, content_type, body, timeout)
        if warnings is not None:
            warnings.extend(warning_texts(raw.headers.getlist("Warning")))
        try:
            data = raw.read()
        finally:
            raw.release_conn()
        if raw.status >= 400:
            raise self._api_error(method, path, raw.status, raw.reason, data)
        return json.loads(data) if data else {}

    def _send(self, method: str, path: str, query_params: list[tuple[str, Any]], content_type: str,
              body: Obj | str | None, timeout: float) -> urllib3.BaseHTTPResponse:
        """Send one request through the connection pool; the raw, unread response."""
        import urllib3

        url = f"{self.server}{path}" + (f"?{urlencode(query_params)}" if query_params else "")
        payload = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
        try:
            return self._pool.request(method, url, body=payload, headers=self._headers(content_type),
                                      timeout=urllib3.Timeout(connect=min(timeout, DEFAULT_TIMEOUT), read=timeout),
                                      preload_content=False, redirect=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            tls = tls_problem(exc)
            if tls is not None:
                raise ApiError(
                    f"La connexion TLS au serveur d'API {self.server} a échoué ({self.description}) : {tls}. "
                    "Le serveur répond, mais son certificat n'est pas celui qu'attend le kubeconfig "
                    "(certificate-authority-data) : le kubeconfig vise-t-il le bon cluster ? Sur MicroK8s, "
                    "régénérez-le avec « microk8s config » ; pour le bac à sable, « kubelab sandbox kubeconfig »."
                ) from exc
            raise ApiError(
                f"Le serveur d'API {self.server} est injoignable ({self.description}) : {_short(exc)}. "
                "Vérifiez que le cluster est démarré (« microk8s status » ou « kubelab sandbox status »)."
            ) from exc

    def _api_error(self, method: str, path: str, status: int, reason: str | None, data: bytes) -> ApiError:
        try:
            body = json.loads(data) if data else {}
        except (TypeError, ValueError):
            body = {}
        message = body.get("message") or reason or ""
        if status == 401:
            text = (f"Le serveur d'API {self.server} refuse nos identifiants (401) : jeton ou certificat invalide ou "
                    f"expiré ({self.description}).")
        elif status == 403:
            text = f"Accès interdit (403) à {method} {path} : {message}"
        else:
            text = f"{method} {path} a échoué ({status}) : {message}"
        return ApiError(text, status, body.get("reason", ""), body)

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[Obj]:
        """Every object of a kind (in a namespace, or cluster-wide), paginated."""
        info = self.resource(api_version, kind)
        items: list[Obj] = []
        token: str | None = None
        while True:
            page = self.request(
                "GET", info.path(namespace),
                query={"limit": PAGE_SIZE, "continue": token, "labelSelector": label_selector,
                       "fieldSelector": field_selector},
            )
            for item in page.get("items", []):
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                items.append(item)
            token = page.get("metadata", {}).get("continue")
            if not token:
                return items

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        """One object, or ``None`` when it does not exist."""
        info = self.resource(api_version, kind)
        try:
            return self.request("GET", info.path(namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def apply(self, obj: Obj, dry_run: bool = False, field_manager: str = FIELD_MANAGER,
              subresource: str | None = None, *, warnings: MutableSequence[str] | None = None) -> Obj:
        """Server-side apply of one object (forcing conflicts, as ``kubectl apply --server-side``);
        the server's warnings go to ``warnings`` when it is a list."""
        info = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj.get("metadata", {})
        try:
            return self.request(
                "PATCH", info.path(meta.get("namespace"), meta["name"], subresource),
                body=json.dumps(obj), content_type="application/apply-patch+yaml",
                query={"fieldManager": field_manager, "force": "true", "dryRun": "All" if dry_run else None},
                warnings=warnings,
            )
        except ApiError as exc:
            raise self._refused(exc, obj) from exc

    def create(self, obj: Obj, dry_run: bool = False) -> Obj:
        """POST an object (subresources such as an Eviction: ``post``)."""
        info = self.resource(obj["apiVersion"], obj["kind"])
        namespace = obj.get("metadata", {}).get("namespace")
        path = info.path(namespace)
        try:
            return self.request("POST", path, body=obj, query={"dryRun": "All" if dry_run else None})
        except ApiError as exc:
            raise self._refused(exc, obj) from exc

    def post(self, path: str, obj: Obj, dry_run: bool = False) -> Obj:
        """POST to an explicit path (subresources: eviction, reviews)."""
        try:
            return self.request("POST", path, body=obj, query={"dryRun": "All" if dry_run else None})
        except ApiError as exc:
            raise self._refused(exc, obj) from exc

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None,
               propagation: str = "Background") -> bool:
        """Delete one object; ``False`` when it was already gone."""
        info = self.resource(api_version, kind)
        try:
            self.request("DELETE", info.path(namespace, name), body={"propagationPolicy": propagation})
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def _refused(self, exc: ApiError, obj: Obj) -> KubelabError:
        """The object's refusal (its content, or an admission plugin: quota, LimitRange, Pod Security…)
        as a ``RefusedError``; an authorization denial (who we are) stays an infrastructure error."""
        admission = exc.status == 403 and not authorization_denied(str(exc.body.get("message", "")))
        if exc.status in (400, 404, 409, 422, 429) or admission:
            meta = obj.get("metadata", {})
            where = f"{obj.get('kind')} « {meta.get('name', '?')} »"
            if meta.get("namespace"):
                where += f" (namespace « {meta['namespace']} »)"
            details = exc.body.get("message") or str(exc)
            return RefusedError(f"Le serveur d'API refuse {where} : {details}", exc.status, exc.body)
        return exc

    def watch(self, api_version: str, kind: str, namespace: str | None = None, resource_version: str | None = None,
              timeout_seconds: int = 30, label_selector: str | None = None) -> Iterator[Obj]:
        """Stream watch events (dicts with ``type`` and ``object``) until the server closes."""
        info = self.resource(api_version, kind)
        self.counter.add("WATCH")
        query: list[tuple[str, Any]] = [("watch", "true"), ("timeoutSeconds", str(timeout_seconds)),
                                        ("allowWatchBookmarks", "true")]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        if label_selector:
            query.append(("labelSelector", label_selector))
        raw = self._send("GET", info.path(namespace), query, "application/json", None, timeout_seconds + 5)
        if raw.status >= 400:
            data = raw.read()
            raw.release_conn()
            raise self._api_error("WATCH", info.path(namespace), raw.status, raw.reason, data)
        from urllib3.exceptions import ProtocolError, ReadTimeoutError

        buffer = b""
        try:
            for chunk in raw.stream(4096, decode_content=False):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
        except (ProtocolError, ReadTimeoutError):
            return
        finally:
            raw.release_conn()

    def server_version(self) -> Obj:
        return self.request("GET", "/version")

    def exec(self, namespace: str, pod: str, container: str, command: Sequence[str],
             timeout: float) -> tuple[int | None, str, str]:
        """Run ``command`` in a container (the exec subresource, over a websocket): (exit code, stdout, stderr).

        The channel protocol ``v4.channel.k8s.io``: each binary message starts with its channel
        (1 stdout, 2 stderr, 3 the final Status, whose ``ExitCode`` cause carries the code).
        The exit code is ``None`` when the command could not start.
        """
        import time

        import websocket

        self.counter.add("EXEC")
        query = urlencode([*(("command", part) for part in command), ("container", container), ("stdout", "true"),
                           ("stderr", "true")])
        path = self.resource("v1", "Pod").path(namespace, pod, "exec")
        url = "ws" + self.server.removeprefix("http") + f"{path}?{query}"
        headers = [f"{key}: {value}" for key, value in self._headers().items() if key == "Authorization"]
        channels: dict[int, bytearray] = {1: bytearray(), 2: bytearray(), 3: bytearray()}
        try:
            connection = websocket.create_connection(url, header=headers, subprotocols=[EXEC_PROTOCOL],
                                                     sslopt={"context": self._ssl} if self._ssl else None,
                                                     timeout=timeout)
            try:
                until = time.monotonic() + timeout
                while time.monotonic() < until:
                    opcode, data = connection.recv_data()
                    if opcode == websocket.ABNF.OPCODE_CLOSE:
                        break
                    if data and data[0] in channels:
                        channels[data[0]] += data[1:]
            finally:
                connection.close()
        except websocket.WebSocketBadStatusException as exc:
            raise KubelabError(f"exec dans le pod « {pod} » impossible ({exc.status_code}) : "
                               f"{_status_message(exc.resp_body) or _short(exc)}") from exc
        except (websocket.WebSocketException, OSError) as exc:
            raise KubelabError(f"exec dans le pod « {pod} » impossible : {_short(exc)}") from exc
        out, err = (channels[channel].decode(errors="replace") for channel in (1, 2))
        return _exit_code(bytes(channels[3])), out, err


def _status_message(body: bytes | str | None) -> str:
    """The ``message`` of a JSON Status, or ``""``."""
    try:
        status = json.loads(body or b"")
    except (TypeError, ValueError):
        return ""
    return str(status.get("message", "")) if isinstance(status, dict) else ""


def _exit_code(status_text: bytes) -> int | None:
    """The exit code in the Status of an exec's error channel: 0 on success, ``None`` if it never ran."""
    try:
        status = json.loads(status_text or b"{}")
    except ValueError:
        return None
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message", ""))
            except ValueError:
                return None
    return None


def _ssl_context(endpoint: kubeconfig.Endpoint) -> ssl.SSLContext:
    """Trust the kubeconfig's CA (or the system's), present its client certificate, if any."""
    import ssl

    try:
        context = ssl.create_default_context(cadata=endpoint.ca_pem.decode() if endpoint.ca_pem else None)
        if endpoint.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if endpoint.client_cert_pem and endpoint.client_key_pem:
            _load_client_certificate(context, endpoint.client_cert_pem, endpoint.client_key_pem)
    except (ssl.SSLError, ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"Les certificats du {endpoint.description} sont inutilisables : {_short(exc)}.") from exc
    return context


def _load_client_certificate(context: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    """``load_cert_chain`` reads files only: write them in a private folder, load them, delete them."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kubelab-cert-") as folder:
        cert, key = Path(folder) / "client.crt", Path(folder) / "client.key"
        for path, data in ((cert, cert_pem), (key, key_pem)):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                out.write(data)
        context.load_cert_chain(cert, key)


def warning_texts(headers: list[str]) -> list[str]:
    """The texts of ``Warning`` headers (RFC 7234 : ``299 - "text"``); a header may hold several."""
    texts: list[str] = []
    for header in headers:
        for match in re.finditer(r'\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"', header):
            texts.append(re.sub(r"\\(.)", r"\1", match.group(1)))
    return texts
UNKNOWN_AUTHORITY = "le certificat du serveur est signé par une autorité que le kubeconfig ne reconnaît pas"
TLS_REASONS = (
    ("Hostname mismatch", "le certificat du serveur n'est pas valable pour ce nom"),
    ("IP address mismatch", "le certificat du serveur n'est pas valable pour cette adresse"),
    ("certificate has expired", "le certificat du serveur a expiré"),
    ("self-signed certificate", UNKNOWN_AUTHORITY),
    ("self signed certificate", UNKNOWN_AUTHORITY),
    ("unable to get local issuer certificate", UNKNOWN_AUTHORITY),
    ("certificate verify failed", "le certificat du serveur n'a pas pu être vérifié"),
    ("wrong version number", "le serveur ne parle pas TLS à cette adresse (http:// au lieu de https:// ?)"),
    ("certificate required", "le serveur demande un certificat client que le kubeconfig ne fournit pas"),
    ("bad certificate", "le serveur refuse le certificat client du kubeconfig"),
)
"""Fragments of OpenSSL's messages and what they mean, in French."""


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything behind it: causes, contexts, urllib3's ``reason``."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        pending += [reason if isinstance(reason, BaseException) else None, current.__cause__, current.__context__]


def tls_problem(exc: BaseException) -> str | None:
    """What went wrong in the TLS handshake, in French, or ``None`` when it is not a TLS failure."""
    import ssl

    import urllib3

    failure = next((e for e in _causes(exc) if isinstance(e, ssl.SSLError | urllib3.exceptions.SSLError)), None)
    if failure is None:
        return None
    text = str(failure)
    return next((french for fragment, french in TLS_REASONS if fragment in text), f"échec TLS ({clip(text)})")


def clip(text: str, limit: int = 200) -> str:
    """``text`` on one line, at most ``limit`` characters, cut between words (« … » marks the cut)."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0].rstrip(",;:(")
    return f"{cut} …"


def _short(exc: BaseException) -> str:
    text = str(exc)
    if "Connection refused" in text:
        return "connexion refusée"
    if "timed out" in text.lower():
        return "délai dépassé"
    if "Name or service not known" in text or "Failed to resolve" in text:
        return "nom d'hôte inconnu"
    return clip(text.splitlines()[0]) if text else type(exc).__name__
