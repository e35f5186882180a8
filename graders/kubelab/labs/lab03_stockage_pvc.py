"""Lab 03 — Stockage persistant : PostgreSQL sur un PVC.

Is the data of PostgreSQL on a claim that is really Bound, mounted at the right path, with
credentials from a Secret and a readiness probe that asks PostgreSQL itself?
"""

from __future__ import annotations

import secrets

from kubelab.checks import ObjectRef, Registry, Verdict, failed, passed
from kubelab.claims import claim_request, unbindable
from kubelab.cluster_state import CLUSTER_SCOPE, ClusterState, Read
from kubelab.credentials import secret_with_keys
from kubelab.errors import KubelabError
from kubelab.kube_api import KubeApi
from kubelab.live_probes import LiveProbeResult, exec_in_pod, live_probe
from kubelab.objects import (
    containers,
    is_image_version,
    is_ready,
    listing,
    missing_resources,
    plaintext_secrets,
    pod_spec,
    probe_command,
    secret_key_ref,
    selects,
)
from kubelab.waiting import named, wait_for

registry = Registry()
check = registry.check

READS = (
    Read("v1", "Secret"),
    Read("v1", "PersistentVolumeClaim"),
    Read("apps/v1", "StatefulSet"),
    Read("v1", "Pod"),
    Read("v1", "Service"),
    Read("v1", "PersistentVolume", CLUSTER_SCOPE),
    Read("storage.k8s.io/v1", "StorageClass", CLUSTER_SCOPE),
)

COURSE = "microk8s/stockage.md"
SECRET = "postgres-credentials"
CREDENTIALS = ("POSTGRES_USER", "POSTGRES_PASSWORD")
CLAIM = "postgres-data"
MOUNT_PATH = "/var/lib/postgresql/data"
PGDATA = "/var/lib/postgresql/data/pgdata"
IMAGE = "postgres:17"


def _statefulset(state: ClusterState) -> dict | None:
    return state.get("apps/v1", "StatefulSet", "postgres")


def _postgres_container(state: ClusterState) -> dict | None:
    sts = _statefulset(state)
    if sts is None:
        return None
    listed = containers(sts)
    return next((c for c in listed if c.get("name") == "postgres"), listed[0] if listed else None)


STS = ObjectRef("StatefulSet", "postgres")
MISSING_STS = failed("Le StatefulSet `postgres` devrait exister dans le namespace du lab (trouvé : aucun).", STS)


def _claim_name(state: ClusterState) -> tuple[str, str] | None:
    """(volume name in the pod, PVC name) of the claim mounted for the data, if any."""
    sts = _statefulset(state)
    if sts is None:
        return None
    templates = {t.get("metadata", {}).get("name") for t in sts["spec"].get("volumeClaimTemplates") or []}
    volumes = {v.get("name"): v for v in pod_spec(sts).get("volumes") or []}
    if CLAIM in templates:
        return CLAIM, f"{CLAIM}-postgres-0"
    for name, volume in volumes.items():
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim == CLAIM:
            return name, CLAIM
    return None


@check("postgres-secret-keys", title="Le Secret des identifiants", category="sécurité", course=COURSE,
       hint="Créez-le avec « kubectl create secret generic postgres-credentials --from-literal=POSTGRES_USER=… "
            "--from-literal=POSTGRES_PASSWORD=… ».")
def secret_has_keys(state: ClusterState) -> Verdict:
    return secret_with_keys(state, SECRET, CREDENTIALS)


@check("postgres-statefulset", title="Le StatefulSet PostgreSQL", category="configuration", course=COURSE,
       hint="Un StatefulSet `postgres`, `replicas: 1`, `serviceName: postgres`, image `postgres:17`.")
def statefulset_shape(state: ClusterState) -> Verdict:
    sts = _statefulset(state)
    if sts is None:
        return MISSING_STS
    container = _postgres_container(state) or {}
    image = container.get("image", "")
    replicas = sts["spec"].get("replicas", 1)
    problems = []
    if replicas != 1:
        problems.append(f"1 réplica (trouvé : {replicas})")
    if not is_image_version(image, *IMAGE.split(":")):
        problems.append(f"l'image `{IMAGE}` (trouvé : `{image or 'aucune'}`)")
    if sts["spec"].get("serviceName") != "postgres":
        problems.append(f"`serviceName: postgres` (trouvé : `{sts['spec'].get('serviceName') or 'aucun'}`)")
    if problems:
        return failed(f"Le StatefulSet `postgres` devrait avoir {' ; '.join(problems)}.", STS)
    return passed(f"Le StatefulSet `postgres` a 1 réplica avec l'image `{image}`.", STS)


@check("postgres-env-from-secret", title="Identifiants lus dans le Secret", category="sécurité", course=COURSE,
       related=("kubescape:C-0012",),
       hint="Dans `env`, utilisez `valueFrom.secretKeyRef` (name: postgres-credentials) ou `envFrom.secretRef`.")
def env_from_secret(state: ClusterState) -> Verdict:
    container = _postgres_container(state)
    if container is None:
        return MISSING_STS
    wrong = [name for name in CREDENTIALS if (secret_key_ref(container, name) or ("", ""))[0] != SECRET]
    if wrong:
        subject = f"La variable {listing(wrong)} du conteneur devrait" if len(wrong) == 1 else \
            f"Les variables {listing(wrong)} du conteneur devraient"
        return failed(f"{subject} venir du Secret `{SECRET}` (trouvé : valeur en clair ou autre source).", STS)
    return passed(f"`POSTGRES_USER` et `POSTGRES_PASSWORD` viennent du Secret `{SECRET}`.", STS)


@check("postgres-no-plaintext-password", title="Aucun mot de passe en clair", category="sécurité", course=COURSE,
       related=("kubescape:C-0012", "kube-linter:env-var-secret"),
       hint="Supprimez tout `value:` de variable de mot de passe ; lisez-la dans le Secret.")
def no_plaintext(state: ClusterState) -> Verdict:
    sts = _statefulset(state)
    if sts is None:
        return MISSING_STS
    leaked = [name for c in containers(sts) for name in plaintext_secrets(c)]
    if leaked:
        return failed("Le StatefulSet `postgres` ne devrait contenir aucun secret en clair (trouvé : "
                      f"{listing(leaked)}).", STS)
    return passed("Le StatefulSet `postgres` ne contient aucun secret en clair.", STS)


@check("postgres-pgdata-subfolder", title="PGDATA dans un sous-dossier", category="stockage", course=COURSE,
       hint=f"Ajoutez la variable `PGDATA` avec la valeur `{PGDATA}`.")
def pgdata(state: ClusterState) -> Verdict:
    container = _postgres_container(state)
    if container is None:
        return MISSING_STS
    value = next((e.get("value") for e in container.get("env") or [] if e.get("name") == "PGDATA"), None)
    if value != PGDATA:
        return failed(f"La variable `PGDATA` devrait valoir `{PGDATA}` (trouvé : `{value or 'absente'}`).", STS)
    return passed(f"`PGDATA` vaut `{PGDATA}`.", STS)


@check("postgres-data-mounted", title="Le volume persistant est monté", category="stockage", course=COURSE,
       hint=f"Montez le volume du PVC `{CLAIM}` (ou du volumeClaimTemplate `{CLAIM}`) sur `{MOUNT_PATH}`.")
def data_mounted(state: ClusterState) -> Verdict:
    container = _postgres_container(state)
    if container is None:
        return MISSING_STS
    claim = _claim_name(state)
    if claim is None:
        return failed(f"Le StatefulSet `postgres` devrait déclarer le volume persistant `{CLAIM}` "
                      "(PVC ou volumeClaimTemplate ; trouvé : aucun).", STS)
    mounts = {m.get("name"): m.get("mountPath") for m in container.get("volumeMounts") or []}
    where = mounts.get(claim[0])
    if where != MOUNT_PATH:
        return failed(f"Le volume `{claim[0]}` devrait être monté sur `{MOUNT_PATH}` (trouvé : "
                      f"`{where or 'non monté'}`).", STS)
    return passed(f"Le volume `{claim[0]}` (PVC `{claim[1]}`) est monté sur `{MOUNT_PATH}`.", STS)


@check("postgres-claim-spec", title="La demande de volume", category="stockage", course=COURSE,
       hint="Classe par défaut (`microk8s-hostpath`, ou pas de storageClassName), `ReadWriteOnce`, au moins `1Gi`.")
def claim_spec(state: ClusterState) -> Verdict:
    claim = _claim_name(state)
    if claim is None:
        return failed(f"Le volume persistant `{CLAIM}` devrait être demandé (trouvé : aucun).", STS)
    pvc = state.get("v1", "PersistentVolumeClaim", claim[1])
    ref = ObjectRef("PersistentVolumeClaim", claim[1])
    if pvc is None:
        return failed(f"Le PVC `{claim[1]}` devrait exister (trouvé : aucun).", ref, STS, pending=True)
    return claim_request(state, pvc)


@check("postgres-claim-bound", title="Le PVC est lié à un PV", category="stockage", course=COURSE,
       hint="Un PVC en WaitForFirstConsumer reste Pending tant qu'aucun pod ne l'utilise ; « kubectl describe pvc » "
            "montre pourquoi.")
def claim_bound(state: ClusterState) -> Verdict:
    claim = _claim_name(state)
    if claim is None:
        return failed(f"Le volume persistant `{CLAIM}` devrait être demandé (trouvé : aucun).", STS)
    pvc = state.get("v1", "PersistentVolumeClaim", claim[1])
    ref = ObjectRef("PersistentVolumeClaim", claim[1])
    phase = (pvc or {}).get("status", {}).get("phase", "absent")
    stuck = unbindable(state, pvc) if pvc is not None and phase != "Bound" else None
    if stuck is not None:
        return failed(f"Le PVC `{claim[1]}` devrait être Bound (trouvé : {phase} ; {stuck[0]}).", ref, hint=stuck[1])
    if pvc is None or phase != "Bound":
        return failed(f"Le PVC `{claim[1]}` devrait être Bound (trouvé : {phase}).", ref, pending=True)
    volume = pvc["spec"].get("volumeName", "")
    pv = state.get("v1", "PersistentVolume", volume, CLUSTER_SCOPE)
    if pv is None:
        return failed(f"Le PV `{volume}` lié au PVC `{claim[1]}` devrait exister (trouvé : aucun).", ref)
    policy = pv["spec"].get("persistentVolumeReclaimPolicy", "?")
    return passed(f"Le PVC `{claim[1]}` est Bound au PV `{volume}` (politique de récupération : {policy}).", ref)


@check("postgres-readiness-pg-isready", title="Sonde de disponibilité pg_isready", category="fiabilité",
       course=COURSE, related=("polaris:readinessProbeMissing", "kube-score:container-readiness-probe"),
       hint="`readinessProbe.exec.command: [\"pg_isready\", \"-U\", \"$(POSTGRES_USER)\"]`.")
def readiness(state: ClusterState) -> Verdict:
    container = _postgres_container(state)
    if container is None:
        return MISSING_STS
    probe = container.get("readinessProbe")
    command = " ".join(probe_command(probe))
    if "pg_isready" not in command:
        found = f"`{command}`" if command else ("une sonde sans exec" if probe else "aucune sonde")
        return failed(f"La readinessProbe du conteneur devrait lancer `pg_isready` (trouvé : {found}).", STS)
    return passed(f"La readinessProbe lance `{command}`.", STS)


@check("postgres-resources", title="Requests et limits", category="fiabilité", course=COURSE,
       related=("polaris:cpuRequestsMissing", "polaris:memoryLimitsMissing", "kube-score:container-resources"),
       hint="`resources.requests` et `resources.limits` pour `cpu` et `memory`.")
def resources(state: ClusterState) -> Verdict:
    container = _postgres_container(state)
    if container is None:
        return MISSING_STS
    missing = missing_resources(container)
    if missing:
        return failed(f"Le conteneur devrait déclarer {listing(missing)} (trouvé : absent).", STS)
    return passed("Le conteneur déclare ses requests et ses limits de CPU et de mémoire.", STS)


@check("postgres-pod-ready", title="Le pod est prêt et monte le PVC", category="fiabilité", course=COURSE,
       hint="« kubectl describe pod postgres-0 » : les événements disent ce qui bloque (planification, volume, sonde).")
def pod_ready(state: ClusterState) -> Verdict:
    pod = state.get("v1", "Pod", "postgres-0")
    ref = ObjectRef("Pod", "postgres-0")
    if pod is None:
        return failed("Le pod `postgres-0` devrait exister (trouvé : aucun).", STS,
                      pending=_statefulset(state) is not None)
    claim = _claim_name(state)
    claims = [(v.get("persistentVolumeClaim") or {}).get("claimName") for v in pod["spec"].get("volumes") or []]
    if claim is None or claim[1] not in claims:
        return failed(f"Le pod `postgres-0` devrait monter le PVC `{CLAIM}` (trouvé : "
                      f"{listing(c for c in claims if c) or 'aucun PVC'}).", ref)
    if not is_ready(pod):
        phase = pod.get("status", {}).get("phase", "?")
        return failed(f"Le pod `postgres-0` devrait être prêt (trouvé : {phase}, non prêt).", ref, pending=True)
    return passed(f"Le pod `postgres-0` est prêt et monte le PVC `{claim[1]}`.", ref)


@check("postgres-service", title="Le Service postgres", category="réseau", course=COURSE,
       hint="Un Service `postgres`, port 5432, dont le sélecteur reprend les labels du pod.")
def service(state: ClusterState) -> Verdict:
    svc = state.get("v1", "Service", "postgres")
    ref = ObjectRef("Service", "postgres")
    if svc is None:
        return failed("Le Service `postgres` devrait exister (trouvé : aucun).", ref)
    ports = [p.get("port") for p in svc["spec"].get("ports") or []]
    if 5432 not in ports:
        return failed(f"Le Service `postgres` devrait exposer le port 5432 (trouvé : {ports or 'aucun'}).", ref)
    pod = state.get("v1", "Pod", "postgres-0")
    selector = svc["spec"].get("selector") or {}
    if pod is None:
        return failed("Le Service `postgres` devrait avoir le pod `postgres-0` derrière lui (trouvé : aucun pod).",
                      ref, pending=_statefulset(state) is not None)
    if not selects(selector, pod["metadata"].get("labels") or {}):
        shown = ", ".join(f"{k}={v}" for k, v in selector.items()) or "aucun"
        return failed("Le sélecteur du Service `postgres` devrait choisir le pod `postgres-0` (sélecteur : "
                      f"{shown}).", ref)
    return passed("Le Service `postgres` expose le port 5432 vers le pod `postgres-0`.", ref)


# --- live probe (real cluster only, opt-in with --allow-probes, not scored) ------------------------

PROBE_TABLE = "kubelab_persistance"
POD = "postgres-0"


def psql(sql: str) -> list[str]:
    """A shell command running ``sql`` with psql inside the postgres container, credentials from its env."""
    return ["sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -tA '
                        f'-c "{sql}"']


def psql_rows(output: str) -> list[str]:
    """The rows printed by ``psql -tA`` (unaligned, no header), blank lines dropped."""
    return [line.strip() for line in output.splitlines() if line.strip()]


def _run_sql(api: KubeApi, namespace: str, container: str, sql: str) -> list[str]:
    code, out, err = exec_in_pod(api, namespace, POD, container, psql(sql))
    if code != 0:
        raise KubelabError(f"psql a échoué dans « {POD} » (code {code}) : {(err or out).strip()[:200]}")
    return psql_rows(out)


@live_probe("persistance")
def persistence(api: KubeApi, namespace: str) -> list[LiveProbeResult]:
    """Write a marker with psql, delete `postgres-0`, read the marker back from the new pod, drop the table."""
    title = "persistance"
    pod = api.get("v1", "Pod", POD, namespace)
    if pod is None or not is_ready(pod):
        return [LiveProbeResult(title, None, f"non exécutée : le pod `{POD}` n'est pas prêt, rien n'a été modifié.")]
    names = [c.get("name") for c in pod["spec"].get("containers") or []]
    container = "postgres" if "postgres" in names else names[0]
    marker = f"kubelab-{secrets.token_hex(6)}"
    _run_sql(api, namespace, container, f"CREATE TABLE IF NOT EXISTS {PROBE_TABLE} (marker text); "
                                        f"INSERT INTO {PROBE_TABLE} VALUES ('{marker}');")
    old_uid = pod["metadata"]["uid"]
    try:
        api.delete("v1", "Pod", POD, namespace)
        wait_for(api, "v1", "Pod", named(POD, lambda p: p["metadata"]["uid"] != old_uid and is_ready(p)
                                         and not p["metadata"].get("deletionTimestamp")),
                 namespace=namespace, timeout="live_restart", what=f"le nouveau pod `{POD}` prêt")
        exists = _run_sql(api, namespace, container, f"SELECT to_regclass('{PROBE_TABLE}') IS NOT NULL;") == ["t"]
        rows = (_run_sql(api, namespace, container, f"SELECT marker FROM {PROBE_TABLE};") if exists
                else ["(table absente)"])
        if exists:
            _run_sql(api, namespace, container, f"DROP TABLE {PROBE_TABLE};")
    except KubelabError as exc:
        raise type(exc)(f"{exc.message} ; la table `{PROBE_TABLE}` écrite par la sonde peut rester "
                        f"(à supprimer : DROP TABLE {PROBE_TABLE};)") from exc
    if marker in rows:
        return [LiveProbeResult(title, True, "la donnée écrite a survécu au redémarrage du pod "
                                             f"(marqueur « {marker} » relu dans la table `{PROBE_TABLE}`, supprimée "
                                             "ensuite).")]
    return [LiveProbeResult(title, False, f"le marqueur « {marker} » écrit avant la suppression du pod devrait "
                                          "être relu "
                                          f"(trouvé : {', '.join(rows) or 'aucune ligne'}) : les données ne sont pas "
                                          "sur le volume persistant.")]


LIVE_PROBES = (persistence,)
