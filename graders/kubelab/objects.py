"""Pure queries over Kubernetes objects (dicts), shared by the labs' checks."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

Obj = dict[str, Any]

SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|KEY|PWD", re.IGNORECASE)
# Kubernetes's quantity grammar: a signed decimal number, then a binary suffix (Ki…Ei), a
# decimal suffix (n, u, m, k, M, G, T, P, E) or a decimal exponent (e3, E-2).
QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
                      r"(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?[0-9]+))?$")
BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 10**3), "k": Fraction(10**3),
           "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12), "P": Fraction(10**15),
           "E": Fraction(10**18)}


def name_of(obj: Obj) -> str:
    return obj.get("metadata", {}).get("name", "")


def labels_of(obj: Obj) -> dict[str, str]:
    return obj.get("metadata", {}).get("labels") or {}


def pod_template(workload: Obj) -> Obj:
    """The pod template of a Deployment, StatefulSet, DaemonSet, Job; a CronJob's job template's."""
    spec = workload.get("spec") or {}
    if workload.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return spec.get("template") or {}


def pod_spec(obj: Obj) -> Obj:
    """The pod spec of a Pod or of a workload's template."""
    if obj.get("kind") == "Pod":
        return obj.get("spec") or {}
    return pod_template(obj).get("spec") or {}


def containers(obj: Obj) -> list[Obj]:
    """The regular containers of a Pod or of a workload's pod template."""
    return pod_spec(obj).get("containers") or []


def all_containers(obj: Obj) -> list[Obj]:
    """The init containers, then the regular containers: every container that reads configuration."""
    spec = pod_spec(obj)
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def env_var(container: Obj, name: str) -> Obj | None:
    return next((e for e in container.get("env") or [] if e.get("name") == name), None)


@dataclass(frozen=True)
class Reference:
    """A ConfigMap, Secret or PersistentVolumeClaim that a pod template refers to, and how.

    ``via`` is ``env`` (``valueFrom``, with ``variable`` and ``key``), ``envFrom`` (the whole
    object, variables named ``prefix`` + key) or ``volume`` (``key`` set when ``items`` picks
    keys; ``mounted`` when a container mounts the volume, ``container`` then names one of them;
    ``volume`` names the pod's volume).
    """

    kind: str
    name: str
    via: str
    container: str | None = None
    key: str | None = None
    variable: str | None = None
    prefix: str = ""
    optional: bool = False
    mounted: bool = True
    volume: str | None = None

    @property
    def where(self) -> str:
        """Where the pod spec asks for it, in French: « la variable `DB_HOST` du conteneur `api` »."""
        if self.via == "env":
            return f"la variable `{self.variable}` du conteneur `{self.container}`"
        if self.via == "envFrom":
            return f"`envFrom` du conteneur `{self.container}`"
        return f"le volume `{self.volume}`"


ENV_SOURCES = (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret"))
ENV_FROM_SOURCES = (("configMapRef", "ConfigMap"), ("secretRef", "Secret"))


def env_references(container: Obj) -> list[Reference]:
    """The ConfigMaps and Secrets one container reads into its environment (``env``, then ``envFrom``)."""
    name = container.get("name")
    found = []
    for var in container.get("env") or []:
        source = var.get("valueFrom") or {}
        for field, kind in ENV_SOURCES:
            if ref := source.get(field):
                found.append(Reference(kind, ref.get("name", ""), "env", name, ref.get("key", ""), var.get("name"),
                                       optional=bool(ref.get("optional"))))
    for source in container.get("envFrom") or []:
        for field, kind in ENV_FROM_SOURCES:
            if ref := source.get(field):
                found.append(Reference(kind, ref.get("name", ""), "envFrom", name, prefix=source.get("prefix") or "",
                                       optional=bool(ref.get("optional"))))
    return found


def references(obj: Obj) -> list[Reference]:
    """Every ConfigMap, Secret and PVC a Pod or a pod template refers to: environment of every container
    (init containers too) and volumes (``projected`` sources too), optional ones flagged."""
    spec = pod_spec(obj)
    found = [ref for container in all_containers(obj) for ref in env_references(container)]
    mounts = {m.get("name"): c.get("name") for c in all_containers(obj) for m in c.get("volumeMounts") or []}
    for volume in spec.get("volumes") or []:
        volume_name = volume.get("name")
        container = mounts.get(volume_name)
        sources = [(field, source[field]) for source in (volume.get("projected") or {}).get("sources") or []
                   for field in ("configMap", "secret") if source.get(field)]
        sources += [(field, volume[field]) for field in ("configMap", "secret") if volume.get(field)]
        for field, ref in sources:
            kind = "ConfigMap" if field == "configMap" else "Secret"
            name = ref.get("name") or ref.get("secretName") or ""
            keys = [item.get("key", "") for item in ref.get("items") or []] or [None]
            found += [Reference(kind, name, "volume", container, key, optional=bool(ref.get("optional")),
                                mounted=container is not None, volume=volume_name) for key in keys]
        if claim := (volume.get("persistentVolumeClaim") or {}).get("claimName"):
            found.append(Reference("PersistentVolumeClaim", claim, "volume", container, mounted=container is not None,
                                   volume=volume_name))
    return found


def secret_key_ref(container: Obj, name: str) -> tuple[str, str] | None:
    """(secret, key) of the Secret that sets variable ``name``: its ``env`` entry when it has one (``env``
    wins over ``envFrom``), else the last ``envFrom`` Secret whose prefix fits, read at key ``name``
    without the prefix (whether that Secret holds the key is for the caller to check)."""
    refs = env_references(container)
    if env_var(container, name) is not None:
        direct = next((r for r in refs if r.via == "env" and r.variable == name), None)
        return (direct.name, direct.key or "") if direct is not None and direct.kind == "Secret" else None
    bulk = [r for r in refs if r.via == "envFrom" and r.kind == "Secret" and name.startswith(r.prefix)
            and len(name) > len(r.prefix)]
    return (bulk[-1].name, name[len(bulk[-1].prefix):]) if bulk else None


@dataclass(frozen=True)
class ImageReference:
    """An image reference split as a registry reads it (``registry/path:tag@digest``)."""

    registry: str
    repository: str
    tag: str
    digest: str

    @property
    def name(self) -> str:
        """The last part of the repository: ``postgres`` for ``docker.io/library/postgres:17``."""
        return self.repository.rsplit("/", 1)[-1]


DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


def image_reference(image: str) -> ImageReference:
    """``registry.local:5000/team/app:1.2@sha256:…`` split; Docker Hub's ``library/`` is dropped.

    The first part is a registry only if it looks like a host (a dot, a port or ``localhost``),
    as the container runtime decides.
    """
    reference, _, digest = image.partition("@")
    slash, colon = reference.rfind("/"), reference.rfind(":")
    path, tag = (reference[:colon], reference[colon + 1:]) if colon > slash else (reference, "")
    host, _, rest = path.partition("/")
    registry = host if rest and ("." in host or ":" in host or host == "localhost") else ""
    repository = rest if registry else path
    if registry in ("", *DOCKER_HUB) and repository.startswith("library/"):
        repository = repository.removeprefix("library/")
    return ImageReference(registry, repository, tag, digest)


def is_image_version(image: str, name: str, version: str) -> bool:
    """Whether ``image`` is ``name`` (any registry) at ``version``: tag ``17``, ``17.2``, ``17-alpine``…"""
    reference = image_reference(image)
    return reference.name == name and (reference.tag == version
                                       or reference.tag.startswith((f"{version}.", f"{version}-")))


def config_references(workload: Obj) -> list[tuple[str, str, str | None]]:
    """(kind, name, key or ``None``) of each ConfigMap and Secret a pod needs to start (optional ones left out):
    ``env`` key references, ``envFrom``, and ``configMap``, ``secret`` and ``projected`` volumes."""
    return [(ref.kind, ref.name, ref.key) for ref in references(workload)
            if ref.kind in ("ConfigMap", "Secret") and not ref.optional]


def missing_references(workload: Obj, configmaps: Iterable[Obj], secrets: Iterable[Obj]) -> list[str]:
    """``Secret `x` absent``, ``clé `k` absente de la ConfigMap `c` ``: what a pod of the workload would wait for
    (the kubelet's CreateContainerConfigError), in French. Secrets need their keys only, never their values."""
    existing = {("ConfigMap", name_of(c)): {*(c.get("data") or {}), *(c.get("binaryData") or {})} for c in configmaps}
    existing.update({("Secret", name_of(s)): set(s.get("data") or {}) for s in secrets})
    problems: list[str] = []
    for kind, name, key in config_references(workload):
        article = "La ConfigMap" if kind == "ConfigMap" else "Le Secret"
        if (kind, name) not in existing:
            text = f"{article.split()[1]} `{name}` absent{'e' if kind == 'ConfigMap' else ''}"
        elif key is not None and key not in existing[(kind, name)]:
            text = f"clé `{key}` absente {'de la ConfigMap' if kind == 'ConfigMap' else 'du Secret'} `{name}`"
        else:
            continue
        if text not in problems:
            problems.append(text)
    return problems


def plaintext_secrets(container: Obj) -> list[str]:
    """Names of variables that look like credentials and carry a literal value."""
    return [e["name"] for e in container.get("env") or [] if SECRET_NAME.search(e.get("name", "")) and e.get("value")]


def matches_selector(labels: dict[str, str], selector: Obj | None) -> bool:
    """Kubernetes label-selector semantics (matchLabels and matchExpressions); ``None`` matches nothing."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        present = key in labels
        if operator == "In" and (not present or labels[key] not in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def selects(service_selector: dict[str, str] | None, labels: dict[str, str]) -> bool:
    """A Service's plain selector: every pair must match; an empty selector selects nothing."""
    return bool(service_selector) and all(labels.get(k) == v for k, v in (service_selector or {}).items())


def _ready_condition(obj: Obj) -> Obj | None:
    """The object's ``Ready`` condition when it is ``True``."""
    return next((c for c in (obj.get("status") or {}).get("conditions") or []
                 if c.get("type") == "Ready" and c.get("status") == "True"), None)


def is_ready(obj: Obj) -> bool:
    """Whether the object's ``Ready`` condition is ``True`` (a pod, a node)."""
    return _ready_condition(obj) is not None


def ready_since(obj: Obj) -> datetime | None:
    """When the object's ``Ready`` condition last became ``True``, or ``None`` (not ready, or not said)."""
    condition = _ready_condition(obj)
    try:
        return datetime.fromisoformat(str(condition["lastTransitionTime"])) if condition else None
    except (KeyError, ValueError):
        return None


def owned_by(obj: Obj, owner: Obj) -> bool:
    uid = owner.get("metadata", {}).get("uid")
    return any(ref.get("uid") == uid for ref in obj.get("metadata", {}).get("ownerReferences") or [])


def pods_of(workload: Obj, pods: Iterable[Obj], replica_sets: Iterable[Obj] = ()) -> list[Obj]:
    """The pods a Deployment (through its ReplicaSets), StatefulSet or DaemonSet owns."""
    owners = [workload]
    if workload.get("kind") == "Deployment":
        owners = [rs for rs in replica_sets if owned_by(rs, workload)]
    return [pod for pod in pods if any(owned_by(pod, owner) for owner in owners)
            and not pod.get("metadata", {}).get("deletionTimestamp")]


def quantity(value: str | int | float | None) -> Fraction | None:
    """A resource quantity in base units (bytes, cores), exactly, or ``None`` when absent or invalid.

    ``1Gi`` and ``1024Mi`` are equal, as are ``2`` and ``2000m``; ``1e3`` is 1000 (a suffix and
    an exponent never go together).
    """
    if value is None or isinstance(value, bool):
        return None
    match = QUANTITY.match(str(value).strip())
    if not match:
        return None
    number, suffix, exponent = Fraction(match.group(1)), match.group(2), match.group(3)
    if exponent is not None:
        power = int(exponent)
        return number * (Fraction(10**power) if power >= 0 else Fraction(1, 10**-power))
    if suffix in BINARY:
        return number * BINARY[suffix]
    if suffix in DECIMAL:
        return number * DECIMAL[suffix]
    return number


def missing_resources(container: Obj) -> list[str]:
    """Which of requests/limits for cpu/memory a container lacks, e.g. ``limits.memory``."""
    resources = container.get("resources") or {}
    return [f"{part}.{name}" for part in ("requests", "limits") for name in ("cpu", "memory")
            if name not in (resources.get(part) or {})]


def probe_command(probe: Obj | None) -> list[str]:
    """The argv of an exec probe (empty when it is not one)."""
    return list(((probe or {}).get("exec") or {}).get("command") or [])


def default_storage_class(classes: Iterable[Obj]) -> Obj | None:
    annotation = "storageclass.kubernetes.io/is-default-class"
    return next((c for c in classes if (c.get("metadata", {}).get("annotations") or {}).get(annotation) == "true"),
                None)


def listing(names: Iterable[str]) -> str:
    """``a``, ``a et b``, ``a, b et c``: a French enumeration of code names."""
    items = [f"`{n}`" for n in names]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " et " + items[-1]


CONTROL_PLANE_COMPONENTS = ("kube-apiserver", "kube-scheduler", "kube-controller-manager")


def control_plane_pods(pods: Iterable[Obj]) -> list[str]:
    """Names of the pods that run a control-plane component (kubeadm's static pods ``kube-apiserver-<node>``…)."""
    return sorted(name_of(p) for p in pods
                  if any(name_of(p).startswith(f"{c}-") or labels_of(p).get("component") == c
                         for c in CONTROL_PLANE_COMPONENTS))
