"""On the real node, do containers really run, and do Services, DNS, volumes and policies work?"""

from __future__ import annotations

import pytest

from kubelab.waiting import wait_for
from tests.helpers import apply_yaml

from .conftest import RealCluster, eventually

pytestmark = pytest.mark.real_node

SERVER = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: busybox:1.37
        command: [sh, -c, 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www']
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec:
  containers:
  - name: client
    image: busybox:1.37
    command: [sh, -c, 'echo client prêt; exec sleep 3600']
"""


def _ready(real: RealCluster, namespace: str, count: int) -> None:
    wait_for(real.api, "v1", "Pod", lambda pods: sum(
        any(c.get("type") == "Ready" and c.get("status") == "True" for c in p.get("status", {}).get("conditions", []))
        for p in pods) >= count, namespace=namespace, what=f"{count} pods prêts", timeout=120)


def test_containers_run_with_logs_and_exec(real: RealCluster, real_namespace: str) -> None:
    """Does a busybox pod really run: its log, exec in it, and the node it runs on is the real one?"""
    apply_yaml(real.api, SERVER, real_namespace)
    _ready(real, real_namespace, 3)
    assert "client prêt" in real.kubectl("-n", real_namespace, "logs", "client").stdout
    exec_out = real.kubectl("-n", real_namespace, "exec", "client", "--", "sh", "-c", "echo $((6 * 7))").stdout
    assert exec_out.strip() == "42"
    pod = real.api.get("v1", "Pod", "client", real_namespace)
    assert pod is not None and pod["spec"]["nodeName"] == real.sandbox.read_state().real_node  # type: ignore[union-attr]


def test_service_routes_by_dns_name_to_both_replicas(real: RealCluster, real_namespace: str) -> None:
    """From another pod, does http://web (kube-dns, kube-proxy) answer, from each replica in turn?"""
    apply_yaml(real.api, SERVER, real_namespace)
    _ready(real, real_namespace, 3)
    hostnames = set()
    for _ in range(20):
        out = real.kubectl("-n", real_namespace, "exec", "client", "--", "wget", "-q", "-O-", "-T", "3",
                           f"http://web.{real_namespace}.svc.cluster.local/").stdout
        hostnames.add(out.strip())
    assert len(hostnames) == 2, hostnames
    short = real.kubectl("-n", real_namespace, "exec", "client", "--", "wget", "-q", "-O-", "-T", "3", "http://web/")
    assert short.stdout.strip() in hostnames


def test_volume_keeps_a_file_across_pod_deletion(real: RealCluster, real_namespace: str) -> None:
    """Does a microk8s-hostpath claim keep what a first pod wrote, for the pod that replaces it?"""
    apply_yaml(real.api, """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  containers:
  - name: main
    image: busybox:1.37
    command:
    - sh
    - -c
    - 'cat /data/mark 2>/dev/null || echo absent; echo "$(hostname) était là" >> /data/mark; exec sleep 3600'
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
""", real_namespace)
    _ready(real, real_namespace, 1)
    assert "absent" in real.kubectl("-n", real_namespace, "logs", "writer").stdout
    real.kubectl("-n", real_namespace, "delete", "pod", "writer", "--grace-period=1", "--wait=true")
    apply_yaml(real.api, """
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  containers:
  - name: main
    image: busybox:1.37
    command: [sh, -c, 'cat /data/mark; exec sleep 3600']
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
""", real_namespace)
    _ready(real, real_namespace, 1)
    assert "writer était là" in real.kubectl("-n", real_namespace, "logs", "reader").stdout


def test_an_image_that_does_not_exist_fails_fast(real: RealCluster, real_namespace: str) -> None:
    """An image nobody built here: ErrImagePull or ImagePullBackOff within seconds, nothing leaves the machine."""
    apply_yaml(real.api, """
apiVersion: v1
kind: Pod
metadata: {name: ghost}
spec:
  containers:
  - {name: main, image: "docker.io/library/does-not-exist:1.0"}
  - {name: elsewhere, image: "registry.example.com/team/app:2.0"}
""", real_namespace)

    def pulling_failed(pods: list[dict]) -> bool:
        statuses = pods[0].get("status", {}).get("containerStatuses", []) if pods else []
        reasons = {(s.get("state", {}).get("waiting") or {}).get("reason") for s in statuses}
        return len(statuses) == 2 and reasons <= {"ErrImagePull", "ImagePullBackOff"}

    wait_for(real.api, "v1", "Pod", pulling_failed, namespace=real_namespace, what="l'échec du tirage", timeout=60)


def test_a_network_policy_really_blocks(real: RealCluster, real_namespace: str) -> None:
    """Before a deny-all ingress policy the client connects; after it, the connection is refused (kube-router)."""
    apply_yaml(real.api, SERVER, real_namespace)
    _ready(real, real_namespace, 3)

    def probe() -> int:
        return real.kubectl("-n", real_namespace, "exec", "client", "--", "nc", "-z", "-w", "2", "web", "80",
                            check=False).returncode

    assert probe() == 0
    apply_yaml(real.api, """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-web}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
""", real_namespace)
    eventually(lambda: probe() != 0, timeout=30, what="que la politique bloque le flux")
