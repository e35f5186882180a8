"""Lab 08 — Sauvegarde et restauration.

Part 1: is the backup CronJob `db-backup` sound (a cron schedule that parses and leaves at
least an hour between runs, no concurrent runs, a history that keeps at least one Job of each
kind and at most ten, the right restart policy, a persistent destination mounted writable in
its container)?

Part 2: a real restore, in two steps of the preparation. ``kubelab lab setup`` (step 1,
``setup_lab``) deploys the application from the lab's backup (``labs/08-sauvegarde-restauration/
sauvegarde/``, raw ``kubectl get -o yaml`` exports) and records what it deployed, uids
included. The learner exports the three objects; ``kubelab lab setup … --step 2``
(``delete_application``) deletes them; the learner cleans the exports and applies them. The
checks compare what is back with what was recorded, and a uid still equal to the recorded one
means the object was never deleted and restored.

How the content is compared, honestly and without keeping Secret values anywhere:

- the ConfigMap ``inventaire`` holds the non-secret record: the SHA-256 of each value of
  ``app-config``, the keys and type of ``app-secret``, the image, replicas and configuration
  references of the Deployment ``app``, and the uids of the three objects;
- the Secret ``inventaire-empreintes`` holds a salted SHA-256 of each value of ``app-secret``
  (salt drawn at setup). Kept in a Secret, these fingerprints are stripped from snapshots like
  any Secret value;
- the read-only probe ``secret-content`` reads both Secrets live, compares in memory and
  returns only key names by verdict (same, changed, missing, extra): no value and no
  fingerprint of a value ever reaches a check, a report or a snapshot.

The learner never has to copy a fingerprint: restoring the right values is the only way to
match them. Each check's docstring quotes the sentence of the statement it enforces.

The section below maps each bullet of « Ce qui est vérifié » (what the learner is told is graded)
to the checks that enforce it.

Statement → check:

- « Le PVC `backup-storage` demande la classe par défaut, `ReadWriteOnce` et au moins `1Gi` » →
  ``backup-pvc``;
- « Le CronJob `db-backup` a un horaire cron valide qui laisse au moins une heure entre deux
  sauvegardes » → ``backup-schedule``; « `concurrencyPolicy: Forbid` » → ``backup-concurrency-forbid``;
  « des limites d'historique entre 1 et 10 » → ``backup-history-limits``; « `restartPolicy:
  OnFailure` » → ``backup-restart-policy``; « un volume issu de `backup-storage` monté en écriture
  dans son conteneur » → ``backup-volume-mounted``;
- « Après la restauration, `app-config`, `app-secret` et `app` existent de nouveau dans
  `lab-sauvegarde`, recréés après l'étape 2, avec le même contenu » → ``app-config-restored``,
  ``app-secret-restored``, ``app-restored``; « qui est de nouveau disponible (ses pods trouvent la
  configuration qu'ils référencent) » → ``app-available``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from kubelab import manifest_text, manifests
from kubelab.catalog import SetupStep
from kubelab.checks import ObjectRef, Registry, Verdict, failed, passed
from kubelab.claims import named_claim_request
from kubelab.cluster_state import CLUSTER_SCOPE, ClusterState, Probe, Read, secret_keys
from kubelab.kube_api import KubeApi
from kubelab.objects import containers, is_ready, listing, missing_references, pod_spec, pods_of
from kubelab.paths import labs_root

registry = Registry()
check = registry.check

READS = (
    Read("v1", "PersistentVolumeClaim"),
    Read("storage.k8s.io/v1", "StorageClass", CLUSTER_SCOPE),
    Read("batch/v1", "CronJob"),
    Read("v1", "ConfigMap"),
    Read("v1", "Secret"),
    Read("apps/v1", "Deployment"),
    Read("apps/v1", "ReplicaSet"),
    Read("v1", "Pod"),
)

LAB_ID = "08-sauvegarde-restauration"
COURSE = "microk8s/sauvegarde.md"
CRONJOB = "db-backup"
CLAIM = "backup-storage"
MIN_GAP_MINUTES = 60
HISTORY_RANGE = (1, 10)
CONFIGMAP, SECRET, DEPLOYMENT = "app-config", "app-secret", "app"
INVENTORY = "inventaire"
FINGERPRINTS = "inventaire-empreintes"
SALT_KEY = "sel"
BACKUP_FOLDER = "sauvegarde"

CRON = ObjectRef("CronJob", CRONJOB)
MISSING_CRON = failed(f"Le CronJob `{CRONJOB}` devrait exister dans le namespace du lab (trouvé : aucun).", CRON)
APP = ObjectRef("Deployment", DEPLOYMENT)
NO_INVENTORY = (f"l'inventaire de la préparation (ConfigMap `{INVENTORY}`) est introuvable : lancez "
                f"« kubelab lab setup {LAB_ID} », puis sauvegardez et « kubelab lab setup {LAB_ID} --step 2 »")
NOT_DELETED = (f"l'objet créé par la préparation, jamais supprimé ni restauré ; sauvegardez-le, lancez « kubelab lab "
               f"setup {LAB_ID} --step 2 », puis restaurez-le")

Obj = dict[str, Any]


# --- cron schedules (the syntax Kubernetes accepts: robfig/cron's standard parser) ----------------


class CronError(ValueError):
    """A schedule Kubernetes would refuse; the message says why, in French."""


@dataclass(frozen=True)
class CronField:
    name: str
    low: int
    high: int
    names: dict[str, int]


MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                      "dec"), start=1)}
WEEKDAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
FIELDS = (CronField("minute", 0, 59, {}), CronField("heure", 0, 23, {}), CronField("jour du mois", 1, 31, {}),
          CronField("mois", 1, 12, MONTHS), CronField("jour de la semaine", 0, 6, WEEKDAYS))
MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
INTEGER = re.compile(r"[+-]?\d+")  # what Go's strconv.Atoi accepts
DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: the sets of values of its five fields, or a fixed interval (``@every``)."""

    fields: tuple[frozenset[int], ...] = ()
    dom_star: bool = True
    dow_star: bool = True
    every_seconds: int | None = None


def _number(text: str, field: CronField) -> int:
    value = field.names.get(text.lower())
    if value is not None:
        return value
    if not text:
        raise CronError(f"une valeur manque dans le champ {field.name}")
    if not INTEGER.fullmatch(text) or int(text) < 0:
        raise CronError(f"« {text} » n'est pas une valeur possible pour le champ {field.name}")
    return int(text)


def _parse_part(part: str, field: CronField) -> tuple[set[int], bool]:
    """One comma-separated part of a field: its values and whether it counts as ``*``."""
    range_and_step = part.split("/")
    if len(range_and_step) > 2:
        raise CronError(f"trop de « / » dans « {part} »")
    bounds = range_and_step[0].split("-")
    if len(bounds) > 2:
        raise CronError(f"trop de « - » dans « {part} »")
    star = bounds[0] in ("*", "?")
    if star:
        start, end = field.low, field.high
    else:
        start = _number(bounds[0], field)
        end = _number(bounds[1], field) if len(bounds) == 2 else start
    step = 1
    if len(range_and_step) == 2:
        if not INTEGER.fullmatch(range_and_step[1]) or int(range_and_step[1]) < 0:
            raise CronError(f"le pas « {range_and_step[1]} » de « {part} » devrait être un entier positif")
        step = int(range_and_step[1])
        if len(bounds) == 1:
            end = field.high  # « N/pas » veut dire « N-max/pas »
        if step > 1:
            star = False
    if start < field.low or end > field.high:
        raise CronError(f"« {part} » sort des valeurs du champ {field.name} ({field.low} à {field.high})")
    if start > end:
        raise CronError(f"la plage « {part} » du champ {field.name} commence après sa fin")
    if step == 0:
        raise CronError(f"le pas de « {part} » devrait être un entier positif")
    return set(range(start, end + 1, step)), star


def _go_duration(text: str) -> float:
    """Seconds of a Go duration such as ``1h30m`` (what ``@every`` takes)."""
    if not text or DURATION.sub("", text) != "":
        raise CronError(f"« {text} » n'est pas une durée (exemples : 90m, 1h30m, 24h)")
    return sum(float(number) * DURATION_UNITS[unit] for number, unit in DURATION.findall(text))


def parse_schedule(schedule: str) -> Schedule:
    """Parse a CronJob schedule as Kubernetes does; ``CronError`` (in French) when it would refuse it."""
    text = schedule.strip()
    if "TZ" in text:
        raise CronError("TZ= ou CRON_TZ= n'est pas admis dans l'horaire : utilisez le champ `timeZone`")
    if text.startswith("@"):
        if text.startswith("@every "):
            seconds = _go_duration(text[len("@every "):].strip())
            return Schedule(every_seconds=max(1, int(seconds)))
        if text not in MACROS:
            raise CronError(f"macro inconnue « {text} » (connues : {', '.join(sorted(MACROS))}, @every <durée>)")
        text = MACROS[text]
    parts = text.split()
    if len(parts) != 5:
        raise CronError(f"5 champs attendus (minute heure jour-du-mois mois jour-de-la-semaine), {len(parts)} trouvés")
    values: list[frozenset[int]] = []
    stars: list[bool] = []
    for part_text, field in zip(parts, FIELDS, strict=True):
        field_values: set[int] = set()
        field_star = False
        for part in part_text.split(","):
            if not part:
                raise CronError(f"valeur vide dans le champ {field.name}")
            found, star = _parse_part(part, field)
            field_values |= found
            field_star = field_star or star
        values.append(frozenset(field_values))
        stars.append(field_star)
    return Schedule(tuple(values), dom_star=stars[2], dow_star=stars[4])


SIMULATED_DAYS = 4 * 366  # four years hold a 29 February
SIMULATION_START = date(2025, 1, 1)


@dataclass(frozen=True)
class Cadence:
    """How often a schedule fires: runs per firing day, their times, the shortest gap (minutes)."""

    times: tuple[int, ...]
    every_day: bool
    min_gap: float | None  # None: it fires at most once in four years


def cadence(parsed: Schedule) -> Cadence:
    """The cadence of a parsed schedule, over four simulated years (a pure computation)."""
    if parsed.every_seconds is not None:
        return Cadence((), True, parsed.every_seconds / 60)
    minutes, hours, dom, months, dow = parsed.fields
    times = tuple(sorted(h * 60 + m for h in hours for m in minutes))
    days = []
    for offset in range(SIMULATED_DAYS):
        day = SIMULATION_START + timedelta(days=offset)
        if day.month not in months:
            continue
        dom_match, dow_match = day.day in dom, (day.isoweekday() % 7) in dow
        fires = dom_match and dow_match if parsed.dom_star or parsed.dow_star else dom_match or dow_match
        if fires:
            days.append(offset)
    gaps = [b - a for a, b in pairwise(times)]
    gaps += [(b - a) * 1440 - times[-1] + times[0] for a, b in pairwise(days)]
    every_day = len(days) == SIMULATED_DAYS
    if not days:
        return Cadence(times, False, 0.0)
    return Cadence(times, every_day, float(min(gaps)) if gaps else None)


def _duration_text(minutes: float) -> str:
    if minutes < 1:
        return f"{round(minutes * 60)} s"
    if minutes < 60:
        return f"{minutes:g} min"
    hours, rest = divmod(round(minutes), 60)
    if hours >= 48 and hours % 24 == 0 and not rest:
        return f"{hours // 24} j"
    return f"{hours} h" + (f" {rest:02d}" if rest else "")


def _every(minutes: float) -> str:
    """« chaque minute », « toutes les 5 min », « chaque heure »…"""
    named: dict[float, str] = {1: "chaque minute", 60: "chaque heure", 1440: "chaque jour"}
    return named.get(minutes, f"toutes les {_duration_text(minutes)}") if minutes == int(minutes) else \
        f"toutes les {_duration_text(minutes)}"


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number <= 1 else many}"


def _times_text(times: tuple[int, ...]) -> str:
    shown = [f"{t // 60:02d}:{t % 60:02d}" for t in times[:3]]
    return "à " + ", ".join(shown) + (f" (et {len(times) - 3} autres horaires)" if len(times) > 3 else "")


# --- the lab's backup and its inventory (setup) ------------------------------------------------


SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink",
                 "namespace", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences")
SERVER_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision")


def clean_export(obj: Obj) -> Obj:
    """An exported object fit to apply again: no server-managed metadata, no status."""
    clean = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_FIELDS}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in SERVER_ANNOTATIONS}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    clean["metadata"] = meta
    return clean


def backup_objects() -> list[Obj]:
    """The objects of the lab's backup folder, cleaned."""
    folder = labs_root() / LAB_ID / BACKUP_FOLDER
    objects: list[Obj] = []
    for path in sorted(folder.glob("*.yaml")):
        objects.extend(clean_export(o) for o in manifest_text.parse(path.read_text(), f"« {path} »"))
    return objects


def value_digest(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def secret_fingerprint(salt: bytes, key: str, value: bytes) -> str:
    """Salted SHA-256 of one Secret value (the salt defeats precomputed tables)."""
    return "sha256:" + hashlib.sha256(salt + b"\0" + key.encode() + b"\0" + value).hexdigest()


def configmap_digests(configmap: Obj) -> dict[str, str]:
    digests = {key: value_digest(value) for key, value in (configmap.get("data") or {}).items()}
    digests.update({key: value_digest(f"binary:{value}") for key, value in (configmap.get("binaryData") or {}).items()})
    return digests


def _reference_text(container: str, what: str) -> str:
    return f"conteneur {container} : {what}"


def deployment_facts(deployment: Obj) -> Obj:
    """What a restore must bring back: replicas, images, references to configuration."""
    spec = pod_spec(deployment)
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    images: dict[str, str] = {}
    references: set[str] = set()
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        name = container.get("name", "?")
        images[name] = container.get("image", "")
        for source in container.get("envFrom") or []:
            for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                if source.get(field):
                    prefix = f" (préfixe {source['prefix']})" if source.get("prefix") else ""
                    references.add(_reference_text(name, f"envFrom {kind} {source[field].get('name')}{prefix}"))
        for variable in container.get("env") or []:
            value_from = variable.get("valueFrom") or {}
            for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                ref = value_from.get(field)
                if ref:
                    references.add(_reference_text(
                        name, f"variable {variable.get('name')} ← {kind} {ref.get('name')}/{ref.get('key')}"))
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount.get("name")) or {}
            for field, kind, key in (("configMap", "ConfigMap", "name"), ("secret", "Secret", "secretName")):
                if volume.get(field):
                    references.add(_reference_text(
                        name, f"volume {kind} {volume[field].get(key)} monté sur {mount.get('mountPath')}"))
    return {"replicas": (deployment.get("spec") or {}).get("replicas", 1), "images": images,
            "references": sorted(references)}


def _decode(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def setup_lab(api: KubeApi, namespace: str) -> None:
    """Step 1: deploy the application from the backup and record it (inventory, fingerprints, uids)."""
    objects = backup_objects()
    manifests.apply_all(api, objects, namespace)
    configmap = api.get("v1", "ConfigMap", CONFIGMAP, namespace) or {}
    secret = api.get("v1", "Secret", SECRET, namespace) or {}
    deployment = api.get("apps/v1", "Deployment", DEPLOYMENT, namespace) or {}
    salt = secrets.token_bytes(16)
    api.apply({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": FINGERPRINTS, "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "kubelab"}},
        "data": {SALT_KEY: base64.b64encode(salt).decode(), **{
            f"{SECRET}.{key}": base64.b64encode(secret_fingerprint(salt, key, _decode(value)).encode()).decode()
            for key, value in (secret.get("data") or {}).items()}},
    })
    uids = {f"{obj.get('kind', '').lower()}.{obj.get('metadata', {}).get('name')}": obj.get("metadata", {}).get("uid")
            for obj in (configmap, secret, deployment)}
    api.apply({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": INVENTORY, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "kubelab"}},
        "data": {
            "LISEZMOI": (f"Inventaire dressé par « kubelab lab setup {LAB_ID} » quand il a créé {CONFIGMAP}, "
                         f"{SECRET} et {DEPLOYMENT}, depuis la sauvegarde labs/{LAB_ID}/{BACKUP_FOLDER}/. "
                         f"« kubelab lab setup {LAB_ID} --step 2 » les supprime. Les empreintes des valeurs "
                         f"du Secret sont dans le Secret {FINGERPRINTS}.\n"),
            f"configmap.{CONFIGMAP}": json.dumps(configmap_digests(configmap), indent=2, sort_keys=True),
            f"secret.{SECRET}": json.dumps({"type": secret.get("type", "Opaque"),
                                            "keys": sorted(secret.get("data") or {})}, indent=2),
            f"deployment.{DEPLOYMENT}": json.dumps(deployment_facts(deployment), indent=2, ensure_ascii=False),
            "uids": json.dumps(uids, indent=2, sort_keys=True),
        },
    })


def delete_application(api: KubeApi, namespace: str) -> None:
    """Step 2: the incident, the three objects deleted as by a mistaken command."""
    for api_version, kind, name in (("apps/v1", "Deployment", DEPLOYMENT), ("v1", "Secret", SECRET),
                                    ("v1", "ConfigMap", CONFIGMAP)):
        api.delete(api_version, kind, name, namespace)


SETUP_STEPS = {2: SetupStep(f"`{CONFIGMAP}`, `{SECRET}` et `{DEPLOYMENT}` sont supprimés ; restaurez-les depuis "
                            "vos fichiers", delete_application)}


def secret_content(api: KubeApi, namespace: str) -> Obj:
    """Compare `app-secret` with the fingerprints recorded at setup, in memory; only key names come out."""
    record = api.get("v1", "Secret", FINGERPRINTS, namespace)
    if record is None:
        return {"recorded": False}
    current = api.get("v1", "Secret", SECRET, namespace)
    if current is None:
        return {"recorded": True, "present": False}
    data = record.get("data") or {}
    salt = _decode(data.get(SALT_KEY))
    prefix = f"{SECRET}."
    expected = {key[len(prefix):]: _decode(value).decode() for key, value in data.items() if key.startswith(prefix)}
    actual = {key: secret_fingerprint(salt, key, _decode(value)) for key, value in (current.get("data") or {}).items()}
    return {
        "recorded": True, "present": True,
        "same": sorted(k for k in expected if actual.get(k) == expected[k]),
        "changed": sorted(k for k in expected if k in actual and actual[k] != expected[k]),
        "missing": sorted(k for k in expected if k not in actual),
        "extra": sorted(k for k in actual if k not in expected),
    }


PROBES = {"secret-content": Probe(secret_content, needs=None)}


def _inventory(state: ClusterState, key: str) -> Any:
    configmap = state.get("v1", "ConfigMap", INVENTORY)
    raw = ((configmap or {}).get("data") or {}).get(key)
    return json.loads(raw) if raw else None


def _never_deleted(state: ClusterState, obj: Obj) -> bool:
    """Is ``obj`` still the very object step 1 created (same uid)?"""
    uid = (_inventory(state, "uids") or {}).get(f"{obj.get('kind', '').lower()}.{obj['metadata']['name']}")
    return bool(uid) and obj["metadata"].get("uid") == uid


# --- part 1: the backup CronJob ------------------------------------------------------------------------


def _cronjob(state: ClusterState) -> Obj | None:
    return state.get("batch/v1", "CronJob", CRONJOB)


@check("backup-pvc", title="Le PVC des sauvegardes", category="stockage", course=COURSE,
       hint="Un PVC `backup-storage` : classe par défaut (ou pas de storageClassName), `ReadWriteOnce`, au moins "
            "`1Gi`. "
            "Il reste Pending jusqu'à la première sauvegarde (WaitForFirstConsumer) : c'est normal.")
def backup_pvc(state: ClusterState) -> Verdict:
    """« | PersistentVolumeClaim | `backup-storage` | classe par défaut, `ReadWriteOnce`, au moins `1Gi` | »."""
    return named_claim_request(state, CLAIM)


@check("backup-schedule", title="Un horaire cron valide et raisonnable", category="exploitation", course=COURSE,
       hint="Cinq champs : minute heure jour-du-mois mois jour-de-la-semaine, par exemple `\"0 2 * * *\"` "
            "(tous les jours à 02:00), ou une macro comme `@daily`. Une sauvegarde complète par minute "
            "remplirait le disque sans rien protéger de plus.")
def backup_schedule(state: ClusterState) -> Verdict:
    """« un `schedule` valide au format cron […] qui laisse au moins une heure entre deux sauvegardes »."""
    cron = _cronjob(state)
    if cron is None:
        return MISSING_CRON
    schedule = (cron.get("spec") or {}).get("schedule", "")
    try:
        rhythm = cadence(parse_schedule(schedule))
    except CronError as exc:
        return failed(f"L'horaire du CronJob `{CRONJOB}` devrait être une expression cron valide "
                      f"(trouvé : `{schedule}`, {exc}).", CRON)
    zone = (cron.get("spec") or {}).get("timeZone")
    where = f" (fuseau {zone})" if zone else ""
    if rhythm.min_gap == 0.0:
        return failed(f"L'horaire du CronJob `{CRONJOB}` devrait déclencher des sauvegardes "
                      f"(trouvé : `{schedule}`, qui ne tombe jamais).", CRON)
    if rhythm.min_gap is not None and rhythm.min_gap < MIN_GAP_MINUTES:
        return failed(f"Le CronJob `{CRONJOB}` devrait laisser au moins une heure entre deux sauvegardes "
                      f"(trouvé : `{schedule}`, {_every(rhythm.min_gap)}).", CRON)
    if rhythm.times:
        when = f"{'tous les jours' if rhythm.every_day else 'certains jours'} {_times_text(rhythm.times)}"
    else:
        when = _every(rhythm.min_gap or 0)
    gap = f", au moins {_duration_text(rhythm.min_gap)} entre deux sauvegardes" if rhythm.min_gap else ""
    return passed(f"L'horaire `{schedule}` est valide : {when}{where}{gap}.", CRON)


@check("backup-concurrency-forbid", title="Jamais deux sauvegardes en même temps", category="exploitation",
       course=COURSE,
       hint="`concurrencyPolicy: Forbid` : si la sauvegarde précédente tourne encore, la suivante est sautée.")
def backup_concurrency(state: ClusterState) -> Verdict:
    """« `concurrencyPolicy: Forbid` »."""
    cron = _cronjob(state)
    if cron is None:
        return MISSING_CRON
    policy = (cron.get("spec") or {}).get("concurrencyPolicy", "Allow")
    if policy != "Forbid":
        return failed(f"Le CronJob `{CRONJOB}` devrait déclarer `concurrencyPolicy: Forbid` (trouvé : "
                      f"`{policy}`).", CRON)
    return passed(f"Le CronJob `{CRONJOB}` ne lance jamais deux sauvegardes en même temps.", CRON)


@check("backup-history-limits", title="Un historique borné et utile", category="exploitation", course=COURSE,
       hint="`successfulJobsHistoryLimit: 3` et `failedJobsHistoryLimit: 3` : garder au moins un Job échoué, "
            "c'est garder ses journaux pour comprendre l'échec.")
def backup_history(state: ClusterState) -> Verdict:
    """« `successfulJobsHistoryLimit` et `failedJobsHistoryLimit` gardent chacun **entre 1 et 10** Jobs […] les
    valeurs par défaut, 3 et 1, conviennent »."""
    cron = _cronjob(state)
    if cron is None:
        return MISSING_CRON
    spec = cron.get("spec") or {}
    low, high = HISTORY_RANGE
    problems = []
    for field, default in (("successfulJobsHistoryLimit", 3), ("failedJobsHistoryLimit", 1)):
        value = spec.get(field, default)
        if not low <= value <= high:
            problems.append(f"`{field}` entre {low} et {high} (trouvé : {value})")
    if problems:
        return failed(f"Le CronJob `{CRONJOB}` devrait avoir {' ; '.join(problems)}.", CRON)
    kept = spec.get("successfulJobsHistoryLimit", 3), spec.get("failedJobsHistoryLimit", 1)
    return passed(f"Le CronJob `{CRONJOB}` garde {_count(kept[0], 'Job réussi', 'Jobs réussis')} et "
                  f"{_count(kept[1], 'Job échoué', 'Jobs échoués')}.", CRON)


@check("backup-restart-policy", title="Une sauvegarde ratée est relancée dans son pod", category="fiabilité",
       course=COURSE,
       hint="Dans le gabarit de pod du Job : `restartPolicy: OnFailure`, pour réessayer dans le même pod, "
            "sur le nœud où le volume est déjà attaché, plutôt que semer des pods en échec.")
def backup_restart_policy(state: ClusterState) -> Verdict:
    """« `restartPolicy: OnFailure` dans le gabarit de pod »."""
    cron = _cronjob(state)
    if cron is None:
        return MISSING_CRON
    policy = pod_spec(cron).get("restartPolicy", "Always")
    if policy != "OnFailure":
        return failed(f"Le gabarit de pod du CronJob `{CRONJOB}` devrait déclarer `restartPolicy: OnFailure` "
                      f"(trouvé : `{policy}`).", CRON)
    return passed("Une sauvegarde qui échoue est relancée dans le même pod (`restartPolicy: OnFailure`).", CRON)


@check("backup-volume-mounted", title="Les sauvegardes vont sur le PVC", category="stockage", course=COURSE,
       hint="Un volume `persistentVolumeClaim: {claimName: backup-storage}` dans le gabarit de pod, monté "
            "(sans `readOnly`) dans le conteneur, par exemple sur `/backup`.")
def backup_volume_mounted(state: ClusterState) -> Verdict:
    """« un volume issu du PVC `backup-storage`, monté en écriture dans le conteneur »."""
    cron = _cronjob(state)
    if cron is None:
        return MISSING_CRON
    volumes = pod_spec(cron).get("volumes") or []
    claimed = [v.get("name") for v in volumes if (v.get("persistentVolumeClaim") or {}).get("claimName") == CLAIM]
    if not claimed:
        found = ", ".join(f"volume `{v.get('name')}` de type {_volume_source(v)}" for v in volumes) or "aucun volume"
        return failed(f"Le CronJob `{CRONJOB}` devrait déclarer un volume issu du PVC `{CLAIM}` (trouvé : "
                      f"{found}).", CRON)
    mounts = [(c.get("name"), m) for c in containers(cron) for m in c.get("volumeMounts") or []
              if m.get("name") in claimed]
    writable = [(name, m) for name, m in mounts if not m.get("readOnly")]
    if not writable:
        found = "monté en lecture seule" if mounts else "monté dans aucun conteneur"
        return failed(f"Le volume `{claimed[0]}` (PVC `{CLAIM}`) devrait être monté en écriture dans le conteneur "
                      f"de sauvegarde (trouvé : {found}).", CRON)
    container, mount = writable[0]
    return passed(f"Le conteneur `{container}` écrit ses sauvegardes sur le PVC `{CLAIM}`, monté sur "
                  f"`{mount.get('mountPath')}`.", CRON)


def _volume_source(volume: Obj) -> str:
    return next((key for key in volume if key != "name"), "?")


# --- part 2: the restore -----------------------------------------------------------------------------


@check("app-config-restored", title="La ConfigMap app-config restaurée à l'identique", category="exploitation",
       course=COURSE,
       hint="Appliquez la ConfigMap de `labs/08-sauvegarde-restauration/sauvegarde/` après l'avoir nettoyée ; "
            "ne retouchez pas ses données.")
def configmap_restored(state: ClusterState) -> Verdict:
    """« `app-config`, `app-secret` et `app` existent de nouveau dans `lab-sauvegarde`, recréés après l'étape 2, avec
    **le même contenu** qu'au moment de la préparation : mêmes données pour la ConfigMap »."""
    ref = ObjectRef("ConfigMap", CONFIGMAP)
    expected = _inventory(state, f"configmap.{CONFIGMAP}")
    if expected is None:
        return failed(f"La ConfigMap `{CONFIGMAP}` devrait être comparée à l'inventaire (trouvé : "
                      f"{NO_INVENTORY}).", ref)
    configmap = state.get("v1", "ConfigMap", CONFIGMAP)
    if configmap is None:
        return failed(f"La ConfigMap `{CONFIGMAP}` devrait être restaurée (trouvé : aucune).", ref)
    if _never_deleted(state, configmap):
        return failed(f"La ConfigMap `{CONFIGMAP}` devrait être restaurée (trouvé : {NOT_DELETED}).", ref)
    actual = configmap_digests(configmap)
    differences = _key_differences(
        missing=[k for k in expected if k not in actual],
        changed=[k for k in expected if k in actual and actual[k] != expected[k]],
        extra=[k for k in actual if k not in expected])
    if differences:
        return failed(f"La ConfigMap `{CONFIGMAP}` devrait avoir le contenu sauvegardé (trouvé : {differences}).", ref)
    return passed(f"La ConfigMap `{CONFIGMAP}` est de retour avec ses {len(expected)} clés à l'identique.", ref)


def _key_differences(missing: list[str], changed: list[str], extra: list[str]) -> str:
    parts = []
    for keys, one, many in ((missing, "clé {} absente", "clés {} absentes"),
                            (changed, "valeur de {} modifiée", "valeurs de {} modifiées"),
                            (extra, "clé {} en trop", "clés {} en trop")):
        if keys:
            parts.append((one if len(keys) == 1 else many).format(listing(sorted(keys))))
    return " ; ".join(parts)


@check("app-secret-restored", title="Le Secret app-secret restauré à l'identique", category="sécurité",
       course=COURSE,
       hint="Gardez le champ `data` de la sauvegarde tel quel (ou mettez les mêmes valeurs dans `stringData`) : "
            "un mot de passe régénéré ne correspond plus à celui de la base.")
def secret_restored(state: ClusterState) -> Verdict:
    """« existent de nouveau dans `lab-sauvegarde`, recréés après l'étape 2, avec **le même contenu** qu'au moment
    de la préparation : mêmes données pour la ConfigMap et le Secret »."""
    ref = ObjectRef("Secret", SECRET)
    recorded = _inventory(state, f"secret.{SECRET}")
    content = state.probe("secret-content")
    if recorded is None or not content.get("recorded"):
        return failed(f"Le Secret `{SECRET}` devrait être comparé à l'inventaire (trouvé : {NO_INVENTORY}).", ref)
    secret = state.get("v1", "Secret", SECRET)
    if secret is None or not content.get("present"):
        return failed(f"Le Secret `{SECRET}` devrait être restauré (trouvé : aucun).", ref)
    if _never_deleted(state, secret):
        return failed(f"Le Secret `{SECRET}` devrait être restauré (trouvé : {NOT_DELETED}).", ref)
    problems = []
    if secret.get("type", "Opaque") != recorded["type"]:
        problems.append(f"type `{secret.get('type', 'Opaque')}` au lieu de `{recorded['type']}`")
    differences = _key_differences(content["missing"], content["changed"], content["extra"])
    if differences:
        problems.append(differences)
    if problems:
        return failed(f"Le Secret `{SECRET}` devrait avoir le contenu sauvegardé (trouvé : "
                      f"{' ; '.join(problems)}).", ref)
    keys = sorted(secret_keys(secret))
    return passed(f"Le Secret `{SECRET}` est de retour avec les mêmes valeurs pour {listing(keys)} "
                  "(comparées par empreinte, jamais affichées).", ref)


@check("app-restored", title="Le Deployment app restauré à l'identique", category="exploitation", course=COURSE,
       hint="Même image, même nombre de réplicas, mêmes `envFrom`, `env` et volumes que dans la sauvegarde : "
            "ne « modernisez » rien pendant une restauration.")
def deployment_restored(state: ClusterState) -> Verdict:
    """« même image, même nombre de réplicas et mêmes références à la configuration pour le Deployment »."""
    expected = _inventory(state, f"deployment.{DEPLOYMENT}")
    if expected is None:
        return failed(f"Le Deployment `{DEPLOYMENT}` devrait être comparé à l'inventaire (trouvé : "
                      f"{NO_INVENTORY}).", APP)
    deployment = state.get("apps/v1", "Deployment", DEPLOYMENT)
    if deployment is None:
        return failed(f"Le Deployment `{DEPLOYMENT}` devrait être restauré (trouvé : aucun).", APP)
    if _never_deleted(state, deployment):
        return failed(f"Le Deployment `{DEPLOYMENT}` devrait être restauré (trouvé : {NOT_DELETED}).", APP)
    actual = deployment_facts(deployment)
    problems = []
    if actual["replicas"] != expected["replicas"]:
        problems.append(f"{expected['replicas']} réplicas (trouvé : {actual['replicas']})")
    for name, image in expected["images"].items():
        found = actual["images"].get(name)
        if found != image:
            problems.append(f"l'image `{image}` pour le conteneur `{name}` "
                            f"(trouvé : {f'`{found}`' if found else 'aucun conteneur de ce nom'})")
    missing = [r for r in expected["references"] if r not in actual["references"]]
    extra = [r for r in actual["references"] if r not in expected["references"]]
    if missing:
        problems.append(f"{'la référence' if len(missing) == 1 else 'les références'} "
                        f"{' ; '.join(f'« {r} »' for r in missing)} (trouvé : "
                        f"absente{'s' if len(missing) > 1 else ''})")
    if extra:
        problems.append(f"aucune autre référence à la configuration (trouvé : {' ; '.join(f'« {r} »' for r in extra)})")
    if problems:
        return failed(f"Le Deployment `{DEPLOYMENT}` devrait avoir le contenu sauvegardé : "
                      f"{' ; '.join(problems)}.", APP)
    images = listing(sorted(set(expected["images"].values())))
    return passed(f"Le Deployment `{DEPLOYMENT}` est de retour à l'identique : {expected['replicas']} réplicas, "
                  f"image {images}, {len(expected['references'])} références à la configuration.", APP)


@check("app-available", title="L'application restaurée est disponible", category="fiabilité", course=COURSE,
       hint="« kubectl rollout status deployment/app -n lab-sauvegarde » ; un pod en CreateContainerConfigError "
            "attend la ConfigMap ou le Secret qu'il référence.")
def app_available(state: ClusterState) -> Verdict:
    """« qui est de nouveau disponible » (ses pods trouvent la ConfigMap, le Secret et les clés qu'ils
    référencent, et sont prêts)."""
    deployment = state.get("apps/v1", "Deployment", DEPLOYMENT)
    if deployment is None:
        return failed(f"Le Deployment `{DEPLOYMENT}` devrait être restauré et disponible (trouvé : aucun).", APP)
    missing = missing_references(deployment, state.objects("v1", "ConfigMap"), state.objects("v1", "Secret"))
    if missing:
        return failed(f"Les pods du Deployment `{DEPLOYMENT}` devraient trouver la configuration qu'ils référencent, "
                      f"sinon ils ne démarrent pas (CreateContainerConfigError) (trouvé : {' ; '.join(missing)}).", APP)
    wanted = (deployment.get("spec") or {}).get("replicas", 1)
    pods = pods_of(deployment, state.objects("v1", "Pod"), state.objects("apps/v1", "ReplicaSet"))
    ready = [p for p in pods if is_ready(p)]
    if len(ready) < wanted:
        return failed(f"Le Deployment `{DEPLOYMENT}` devrait avoir {_count(wanted, 'pod prêt', 'pods prêts')} "
                      f"(trouvé : {len(ready)}).", APP, pending=True)
    return passed(f"Le Deployment `{DEPLOYMENT}` restauré a {_count(len(ready), 'pod prêt', 'pods prêts')}.", APP)
