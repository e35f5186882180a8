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

The configurations are read from the ConfigMaps. Where the loaders of Prometheus 3.16 and
Alertmanager 0.35 are built on this machine (``kubelab.sandbox.oracles_build``), the read-only
probe ``configuration-tools`` runs them on the same texts and their verdict decides
(``kubelab.oracles``); our own reading, proven to agree with them by
tests/labs/test_lab09_differential.py, gives the French message and the path of the field.
Nothing here talks to a running Prometheus or Alertmanager, and no Secret value is ever read
(only its keys). Each check's docstring quotes the sentence of the statement it enforces.

The section below maps each bullet of « Ce qui est vérifié » (what the learner is told is graded)
to the checks that enforce it.

Statement → check:

- « Prometheus se charge : `prometheus-config` a une clé `prometheus.yml` qui se lit comme du YAML
  valide » → ``prometheus-config-valid``;
- « Les trois jobs `prometheus`, `kubernetes-nodes` et `kubernetes-pods` sont définis dans
  `scrape_configs` » → ``prometheus-scrape-jobs``;
- « Chaque job trouve ses cibles : `prometheus` vise `localhost:9090` » → ``prometheus-job-targets``;
- « Le Deployment `grafana` lance l'image `grafana/grafana` avec une version précise (pas `latest`)
  et déclare le port de conteneur 3000 » → ``grafana-deployment``;
- « Le Secret `grafana-admin` a les clés `admin-user` et `admin-password` » → ``grafana-admin-secret``;
- « Les identifiants `GF_SECURITY_ADMIN_USER` et `GF_SECURITY_ADMIN_PASSWORD` viennent du Secret
  `grafana-admin` par `secretKeyRef` » → ``grafana-credentials-from-secret``; « le Deployment ne
  contient aucun identifiant en clair » → ``grafana-no-plaintext-credentials``;
- « Les données de Grafana : le PVC `grafana-data` est monté en écriture sur `/var/lib/grafana` » →
  ``grafana-data-persistent``; « il demande la classe par défaut, `ReadWriteOnce` et au moins
  `1Gi` » → ``grafana-claim-spec``; « et il est lié (`Bound`) » → ``grafana-claim-bound``;
- « Grafana est prêt : les pods du Deployment trouvent le Secret et les clés qu'ils référencent, et
  ils sont prêts » → ``grafana-pods-ready``;
- « Alertmanager se charge : `alertmanager-config` a une clé `alertmanager.yml` en YAML valide » →
  ``alertmanager-config-valid``;
- « Le routage, simulé comme Alertmanager le fait » : « une alerte `severity="critical"` va au
  récepteur `critical` » → ``alertmanager-critical-route``; « une alerte `severity="warning"` ou sans
  `severity` ne va pas à `critical`, et le récepteur par défaut n'est pas `critical` » →
  ``alertmanager-default-route``;
- « Les récepteurs : chaque `receiver` de la route et des sous-routes est déclaré dans `receivers` »
  → ``alertmanager-receivers-declared``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml

from kubelab import go_regexp, oracles
from kubelab.checks import ObjectRef, Registry, Verdict, failed, passed
from kubelab.claims import named_claim_request, unbindable
from kubelab.cluster_state import CLUSTER_SCOPE, ClusterState, Probe, Read, secret_keys
from kubelab.kube_api import KubeApi
from kubelab.manifest_text import yaml_position, yaml_reason
from kubelab.objects import (
    SECRET_NAME,
    all_containers,
    containers,
    env_references,
    env_var,
    image_reference,
    is_ready,
    listing,
    missing_references,
    pod_spec,
    pods_of,
)

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


def tool_verdicts(api: KubeApi, namespace: str) -> Obj:
    """What Prometheus's and Alertmanager's own loaders say of the two configurations (``None`` for a tool that
    is not built on this machine, or a configuration that is not there): read-only, stored in snapshots."""
    verdicts: Obj = {}
    for key, name, data_key, run in (("prometheus", PROMETHEUS_CM, PROMETHEUS_KEY, oracles.check_prometheus),
                                     ("alertmanager", ALERTMANAGER_CM, ALERTMANAGER_KEY, oracles.check_alertmanager)):
        text = ((api.get("v1", "ConfigMap", name, namespace) or {}).get("data") or {}).get(data_key)
        verdict = run(text) if isinstance(text, str) else None
        verdicts[key] = verdict.as_json() if verdict else None
    return verdicts


PROBES = {"configuration-tools": Probe(tool_verdicts, needs=None)}


def _tool(state: ClusterState, key: str) -> Obj | None:
    return (state.probe("configuration-tools") or {}).get(key)


# --- reading a configuration embedded in a ConfigMap key ----------------------------------------


class ConfigError(ValueError):
    """A configuration the tool would refuse to load; the message (French) says where and why."""


class _StrictLoader(yaml.SafeLoader):
    """YAML as Prometheus and Alertmanager read it (Go's strict unmarshal): no duplicate keys."""


def _strict_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
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
        raise ConfigError(f"YAML invalide, {yaml_position(exc) or 'position inconnue'} : {yaml_reason(exc)}") from exc
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


def _unknown_field(mapping: Obj, known: frozenset[str], path: str, tool: str) -> str | None:
    """``ConfigError``'s text for the first field the tool's strict loader does not know, or ``None``."""
    unknown = [str(key) for key in mapping if key not in known]
    if not unknown:
        return None
    where = _path(path, unknown[0]) if path else unknown[0]
    choices = ", ".join(sorted(known)) if len(known) <= 20 else ", ".join(sorted(known)[:20]) + "…"
    return f"`{where}` : champ inconnu, {tool} le refuse (champs possibles ici : {choices})"


def _unknown_fields(mapping: Obj, known: frozenset[str], path: str, tool: str) -> None:
    if (problem := _unknown_field(mapping, known, path, tool)) is not None:
        raise ConfigError(problem)


# --- Prometheus -------------------------------------------------------------------------------------

PROMETHEUS_FIELDS = frozenset({"global", "runtime", "rule_files", "scrape_config_files", "scrape_configs", "alerting",
                               "remote_write", "remote_read", "storage", "tracing", "otlp"})
SD_ROLES = ("node", "pod", "service", "endpoints", "endpointslice", "ingress")
# Field names of Prometheus 3.16 (config/config.go, discovery/*, common/config): its loader is strict.
GLOBAL_PROMETHEUS_FIELDS = frozenset({
    "scrape_interval", "scrape_timeout", "scrape_protocols", "evaluation_interval", "rule_query_offset",
    "query_log_file", "query_max_series", "query_max_samples_read", "query_max_duration", "scrape_failure_log_file",
    "external_labels", "body_size_limit", "sample_limit", "target_limit", "label_limit", "label_name_length_limit",
    "label_value_length_limit", "keep_dropped_targets", "metric_name_validation_scheme", "metric_name_escaping_scheme",
    "scrape_native_histograms", "convert_classic_histograms_to_nhcb", "always_scrape_classic_histograms",
    "extra_scrape_metrics"})
HTTP_CLIENT_FIELDS = frozenset({"basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file",
                                "tls_config", "follow_redirects", "enable_http2", "http_headers", "proxy_url",
                                "no_proxy", "proxy_from_environment", "proxy_connect_header"})
SD_KINDS = ("aws", "azure", "consul", "digitalocean", "dns", "docker", "dockerswarm", "ec2", "ecs", "elasticache",
            "eureka", "file", "gce", "hetzner", "http", "ionos", "kubernetes", "kuma", "lightsail", "linode",
            "marathon", "msk", "nerve", "nomad", "oci", "openstack", "outscale", "ovhcloud", "puppetdb", "rds",
            "scaleway", "serverset", "stackit", "triton", "uyuni", "vultr")
SCRAPE_FIELDS = frozenset({
    "job_name", "honor_labels", "honor_timestamps", "track_timestamps_staleness", "params", "scrape_interval",
    "scrape_timeout", "scrape_protocols", "fallback_scrape_protocol", "scrape_native_histograms",
    "always_scrape_classic_histograms", "convert_classic_histograms_to_nhcb", "scrape_failure_log_file",
    "metrics_path", "scheme", "enable_compression", "body_size_limit", "sample_limit", "target_limit", "label_limit",
    "label_name_length_limit", "label_value_length_limit", "native_histogram_bucket_limit",
    "native_histogram_min_bucket_factor", "keep_dropped_targets", "metric_name_validation_scheme",
    "metric_name_escaping_scheme", "extra_scrape_metrics", "relabel_configs", "metric_relabel_configs",
    "static_configs", *HTTP_CLIENT_FIELDS, *(f"{kind}_sd_configs" for kind in SD_KINDS)})
KUBERNETES_SD_FIELDS = frozenset({"api_server", "role", "kubeconfig_file", "namespaces", "selectors",
                                  "attach_metadata", *HTTP_CLIENT_FIELDS})
RELABEL_FIELDS = frozenset({"source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action"})
RELABEL_ACTIONS = ("replace", "keep", "drop", "keepequal", "dropequal", "hashmod", "labelmap", "labeldrop",
                   "labelkeep", "lowercase", "uppercase")
NEEDS_TARGET = ("replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal")
PROM_DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")


DURATION_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


def _scalar_text(value: Any) -> str | None:
    """A YAML scalar as Go's yaml.v2 hands it to a string (``30`` gives ``"30"``), or ``None`` for a mapping/list."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return None
    return str(value)


def duration_problem(value: Any) -> str | None:
    """Why ``model.ParseDuration`` (Prometheus, Alertmanager) refuses a YAML value, in French, or ``None``."""
    if value is None:
        return None
    text = _scalar_text(value)
    if text == "0":
        return None
    if not text or not PROM_DURATION.match(text):
        shown = _shown(value) if text is None else f"« {text} »"
        return f"durée attendue, avec son unité, comme `30s`, `5m` ou `1h` (trouvé : {shown})"
    return None


def duration_seconds(value: Any) -> float:
    """The seconds of a duration ``duration_problem`` accepts."""
    text = _scalar_text(value) or "0"
    return sum(int(number) * DURATION_UNITS[unit] for number, unit in re.findall(r"(\d+)(ms|[ywdhms])", text))


def url_problem(value: Any) -> str | None:
    """Why Alertmanager's URL parser refuses a value (an http or https URL with a host), or ``None``."""
    text = _scalar_text(value) or ""
    if text == "<secret>":
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        return f"une URL en http:// ou https:// (trouvé : « {text} »)"
    if not parts.netloc:
        return f"une URL avec un hôte (trouvé : « {text} »)"
    return None


def _duration(value: Any, path: str) -> None:
    if (reason := duration_problem(value)) is not None:
        raise ConfigError(f"`{path}` : {reason}")


@dataclass(frozen=True)
class ScrapeJob:
    index: int
    name: str
    spec: Obj


@dataclass(frozen=True)
class PrometheusConfig:
    """The scrape jobs of a configuration; ``problems``: why Prometheus would still refuse it (each with the path
    of its field), though its jobs read."""

    jobs: tuple[ScrapeJob, ...]
    problems: tuple[str, ...] = ()


def parse_prometheus(text: str) -> list[ScrapeJob]:
    """The scrape jobs of a ``prometheus.yml``; ``ConfigError`` where Prometheus would refuse to load it."""
    config = read_prometheus(text)
    if config.problems:
        raise ConfigError(config.problems[0])
    return list(config.jobs)


def read_prometheus(text: str) -> PrometheusConfig:
    """The scrape jobs and Prometheus's refusals; ``ConfigError`` only when the jobs themselves cannot be read."""
    config = load_yaml(text)
    if config is None:
        raise ConfigError("la configuration est vide")
    config = _expect_mapping(config, "", required=True)
    problems: list[str] = []

    def collect(check: Callable[[], None]) -> None:
        try:
            check()
        except ConfigError as exc:
            problems.append(str(exc))

    collect(lambda: _unknown_fields(config, PROMETHEUS_FIELDS, "", "Prometheus"))
    glob = _expect_mapping(config.get("global"), "global")
    collect(lambda: _check_global(glob))
    interval = duration_seconds(glob.get("scrape_interval") or "1m") if duration_problem(
        glob.get("scrape_interval")) is None else 60
    jobs: list[ScrapeJob] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(_expect_list(config.get("scrape_configs"), "scrape_configs")):
        where = _path("scrape_configs", index)
        job = _expect_mapping(raw, where, required=True)
        name = job.get("job_name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"`{_path(where, 'job_name')}` devrait nommer le job (trouvé : {_shown(name)})")
        if name in seen:
            problems.append(f"`{_path(where, 'job_name')}` : le job « {name} » est déjà défini en "
                            f"`{_path('scrape_configs', seen[name])}` (un nom par job)")
        seen.setdefault(name, index)
        collect(functools.partial(_check_job, job, where, name, interval or 60))
        jobs.append(ScrapeJob(index, name, job))
    return PrometheusConfig(tuple(jobs), tuple(problems))


def _check_global(glob: Obj) -> None:
    _unknown_fields(glob, GLOBAL_PROMETHEUS_FIELDS, "global", "Prometheus")
    for key in ("scrape_interval", "scrape_timeout", "evaluation_interval"):
        _duration(glob.get(key), _path("global", key))
    interval = duration_seconds(glob.get("scrape_interval") or "1m") or 60
    if "scrape_timeout" in glob and duration_seconds(glob["scrape_timeout"]) > interval:
        raise ConfigError("`global.scrape_timeout` dépasse `global.scrape_interval` : une collecte ne peut pas durer "
                          "plus longtemps que l'intervalle entre deux collectes")


def _check_job(job: Obj, where: str, name: str, interval: float) -> None:
    """One scrape job as Prometheus validates it: fields, durations, discovery, targets, relabeling."""
    _unknown_fields(job, SCRAPE_FIELDS, where, "Prometheus")
    for key in ("scrape_interval", "scrape_timeout"):
        _duration(job.get(key), _path(where, key))
    own = duration_seconds(job["scrape_interval"]) if job.get("scrape_interval") else interval
    if job.get("scrape_timeout") and duration_seconds(job["scrape_timeout"]) > own:
        raise ConfigError(f"`{_path(where, 'scrape_timeout')}` dépasse l'intervalle de collecte du job « {name} »")
    _check_kubernetes_sd(job, where)
    for static_index, raw_static in enumerate(_expect_list(job.get("static_configs"), _path(where, "static_configs"))):
        static_where = _path(where, "static_configs", static_index)
        static = _expect_mapping(raw_static, static_where, required=True)
        _unknown_fields(static, frozenset({"targets", "labels"}), static_where, "Prometheus")
        for target_index, target in enumerate(_expect_list(static.get("targets"), _path(static_where, "targets"))):
            if not isinstance(target, str) or not target:
                raise ConfigError(f"`{_path(static_where, 'targets', target_index)}` devrait être une adresse "
                                  f"`hôte:port` (trouvé : {_shown(target)})")
    for key in ("relabel_configs", "metric_relabel_configs"):
        for rule_index, rule in enumerate(_expect_list(job.get(key), _path(where, key))):
            _check_relabel(rule, _path(where, key, rule_index))


def _check_kubernetes_sd(job: Obj, where: str) -> None:
    """``kubernetes_sd_configs`` as the Kubernetes discovery validates it."""
    discoveries = _expect_list(job.get("kubernetes_sd_configs"), _path(where, "kubernetes_sd_configs"))
    for sd_index, raw_sd in enumerate(discoveries):
        sd_where = _path(where, "kubernetes_sd_configs", sd_index)
        sd = _expect_mapping(raw_sd, sd_where, required=True)
        _unknown_fields(sd, KUBERNETES_SD_FIELDS, sd_where, "Prometheus")
        if sd.get("role") not in SD_ROLES:
            raise ConfigError(f"`{_path(sd_where, 'role')}` devrait être un rôle de découverte "
                              f"({', '.join(SD_ROLES)} ; trouvé : {_shown(sd.get('role'))})")
        namespaces = _expect_mapping(sd.get("namespaces"), _path(sd_where, "namespaces"))
        _unknown_fields(namespaces, frozenset({"own_namespace", "names"}), _path(sd_where, "namespaces"), "Prometheus")
        client = sorted(HTTP_CLIENT_FIELDS & set(sd))
        if sd.get("api_server") and sd.get("kubeconfig_file"):
            raise ConfigError(f"`{sd_where}` : `api_server` ou `kubeconfig_file`, pas les deux")
        if client and not sd.get("api_server"):
            raise ConfigError(f"`{_path(sd_where, client[0])}` : un réglage HTTP propre à la découverte demande "
                              "`api_server` ; pour les cibles, placez-le au niveau du job")
        if sd.get("api_server") and namespaces.get("own_namespace"):
            raise ConfigError(f"`{_path(sd_where, 'namespaces', 'own_namespace')}` ne se combine pas avec `api_server`")


def _check_relabel(raw: Any, where: str) -> None:
    """One relabeling rule, as ``relabel.Config.Validate`` reads it."""
    rule = _expect_mapping(raw, where, required=True)
    _unknown_fields(rule, RELABEL_FIELDS, where, "Prometheus")
    action = str(rule.get("action", "replace")).lower()
    if action not in RELABEL_ACTIONS:
        raise ConfigError(f"`{_path(where, 'action')}` : action inconnue « {rule.get('action')} » "
                          f"({', '.join(RELABEL_ACTIONS)})")
    if "regex" in rule:
        _regex(str(rule["regex"]), _path(where, "regex"))
    if action in NEEDS_TARGET and not rule.get("target_label"):
        raise ConfigError(f"`{_path(where, 'target_label')}` manque : l'action {action} écrit dans un label")
    if action == "hashmod" and not rule.get("modulus"):
        raise ConfigError(f"`{_path(where, 'modulus')}` manque : l'action hashmod demande un modulo non nul")


LOAD_FAILURE = "la configuration ne se charge pas"


def _briefly(problem: str, check_id: str) -> str:
    """A load failure told once in full (by ``check_id``), briefly by the checks that depend on it."""
    return f"{LOAD_FAILURE}, voir la vérification `{check_id}`" if problem.startswith(LOAD_FAILURE) else problem


def _prometheus(state: ClusterState) -> tuple[list[ScrapeJob] | None, str]:
    """The scrape jobs, or ``None`` when they cannot be read; and why Prometheus would refuse the file (``""``
    when it loads). Where Prometheus's own loader ran (probe ``configuration-tools``), its verdict decides; our
    reading gives the path and the French words."""
    text, problem = _config_text(state, PROMETHEUS_CM, PROMETHEUS_KEY)
    if text is None:
        return None, problem
    tool = _tool(state, "prometheus")
    try:
        config = read_prometheus(text)
    except ConfigError as exc:
        if tool and tool["accepted"]:
            return _lenient_jobs(text), ""
        return None, f"{LOAD_FAILURE} : {exc}"
    jobs = list(config.jobs)
    if tool and tool["accepted"]:
        return jobs, ""
    if config.problems:
        return jobs, f"{LOAD_FAILURE} : {config.problems[0]}"
    if tool:
        return jobs, f"{LOAD_FAILURE} : {tool['tool']} la refuse ({oracles.french_message(tool['message'])})"
    return jobs, ""


def _lenient_jobs(text: str) -> list[ScrapeJob]:
    """The jobs of a configuration Prometheus accepts though our reading does not (no validation)."""
    config = yaml.safe_load(text) or {}
    listed = config.get("scrape_configs") if isinstance(config, dict) else None
    return [ScrapeJob(i, str(job.get("job_name")), job) for i, job in enumerate(listed or []) if isinstance(job, dict)]


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else []


def _job_target_problem(job: ScrapeJob) -> str | None:
    """Why a required job does not reach its targets (a path and the value found), or ``None``."""
    where = _path("scrape_configs", job.index)
    role = REQUIRED_JOBS[job.name]
    if role is None:
        statics = [st for st in _listed(job.spec.get("static_configs")) if isinstance(st, dict)]
        targets = [t for static in statics for t in _listed(static.get("targets"))]
        if any(t in SELF_TARGETS for t in targets):
            return None
        if not statics:
            return f"`{_path(where, 'static_configs')}` : attendu une cible `localhost:9090`, trouvé absent"
        return (f"`{_path(where, 'static_configs', 0, 'targets')}` : attendu localhost:9090, "
                f"trouvé {', '.join(map(str, targets)) or 'aucune cible'}")
    sds = [sd for sd in _listed(job.spec.get("kubernetes_sd_configs")) if isinstance(sd, dict)]
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
    """« une clé `prometheus.yml`, configuration Prometheus valide », que l'on vérifie « avec `promtool check config
    --syntax-only prometheus.yml` » : tout ce que le chargeur de Prometheus refuse."""
    jobs, problem = _prometheus(state)
    if jobs is None or problem:
        return failed(f"La clé `{PROMETHEUS_KEY}` de la ConfigMap `{PROMETHEUS_CM}` devrait contenir une "
                      f"configuration Prometheus valide (trouvé : {problem}).", PROM_REF)
    return passed(f"La configuration Prometheus de `{PROMETHEUS_CM}` se charge ({len(jobs)} job(s) de collecte).",
                  PROM_REF)


@check("prometheus-scrape-jobs", title="Les trois jobs de collecte", category="observabilité", course=COURSE,
       hint="Dans `scrape_configs`, un élément par job : `job_name: prometheus`, `job_name: kubernetes-nodes` "
            "et `job_name: kubernetes-pods`.")
def prometheus_scrape_jobs(state: ClusterState) -> Verdict:
    """« définit au moins ces trois `job_name` dans `scrape_configs` » : `prometheus`, `kubernetes-nodes`,
    `kubernetes-pods`."""
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
    """« | `prometheus` | Prometheus lui-même (`localhost:9090`) | », « | `kubernetes-nodes` | les nœuds, par
    `kubernetes_sd_configs` avec `role: node` | » et « | `kubernetes-pods` | les pods, par `kubernetes_sd_configs`
    avec `role: pod` | »."""
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
    reference = image_reference(image)
    if reference.repository != IMAGE_REPOSITORY:
        return f"l'image `{IMAGE_REPOSITORY}` (trouvé : `{image or 'aucune'}`)"
    if reference.digest:
        return None
    tag = reference.tag
    if not tag or tag == "latest" or not tag[0].isdigit():
        return (f"une version précise de l'image, par exemple `{IMAGE_REPOSITORY}:12.2.1` "
                f"(trouvé : `{image}`)")
    return None


@check("grafana-deployment", title="Le Deployment Grafana", category="configuration", course=COURSE,
       related=("polaris:tagNotSpecified", "kube-linter:latest-tag", "kube-score:container-image-tag"),
       hint="Un Deployment `grafana`, image `grafana/grafana:<version>` (pas `latest`), `containerPort: 3000`.")
def grafana_deployment(state: ClusterState) -> Verdict:
    """« image `grafana/grafana` avec une version précise, port 3000 »."""
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
    """« | Secret | `grafana-admin` | clés `admin-user` et `admin-password` | »."""
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
    ref = next((r for r in env_references(container) if r.via == "env" and r.variable == variable), None)
    if ref is None or ref.kind != "Secret":
        other = next(iter(var.get("valueFrom") or {}), None)
        return f"`{other}`" if other else "valeur vide"
    if ref.name != SECRET or ref.key != CREDENTIALS[variable]:
        return f"Secret `{ref.name}`, clé `{ref.key}`"
    return None


@check("grafana-credentials-from-secret", title="Identifiants lus dans le Secret", category="sécurité",
       course=COURSE, related=("kubescape:C-0012",),
       hint="`env: [{name: GF_SECURITY_ADMIN_PASSWORD, valueFrom: {secretKeyRef: {name: grafana-admin, "
            "key: admin-password}}}]`, de même pour `GF_SECURITY_ADMIN_USER` et la clé `admin-user`.")
def grafana_credentials_from_secret(state: ClusterState) -> Verdict:
    """« lit `GF_SECURITY_ADMIN_USER` et `GF_SECURITY_ADMIN_PASSWORD` dans le Secret `grafana-admin` par
    `secretKeyRef` (clés `admin-user` et `admin-password`) »."""
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
    """« aucun identifiant en clair »."""
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    leaked = [name for c in all_containers(deployment) for name in _plaintext_credentials(c)]
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
    """« monte le PVC `grafana-data` sur `/var/lib/grafana` » (en écriture ; un `subPath` est permis)."""
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
    """« | PersistentVolumeClaim | `grafana-data` | classe par défaut, `ReadWriteOnce`, au moins `1Gi` | »."""
    return named_claim_request(state, CLAIM)


@check("grafana-claim-bound", title="Le PVC de Grafana est lié", category="stockage", course=COURSE,
       hint="La classe `microk8s-hostpath` attend le premier pod qui utilise le PVC (WaitForFirstConsumer) : "
            "tant qu'aucun pod ne le monte, il reste Pending.")
def grafana_claim_bound(state: ClusterState) -> Verdict:
    """« il est lié (`Bound`) »."""
    pvc = state.get("v1", "PersistentVolumeClaim", CLAIM)
    ref = ObjectRef("PersistentVolumeClaim", CLAIM)
    phase = ((pvc or {}).get("status") or {}).get("phase", "absent")
    stuck = unbindable(state, pvc) if pvc is not None and phase != "Bound" else None
    if stuck is not None:
        return failed(f"Le PVC `{CLAIM}` devrait être Bound (trouvé : {phase} ; {stuck[0]}).", ref, hint=stuck[1])
    if pvc is None or phase != "Bound":
        used = _uses_claim(_deployment(state))
        why = "" if used or pvc is None else " ; aucun pod du Deployment `grafana` ne l'utilise"
        return failed(f"Le PVC `{CLAIM}` devrait être Bound (trouvé : {phase}{why}).", ref,
                      pending=used and pvc is not None)
    return passed(f"Le PVC `{CLAIM}` est Bound au PV `{pvc['spec'].get('volumeName', '?')}`.", ref)


@check("grafana-pods-ready", title="Grafana est prêt", category="fiabilité", course=COURSE,
       hint="« kubectl describe pod -n monitoring -l app=grafana » : les événements disent ce qui bloque "
            "(planification, volume, image).")
def grafana_pods_ready(state: ClusterState) -> Verdict:
    """« Grafana est prêt : les pods du Deployment trouvent le Secret et les clés qu'ils référencent, et ils sont
    prêts » (sans eux, un vrai nœud les laisse en CreateContainerConfigError)."""
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    missing = missing_references(deployment, state.objects("v1", "ConfigMap"), state.objects("v1", "Secret"))
    if missing:
        return failed(f"Les pods du Deployment `{DEPLOYMENT}` devraient trouver la configuration qu'ils référencent, "
                      f"sinon ils ne démarrent pas (CreateContainerConfigError) (trouvé : {' ; '.join(missing)}).",
                      DEPLOY_REF)
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

# Field names of Alertmanager 0.35 (config/config.go, config/common, notify/*/config.go): its loader is strict.
ALERTMANAGER_FIELDS = frozenset({"global", "route", "receivers", "inhibit_rules", "templates", "time_intervals",
                                 "mute_time_intervals", "tracing", "event_recorder"})
ROUTE_FIELDS = frozenset({"receiver", "group_by", "continue", "matchers", "match", "match_re", "routes", "group_wait",
                          "group_interval", "repeat_interval", "mute_time_intervals", "active_time_intervals",
                          "labels"})
GLOBAL_FIELDS = frozenset({
    "resolve_timeout", "http_config", "jira_api_url", "smtp_from", "smtp_hello", "smtp_smarthost", "smtp_auth_username",
    "smtp_auth_password", "smtp_auth_password_file", "smtp_auth_secret", "smtp_auth_secret_file", "smtp_auth_identity",
    "smtp_require_tls", "smtp_tls_config", "smtp_force_implicit_tls", "slack_api_url", "slack_api_url_file",
    "slack_app_token", "slack_app_token_file", "slack_app_url", "pagerduty_url", "opsgenie_api_url", "opsgenie_api_key",
    "opsgenie_api_key_file", "wechat_api_url", "wechat_api_secret", "wechat_api_secret_file", "wechat_api_corp_id",
    "victorops_api_url", "victorops_api_key", "victorops_api_key_file", "telegram_api_url", "telegram_bot_token",
    "telegram_bot_token_file", "webex_api_url", "rocketchat_api_url", "rocketchat_token", "rocketchat_token_file",
    "rocketchat_token_id", "rocketchat_token_id_file", "mattermost_webhook_url", "mattermost_webhook_url_file"})
NOTIFIERS = ("discord", "email", "incidentio", "pagerduty", "slack", "webhook", "opsgenie", "wechat", "pushover",
             "victorops", "sns", "telegram", "webex", "msteams", "msteamsv2", "jira", "rocketchat", "mattermost")
RECEIVER_FIELDS = frozenset({"name", "labels", *(f"{kind}_configs" for kind in NOTIFIERS)})
WEBHOOK_FIELDS = frozenset({"send_resolved", "http_config", "url", "url_file", "max_alerts", "timeout", "payload"})
EMAIL_FIELDS = frozenset({"send_resolved", "to", "from", "hello", "smarthost", "auth_username", "auth_password",
                          "auth_password_file", "auth_secret", "auth_secret_file", "auth_identity", "headers", "html",
                          "text", "require_tls", "tls_config", "force_implicit_tls", "threading"})
INHIBIT_FIELDS = frozenset({"name", "source_match", "source_match_re", "source_matchers", "target_match",
                            "target_match_re", "target_matchers", "equal"})
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
        python = go_regexp.to_python(self.value)
        hit = python is not None and re.fullmatch(python, found) is not None
        return hit if self.op == "=~" else not hit


@dataclass(frozen=True)
class Route:
    path: str
    receiver: str | None  # its own, or inherited from its parent
    own_receiver: str | None
    matchers: tuple[Matcher, ...]
    cont: bool
    routes: tuple[Route, ...] = field(default=())
    time_intervals: tuple[str, ...] = ()  # names in mute_time_intervals and active_time_intervals

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
    """Refuse what Go's RE2 engine refuses (Alertmanager anchors the pattern: ``^(?:…)$``)."""
    reason = go_regexp.problem(value)
    if reason is not None:
        raise ConfigError(f"`{path}` : l'expression régulière « {value} » est refusée ({reason})")


def _route_matchers(route: Obj, path: str) -> tuple[Matcher, ...]:
    found: list[Matcher] = []
    for key, op in (("match", "="), ("match_re", "=~")):
        for name, value in _expect_mapping(route.get(key), _path(path, key)).items():
            if not isinstance(name, str) or not LABEL_NAME.match(name):
                raise ConfigError(f"`{_path(path, key)}` : nom de label invalide « {name} »")
            if isinstance(value, (dict, list)) or value is None:
                raise ConfigError(f"`{_path(path, key, name)}` devrait être une valeur de label (trouvé : "
                                  f"{_shown(value)})")
            text = _shown(value)
            if op == "=~":
                _regex(text, _path(path, key, name))
            found.append(Matcher(name, op, text))
    for index, line in enumerate(_expect_list(route.get("matchers"), _path(path, "matchers"))):
        where = _path(path, "matchers", index)
        if not isinstance(line, str):
            raise ConfigError(f"`{where}` devrait être un texte comme `severity=\"critical\"` (trouvé : "
                              f"{_shown(line)})")
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


def _parse_route(raw: Any, path: str, parent_receiver: str | None, problems: list[str]) -> Route:
    """A route and its children; what does not change the routing (durations, grouping) goes to ``problems``."""
    route = _expect_mapping(raw, path, required=True)
    _unknown_fields(route, ROUTE_FIELDS, path, "Alertmanager")
    receiver = route.get("receiver")
    if receiver is not None and (not isinstance(receiver, str) or not receiver):
        raise ConfigError(f"`{_path(path, 'receiver')}` devrait nommer un récepteur (trouvé : {_shown(receiver)})")
    cont = route.get("continue", False)
    if not isinstance(cont, bool):
        raise ConfigError(f"`{_path(path, 'continue')}` devrait valoir true ou false (trouvé : {_shown(cont)})")
    matchers = _route_matchers(route, path)
    problems.extend(_route_settings_problems(route, path))
    inherited = receiver or parent_receiver
    children = tuple(_parse_route(child, _path(path, "routes", index), inherited, problems)
                     for index, child in enumerate(_expect_list(route.get("routes"), _path(path, "routes"))))
    intervals = tuple(str(name) for key in ("mute_time_intervals", "active_time_intervals")
                      for name in _expect_list(route.get(key), _path(path, key)))
    return Route(path, inherited, receiver, matchers, cont, children, intervals)


def _route_settings_problems(route: Obj, path: str) -> list[str]:
    """Durations and grouping of one route, as Alertmanager validates them."""
    problems = []
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if key in route:
            if (reason := duration_problem(route[key])) is not None:
                problems.append(f"`{_path(path, key)}` : {reason}")
            elif key != "group_wait" and duration_seconds(route[key]) == 0:
                problems.append(f"`{_path(path, key)}` ne peut pas valoir zéro")
    group_by = route.get("group_by")
    if group_by is not None:
        if not isinstance(group_by, list):
            return [*problems, f"`{_path(path, 'group_by')}` devrait être une liste de labels (trouvé : "
                               f"{_shown(group_by)})"]
        names = [str(label) for label in group_by]
        invalid = [n for n in names if not n]  # UTF-8 label names (matchers in fallback mode): any non-empty text
        if invalid:
            problems.append(f"`{_path(path, 'group_by')}` : nom de label invalide « {invalid[0]} »")
        elif "..." in names and len(names) > 1:
            problems.append(f"`{_path(path, 'group_by')}` : `...` (tous les labels) ne se combine avec aucun "
                            "autre label")
        elif len(set(names)) < len(names):
            double = next(n for n in names if names.count(n) > 1)
            problems.append(f"`{_path(path, 'group_by')}` : le label « {double} » est en double")
    for name in _expect_mapping(route.get("labels"), _path(path, "labels")):
        if not str(name):
            problems.append(f"`{_path(path, 'labels')}` : nom de label invalide « {name} »")
    return problems


def _parse_receiver(raw: Any, where: str, glob: Obj) -> tuple[str, list[str]]:
    """A receiver's name, and why Alertmanager would refuse its settings (paths and reasons)."""
    receiver = _expect_mapping(raw, where, required=True)
    name = receiver.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"`{_path(where, 'name')}` devrait nommer le récepteur (trouvé : {_shown(name)})")
    problems = [p for p in [_unknown_field(receiver, RECEIVER_FIELDS, where, "Alertmanager")] if p]
    label = _expect_mapping(receiver.get("labels"), _path(where, "labels")).get("name")
    if label is not None and label != name:
        problems.append(f"`{_path(where, 'labels', 'name')}` devrait valoir « {name} », le nom du récepteur")
    for index, raw_hook in enumerate(_expect_list(receiver.get("webhook_configs"), _path(where, "webhook_configs"))):
        hook_where = _path(where, "webhook_configs", index)
        hook = _expect_mapping(raw_hook, hook_where, required=True)
        if (unknown := _unknown_field(hook, WEBHOOK_FIELDS, hook_where, "Alertmanager")) is not None:
            problems.append(unknown)
        elif not hook.get("url") and not hook.get("url_file"):
            problems.append(f"`{hook_where}` : un webhook demande `url` (ou `url_file`)")
        elif hook.get("url") and hook.get("url_file"):
            problems.append(f"`{hook_where}` : `url` ou `url_file`, pas les deux")
        elif hook.get("url") and (reason := url_problem(hook["url"])) is not None:
            problems.append(f"`{_path(hook_where, 'url')}` : {reason}")
    for index, raw_mail in enumerate(_expect_list(receiver.get("email_configs"), _path(where, "email_configs"))):
        mail_where = _path(where, "email_configs", index)
        mail = _expect_mapping(raw_mail, mail_where, required=True)
        if (unknown := _unknown_field(mail, EMAIL_FIELDS, mail_where, "Alertmanager")) is not None:
            problems.append(unknown)
        if not mail.get("to"):
            problems.append(f"`{_path(mail_where, 'to')}` manque : l'adresse du destinataire")
        for key, fallback in (("smarthost", "smtp_smarthost"), ("from", "smtp_from")):
            if not mail.get(key) and not glob.get(fallback):
                problems.append(f"`{_path(mail_where, key)}` manque, et `global.{fallback}` aussi")
    for index, raw_slack in enumerate(_expect_list(receiver.get("slack_configs"), _path(where, "slack_configs"))):
        slack = _expect_mapping(raw_slack, _path(where, "slack_configs", index), required=True)
        if not any(slack.get(k) for k in ("api_url", "api_url_file", "app_token", "app_token_file")) and \
                not any(glob.get(k) for k in ("slack_api_url", "slack_api_url_file", "slack_app_token",
                                                "slack_app_token_file")):
            problems.append(f"`{_path(where, 'slack_configs', index, 'api_url')}` manque, et "
                            "`global.slack_api_url` aussi")
    return name, problems


def _time_interval_names(config: Obj, problems: list[str]) -> set[str]:
    names: set[str] = set()
    for key in ("mute_time_intervals", "time_intervals"):
        for index, raw in enumerate(_expect_list(config.get(key), key)):
            interval = _expect_mapping(raw, _path(key, index), required=True)
            unknown = _unknown_field(interval, frozenset({"name", "time_intervals"}), _path(key, index), "Alertmanager")
            problems.extend([unknown] if unknown else [])
            name = str(interval.get("name", ""))
            if name in names:
                problems.append(f"`{_path(key, index, 'name')}` : l'intervalle « {name} » est déjà déclaré")
            names.add(name)
    return names


def _inhibit_problems(config: Obj) -> list[str]:
    problems = []
    for index, raw in enumerate(_expect_list(config.get("inhibit_rules"), "inhibit_rules")):
        where = _path("inhibit_rules", index)
        rule = _expect_mapping(raw, where, required=True)
        if (unknown := _unknown_field(rule, INHIBIT_FIELDS, where, "Alertmanager")) is not None:
            problems.append(unknown)
        try:
            for side in ("source", "target"):
                _route_matchers({"match": rule.get(f"{side}_match"), "match_re": rule.get(f"{side}_match_re"),
                                 "matchers": rule.get(f"{side}_matchers")}, where)
        except ConfigError as exc:
            problems.append(str(exc))
        invalid = [str(n) for n in _expect_list(rule.get("equal"), _path(where, "equal")) if not str(n)]
        if invalid:
            problems.append(f"`{_path(where, 'equal')}` : nom de label invalide « {invalid[0]} »")
    return problems


@dataclass(frozen=True)
class AlertmanagerConfig:
    """The routing tree and receivers of a configuration; ``problems``: why Alertmanager would still refuse it
    (each with the path of its field), though its routing reads."""

    route: Route
    receivers: tuple[str, ...]
    problems: tuple[str, ...] = ()

    def receivers_for(self, labels: dict[str, str]) -> list[str]:
        """The receivers an alert with these labels is sent to, as Alertmanager's dispatcher routes it."""
        return [route.receiver or "" for route in _matching_routes(self.route, labels)]

    def used_receivers(self) -> list[tuple[str, str]]:
        """(path of the ``receiver`` field, receiver) for every route of the tree."""
        return _used_receivers(self.route)


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
    """The routing tree and receivers of an ``alertmanager.yml``. ``ConfigError`` when the tree cannot be read;
    the other refusals of Alertmanager's loader (receivers, durations, grouping…) are in ``problems``."""
    config = load_yaml(text)
    if config is None:
        raise ConfigError("la configuration est vide")
    config = _expect_mapping(config, "", required=True)
    _unknown_fields(config, ALERTMANAGER_FIELDS, "", "Alertmanager")
    glob = _expect_mapping(config.get("global"), "global")
    problems: list[str] = [p for p in [_unknown_field(glob, GLOBAL_FIELDS, "global", "Alertmanager")] if p]
    if "resolve_timeout" in glob and (reason := duration_problem(glob["resolve_timeout"])) is not None:
        problems.append(f"`global.resolve_timeout` : {reason}")
    names: list[str] = []
    for index, raw in enumerate(_expect_list(config.get("receivers"), "receivers")):
        where = _path("receivers", index)
        name, found = _parse_receiver(raw, where, glob)
        if name in names:
            raise ConfigError(f"`{_path(where, 'name')}` : le récepteur « {name} » est déjà déclaré en "
                              f"`{_path('receivers', names.index(name))}`")
        names.append(name)
        problems.extend(found)
    if config.get("route") is None:
        raise ConfigError("`route` manque : Alertmanager exige une route racine")
    root = _expect_mapping(config["route"], "route", required=True)
    if not root.get("receiver"):
        raise ConfigError("`route.receiver` manque : la route racine doit avoir un récepteur par défaut")
    if any(root.get(key) for key in ("match", "match_re", "matchers")):
        raise ConfigError("la route racine `route` ne doit avoir aucun matcher : elle reçoit toutes les alertes")
    for key in ("mute_time_intervals", "active_time_intervals"):
        if root.get(key):
            problems.append(f"`route.{key}` : la route racine ne peut pas avoir d'intervalle de temps")
    route = _parse_route(root, "route", None, problems)
    undeclared = [(path, name) for path, name in _used_receivers(route) if name not in names]
    problems.extend(f"`{path}` : le récepteur « {name} » n'est pas déclaré dans `receivers`"
                    for path, name in undeclared)
    intervals = _time_interval_names(config, problems)
    problems.extend(f"`{route_path}` : l'intervalle de temps « {name} » n'est pas déclaré"
                    for route_path, name in _used_intervals(route) if name not in intervals)
    problems.extend(_inhibit_problems(config))
    for index, template in enumerate(_expect_list(config.get("templates"), "templates")):
        if not isinstance(template, str):
            problems.append(f"`{_path('templates', index)}` devrait être un chemin (trouvé : {_shown(template)})")
    return AlertmanagerConfig(route, tuple(names), tuple(problems))


def _used_receivers(route: Route) -> list[tuple[str, str]]:
    found = [(_path(route.path, "receiver"), route.own_receiver)] if route.own_receiver is not None else []
    return found + [pair for child in route.routes for pair in _used_receivers(child)]


def _used_intervals(route: Route) -> list[tuple[str, str]]:
    return [(route.path, name) for name in route.time_intervals] + \
        [pair for child in route.routes for pair in _used_intervals(child)]


def _alertmanager(state: ClusterState) -> tuple[AlertmanagerConfig | None, str]:
    """The routing tree, or ``None`` and why it cannot be read. ``problem`` is also set when the tree reads but
    Alertmanager would refuse the file: by our reading (``problems``), or by its own loader where it ran."""
    text, problem = _config_text(state, ALERTMANAGER_CM, ALERTMANAGER_KEY)
    if text is None:
        return None, problem
    tool = _tool(state, "alertmanager")
    try:
        config = parse_alertmanager(text)
    except ConfigError as exc:
        return None, f"{LOAD_FAILURE} : {exc}"
    if tool and tool["accepted"]:
        return config, ""
    if config.problems:
        return config, f"{LOAD_FAILURE} : {config.problems[0]}"
    if tool:
        return config, f"{LOAD_FAILURE} : {tool['tool']} la refuse ({oracles.french_message(tool['message'])})"
    return config, ""


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
    """« La clé `alertmanager.yml` contient un YAML valide » que l'on vérifie « avec
    `amtool check-config alertmanager.yml` » : tout ce que le chargeur d'Alertmanager refuse (champs,
    durées, récepteurs, webhooks, expressions régulières)."""
    config, problem = _alertmanager(state)
    if config is None or problem:
        return failed(f"La clé `{ALERTMANAGER_KEY}` de la ConfigMap `{ALERTMANAGER_CM}` devrait contenir une "
                      f"configuration Alertmanager valide (trouvé : {problem}).", AM_REF)
    return passed(f"La configuration Alertmanager de `{ALERTMANAGER_CM}` se charge (récepteurs : "
                  f"{listing(config.receivers) or 'aucun'}).", AM_REF)


@check("alertmanager-critical-route", title="Les alertes critiques vont au récepteur critical",
       category="observabilité", course=COURSE,
       hint="Sous `route.routes`, une sous-route `matchers: ['severity=\"critical\"']` avec `receiver: critical`, "
            "placée avant toute sous-route qui attraperait aussi ces alertes.")
def alertmanager_critical_route(state: ClusterState) -> Verdict:
    """« une sous-route envoie les alertes qui portent le label `severity=\"critical\"` vers un récepteur nommé
    exactement `critical` »."""
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
    """« la route racine a un récepteur par défaut » et seules les alertes critiques vont à `critical`."""
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
    """« les deux récepteurs sont déclarés dans `receivers` »."""
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
