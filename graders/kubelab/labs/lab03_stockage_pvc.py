"""Lab 03 — Stockage persistant : PostgreSQL sur un PVC.

Is the data of PostgreSQL on a claim that is really Bound, mounted at the right path, with
credentials from a Secret and a readiness probe that asks PostgreSQL itself?

The data claim is the persistent volume (a ``volumeClaimTemplate`` or a ``persistentVolumeClaim``
volume) that the PostgreSQL container mounts at `/var/lib/postgresql/data`, else the one called
`postgres-data`, else the only one: its name is the business of ``postgres-claim-spec`` alone,
so a template called `data` costs that check and not every check about the claim.

Statement → check:

- « Le Secret `postgres-credentials` existe avec les clés `POSTGRES_USER` et `POSTGRES_PASSWORD` »
  → ``postgres-secret-keys``;
- « Le StatefulSet `postgres` a 1 réplica, utilise l'image `postgres:17` » (and ``serviceName``)
  → ``postgres-statefulset``;
- « lit les deux variables dans le Secret » → ``postgres-env-from-secret`` (the keys it reads exist);
- « ne contient aucun mot de passe en clair » (« le mot de passe n'apparaisse dans aucun fichier »:
  ``env``, ConfigMaps, commands, probes, annotations) → ``postgres-no-plaintext-password``;
- « `PGDATA` vaut `/var/lib/postgresql/data/pgdata` » → ``postgres-pgdata-subfolder``;
- « un volume persistant est monté sur `/var/lib/postgresql/data` » → ``postgres-data-mounted``;
- « Le volume est demandé par le PVC `postgres-data` ou par le `volumeClaimTemplate`
  `postgres-data`, sur la StorageClass par défaut, en `ReadWriteOnce` … avec au moins `1Gi` »
  → ``postgres-claim-spec``; « et le PVC est `Bound` » → ``postgres-claim-bound``;
- « la `readinessProbe` lance `pg_isready` » → ``postgres-readiness-pg-isready``;
- « le conteneur a des requests et des limits » → ``postgres-resources``;
- « Le pod `postgres-0` est prêt » (and nothing would keep it from starting) → ``postgres-pod-ready``;
- « le Service `postgres` expose le port 5432 vers lui » → ``postgres-service``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from kubelab.checks import ObjectRef, Registry, Verdict, failed, passed
from kubelab.claims import claim_request, unbindable
from kubelab.cluster_state import CLUSTER_SCOPE, ClusterState, Read
from kubelab.credentials import plaintext_findings, secret_with_keys
from kubelab.errors import KubelabError
from kubelab.kube_api import KubeApi
from kubelab.live_probes import LiveProbeResult, exec_in_pod, live_probe
from kubelab.objects import (
    containers,
    is_image_version,
    is_ready,
    listing,
    missing_resources,
    pod_spec,
    probe_command,
    selects,
)
from kubelab.references import keys_of, variable_source
from kubelab.startup import startup_problems, state_lookup
from kubelab.waiting import named, wait_for

registry = Registry()
check = registry.check

READS = (
    Read("v1", "Secret"),
    Read("v1", "ConfigMap"),
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
PORT = 5432
SHELLS = ("sh", "bash", "ash", "dash")


def _statefulset(state: ClusterState) -> dict | None:
    return state.get("apps/v1", "StatefulSet", "postgres")


def _postgres_container(state: ClusterState) -> dict | None:
    """The PostgreSQL container: the one called `postgres`, else the one running a postgres image, else the first."""
    sts = _statefulset(state)
    if sts is None:
        return None
    listed = containers(sts)
    return next((c for c in listed if c.get("name") == "postgres"),
                next((c for c in listed if "postgres" in c.get("image", "").rsplit("/", 1)[-1].split(":")[0]),
                     listed[0] if listed else None))


STS = ObjectRef("StatefulSet", "postgres")
MISSING_STS = failed("Le StatefulSet `postgres` devrait exister dans le namespace du lab (trouvé : aucun).", STS)


@dataclass(frozen=True)
class DataClaim:
    """A persistent volume of the StatefulSet: its volume name, its PVC (for `postgres-0`), where from."""

    volume: str
    claim: str
    template: bool

    @property
    def declared(self) -> str:
        """« volumeClaimTemplate `data` » or « PVC `data` »: the name the learner wrote."""
        return f"volumeClaimTemplate `{self.volume}`" if self.template else f"PVC `{self.claim}`"

    @property
    def name(self) -> str:
        return self.volume if self.template else self.claim


def _persistent_volumes(sts: dict) -> list[DataClaim]:
    """The StatefulSet's persistent volumes: claim templates, then ``persistentVolumeClaim`` volumes."""
    found = [DataClaim(t.get("metadata", {}).get("name", ""), f"{t.get('metadata', {}).get('name', '')}-postgres-0",
                       True) for t in (sts.get("spec") or {}).get("volumeClaimTemplates") or []]
    found += [DataClaim(v.get("name", ""), v["persistentVolumeClaim"].get("claimName", ""), False)
              for v in pod_spec(sts).get("volumes") or [] if (v.get("persistentVolumeClaim") or {}).get("claimName")]
    return found


def _mount_of(container: dict, volume: str) -> str | None:
    return next((m.get("mountPath") for m in container.get("volumeMounts") or [] if m.get("name") == volume), None)


def _data_claim(state: ClusterState) -> DataClaim | None:
    """The claim of PostgreSQL's data: mounted at the data path, else named `postgres-data`, else the only one."""
    sts = _statefulset(state)
    if sts is None:
        return None
    claims = _persistent_volumes(sts)
    container = _postgres_container(state) or {}
    at_path = [c for c in claims if (_mount_of(container, c.volume) or "").rstrip("/") == MOUNT_PATH]
    named_so = [c for c in claims if c.name == CLAIM]
    return next(iter(at_path or named_so or (claims if len(claims) == 1 else [])), None)


def _credentials(state: ClusterState) -> str:
    """The credentials Secret: `postgres-credentials`, else the Secret the container reads its password
    from, when that one exists. So a Secret named otherwise, and used so, costs ``postgres-secret-keys`` only."""
    if state.get("v1", "Secret", SECRET) is not None:
        return SECRET
    container = _postgres_container(state)
    source = variable_source(container, "POSTGRES_PASSWORD", state_lookup(state)) if container else None
    if source is not None and source.kind == "Secret" and state.get("v1", "Secret", source.name) is not None:
        return source.name
    return SECRET


@check("postgres-secret-keys", title="Le Secret des identifiants", category="sécurité", course=COURSE,
       hint="Créez-le avec « kubectl create secret generic postgres-credentials --from-literal=POSTGRES_USER=… "
            "--from-literal=POSTGRES_PASSWORD=… ».")
def secret_has_keys(state: ClusterState) -> Verdict:
    used = _credentials(state)
    if used != SECRET:
        return failed(f"Le Secret `{SECRET}` devrait exister avec les clés {listing(CREDENTIALS)} (trouvé : aucun ; le "
                      f"StatefulSet lit ses identifiants dans le Secret `{used}`).", ObjectRef("Secret", SECRET))
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
       hint="Dans `env`, utilisez `valueFrom.secretKeyRef` (name: postgres-credentials) ou `envFrom.secretRef`, "
            "avec des clés que le Secret contient (« kubectl describe secret postgres-credentials »).")
def env_from_secret(state: ClusterState) -> Verdict:
    container = _postgres_container(state)
    if container is None:
        return MISSING_STS
    lookup = state_lookup(state)
    name_used = _credentials(state)
    secret = state.get("v1", "Secret", name_used)
    wrong: dict[str, str] = {}
    for name in CREDENTIALS:
        source = variable_source(container, name, lookup)
        if source is None or source.kind != "Secret" or source.name != name_used:
            wrong[name] = "absente" if source is None else {
                "value": "valeur en clair", "ConfigMap": f"lue dans la ConfigMap `{source.name}`",
                "Secret": f"lue dans le Secret `{source.name}`"}.get(source.kind, "autre source")
        elif secret is not None and source.key not in keys_of(secret):
            wrong[name] = f"lue dans la clé `{source.key}`, que le Secret n'a pas"
    if wrong:
        subject = "La variable" if len(wrong) == 1 else "Les variables"
        verb = "devrait" if len(wrong) == 1 else "devraient"
        found = " ; ".join(f"`{name}` {how}" for name, how in wrong.items())
        return failed(f"{subject} {listing(wrong)} du conteneur {verb} venir du Secret `{name_used}` "
                      f"(trouvé : {found}).", STS)
    return passed(f"`POSTGRES_USER` et `POSTGRES_PASSWORD` viennent du Secret `{name_used}`.", STS)


@check("postgres-no-plaintext-password", title="Aucun mot de passe en clair", category="sécurité", course=COURSE,
       related=("kubescape:C-0012", "kube-linter:env-var-secret"),
       hint="Le mot de passe ne va que dans le Secret : ni `value:` de variable, ni ConfigMap, ni commande ou sonde, "
            "ni annotation.")
def no_plaintext(state: ClusterState) -> Verdict:
    sts = _statefulset(state)
    if sts is None:
        return MISSING_STS
    leaked = plaintext_findings(sts, state_lookup(state))
    if leaked:
        return failed("Le StatefulSet `postgres` ne devrait contenir aucun secret en clair "
                      f"(trouvé : {' ; '.join(leaked)}).", STS)
    return passed("Le StatefulSet `postgres` ne contient aucun secret en clair : ni variable, ni ConfigMap, ni "
                  "commande, ni annotation.", STS)


@check("postgres-pgdata-subfolder", title="PGDATA dans un sous-dossier", category="stockage", course=COURSE,
       hint=f"Ajoutez la variable `PGDATA` avec la valeur `{PGDATA}`.")
def pgdata(state: ClusterState) -> Verdict:
    container = _postgres_container(state)
    if container is None:
        return MISSING_STS
    value = next((e.get("value") for e in container.get("env") or [] if e.get("name") == "PGDATA"), None)
    if value is None or value.rstrip("/") != PGDATA:
        return failed(f"La variable `PGDATA` devrait valoir `{PGDATA}` (trouvé : `{value or 'absente'}`).", STS)
    return passed(f"`PGDATA` vaut `{PGDATA}`.", STS)


@check("postgres-data-mounted", title="Le volume persistant est monté", category="stockage", course=COURSE,
       hint=f"Montez le volume du PVC `{CLAIM}` (ou du volumeClaimTemplate `{CLAIM}`) sur `{MOUNT_PATH}`.")
def data_mounted(state: ClusterState) -> Verdict:
    container = _postgres_container(state)
    if container is None:
        return MISSING_STS
    claim = _data_claim(state)
    if claim is None:
        at_path = next((m.get("name") for m in container.get("volumeMounts") or []
                        if (m.get("mountPath") or "").rstrip("/") == MOUNT_PATH), None)
        found = f"le volume `{at_path}` monté là n'est pas persistant" if at_path else "aucun volume persistant"
        return failed(f"Le StatefulSet `postgres` devrait monter un volume persistant (PVC ou volumeClaimTemplate) "
                      f"sur `{MOUNT_PATH}` (trouvé : {found}).", STS)
    where = _mount_of(container, claim.volume)
    if (where or "").rstrip("/") != MOUNT_PATH:
        return failed(f"Le volume `{claim.volume}` devrait être monté sur `{MOUNT_PATH}` "
                      f"(trouvé : {f'`{where}`' if where else 'non monté'}).", STS)
    return passed(f"Le volume `{claim.volume}` (PVC `{claim.claim}`) est monté sur `{MOUNT_PATH}`.", STS)


@check("postgres-claim-spec", title="La demande de volume", category="stockage", course=COURSE,
       hint="Un PVC `postgres-data` (ou un volumeClaimTemplate `postgres-data`) sur la classe par défaut "
            "(« kubectl get storageclass », ou pas de storageClassName), `ReadWriteOnce`, au moins `1Gi`.")
def claim_spec(state: ClusterState) -> Verdict:
    claim = _data_claim(state)
    if claim is None:
        return failed(f"Le volume persistant `{CLAIM}` devrait être demandé (trouvé : aucun).", STS)
    ref = ObjectRef("PersistentVolumeClaim", claim.claim)
    if claim.name != CLAIM:
        return failed(f"Le volume persistant devrait s'appeler `{CLAIM}` (PVC `{CLAIM}` ou volumeClaimTemplate "
                      f"`{CLAIM}` ; trouvé : {claim.declared}).", ref, STS)
    pvc = state.get("v1", "PersistentVolumeClaim", claim.claim)
    if pvc is None:
        if claim.template:
            template = next(t for t in _statefulset(state)["spec"]["volumeClaimTemplates"]  # type: ignore[index]
                            if t.get("metadata", {}).get("name") == claim.volume)
            return claim_request(state, {"metadata": {"name": claim.claim}, "spec": template.get("spec") or {}})
        return failed(f"Le PVC `{claim.claim}` devrait exister (trouvé : aucun).", ref, STS)
    return claim_request(state, pvc)


@check("postgres-claim-bound", title="Le PVC est lié à un PV", category="stockage", course=COURSE,
       hint="Un PVC en WaitForFirstConsumer reste Pending tant qu'aucun pod ne l'utilise ; « kubectl describe pvc » "
            "montre pourquoi.")
def claim_bound(state: ClusterState) -> Verdict:
    claim = _data_claim(state)
    if claim is None:
        return failed(f"Le volume persistant `{CLAIM}` devrait être demandé (trouvé : aucun).", STS)
    pvc = state.get("v1", "PersistentVolumeClaim", claim.claim)
    ref = ObjectRef("PersistentVolumeClaim", claim.claim)
    phase = (pvc or {}).get("status", {}).get("phase", "absent")
    stuck = unbindable(state, pvc) if pvc is not None and phase != "Bound" else None
    if stuck is not None:
        return failed(f"Le PVC `{claim.claim}` devrait être Bound (trouvé : {phase} ; {stuck[0]}).", ref, hint=stuck[1])
    if pvc is None or phase != "Bound":
        return failed(f"Le PVC `{claim.claim}` devrait être Bound (trouvé : {phase}).", ref, pending=True)
    volume = pvc["spec"].get("volumeName", "")
    pv = state.get("v1", "PersistentVolume", volume, CLUSTER_SCOPE)
    if pv is None:
        return failed(f"Le PV `{volume}` lié au PVC `{claim.claim}` devrait exister (trouvé : aucun).", ref)
    policy = pv["spec"].get("persistentVolumeReclaimPolicy", "?")
    return passed(f"Le PVC `{claim.claim}` est Bound au PV `{volume}` (politique de récupération : {policy}).", ref)


def _runs_pg_isready(command: list[str]) -> bool:
    """Does an exec probe's argv run ``pg_isready``: as the program, or inside a shell's script?"""
    if not command:
        return False
    program = command[0].rsplit("/", 1)[-1]
    if program == "pg_isready":
        return True
    return program in SHELLS and "-c" in command[1:-1] and "pg_isready" in command[-1]


@check("postgres-readiness-pg-isready", title="Sonde de disponibilité pg_isready", category="fiabilité",
       course=COURSE, related=("polaris:readinessProbeMissing", "kube-score:container-readiness-probe"),
       hint="`readinessProbe.exec.command: [\"pg_isready\", \"-U\", \"app\"]` : chaque argument est un élément de "
            "la liste (sans shell, `[\"pg_isready -U app\"]` chercherait un programme de ce nom).")
def readiness(state: ClusterState) -> Verdict:
    container = _postgres_container(state)
    if container is None:
        return MISSING_STS
    probe = container.get("readinessProbe")
    argv = probe_command(probe)
    command = " ".join(argv)
    if not _runs_pg_isready(argv):
        if "pg_isready" in command:
            found = f"`{argv[0]}` lancé comme un seul programme, qui n'existe pas" if len(argv) == 1 else f"`{command}`"
        else:
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
       hint="« kubectl describe pod postgres-0 » : les événements disent ce qui bloque (planification, volume, "
            "Secret, sonde).")
def pod_ready(state: ClusterState) -> Verdict:
    sts = _statefulset(state)
    pod = state.get("v1", "Pod", "postgres-0")
    ref = ObjectRef("Pod", "postgres-0")
    if sts is not None:
        blockers = startup_problems(sts, state_lookup(state))
        if blockers:
            return failed(f"Le pod `postgres-0` devrait être prêt (trouvé : il ne peut pas démarrer : "
                          f"{' ; '.join(blockers)}).", STS)
    if pod is None:
        return failed("Le pod `postgres-0` devrait exister (trouvé : aucun).", STS, pending=sts is not None)
    claim = _data_claim(state)
    claims = [(v.get("persistentVolumeClaim") or {}).get("claimName") for v in pod["spec"].get("volumes") or []]
    if claim is None or claim.claim not in claims:
        wanted = claim.claim if claim else CLAIM
        return failed(f"Le pod `postgres-0` devrait monter le PVC `{wanted}` "
                      f"(trouvé : {listing(c for c in claims if c) or 'aucun PVC'}).", ref)
    if not is_ready(pod):
        phase = pod.get("status", {}).get("phase", "?")
        return failed(f"Le pod `postgres-0` devrait être prêt (trouvé : {phase}, non prêt).", ref, pending=True)
    return passed(f"Le pod `postgres-0` est prêt et monte le PVC `{claim.claim}`.", ref)


def _target_number(service_port: dict, pod: dict) -> int | None:
    """The pod port a Service port sends to: ``targetPort`` (a number, or a port name of the pod), else ``port``."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    return next((p.get("containerPort") for c in containers(pod) for p in c.get("ports") or []
                 if p.get("name") == target), None)


@check("postgres-service", title="Le Service postgres", category="réseau", course=COURSE,
       hint="Un Service `postgres`, port 5432, dont le sélecteur reprend les labels du pod et dont le `targetPort` "
            "est le port où PostgreSQL écoute (5432, ou le nom que le conteneur donne à ce port).")
def service(state: ClusterState) -> Verdict:
    svc = state.get("v1", "Service", "postgres")
    ref = ObjectRef("Service", "postgres")
    if svc is None:
        return failed("Le Service `postgres` devrait exister (trouvé : aucun).", ref)
    ports = [p for p in svc["spec"].get("ports") or [] if p.get("port") == PORT]
    if not ports:
        found = [p.get("port") for p in svc["spec"].get("ports") or []]
        return failed(f"Le Service `postgres` devrait exposer le port {PORT} (trouvé : {found or 'aucun'}).", ref)
    pod = state.get("v1", "Pod", "postgres-0")
    selector = svc["spec"].get("selector") or {}
    if pod is None:
        return failed("Le Service `postgres` devrait avoir le pod `postgres-0` derrière lui (trouvé : aucun pod).",
                      ref, pending=_statefulset(state) is not None)
    if not selects(selector, pod["metadata"].get("labels") or {}):
        shown = ", ".join(f"{k}={v}" for k, v in selector.items()) or "aucun"
        return failed("Le sélecteur du Service `postgres` devrait choisir le pod `postgres-0` (sélecteur : "
                      f"{shown}).", ref)
    target = _target_number(ports[0], pod)
    if target != PORT:
        written = ports[0].get("targetPort", ports[0].get("port"))
        shown = f"`targetPort: {written}`" + ("" if target is not None or not isinstance(written, str)
                                               else ", un nom de port que le conteneur ne déclare pas")
        return failed(f"Le port {PORT} du Service `postgres` devrait mener au port {PORT} de PostgreSQL dans le pod "
                      f"(trouvé : {shown}).", ref)
    return passed(f"Le Service `postgres` expose le port {PORT} vers le port {PORT} du pod `postgres-0`.", ref)


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
