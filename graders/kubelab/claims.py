"""What a lab's PersistentVolumeClaim should ask for: the default class, ReadWriteOnce, a size.

Shared by the labs that give an application persistent storage (03, 08, 09), so the same
request gets the same French verdict everywhere.
"""

from __future__ import annotations

from kubelab.checks import ObjectRef, Verdict, failed, passed
from kubelab.cluster_state import CLUSTER_SCOPE, ClusterState, Obj
from kubelab.objects import default_storage_class, quantity

GIBIBYTE = 2**30
ACCESS_MODE = "ReadWriteOnce"
ENABLE_STORAGE = ("Sans StorageClass par défaut, activez le stockage : « microk8s enable hostpath-storage » sur "
                  "MicroK8s, « kubelab sandbox addon enable hostpath-storage » sur le bac à sable.")
NO_DEFAULT_CLASS_HINT = ("Le cluster n'a pas de StorageClass par défaut : ce n'est pas votre manifeste. "
                         + ENABLE_STORAGE)


def claim_request(state: ClusterState, pvc: Obj, *others: ObjectRef, min_size: int = GIBIBYTE) -> Verdict:
    """Does ``pvc`` ask for the default StorageClass (or none), ``ReadWriteOnce`` and ``min_size``?

    The statements ask for ``ReadWriteOnce``: that mode alone is accepted (``ReadWriteOncePod``
    or an extra mode asks for something else). The StorageClasses are read cluster-wide: the
    lab must declare that read. Both verdicts say what the claim asks for, as found.
    """
    name = pvc["metadata"]["name"]
    ref = ObjectRef("PersistentVolumeClaim", name)
    spec = pvc.get("spec") or {}
    default = default_storage_class(state.objects("storage.k8s.io/v1", "StorageClass", CLUSTER_SCOPE))
    if default is None:
        return failed(f"Le PVC `{name}` devrait demander la StorageClass par défaut, mais ce cluster n'en a aucune : "
                      "aucun PVC ne peut y être lié.", ref, *others, hint=NO_DEFAULT_CLASS_HINT)
    default_name = default["metadata"]["name"]
    wanted_class = spec.get("storageClassName")
    problems = []
    if wanted_class not in (None, default_name):
        problems.append(f"la classe par défaut `{default_name}` (trouvé : `{wanted_class}`)")
    modes = list(dict.fromkeys(spec.get("accessModes") or []))
    if modes != [ACCESS_MODE]:
        found = ", ".join(f"`{m}`" for m in modes) or "aucun"
        problems.append(f"le mode `{ACCESS_MODE}` et lui seul (trouvé : {found})")
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if (quantity(size) or 0) < min_size:
        problems.append(f"au moins `{_size(min_size)}` (trouvé : {f'`{size}`' if size else 'aucune taille'})")
    if problems:
        return failed(f"Le PVC `{name}` devrait demander {' ; '.join(problems)}.", ref, *others,
                      hint=f"La classe par défaut (`{default_name}`, ou pas de `storageClassName`), `accessModes: "
                           f"[{ACCESS_MODE}]` et `resources.requests.storage` d'au moins `{_size(min_size)}`.")
    on = f"la classe `{wanted_class}`" if wanted_class else f"la classe par défaut `{default_name}`"
    return passed(f"Le PVC `{name}` demande `{size}` en `{modes[0]}` sur {on}.", ref)


def unbindable(state: ClusterState, pvc: Obj) -> tuple[str, str] | None:
    """Why ``pvc`` can never be bound, whatever the pods do: (the reason, its hint), or ``None``.

    A claim waiting for its first pod (WaitForFirstConsumer) is not one of these: only a class
    that does not exist (no default class, or a name no StorageClass has) is. The lab must
    declare the cluster-wide StorageClass read.
    """
    classes = state.objects("storage.k8s.io/v1", "StorageClass", CLUSTER_SCOPE)
    wanted = (pvc.get("spec") or {}).get("storageClassName")
    if wanted is None and default_storage_class(classes) is None:
        return "ce cluster n'a aucune StorageClass par défaut", NO_DEFAULT_CLASS_HINT
    if wanted and all(c["metadata"]["name"] != wanted for c in classes):
        found = ", ".join(f"`{c['metadata']['name']}`" for c in classes) or "aucune"
        return (f"la StorageClass `{wanted}` n'existe pas (StorageClasses du cluster : {found})",
                f"Retirez `storageClassName` pour la classe par défaut, ou nommez une StorageClass existante "
                f"(« kubectl get storageclass »). {ENABLE_STORAGE}")
    return None


def named_claim_request(state: ClusterState, name: str) -> Verdict:
    """:func:`claim_request` for the PVC ``name`` of the lab's namespace, which must exist."""
    pvc = state.get("v1", "PersistentVolumeClaim", name)
    if pvc is None:
        return failed(f"Le PVC `{name}` devrait exister (trouvé : aucun).", ObjectRef("PersistentVolumeClaim", name))
    return claim_request(state, pvc)


def _size(amount: int) -> str:
    return f"{amount // GIBIBYTE}Gi" if amount % GIBIBYTE == 0 else str(amount)
