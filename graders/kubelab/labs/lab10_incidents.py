"""Lab 10 — Incidents réels.

``kubelab lab setup`` deploys an application broken five ways (``labs/10-incidents/setup/``);
each check says whether one incident is resolved and, when not, which symptom remains:

- ``api`` crash-loops (a missing variable; on the sandbox, the ``crash-unless-env`` marker);
- ``worker`` cannot pull its image (a registry under ``.invalid``, which fails everywhere);
- the claim ``uploads`` is Pending on a StorageClass that does not exist;
- the Service ``web`` selects no pod (a typo in its selector);
- the Ingress ``web`` targets a port the Service does not expose (the container's).

A PVC's class is immutable and a folder of manifests cannot delete, so the storage check
follows the claim the Deployment ``files`` mounts in its volume ``uploads``: ``uploads``
deleted and recreated on a class that exists, or a new claim (the reference solution's
``uploads-v2``). Either way, that claim must be Bound on a StorageClass that exists.

Pods are judged on the Deployment's current ReplicaSet only: while a rollout replaces
crashing pods the verdict is pending, so a fix is never failed for the pods it replaces. A pod
counts as ready once it has been Ready for 5 s when the state was read (a container that exits at
once looks Ready until the kubelet sees it stop; pending meanwhile). A
template whose pods could not start on a real cluster (a ConfigMap key that does not exist…)
fails at once, even on the sandbox, where the pods would look ready.

Statement → check:

- « `api` (incident 1) : le Deployment a au moins un réplica, … les pods de son ReplicaSet
  courant sont tous prêts, aucun en `CrashLoopBackOff` » → ``api-pods-ready``;
- « `worker` (incident 2) : les pods de son ReplicaSet courant ont pu tirer leur image … et sont
  tous prêts » → ``worker-image-pulled``;
- « Stockage (incident 3) : le PVC que monte le volume `uploads` du Deployment `files` … existe et
  il est `Bound` sur une StorageClass qui existe » → ``uploads-claim-bound``;
- « Service `web` (incident 4) : son sélecteur désigne des pods prêts du Deployment `web`, et
  seulement eux » → ``web-service-selects-web-pods``;
- « Service `web` : chaque `targetPort` correspond à un port du conteneur de `web` » →
  ``web-service-target-port``;
- « Ingress `web` (incident 5) : chaque backend vise le Service `web` sur un port que ce Service
  expose » → ``web-ingress-backend-port``.
"""

from __future__ import annotations

from kubelab.checks import ObjectRef, Registry, Verdict, failed, passed
from kubelab.cluster_state import CLUSTER_SCOPE, ClusterState, Read
from kubelab.objects import (
    containers,
    default_storage_class,
    is_ready,
    labels_of,
    listing,
    name_of,
    owned_by,
    pod_spec,
    pod_template,
    pods_of,
    ready_since,
    selects,
)
from kubelab.ports import (
    container_ports,
    declared_ports,
    ingress_backends,
    port_text,
    service_port,
    shown_ports,
    target_of,
)
from kubelab.startup import startup_problems, state_lookup

registry = Registry()
check = registry.check

READS = (
    Read("apps/v1", "Deployment"),
    Read("v1", "ConfigMap"),
    Read("v1", "Secret"),
    Read("apps/v1", "ReplicaSet"),
    Read("v1", "Pod"),
    Read("v1", "PersistentVolumeClaim"),
    Read("v1", "Service"),
    Read("networking.k8s.io/v1", "Ingress"),
    Read("storage.k8s.io/v1", "StorageClass", CLUSTER_SCOPE),
)

COURSE = "onprem/architecture.md#quand-un-flux-casse-diagnostiquer"
REVISION = "deployment.kubernetes.io/revision"
IMAGE_PULL = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
STUCK = ("CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError", "RunContainerError", *IMAGE_PULL)
VOLUME = "uploads"
STEADY_SECONDS = 5
"""A pod counts as ready once Ready for this long: without a readiness probe, a container that exits at
once is Ready for the moment the kubelet takes to see it stop (seconds, on a loaded node)."""

Obj = dict


def _plural(count: int, words: str) -> str:
    """``1 pod prêt``, ``2 pods prêts``: every word of ``words`` agrees with ``count``."""
    suffix = "s" if count > 1 else ""
    return " ".join([str(count), *(f"{word}{suffix}" for word in words.split())])


def _deployment(state: ClusterState, name: str) -> Obj | None:
    return state.get("apps/v1", "Deployment", name)


def _missing(name: str) -> Verdict:
    return failed(f"Le Deployment `{name}` devrait exister dans le namespace du lab (trouvé : aucun) : relancez "
                  "« kubelab lab setup 10-incidents ».", ObjectRef("Deployment", name))


def _rollout(state: ClusterState, deployment: Obj) -> tuple[list[Obj], list[Obj], bool]:
    """(pods of the current ReplicaSet, other pods, whether the controller saw the last change)."""
    sets = [rs for rs in state.objects("apps/v1", "ReplicaSet") if owned_by(rs, deployment)]
    revision = (deployment["metadata"].get("annotations") or {}).get(REVISION)
    current = [rs for rs in sets if (rs["metadata"].get("annotations") or {}).get(REVISION) == revision]
    pods = [p for p in state.objects("v1", "Pod") if not p["metadata"].get("deletionTimestamp")]
    mine = [p for p in pods if any(owned_by(p, rs) for rs in current)]
    others = [p for p in pods if any(owned_by(p, rs) for rs in sets) and p not in mine]
    status = deployment.get("status") or {}
    observed = bool(revision) and status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 1)
    return mine, others, observed


def _stuck_reason(pod: Obj) -> str | None:
    """The waiting reason of a container that will not recover by itself, if any. A container that has
    already been restarted and has just exited in error again is in the same crash loop: between two
    back-offs, kubectl shows « Error » for a moment, then « CrashLoopBackOff » again."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        state = status.get("state") or {}
        reason = (state.get("waiting") or {}).get("reason")
        if reason in STUCK:
            return reason
        if (status.get("restartCount") or 0) >= 1 and ((state.get("terminated") or {}).get("exitCode") or 0) != 0:
            return "CrashLoopBackOff"
    return None


def _steady(state: ClusterState, pod: Obj) -> bool:
    """Whether the pod has been Ready for ``STEADY_SECONDS`` when the state was read (yes when either time
    is unknown)."""
    now, since = state.observed_at(), ready_since(pod)
    return now is None or since is None or (now - since).total_seconds() >= STEADY_SECONDS


def _restarts(pods: list[Obj]) -> int:
    return sum(s.get("restartCount", 0) for p in pods for s in (p.get("status") or {}).get("containerStatuses") or [])


def _pods_verdict(state: ClusterState, name: str, expectation: str, success: str) -> Verdict:
    """Ready pods of the current ReplicaSet, or the symptom that remains (pending while rolling out)."""
    deployment = _deployment(state, name)
    ref = ObjectRef("Deployment", name)
    if deployment is None:
        return _missing(name)
    replicas = (deployment.get("spec") or {}).get("replicas", 1)
    if replicas < 1:
        return failed(f"Le Deployment `{name}` devrait avoir au moins 1 réplica (trouvé : {replicas}) : "
                      "réduire à zéro cache la panne sans la réparer.", ref)
    blockers = startup_problems(deployment, state_lookup(state))
    if blockers:
        return failed(f"{expectation} (trouvé : ils ne peuvent pas démarrer : {' ; '.join(blockers)}).", ref)
    current, others, observed = _rollout(state, deployment)
    refs = [ref, *(ObjectRef("Pod", name_of(p)) for p in current[:2])]
    stuck: dict[str, list[Obj]] = {}
    for pod in current:
        reason = _stuck_reason(pod)
        if reason:
            stuck.setdefault(reason, []).append(pod)
    if observed and stuck:
        found = []
        for reason, pods in sorted(stuck.items()):
            detail = _plural(len(pods), "pod") + f" en {reason}"
            if reason in IMAGE_PULL:
                images = sorted({c.get("image", "?") for c in containers(deployment)})
                detail += f", image {listing(images)}"
            else:
                detail += f", {_plural(_restarts(pods), 'redémarrage')}"
            found.append(detail)
        return failed(f"{expectation} (trouvé : {' ; '.join(found)}).", *refs)
    settling = [p for p in current if is_ready(p) and not _steady(state, p)]
    ready = [p for p in current if is_ready(p) and p not in settling]
    if observed and len(ready) >= replicas and not others:
        images = sorted({c.get("image", "?") for c in containers(deployment)})
        return passed(success.format(ready=len(ready), replicas=replicas, images=listing(images)), ref)
    progress = f"{_plural(len(ready), 'prêt')} sur {replicas}"
    if restarts := _restarts(current):
        progress += f", {_plural(restarts, 'redémarrage')}"
    if settling:
        progress += f", {_plural(len(settling), 'prêt')} depuis moins de {STEADY_SECONDS} s"
    if others:
        progress += f", {_plural(len(others), 'ancien pod')} encore là"
    return failed(f"{expectation} (trouvé : {progress}, déploiement en cours).", *refs, pending=True)


@check("api-pods-ready", title="Incident 1 : les pods de api sont prêts", category="fiabilité", course=COURSE,
       hint="« kubectl describe pod » (Last State, Exit Code) et « kubectl logs deploy/api --previous » disent "
            "pourquoi le conteneur s'arrête : une variable d'environnement manque (dans le bac à sable, l'annotation "
            "`sandbox.kubelab.io/crash-unless-env` du pod la nomme). La ConfigMap `api-config` en a la valeur : "
            "déclarez-la dans `env` du conteneur.")
def api_pods_ready(state: ClusterState) -> Verdict:
    return _pods_verdict(state, "api", "Les pods de `api` devraient être prêts",
                         "Les pods de `api` sont prêts ({ready}/{replicas}) et ne redémarrent plus en boucle.")


@check("worker-image-pulled", title="Incident 2 : worker a tiré son image", category="fiabilité", course=COURSE,
       hint="« kubectl describe pod » montre « Failed to pull image » : le registre n'existe pas. "
            "La même image existe sur Docker Hub : `busybox:1.37`.")
def worker_image_pulled(state: ClusterState) -> Verdict:
    return _pods_verdict(state, "worker", "Les pods de `worker` devraient avoir tiré leur image et être prêts",
                         "Les pods de `worker` ont tiré l'image {images} et sont prêts ({ready}/{replicas}).")


def _mounted_claim(deployment: Obj) -> tuple[str, str] | None:
    """(volume, claim) of the claim ``files`` mounts: its volume ``uploads``, else its first claim."""
    volumes = [(v.get("name", ""), (v.get("persistentVolumeClaim") or {}).get("claimName"))
               for v in pod_spec(deployment).get("volumes") or []]
    claims = [(volume, claim) for volume, claim in volumes if claim]
    return next((vc for vc in claims if vc[0] == VOLUME), claims[0] if claims else None)


@check("uploads-claim-bound", title="Incident 3 : le stockage de files est Bound", category="stockage",
       course=COURSE,
       hint="« kubectl describe pvc uploads » et « kubectl get storageclass » : la classe demandée existe-t-elle ? "
            "La classe d'un PVC est immuable : supprimez `uploads` et recréez-le sur la classe par défaut, ou créez un "
            "nouveau PVC et faites-le monter par le volume `uploads` de `files`.")
def uploads_claim_bound(state: ClusterState) -> Verdict:
    files = _deployment(state, "files")
    if files is None:
        return _missing("files")
    ref = ObjectRef("Deployment", "files")
    mounted = _mounted_claim(files)
    if mounted is None:
        return failed(f"Le Deployment `files` devrait monter un PVC dans son volume `{VOLUME}` (trouvé : aucun "
                      "PVC).", ref)
    volume, name = mounted
    claim_ref = ObjectRef("PersistentVolumeClaim", name)
    claim = state.get("v1", "PersistentVolumeClaim", name)
    if claim is None:
        return failed(f"Le PVC `{name}` monté par `files` devrait exister (trouvé : aucun).", ref)
    phase = (claim.get("status") or {}).get("phase", "Pending")
    wanted = (claim.get("spec") or {}).get("storageClassName")
    classes = sorted(name_of(sc) for sc in state.objects("storage.k8s.io/v1", "StorageClass", CLUSTER_SCOPE))
    expectation = f"Le PVC `{name}` monté par `files` devrait être Bound sur une StorageClass existante"
    if wanted and wanted not in classes:
        default = default_storage_class(state.objects("storage.k8s.io/v1", "StorageClass", CLUSTER_SCOPE))
        target = f"`{name_of(default)}` (la classe par défaut)" if default else \
            f"une classe qui existe ({listing(classes)})"
        return failed(f"{expectation} (trouvé : {phase}, la StorageClass `{wanted}` n'existe pas ; "
                      f"classes du cluster : {listing(classes) or 'aucune'}).", claim_ref, ref,
                      hint=f"La classe d'un PVC est immuable : supprimez `{name}` et recréez-le sur {target}, ou créez "
                           f"un nouveau PVC et faites-le monter par le volume `{volume}` de `files`.")
    if not wanted:
        return failed(f"{expectation} (trouvé : {phase}, sans StorageClass et sans classe par défaut).", claim_ref, ref)
    if phase != "Bound":
        return failed(f"{expectation} (trouvé : {phase} sur `{wanted}`, en attente du pod qui le monte).",
                      claim_ref, ref, pending=True)
    return passed(f"Le PVC `{name}`, monté par le volume `{volume}` de `files`, est Bound sur la StorageClass "
                  f"`{wanted}`.", claim_ref)


def _service(state: ClusterState) -> Obj | None:
    return state.get("v1", "Service", "web")


def _shown(labels: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "aucun"


SERVICE = ObjectRef("Service", "web")
NO_SERVICE = failed("Le Service `web` devrait exister (trouvé : aucun) : relancez « kubelab lab setup 10-incidents ».",
                    SERVICE)


@check("web-service-selects-web-pods", title="Incident 4 : le Service web désigne les pods de web", category="réseau",
       course=COURSE, related=("kube-linter:dangling-service", "kube-score:service-targets-pod"),
       hint="« kubectl get pods --show-labels » et « kubectl get svc web -o jsonpath='{.spec.selector}' » : "
            "le sélecteur doit reprendre exactement les labels des pods de `web`, et ne désigner qu'eux.")
def service_selects_web_pods(state: ClusterState) -> Verdict:
    service = _service(state)
    if service is None:
        return NO_SERVICE
    web = _deployment(state, "web")
    if web is None:
        return _missing("web")
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selector:
        return failed("Le Service `web` devrait avoir un sélecteur (trouvé : aucun).", SERVICE)
    pods = [p for p in state.objects("v1", "Pod") if not p["metadata"].get("deletionTimestamp")]
    web_pods = {name_of(p) for p in pods_of(web, pods, state.objects("apps/v1", "ReplicaSet"))}
    selected = [p for p in pods if selects(selector, labels_of(p))]
    foreign = sorted(name_of(p) for p in selected if name_of(p) not in web_pods)
    if foreign:
        return failed(f"Le sélecteur du Service `web` ne devrait désigner que les pods de `web` (sélecteur : "
                      f"{_shown(selector)} ; trouvé aussi : {_plural(len(foreign), 'autre pod')}, "
                      f"{listing(foreign[:3])}).", SERVICE)
    ready = [p for p in selected if is_ready(p)]
    if ready:
        return passed(f"Le Service `web` désigne {_plural(len(ready), 'pod prêt')} de `web` (sélecteur : "
                      f"{_shown(selector)}).", SERVICE)
    template_labels = labels_of(pod_template(web))
    if not selects(selector, template_labels):
        return failed(f"Le sélecteur du Service `web` devrait désigner les pods prêts de `web` (trouvé : "
                      f"{_shown(selector)}, qui ne désigne aucun pod ; labels des pods de `web` : "
                      f"{_shown(template_labels)}).", SERVICE)
    found = f"{_plural(len(selected), 'pod désigné')}, aucun prêt" if selected else "aucun pod pour l'instant"
    return failed(f"Le Service `web` devrait désigner des pods prêts de `web` (trouvé : {found}).", SERVICE,
                  pending=True)


@check("web-service-target-port", title="Le targetPort du Service web", category="réseau", course=COURSE,
       related=("kube-score:service-targets-pod",),
       hint="Le `targetPort` d'un port du Service est un port du conteneur : son numéro (`containerPort`) ou son nom.")
def service_target_port(state: ClusterState) -> Verdict:
    service = _service(state)
    if service is None:
        return NO_SERVICE
    web = _deployment(state, "web")
    if web is None:
        return _missing("web")
    numbers, names = declared_ports(web)
    shown = shown_ports(container_ports(web), "containerPort") or "aucun port déclaré"
    ports = (service.get("spec") or {}).get("ports") or []
    if not ports:
        return failed("Le Service `web` devrait exposer un port (trouvé : aucun).", SERVICE)
    for port in ports:
        target = target_of(port)
        if (target not in names) if isinstance(target, str) else (target not in numbers):
            return failed(f"Le port `{port.get('name') or port.get('port')}` du Service `web` devrait viser un port du "
                          f"conteneur de `web` (trouvé : targetPort {target} ; le conteneur expose {shown}).", SERVICE)
    targets = listing(str(target_of(p)) for p in ports)
    return passed(f"Le Service `web` vise le port {targets} du conteneur de `web`.", SERVICE)


def _shown_backend(backend: Obj) -> str:
    return f"`{backend.get('name', '?')}:{port_text(backend.get('port') or {})}`"


@check("web-ingress-backend-port", title="Incident 5 : l'Ingress web vise un port du Service", category="réseau",
       course=COURSE, related=("kube-linter:dangling-ingress", "kube-score:ingress-targets-service"),
       hint="« kubectl describe ingress web » montre le backend `web:8080` ; « kubectl get svc web -o "
            "jsonpath='{.spec.ports}' » montre les ports du Service. Visez l'un d'eux, par numéro ou par nom.")
def ingress_backend_port(state: ClusterState) -> Verdict:
    ref = ObjectRef("Ingress", "web")
    ingress = state.get("networking.k8s.io/v1", "Ingress", "web")
    if ingress is None:
        return failed("L'Ingress `web` devrait exister (trouvé : aucun) : relancez "
                      "« kubelab lab setup 10-incidents ».", ref)
    service = _service(state)
    if service is None:
        return NO_SERVICE
    exposed = shown_ports((service.get("spec") or {}).get("ports") or [], "port") or "aucun port"
    backends = [backend.service for backend in ingress_backends(ingress)]
    if not backends:
        return failed("L'Ingress `web` devrait avoir un backend vers le Service `web` (trouvé : aucun).", ref)

    def right(backend: Obj) -> bool:
        return backend.get("name") == "web" and service_port(service, backend.get("port") or {}) is not None

    wrong = [b for b in backends if not right(b)]
    if wrong:
        return failed(f"L'Ingress `web` devrait viser un port exposé par le Service `web` (trouvé : "
                      f"{listing(_shown_backend(b).strip('`') for b in wrong)} ; le Service `web` expose {exposed}).",
                      ref, SERVICE)
    return passed(f"L'Ingress `web` vise le Service `web` sur un port qu'il expose "
                  f"({listing(_shown_backend(b).strip('`') for b in backends)}).", ref)
