"""The lifecycle of one sandbox: up, down, nodes, addons, kubeconfig.

Each sandbox has its own workdir (certificates, kubeconfigs, etcd data, logs, state file)
and its own ports, so several run side by side. Processes are detached: ``up`` returns and
the sandbox keeps running until ``down``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubelab.errors import InfrastructureError, UsageError
from kubelab.kube_api import ApiError, KubeApi, RefusedError
from kubelab.objects import is_ready
from kubelab.paths import sandboxes_root
from kubelab.sandbox import addons as addon_catalog
from kubelab.sandbox import processes, profile
from kubelab.sandbox.build import SandboxBinaries, ensure_binaries
from kubelab.sandbox.pki import Pki, ensure_pki

Progress = Callable[[str], None]
DEFAULT_NAME = "kubelab"
DEFAULT_ADDONS = ("dns",)
STARTUP_TIMEOUT = 60.0
STOP_GRACE = 0.5  # the sandbox's state is discarded on down: no need for a graceful drain
NODE_READY_TIMEOUT = 60.0
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [{"level": "Metadata"}],
}


@dataclass
class SandboxState:
    """What ``state.json`` records about a running sandbox."""

    name: str
    ports: dict[str, int]
    pids: dict[str, int] = field(default_factory=dict)
    rbac: bool = False
    audit: bool = False
    next_slot: int = 1
    started_at: float = 0.0
    metallb_range: str = ""
    api_host: str = processes.HOST
    real_node: str = ""
    egress_allow: list[str] = field(default_factory=list)
    node_pids: dict[str, int] = field(default_factory=dict)

    @property
    def server(self) -> str:
        return f"https://{self.api_host}:{self.ports['kube-apiserver']}"


class Sandbox:
    """One sandbox, named; its files live in ``<sandboxes root>/<name>``."""

    def __init__(self, name: str = DEFAULT_NAME, root: Path | None = None) -> None:
        if not name.replace("-", "").isalnum():
            raise UsageError(f"Nom de bac à sable invalide : « {name} » (lettres, chiffres et tirets).")
        self.name = name
        self.workdir = (root or sandboxes_root()) / name
        self.pki = Pki(self.workdir / "pki")

    # --- paths -------------------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.workdir / "state.json"

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    @property
    def audit_log(self) -> Path:
        return self.workdir / "audit.log"

    def read_state(self) -> SandboxState | None:
        if not self.state_file.exists():
            return None
        try:
            return SandboxState(**json.loads(self.state_file.read_text()))
        except (ValueError, TypeError):
            return None

    def _write_state(self, state: SandboxState) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state), indent=2))
        os.replace(tmp, self.state_file)

    # --- health --------------------------------------------------------------------------

    def is_running(self) -> bool:
        state = self.read_state()
        if state is None or not processes.is_alive(state.pids.get("kube-apiserver", -1), str(self.workdir)):
            return False
        return self._apiserver_ready(state)

    def _apiserver_ready(self, state: SandboxState) -> bool:
        cert, key = self.pki.client("admin")
        context = processes.client_tls(self.pki.ca_cert, cert, key)
        return processes.http_ok(f"{state.server}/readyz", context)

    def api(self) -> KubeApi:
        if not self.kubeconfig.exists():
            raise UsageError(f"Le bac à sable « {self.name} » n'est pas démarré : lancez « kubelab sandbox up ».")
        return KubeApi.from_kubeconfig(self.kubeconfig)

    # --- up / down -----------------------------------------------------------------------

    def up(
        self,
        nodes: int = 1,
        workers: int = 0,
        port: int | None = None,
        rbac: bool = False,
        audit: bool = False,
        addons: tuple[str, ...] = DEFAULT_ADDONS,
        progress: Progress = print,
        allow_go_download: bool = True,
        real_node: bool = False,
    ) -> SandboxState:
        """Start the sandbox and wait until every node is Ready; harmless when already up.

        With ``real_node``, the first control-plane node is a real one on this machine
        (kubelet, containerd, kube-proxy, kube-router): see ``kubelab.sandbox.realnode``.
        """
        if real_node:
            from kubelab.sandbox.realnode.ownership import require_capable_host

            require_capable_host()
        if nodes < 1:
            raise UsageError("Il faut au moins un nœud du plan de contrôle (--nodes 1 ou plus).")
        if workers < 0:
            raise UsageError("Le nombre de nœuds workers ne peut pas être négatif.")
        for addon in addons:
            addon_catalog.get_addon(addon)
        if self.is_running():
            progress(f"Le bac à sable « {self.name} » tourne déjà ({self.kubeconfig}).")
            state = self.read_state()
            assert state is not None
            return state
        if port is not None and not processes.port_is_free(port):
            raise UsageError(
                f"Le port {port} est déjà utilisé sur 127.0.0.1 : choisissez-en un autre (--port) "
                "ou laissez kubelab en choisir un libre."
            )
        binaries = ensure_binaries(progress, allow_go_download=allow_go_download)
        executables = None
        if real_node:
            from kubelab.sandbox.realnode import node as real_node_parts

            executables = real_node_parts.executables(binaries.kubelet, binaries.kube_proxy, progress,
                                                      allow_go_download)
        self._clean_leftovers()
        started = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        state = SandboxState(
            name=self.name,
            ports={name: processes.free_port()
                   for name in ("etcd", "etcd-peer", "kube-controller-manager", "kube-scheduler", "kwok")},
            rbac=rbac or "rbac" in addons,
            audit=audit,
            started_at=time.time(),
        )
        state.ports["kube-apiserver"] = port if port is not None else processes.free_port()
        self._write_state(state)
        try:
            network = None
            if executables is not None:
                from kubelab.sandbox.realnode import lifecycle

                network = lifecycle.claim_host(self.workdir, slot=state.next_slot, progress=progress)
                state.api_host = network.node_ip
                state.real_node = profile.node_name(1, worker=False)
                state.egress_allow = [f"{network.node_ip}/32", network.pod_cidr]
                self._write_state(state)
            ensure_pki(self.pki.folder, extra_ips=(state.api_host,) if network else ())
            if network is not None:
                real_node_parts.issue_identities(self.pki, state.real_node)
            self._write_kubeconfigs(state)
            self._start_control_plane(state, binaries)
            api = self.api()
            first_simulated = 1
            if executables is not None and network is not None:
                state.next_slot += 1
                self._write_state(state)
                lifecycle.join(api, self.pki, state.server, state.real_node, network, executables, self.logs,
                               state.node_pids, NODE_READY_TIMEOUT)
                self._write_state(state)
                first_simulated = 2
            for node_index in range(first_simulated, nodes + 1):
                self._create_node(api, state, profile.node_name(node_index, worker=False), worker=False)
            for worker_index in range(1, workers + 1):
                self._create_node(api, state, profile.node_name(worker_index, worker=True), worker=True)
            self._apply(api, addon_catalog.load_manifests("core.yaml"))
            for addon in addons:
                self._enable(api, state, addon, progress=lambda _: None)
            self._wait_nodes_ready(api)
        except BaseException:
            self.down(progress=lambda _: None)
            raise
        real = f" dont le nœud réel « {state.real_node} »" if state.real_node else ""
        progress(
            f"Bac à sable « {self.name} » prêt en {time.monotonic() - started:.1f} s : "
            f"{nodes} nœud(s) du plan de contrôle{real}, {workers} worker(s), API {state.server}."
        )
        progress(f"export KUBECONFIG={self.kubeconfig}")
        return state

    def down(self, progress: Progress = print) -> None:
        """Stop every process of this sandbox and delete its workdir; a real node it owns is
        stopped first and the host restored."""
        state = self.read_state()
        self._release_real_node(state, progress)
        if state is not None:
            processes.stop(state.pids, marker=str(self.workdir), timeout=STOP_GRACE)
        self._kill_strays()
        if self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)
            progress(f"Bac à sable « {self.name} » arrêté et supprimé.")
        else:
            progress(f"Le bac à sable « {self.name} » n'existait pas : rien à arrêter.")

    def _release_real_node(self, state: SandboxState | None, progress: Progress) -> None:
        if (state is not None and state.real_node) or self._owns_real_node():
            from kubelab.sandbox.realnode import lifecycle

            lifecycle.release_host(self.workdir, progress)

    def _owns_real_node(self) -> bool:
        from kubelab.sandbox.realnode import ownership

        return ownership.owner() == self.workdir

    def _clean_leftovers(self) -> None:
        """A previous sandbox of this name that died: stop what remains, start afresh."""
        state = self.read_state()
        self._release_real_node(state, lambda _: None)
        if state is not None:
            processes.stop(state.pids, marker=str(self.workdir), timeout=STOP_GRACE)
        self._kill_strays()
        if self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _kill_strays(self) -> None:
        strays: dict[str, int] = {}
        marker = str(self.workdir) + os.sep
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and processes.is_alive(int(entry.name), marker):
                strays[entry.name] = int(entry.name)
        strays.pop(str(os.getpid()), None)
        if strays:
            processes.stop(strays, marker=marker, timeout=STOP_GRACE)

    # --- processes -----------------------------------------------------------------------

    def _start_control_plane(self, state: SandboxState, binaries: SandboxBinaries) -> None:
        work = self.workdir
        state.pids["etcd"] = processes.spawn("etcd", [
            str(binaries.etcd), "--name", "sandbox", "--data-dir", str(work / "etcd"),
            "--listen-client-urls", f"http://127.0.0.1:{state.ports['etcd']}",
            "--advertise-client-urls", f"http://127.0.0.1:{state.ports['etcd']}",
            "--listen-peer-urls", f"http://127.0.0.1:{state.ports['etcd-peer']}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{state.ports['etcd-peer']}",
            "--initial-cluster", f"sandbox=http://127.0.0.1:{state.ports['etcd-peer']}",
            "--unsafe-no-fsync", "--quota-backend-bytes", str(2 * 1024**3), "--log-level", "warn",
        ], self.logs)
        self._write_state(state)
        processes.wait_until(
            lambda: processes.http_ok(f"http://127.0.0.1:{state.ports['etcd']}/health"),
            STARTUP_TIMEOUT, "etcd", self.logs / "etcd.log",
        )
        self._spawn_apiserver(state, binaries)
        processes.wait_until(lambda: self._apiserver_ready(state), STARTUP_TIMEOUT,
                             "kube-apiserver", self.logs / "kube-apiserver.log")
        self._spawn_controllers(state, binaries)
        self._write_state(state)

    def _spawn_egress_proxy(self, state: SandboxState) -> Path:
        """The API server's way to kubelets and pods: only the real node's addresses answer."""
        socket_path = self.workdir / "egress.sock"
        allow = [arg for cidr in state.egress_allow for arg in ("--allow", cidr)]
        state.pids["egress-proxy"] = processes.spawn("egress-proxy", [
            sys.executable, "-m", "kubelab.sandbox.egress_proxy", "--socket", str(socket_path), *allow,
        ], self.logs)
        processes.wait_until(socket_path.exists, STARTUP_TIMEOUT, "le mandataire de sortie",
                             self.logs / "egress-proxy.log")
        config = self.workdir / "egress-selector.yaml"
        config.write_text(yaml.safe_dump({
            "apiVersion": "apiserver.k8s.io/v1beta1", "kind": "EgressSelectorConfiguration",
            "egressSelections": [{"name": "cluster", "connection": {
                "proxyProtocol": "HTTPConnect", "transport": {"uds": {"udsName": str(socket_path)}}}}],
        }))
        return config

    def _spawn_apiserver(self, state: SandboxState, binaries: SandboxBinaries) -> None:
        pki = self.pki
        egress = self.workdir / "egress-selector.yaml"
        if "egress-proxy" not in state.pids:
            egress = self._spawn_egress_proxy(state)
        argv = [
            str(binaries.kube_apiserver),
            f"--etcd-servers=http://127.0.0.1:{state.ports['etcd']}",
            f"--bind-address={state.api_host}", f"--advertise-address={state.api_host}",
            f"--secure-port={state.ports['kube-apiserver']}",
            f"--service-cluster-ip-range={profile.SERVICE_CIDR}",
            *apiserver_identity_flags(pki),
            f"--authorization-mode={'Node,RBAC' if state.rbac else 'AlwaysAllow'}",
            "--allow-privileged=true", "--profiling=false", "--event-ttl=1h", "--v=1",
            f"--cert-dir={self.workdir / 'pki'}",
            f"--egress-selector-config-file={egress}", "--kubelet-preferred-address-types=InternalIP,Hostname",
        ]
        if state.real_node:
            cert, key = pki.client("apiserver-kubelet-client")
            argv += [f"--kubelet-client-certificate={cert}", f"--kubelet-client-key={key}"]
        if state.audit:
            policy = self.workdir / "audit-policy.yaml"
            policy.write_text(yaml.safe_dump(AUDIT_POLICY))
            argv += [f"--audit-policy-file={policy}", f"--audit-log-path={self.audit_log}",
                     "--audit-log-mode=blocking", "--audit-log-format=json"]
        state.pids["kube-apiserver"] = processes.spawn("kube-apiserver", argv, self.logs)

    def _spawn_controllers(self, state: SandboxState, binaries: SandboxBinaries) -> None:
        pki, work = self.pki, self.workdir

        def auth(name: str) -> list[str]:
            kubeconfig = work / f"{name}.kubeconfig"
            return [f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                    f"--authorization-kubeconfig={kubeconfig}"]

        state.pids["kube-controller-manager"] = processes.spawn("kube-controller-manager", [
            str(binaries.kube_controller_manager), *auth("controller-manager"),
            "--bind-address=127.0.0.1", f"--secure-port={state.ports['kube-controller-manager']}",
            "--leader-elect=false", "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki.path('sa.key')}", f"--root-ca-file={pki.ca_cert}",
            f"--cluster-signing-cert-file={pki.ca_cert}", f"--cluster-signing-key-file={pki.path('ca.key')}",
            f"--cluster-cidr={profile.POD_CIDR}", f"--service-cluster-ip-range={profile.SERVICE_CIDR}",
            "--allocate-node-cidrs=false", "--kube-api-qps=100", "--kube-api-burst=200",
            "--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10", "--v=1",
        ], self.logs)
        state.pids["kube-scheduler"] = processes.spawn("kube-scheduler", [
            str(binaries.kube_scheduler), *auth("scheduler"),
            "--bind-address=127.0.0.1", f"--secure-port={state.ports['kube-scheduler']}",
            "--leader-elect=false", "--kube-api-qps=100", "--kube-api-burst=200", "--v=1",
        ], self.logs)
        stages = Path(str(addon_catalog.resources.files("kubelab.sandbox").joinpath("data", "stages.yaml")))
        state.pids["kwok"] = processes.spawn("kwok", [
            str(binaries.kwok), f"--kubeconfig={work / 'kwok.kubeconfig'}", f"--config={stages}",
            "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--server-address=127.0.0.1:{state.ports['kwok']}", "--node-lease-duration-seconds=40",
            f"--cidr={profile.POD_CIDR}",
        ], self.logs)
        state.pids["sandbox-controller"] = processes.spawn("sandbox-controller", [
            sys.executable, "-m", "kubelab.sandbox.controller",
            f"--kubeconfig={work / 'sandbox-controller.kubeconfig'}",
        ], self.logs)

    def _write_kubeconfigs(self, state: SandboxState) -> None:
        server = state.server
        ca = base64.b64encode(self.pki.ca_cert.read_bytes()).decode()
        for name in ("admin", "controller-manager", "scheduler", "kwok", "sandbox-controller"):
            cert, key = self.pki.client(name)
            config = {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "microk8s-cluster",
                              "cluster": {"server": server, "certificate-authority-data": ca}}],
                "users": [{"name": name, "user": {
                    "client-certificate-data": base64.b64encode(cert.read_bytes()).decode(),
                    "client-key-data": base64.b64encode(key.read_bytes()).decode(),
                }}],
                "contexts": [{"name": "microk8s", "context": {"cluster": "microk8s-cluster", "user": name}}],
                "current-context": "microk8s",
            }
            target = self.kubeconfig if name == "admin" else self.workdir / f"{name}.kubeconfig"
            target.write_text(yaml.safe_dump(config))
            target.chmod(0o600)

    # --- objects ---------------------------------------------------------------------------

    def _apply(self, api: KubeApi, objects: list[dict[str, Any]]) -> None:
        for obj in objects:
            api.apply(obj, field_manager="kubelab-sandbox")

    def _create_node(self, api: KubeApi, state: SandboxState, name: str, worker: bool) -> None:
        manifest = profile.node_manifest(name, state.next_slot, worker)
        state.next_slot += 1
        self._write_state(state)
        try:
            api.create(manifest)
        except RefusedError as exc:
            if exc.status == 409:
                raise UsageError(f"Un nœud nommé « {name} » existe déjà dans le bac à sable.") from exc
            raise

    def _wait_nodes_ready(self, api: KubeApi, timeout: float = NODE_READY_TIMEOUT) -> None:
        def all_ready() -> bool:
            nodes = api.list("v1", "Node")
            return bool(nodes) and all(is_ready(node) for node in nodes)

        processes.wait_until(all_ready, timeout, "que tous les nœuds soient Ready", self.logs / "kwok.log")

    def _require_running(self) -> SandboxState:
        state = self.read_state()
        if state is None or not self.is_running():
            raise UsageError(f"Le bac à sable « {self.name} » n'est pas démarré : lancez « kubelab sandbox up ».")
        return state

    def add_node(self, worker: bool = False, progress: Progress = print) -> str:
        """Join one more node (control plane by default, like ``microk8s join``)."""
        state = self._require_running()
        api = self.api()
        existing = {node["metadata"]["name"] for node in api.list("v1", "Node")}
        index = 1
        while profile.node_name(index, worker) in existing:
            index += 1
        name = profile.node_name(index, worker)
        self._create_node(api, state, name, worker)
        self._wait_nodes_ready(api)
        progress(f"Nœud « {name} » ajouté ({'worker' if worker else 'plan de contrôle'}).")
        return name

    def remove_node(self, name: str, progress: Progress = print) -> None:
        """Remove a node, like ``microk8s remove-node``; its pods are deleted with it."""
        self._require_running()
        api = self.api()
        if api.get("v1", "Node", name) is None:
            names = ", ".join(node["metadata"]["name"] for node in api.list("v1", "Node")) or "aucun"
            raise UsageError(f"Le nœud « {name} » n'existe pas dans le bac à sable (nœuds : {names}).")
        api.delete("v1", "Node", name)
        for pod in api.list("v1", "Pod", field_selector=f"spec.nodeName={name}"):
            meta = pod["metadata"]
            api.request("DELETE", f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                        body={"gracePeriodSeconds": 0})
        progress(f"Nœud « {name} » retiré.")

    # --- addons ----------------------------------------------------------------------------

    def enable_addon(self, spec: str, progress: Progress = print) -> None:
        state = self._require_running()
        self._enable(self.api(), state, spec, progress)

    def disable_addon(self, name: str, progress: Progress = print) -> None:
        state = self._require_running()
        addon = addon_catalog.get_addon(name)
        api = self.api()
        if addon.always_enabled:
            raise UsageError(f"L'addon « {addon.name} » fait partie du cœur de MicroK8s : il ne se désactive pas.")
        if addon.name == "rbac":
            self._set_rbac(state, False)
        elif addon.manifest:
            objects = addon_catalog.load_manifests(addon.manifest)
            if addon.name == "metallb":
                pool = addon_catalog.load_manifests("addons/metallb-pool.yaml", {"RANGE": state.metallb_range or "x"})
                objects = pool + objects
            for obj in reversed(objects):
                meta = obj["metadata"]
                try:
                    api.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
                except UsageError:
                    continue
        progress(f"Addon « {addon.name} » désactivé.")

    def _enable(self, api: KubeApi, state: SandboxState, spec: str, progress: Progress) -> None:
        addon = addon_catalog.get_addon(spec)
        argument = spec.split(":", 1)[1] if ":" in spec else addon.argument
        for required in addon.requires:
            self._enable(api, state, required, progress)
        if addon.name == "rbac":
            self._set_rbac(state, True)
        elif addon.manifest:
            objects = addon_catalog.load_manifests(addon.manifest)
            if addon.name == "dns" and state.real_node:
                objects = [_on_real_node(obj) for obj in objects]
            self._apply(api, objects)
            if addon.name == "metallb":
                self._wait_crd(api, "ipaddresspools.metallb.io")
                self._wait_crd(api, "l2advertisements.metallb.io")
                self._apply(api, addon_catalog.load_manifests("addons/metallb-pool.yaml", {"RANGE": argument or ""}))
                state.metallb_range = argument or ""
                self._write_state(state)
        progress(f"Addon « {addon.name} » activé.")

    def _wait_crd(self, api: KubeApi, name: str) -> None:
        def established() -> bool:
            crd = api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
            conditions = (crd or {}).get("status", {}).get("conditions", [])
            return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)

        processes.wait_until(established, STARTUP_TIMEOUT, f"la CRD {name}")

    def _set_rbac(self, state: SandboxState, enabled: bool) -> None:
        """RBAC is an apiserver flag: restart the apiserver, as MicroK8s does."""
        if state.rbac == enabled:
            return
        from kubelab.sandbox.build import cached_binaries

        binaries = cached_binaries()
        if binaries is None:
            raise InfrastructureError("Les binaires du bac à sable ont disparu du cache : relancez "
                                      "« kubelab sandbox up ».")
        processes.stop({"kube-apiserver": state.pids["kube-apiserver"]}, marker=str(self.workdir), timeout=STOP_GRACE)
        state.rbac = enabled
        self._spawn_apiserver(state, binaries)
        self._write_state(state)
        processes.wait_until(lambda: self._apiserver_ready(state), STARTUP_TIMEOUT,
                             "le redémarrage de kube-apiserver", self.logs / "kube-apiserver.log")
        self._wait_authorizer(enabled)

    def _wait_authorizer(self, rbac: bool) -> None:
        """After a restart, RBAC answers only once its informers are synced: wait for that."""
        api = self.api()
        review = {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": "system:kube-scheduler", "resourceAttributes": {"verb": "list", "resource": "pods"}},
        }

        def settled() -> bool:
            try:
                answer = api.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
            except (ApiError, UsageError):
                return False
            return bool(answer.get("status", {}).get("allowed"))

        processes.wait_until(settled, STARTUP_TIMEOUT, "l'autorisation RBAC")


def apiserver_identity_flags(pki: Pki) -> list[str]:
    """The API server's certificate, the CA it trusts for clients and its service-account keys: the
    flags every API server over the sandbox's PKI takes."""
    return [
        f"--tls-cert-file={pki.path('apiserver.crt')}", f"--tls-private-key-file={pki.path('apiserver.key')}",
        f"--client-ca-file={pki.ca_cert}",
        f"--service-account-key-file={pki.path('sa.pub')}",
        f"--service-account-signing-key-file={pki.path('sa.key')}",
        "--service-account-issuer=https://kubernetes.default.svc",
    ]


def _on_real_node(obj: dict[str, Any]) -> dict[str, Any]:
    """CoreDNS must really answer, so on a sandbox with a real node its pod runs there."""
    if obj.get("kind") == "Deployment":
        from kubelab.sandbox.realnode.components import REAL_NODE_LABEL

        obj["spec"]["template"]["spec"]["nodeSelector"] = {REAL_NODE_LABEL: "true"}
    return obj
