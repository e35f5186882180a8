"""Lab 09 — Observabilité.

Three bricks of a monitoring stack, written by hand in the namespace ``monitoring``:

- the Prometheus configuration (ConfigMap ``prometheus-config``, key ``prometheus.yml``): does
  it load (YAML syntax with line and column, duplicate keys, unknown top-level fields, job
  names, discovery roles, durations, as Prometheus's strict loader would refuse them), and does
  it define the jobs ``prometheus``, ``kubernetes-nodes`` and ``kubernetes-pods`` with their
  targets? A wrong value is reported by its path, e.g.
  ``scrape_configs[2].kubernetes_sd_configs[0].role : attendu pod, trouvé service``;
- Grafana (Deployment ``grafana``): a pinned image, its data on the PVC ``grafana-data``
  (Bound), its admin credentials read from the Secret ``grafana-admin`` by ``secretKeyRef``;
- the Alertmanager configuration (ConfigMap ``alertmanager-config``, key ``alertmanager.yml``):
  does it load, and does its routing tree, simulated as Alertmanager walks it (first matching
  sub-route unless ``continue``, receiver inherited from the parent), send a
  ``severity="critical"`` alert to the receiver ``critical`` and the others to the root's
  default receiver? Both matcher forms are understood: ``matchers: ['severity="critical"']``
  and the deprecated ``match: {severity: critical}`` (and ``match_re``). Every receiver a
  route names must be declared in ``receivers``.

The configurations are only read from the ConfigMaps: nothing here talks to Prometheus or
Alertmanager, and no Secret value is ever read (only its keys).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from kubelab.checks import ObjectRef, Registry, Verdict, failed, passed
from kubelab.claims import named_claim_request, unbindable
from kubelab.cluster_state import CLUSTER_SCOPE, ClusterState, Read, secret_keys
from kubelab.objects import SECRET_NAME, containers, env_var, is_ready, listing, pod_spec, pods_of

registry = Registry()
check = registry.check

READS = (
    Read("v1", "ConfigMap"),
    Read("v1", "Secret"),
    Read("v1", "PersistentVolumeClaim"),
    Read("apps/v1", "Deployment"),
    Read("apps/v1", "ReplicaSet"),
    Read("v1", "Pod"),
    Read("storage.k8s.io/v1", "StorageClass", CLUSTER_SCOPE),
)

COURSE = "microk8s/supervision.md"
PROMETHEUS_CM, PROMETHEUS_KEY = "prometheus-config", "prometheus.yml"
ALERTMANAGER_CM, ALERTMANAGER_KEY = "alertmanager-config", "alertmanager.yml"
SECRET = "grafana-admin"
CREDENTIALS = {"GF_SECURITY_ADMIN_USER": "admin-user", "GF_SECURITY_ADMIN_PASSWORD": "admin-password"}
CLAIM = "grafana-data"
DEPLOYMENT = "grafana"
MOUNT_PATH = "/var/lib/grafana"
IMAGE_REPOSITORY = "grafana/grafana"
PORT = 3000
CRITICAL_RECEIVER = "critical"
SELF_TARGETS = ("localhost:9090", "127.0.0.1:9090")
REQUIRED_JOBS = {"prometheus": None, "kubernetes-nodes": "node", "kubernetes-pods": "pod"}

Obj = dict[str, Any]

PROM_REF = ObjectRef("ConfigMap", PROMETHEUS_CM)
AM_REF = ObjectRef("ConfigMap", ALERTMANAGER_CM)
DEPLOY_REF = ObjectRef("Deployment", DEPLOYMENT)
MISSING_DEPLOYMENT = failed(f"Le Deployment `{DEPLOYMENT}` devrait exister dans le namespace du lab (trouvé : aucun).",
                            DEPLOY_REF)


# --- reading a configuration embedded in a ConfigMap key ----------------------------------------


class ConfigError(ValueError):
    """A configuration the tool would refuse to load; the message (French) says where and why."""


class _StrictLoader(yaml.SafeLoader):
    """YAML as Prometheus and Alertmanager read it (Go's strict unmarshal): no duplicate keys."""


def _strict_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Obj:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (dict, list)):
            continue  # left to the constructor, which refuses unhashable keys itself
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"la clé « {key} » est en double (déjà en ligne {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _strict_mapping)

YAML_PROBLEMS = (
    ("mapping values are not allowed", "« : » inattendu ici (indentation décalée, ou valeur à mettre entre guillemets)"),
    ("could not find expected ':'", "un « : » manque après une clé"),
    ("that cannot start any token", "caractère interdit en début de valeur (une tabulation ? YAML n'indente "
                                    "qu'avec des espaces)"),
    ("expected <block end>", "indentation incohérente"),
    ("did not find expected key", "indentation incohérente"),
    ("did not find expected '-' indicator", "indentation incohérente dans une liste"),
    ("expected ',' or ']'", "« , » ou « ] » attendu (crochet non fermé ?)"),
    ("expected ',' or '}'", "« , » ou « } » attendu (accolade non fermée ?)"),
    ("found unexpected end of stream", "fin du texte inattendue (guillemet non fermé ?)"),
    ("found undefined alias", "alias inconnu"),
)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """``ligne 7, colonne 12 : « : » inattendu ici`` for a YAML error (positions inside the key's text)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    text = next((french for english, french in YAML_PROBLEMS if english in problem), None)
    if text is None:
        text = problem if problem.startswith("la clé") else f"« {problem} »"
    where = f"ligne {mark.line + 1}, colonne {mark.column + 1}" if mark else "position inconnue"
    return f"{where} : {text}"


def _config_text(state: ClusterState, name: str, key: str) -> tuple[str | None, str]:
    """The text of a ConfigMap key, or ``None`` and what was found instead."""
    configmap = state.get("v1", "ConfigMap", name)
    if configmap is None:
        return None, f"la ConfigMap `{name}` n'existe pas"
    data = configmap.get("data") or {}
    if key not in data:
        keys = listing(sorted({*data, *(configmap.get("binaryData") or {})})) or "aucune"
        return None, f"la ConfigMap `{name}` n'a pas de clé `{key}` (clés : {keys})"
    return data[key], ""


def load_yaml(text: str) -> Any:
    """The document of a configuration text; ``ConfigError`` with its line and column when it does not parse."""
    try:
        documents = list(yaml.load_all(text, Loader=_StrictLoader))  # a SafeLoader
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML invalide, {_yaml_problem(exc)}") from exc
    if len(documents) > 1:
        raise ConfigError(f"un seul document YAML attendu (trouvé : {len(documents)}, séparés par « --- »)")
    return documents[0] if documents else None


def _path(*parts: str | int) -> str:
    """``scrape_configs[2].kubernetes_sd_configs[0].role`` from its parts."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _shown(value: Any) -> str:
    if value is None:
        return "absent"
    if isinstance(value, dict):
        return "un mapping"
    if isinstance(value, list):
        return "une liste"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _expect_mapping(value: Any, path: str, required: bool = False) -> Obj:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        subject = f"`{path}`" if path else "le document"
        raise ConfigError(f"{subject} devrait être un mapping (trouvé : {_shown(value)})")
    return value


def _expect_list(value: Any, path: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"`{path}` devrait être une liste (trouvé : {_shown(value)})")
    return value


def _unknown_fields(mapping: Obj, known: frozenset[str], path: str, tool: str) -> None:
    unknown = [str(key) for key in mapping if key not in known]
    if unknown:
        where = _path(path, unknown[0]) if path else unknown[0]
        raise ConfigError(f"`{where}` : champ inconnu, {tool} le refuse (champs possibles ici : "
                          f"{', '.join(sorted(known))})")


# --- Prometheus -------------------------------------------------------------------------------------

PROMETHEUS_FIELDS = frozenset({"global", "runtime", "rule_files", "scrape_config_files", "scrape_configs", "alerting",
                               "remote_write", "remote_read", "storage", "tracing", "otlp"})
SD_ROLES = ("node", "pod", "service", "endpoints", "endpointslice", "ingress")
PROM_DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")


def _duration(value: Any, path: str) -> None:
    if value is None:
        return
    text = str(value) if not isinstance(value, bool) else ""
    if not isinstance(value, str) or not text or not PROM_DURATION.match(text):
        raise ConfigError(f"`{path}` devrait être une durée Prometheus comme `30s` ou `1m` (trouvé : {_shown(value)})")


@dataclass(frozen=True)
class ScrapeJob:
    index: int
    name: str
    spec: Obj


def parse_prometheus(text: str) -> list[ScrapeJob]:
    """The scrape jobs of a ``prometheus.yml``; ``ConfigError`` where Prometheus would refuse to load it."""
    config = load_yaml(text)
    if config is None:
        raise ConfigError("la configuration est vide")
    config = _expect_mapping(config, "", required=True)
    _unknown_fields(config, PROMETHEUS_FIELDS, "", "Prometheus")
    glob = _expect_mapping(config.get("global"), "global")
    for key in ("scrape_interval", "scrape_timeout", "evaluation_interval"):
        _duration(glob.get(key), _path("global", key))
    jobs: list[ScrapeJob] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(_expect_list(config.get("scrape_configs"), "scrape_configs")):
        where = _path("scrape_configs", index)
        job = _expect_mapping(raw, where, required=True)
        name = job.get("job_name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"`{_path(where, 'job_name')}` devrait nommer le job (trouvé : {_shown(name)})")
        if name in seen:
            raise ConfigError(f"`{_path(where, 'job_name')}` : le job « {name} » est déjà défini en "
                              f"`{_path('scrape_configs', seen[name])}` (un nom par job)")
        seen[name] = index
        for key in ("scrape_interval", "scrape_timeout"):
            _duration(job.get(key), _path(where, key))
        for sd_index, raw_sd in enumerate(_expect_list(job.get("kubernetes_sd_configs"), _path(where, "kubernetes_sd_configs"))):
            sd_where = _path(where, "kubernetes_sd_configs", sd_index)
            sd = _expect_mapping(raw_sd, sd_where, required=True)
            if sd.get("role") not in SD_ROLES:
                raise ConfigError(f"`{_path(sd_where, 'role')}` devrait être un rôle de découverte "
                                  f"({', '.join(SD_ROLES)} ; trouvé : {_shown(sd.get('role'))})")
        for static_index, raw_static in enumerate(_expect_list(job.get("static_configs"), _path(where, "static_configs"))):
            static_where = _path(where, "static_configs", static_index)
            static = _expect_mapping(raw_static, static_where, required=True)
            for target_index, target in enumerate(_expect_list(static.get("targets"), _path(static_where, "targets"))):
                if not isinstance(target, str) or not target:
                    raise ConfigError(f"`{_path(static_where, 'targets', target_index)}` devrait être une adresse "
                                      f"`hôte:port` (trouvé : {_shown(target)})")
        jobs.append(ScrapeJob(index, name, job))
    return jobs


LOAD_FAILURE = "la configuration ne se charge pas"


def _briefly(problem: str, check_id: str) -> str:
    """A load failure told once in full (by ``check_id``), briefly by the checks that depend on it."""
    return f"{LOAD_FAILURE}, voir la vérification `{check_id}`" if problem.startswith(LOAD_FAILURE) else problem


def _prometheus(state: ClusterState) -> tuple[list[ScrapeJob] | None, str]:
    text, problem = _config_text(state, PROMETHEUS_CM, PROMETHEUS_KEY)
    if text is None:
        return None, problem
    try:
        return parse_prometheus(text), ""
    except ConfigError as exc:
        return None, f"{LOAD_FAILURE} : {exc}"


def _job_target_problem(job: ScrapeJob) -> str | None:
    """Why a required job does not reach its targets (a path and the value found), or ``None``."""
    where = _path("scrape_configs", job.index)
    role = REQUIRED_JOBS[job.name]
    if role is None:
        statics = job.spec.get("static_configs") or []
        targets = [t for static in statics for t in (static.get("targets") or [])]
        if any(t in SELF_TARGETS for t in targets):
            return None
        if not statics:
            return f"`{_path(where, 'static_configs')}` : attendu une cible `localhost:9090`, trouvé absent"
        return (f"`{_path(where, 'static_configs', 0, 'targets')}` : attendu localhost:9090, "
                f"trouvé {', '.join(map(str, targets)) or 'aucune cible'}")
    sds = job.spec.get("kubernetes_sd_configs") or []
    if any(sd.get("role") == role for sd in sds):
        return None
    if not sds:
        return f"`{_path(where, 'kubernetes_sd_configs')}` : attendu une découverte avec `role: {role}`, trouvé absent"
    return f"`{_path(where, 'kubernetes_sd_configs', 0, 'role')}` : attendu {role}, trouvé {sds[0].get('role')}"


@check("prometheus-config-valid", title="La configuration Prometheus se charge", category="observabilité",
       course=COURSE,
       hint="Vérifiez le fichier avec « promtool check config prometheus.yml » avant de créer la ConfigMap ; "
            "les lignes et colonnes du message sont celles du fichier `prometheus.yml`.")
def prometheus_config_valid(state: ClusterState) -> Verdict:
    jobs, problem = _prometheus(state)
    if jobs is None:
        return failed(f"La clé `{PROMETHEUS_KEY}` de la ConfigMap `{PROMETHEUS_CM}` devrait contenir une "
                      f"configuration Prometheus valide (trouvé : {problem}).", PROM_REF)
    return passed(f"La configuration Prometheus de `{PROMETHEUS_CM}` se charge ({len(jobs)} job(s) de collecte).",
                  PROM_REF)


@check("prometheus-scrape-jobs", title="Les trois jobs de collecte", category="observabilité", course=COURSE,
       hint="Dans `scrape_configs`, un élément par job : `job_name: prometheus`, `job_name: kubernetes-nodes` "
            "et `job_name: kubernetes-pods`.")
def prometheus_scrape_jobs(state: ClusterState) -> Verdict:
    jobs, problem = _prometheus(state)
    if jobs is None:
        return failed(f"La configuration Prometheus devrait définir les jobs {listing(REQUIRED_JOBS)} "
                      f"(trouvé : {_briefly(problem, 'prometheus-config-valid')}).", PROM_REF)
    names = [job.name for job in jobs]
    missing = [name for name in REQUIRED_JOBS if name not in names]
    if missing:
        subject = f"le job {listing(missing)}" if len(missing) == 1 else f"les jobs {listing(missing)}"
        return failed(f"La configuration Prometheus devrait définir {subject} dans `scrape_configs` "
                      f"(trouvé : {listing(names) or 'aucun job'}).", PROM_REF)
    return passed(f"La configuration Prometheus définit les jobs {listing(REQUIRED_JOBS)}.", PROM_REF)


@check("prometheus-job-targets", title="Chaque job trouve ses cibles", category="observabilité", course=COURSE,
       hint="`prometheus` : `static_configs: [{targets: [\"localhost:9090\"]}]` ; `kubernetes-nodes` et "
            "`kubernetes-pods` : `kubernetes_sd_configs` avec `role: node` et `role: pod`.")
def prometheus_job_targets(state: ClusterState) -> Verdict:
    jobs, problem = _prometheus(state)
    if jobs is None:
        return failed(f"Les jobs de Prometheus devraient trouver leurs cibles "
                      f"(trouvé : {_briefly(problem, 'prometheus-config-valid')}).", PROM_REF)
    by_name = {job.name: job for job in jobs}
    problems = []
    for name in REQUIRED_JOBS:
        job = by_name.get(name)
        if job is None:
            problems.append(f"le job `{name}` est absent")
        elif (found := _job_target_problem(job)) is not None:
            problems.append(found)
    if problems:
        return failed(f"Les jobs de Prometheus devraient trouver leurs cibles ({' ; '.join(problems)}).", PROM_REF)
    return passed("Le job `prometheus` vise `localhost:9090`, `kubernetes-nodes` découvre les nœuds "
                  "(`role: node`) et `kubernetes-pods` les pods (`role: pod`).", PROM_REF)


# --- Grafana ----------------------------------------------------------------------------------------


def _deployment(state: ClusterState) -> Obj | None:
    return state.get("apps/v1", "Deployment", DEPLOYMENT)


def _grafana_container(deployment: Obj) -> Obj | None:
    listed = containers(deployment)
    return next((c for c in listed if c.get("name") == "grafana"), listed[0] if listed else None)


def _image_problem(image: str) -> str | None:
    """Why ``image`` is not a pinned ``grafana/grafana`` (a registry host in front is fine), or ``None``."""
    reference, _, digest = image.partition("@")
    slash, colon = reference.rfind("/"), reference.rfind(":")
    path, tag = (reference[:colon], reference[colon + 1:]) if colon > slash else (reference, "")
    host, _, rest = path.partition("/")
    if rest and ("." in host or ":" in host or host == "localhost"):
        path = rest
    if path != IMAGE_REPOSITORY:
        return f"l'image `{IMAGE_REPOSITORY}` (trouvé : `{image or 'aucune'}`)"
    if digest:
        return None
    if not tag or tag == "latest" or not tag[0].isdigit():
        return (f"une version précise de l'image, par exemple `{IMAGE_REPOSITORY}:12.2.1` "
                f"(trouvé : `{image}`)")
    return None


@check("grafana-deployment", title="Le Deployment Grafana", category="configuration", course=COURSE,
       related=("polaris:tagNotSpecified", "kube-linter:latest-tag", "kube-score:container-image-tag"),
       hint="Un Deployment `grafana`, image `grafana/grafana:<version>` (pas `latest`), `containerPort: 3000`.")
def grafana_deployment(state: ClusterState) -> Verdict:
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    container = _grafana_container(deployment) or {}
    image = container.get("image", "")
    problems = []
    if (found := _image_problem(image)) is not None:
        problems.append(found)
    ports = [p.get("containerPort") for p in container.get("ports") or []]
    if PORT not in ports:
        problems.append(f"le port de conteneur {PORT} (trouvé : {', '.join(map(str, ports)) or 'aucun'})")
    if problems:
        return failed(f"Le Deployment `{DEPLOYMENT}` devrait avoir {' ; '.join(problems)}.", DEPLOY_REF)
    return passed(f"Le Deployment `{DEPLOYMENT}` lance `{image}` sur le port {PORT}.", DEPLOY_REF)


@check("grafana-admin-secret", title="Le Secret des identifiants Grafana", category="sécurité", course=COURSE,
       hint="« kubectl create secret generic grafana-admin -n monitoring --from-literal=admin-user=admin "
            "--from-literal=admin-password=… ».")
def grafana_admin_secret(state: ClusterState) -> Verdict:
    secret = state.get("v1", "Secret", SECRET)
    ref = ObjectRef("Secret", SECRET)
    if secret is None:
        return failed(f"Le Secret `{SECRET}` devrait exister (trouvé : aucun).", ref)
    keys = secret_keys(secret)
    missing = [key for key in CREDENTIALS.values() if key not in keys]
    if missing:
        return failed(f"Le Secret `{SECRET}` devrait avoir les clés {listing(CREDENTIALS.values())} "
                      f"(trouvé : {listing(sorted(keys)) or 'aucune'}).", ref)
    return passed(f"Le Secret `{SECRET}` a les clés {listing(CREDENTIALS.values())}.", ref)


def _credential_source(container: Obj, variable: str) -> str | None:
    """What is wrong with where ``variable`` comes from, or ``None`` when it is the right secretKeyRef."""
    var = env_var(container, variable)
    if var is None:
        return "absente"
    if var.get("value"):
        return "valeur en clair"
    source = var.get("valueFrom") or {}
    ref = source.get("secretKeyRef")
    if ref is None:
        other = next(iter(source), None)
        return f"`{other}`" if other else "valeur vide"
    if ref.get("name") != SECRET or ref.get("key") != CREDENTIALS[variable]:
        return f"Secret `{ref.get('name')}`, clé `{ref.get('key')}`"
    return None


@check("grafana-credentials-from-secret", title="Identifiants lus dans le Secret", category="sécurité",
       course=COURSE, related=("kubescape:C-0012",),
       hint="`env: [{name: GF_SECURITY_ADMIN_PASSWORD, valueFrom: {secretKeyRef: {name: grafana-admin, "
            "key: admin-password}}}]`, de même pour `GF_SECURITY_ADMIN_USER` et la clé `admin-user`.")
def grafana_credentials_from_secret(state: ClusterState) -> Verdict:
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    container = _grafana_container(deployment) or {}
    problems = [f"`{variable}` (clé `{key}` ; trouvé : {found})" for variable, key in CREDENTIALS.items()
                if (found := _credential_source(container, variable)) is not None]
    if problems:
        return failed(f"Le conteneur `{container.get('name', DEPLOYMENT)}` devrait lire dans le Secret `{SECRET}` "
                      f"par `secretKeyRef` : {' ; '.join(problems)}.", DEPLOY_REF)
    return passed(f"`GF_SECURITY_ADMIN_USER` et `GF_SECURITY_ADMIN_PASSWORD` viennent du Secret `{SECRET}` "
                  "(clés `admin-user` et `admin-password`).", DEPLOY_REF)


def _plaintext_credentials(container: Obj) -> list[str]:
    return [e["name"] for e in container.get("env") or []
            if e.get("value") and (e.get("name") in CREDENTIALS or
                                   (SECRET_NAME.search(e.get("name", "")) and not e["name"].endswith("_FILE")))]


@check("grafana-no-plaintext-credentials", title="Aucun identifiant en clair", category="sécurité", course=COURSE,
       related=("kubescape:C-0012", "kube-linter:env-var-secret"),
       hint="Supprimez les `value:` des identifiants : le Deployment ne doit contenir aucun mot de passe.")
def grafana_no_plaintext(state: ClusterState) -> Verdict:
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    spec = pod_spec(deployment)
    leaked = [name for c in (*(spec.get("initContainers") or []), *(spec.get("containers") or []))
              for name in _plaintext_credentials(c)]
    if leaked:
        return failed(f"Le Deployment `{DEPLOYMENT}` ne devrait contenir aucun identifiant en clair "
                      f"(trouvé : {listing(leaked)}).", DEPLOY_REF)
    return passed(f"Le Deployment `{DEPLOYMENT}` ne contient aucun identifiant en clair.", DEPLOY_REF)


def _data_volume(deployment: Obj) -> tuple[Obj | None, Obj | None]:
    """(the mount on /var/lib/grafana, the pod volume it mounts)."""
    container = _grafana_container(deployment) or {}
    mount = next((m for m in container.get("volumeMounts") or []
                  if (m.get("mountPath") or "").rstrip("/") == MOUNT_PATH), None)
    if mount is None:
        return None, None
    volumes = {v.get("name"): v for v in pod_spec(deployment).get("volumes") or []}
    return mount, volumes.get(mount.get("name"))


def _uses_claim(deployment: Obj | None) -> bool:
    if deployment is None:
        return False
    return any((v.get("persistentVolumeClaim") or {}).get("claimName") == CLAIM
               for v in pod_spec(deployment).get("volumes") or [])


@check("grafana-data-persistent", title="Les données de Grafana sur le PVC", category="stockage", course=COURSE,
       hint="`volumes: [{name: data, persistentVolumeClaim: {claimName: grafana-data}}]` et "
            "`volumeMounts: [{name: data, mountPath: /var/lib/grafana}]`.")
def grafana_data_persistent(state: ClusterState) -> Verdict:
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    mount, volume = _data_volume(deployment)
    if mount is None:
        return failed(f"Le conteneur Grafana devrait monter un volume sur `{MOUNT_PATH}` (trouvé : aucun montage "
                      "sur ce chemin).", DEPLOY_REF)
    name = mount.get("name")
    if volume is None:
        return failed(f"Le volume `{name}` monté sur `{MOUNT_PATH}` devrait être déclaré dans `volumes` "
                      "(trouvé : absent).", DEPLOY_REF)
    claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
    if claim != CLAIM:
        kind = f"PVC `{claim}`" if claim else next((k for k in volume if k != "name"), "aucune source")
        return failed(f"Le volume `{name}` monté sur `{MOUNT_PATH}` devrait venir du PVC `{CLAIM}` "
                      f"(trouvé : {kind}).", DEPLOY_REF)
    if mount.get("readOnly"):
        return failed(f"Le volume `{name}` devrait être monté en écriture sur `{MOUNT_PATH}` "
                      "(trouvé : `readOnly: true`).", DEPLOY_REF)
    sub = f" (sous-dossier `{mount['subPath']}`)" if mount.get("subPath") else ""
    return passed(f"Le PVC `{CLAIM}` est monté sur `{MOUNT_PATH}`{sub}.", DEPLOY_REF)


@check("grafana-claim-spec", title="La demande de volume de Grafana", category="stockage", course=COURSE,
       hint="Classe par défaut (pas de `storageClassName`, ou `microk8s-hostpath`), `ReadWriteOnce`, au moins `1Gi`.")
def grafana_claim_spec(state: ClusterState) -> Verdict:
    return named_claim_request(state, CLAIM)


@check("grafana-claim-bound", title="Le PVC de Grafana est lié", category="stockage", course=COURSE,
       hint="La classe `microk8s-hostpath` attend le premier pod qui utilise le PVC (WaitForFirstConsumer) : "
            "tant qu'aucun pod ne le monte, il reste Pending.")
def grafana_claim_bound(state: ClusterState) -> Verdict:
    pvc = state.get("v1", "PersistentVolumeClaim", CLAIM)
    ref = ObjectRef("PersistentVolumeClaim", CLAIM)
    phase = ((pvc or {}).get("status") or {}).get("phase", "absent")
    stuck = unbindable(state, pvc) if pvc is not None and phase != "Bound" else None
    if stuck is not None:
        return failed(f"Le PVC `{CLAIM}` devrait être Bound (trouvé : {phase} ; {stuck[0]}).", ref, hint=stuck[1])
    if phase != "Bound":
        used = _uses_claim(_deployment(state))
        why = "" if used or pvc is None else " ; aucun pod du Deployment `grafana` ne l'utilise"
        return failed(f"Le PVC `{CLAIM}` devrait être Bound (trouvé : {phase}{why}).", ref,
                      pending=used and pvc is not None)
    return passed(f"Le PVC `{CLAIM}` est Bound au PV `{pvc['spec'].get('volumeName', '?')}`.", ref)


@check("grafana-pods-ready", title="Grafana est prêt", category="fiabilité", course=COURSE,
       hint="« kubectl describe pod -n monitoring -l app=grafana » : les événements disent ce qui bloque "
            "(planification, volume, image).")
def grafana_pods_ready(state: ClusterState) -> Verdict:
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    pods = pods_of(deployment, state.objects("v1", "Pod"), state.objects("apps/v1", "ReplicaSet"))
    wanted = (deployment.get("spec") or {}).get("replicas", 1)
    ready = [pod for pod in pods if is_ready(pod)]
    if wanted == 0:
        return failed(f"Le Deployment `{DEPLOYMENT}` devrait avoir au moins un réplica (trouvé : 0).", DEPLOY_REF)
    if len(ready) < wanted:
        return failed(f"Les pods du Deployment `{DEPLOYMENT}` devraient être prêts (trouvé : {len(ready)} prêt(s) "
                      f"sur {wanted}).", DEPLOY_REF, pending=True)
    return passed(f"Le Deployment `{DEPLOYMENT}` a {len(ready)} pod(s) prêt(s).", DEPLOY_REF)


# --- Alertmanager -----------------------------------------------------------------------------------

ALERTMANAGER_FIELDS = frozenset({"global", "route", "receivers", "inhibit_rules", "templates", "time_intervals",
                                 "mute_time_intervals", "tracing"})
ROUTE_FIELDS = frozenset({"receiver", "group_by", "continue", "matchers", "match", "match_re", "routes", "group_wait",
                          "group_interval", "repeat_interval", "mute_time_intervals", "active_time_intervals"})
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MATCHER = re.compile(r'^\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*|"[^"]*")\s*(?P<op>=~|!~|!=|=)\s*'
                     r'(?P<value>"(?:[^"\\]|\\.)*"|[^",{}]*?)\s*$')


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def matches(self, labels: dict[str, str]) -> bool:
        found = labels.get(self.name, "")
        if self.op == "=":
            return found == self.value
        if self.op == "!=":
            return found != self.value
        hit = re.fullmatch(self.value, found) is not None
        return hit if self.op == "=~" else not hit


@dataclass(frozen=True)
class Route:
    path: str
    receiver: str | None  # its own, or inherited from its parent
    own_receiver: str | None
    matchers: tuple[Matcher, ...]
    cont: bool
    routes: tuple[Route, ...] = field(default=())

    def matches(self, labels: dict[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)


def _split_matchers(line: str) -> list[str]:
    """``{a="x", b=~"y"}`` or ``a="x",b="y"``: one string per matcher (commas inside quotes kept)."""
    text = line.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    parts, current, quoted, escaped = [], "", False, False
    for char in text:
        if escaped:
            current, escaped = current + char, False
            continue
        if char == "\\":
            current, escaped = current + char, True
            continue
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
            continue
        current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), value[1:-1])
    return value


def _regex(value: str, path: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise ConfigError(f"`{path}` : l'expression régulière « {value} » est invalide ({exc})") from exc


def _route_matchers(route: Obj, path: str) -> tuple[Matcher, ...]:
    found: list[Matcher] = []
    for key, op in (("match", "="), ("match_re", "=~")):
        for name, value in _expect_mapping(route.get(key), _path(path, key)).items():
            if not isinstance(name, str) or not LABEL_NAME.match(name):
                raise ConfigError(f"`{_path(path, key)}` : nom de label invalide « {name} »")
            if isinstance(value, (dict, list)) or value is None:
                raise ConfigError(f"`{_path(path, key, name)}` devrait être une valeur de label (trouvé : {_shown(value)})")
            text = _shown(value)
            if op == "=~":
                _regex(text, _path(path, key, name))
            found.append(Matcher(name, op, text))
    for index, line in enumerate(_expect_list(route.get("matchers"), _path(path, "matchers"))):
        where = _path(path, "matchers", index)
        if not isinstance(line, str):
            raise ConfigError(f"`{where}` devrait être un texte comme `severity=\"critical\"` (trouvé : {_shown(line)})")
        parts = _split_matchers(line)
        if not parts:
            raise ConfigError(f"`{where}` : matcher vide")
        for part in parts:
            match = MATCHER.match(part)
            if match is None:
                raise ConfigError(f"`{where}` : « {part.strip()} » n'est pas un matcher (attendu : "
                                  "`label=\"valeur\"`, avec `=`, `!=`, `=~` ou `!~`)")
            value = _unquote(match.group("value"))
            if match.group("op") in ("=~", "!~"):
                _regex(value, where)
            found.append(Matcher(_unquote(match.group("name")), match.group("op"), value))
    return tuple(found)


def _parse_route(raw: Any, path: str, parent_receiver: str | None) -> Route:
    route = _expect_mapping(raw, path, required=True)
    _unknown_fields(route, ROUTE_FIELDS, path, "Alertmanager")
    receiver = route.get("receiver")
    if receiver is not None and (not isinstance(receiver, str) or not receiver):
        raise ConfigError(f"`{_path(path, 'receiver')}` devrait nommer un récepteur (trouvé : {_shown(receiver)})")
    cont = route.get("continue", False)
    if not isinstance(cont, bool):
        raise ConfigError(f"`{_path(path, 'continue')}` devrait valoir true ou false (trouvé : {_shown(cont)})")
    matchers = _route_matchers(route, path)
    inherited = receiver or parent_receiver
    children = tuple(_parse_route(child, _path(path, "routes", index), inherited)
                     for index, child in enumerate(_expect_list(route.get("routes"), _path(path, "routes"))))
    return Route(path, inherited, receiver, matchers, cont, children)


@dataclass(frozen=True)
class AlertmanagerConfig:
    route: Route
    receivers: tuple[str, ...]

    def receivers_for(self, labels: dict[str, str]) -> list[str]:
        """The receivers an alert with these labels is sent to, as Alertmanager's dispatcher routes it."""
        return [route.receiver or "" for route in _matching_routes(self.route, labels)]

    def used_receivers(self) -> list[tuple[str, str]]:
        """(path of the ``receiver`` field, receiver) for every route of the tree."""
        out: list[tuple[str, str]] = []

        def walk(route: Route) -> None:
            if route.own_receiver is not None:
                out.append((_path(route.path, "receiver"), route.own_receiver))
            for child in route.routes:
                walk(child)

        walk(self.route)
        return out


def _matching_routes(route: Route, labels: dict[str, str]) -> list[Route]:
    if not route.matches(labels):
        return []
    found: list[Route] = []
    for child in route.routes:
        matched = _matching_routes(child, labels)
        found.extend(matched)
        if matched and not child.cont:
            break
    return found or [route]


def parse_alertmanager(text: str) -> AlertmanagerConfig:
    """The routing tree and receivers of an ``alertmanager.yml``; ``ConfigError`` where Alertmanager would refuse it."""
    config = load_yaml(text)
    if config is None:
        raise ConfigError("la configuration est vide")
    config = _expect_mapping(config, "", required=True)
    _unknown_fields(config, ALERTMANAGER_FIELDS, "", "Alertmanager")
    if config.get("route") is None:
        raise ConfigError("`route` manque : Alertmanager exige une route racine")
    root = _expect_mapping(config["route"], "route", required=True)
    if not root.get("receiver"):
        raise ConfigError("`route.receiver` manque : la route racine doit avoir un récepteur par défaut")
    if any(root.get(key) for key in ("match", "match_re", "matchers")):
        raise ConfigError("la route racine `route` ne doit avoir aucun matcher : elle reçoit toutes les alertes")
    route = _parse_route(root, "route", None)
    names: list[str] = []
    for index, raw in enumerate(_expect_list(config.get("receivers"), "receivers")):
        where = _path("receivers", index)
        receiver = _expect_mapping(raw, where, required=True)
        name = receiver.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"`{_path(where, 'name')}` devrait nommer le récepteur (trouvé : {_shown(name)})")
        if name in names:
            raise ConfigError(f"`{_path(where, 'name')}` : le récepteur « {name} » est déjà déclaré en "
                              f"`{_path('receivers', names.index(name))}`")
        names.append(name)
    return AlertmanagerConfig(route, tuple(names))


def _alertmanager(state: ClusterState) -> tuple[AlertmanagerConfig | None, str]:
    text, problem = _config_text(state, ALERTMANAGER_CM, ALERTMANAGER_KEY)
    if text is None:
        return None, problem
    try:
        return parse_alertmanager(text), ""
    except ConfigError as exc:
        return None, f"{LOAD_FAILURE} : {exc}"


CRITICAL_ALERT = {"alertname": "ExempleCritique", "severity": "critical"}
OTHER_ALERTS = ({"alertname": "ExempleAvertissement", "severity": "warning"}, {"alertname": "ExempleSansSeverite"})


def _labels(alert: dict[str, str]) -> str:
    severity = alert.get("severity")
    return f'`severity="{severity}"`' if severity else "sans label `severity`"


@check("alertmanager-config-valid", title="La configuration Alertmanager se charge", category="observabilité",
       course=COURSE,
       hint="Vérifiez le fichier avec « amtool check-config alertmanager.yml » ; il faut une route racine avec "
            "`receiver` et une liste `receivers`.")
def alertmanager_config_valid(state: ClusterState) -> Verdict:
    config, problem = _alertmanager(state)
    if config is None:
        return failed(f"La clé `{ALERTMANAGER_KEY}` de la ConfigMap `{ALERTMANAGER_CM}` devrait contenir une "
                      f"configuration Alertmanager valide (trouvé : {problem}).", AM_REF)
    return passed(f"La configuration Alertmanager de `{ALERTMANAGER_CM}` se charge (récepteurs : "
                  f"{listing(config.receivers) or 'aucun'}).", AM_REF)


@check("alertmanager-critical-route", title="Les alertes critiques vont au récepteur critical",
       category="observabilité", course=COURSE,
       hint="Sous `route.routes`, une sous-route `matchers: ['severity=\"critical\"']` avec `receiver: critical`, "
            "placée avant toute sous-route qui attraperait aussi ces alertes.")
def alertmanager_critical_route(state: ClusterState) -> Verdict:
    config, problem = _alertmanager(state)
    if config is None:
        return failed(f"Une alerte `severity=\"critical\"` devrait aller au récepteur `{CRITICAL_RECEIVER}` "
                      f"(trouvé : {_briefly(problem, 'alertmanager-config-valid')}).", AM_REF)
    receivers = config.receivers_for(CRITICAL_ALERT)
    if CRITICAL_RECEIVER not in receivers:
        return failed(f"Une alerte `severity=\"critical\"` devrait aller au récepteur `{CRITICAL_RECEIVER}` "
                      f"(trouvé : {listing(receivers)}).", AM_REF)
    return passed(f"Une alerte `severity=\"critical\"` va au récepteur `{CRITICAL_RECEIVER}`.", AM_REF)


@check("alertmanager-default-route", title="Les autres alertes vont au récepteur par défaut",
       category="observabilité", course=COURSE,
       hint="Le récepteur de la route racine (`route.receiver`, par exemple `default`) reçoit tout ce qu'aucune "
            "sous-route n'attrape ; la sous-route critique ne doit attraper que `severity=\"critical\"`.")
def alertmanager_default_route(state: ClusterState) -> Verdict:
    config, problem = _alertmanager(state)
    if config is None:
        return failed(f"Les alertes non critiques devraient aller au récepteur par défaut "
                      f"(trouvé : {_briefly(problem, 'alertmanager-config-valid')}).", AM_REF)
    default = config.route.receiver
    if default == CRITICAL_RECEIVER:
        return failed(f"Le récepteur par défaut `route.receiver` devrait être un autre que `{CRITICAL_RECEIVER}` "
                      f"(trouvé : `{default}`).", AM_REF)
    wrong = [(alert, receivers) for alert in OTHER_ALERTS
             if CRITICAL_RECEIVER in (receivers := config.receivers_for(alert))]
    if wrong:
        shown = " ; ".join(f"une alerte {_labels(alert)} va à {listing(receivers)}" for alert, receivers in wrong)
        return failed(f"Les alertes non critiques devraient aller au récepteur par défaut `{default}` "
                      f"(trouvé : {shown}).", AM_REF)
    return passed(f"Les alertes non critiques ne vont pas au récepteur `{CRITICAL_RECEIVER}` ; celles qu'aucune "
                  f"sous-route n'attrape vont au récepteur par défaut `{default}`.", AM_REF)


@check("alertmanager-receivers-declared", title="Tous les récepteurs utilisés sont déclarés",
       category="observabilité", course=COURSE,
       hint="Chaque `receiver:` de la route et des sous-routes doit avoir son entrée `- name: …` dans `receivers` ; "
            "sinon Alertmanager refuse la configuration (« undefined receiver »).")
def alertmanager_receivers_declared(state: ClusterState) -> Verdict:
    config, problem = _alertmanager(state)
    if config is None:
        return failed(f"Les récepteurs utilisés par la route devraient être déclarés "
                      f"(trouvé : {_briefly(problem, 'alertmanager-config-valid')}).", AM_REF)
    undeclared = [(path, name) for path, name in config.used_receivers() if name not in config.receivers]
    if undeclared:
        shown = " ; ".join(f"`{name}`, utilisé par `{path}`" for path, name in undeclared)
        return failed(f"Les récepteurs utilisés par la route devraient être déclarés dans `receivers` "
                      f"(non déclaré : {shown} ; déclarés : {listing(config.receivers) or 'aucun'}).", AM_REF)
    used = sorted({name for _, name in config.used_receivers()})
    return passed(f"Les récepteurs utilisés par la route ({listing(used)}) sont déclarés dans `receivers`.", AM_REF)
