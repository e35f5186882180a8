"""Lab 01 — Explorer le cluster.

Part 1: the learner records five facts about the cluster in the ConfigMap `cluster-facts`;
each fact is its own check, compared with what the API server says (the Nodes, the Service
`kube-system/kube-dns`, the StorageClasses, the pods of `kube-system`, and the server's
version through a read-only probe, so that it lands in snapshots).

Part 2: a first application, the Deployment and Service `hello`, followed along the chain
Kubernetes builds from it: Deployment → ReplicaSet → Pods (ownerReferences) → EndpointSlice
of the Service listing the ready pods.
"""

from __future__ import annotations

from typing import Any

from kubelab.checks import ObjectRef, Registry, Verdict, failed, passed
from kubelab.cluster_state import CLUSTER_SCOPE, ClusterState, Probe, Read
from kubelab.kube_api import KubeApi
from kubelab.objects import (
    containers,
    control_plane_pods,
    default_storage_class,
    image_reference,
    is_ready,
    labels_of,
    listing,
    name_of,
    owned_by,
    pod_template,
    pods_of,
    selects,
)
from kubelab.ports import container_ports

registry = Registry()
check = registry.check

READS = (
    Read("v1", "ConfigMap"),
    Read("v1", "Node", CLUSTER_SCOPE),
    Read("v1", "Service", "kube-system"),
    Read("storage.k8s.io/v1", "StorageClass", CLUSTER_SCOPE),
    Read("v1", "Pod", "kube-system"),
    Read("apps/v1", "Deployment"),
    Read("apps/v1", "ReplicaSet"),
    Read("v1", "Pod"),
    Read("v1", "Service"),
    Read("discovery.k8s.io/v1", "EndpointSlice"),
)

COURSE = "architecture/kubernetes.md"
FACTS = "cluster-facts"
KEYS = ("nodes", "server-version", "dns-service-ip", "default-storageclass", "control-plane-pods")
APP = "hello"
REPLICAS = 2
PORT = 80
SERVICE_NAME_LABEL = "kubernetes.io/service-name"

CONFIGMAP = ObjectRef("ConfigMap", FACTS)
DEPLOYMENT = ObjectRef("Deployment", APP)
SERVICE = ObjectRef("Service", APP)


def server_version(api: KubeApi, namespace: str) -> dict[str, Any]:
    """What « kubectl version » reads: the API server's ``/version`` (read-only)."""
    version = api.server_version()
    return {"gitVersion": version.get("gitVersion", ""), "major": version.get("major", ""),
            "minor": version.get("minor", "")}


PROBES = {"server-version": Probe(server_version)}


# --- part 1: the facts ------------------------------------------------------------------------


def _answer(state: ClusterState, key: str) -> tuple[str, Verdict | None]:
    """The learner's value for ``key`` (stripped), or ``""`` and the verdict to return when there is none."""
    configmap = state.get("v1", "ConfigMap", FACTS)
    if configmap is None:
        return "", failed(f"La ConfigMap `{FACTS}` devrait exister et donner la clé `{key}` (trouvé : aucune "
                          "ConfigMap).", CONFIGMAP)
    value = (configmap.get("data") or {}).get(key)
    if value is None or not str(value).strip():
        return "", failed(f"La ConfigMap `{FACTS}` devrait donner la clé `{key}` (trouvé : "
                          f"{'absente' if value is None else 'vide'}).", CONFIGMAP)
    return str(value).strip(), None


def _fact(state: ClusterState, key: str, expected: str, matches: bool, what: str, confirmed: str = "") -> Verdict:
    """The verdict on one fact: ``what`` names the expected value (« la version de l'API server »)."""
    answer, missing = _answer(state, key)
    if missing is not None:
        return missing
    if not matches:
        return failed(f"La clé `{key}` devrait valoir `{expected}`, {what} (trouvé : `{answer}`).", CONFIGMAP)
    confirmed = confirmed or f"c'est bien {what}"
    return passed(f"La clé `{key}` vaut `{answer}` : {confirmed}.", CONFIGMAP)


@check("facts-configmap", title="La ConfigMap cluster-facts et ses cinq clés", category="configuration",
       course=COURSE,
       hint="« kubectl create configmap cluster-facts -n lab-explorer --from-literal=nodes=… "
            "--from-literal=server-version=… » (cinq clés, voir l'énoncé).")
def facts_configmap(state: ClusterState) -> Verdict:
    configmap = state.get("v1", "ConfigMap", FACTS)
    if configmap is None:
        return failed(f"La ConfigMap `{FACTS}` devrait exister dans le namespace du lab (trouvé : aucune).", CONFIGMAP)
    data = configmap.get("data") or {}
    missing = [key for key in KEYS if key not in data]
    if missing:
        found = listing(sorted(data)) or "aucune clé"
        return failed(f"La ConfigMap `{FACTS}` devrait avoir les clés {listing(missing)} (trouvé : "
                      f"{found}).", CONFIGMAP)
    return passed(f"La ConfigMap `{FACTS}` a les cinq clés {listing(KEYS)}.", CONFIGMAP)


@check("fact-nodes", title="Le nombre de nœuds", category="exploitation", course=COURSE,
       hint="« kubectl get nodes --no-headers | wc -l » : comptez tous les nœuds, prêts ou non.")
def fact_nodes(state: ClusterState) -> Verdict:
    nodes = state.objects("v1", "Node", CLUSTER_SCOPE)
    answer, missing = _answer(state, "nodes")
    if missing is not None:
        return missing
    count = len(nodes)
    what = f"le nombre de nœuds du cluster ({listing(sorted(name_of(n) for n in nodes))})" if count else \
        "le nombre de nœuds du cluster"
    return _fact(state, "nodes", str(count), answer.isdigit() and int(answer) == count, what)


def _version_core(text: str) -> str:
    """``v1.35.7`` and ``1.35.7`` alike: without the leading ``v``, lower case."""
    return text.strip().lower().removeprefix("v")


@check("fact-server-version", title="La version de l'API server", category="exploitation", course=COURSE,
       hint="« kubectl version » : la ligne « Server Version » (ou le champ `gitVersion` de "
            "« kubectl get --raw /version »), pas la version du client.")
def fact_server_version(state: ClusterState) -> Verdict:
    version = state.probe("server-version")["gitVersion"]
    answer, missing = _answer(state, "server-version")
    if missing is not None:
        return missing
    core = _version_core(version)
    given = _version_core(answer)
    matches = given == core or (given == core.split("+")[0] and bool(given))
    return _fact(state, "server-version", version, matches, "la version de l'API server")


@check("fact-dns-service-ip", title="L'adresse du Service DNS", category="réseau", course=COURSE,
       hint="« kubectl get svc -n kube-system kube-dns » : la colonne CLUSTER-IP (pas l'adresse du Service "
            "`kubernetes`).")
def fact_dns_service_ip(state: ClusterState) -> Verdict:
    dns = state.get("v1", "Service", "kube-dns", "kube-system")
    if dns is None:
        answer, missing = _answer(state, "dns-service-ip")
        return missing or failed("Le cluster devrait avoir un Service DNS `kube-system/kube-dns` (trouvé : aucun ; "
                                 "activez l'addon : « microk8s enable dns »).", CONFIGMAP)
    address = (dns.get("spec") or {}).get("clusterIP", "")
    answer, missing = _answer(state, "dns-service-ip")
    if missing is not None:
        return missing
    return _fact(state, "dns-service-ip", address, answer == address, "la ClusterIP du Service `kube-system/kube-dns`")


@check("fact-default-storageclass", title="La StorageClass par défaut", category="stockage", course=COURSE,
       hint="« kubectl get storageclass » : la classe marquée « (default) ».")
def fact_default_storageclass(state: ClusterState) -> Verdict:
    classes = state.objects("storage.k8s.io/v1", "StorageClass", CLUSTER_SCOPE)
    default = default_storage_class(classes)
    answer, missing = _answer(state, "default-storageclass")
    if missing is not None:
        return missing
    if default is None:
        return failed("Le cluster devrait avoir une StorageClass par défaut (trouvé : aucune ; activez l'addon : "
                      "« microk8s enable hostpath-storage »).", CONFIGMAP)
    name = name_of(default)
    return _fact(state, "default-storageclass", name, answer == name, "la StorageClass par défaut")


@check("fact-control-plane-pods", title="Le plan de contrôle tourne-t-il dans des pods ?", category="exploitation",
       course=COURSE,
       hint="« kubectl get pods -n kube-system » : y voyez-vous `kube-apiserver-…`, `kube-scheduler-…` ou "
            "`kube-controller-manager-…` ? Sur MicroK8s, ces composants vivent dans le processus `kubelite`.")
def fact_control_plane_pods(state: ClusterState) -> Verdict:
    found = control_plane_pods(state.objects("v1", "Pod", "kube-system"))
    expected = "true" if found else "false"
    answer, missing = _answer(state, "control-plane-pods")
    if missing is not None:
        return missing
    observed = (f"des pods du plan de contrôle tournent dans `kube-system` ({listing(found)})" if found else
                "aucun pod `kube-apiserver`, `kube-scheduler` ni `kube-controller-manager` ne tourne dans "
                "`kube-system`")
    return _fact(state, "control-plane-pods", expected, answer.lower() == expected, f"car {observed}",
                 f"exact, {observed}")


# --- part 2: the application and the chain Kubernetes builds ---------------------------------------


def _deployment(state: ClusterState) -> dict | None:
    return state.get("apps/v1", "Deployment", APP)


MISSING_DEPLOYMENT = failed(f"Le Deployment `{APP}` devrait exister dans le namespace du lab (trouvé : aucun).",
                            DEPLOYMENT)


def _image_is_nginx(image: str) -> bool:
    """``nginx``, ``nginx:1.27``, ``docker.io/library/nginx@sha256:…`` alike."""
    return image_reference(image).name == "nginx"


@check("hello-deployment", title="Le Deployment hello", category="configuration", course=COURSE,
       hint="`replicas: 2`, un conteneur d'image `nginx` avec `ports: [{containerPort: 80}]`.")
def hello_deployment(state: ClusterState) -> Verdict:
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    problems = []
    replicas = (deployment.get("spec") or {}).get("replicas", 1)
    if replicas != REPLICAS:
        problems.append(f"{REPLICAS} réplicas (trouvé : {replicas})")
    images = [c.get("image", "") for c in containers(deployment)]
    if not any(_image_is_nginx(image) for image in images):
        problems.append(f"un conteneur d'image `nginx` (trouvé : {listing(images) or 'aucun conteneur'})")
    ports = [p.get("containerPort") for p in container_ports(deployment)]
    if PORT not in ports:
        problems.append(f"le port de conteneur {PORT} (trouvé : {', '.join(map(str, ports)) or 'aucun'})")
    if problems:
        return failed(f"Le Deployment `{APP}` devrait avoir {' ; '.join(problems)}.", DEPLOYMENT)
    return passed(f"Le Deployment `{APP}` demande {REPLICAS} réplicas de `{images[0]}` sur le port {PORT}.", DEPLOYMENT)


def _chain(state: ClusterState, deployment: dict) -> tuple[list[dict], list[dict]]:
    """(ReplicaSets owned by the Deployment, live pods owned by those ReplicaSets)."""
    replica_sets = [rs for rs in state.objects("apps/v1", "ReplicaSet") if owned_by(rs, deployment)]
    return replica_sets, pods_of(deployment, state.objects("v1", "Pod"), replica_sets)


@check("hello-pods-ready", title="ReplicaSet et pods prêts", category="fiabilité", course=COURSE,
       hint="« kubectl get rs,pods -n lab-explorer » puis « kubectl describe pod … » : les événements disent ce qui "
            "bloque ; le champ `ownerReferences` de chaque pod désigne son ReplicaSet.")
def hello_pods_ready(state: ClusterState) -> Verdict:
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    wanted = (deployment.get("spec") or {}).get("replicas", 1)
    replica_sets, pods = _chain(state, deployment)
    if not replica_sets:
        return failed(f"Le Deployment `{APP}` devrait avoir créé un ReplicaSet (trouvé : aucun).", DEPLOYMENT,
                      pending=True)
    current = max(replica_sets, key=lambda rs: int((rs["metadata"].get("annotations") or {})
                                                      .get("deployment.kubernetes.io/revision", "0")))
    ready = [p for p in pods if is_ready(p) and owned_by(p, current)]
    if not wanted or len(ready) < wanted:
        return failed(f"Le ReplicaSet `{name_of(current)}` du Deployment `{APP}` devrait avoir {wanted} pods prêts "
                      f"(trouvé : {len(ready)} sur {len(pods)}).", DEPLOYMENT, pending=bool(wanted))
    return passed(f"Le Deployment `{APP}` possède le ReplicaSet `{name_of(current)}`, qui possède {len(ready)} "
                  f"pods prêts ({listing(sorted(name_of(p) for p in ready))}).", DEPLOYMENT)


def _service(state: ClusterState) -> dict | None:
    return state.get("v1", "Service", APP)


MISSING_SERVICE = failed(f"Le Service `{APP}` devrait exister dans le namespace du lab (trouvé : aucun).", SERVICE)


def _target_port_ok(target: int | str, deployment: dict | None) -> bool:
    """Does a Service's targetPort designate the container port 80 (by number or by name)?"""
    ports = container_ports(deployment or {})
    if isinstance(target, str) and not target.isdigit():
        return any(p.get("name") == target and p.get("containerPort") == PORT for p in ports)
    return int(target) == PORT


@check("hello-service-ports", title="Le Service hello : port et port cible", category="réseau", course=COURSE,
       hint="`ports: [{port: 80, targetPort: 80}]` : `targetPort` est le port du conteneur (son numéro ou son nom).")
def hello_service_ports(state: ClusterState) -> Verdict:
    service = _service(state)
    if service is None:
        return MISSING_SERVICE
    ports = (service.get("spec") or {}).get("ports") or []
    port = next((p for p in ports if p.get("port") == PORT), None)
    if port is None:
        found = ", ".join(str(p.get("port")) for p in ports) or "aucun"
        return failed(f"Le Service `{APP}` devrait exposer le port {PORT} (trouvé : {found}).", SERVICE)
    target = port.get("targetPort", PORT)
    if not _target_port_ok(target, _deployment(state)):
        return failed(f"Le port {PORT} du Service `{APP}` devrait viser le port {PORT} du conteneur "
                      f"(trouvé : `targetPort: {target}`).", SERVICE)
    return passed(f"Le Service `{APP}` expose le port {PORT} vers le port `{target}` des pods.", SERVICE)


@check("hello-service-selector", title="Le sélecteur du Service hello", category="réseau", course=COURSE,
       hint="Le `selector` du Service reprend les labels du gabarit de pod du Deployment (par exemple `app: hello`).")
def hello_service_selector(state: ClusterState) -> Verdict:
    service = _service(state)
    if service is None:
        return MISSING_SERVICE
    deployment = _deployment(state)
    if deployment is None:
        return MISSING_DEPLOYMENT
    selector = (service.get("spec") or {}).get("selector") or {}
    template_labels = labels_of(pod_template(deployment))
    shown = ", ".join(f"{k}={v}" for k, v in sorted(selector.items())) or "aucun"
    if not selects(selector, template_labels):
        labels = ", ".join(f"{k}={v}" for k, v in sorted(template_labels.items())) or "aucun"
        return failed(f"Le sélecteur du Service `{APP}` devrait choisir les pods du Deployment `{APP}` "
                      f"(sélecteur : {shown} ; labels des pods : {labels}).", SERVICE)
    own = {name_of(p) for p in _chain(state, deployment)[1]}
    others = [name_of(p) for p in state.objects("v1", "Pod") if selects(selector, labels_of(p))
              and name_of(p) not in own and not p["metadata"].get("deletionTimestamp")]
    if others:
        return failed(f"Le sélecteur du Service `{APP}` ne devrait choisir que les pods de `{APP}` "
                      f"(trouvé aussi : {listing(sorted(others))}).", SERVICE)
    return passed(f"Le sélecteur du Service `{APP}` ({shown}) choisit les pods du Deployment `{APP}`.", SERVICE)


@check("hello-endpoints-ready", title="L'EndpointSlice du Service liste les pods prêts", category="réseau",
       course=COURSE,
       hint="« kubectl get endpointslices -n lab-explorer -l kubernetes.io/service-name=hello » : "
            "sans adresse, le sélecteur ne désigne aucun pod prêt.")
def hello_endpoints_ready(state: ClusterState) -> Verdict:
    service = _service(state)
    if service is None:
        return MISSING_SERVICE
    deployment = _deployment(state)
    pods = _chain(state, deployment)[1] if deployment is not None else []
    selector = (service.get("spec") or {}).get("selector") or {}
    expected = sorted(name_of(p) for p in pods if is_ready(p) and selects(selector, labels_of(p)))
    slices = [s for s in state.objects("discovery.k8s.io/v1", "EndpointSlice")
              if labels_of(s).get(SERVICE_NAME_LABEL) == APP]
    listed = sorted({(e.get("targetRef") or {}).get("name", "") for s in slices for e in s.get("endpoints") or []
                     if (e.get("conditions") or {}).get("ready") is True})
    if not expected:
        selected = [p for p in pods if selects(selector, labels_of(p))]
        coming = deployment is not None and selects(selector, labels_of(pod_template(deployment)))
        return failed(f"L'EndpointSlice du Service `{APP}` devrait lister les pods prêts de `{APP}` (trouvé : "
                      f"{listing(listed) or 'aucune adresse'} ; le sélecteur désigne "
                      f"{len(selected)} pod{'s' if len(selected) > 1 else ''} de `{APP}`).",
                      SERVICE, pending=coming)
    missing = [name for name in expected if name not in listed]
    if missing:
        return failed(f"L'EndpointSlice du Service `{APP}` devrait lister les pods prêts {listing(expected)} "
                      f"(trouvé : {listing(listed) or 'aucune adresse'}).", SERVICE, pending=True)
    names = listing(sorted(name_of(s) for s in slices))
    return passed(f"L'EndpointSlice {names} du Service `{APP}` liste {len(listed)} adresse"
                  f"{'s' if len(listed) > 1 else ''} prête{'s' if len(listed) > 1 else ''} ({listing(listed)}).",
                  SERVICE)
