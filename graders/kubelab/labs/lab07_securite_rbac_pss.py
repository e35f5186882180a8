"""Lab 07 — Sécurité : RBAC et Pod Security.

Two layers of hardening in one namespace. The API: does the ServiceAccount `app-reader` hold
exactly the rights to read pods and ConfigMaps of its namespace, and nothing else? The checks
read the Role and bindings, then ask the API server itself through SubjectAccessReviews. The
pods: does the namespace enforce the `restricted` Pod Security Standard, does the Deployment
`app` comply, and does a server-side dry run of a privileged pod get refused?
"""

from __future__ import annotations

import re
from typing import Any

from kubelab.checks import ObjectRef, Registry, Verdict, failed, passed
from kubelab.cluster_state import CLUSTER_SCOPE, ClusterState, Probe, Read
from kubelab.kube_api import KubeApi, RefusedError
from kubelab.objects import is_ready, labels_of, listing, name_of, pod_spec, pods_of

registry = Registry()
check = registry.check

READS = (
    Read("v1", "Namespace", CLUSTER_SCOPE),
    Read("v1", "ServiceAccount"),
    Read("rbac.authorization.k8s.io/v1", "Role"),
    Read("rbac.authorization.k8s.io/v1", "RoleBinding"),
    Read("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", CLUSTER_SCOPE),
    Read("apps/v1", "Deployment"),
    Read("apps/v1", "ReplicaSet"),
    Read("v1", "Pod"),
)

COURSE = "microk8s/securite.md"
RBAC_GROUP = "rbac.authorization.k8s.io"
ENFORCE = "pod-security.kubernetes.io/enforce"
PROFILE = "restricted"
SA = "app-reader"
ROLE = "pod-reader"
BINDING = "app-reader-binding"
DEPLOYMENT = "app"
READ_VERBS = ("get", "list", "watch")
READ_RESOURCES = ("pods", "configmaps")
SECCOMP_TYPES = ("RuntimeDefault", "Localhost")
ALLOWED_ADDED_CAPABILITIES = ("NET_BIND_SERVICE",)
VIOLATES = re.compile(r'violates PodSecurity "([^"]+)"')

APP = ObjectRef("Deployment", DEPLOYMENT)
MISSING_APP = failed(f"Le Deployment `{DEPLOYMENT}` devrait exister dans le namespace du lab (trouvé : aucun).", APP)
NEEDS_RBAC = " ; il permet tout, sans raison : RBAC est-il activé (« microk8s enable rbac ») ?"


# --- probes -----------------------------------------------------------------------------------

# The questions put to the API server about `app-reader`: (verb, resource[/subresource],
# namespace), where "@lab" is the lab's namespace, "" all namespaces, None a cluster resource.
LAB = "@lab"
QUESTIONS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "read": tuple((verb, resource, LAB) for resource in READ_RESOURCES for verb in READ_VERBS),
    "secrets": (("get", "secrets", LAB), ("list", "secrets", LAB), ("watch", "secrets", LAB),
                ("get", "secrets", "kube-system"), ("list", "secrets", "")),
    "write": (("delete", "pods", LAB), ("create", "pods", LAB), ("patch", "pods", LAB),
              ("create", "pods/exec", LAB), ("update", "configmaps", LAB), ("delete", "configmaps", LAB)),
    "cluster": (("list", "nodes", None), ("list", "namespaces", None), ("list", "pods", ""),
                ("list", "pods", "default"), ("get", "configmaps", "kube-system"),
                ("list", f"clusterroles.{RBAC_GROUP}", None), ("create", "namespaces", None)),
}


def _attributes(verb: str, resource: str, where: str | None, namespace: str) -> dict[str, str]:
    resource, _, subresource = resource.partition("/")
    plural, _, group = resource.partition(".")
    attributes = {"verb": verb, "resource": plural, "group": group}
    if subresource:
        attributes["subresource"] = subresource
    if where is not None:
        attributes["namespace"] = namespace if where == LAB else where
    return attributes


def access_reviews(api: KubeApi, namespace: str) -> dict[str, list[dict[str, Any]]]:
    """Ask the API server, through SubjectAccessReviews (nothing is stored), what `app-reader` may do."""
    user = f"system:serviceaccount:{namespace}:{SA}"
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]
    answers: dict[str, list[dict[str, Any]]] = {}
    for family, questions in QUESTIONS.items():
        answers[family] = []
        for verb, resource, where in questions:
            review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                      "spec": {"user": user, "groups": groups,
                               "resourceAttributes": _attributes(verb, resource, where, namespace)}}
            status = api.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", review).get("status") or {}
            answers[family].append({
                "verb": verb,
                "resource": resource.split(".")[0],
                "namespace": None if where is None else (namespace if where == LAB else where),
                "allowed": bool(status.get("allowed")),
                "reason": status.get("reason", ""),
            })
    return answers


PRIVILEGED_POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "intrus", "labels": {"app.kubernetes.io/managed-by": "kubelab"}},
    "spec": {"containers": [{"name": "intrus", "image": "nginx:1.27", "securityContext": {"privileged": True}}]},
}


def privileged_dry_run(api: KubeApi, namespace: str) -> dict[str, Any]:
    """Server-side dry run of a privileged pod in the lab's namespace: refused or not (nothing is created)."""
    pod = {**PRIVILEGED_POD, "metadata": {**PRIVILEGED_POD["metadata"], "namespace": namespace}}
    try:
        api.create(pod, dry_run=True)
    except RefusedError as exc:
        return {"refused": True, "status": exc.status, "message": str(exc.body.get("message", ""))}
    return {"refused": False, "status": 201, "message": ""}


PROBES = {
    "access-reviews": Probe(access_reviews, needs="dry-run"),
    "privileged-pod": Probe(privileged_dry_run, needs="dry-run"),
}


# --- shared queries -----------------------------------------------------------------------------


def _designates(subject: dict, namespace: str) -> bool:
    """Does a binding subject designate `app-reader` of the lab's namespace (or its whole namespace's accounts)?"""
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "ServiceAccount":
        return name == SA and subject.get("namespace") == namespace
    if kind == "User":
        return name == f"system:serviceaccount:{namespace}:{SA}"
    if kind == "Group":
        return name == f"system:serviceaccounts:{namespace}"
    return False


def _subject_text(subject: dict) -> str:
    kind, name = subject.get("kind", "?"), subject.get("name", "?")
    if kind == "ServiceAccount":
        return f"ServiceAccount `{subject.get('namespace') or '(sans namespace)'}/{name}`"
    return f"{kind} `{name}`"


def _app(state: ClusterState) -> dict | None:
    return state.get("apps/v1", "Deployment", DEPLOYMENT)


def _all_containers(spec: dict) -> list[dict]:
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def _answers(state: ClusterState, family: str) -> list[dict]:
    return state.probe("access-reviews")[family]


# --- the namespace ------------------------------------------------------------------------------


@check("namespace-enforces-restricted", title="Le namespace applique le profil restricted", category="sécurité",
       course=COURSE,
       hint="« kubectl label namespace lab-securite pod-security.kubernetes.io/enforce=restricted » "
            "(ou un manifeste Namespace avec ce label). Les labels `warn` et `audit` ne refusent rien.")
def namespace_enforces_restricted(state: ClusterState) -> Verdict:
    namespace = state.get("v1", "Namespace", state.namespace, CLUSTER_SCOPE)
    ref = ObjectRef("Namespace", state.namespace)
    labels = labels_of(namespace or {})
    level = labels.get(ENFORCE)
    if level != PROFILE:
        others = listing(f"{k}={v}" for k, v in sorted(labels.items()) if k.startswith("pod-security.kubernetes.io/"))
        found = (f"`{ENFORCE}={level}`" if level
                 else f"aucun label `{ENFORCE}`" + (f", seulement {others}" if others else ""))
        return failed(f"Le namespace `{state.namespace}` devrait porter le label `{ENFORCE}={PROFILE}` "
                      f"(trouvé : {found}).", ref)
    version = labels.get(f"{ENFORCE}-version", "latest")
    return passed(f"Le namespace `{state.namespace}` applique le profil `{PROFILE}` (version {version}).", ref)


# --- the API: account, role, bindings -----------------------------------------------------------------


@check("serviceaccount-no-automount", title="Le compte app-reader sans jeton monté d'office", category="sécurité",
       course=COURSE, related=("kubescape:C-0034",),
       hint="Dans le ServiceAccount : `automountServiceAccountToken: false`. Un pod qui a vraiment besoin "
            "du jeton peut le réclamer explicitement.")
def serviceaccount_no_automount(state: ClusterState) -> Verdict:
    account = state.get("v1", "ServiceAccount", SA)
    ref = ObjectRef("ServiceAccount", SA)
    if account is None:
        return failed(f"Le ServiceAccount `{SA}` devrait exister (trouvé : aucun).", ref)
    value = account.get("automountServiceAccountToken")
    if value is not False:
        shown = "absent, donc vrai par défaut" if value is None else f"`{str(value).lower()}`"
        return failed(f"Le ServiceAccount `{SA}` devrait déclarer `automountServiceAccountToken: false` "
                      f"(trouvé : {shown}).", ref)
    return passed(f"Le ServiceAccount `{SA}` ne fait pas monter son jeton d'office.", ref)


def _role_grants(role: dict) -> tuple[set[tuple[str, str]], list[str]]:
    """(granted (resource, verb) pairs of the core group, excesses found) for a Role's rules."""
    granted: set[tuple[str, str]] = set()
    excess: list[str] = []
    for rule in role.get("rules") or []:
        groups, resources, verbs = rule.get("apiGroups") or [], rule.get("resources") or [], rule.get("verbs") or []
        wildcards = [f"`{field}: [\"*\"]`" for field, values in (("apiGroups", groups), ("resources", resources),
                                                                 ("verbs", verbs)) if "*" in values]
        excess.extend(wildcards)
        if wildcards:
            continue
        other_groups = [g for g in groups if g != ""]
        if other_groups:
            excess.append(f"le groupe d'API {listing(other_groups)}")
        other_resources = [r for r in resources if r not in READ_RESOURCES]
        if other_resources:
            excess.append(f"la ressource {listing(other_resources)}" if len(other_resources) == 1
                          else f"les ressources {listing(other_resources)}")
        other_verbs = [v for v in verbs if v not in READ_VERBS]
        if other_verbs:
            excess.append(f"le verbe {listing(other_verbs)}" if len(other_verbs) == 1
                          else f"les verbes {listing(other_verbs)}")
        if "" in groups:
            granted.update((r, v) for r in resources if r in READ_RESOURCES for v in verbs if v in READ_VERBS)
    return granted, list(dict.fromkeys(excess))


@check("role-least-privilege", title="Le Role pod-reader, ni plus ni moins", category="sécurité", course=COURSE,
       related=("kube-linter:wildcard-in-rules",),
       hint="Une règle `apiGroups: [\"\"]`, `resources: [\"pods\", \"configmaps\"]`, "
            "`verbs: [\"get\", \"list\", \"watch\"]` ; aucun joker `*`.")
def role_least_privilege(state: ClusterState) -> Verdict:
    role = state.get("rbac.authorization.k8s.io/v1", "Role", ROLE)
    ref = ObjectRef("Role", ROLE)
    if role is None:
        return failed(f"Le Role `{ROLE}` devrait exister (trouvé : aucun).", ref)
    granted, excess = _role_grants(role)
    if excess:
        return failed(f"Le Role `{ROLE}` ne devrait accorder que `get`, `list` et `watch` sur `pods` et `configmaps` "
                      f"(trouvé en plus : {' ; '.join(excess)}).", ref)
    missing = [f"{verb} {resource}" for resource in READ_RESOURCES for verb in READ_VERBS
               if (resource, verb) not in granted]
    if missing:
        return failed(f"Le Role `{ROLE}` devrait accorder `get`, `list` et `watch` sur `pods` et `configmaps` "
                      f"(manque : {listing(missing)}).", ref)
    return passed(f"Le Role `{ROLE}` accorde `get`, `list` et `watch` sur `pods` et `configmaps`, rien d'autre.", ref)


@check("rolebinding-app-reader", title="Le RoleBinding app-reader-binding", category="sécurité", course=COURSE,
       hint="`roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}` et le sujet "
            "`{kind: ServiceAccount, name: app-reader, namespace: <le namespace du lab>}` : sans le bon namespace, "
            "c'est un autre compte qui reçoit les droits.")
def rolebinding_app_reader(state: ClusterState) -> Verdict:
    binding = state.get("rbac.authorization.k8s.io/v1", "RoleBinding", BINDING)
    ref = ObjectRef("RoleBinding", BINDING)
    if binding is None:
        return failed(f"Le RoleBinding `{BINDING}` devrait exister (trouvé : aucun).", ref)
    role_ref = binding.get("roleRef") or {}
    problems = []
    if (role_ref.get("kind"), role_ref.get("name")) != ("Role", ROLE):
        problems.append(f"référencer le Role `{ROLE}` (trouvé : {role_ref.get('kind', '?')} "
                        f"`{role_ref.get('name', '?')}`)")
    subjects = binding.get("subjects") or []
    if not any(_designates(s, state.namespace) for s in subjects):
        found = ", ".join(_subject_text(s) for s in subjects) or "aucun sujet"
        problems.append(f"désigner le ServiceAccount `{state.namespace}/{SA}` (trouvé : {found})")
    if problems:
        return failed(f"Le RoleBinding `{BINDING}` devrait {' et '.join(problems)}.", ref)
    return passed(f"Le RoleBinding `{BINDING}` lie le Role `{ROLE}` au ServiceAccount `{SA}`.", ref)


@check("app-reader-no-cluster-binding", title="Aucun droit à l'échelle du cluster pour app-reader",
       category="sécurité", course=COURSE, related=("kubescape:C-0035", "kube-linter:cluster-admin-role-binding"),
       hint="« kubectl get clusterrolebindings -o wide | grep app-reader » ; supprimez ces liaisons "
            "(« kubectl delete clusterrolebinding … »), et tout RoleBinding qui donne un ClusterRole à `app-reader`.")
def no_cluster_binding(state: ClusterState) -> Verdict:
    offenders = [
        f"ClusterRoleBinding `{name_of(b)}` → {b.get('roleRef', {}).get('name', '?')}"
        for b in state.objects("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", CLUSTER_SCOPE)
        if any(_designates(s, state.namespace) for s in b.get("subjects") or [])
    ]
    offenders += [
        f"RoleBinding `{name_of(b)}` → ClusterRole {b['roleRef'].get('name', '?')}"
        for b in state.objects("rbac.authorization.k8s.io/v1", "RoleBinding")
        if (b.get("roleRef") or {}).get("kind") == "ClusterRole"
        and any(_designates(s, state.namespace) for s in b.get("subjects") or [])
    ]
    ref = ObjectRef("ServiceAccount", SA)
    if offenders:
        return failed(f"Aucune liaison ne devrait donner un ClusterRole au ServiceAccount `{SA}` "
                      f"(trouvé : {' ; '.join(offenders)}).", ref)
    return passed(f"Aucune liaison ne donne de ClusterRole au ServiceAccount `{SA}`.", ref)


# --- the API, asked directly: SubjectAccessReviews ------------------------------------------------------


def _questions_text(answers: list[dict]) -> str:
    """The questions grouped by place.

    « dans `ns` : `get pods`, `list pods` ; à l'échelle du cluster : `list nodes` ».
    """
    places: dict[str, list[str]] = {}
    for answer in answers:
        where = answer["namespace"]
        place = ("à l'échelle du cluster" if where is None else "dans tous les namespaces" if where == ""
                 else f"dans `{where}`")
        places.setdefault(place, []).append(f"{answer['verb']} {answer['resource']}")
    return " ; ".join(f"{place} : {listing(questions)}" for place, questions in places.items())


def _review_verdict(state: ClusterState, family: str, expect_allowed: bool, success: str, expectation: str) -> Verdict:
    answers = _answers(state, family)
    ref = ObjectRef("ServiceAccount", SA)
    wrong = [a for a in answers if a["allowed"] != expect_allowed]
    if not wrong:
        return passed(success, ref)
    found = "non" if expect_allowed else "oui"
    because = ""
    if not expect_allowed:
        reasons = [a["reason"] for a in wrong if a["reason"]]
        if reasons:
            because = f" ; il explique : « {reasons[0]} »"
        elif all(a["allowed"] for a in _answers(state, "cluster")):
            because = NEEDS_RBAC
    return failed(f"{expectation} (trouvé : l'API server répond « {found} » {_questions_text(wrong)}{because}).", ref)


@check("app-reader-can-read", title="app-reader peut lire pods et ConfigMaps", category="sécurité", course=COURSE,
       needs="dry-run",
       hint="« kubectl auth can-i list pods -n lab-securite --as=system:serviceaccount:lab-securite:app-reader » "
            "doit répondre yes : vérifiez le Role et le RoleBinding.")
def can_read(state: ClusterState) -> Verdict:
    return _review_verdict(
        state, "read", True,
        f"L'API server confirme que `{SA}` peut lire les pods et les ConfigMaps du namespace `{state.namespace}`.",
        f"Le ServiceAccount `{SA}` devrait pouvoir lire les pods et les ConfigMaps de `{state.namespace}`")


@check("app-reader-cannot-read-secrets", title="app-reader ne lit aucun Secret", category="sécurité", course=COURSE,
       needs="dry-run", related=("kubescape:C-0015", "kube-linter:access-to-secrets"),
       hint="Aucun Role ni ClusterRole lié à `app-reader` ne doit mentionner `secrets` (ni le joker `*`).")
def cannot_read_secrets(state: ClusterState) -> Verdict:
    return _review_verdict(
        state, "secrets", False,
        f"L'API server refuse à `{SA}` la lecture des Secrets, dans son namespace comme ailleurs.",
        f"Le ServiceAccount `{SA}` ne devrait lire aucun Secret")


@check("app-reader-cannot-write", title="app-reader ne modifie rien", category="sécurité", course=COURSE,
       needs="dry-run", related=("kubescape:C-0007",),
       hint="Seuls les verbes `get`, `list` et `watch` : pas de `create`, `update`, `patch`, `delete`, ni de joker "
            "`*`.")
def cannot_write(state: ClusterState) -> Verdict:
    return _review_verdict(
        state, "write", False,
        f"L'API server refuse à `{SA}` de créer, modifier ou supprimer des pods et des ConfigMaps.",
        f"Le ServiceAccount `{SA}` ne devrait rien pouvoir créer, modifier ni supprimer")


@check("app-reader-nothing-cluster-wide", title="app-reader n'a aucun droit hors de son namespace",
       category="sécurité", course=COURSE, needs="dry-run",
       hint="Un Role et un RoleBinding valent pour un seul namespace ; un ClusterRoleBinding donne des droits partout.")
def nothing_cluster_wide(state: ClusterState) -> Verdict:
    return _review_verdict(
        state, "cluster", False,
        f"L'API server refuse à `{SA}` les nœuds, les namespaces et les autres namespaces.",
        f"Le ServiceAccount `{SA}` ne devrait avoir aucun droit à l'échelle du cluster ni dans un autre namespace")


# --- the pods ----------------------------------------------------------------------------------------


@check("app-service-account", title="Le Deployment app utilise app-reader", category="sécurité", course=COURSE,
       hint="`spec.template.spec.serviceAccountName: app-reader` (sinon le pod prend le compte `default`).")
def app_service_account(state: ClusterState) -> Verdict:
    app = _app(state)
    if app is None:
        return MISSING_APP
    account = pod_spec(app).get("serviceAccountName") or pod_spec(app).get("serviceAccount") or "default"
    if account != SA:
        return failed(f"Le Deployment `{DEPLOYMENT}` devrait utiliser le ServiceAccount `{SA}` (trouvé : "
                      f"`{account}`).", APP)
    return passed(f"Le Deployment `{DEPLOYMENT}` utilise le ServiceAccount `{SA}`.", APP)


@check("app-token-not-mounted", title="Aucun jeton d'API dans les pods de app", category="sécurité", course=COURSE,
       related=("kubescape:C-0034",),
       hint="`automountServiceAccountToken: false` dans le ServiceAccount `app-reader`, et jamais `true` dans le "
            "gabarit de pod : l'application ne parle pas à l'API, un jeton volé ne servirait qu'à un attaquant.")
def app_token_not_mounted(state: ClusterState) -> Verdict:
    app = _app(state)
    if app is None:
        return MISSING_APP
    spec = pod_spec(app)
    account_name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    account = state.get("v1", "ServiceAccount", account_name) or {}
    own = spec.get("automountServiceAccountToken")
    effective = own if own is not None else account.get("automountServiceAccountToken", True)
    if effective is not False:
        source = ("le gabarit de pod déclare `automountServiceAccountToken: true`" if own is True
                  else f"le ServiceAccount `{account_name}` le monte d'office")
        return failed(f"Les pods du Deployment `{DEPLOYMENT}` ne devraient pas recevoir de jeton d'API (trouvé : "
                      f"{source}).",
                      APP)
    where = "le gabarit de pod" if own is False else f"le ServiceAccount `{account_name}`"
    return passed(f"Les pods du Deployment `{DEPLOYMENT}` ne reçoivent aucun jeton d'API (décidé par {where}).", APP)


def _restricted_problems(spec: dict) -> list[str]:
    """What keeps a pod spec from the `restricted` profile, in the statement's four points (and two more)."""
    pod_context = spec.get("securityContext") or {}
    problems: list[str] = []
    for container in _all_containers(spec):
        context = container.get("securityContext") or {}
        name = container.get("name", "?")
        own: list[str] = []
        non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        if non_root is not True:
            own.append(f"`runAsNonRoot: true` (trouvé : {'absent' if non_root is None else '`false`'})")
        if context.get("runAsUser", pod_context.get("runAsUser")) == 0:
            own.append("un `runAsUser` non nul (trouvé : `0`)")
        escalation = context.get("allowPrivilegeEscalation")
        if escalation is not False:
            own.append(f"`allowPrivilegeEscalation: false` (trouvé : {'absent' if escalation is None else '`true`'})")
        capabilities = context.get("capabilities") or {}
        drop = capabilities.get("drop") or []
        if "ALL" not in drop:
            own.append(f"`capabilities.drop: [\"ALL\"]` (trouvé : {listing(drop) or 'aucun'})")
        added = [c for c in capabilities.get("add") or [] if c not in ALLOWED_ADDED_CAPABILITIES]
        if added:
            own.append(f"aucune capacité ajoutée sauf `NET_BIND_SERVICE` (trouvé : {listing(added)})")
        seccomp = (context.get("seccompProfile") or pod_context.get("seccompProfile") or {}).get("type")
        if seccomp not in SECCOMP_TYPES:
            own.append(f"`seccompProfile.type: RuntimeDefault` (trouvé : {f'`{seccomp}`' if seccomp else 'absent'})")
        if context.get("privileged") is True:
            own.append("pas de `privileged: true`")
        if own:
            problems.append(f"conteneur `{name}` : {', '.join(own)}")
    return problems


@check("app-restricted-compliant", title="Le Deployment app respecte le profil restricted", category="sécurité",
       course=COURSE,
       related=("polaris:runAsRootAllowed", "polaris:privilegeEscalationAllowed", "polaris:insecureCapabilities",
                "kube-linter:run-as-non-root", "kube-linter:privilege-escalation-container",
                "kubescape:C-0013", "kubescape:C-0016", "kubescape:C-0046", "kubescape:C-0055"),
       hint="Dans `securityContext` du pod : `runAsNonRoot: true` et `seccompProfile: {type: RuntimeDefault}` ; "
            "dans celui de chaque conteneur : `allowPrivilegeEscalation: false` et `capabilities: {drop: [\"ALL\"]}`.")
def app_restricted_compliant(state: ClusterState) -> Verdict:
    app = _app(state)
    if app is None:
        return MISSING_APP
    spec = pod_spec(app)
    problems = _restricted_problems(spec)
    if problems:
        return failed(f"Le Deployment `{DEPLOYMENT}` devrait respecter le profil `{PROFILE}` ; "
                      f"il manque : {' ; '.join(problems)}.", APP)
    count = len(_all_containers(spec))
    return passed(f"Le Deployment `{DEPLOYMENT}` respecte le profil `{PROFILE}` "
                  f"({count} conteneur{'s' if count > 1 else ''} : sans root, sans élévation de privilèges, "
                  "toutes capacités retirées, seccomp actif).",
                  APP)


def _pods(count: int) -> str:
    return f"{count} pod prêt" if count <= 1 else f"{count} pods prêts"


def _refusal(state: ClusterState, app: dict) -> str | None:
    """Why the ReplicaSets of `app` cannot create pods: their latest FailedCreate Event (the
    ReplicaFailure condition keeps its first message, e.g. a ServiceAccount created a moment later)."""
    for rs in state.objects("apps/v1", "ReplicaSet"):
        if not any(ref.get("uid") == app["metadata"].get("uid") for ref in rs["metadata"].get("ownerReferences") or []):
            continue
        events = [e for e in state.events_for("ReplicaSet", name_of(rs), limit=50) if e.get("reason") == "FailedCreate"]
        conditions = [c.get("message", "") for c in (rs.get("status") or {}).get("conditions") or []
                      if c.get("type") == "ReplicaFailure" and c.get("status") == "True"]
        message = events[-1].get("message", "") if events else (conditions[0] if conditions else "")
        if message:
            return message.split("forbidden: ", 1)[-1]
    return None


@check("app-pods-ready", title="Les pods de app sont admis et prêts", category="fiabilité", course=COURSE,
       hint="« kubectl describe replicaset -n lab-securite » : si Pod Security Admission refuse les pods, "
            "le message dit quel champ manque.")
def app_pods_ready(state: ClusterState) -> Verdict:
    app = _app(state)
    if app is None:
        return MISSING_APP
    wanted = app["spec"].get("replicas", 1)
    pods = pods_of(app, state.objects("v1", "Pod"), state.objects("apps/v1", "ReplicaSet"))
    ready = [p for p in pods if is_ready(p)]
    if wanted and len(ready) >= wanted:
        return passed(f"Le Deployment `{DEPLOYMENT}` a {len(ready)} pod{'s' if len(ready) > 1 else ''} "
                      f"admis et prêt{'s' if len(ready) > 1 else ''}.", APP)
    refusal = _refusal(state, app)
    if refusal and not pods:
        if "violates PodSecurity" in refusal:
            return failed(f"Le Deployment `{DEPLOYMENT}` devrait avoir {_pods(wanted)} "
                          f"(trouvé : aucun pod, refusé par Pod Security Admission : {refusal}).", APP)
        # Another refusal (a ServiceAccount not created yet…): the ReplicaSet retries by itself.
        return failed(f"Le Deployment `{DEPLOYMENT}` devrait avoir {_pods(wanted)} "
                      f"(trouvé : aucun pod ; le ReplicaSet signale : {refusal}).", APP, pending=True)
    return failed(f"Le Deployment `{DEPLOYMENT}` devrait avoir {_pods(wanted)} (trouvé : {len(ready)}).",
                  APP, pending=True)


@check("privileged-pod-refused", title="Un pod privilégié est refusé", category="sécurité", course=COURSE,
       needs="dry-run",
       hint="C'est le label `pod-security.kubernetes.io/enforce` du namespace qui fait refuser le pod ; "
            "essayez : « kubectl run intrus -n lab-securite --image=nginx --dry-run=server "
            "--overrides='{\"spec\":{\"containers\":[{\"name\":\"intrus\",\"image\":\"nginx\","
            "\"securityContext\":{\"privileged\":true}}]}}' ».")
def privileged_pod_refused(state: ClusterState) -> Verdict:
    answer = state.probe("privileged-pod")
    ref = ObjectRef("Namespace", state.namespace)
    if not answer["refused"]:
        return failed(f"Un pod privilégié devrait être refusé dans le namespace `{state.namespace}` "
                      "(trouvé : accepté par l'essai à blanc côté serveur).", ref)
    profile = VIOLATES.search(answer["message"])
    reason = f"il viole le profil Pod Security `{profile.group(1)}`" if profile else answer["message"]
    return passed(f"L'essai à blanc d'un pod privilégié est refusé ({answer['status']}) : {reason}.", ref)
