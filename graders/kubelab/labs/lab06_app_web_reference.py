"""Lab 06 — Application web de référence.

The whole reference architecture in one namespace: frontend and backend Deployments, Redis,
PostgreSQL as a StatefulSet on a claim, four ClusterIP Services, an Ingress with TLS for two
hosts, and a backup CronJob. Beyond each object's own shape, the checks verify that the
objects agree with one another, as the cluster would only reveal at run time:

- every ConfigMap or Secret key a workload references exists;
- each Service's selector chooses the pods of its workload (and only them), some of them
  Ready, and its ``targetPort`` is a port their container declares (number or name);
- each Ingress backend is an existing Service and one of its ports (number or name);
- the Ingress's TLS section names the Secret ``webapp-tls`` for every host it routes, and that
  Secret has the type ``kubernetes.io/tls`` with its two keys. Snapshots strip Secret values,
  so the certificate itself is never read: the hosts are checked in ``spec.tls[].hosts``.

What would keep pods from starting on any cluster (a missing ConfigMap, Secret, key or claim, a
probe on a port name the container does not declare) fails the readiness check of that
workload even on simulated nodes, where every pod becomes Ready (``kubelab.startup``).

Statement → check:

- « Le Secret `postgres-credentials` a les clés `POSTGRES_USER`, `POSTGRES_PASSWORD` et
  `POSTGRES_DB` » → ``postgres-credentials-keys``;
- « `backend` lit sa configuration dans `backend-config` (`envFrom` ou `configMapKeyRef`) » →
  ``backend-config-from-configmap``; « et le mot de passe de la base dans `postgres-credentials`
  par `secretKeyRef` (clé `POSTGRES_PASSWORD`) » → ``backend-password-from-secret``;
- « Chaque ConfigMap, Secret et clé référencés … existe (sauf référence `optional: true`) » →
  ``config-references-exist``;
- « Aucun mot de passe n'est écrit en clair » → ``no-plaintext-passwords``;
- « `frontend` et `backend` ont au moins 2 réplicas prêts » → ``frontend-backend-replicas``;
  « une `readinessProbe` et une `livenessProbe` » (each on a port the container declares) →
  ``frontend-backend-probes``; « des requests et des limits » → ``frontend-backend-resources``;
- « `redis` (image `redis`) a son pod prêt » → ``redis-ready``;
- « `postgres` utilise `postgres:17`, lit ses identifiants dans le Secret » → ``postgres-statefulset``;
  « stocke ses données sur un PVC lié (`Bound`) » monté sur `/var/lib/postgresql/data` →
  ``postgres-data-persistent``; « et a son pod prêt » → ``postgres-ready``;
- « Les quatre Services existent en ClusterIP avec les bons ports » → ``services-clusterip-ports``;
  « leurs sélecteurs désignent des pods prêts de leur composant (et d'aucun autre) » →
  ``services-select-ready-pods``; « leur `targetPort` correspond à un port de conteneur » →
  ``services-target-ports``;
- « L'Ingress `webapp` a la classe `public` (qui doit exister dans le cluster) » →
  ``ingress-class-public``; « une section `tls` qui couvre chacun de ses hôtes avec `webapp-tls` »
  → ``ingress-tls``; « envoie `www.lab.local` vers `frontend:80` et `api.lab.local` vers
  `backend:8080` » → ``ingress-routes``; « chacun de ses backends est un Service et un port qui
  existent » → ``ingress-backends-exist``;
- « Le Secret `webapp-tls` est de type `kubernetes.io/tls` avec les clés `tls.crt` et `tls.key` » →
  ``tls-secret``;
- « Un pod qui ne pourrait pas démarrer sur un vrai cluster n'est jamais compté prêt » → in
  ``frontend-backend-replicas``, ``redis-ready``, ``postgres-ready`` and ``services-select-ready-pods``;
- « Le CronJob `postgres-backup` n'est pas suspendu, son conteneur lance `pg_dump` » →
  ``backup-cronjob``; « et lit le mot de passe dans `postgres-credentials` » →
  ``backup-credentials-from-secret``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kubelab.checks import ObjectRef, Registry, Verdict, failed, passed
from kubelab.cluster_state import CLUSTER_SCOPE, ClusterState, Read, secret_keys
from kubelab.credentials import plaintext_findings, secret_with_keys
from kubelab.objects import (
    SECRET_NAME,
    containers,
    env_references,
    image_reference,
    is_image_version,
    is_ready,
    labels_of,
    listing,
    missing_resources,
    name_of,
    pod_spec,
    pod_template,
    pods_of,
    selects,
)
from kubelab.ports import (
    PROBE_KINDS,
    IngressBackend,
    declared_ports,
    port_text,
    probe_port_problem,
    service_port,
    shown_ports,
    target_of,
)
from kubelab.ports import ingress_backends as backends_of  # the check below is called ingress_backends
from kubelab.references import references, variable_source
from kubelab.startup import startup_problems, state_lookup

registry = Registry()
check = registry.check

READS = (
    Read("v1", "ConfigMap"),
    Read("v1", "Secret"),
    Read("apps/v1", "Deployment"),
    Read("apps/v1", "ReplicaSet"),
    Read("apps/v1", "StatefulSet"),
    Read("batch/v1", "CronJob"),
    Read("v1", "Pod"),
    Read("v1", "PersistentVolumeClaim"),
    Read("v1", "Service"),
    Read("networking.k8s.io/v1", "Ingress"),
    Read("networking.k8s.io/v1", "IngressClass", CLUSTER_SCOPE),
)

Obj = dict[str, Any]

COURSE = "references/application-web.md"
CONFIGMAP = "backend-config"
SECRET = "postgres-credentials"
SECRET_KEYS = ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")
PASSWORD_KEY = "POSTGRES_PASSWORD"
TLS_SECRET = "webapp-tls"
TLS_TYPE = "kubernetes.io/tls"
TLS_KEYS = ("tls.crt", "tls.key")
INGRESS = "webapp"
INGRESS_CLASS = "public"
CRONJOB = "postgres-backup"
WEB = ("frontend", "backend")
MIN_REPLICAS = 2
POSTGRES_IMAGE = "postgres:17"
DATA_PATH = "/var/lib/postgresql/data"
# Service -> (port, kind of the workload whose pods it must choose); the workload has the Service's name.
SERVICES: dict[str, tuple[int, str]] = {
    "frontend": (80, "Deployment"),
    "backend": (8080, "Deployment"),
    "redis": (6379, "Deployment"),
    "postgres": (5432, "StatefulSet"),
}
ROUTES = (("www.lab.local", "frontend", 80), ("api.lab.local", "backend", 8080))
HOSTS = tuple(host for host, _, _ in ROUTES)

ING = ObjectRef("Ingress", INGRESS)
CRON = ObjectRef("CronJob", CRONJOB)
STS = ObjectRef("StatefulSet", "postgres")
MISSING_INGRESS = failed(f"L'Ingress `{INGRESS}` devrait exister dans le namespace du lab (trouvé : aucun).", ING)
MISSING_CRON = failed(f"Le CronJob `{CRONJOB}` devrait exister dans le namespace du lab (trouvé : aucun).", CRON)
MISSING_STS = failed("Le StatefulSet `postgres` devrait exister dans le namespace du lab (trouvé : aucun).", STS)


# --- shared queries -----------------------------------------------------------------------------


def _api_version(kind: str) -> str:
    return "batch/v1" if kind == "CronJob" else "apps/v1"


def _workload(state: ClusterState, kind: str, name: str) -> Obj | None:
    return state.get(_api_version(kind), kind, name)


def _workloads(state: ClusterState) -> list[Obj]:
    """Every Deployment, StatefulSet and CronJob of the namespace."""
    return [obj for kind in ("Deployment", "StatefulSet", "CronJob")
            for obj in state.objects(_api_version(kind), kind)]


def _pods(state: ClusterState, workload: Obj) -> list[Obj]:
    return pods_of(workload, state.objects("v1", "Pod"), state.objects("apps/v1", "ReplicaSet"))


def _ready(state: ClusterState, workload: Obj) -> int:
    return sum(is_ready(pod) for pod in _pods(state, workload))


def _blocked(state: ClusterState, workload: Obj) -> str | None:
    """Why the workload's pods cannot start or become Ready on any cluster, or ``None``."""
    problems = startup_problems(workload, state_lookup(state))
    return f"ses pods ne peuvent pas démarrer : {' ; '.join(problems)}" if problems else None


def _ready_text(count: int) -> str:
    return f"{count} pod prêt" if count <= 1 else f"{count} pods prêts"


def _selector_text(selector: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(selector.items())) or "aucun"


def _credentials(state: ClusterState) -> str:
    """The database's credentials Secret: `postgres-credentials`, else the Secret PostgreSQL reads its
    password from, when that one exists. So a Secret named otherwise, and used so everywhere, costs
    ``postgres-credentials-keys`` only."""
    if state.get("v1", "Secret", SECRET) is not None:
        return SECRET
    sts = _workload(state, "StatefulSet", "postgres")
    source = variable_source(_postgres_container(sts), "POSTGRES_PASSWORD", state_lookup(state)) if sts else None
    if source is not None and source.kind == "Secret" and state.get("v1", "Secret", source.name) is not None:
        return source.name
    return SECRET


def _secret_var(container: Obj, secret: str, key: str) -> str | None:
    """The name of a variable read by ``secretKeyRef`` from ``secret``/``key``, if any."""
    return next((ref.variable or "" for ref in env_references(container)
                 if ref.via == "env" and ref.kind == "Secret" and ref.name == secret and ref.key == key), None)


def _env_from_secret(container: Obj, secret: str) -> bool:
    return any((source.get("secretRef") or {}).get("name") == secret for source in container.get("envFrom") or [])


def _password_vars(container: Obj) -> str:
    """How a container's password-like variables are set, for a failure message."""
    found = []
    for var in container.get("env") or []:
        name = var.get("name", "")
        if not SECRET_NAME.search(name):
            continue
        source = var.get("valueFrom") or {}
        if "value" in var:
            found.append(f"`{name}` en clair")
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            found.append(f"`{name}` ← Secret `{ref.get('name', '?')}`, clé `{ref.get('key', '?')}`")
        elif "configMapKeyRef" in source:
            found.append(f"`{name}` ← ConfigMap `{source['configMapKeyRef'].get('name', '?')}`")
    secrets_from = [(s.get("secretRef") or {}).get("name", "?") for s in container.get("envFrom") or []
                    if "secretRef" in s]
    found += [f"`envFrom` du Secret `{name}`" for name in secrets_from]
    return ", ".join(found) or "aucune variable de mot de passe"


def _references(workload: Obj) -> Iterator[tuple[str, str, str | None]]:
    """(kind, name, key or None) of each ConfigMap and Secret a workload needs (optional ones skipped)."""
    for ref in references(workload):
        if ref.kind in ("ConfigMap", "Secret") and not ref.optional:
            yield ref.kind, ref.name, ref.key


def _keys(obj: Obj) -> set[str]:
    if obj.get("kind") == "Secret":
        return secret_keys(obj)
    return {*(obj.get("data") or {}), *(obj.get("binaryData") or {})}


def _routes_to(backend: Obj, name: str, service: Obj | None, number: int) -> bool:
    """Does an Ingress backend (``service: {name, port}``) designate port ``number`` of Service ``name``?"""
    if backend.get("name") != name:
        return False
    port = backend.get("port") or {}
    if port.get("number") == number:
        return True
    target = service_port(service, port) if service is not None and "name" in port else None
    return bool(target and target.get("port") == number)


def _where(backend: IngressBackend) -> str:
    return "backend par défaut" if backend.host is None else f"`{backend.host or '*'}{backend.path}`"


def _postgres_container(sts: Obj) -> Obj:
    """The PostgreSQL container: the one called `postgres`, else the one running a postgres image, else the first."""
    listed = containers(sts)
    return next((c for c in listed if c.get("name") == "postgres"),
                next((c for c in listed if image_reference(c.get("image", "")).name == "postgres"),
                     listed[0] if listed else {}))


def _persistent_mounts(sts: Obj) -> dict[str, tuple[str, str]]:
    """Volume name -> (PVC name for `postgres-0`, mount path) of the persistent volumes the container mounts."""
    container = _postgres_container(sts)
    mounts = {m.get("name"): m.get("mountPath", "") for m in container.get("volumeMounts") or []}
    claims = {t.get("metadata", {}).get("name"): f"{t.get('metadata', {}).get('name')}-postgres-0"
              for t in sts["spec"].get("volumeClaimTemplates") or []}
    claims.update({v.get("name"): v["persistentVolumeClaim"].get("claimName", "")
                   for v in pod_spec(sts).get("volumes") or []
                   if (v.get("persistentVolumeClaim") or {}).get("claimName")})
    return {volume: (claim, mounts[volume]) for volume, claim in claims.items() if volume in mounts}


def _postgres_claim(state: ClusterState) -> tuple[str, str] | None:
    """(volume name, PVC name) of the claim mounted for PostgreSQL's data, if any."""
    sts = _workload(state, "StatefulSet", "postgres")
    if sts is None:
        return None
    return next(((volume, claim) for volume, (claim, path) in sorted(_persistent_mounts(sts).items())
                 if path.rstrip("/") == DATA_PATH), None)


# --- configuration and secrets --------------------------------------------------------------------


@check("postgres-credentials-keys", title="Le Secret des identifiants", category="sécurité", course=COURSE,
       hint="« kubectl create secret generic postgres-credentials -n lab-webapp --from-literal=POSTGRES_USER=app "
            "--from-literal=POSTGRES_DB=app --from-literal=POSTGRES_PASSWORD=\"$(openssl rand -base64 24)\" ».")
def credentials_keys(state: ClusterState) -> Verdict:
    used = _credentials(state)
    if used != SECRET:
        return failed(f"Le Secret `{SECRET}` devrait exister avec les clés {listing(SECRET_KEYS)} (trouvé : aucun ; "
                      f"PostgreSQL lit son mot de passe dans le Secret `{used}`).", ObjectRef("Secret", SECRET))
    return secret_with_keys(state, SECRET, SECRET_KEYS)


@check("backend-config-from-configmap", title="L'API lit sa configuration dans backend-config",
       category="configuration", course=COURSE,
       hint="Dans le conteneur de `backend` : `envFrom: [{configMapRef: {name: backend-config}}]`, ou des variables "
            "`valueFrom.configMapKeyRef` avec `name: backend-config`.")
def backend_config(state: ClusterState) -> Verdict:
    backend = _workload(state, "Deployment", "backend")
    ref = ObjectRef("Deployment", "backend")
    if backend is None:
        return failed("Le Deployment `backend` devrait exister (trouvé : aucun).", ref)
    configmap = state.get("v1", "ConfigMap", CONFIGMAP)
    if configmap is None:
        return failed(f"La ConfigMap `{CONFIGMAP}` devrait exister (trouvé : aucune).",
                      ObjectRef("ConfigMap", CONFIGMAP))
    ways, used = set(), set()
    for container in containers(backend):
        config = [source for source in env_references(container) if source.kind == "ConfigMap"]
        from_env = {source.name for source in config if source.via == "envFrom"}
        from_keys = {source.name for source in config if source.via == "env"}
        ways |= {way for way, names in (("`envFrom`", from_env), ("`configMapKeyRef`", from_keys))
                 if CONFIGMAP in names}
        used |= from_env | from_keys
    if not ways:
        found = f"ConfigMap {listing(sorted(n or '?' for n in used))}" if used else "aucune ConfigMap"
        return failed(f"Le Deployment `backend` devrait lire sa configuration dans la ConfigMap `{CONFIGMAP}` "
                      f"(trouvé : {found}).", ref)
    return passed(f"Le Deployment `backend` lit sa configuration dans la ConfigMap `{CONFIGMAP}` "
                  f"(par {' et '.join(sorted(ways))}).", ref)


@check("config-references-exist", title="Chaque clé de ConfigMap ou de Secret référencée existe",
       category="configuration", course=COURSE,
       hint="« kubectl get configmap backend-config -o yaml » : chaque `configMapKeyRef.key` (et `secretKeyRef.key`) "
            "doit être une clé de l'objet. Sinon, le pod reste en `CreateContainerConfigError`.")
def references_exist(state: ClusterState) -> Verdict:
    workloads = _workloads(state)
    if not workloads:
        return failed("Les charges de travail du lab devraient exister (trouvé : aucun Deployment, StatefulSet "
                      "ni CronJob).")
    problems: list[str] = []
    count = 0
    for workload in workloads:
        for kind, name, key in dict.fromkeys(_references(workload)):
            count += 1
            target = state.get("v1", kind, name)
            article, of = ("la ConfigMap", "de la ConfigMap") if kind == "ConfigMap" else ("le Secret", "du Secret")
            if target is None:
                problems.append(f"`{name_of(workload)}` → {article} `{name}` (introuvable)")
            elif key is not None and key not in _keys(target):
                present = listing(sorted(_keys(target))) or "aucune"
                problems.append(f"`{name_of(workload)}` → clé `{key}` {of} `{name}` "
                                f"(absente ; clés présentes : {present})")
    if problems:
        return failed(f"Chaque ConfigMap, Secret et clé référencés devrait exister (trouvé : {' ; '.join(problems)}).")
    return passed(f"Les {count} références à des ConfigMaps et des Secrets désignent des objets et des clés "
                  "qui existent.")


@check("backend-password-from-secret", title="L'API lit le mot de passe par secretKeyRef", category="sécurité",
       course=COURSE, related=("kubescape:C-0012", "kube-linter:env-var-secret"),
       hint="Une variable du conteneur de `backend`, par exemple `DB_PASSWORD`, avec "
            "`valueFrom.secretKeyRef: {name: postgres-credentials, key: POSTGRES_PASSWORD}`.")
def backend_password(state: ClusterState) -> Verdict:
    backend = _workload(state, "Deployment", "backend")
    ref = ObjectRef("Deployment", "backend")
    if backend is None:
        return failed("Le Deployment `backend` devrait exister (trouvé : aucun).", ref)
    secret = _credentials(state)
    for container in containers(backend):
        var = _secret_var(container, secret, PASSWORD_KEY)
        if var:
            return passed(f"La variable `{var}` de `backend` vient du Secret `{secret}` (clé `{PASSWORD_KEY}`).", ref)
    found = " ; ".join(_password_vars(c) for c in containers(backend)) or "aucun conteneur"
    return failed(f"Le Deployment `backend` devrait lire le mot de passe de la base par `secretKeyRef` "
                  f"(Secret `{secret}`, clé `{PASSWORD_KEY}`) (trouvé : {found}).", ref)


@check("no-plaintext-passwords", title="Aucun mot de passe en clair", category="sécurité", course=COURSE,
       related=("kubescape:C-0012", "kube-linter:env-var-secret"),
       hint="Aucune variable `…PASSWORD`, `…SECRET`, `…TOKEN` ou `…KEY` avec `value:` dans les conteneurs, ni dans "
            "une ConfigMap : ces valeurs vont dans le Secret.")
def no_plaintext(state: ClusterState) -> Verdict:
    workloads = _workloads(state)
    if not workloads:
        return failed("Les charges de travail du lab devraient exister (trouvé : aucun Deployment, StatefulSet "
                      "ni CronJob).")
    lookup = state_lookup(state)
    leaked = [f"`{name_of(w)}`, {finding}" for w in workloads for finding in plaintext_findings(w, lookup)]
    leaked += [f"ConfigMap `{name_of(cm)}` : `{key}`" for cm in state.objects("v1", "ConfigMap")
               for key in sorted(cm.get("data") or {}) if SECRET_NAME.search(key)]
    if leaked:
        return failed(f"Aucun mot de passe ne devrait être écrit en clair (trouvé : {' ; '.join(leaked)}).")
    return passed(f"Aucun mot de passe n'est écrit en clair dans les {len(workloads)} charges de travail (variables, "
                  "commandes, sondes, annotations) ni dans les ConfigMaps.")


# --- workloads ------------------------------------------------------------------------------------


def _web_problems(state: ClusterState, problem: Callable[[Obj], tuple[str, bool] | None]) -> tuple[list[str], bool]:
    """Problems of `frontend` and `backend` found by ``problem(deployment)`` (text, pending)."""
    problems: list[str] = []
    all_pending = True
    for name in WEB:
        deployment = _workload(state, "Deployment", name)
        if deployment is None:
            problems.append(f"`{name}` : absent")
            all_pending = False
            continue
        found = problem(deployment)
        if found:
            text, pending = found
            problems.append(f"`{name}` : {text}")
            all_pending = all_pending and pending
    return problems, bool(problems) and all_pending


@check("frontend-backend-replicas", title="Frontend et API : au moins 2 réplicas prêts", category="fiabilité",
       course=COURSE, related=("kube-score:deployment-replicas",),
       hint="`spec.replicas: 2` dans les Deployments `frontend` et `backend` ; « kubectl get deploy -n lab-webapp » "
            "montre les réplicas prêts.")
def web_replicas(state: ClusterState) -> Verdict:
    def problem(deployment: Obj) -> tuple[str, bool] | None:
        wanted = deployment["spec"].get("replicas", 1)
        if wanted < MIN_REPLICAS:
            return f"{wanted} réplica demandé", False
        if (blocked := _blocked(state, deployment)) is not None:
            return blocked, False
        ready = _ready(state, deployment)
        if ready < MIN_REPLICAS:
            return f"{_ready_text(ready)} sur {wanted}", True
        return None

    problems, pending = _web_problems(state, problem)
    if problems:
        return failed(f"Les Deployments `frontend` et `backend` devraient avoir au moins {MIN_REPLICAS} réplicas prêts "
                      f"(trouvé : {' ; '.join(problems)}).", *(ObjectRef("Deployment", n) for n in WEB),
                      pending=pending)
    return passed(f"Les Deployments `frontend` et `backend` ont chacun au moins {MIN_REPLICAS} réplicas prêts.",
                  *(ObjectRef("Deployment", n) for n in WEB))


@check("frontend-backend-probes", title="Frontend et API : sondes de disponibilité et de vivacité",
       category="fiabilité", course=COURSE,
       related=("polaris:readinessProbeMissing", "polaris:livenessProbeMissing", "kube-score:pod-probes",
                "kube-linter:no-readiness-probe", "kube-linter:no-liveness-probe"),
       hint="Dans chaque conteneur : `readinessProbe` (le pod reçoit-il du trafic ?) et `livenessProbe` "
            "(faut-il le redémarrer ?), par exemple `httpGet` sur `/`, vers un port que le conteneur déclare "
            "(`ports[].containerPort`, ou son `name`).")
def web_probes(state: ClusterState) -> Verdict:
    def problem(deployment: Obj) -> tuple[str, bool] | None:
        missing = [f"`{kind}` absente du conteneur `{c.get('name', '?')}`" for c in containers(deployment)
                   for kind in ("readinessProbe", "livenessProbe") if not c.get(kind)]
        missing += [found for c in containers(deployment) for kind in PROBE_KINDS
                    if (found := probe_port_problem(c, kind))]
        return (", ".join(missing), False) if missing else None

    problems, _ = _web_problems(state, problem)
    if problems:
        return failed(f"Les conteneurs de `frontend` et `backend` devraient avoir une `readinessProbe` et une "
                      f"`livenessProbe`, sur un port que le conteneur déclare (trouvé : {' ; '.join(problems)}).",
                      *(ObjectRef("Deployment", n) for n in WEB))
    return passed("Les conteneurs de `frontend` et `backend` ont une `readinessProbe` et une `livenessProbe`, sur des "
                  "ports qu'ils déclarent.", *(ObjectRef("Deployment", n) for n in WEB))


@check("frontend-backend-resources", title="Frontend et API : requests et limits", category="fiabilité",
       course=COURSE,
       related=("polaris:cpuRequestsMissing", "polaris:memoryLimitsMissing", "kube-score:container-resources",
                "kube-linter:unset-cpu-requirements", "kube-linter:unset-memory-requirements"),
       hint="`resources.requests` et `resources.limits` pour `cpu` et `memory` dans chaque conteneur.")
def web_resources(state: ClusterState) -> Verdict:
    def problem(deployment: Obj) -> tuple[str, bool] | None:
        missing = [f"{listing(m)} (conteneur `{c.get('name', '?')}`)" for c in containers(deployment)
                   if (m := missing_resources(c))]
        return (", ".join(missing), False) if missing else None

    problems, _ = _web_problems(state, problem)
    if problems:
        return failed(f"Les conteneurs de `frontend` et `backend` devraient déclarer requests et limits de CPU et de "
                      f"mémoire (manque : {' ; '.join(problems)}).", *(ObjectRef("Deployment", n) for n in WEB))
    return passed("Les conteneurs de `frontend` et `backend` déclarent leurs requests et leurs limits.",
                  *(ObjectRef("Deployment", n) for n in WEB))


@check("redis-ready", title="Le cache Redis est prêt", category="fiabilité", course=COURSE,
       hint="Un Deployment `redis`, 1 réplica, image `redis:7-alpine` ; « kubectl describe pod -l app=redis » si le "
            "pod n'est pas prêt.")
def redis_ready(state: ClusterState) -> Verdict:
    redis = _workload(state, "Deployment", "redis")
    ref = ObjectRef("Deployment", "redis")
    if redis is None:
        return failed("Le Deployment `redis` devrait exister (trouvé : aucun).", ref)
    images = [c.get("image", "") for c in containers(redis)]
    if not any(image_reference(image).name == "redis" for image in images):
        return failed("Le Deployment `redis` devrait utiliser l'image `redis` (trouvé : "
                      f"{listing(images) or 'aucune'}).",
                      ref)
    if (blocked := _blocked(state, redis)) is not None:
        return failed(f"Le Deployment `redis` devrait avoir 1 pod prêt (trouvé : {blocked}).", ref)
    ready = _ready(state, redis)
    if ready < 1:
        return failed("Le Deployment `redis` devrait avoir 1 pod prêt (trouvé : 0).", ref, pending=True)
    return passed(f"Le Deployment `redis` a {_ready_text(ready)} (image {listing(images)}).", ref)


@check("postgres-statefulset", title="PostgreSQL en StatefulSet, identifiants du Secret", category="configuration",
       course=COURSE, related=("kubescape:C-0012",),
       hint="Un StatefulSet `postgres`, image `postgres:17`, `POSTGRES_USER` et `POSTGRES_PASSWORD` lus dans "
            "`postgres-credentials` (`secretKeyRef` ou `envFrom.secretRef`).")
def postgres_statefulset(state: ClusterState) -> Verdict:
    sts = _workload(state, "StatefulSet", "postgres")
    if sts is None:
        return MISSING_STS
    container = _postgres_container(sts)
    image = container.get("image", "")
    problems = []
    if not is_image_version(image, *POSTGRES_IMAGE.split(":")):
        problems.append(f"l'image `{POSTGRES_IMAGE}` (trouvé : `{image or 'aucune'}`)")
    lookup = state_lookup(state)
    sources = {name: variable_source(container, name, lookup) for name in ("POSTGRES_USER", "POSTGRES_PASSWORD")}
    wrong = [name for name, source in sources.items()
             if source is None or (source.kind, source.name) != ("Secret", _credentials(state))]
    if wrong:
        problems.append(f"{listing(wrong)} lus dans le Secret `{_credentials(state)}` (trouvé : valeur en clair ou "
                        "autre source)")
    if problems:
        return failed(f"Le StatefulSet `postgres` devrait avoir {' ; '.join(problems)}.", STS)
    return passed(f"Le StatefulSet `postgres` utilise `{image}` et lit ses identifiants dans `{_credentials(state)}`.",
                  STS)


@check("postgres-data-persistent", title="Les données PostgreSQL sur un volume lié", category="stockage",
       course=COURSE,
       hint="Un `volumeClaimTemplate` (ou un volume `persistentVolumeClaim`) monté sur `/var/lib/postgresql/data` ; "
            "« kubectl get pvc -n lab-webapp » doit le montrer `Bound`.")
def postgres_data(state: ClusterState) -> Verdict:
    sts = _workload(state, "StatefulSet", "postgres")
    if sts is None:
        return MISSING_STS
    claim = _postgres_claim(state)
    if claim is None:
        elsewhere = [f"`{volume}` sur `{path}`" for volume, (_, path) in sorted(_persistent_mounts(sts).items())]
        found = f"le volume persistant {', '.join(elsewhere)}" if elsewhere else "aucun volume persistant monté"
        return failed("Le StatefulSet `postgres` devrait monter un volume persistant (volumeClaimTemplate ou PVC) sur "
                      f"`{DATA_PATH}` (trouvé : {found}).", STS)
    pvc = state.get("v1", "PersistentVolumeClaim", claim[1])
    ref = ObjectRef("PersistentVolumeClaim", claim[1])
    phase = (pvc or {}).get("status", {}).get("phase", "absent")
    if phase != "Bound":
        return failed(f"Le PVC `{claim[1]}` des données de PostgreSQL devrait être Bound (trouvé : {phase}).", ref, STS,
                      pending=True)
    return passed(f"Les données de PostgreSQL sont sur le PVC `{claim[1]}`, Bound.", ref, STS)


@check("postgres-ready", title="Le pod PostgreSQL est prêt", category="fiabilité", course=COURSE,
       hint="« kubectl describe pod postgres-0 -n lab-webapp » : les événements disent ce qui bloque (volume, "
            "Secret, sonde).")
def postgres_ready(state: ClusterState) -> Verdict:
    sts = _workload(state, "StatefulSet", "postgres")
    if sts is None:
        return MISSING_STS
    if (blocked := _blocked(state, sts)) is not None:
        return failed(f"Le StatefulSet `postgres` devrait avoir 1 pod prêt (trouvé : {blocked}).", STS)
    ready = _ready(state, sts)
    if ready < 1:
        return failed("Le StatefulSet `postgres` devrait avoir 1 pod prêt (trouvé : 0).", STS, pending=True)
    return passed("Le StatefulSet `postgres` a son pod prêt.", STS)


# --- Services -----------------------------------------------------------------------------------


def _service_problems(state: ClusterState,
                      problem: Callable[[Obj, Obj], tuple[str, bool] | None]) -> tuple[list[str], bool]:
    """Problems of the four Services found by ``problem(service, workload)`` (text, pending)."""
    problems: list[str] = []
    all_pending = True
    for name, (_, kind) in SERVICES.items():
        service = state.get("v1", "Service", name)
        workload = _workload(state, kind, name)
        if service is None or workload is None:
            problems.append(f"`{name}` : " + ("Service absent" if service is None else f"{kind} `{name}` absent"))
            all_pending = False
            continue
        found = problem(service, workload)
        if found:
            text, pending = found
            problems.append(f"`{name}` : {text}")
            all_pending = all_pending and pending
    return problems, bool(problems) and all_pending


SERVICE_REFS = tuple(ObjectRef("Service", name) for name in SERVICES)


@check("services-clusterip-ports", title="Les quatre Services en ClusterIP, avec leurs ports", category="réseau",
       course=COURSE,
       hint="Services `frontend` (80), `backend` (8080), `redis` (6379) et `postgres` (5432), de type ClusterIP "
            "(le type par défaut).")
def services_ports(state: ClusterState) -> Verdict:
    problems = []
    for name, (port, _) in SERVICES.items():
        service = state.get("v1", "Service", name)
        if service is None:
            problems.append(f"`{name}` : absent")
            continue
        kind = service["spec"].get("type", "ClusterIP")
        ports = [p.get("port") for p in service["spec"].get("ports") or []]
        if kind != "ClusterIP":
            problems.append(f"`{name}` : type {kind}")
        if port not in ports:
            problems.append(f"`{name}` : port {', '.join(map(str, ports)) or 'aucun'} au lieu de {port}")
    if problems:
        return failed("Les Services `frontend`, `backend`, `redis` et `postgres` devraient être de type "
                      "ClusterIP avec "
                      f"leurs ports 80, 8080, 6379 et 5432 (trouvé : {' ; '.join(problems)}).", *SERVICE_REFS)
    return passed("Les Services `frontend`, `backend`, `redis` et `postgres` sont en ClusterIP sur les ports 80, 8080, "
                  "6379 et 5432.", *SERVICE_REFS)


@check("services-select-ready-pods", title="Chaque Service choisit les pods prêts de son composant",
       category="réseau", course=COURSE, related=("kube-score:service-targets-pod", "kube-linter:dangling-service"),
       hint="Comparez `spec.selector` du Service aux labels du gabarit de pod (« kubectl get pods --show-labels ») ; "
            "« kubectl get endpointslices -l kubernetes.io/service-name=<service> » doit lister des adresses prêtes.")
def services_select(state: ClusterState) -> Verdict:
    others = [w for w in _workloads(state) if w.get("kind") != "CronJob"]

    def problem(service: Obj, workload: Obj) -> tuple[str, bool] | None:
        selector = service["spec"].get("selector") or {}
        labels = labels_of(pod_template(workload))
        if not selects(selector, labels):
            return (f"le sélecteur {_selector_text(selector)} ne choisit pas les pods du {workload['kind']} "
                    f"`{name_of(workload)}` (labels : {_selector_text(labels)})", False)
        extra = [f"{w['kind']} `{name_of(w)}`" for w in others
                 if (w["kind"], name_of(w)) != (workload["kind"], name_of(workload))
                 and selects(selector, labels_of(pod_template(w)))]
        if extra:
            return f"le sélecteur {_selector_text(selector)} choisit aussi les pods de {', '.join(extra)}", False
        selected = [p for p in state.objects("v1", "Pod") if selects(selector, labels_of(p))
                    and not p["metadata"].get("deletionTimestamp")]
        if _blocked(state, workload) is not None:
            return f"aucun pod prêt : les pods de `{name_of(workload)}` ne peuvent pas démarrer", False
        if not any(is_ready(p) for p in selected):
            chosen = "le seul pod choisi" if len(selected) == 1 else f"les {len(selected)} pods choisis"
            return f"aucun pod prêt parmi {chosen}", True
        return None

    problems, pending = _service_problems(state, problem)
    if problems:
        return failed(f"Le sélecteur de chaque Service devrait choisir des pods prêts de son composant, et eux seuls "
                      f"(trouvé : {' ; '.join(problems)}).", *SERVICE_REFS, pending=pending)
    return passed("Le sélecteur de chaque Service choisit des pods prêts de son composant, et eux seuls.",
                  *SERVICE_REFS)


@check("services-target-ports", title="Chaque targetPort est un port déclaré du conteneur", category="réseau",
       course=COURSE,
       hint="`targetPort` vaut le `containerPort` du conteneur (par exemple `8080`) ou le nom de ce port "
            "(`ports[].name`, par exemple `http`) ; sans `targetPort`, c'est `port` qui est utilisé.")
def services_target_ports(state: ClusterState) -> Verdict:
    def problem(service: Obj, workload: Obj) -> tuple[str, bool] | None:
        numbers, names = declared_ports(workload)
        declared = ", ".join([*map(str, sorted(numbers)), *sorted(names)]) or "aucun"
        wrong = []
        for port in service["spec"].get("ports") or []:
            target = target_of(port)
            if (isinstance(target, int) and target not in numbers) or (isinstance(target, str) and target not in names):
                wrong.append(f"`targetPort: {target}` (ports du conteneur : {declared})")
        return (", ".join(wrong), False) if wrong else None

    problems, _ = _service_problems(state, problem)
    if problems:
        return failed(f"Le `targetPort` de chaque Service devrait être un port déclaré par le conteneur de ses pods "
                      f"(trouvé : {' ; '.join(problems)}).", *SERVICE_REFS)
    return passed("Le `targetPort` de chaque Service est un port déclaré par le conteneur de ses pods.", *SERVICE_REFS)


# --- Ingress --------------------------------------------------------------------------------------


@check("ingress-class-public", title="L'Ingress webapp sur la classe public", category="réseau", course=COURSE,
       hint="`spec.ingressClassName: public` (la classe de l'addon `ingress` de MicroK8s : "
            "« microk8s enable ingress »).")
def ingress_class(state: ClusterState) -> Verdict:
    ingress = state.get("networking.k8s.io/v1", "Ingress", INGRESS)
    if ingress is None:
        return MISSING_INGRESS
    name = ingress["spec"].get("ingressClassName")
    if name != INGRESS_CLASS:
        return failed(f"L'Ingress `{INGRESS}` devrait déclarer `ingressClassName: {INGRESS_CLASS}` "
                      f"(trouvé : {f'`{name}`' if name else 'aucune classe'}).", ING)
    classes = sorted(name_of(c) for c in state.objects("networking.k8s.io/v1", "IngressClass", CLUSTER_SCOPE))
    if INGRESS_CLASS not in classes:
        return failed(f"L'IngressClass `{INGRESS_CLASS}` devrait exister dans le cluster : activez l'addon `ingress` "
                      f"(trouvé : {listing(classes) or 'aucune classe'}).", ING)
    return passed(f"L'Ingress `{INGRESS}` utilise la classe `{INGRESS_CLASS}`, qui existe dans le cluster.", ING)


@check("ingress-tls", title="Le TLS de l'Ingress couvre les deux hôtes", category="sécurité", course=COURSE,
       hint="`spec.tls: [{hosts: [www.lab.local, api.lab.local], secretName: webapp-tls}]` : chaque hôte des "
            "règles doit figurer dans une entrée `tls` qui nomme le Secret.")
def ingress_tls(state: ClusterState) -> Verdict:
    ingress = state.get("networking.k8s.io/v1", "Ingress", INGRESS)
    if ingress is None:
        return MISSING_INGRESS
    entries = ingress["spec"].get("tls") or []
    if not entries:
        return failed(f"L'Ingress `{INGRESS}` devrait avoir une section `tls` avec le Secret `{TLS_SECRET}` "
                      "(trouvé : aucune).", ING)
    covered = {host for entry in entries if entry.get("secretName") == TLS_SECRET for host in entry.get("hosts") or []}
    wanted = list(dict.fromkeys([*HOSTS, *(r["host"] for r in ingress["spec"].get("rules") or [] if r.get("host"))]))
    missing = [host for host in wanted if host not in covered]
    if missing:
        found = "; ".join(f"{listing(e.get('hosts') or []) or 'aucun hôte'} avec "
                          f"`{e.get('secretName') or 'aucun Secret'}`"
                          for e in entries)
        return failed(f"La section `tls` de l'Ingress `{INGRESS}` devrait couvrir {listing(missing)} avec le Secret "
                      f"`{TLS_SECRET}` (trouvé : {found}).", ING)
    return passed(f"La section `tls` de l'Ingress `{INGRESS}` couvre {listing(wanted)} avec le Secret `{TLS_SECRET}`.",
                  ING)


@check("tls-secret", title="Le Secret TLS webapp-tls", category="sécurité", course=COURSE,
       hint="« kubectl create secret tls webapp-tls -n lab-webapp --cert=tls.crt --key=tls.key » donne le type "
            "`kubernetes.io/tls` et les clés `tls.crt` et `tls.key`.")
def tls_secret(state: ClusterState) -> Verdict:
    secret = state.get("v1", "Secret", TLS_SECRET)
    ref = ObjectRef("Secret", TLS_SECRET)
    if secret is None:
        return failed(f"Le Secret `{TLS_SECRET}` devrait exister (trouvé : aucun).", ref)
    kind = secret.get("type") or "Opaque"
    missing = [key for key in TLS_KEYS if key not in secret_keys(secret)]
    if kind != TLS_TYPE or missing:
        found = f"type `{kind}`, clés {listing(sorted(secret_keys(secret))) or 'aucune'}"
        return failed(f"Le Secret `{TLS_SECRET}` devrait être de type `{TLS_TYPE}` avec les clés {listing(TLS_KEYS)} "
                      f"(trouvé : {found}).", ref)
    return passed(f"Le Secret `{TLS_SECRET}` est de type `{TLS_TYPE}` avec les clés {listing(TLS_KEYS)}.", ref)


@check("ingress-routes", title="Les deux hôtes vont vers le bon Service", category="réseau", course=COURSE,
       hint="Une règle `host: www.lab.local` vers le Service `frontend`, port 80, et une règle `host: api.lab.local` "
            "vers `backend`, port 8080 (`port.number`, ou `port.name` d'un port du Service).")
def ingress_routes(state: ClusterState) -> Verdict:
    ingress = state.get("networking.k8s.io/v1", "Ingress", INGRESS)
    if ingress is None:
        return MISSING_INGRESS
    problems = []
    for host, service_name, number in ROUTES:
        backends = [backend.service for backend in backends_of(ingress) if backend.host == host]
        if not backends:
            problems.append(f"aucune règle pour `{host}`")
            continue
        service = state.get("v1", "Service", service_name)
        if not any(_routes_to(b, service_name, service, number) for b in backends):
            shown = ", ".join(f"`{b.get('name', '?')}:{port_text(b.get('port') or {})}`" for b in backends)
            problems.append(f"`{host}` → {shown}")
    if problems:
        return failed(f"L'Ingress `{INGRESS}` devrait envoyer `www.lab.local` vers `frontend:80` et "
                      "`api.lab.local` vers "
                      f"`backend:8080` (trouvé : {' ; '.join(problems)}).", ING)
    return passed(f"L'Ingress `{INGRESS}` envoie `www.lab.local` vers `frontend:80` et `api.lab.local` vers "
                  "`backend:8080`.", ING)


@check("ingress-backends-exist", title="Chaque backend d'Ingress est un Service et un port existants",
       category="réseau", course=COURSE,
       related=("kube-score:ingress-targets-service", "kube-linter:dangling-ingress"),
       hint="« kubectl get svc -n lab-webapp » : le nom du Service et son port (numéro `port`, ou `name`) doivent y "
            "figurer ; sinon le contrôleur répond 404 ou 503.")
def ingress_backends(state: ClusterState) -> Verdict:
    ingresses = state.objects("networking.k8s.io/v1", "Ingress")
    if not any(name_of(i) == INGRESS for i in ingresses):
        return MISSING_INGRESS
    problems = []
    count = 0
    for ingress in ingresses:
        for backend in backends_of(ingress):
            if not backend.service:
                continue
            count += 1
            where = _where(backend)
            name, port = backend.service.get("name", ""), backend.service.get("port") or {}
            service = state.get("v1", "Service", name)
            if service is None:
                problems.append(f"`{name_of(ingress)}`, {where} → Service `{name}` (introuvable)")
            elif service_port(service, port) is None:
                ports = shown_ports(service["spec"].get("ports") or [], "port") or "aucun"
                problems.append(f"`{name_of(ingress)}`, {where} → `{name}:{port_text(port)}` "
                                f"(ports du Service : {ports})")
    if problems:
        return failed(f"Chaque backend d'Ingress devrait désigner un Service et un port qui existent "
                      f"(trouvé : {' ; '.join(problems)}).", ING)
    return passed(f"Les {count} backends d'Ingress désignent des Services et des ports qui existent.", ING)


# --- backup -----------------------------------------------------------------------------------------


@check("backup-cronjob", title="Le CronJob de sauvegarde lance pg_dump", category="exploitation", course=COURSE,
       hint="Un CronJob `postgres-backup`, `schedule: \"0 2 * * *\"`, non suspendu, dont le conteneur lance `pg_dump` "
            "(par exemple `command: [\"sh\", \"-c\"]` et un `args` qui appelle `pg_dump -h postgres …`).")
def backup_cronjob(state: ClusterState) -> Verdict:
    cron = state.get("batch/v1", "CronJob", CRONJOB)
    if cron is None:
        return MISSING_CRON
    schedule = cron["spec"].get("schedule", "")
    problems = []
    if cron["spec"].get("suspend"):
        problems.append("ne pas être suspendu (trouvé : `suspend: true`)")
    commands = [" ".join([*(c.get("command") or []), *(c.get("args") or [])]) for c in containers(cron)]
    if not any("pg_dump" in command for command in commands):
        shown = "; ".join(f"`{c[:60]}`" for c in commands if c) or "la commande par défaut de l'image"
        problems.append(f"lancer `pg_dump` (trouvé : {shown})")
    if problems:
        return failed(f"Le CronJob `{CRONJOB}` devrait {' et '.join(problems)}.", CRON)
    return passed(f"Le CronJob `{CRONJOB}` lance `pg_dump` selon l'horaire `{schedule}`.", CRON)


@check("backup-credentials-from-secret", title="La sauvegarde lit ses identifiants dans le Secret",
       category="sécurité", course=COURSE, related=("kubescape:C-0012",),
       hint="Dans le conteneur du CronJob : `PGPASSWORD` (et `PGUSER`) avec `valueFrom.secretKeyRef` sur "
            "`postgres-credentials`, ou `envFrom: [{secretRef: {name: postgres-credentials}}]`.")
def backup_credentials(state: ClusterState) -> Verdict:
    cron = state.get("batch/v1", "CronJob", CRONJOB)
    if cron is None:
        return MISSING_CRON
    for container in containers(cron):
        secret = _credentials(state)
        var = _secret_var(container, secret, PASSWORD_KEY)
        if var or _env_from_secret(container, secret):
            how = f"la variable `{var}`" if var else "`envFrom`"
            return passed(f"Le CronJob `{CRONJOB}` lit le mot de passe dans le Secret `{secret}` ({how}).", CRON)
    found = " ; ".join(_password_vars(c) for c in containers(cron)) or "aucun conteneur"
    return failed(f"Le CronJob `{CRONJOB}` devrait lire le mot de passe de la base dans le Secret `{SECRET}` "
                  f"(clé `{PASSWORD_KEY}`) (trouvé : {found}).", CRON)
