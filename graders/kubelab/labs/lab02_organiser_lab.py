"""Lab 02 — Organiser son lab.

Namespaces per environment with their `environment` label; in the lab's namespace (`dev`) a
ResourceQuota with exact ceilings and a LimitRange giving defaults, checked by a server-side
dry run that the quota must refuse; and an application, `catalogue`, that follows the naming
and labelling conventions, declares its resources and is really served.

The lab's namespace stands for `dev`: the tests, a classroom or the notebook may use another
one (``--namespace``). The four other environment namespaces are cluster-wide and keep their
names (`staging`, `production`, `monitoring`, `tools`). The reference manifests mark the ones
they create with the annotation ``kubelab.dev/lab: 02-organiser-lab``; ``setup_lab`` deletes
those marked ones (and only those) so that every run of the tools starts from a clean state:
a variant that leaves one out does not see the previous run's. A learner's own namespaces,
without that annotation, are never touched.

Statement → check:

- « Les cinq namespaces existent avec le bon label `environment` » → ``namespaces-labeled``;
- « `dev-quota` … avec exactement les cinq plafonds demandés » → ``dev-quota-ceilings``;
- « `dev-limits` définit `default` et `defaultRequest` pour le CPU et la mémoire » → ``dev-limitrange-defaults``;
- « Un essai à blanc côté serveur d'un pod qui demande plus de CPU que le quota n'en laisse est
  refusé … parce qu'il dépasse le quota » → ``quota-refuses-excess`` (the probe's pod fits the
  LimitRanges and Pod Security, so only the quota can refuse it);
- « Les six objets de `catalogue` existent dans `dev` avec les noms convenus » →
  ``catalogue-objects-named``; « et portent tous les six labels demandés » → ``catalogue-standard-labels``;
- « Chaque conteneur du Deployment `catalogue` (conteneurs d'init compris) déclare des requests
  et des limits » → ``catalogue-resources``;
- « Le Deployment utilise la ConfigMap `catalogue-config`, le Secret `catalogue-secret` et monte le
  PVC `catalogue-data` » → ``catalogue-uses-config``;
  « il est disponible », nothing in its template keeping its pods from starting → ``catalogue-available``;
- « Le PVC `catalogue-data` est sur la StorageClass par défaut et `Bound` » → ``catalogue-claim-bound``;
- « Le Service `catalogue` sélectionne les pods de `catalogue` et a des pods prêts derrière lui »
  → ``catalogue-service-endpoints``;
- « L'Ingress `catalogue` a la classe `public`, une règle avec un hôte, et renvoie vers un port
  du Service `catalogue` » → ``catalogue-ingress``.

A misnamed object costs ``catalogue-objects-named`` only: the other checks follow the object
the application really uses (``_app_object``).
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

from kubelab import admission
from kubelab.checks import ObjectRef, Registry, Verdict, failed, passed
from kubelab.claims import NO_DEFAULT_CLASS_HINT, unbindable
from kubelab.cluster_state import CLUSTER_SCOPE, ClusterState, Probe, Read
from kubelab.kube_api import ApiError, KubeApi, RefusedError, authorization_denied
from kubelab.objects import (
    all_containers,
    default_storage_class,
    is_ready,
    labels_of,
    listing,
    missing_resources,
    name_of,
    owned_by,
    pod_template,
    pods_of,
    quantity,
    references,
    selects,
)
from kubelab.ports import IngressBackend, ingress_backends, port_text, service_port, shown_ports
from kubelab.startup import startup_problems, state_lookup
from kubelab.waiting import TIMEOUTS, wait_for

Obj = dict[str, Any]

registry = Registry()
check = registry.check

READS = (
    Read("v1", "Namespace", CLUSTER_SCOPE),
    Read("v1", "ResourceQuota"),
    Read("v1", "LimitRange"),
    Read("apps/v1", "Deployment"),
    Read("apps/v1", "ReplicaSet"),
    Read("v1", "Pod"),
    Read("v1", "Service"),
    Read("v1", "ConfigMap"),
    Read("v1", "Secret"),
    Read("v1", "PersistentVolumeClaim"),
    Read("networking.k8s.io/v1", "Ingress"),
    Read("discovery.k8s.io/v1", "EndpointSlice"),
    Read("storage.k8s.io/v1", "StorageClass", CLUSTER_SCOPE),
)

LAB_ID = "02-organiser-lab"
COURSE = "microk8s/conventions.md"
LAB_ENVIRONMENT = "dev"
OTHER_NAMESPACES = {"staging": "staging", "production": "production", "monitoring": "shared", "tools": "shared"}
MARKER = "kubelab.dev/lab"
QUOTA = "dev-quota"
CEILINGS = {"requests.cpu": "2", "requests.memory": "4Gi", "limits.cpu": "4", "limits.memory": "8Gi", "pods": "20"}
LIMITS = "dev-limits"
APP = "catalogue"
NAMES = {"Deployment": APP, "Service": APP, "ConfigMap": f"{APP}-config", "Secret": f"{APP}-secret",
         "PersistentVolumeClaim": f"{APP}-data", "Ingress": APP}
API_VERSIONS = {"Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1", "Secret": "v1",
                "PersistentVolumeClaim": "v1", "Ingress": "networking.k8s.io/v1"}
STANDARD_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/version", "app.kubernetes.io/component",
                   "app.kubernetes.io/managed-by", "environment", "team")
INGRESS_CLASS = "public"

DEPLOYMENT = ObjectRef("Deployment", APP)
MISSING_DEPLOYMENT = failed(f"Le Deployment `{APP}` devrait exister dans le namespace du lab (trouvé : aucun).",
                            DEPLOYMENT)


# --- the tools' clean slate and the probe ------------------------------------------------------


WORK_KINDS = (("v1", "Pod"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("batch/v1", "CronJob"),
              ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "PersistentVolumeClaim"), ("v1", "Service"))
EVERY_NAMESPACE_HAS = {"kube-root-ca.crt"}  # the ConfigMap Kubernetes puts in every namespace


def holds_work(api: KubeApi, namespace: str) -> bool:
    """Does ``namespace`` hold anything beyond what Kubernetes puts in every namespace?"""
    return any(name_of(item) not in EVERY_NAMESPACE_HAS
               for api_version, kind in WORK_KINDS for item in api.list(api_version, kind, namespace))


def setup_lab(api: KubeApi, namespace: str) -> None:
    """Delete the empty environment namespaces a reference manifest created earlier (annotated), and wait.

    Only namespaces carrying ``kubelab.dev/lab: 02-organiser-lab`` and holding nothing are deleted:
    a learner's own `staging`, or a `monitoring` where lab 09 was done, is never touched.
    Nothing of the learner's work is written or lost.
    """
    marked = [name for name in OTHER_NAMESPACES
              if ((api.get("v1", "Namespace", name) or {}).get("metadata", {}).get("annotations") or {})
              .get(MARKER) == LAB_ID and not holds_work(api, name)]
    for name in marked:
        api.delete("v1", "Namespace", name)
    if marked:
        wait_for(api, "v1", "Namespace", lambda items: not {name_of(n) for n in items} & set(marked),
                 timeout="deletion", what=f"la suppression des namespaces {', '.join(marked)}")


CONTAINER_CPU = Fraction(1, 2)
CONTAINER_MEMORY = Fraction(64 * 2**20)


def _bounded(value: Fraction, item: Obj, resource: str) -> Fraction:
    """``value`` moved inside a LimitRange item's ``min`` and ``max`` for ``resource``."""
    high, low = quantity((item.get("max") or {}).get(resource)), quantity((item.get("min") or {}).get(resource))
    if high is not None:
        value = min(value, high)
    if low is not None:
        value = max(value, low)
    return value


def greedy_pod(limit_ranges: list[Obj], quotas: list[Obj]) -> Obj:
    """A pod that asks more CPU than the statement's `requests.cpu` ceiling leaves, in containers small
    enough for the namespace's LimitRanges: so that only the quota can have a reason to refuse it.

    Each container asks as much as it may get (requests = limits, so no ratio is exceeded): 500m,
    or less if a container maximum says so, and 64Mi. There are just enough of them for their
    sum to exceed 2 CPUs minus what the namespace already requests (the quota's ``used``), and
    no more. The pod satisfies the `restricted` Pod Security profile, so a namespace enforcing
    it does not refuse it either.
    """
    cpu, memory = CONTAINER_CPU, CONTAINER_MEMORY
    for limit_range in limit_ranges:
        for item in (limit_range.get("spec") or {}).get("limits") or []:
            if item.get("type") == "Container":
                cpu, memory = _bounded(cpu, item, "cpu"), _bounded(memory, item, "memory")
    used = max((quantity(((q.get("status") or {}).get("used") or {}).get("requests.cpu")) or Fraction(0)
                for q in quotas), default=Fraction(0))
    target = (quantity(CEILINGS["requests.cpu"]) or Fraction(0)) - used
    count = max(1, int(target / cpu) + 1) if cpu > 0 else 1
    resources = {"cpu": _amount(cpu, "cpu"), "memory": _amount(memory, "memory")}
    security = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "gourmand", "labels": {"app.kubernetes.io/managed-by": "kubelab"}},
        "spec": {
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": f"gourmand-{index}", "image": "nginx:1.27", "securityContext": security,
                            "resources": {"requests": resources, "limits": resources}} for index in range(count)],
        },
    }


def _amount(value: Fraction, resource: str) -> str:
    """A quantity as Kubernetes writes it: millicores for CPU, bytes (or Mi) for memory."""
    if resource == "cpu":
        return f"{int(value * 1000)}m"
    return f"{int(value / 2**20)}Mi" if value % 2**20 == 0 else str(int(value))


def greedy_asks(pod: Obj) -> dict[str, Fraction]:
    """What the greedy pod asks, summed over its containers, under each quota's resource names."""
    cpu = sum((quantity(c["resources"]["requests"]["cpu"]) or Fraction(0) for c in pod["spec"]["containers"]),
              Fraction(0))
    memory = sum((quantity(c["resources"]["requests"]["memory"]) or Fraction(0) for c in pod["spec"]["containers"]),
                 Fraction(0))
    return {"requests.cpu": cpu, "limits.cpu": cpu, "cpu": cpu, "requests.memory": memory, "limits.memory": memory,
            "memory": memory, "pods": Fraction(1), "count/pods": Fraction(1)}


def greedy_dry_run(api: KubeApi, namespace: str) -> dict[str, Any]:
    """Server-side dry run of a pod asking more CPU than the quota leaves, in the lab's namespace
    (nothing is created): refused or not, and by which admission plugin.

    A pod admitted in the namespace before its ResourceQuota existed makes the API server's quota
    admission remember « no quota here » for a while, and let the next pod through even once the
    quota is applied. So first wait (a watch, read-only) until the quota controller has computed
    the status of every quota of the namespace. The admission reads quotas from its own informer,
    which nothing outside the API server can watch: when that status says the pod must be refused
    and it was admitted, the dry run is asked again for at most ``TIMEOUTS["quota_admission"]``.
    """
    quotas = wait_for(api, "v1", "ResourceQuota",
                      lambda items: all((q.get("status") or {}).get("hard") for q in items),
                      namespace=namespace, timeout="quota_synced",
                      what=f"le calcul des quotas du namespace {namespace}")
    pod = greedy_pod(api.list("v1", "LimitRange", namespace), quotas)
    answer = greedy_pod_answer(api, namespace, pod)
    deadline = time.monotonic() + TIMEOUTS["quota_admission"]
    while not answer["refused"] and any(quota_refuses_greedy_pod(q, pod) for q in quotas) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
        answer = greedy_pod_answer(api, namespace, pod)
    containers_of = pod["spec"]["containers"]
    return {**answer, "containers": len(containers_of), "container_cpu": containers_of[0]["resources"]["limits"]["cpu"],
            "cpu": _amount(greedy_asks(pod)["requests.cpu"], "cpu")}


def quota_refuses_greedy_pod(quota: Obj, pod: Obj | None = None) -> bool:
    """Does a quota's computed status (hard minus used) leave less than the greedy pod asks for?"""
    status = quota.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    asks = greedy_asks(pod or greedy_pod([], []))
    for name, asked in asks.items():
        limit = quantity(hard.get(name))
        if limit is not None and limit - (quantity(used.get(name)) or 0) < asked:
            return True
    return False


def greedy_pod_answer(api: KubeApi, namespace: str, pod: Obj | None = None) -> dict[str, Any]:
    """The API server's answer to the greedy pod's dry run, as data, with the plugin that refused it."""
    pod = pod or greedy_pod([], [])
    pod = {**pod, "metadata": {**pod["metadata"], "namespace": namespace}}
    try:
        api.create(pod, dry_run=True)
    except (RefusedError, ApiError) as exc:
        message = str(exc.body.get("message", ""))
        # A 403 from RBAC (the grader may not create pods) is not the learner's doing: it stays
        # an infrastructure error. Any other refusal is admission speaking about the namespace.
        if isinstance(exc, ApiError) and (exc.status != 403 or authorization_denied(message)):
            raise
        return {"refused": True, "status": exc.status, "message": message, "cause": admission.cause(message)}
    return {"refused": False, "status": 201, "message": "", "cause": ""}


PROBES = {"greedy-pod": Probe(greedy_dry_run, needs="dry-run")}


# --- shared queries ---------------------------------------------------------------------------------


def _environments(state: ClusterState) -> tuple[str, ...]:
    """The accepted `environment` value of the lab's namespace and its objects.

    `dev`; when the lab runs in another namespace, also that namespace's name: the notebook
    reads `dev` in a manifest as « the namespace I work in », as it does for `metadata.name`.
    """
    return (LAB_ENVIRONMENT,) if state.namespace == LAB_ENVIRONMENT else (LAB_ENVIRONMENT, state.namespace)


def _labels_text(labels: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "aucun"


def _named(state: ClusterState, kind: str) -> dict | None:
    """The object of ``kind`` under the statement's name, or ``None``."""
    return state.get(API_VERSIONS[kind], kind, NAMES[kind])


def _app_object(state: ClusterState, kind: str) -> dict | None:
    """The application's object of ``kind``: under the statement's name, else the nearest one found.

    Nearest: for a ConfigMap, Secret or PVC, the one the Deployment uses; for the Service, the one
    the Ingress sends to; else the only object of that kind labelled `app.kubernetes.io/name:
    catalogue`. So a misnamed object costs the naming check only: the checks about what it does
    follow it under its own name.
    """
    exact = _named(state, kind)
    if exact is not None:
        return exact
    objects = {name_of(o): o for o in state.objects(API_VERSIONS[kind], kind)}
    deployment = _named(state, "Deployment") if kind != "Deployment" else None
    if deployment is None and kind != "Deployment":
        deployment = _app_object(state, "Deployment")
    if deployment is not None and kind in ("ConfigMap", "Secret", "PersistentVolumeClaim"):
        used = [name for name in sorted(_references(deployment)[kind]) if name in objects]
        if used:
            return objects[used[0]]
    if kind == "Service":
        ingress = _app_object(state, "Ingress")
        routed = [b.service.get("name", "") for b in ingress_backends(ingress)] if ingress else []
        if routed and routed[0] in objects:
            return objects[routed[0]]
    labelled = [o for o in objects.values() if labels_of(o).get("app.kubernetes.io/name") == APP]
    return labelled[0] if len(labelled) == 1 else None


def _deployment(state: ClusterState) -> dict | None:
    return _app_object(state, "Deployment")


def _shown_name(state: ClusterState, kind: str, obj: dict) -> str:
    """« ConfigMap `catalogue-config` », or « ConfigMap `cfg` (au lieu de `catalogue-config`) »."""
    name = name_of(obj)
    return f"{kind} `{name}`" + ("" if name == NAMES[kind] else f" (au lieu de `{NAMES[kind]}`)")


# --- namespaces ---------------------------------------------------------------------------------


@check("namespaces-labeled", title="Cinq namespaces étiquetés par environnement", category="configuration",
       course=COURSE,
       hint="Un manifeste Namespace par environnement, avec `metadata.labels.environment` ; vérifiez avec "
            "« kubectl get ns -L environment ».")
def namespaces_labeled(state: ClusterState) -> Verdict:
    namespaces = {name_of(n): n for n in state.objects("v1", "Namespace", CLUSTER_SCOPE)}
    wanted = {state.namespace: _environments(state), **{name: (env,) for name, env in OTHER_NAMESPACES.items()}}
    problems = []
    for name, accepted in wanted.items():
        namespace = namespaces.get(name)
        if namespace is None:
            problems.append(f"`{name}` absent")
            continue
        value = labels_of(namespace).get("environment")
        if value not in accepted:
            problems.append(f"`{name}` sans `environment={accepted[0]}` (trouvé : "
                            f"{f'`environment={value}`' if value else 'aucun label `environment`'})")
    if problems:
        return failed(f"Les namespaces de chaque environnement devraient exister avec leur label `environment` "
                      f"(problèmes : {' ; '.join(problems)}).", ObjectRef("Namespace", state.namespace))
    shown = listing(f"{name} ({labels_of(namespaces[name]).get('environment')})" for name in wanted)
    return passed(f"Les namespaces {shown} portent leur label `environment`.", ObjectRef("Namespace", state.namespace))


# --- quota and defaults -----------------------------------------------------------------------------


@check("dev-quota-ceilings", title="Le ResourceQuota dev-quota", category="exploitation", course=COURSE,
       related=("kube-score:namespace-resource-quota",),
       hint="`spec.hard` : `requests.cpu: \"2\"`, `requests.memory: 4Gi`, `limits.cpu: \"4\"`, "
            "`limits.memory: 8Gi`, `pods: \"20\"`, et rien d'autre.")
def dev_quota_ceilings(state: ClusterState) -> Verdict:
    quota = state.get("v1", "ResourceQuota", QUOTA)
    ref = ObjectRef("ResourceQuota", QUOTA)
    if quota is None:
        return failed(f"Le ResourceQuota `{QUOTA}` devrait exister dans le namespace du lab (trouvé : aucun).", ref)
    hard = (quota.get("spec") or {}).get("hard") or {}
    problems = [f"`{key}: {value}` (trouvé : {f'`{hard[key]}`' if key in hard else 'absent'})"
                for key, value in CEILINGS.items() if quantity(hard.get(key)) != quantity(value)]
    extra = sorted(key for key in hard if key not in CEILINGS)
    if extra:
        problems.append(f"aucun autre plafond (trouvé en plus : {listing(extra)})")
    if problems:
        return failed(f"Le ResourceQuota `{QUOTA}` devrait avoir exactement {' ; '.join(problems)}.", ref)
    return passed(f"Le ResourceQuota `{QUOTA}` plafonne {', '.join(f'{k}={hard[k]}' for k in CEILINGS)}.", ref)


@check("dev-limitrange-defaults", title="Le LimitRange dev-limits et ses valeurs par défaut", category="exploitation",
       course=COURSE,
       hint="Une limite `type: Container` avec `default` (limits) et `defaultRequest` (requests), "
            "chacun pour `cpu` et `memory`.")
def dev_limitrange_defaults(state: ClusterState) -> Verdict:
    limit_range = state.get("v1", "LimitRange", LIMITS)
    ref = ObjectRef("LimitRange", LIMITS)
    if limit_range is None:
        return failed(f"Le LimitRange `{LIMITS}` devrait exister dans le namespace du lab (trouvé : aucun).", ref)
    items = [item for item in (limit_range.get("spec") or {}).get("limits") or [] if item.get("type") == "Container"]
    if not items:
        return failed(f"Le LimitRange `{LIMITS}` devrait avoir une limite `type: Container` (trouvé : aucune).", ref)
    problems = []
    for field in ("default", "defaultRequest"):
        values = {k: v for item in items for k, v in (item.get(field) or {}).items()}
        missing = [resource for resource in ("cpu", "memory") if resource not in values]
        if missing:
            problems.append(f"`{field}` pour {listing(missing)} (trouvé : "
                            f"{_labels_text(values) if values else 'absent'})")
    if problems:
        return failed(f"Le LimitRange `{LIMITS}` devrait définir {' ; '.join(problems)}.", ref)
    defaults = {k: v for item in items for k, v in (item.get("default") or {}).items()}
    requests = {k: v for item in items for k, v in (item.get("defaultRequest") or {}).items()}
    return passed(f"Le LimitRange `{LIMITS}` donne par défaut les requests {requests['cpu']}/{requests['memory']} "
                  f"et les limits {defaults['cpu']}/{defaults['memory']} aux conteneurs.", ref)


@check("quota-refuses-excess", title="Le quota refuse un pod trop gourmand", category="exploitation",
       course=COURSE, needs="dry-run",
       hint="Refaites l'essai à blanc de l'étape 5 (« kubectl run gourmand … --dry-run=server », trois conteneurs "
            "de 1 CPU) : le quota doit répondre « exceeded quota ».")
def quota_refuses_excess(state: ClusterState) -> Verdict:
    answer = state.probe("greedy-pod")
    ref = ObjectRef("ResourceQuota", QUOTA)
    pod = (f"Un pod de {answer.get('containers', 1)} conteneurs de {answer.get('container_cpu', '?')} "
           f"({answer.get('cpu', '?')} de CPU en tout)")
    if not answer["refused"]:
        return failed(f"{pod} devrait être refusé par le quota du namespace `{state.namespace}` "
                      "(trouvé : accepté par l'essai à blanc côté serveur).", ref)
    cause = answer.get("cause") or admission.cause(answer["message"])
    if "exceeded quota" not in answer["message"]:
        first = "d'abord " if cause == admission.LIMIT_RANGE else ""
        because = (" ; chaque conteneur respecte le maximum par conteneur du LimitRange : c'est son maximum par pod "
                   "qui empêche un pod seul de dépasser le quota") if cause == admission.LIMIT_RANGE else ""
        return failed(f"{pod} devrait être refusé parce qu'il dépasse le quota (trouvé : refusé {first}par "
                      f"{admission.WHO[cause]} : {admission.reason(answer['message'])}{because}).", ref)
    quota = answer["message"].split("exceeded quota: ", 1)[-1].split(",", 1)[0]
    return passed(f"L'essai à blanc d'un pod de {answer.get('containers', 1)} conteneurs de "
                  f"{answer.get('container_cpu', '?')} ({answer.get('cpu', '?')} de CPU en tout) est refusé "
                  f"({answer['status']}) : il dépasse le quota `{quota}`.", ref)


# --- the application catalogue -----------------------------------------------------------------------


@check("catalogue-objects-named", title="Les six objets de catalogue, bien nommés", category="configuration",
       course=COURSE,
       hint="Deployment, Service et Ingress `catalogue`, ConfigMap `catalogue-config`, Secret `catalogue-secret`, "
            "PVC `catalogue-data`.")
def catalogue_objects_named(state: ClusterState) -> Verdict:
    problems = []
    for kind in NAMES:
        if _named(state, kind) is not None:
            continue
        nearest = _app_object(state, kind)
        problems.append(f"{kind} `{NAMES[kind]}` (trouvé : " + (f"`{name_of(nearest)}`)" if nearest else "aucun)"))
    if problems:
        return failed(f"L'application `{APP}` devrait avoir ces objets, sous ces noms, dans le namespace du lab "
                      f"({' ; '.join(problems)}).", DEPLOYMENT)
    return passed(f"Les six objets de `{APP}` existent avec les noms convenus.", DEPLOYMENT)


@check("catalogue-standard-labels", title="Les labels standard sur chaque objet", category="configuration",
       course=COURSE, related=("kube-score:label-values",),
       hint="Sur chacun des six objets : `app.kubernetes.io/name: catalogue`, `app.kubernetes.io/version`, "
            "`app.kubernetes.io/component`, `app.kubernetes.io/managed-by`, `environment: dev` et `team`.")
def catalogue_standard_labels(state: ClusterState) -> Verdict:
    present = {kind: obj for kind in NAMES if (obj := _app_object(state, kind)) is not None}
    if not present:
        return failed(f"Les objets de `{APP}` devraient exister et porter les labels standard (trouvé : aucun).",
                      DEPLOYMENT)
    environments = _environments(state)
    problems = []
    for kind, obj in present.items():
        labels = labels_of(obj)
        own = [f"`{key}`" for key in STANDARD_LABELS if not labels.get(key)]
        if labels.get("app.kubernetes.io/name") not in (None, "", APP):
            own.append(f"`app.kubernetes.io/name={APP}` (trouvé : `{labels['app.kubernetes.io/name']}`)")
        if labels.get("environment") and labels["environment"] not in environments:
            own.append(f"`environment={LAB_ENVIRONMENT}` (trouvé : `{labels['environment']}`)")
        if own:
            problems.append(f"{kind} `{name_of(obj)}` : {', '.join(own)}")
    if problems:
        return failed(f"Chaque objet de `{APP}` devrait porter les six labels standard (manque : "
                      f"{' ; '.join(problems)}).", DEPLOYMENT)
    team = labels_of(next(iter(present.values()))).get("team")
    count = len(present)
    return passed(f"{'Les' if count > 1 else 'Le'} {count} objet{'s' if count > 1 else ''} de `{APP}` "
                  f"port{'ent' if count > 1 else 'e'} les six labels standard (équipe `{team}`).", DEPLOYMENT)


@check("catalogue-resources", title="Requests et limits sur chaque conteneur", category="fiabilité", course=COURSE,
       related=("polaris:cpuRequestsMissing", "polaris:cpuLimitsMissing", "polaris:memoryRequestsMissing",
                "polaris:memoryLimitsMissing", "kube-score:container-resources", "kube-linter:unset-cpu-requirements",
                "kube-linter:unset-memory-requirements", "kubescape:C-0050"),
       hint="Dans chaque conteneur (et conteneur d'init) : `resources.requests` et `resources.limits` pour `cpu` et "
            "`memory`. Le LimitRange ne remplace pas une déclaration explicite.")
def catalogue_resources(state: ClusterState) -> Verdict:
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    problems = [f"conteneur `{c.get('name', '?')}` : {listing(missing)}"
                for c in all_containers(deployment) if (missing := missing_resources(c))]
    if problems:
        return failed(f"Chaque conteneur du Deployment `{name_of(deployment)}` devrait déclarer requests et limits "
                      f"(manque : {' ; '.join(problems)}).", DEPLOYMENT)
    return passed(f"Chaque conteneur du Deployment `{name_of(deployment)}` déclare ses requests et ses limits de CPU "
                  "et de mémoire.", DEPLOYMENT)


def _references(deployment: dict) -> dict[str, set[str]]:
    """The ConfigMaps, Secrets and PVCs the pod template uses, by kind: in env, envFrom or volumes.

    A volume counts once mounted in a container; ``env``/``envFrom`` count as such.
    """
    found: dict[str, set[str]] = {"ConfigMap": set(), "Secret": set(), "PersistentVolumeClaim": set()}
    for reference in references(deployment):
        if reference.mounted:
            found[reference.kind].add(reference.name)
    return {kind: names - {""} for kind, names in found.items()}


@check("catalogue-uses-config", title="Le Deployment utilise sa ConfigMap, son Secret et son PVC",
       category="configuration", course=COURSE,
       hint="`envFrom` (`configMapRef`, `secretRef`) ou des volumes `configMap`/`secret`, et un volume "
            "`persistentVolumeClaim: {claimName: catalogue-data}` monté dans le conteneur.")
def catalogue_uses_config(state: ClusterState) -> Verdict:
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    used = _references(deployment)
    problems, shown = [], []
    for kind in ("ConfigMap", "Secret", "PersistentVolumeClaim"):
        obj = _app_object(state, kind)
        if obj is not None and name_of(obj) in used[kind]:
            shown.append(_shown_name(state, kind, obj))
            continue
        wanted = name_of(obj) if obj is not None else NAMES[kind]
        problems.append(f"{kind} `{wanted}` (trouvé : {listing(sorted(used[kind])) or 'aucun'})")
    if problems:
        return failed(f"Le Deployment `{name_of(deployment)}` devrait utiliser {' ; '.join(problems)}.", DEPLOYMENT)
    return passed(f"Le Deployment `{name_of(deployment)}` utilise {', '.join(shown[:2])} et monte {shown[2]}.",
                  DEPLOYMENT)


def _quota_refusal(state: ClusterState, deployment: dict) -> str | None:
    """The latest FailedCreate message of the Deployment's ReplicaSets (a quota refusing pods), if any."""
    for rs in state.objects("apps/v1", "ReplicaSet"):
        if not owned_by(rs, deployment):
            continue
        events = [e for e in state.events_for("ReplicaSet", name_of(rs), limit=50) if e.get("reason") == "FailedCreate"]
        if events:
            return events[-1].get("message", "")
    return None


@check("catalogue-available", title="Le Deployment catalogue est disponible", category="fiabilité", course=COURSE,
       hint="« kubectl describe replicaset -n dev » et « kubectl describe pod -n dev » : un pod refusé par le quota "
            "(requests ou limits manquants), une ConfigMap, un Secret, une clé ou un PVC introuvables y sont "
            "expliqués.")
def catalogue_available(state: ClusterState) -> Verdict:
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    name = name_of(deployment)
    wanted = (deployment.get("spec") or {}).get("replicas", 1)
    pods = pods_of(deployment, state.objects("v1", "Pod"), state.objects("apps/v1", "ReplicaSet"))
    ready = [p for p in pods if is_ready(p)]
    expectation = f"Le Deployment `{name}` devrait avoir {wanted} pod{'s' if wanted > 1 else ''} " \
                  f"prêt{'s' if wanted > 1 else ''}"
    blockers = startup_problems(deployment, state_lookup(state))
    if blockers:
        return failed(f"{expectation} (trouvé : ses pods ne peuvent pas démarrer : {' ; '.join(blockers)}).",
                      DEPLOYMENT)
    if wanted and len(ready) >= wanted:
        return passed(f"Le Deployment `{name}` est disponible : {len(ready)} pod{'s' if len(ready) > 1 else ''} "
                      f"prêt{'s' if len(ready) > 1 else ''} sur {wanted}.", DEPLOYMENT)
    refusal = _quota_refusal(state, deployment) if not pods else None
    because = f" ; le ReplicaSet signale : {refusal}" if refusal else ""
    # A pod over the quota, or without the resources the quota needs, will not come by itself
    # (unlike « status unknown for quota », while the quota controller computes its usage).
    refused_by_quota = refusal is not None and ("exceeded quota" in refusal or "must specify" in refusal)
    return failed(f"{expectation} (trouvé : {len(ready)}{because}).", DEPLOYMENT,
                  pending=bool(wanted) and not refused_by_quota)


@check("catalogue-claim-bound", title="Le PVC catalogue-data sur la classe par défaut, Bound", category="stockage",
       course=COURSE,
       hint="Sans `storageClassName` (ou avec celui de la classe par défaut) ; en WaitForFirstConsumer, le PVC "
            "reste Pending tant qu'aucun pod ne le monte.")
def catalogue_claim_bound(state: ClusterState) -> Verdict:
    claim = _app_object(state, "PersistentVolumeClaim")
    name = name_of(claim) if claim is not None else NAMES["PersistentVolumeClaim"]
    ref = ObjectRef("PersistentVolumeClaim", name)
    if claim is None:
        return failed(f"Le PVC `{name}` devrait exister (trouvé : aucun).", ref)
    default = default_storage_class(state.objects("storage.k8s.io/v1", "StorageClass", CLUSTER_SCOPE))
    default_name = name_of(default) if default else None
    wanted = (claim.get("spec") or {}).get("storageClassName")
    phase = (claim.get("status") or {}).get("phase", "absent")
    stuck = unbindable(state, claim) if phase != "Bound" else None
    if default is None:  # no default class: never name one (« `None` ») in the message
        reason, hint = stuck or ("ce cluster n'a aucune StorageClass par défaut", NO_DEFAULT_CLASS_HINT)
        return failed(f"Le PVC `{name}` devrait être Bound (trouvé : {phase} ; {reason}).", ref, hint=hint)
    if wanted not in (None, default_name):
        return failed(f"Le PVC `{name}` devrait utiliser la StorageClass par défaut `{default_name}` "
                      f"(trouvé : `{wanted}`).", ref,
                      hint=f"La classe d'un PVC est immuable : recréez `{name}` sans `storageClassName` (ou avec "
                           f"`{default_name}`).")
    if phase != "Bound":
        return failed(f"Le PVC `{name}` devrait être Bound (trouvé : {phase}).", ref, pending=True)
    return passed(f"Le PVC `{name}` est Bound sur la classe `{default_name}`.", ref)


@check("catalogue-service-endpoints", title="Le Service catalogue a des pods prêts derrière lui", category="réseau",
       course=COURSE,
       hint="Le `selector` du Service reprend le sélecteur du Deployment (`app.kubernetes.io/name: catalogue`) ; "
            "« kubectl get endpointslices -n dev -l kubernetes.io/service-name=catalogue ».")
def catalogue_service_endpoints(state: ClusterState) -> Verdict:
    service = _app_object(state, "Service")
    ref = ObjectRef("Service", APP)
    if service is None:
        return failed(f"Le Service `{APP}` devrait exister (trouvé : aucun).", ref)
    name = name_of(service)
    ref = ObjectRef("Service", name)
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selects(selector, labels_of(pod_template(deployment))):
        return failed(f"Le sélecteur du Service `{name}` devrait choisir les pods du Deployment "
                      f"`{name_of(deployment)}` "
                      f"(sélecteur : {_labels_text(selector)} ; labels des pods : "
                      f"{_labels_text(labels_of(pod_template(deployment)))}).", ref)
    if startup_problems(deployment, state_lookup(state)):
        return failed(f"Le Service `{name}` devrait avoir des pods prêts derrière lui (trouvé : aucun, les pods du "
                      f"Deployment `{name_of(deployment)}` ne peuvent pas démarrer).", ref)
    slices = [s for s in state.objects("discovery.k8s.io/v1", "EndpointSlice")
              if labels_of(s).get("kubernetes.io/service-name") == name]
    ready = sorted({(e.get("targetRef") or {}).get("name", "") for s in slices for e in s.get("endpoints") or []
                    if (e.get("conditions") or {}).get("ready") is True})
    if not ready:
        return failed(f"Le Service `{name}` devrait avoir des pods prêts derrière lui (trouvé : aucune adresse prête).",
                      ref, pending=True)
    return passed(f"Le Service `{name}` a {len(ready)} pod{'s' if len(ready) > 1 else ''} "
                  f"prêt{'s' if len(ready) > 1 else ''} derrière lui ({listing(ready)}).", ref)


@check("catalogue-ingress", title="L'Ingress catalogue vise le Service catalogue", category="réseau", course=COURSE,
       hint="`ingressClassName: public`, une règle avec un hôte (par exemple `catalogue.lab.local`) et "
            "`backend.service: {name: catalogue, port: {number: 80}}` (un port que le Service expose).")
def catalogue_ingress(state: ClusterState) -> Verdict:
    ingress = _app_object(state, "Ingress")
    ref = ObjectRef("Ingress", APP)
    if ingress is None:
        return failed(f"L'Ingress `{APP}` devrait exister (trouvé : aucun).", ref)
    ref = ObjectRef("Ingress", name_of(ingress))
    problems = []
    ingress_class = (ingress.get("spec") or {}).get("ingressClassName") or \
        (ingress["metadata"].get("annotations") or {}).get("kubernetes.io/ingress.class")
    if ingress_class != INGRESS_CLASS:
        problems.append(f"la classe `{INGRESS_CLASS}` (trouvé : {f'`{ingress_class}`' if ingress_class else 'aucune'})")
    backends = ingress_backends(ingress)
    hosts = sorted({backend.host for backend in backends if backend.host})
    if not hosts:
        problems.append("une règle avec un hôte (trouvé : aucun hôte)")
    service = _app_object(state, "Service")
    service_name = name_of(service) if service is not None else APP

    def right(backend: IngressBackend) -> bool:
        return backend.service.get("name") == service_name and service is not None \
            and service_port(service, backend.service.get("port") or {}) is not None

    def shown(backend: IngressBackend) -> str:
        return f"`{backend.service.get('name', '')}:{port_text(backend.service.get('port') or {})}`"

    wrong = [shown(backend) for backend in backends if not right(backend)]
    if not backends or wrong:
        exposed = shown_ports((service.get("spec") or {}).get("ports") or [], "port") if service else ""
        exposed_text = f" ; le Service expose {exposed}" if exposed else ""
        problems.append(f"un backend vers un port du Service `{service_name}` (trouvé : "
                        f"{', '.join(wrong) or 'aucun backend'}{exposed_text})")
    if problems:
        return failed(f"L'Ingress `{name_of(ingress)}` devrait avoir {' ; '.join(problems)}.", ref)
    return passed(f"L'Ingress `{name_of(ingress)}` (classe `{INGRESS_CLASS}`, hôte {listing(hosts)}) renvoie vers le "
                  f"Service `{service_name}`.", ref)
