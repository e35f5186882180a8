"""The sandbox controller: does what MicroK8s's hostpath provisioner does, driven by watches.

While the ``kube-system/hostpath-provisioner`` Deployment exists (the addon is enabled), a
claim on a class whose provisioner is ``microk8s.io/hostpath`` gets a PersistentVolume on
the node the scheduler selected (WaitForFirstConsumer), and a Released volume whose
reclaim policy is Delete is deleted, as the real provisioner does.

Run as ``python -m kubelab.sandbox.controller --kubeconfig FILE``.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from typing import Any

from kubelab.errors import KubelabError
from kubelab.kube_api import KubeApi
from kubelab.sandbox.realnode.components import REAL_NODE_LABEL
from kubelab.sandbox.realnode.layout import storage_folder

PROVISIONER = "microk8s.io/hostpath"
PV_DIR = "/var/snap/microk8s/common/default-storage"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
PROVISIONER_ANNOTATIONS = ("volume.kubernetes.io/storage-provisioner", "volume.beta.kubernetes.io/storage-provisioner")
RESYNC_SECONDS = 10

log = logging.getLogger("kubelab.sandbox.controller")


def volume_for_claim(claim: dict[str, Any], storage_class: dict[str, Any],
                     real_nodes: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """The PersistentVolume the hostpath provisioner would create for ``claim``, or None yet.

    On the real node the folder lies under the node's own folder (``down`` removes it), not
    under MicroK8s's /var/snap path."""
    meta = claim["metadata"]
    annotations = meta.get("annotations", {}) or {}
    if claim.get("spec", {}).get("volumeName") or claim.get("status", {}).get("phase") == "Bound":
        return None
    if not any(annotations.get(key) == PROVISIONER for key in PROVISIONER_ANNOTATIONS):
        return None
    node = annotations.get(SELECTED_NODE)
    if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer" and not node:
        return None
    name = f"pvc-{meta['uid']}"
    base = str(storage_folder()) if node in real_nodes else PV_DIR
    volume: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
        "spec": {
            "capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"]},
            "accessModes": claim["spec"].get("accessModes", ["ReadWriteOnce"]),
            "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"),
            "storageClassName": storage_class["metadata"]["name"],
            "volumeMode": claim["spec"].get("volumeMode", "Filesystem"),
            "hostPath": {"path": f"{base}/{meta['namespace']}-{meta['name']}-{name}", "type": "DirectoryOrCreate"},
            "claimRef": {
                "apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                "name": meta["name"], "uid": meta["uid"],
            },
        },
    }
    if node:
        volume["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    return volume


def volume_to_delete(volume: dict[str, Any]) -> bool:
    annotations = volume["metadata"].get("annotations", {}) or {}
    return (
        annotations.get("pv.kubernetes.io/provisioned-by") == PROVISIONER
        and volume.get("spec", {}).get("persistentVolumeReclaimPolicy") == "Delete"
        and volume.get("status", {}).get("phase") in ("Released", "Failed")
    )


class HostpathProvisioner:
    """Reconciles claims and volumes; ``reconcile`` is safe to call at any time."""

    def __init__(self, api: KubeApi) -> None:
        self.api = api
        self.lock = threading.Lock()

    def enabled(self) -> bool:
        return self.api.get("apps/v1", "Deployment", "hostpath-provisioner", "kube-system") is not None

    def reconcile(self) -> None:
        with self.lock:
            if not self.enabled():
                return
            classes = {
                sc["metadata"]["name"]: sc
                for sc in self.api.list("storage.k8s.io/v1", "StorageClass")
                if sc.get("provisioner") == PROVISIONER
            }
            real_nodes = frozenset(node["metadata"]["name"]
                                   for node in self.api.list("v1", "Node", label_selector=f"{REAL_NODE_LABEL}=true"))
            for claim in self.api.list("v1", "PersistentVolumeClaim"):
                storage_class = classes.get(claim.get("spec", {}).get("storageClassName") or "")
                volume = volume_for_claim(claim, storage_class, real_nodes) if storage_class else None
                if volume is not None and self.api.get("v1", "PersistentVolume", volume["metadata"]["name"]) is None:
                    self.api.create(volume)
                    log.info("provisioned %s for %s/%s", volume["metadata"]["name"],
                             claim["metadata"]["namespace"], claim["metadata"]["name"])
            for volume in self.api.list("v1", "PersistentVolume"):
                if volume_to_delete(volume):
                    self.api.delete("v1", "PersistentVolume", volume["metadata"]["name"])
                    log.info("deleted %s", volume["metadata"]["name"])


def _watch_forever(api: KubeApi, kind: str, provisioner: HostpathProvisioner) -> None:
    while True:
        try:
            for _event in api.watch("v1", kind, timeout_seconds=RESYNC_SECONDS):
                provisioner.reconcile()
            provisioner.reconcile()
        except KubelabError as exc:
            log.warning("watch %s: %s", kind, exc)
            time.sleep(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Contrôleur du bac à sable kubelab")
    parser.add_argument("--kubeconfig", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    api = KubeApi.from_kubeconfig(args.kubeconfig)
    provisioner = HostpathProvisioner(api)
    threads = [
        threading.Thread(target=_watch_forever, args=(api, kind, provisioner), daemon=True)
        for kind in ("PersistentVolumeClaim", "PersistentVolume")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
