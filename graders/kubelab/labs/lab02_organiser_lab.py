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
"""

from __future__ import annotations

import time
from typing import Any

from kubelab.checks import ObjectRef, Registry, Verdict, failed, passed
from kubelab.claims import unbindable
from kubelab.cluster_state import CLUSTER_SCOPE, ClusterState, Probe, Read
from kubelab.kube_api import ApiError, KubeApi, RefusedError
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
from kubelab.ports import IngressBackend, ingress_backends, port_text, service_port
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


GREEDY_POD: Obj = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "gourmand", "labels": {"app.kubernetes.io/managed-by": "kubelab"}},
    "spec": {"containers": [{"name": "gourmand", "image": "nginx:1.27", "resources": {
        "requests": {"cpu": "3", "memory": "64Mi"}, "limits": {"cpu": "3", "memory": "64Mi"}}}]},
}


def greedy_dry_run(api: KubeApi, namespace: str) -> dict[str, Any]:
    """Server-side dry run of a pod asking 3 CPUs in the lab's namespace: refused or not (nothing is created).

    A pod admitted in the namespace before its ResourceQuota existed makes the API server's quota
    admission remember « no quota here » for a while, and let the next pod through even once the
    quota is applied. So first wait (a watch, read-only) until the quota controller has computed
    the status of every quota of the namespace. The admission reads quotas from its own informer,
    which nothing outside the API server can watch: when that status says the pod must be refused
    and it was admitted, the dry run is asked again for at most ``TIMEOUTS["quota_admission"]``.
    """
    quotas = wait_for(api, "v1", "ResourceQuota",
                      lambda items: all((q.get("status") or {}).get("hard") for q in items),
                      namespace=namespace, timeout="quota_synced", what="le calcul des quotas du namespace "
                                                                        f"{namespace}")
    answer = greedy_pod_answer(api, namespace)
    deadline = time.monotonic() + TIMEOUTS["quota_admission"]
    while not answer["refused"] and any(quota_refuses_greedy_pod(q) for q in quotas) and time.monotonic() < deadline:
        time.sleep(0.1)
        answer = greedy_pod_answer(api, namespace)
    return answer


GREEDY_ASKS = {"requests.cpu": 3.0, "limits.cpu": 3.0, "cpu": 3.0, "pods": 1.0, "count/pods": 1.0}


def quota_refuses_greedy_pod(quota: Obj) -> bool:
    """Does a quota's computed status (hard minus used) leave less than the 3-CPU pod asks for?"""
    status = quota.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    for name, asked in GREEDY_ASKS.items():
        limit = quantity(hard.get(name))
        if limit is not None and limit - (quantity(used.get(name)) or 0.0) < asked:
            return True
    return False


def greedy_pod_answer(api: KubeApi, namespace: str) -> dict[str, Any]:
    """The API server's answer to the 3-CPU pod's dry run, as data."""
    pod = {**GREEDY_POD, "metadata": {**GREEDY_POD["metadata"], "namespace": namespace}}
    try:
        api.create(pod, dry_run=True)
    except RefusedError as exc:
        return {"refused": True, "status": exc.status, "message": str(exc.body.get("message", ""))}
    except ApiError as exc:
        # The quota answers 403 Forbidden; a 403 from RBAC (the grader may not create pods) is not
        # the learner's doing: it stays an infrastructure error.
        message = str(exc.body.get("message", ""))
        if exc.status == 403 and "quota" in message:
            return {"refused": True, "status": exc.status, "message": message}
        raise
    return {"refused": False, "status": 201, "message": ""}


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


def _app_object(state: ClusterState, kind: str) -> dict | None:
    return state.get(API_VERSIONS[kind], kind, NAMES[kind])


def _deployment(state: ClusterState) -> dict | None:
    return _app_object(state, "Deployment")


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
       hint="Essayez : « kubectl run gourmand -n dev --image=nginx --dry-run=server --overrides=… » avec "
            "`requests.cpu: 3` ; le quota doit répondre « exceeded quota ».")
def quota_refuses_excess(state: ClusterState) -> Verdict:
    answer = state.probe("greedy-pod")
    ref = ObjectRef("ResourceQuota", QUOTA)
    if not answer["refused"]:
        return failed(f"Un pod demandant 3 CPU devrait être refusé par le quota du namespace `{state.namespace}` "
                      "(trouvé : accepté par l'essai à blanc côté serveur).", ref)
    if "exceeded quota" not in answer["message"]:
        return failed(f"Un pod demandant 3 CPU devrait être refusé parce qu'il dépasse le quota (trouvé : refusé "
                      f"pour une autre raison : {answer['message']}).", ref)
    quota = answer["message"].split("exceeded quota: ", 1)[-1].split(",", 1)[0]
    return passed(f"L'essai à blanc d'un pod de 3 CPU est refusé ({answer['status']}) : il dépasse le quota `{quota}`.",
                  ref)


# --- the application catalogue -----------------------------------------------------------------------


@check("catalogue-objects-named", title="Les six objets de catalogue, bien nommés", category="configuration",
       course=COURSE,
       hint="Deployment, Service et Ingress `catalogue`, ConfigMap `catalogue-config`, Secret `catalogue-secret`, "
            "PVC `catalogue-data`.")
def catalogue_objects_named(state: ClusterState) -> Verdict:
    missing = [f"{kind} `{NAMES[kind]}`" for kind in NAMES if _app_object(state, kind) is None]
    if missing:
        return failed(f"L'application `{APP}` devrait avoir ces objets dans le namespace du lab "
                      f"(manque : {', '.join(missing)}).", DEPLOYMENT)
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
            problems.append(f"{kind} `{NAMES[kind]}` : {', '.join(own)}")
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
        return failed(f"Chaque conteneur du Deployment `{APP}` devrait déclarer requests et limits "
                      f"(manque : {' ; '.join(problems)}).", DEPLOYMENT)
    return passed(f"Chaque conteneur du Deployment `{APP}` déclare ses requests et ses limits de CPU et de mémoire.",
                  DEPLOYMENT)


def _references(deployment: dict) -> tuple[set[str], set[str], set[str]]:
    """(ConfigMaps, Secrets, PVCs) the pod template uses: in env, envFrom, or mounted volumes."""
    used = [ref for ref in references(deployment) if ref.mounted and ref.name]
    names = {kind: {ref.name for ref in used if ref.kind == kind}
             for kind in ("ConfigMap", "Secret", "PersistentVolumeClaim")}
    return names["ConfigMap"], names["Secret"], names["PersistentVolumeClaim"]


@check("catalogue-uses-config", title="Le Deployment utilise sa ConfigMap, son Secret et son PVC",
       category="configuration", course=COURSE,
       hint="`envFrom` (`configMapRef`, `secretRef`) ou des volumes `configMap`/`secret`, et un volume "
            "`persistentVolumeClaim: {claimName: catalogue-data}` monté dans le conteneur.")
def catalogue_uses_config(state: ClusterState) -> Verdict:
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    configmaps, secrets, claims = _references(deployment)
    problems = []
    for kind, used in (("ConfigMap", configmaps), ("Secret", secrets), ("PersistentVolumeClaim", claims)):
        if NAMES[kind] not in used:
            problems.append(f"{kind} `{NAMES[kind]}` (trouvé : {listing(sorted(used)) or 'aucun'})")
    if problems:
        return failed(f"Le Deployment `{APP}` devrait utiliser {' ; '.join(problems)}.", DEPLOYMENT)
    return passed(f"Le Deployment `{APP}` utilise la ConfigMap `{NAMES['ConfigMap']}`, le Secret "
                  f"`{NAMES['Secret']}` et monte le PVC `{NAMES['PersistentVolumeClaim']}`.", DEPLOYMENT)


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
       hint="« kubectl describe replicaset -n dev » : un pod refusé par le quota (requests ou limits manquants) "
            "ou un PVC en attente y est expliqué.")
def catalogue_available(state: ClusterState) -> Verdict:
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    wanted = (deployment.get("spec") or {}).get("replicas", 1)
    pods = pods_of(deployment, state.objects("v1", "Pod"), state.objects("apps/v1", "ReplicaSet"))
    ready = [p for p in pods if is_ready(p)]
    if wanted and len(ready) >= wanted:
        return passed(f"Le Deployment `{APP}` est disponible : {len(ready)} pod{'s' if len(ready) > 1 else ''} "
                      f"prêt{'s' if len(ready) > 1 else ''} sur {wanted}.", DEPLOYMENT)
    refusal = _quota_refusal(state, deployment) if not pods else None
    because = f" ; le ReplicaSet signale : {refusal}" if refusal else ""
    # A pod over the quota, or without the resources the quota needs, will not come by itself
    # (unlike « status unknown for quota », while the quota controller computes its usage).
    refused_by_quota = refusal is not None and ("exceeded quota" in refusal or "must specify" in refusal)
    return failed(f"Le Deployment `{APP}` devrait avoir {wanted} pod{'s' if wanted > 1 else ''} "
                  f"prêt{'s' if wanted > 1 else ''} (trouvé : {len(ready)}{because}).", DEPLOYMENT,
                  pending=bool(wanted) and not refused_by_quota)


@check("catalogue-claim-bound", title="Le PVC catalogue-data sur la classe par défaut, Bound", category="stockage",
       course=COURSE,
       hint="Sans `storageClassName` (ou avec celui de la classe par défaut) ; en WaitForFirstConsumer, le PVC "
            "reste Pending tant qu'aucun pod ne le monte.")
def catalogue_claim_bound(state: ClusterState) -> Verdict:
    claim = _app_object(state, "PersistentVolumeClaim")
    name = NAMES["PersistentVolumeClaim"]
    ref = ObjectRef("PersistentVolumeClaim", name)
    if claim is None:
        return failed(f"Le PVC `{name}` devrait exister (trouvé : aucun).", ref)
    default = default_storage_class(state.objects("storage.k8s.io/v1", "StorageClass", CLUSTER_SCOPE))
    default_name = name_of(default) if default else None
    wanted = (claim.get("spec") or {}).get("storageClassName")
    phase = (claim.get("status") or {}).get("phase", "absent")
    stuck = unbindable(state, claim) if phase != "Bound" else None
    if default is None and stuck is not None:
        return failed(f"Le PVC `{name}` devrait être Bound (trouvé : {phase} ; {stuck[0]}).", ref, hint=stuck[1])
    if wanted not in (None, default_name):
        return failed(f"Le PVC `{name}` devrait utiliser la StorageClass par défaut `{default_name}` "
                      f"(trouvé : `{wanted}`).", ref)
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
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selects(selector, labels_of(pod_template(deployment))):
        return failed(f"Le sélecteur du Service `{APP}` devrait choisir les pods du Deployment `{APP}` "
                      f"(sélecteur : {_labels_text(selector)} ; labels des pods : "
                      f"{_labels_text(labels_of(pod_template(deployment)))}).", ref)
    slices = [s for s in state.objects("discovery.k8s.io/v1", "EndpointSlice")
              if labels_of(s).get("kubernetes.io/service-name") == APP]
    ready = sorted({(e.get("targetRef") or {}).get("name", "") for s in slices for e in s.get("endpoints") or []
                    if (e.get("conditions") or {}).get("ready") is True})
    if not ready:
        return failed(f"Le Service `{APP}` devrait avoir des pods prêts derrière lui (trouvé : aucune adresse prête).",
                      ref, pending=True)
    return passed(f"Le Service `{APP}` a {len(ready)} pod{'s' if len(ready) > 1 else ''} "
                  f"prêt{'s' if len(ready) > 1 else ''} derrière lui ({listing(ready)}).", ref)


@check("catalogue-ingress", title="L'Ingress catalogue vise le Service catalogue", category="réseau", course=COURSE,
       hint="`ingressClassName: public`, une règle avec un hôte (par exemple `catalogue.lab.local`) et "
            "`backend.service: {name: catalogue, port: {number: 80}}` (un port que le Service expose).")
def catalogue_ingress(state: ClusterState) -> Verdict:
    ingress = _app_object(state, "Ingress")
    ref = ObjectRef("Ingress", APP)
    if ingress is None:
        return failed(f"L'Ingress `{APP}` devrait exister (trouvé : aucun).", ref)
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

    def right(backend: IngressBackend) -> bool:
        return backend.service.get("name") == APP and service is not None \
            and service_port(service, backend.service.get("port") or {}) is not None

    def shown(backend: IngressBackend) -> str:
        return f"`{backend.service.get('name', '')}:{port_text(backend.service.get('port') or {})}`"

    wrong = [shown(backend) for backend in backends if not right(backend)]
    if not backends or wrong:
        problems.append(f"renvoyer vers un port du Service `{APP}` (trouvé : {', '.join(wrong) or 'aucun backend'})")
    if problems:
        return failed(f"L'Ingress `{APP}` devrait avoir {' ; '.join(problems)}.", ref)
    return passed(f"L'Ingress `{APP}` (classe `{INGRESS_CLASS}`, hôte {listing(hosts)}) renvoie vers le Service "
                  f"`{APP}`.",
                  ref)
