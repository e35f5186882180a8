"""Does the hostpath-storage addon provision and reclaim volumes like MicroK8s?"""

from __future__ import annotations

from kubelab.kube_api import KubeApi
from kubelab.waiting import named, wait_for
from tests.helpers import apply_yaml

CLAIM_AND_POD = """
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
  - name: writer
    image: busybox:1.36
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data}
"""


def test_claim_on_default_class_binds_and_its_volume_is_deleted_with_it(kube_api: KubeApi, namespace: str) -> None:
    """Does a claim on the default class get Bound, with a Delete volume that disappears with the claim?"""
    default_classes = [
        sc for sc in kube_api.list("storage.k8s.io/v1", "StorageClass")
        if sc["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class") == "true"
    ]
    assert [sc["metadata"]["name"] for sc in default_classes] == ["microk8s-hostpath"]
    assert default_classes[0]["provisioner"] == "microk8s.io/hostpath"
    assert default_classes[0]["volumeBindingMode"] == "WaitForFirstConsumer"

    apply_yaml(kube_api, CLAIM_AND_POD, namespace)
    claims = wait_for(kube_api, "v1", "PersistentVolumeClaim",
                      named("data", lambda c: c.get("status", {}).get("phase") == "Bound"),
                      namespace=namespace, timeout="pvc_bound", what="le PVC lié")
    claim = claims[0]
    assert claim["spec"]["storageClassName"] == "microk8s-hostpath"
    volume = kube_api.get("v1", "PersistentVolume", claim["spec"]["volumeName"])
    assert volume is not None
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert volume["spec"]["claimRef"]["name"] == "data"
    pod = wait_for(kube_api, "v1", "Pod", named("writer", lambda p: bool(p["spec"].get("nodeName"))),
                   namespace=namespace, what="le pod planifié")[0]
    terms = volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == [pod["spec"]["nodeName"]]

    kube_api.delete("v1", "Pod", "writer", namespace)
    kube_api.delete("v1", "PersistentVolumeClaim", "data", namespace)
    wait_for(kube_api, "v1", "PersistentVolume",
             lambda pvs: all(pv["metadata"]["name"] != volume["metadata"]["name"] for pv in pvs),
             timeout="deletion", what="la suppression du PV")
