"""Validate then apply the learner's manifests, with French errors naming the field at fault.

Every object is first sent as a server-side dry run: if the API server refuses any of them,
nothing is applied and each refusal is shown with its field (``spec.replicas``), the reason
in French and the server's own words. Otherwise the objects are applied with server-side
apply (``KubeApi.apply``), and each one is reported as created, changed or unchanged.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

import yaml

from kubelab import manifest_text, manifests
from kubelab.errors import KubelabError, UsageError
from kubelab.kube_api import BUILTIN_RESOURCES, FIELD_MANAGER, ApiError, KubeApi, RefusedError
from kubelab.lab_setup import STEP_MANAGER, wait_observed
from kubelab.manifest_text import NAMESPACE_PLACEHOLDER, yaml_mark, yaml_reason
from kubelab.notebook import html
from kubelab.typography import plural

Obj = dict[str, Any]

SOLUTION_MARKER = "### BEGIN SOLUTION"
"""In the source notebook, the reference solution sits between nbgrader's markers (inside the
manifest string); nbgrader strips them from the released notebook. Only there are the fact
placeholders of ``manifests.FACT_PLACEHOLDERS`` filled: a learner's own cell never is."""

REASONS = {
    "FieldValueRequired": "valeur obligatoire manquante",
    "FieldValueInvalid": "valeur invalide",
    "FieldValueNotSupported": "valeur non prise en charge",
    "FieldValueDuplicate": "valeur en double",
    "FieldValueForbidden": "interdit",
    "FieldValueTooLong": "valeur trop longue",
    "FieldValueTooMany": "trop d'éléments",
    "FieldValueTypeInvalid": "type invalide",
    "FieldValueNotFound": "introuvable",
    "FieldManagerConflict": "conflit de propriétaire de champ",
}
"""Kubernetes's ``details.causes[].reason`` values, in French."""

EXPLANATIONS = (
    ("field not declared in schema", "champ inconnu : faute de frappe ou mauvaise indentation ?"),
    ("expected numeric", "un nombre est attendu (sans guillemets)"),
    ("expected string", "un texte est attendu"),
    ("expected map", "une table « clé: valeur » est attendue"),
    ("expected list", "une liste (« - … ») est attendue"),
    ("`selector` does not match template `labels`",
     "le sélecteur `selector` ne correspond pas aux labels du modèle de pod `template.metadata.labels`"),
    ("field is immutable", "ce champ ne se modifie plus après la création de l'objet"),
    ("updates to statefulset spec for fields other than",
     "un StatefulSet existant ne se modifie que sur quelques champs (replicas, template, updateStrategy…) : "
     "supprimez-le avec « lab.supprimer(\"StatefulSet\", NOM) » puis appliquez de nouveau"),
    ("must be greater than or equal to 0", "la valeur doit être positive ou nulle"),
    ("RFC 1123", "nom invalide : minuscules, chiffres et tirets, commençant et finissant par une lettre ou un chiffre"),
    ("Required value", "à renseigner"),
)
"""Fragments of the server's messages and what they mean, in French."""

_TYPED_PATCH = re.compile(r"(?m)(?:^|\s)\.(\S+?): (.+)$")


class _Random:
    """The marker ``ALEATOIRE``: a value drawn at random, kept once the Secret exists."""

    def __repr__(self) -> str:
        return "ALEATOIRE"


ALEATOIRE = _Random()


@dataclass(frozen=True)
class Problem:
    """One refusal: which object, which field, why (French) and the server's words."""

    subject: str
    field: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Applied:
    """One object applied, and what happened to it."""

    kind: str
    name: str
    namespace: str
    action: str


@dataclass
class ApplyReport:
    """What ``appliquer`` did: objects applied, refusals, or one error."""

    applied: list[Applied] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    error: str = ""
    empty: bool = False

    @property
    def ok(self) -> bool:
        return not self.error and not self.problems


def subject(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')} « {meta.get('name', '?')} »"


def explain(message: str) -> str:
    """The French meaning of a server message, when known."""
    return next((french_text for fragment, french_text in EXPLANATIONS if fragment in message), "")


def retarget(text: str, namespace: str, lab_namespace: str | None) -> str:
    """``__NAMESPACE__``, and the lab's own namespace when another one is used, become ``namespace``.

    A notebook shows the lab's namespace (``lab-securite``); when the session works in another
    one (``$KUBELAB_NAMESPACE``: a shared classroom cluster, tests), the same manifests land there.
    """
    text = text.replace(NAMESPACE_PLACEHOLDER, namespace)
    if lab_namespace and lab_namespace != namespace:
        text = re.sub(rf"(?<![\w.-]){re.escape(lab_namespace)}(?![\w.-])", namespace, text)
    return text


def parse(text: str, namespace: str, lab_namespace: str | None = None) -> list[Obj]:
    """The objects of the learner's YAML; ``UsageError`` quoting the faulty line otherwise."""
    text = retarget(text, namespace, lab_namespace)
    try:
        return manifest_text.parse(text, "votre manifeste")
    except UsageError as exc:
        cause = exc.__cause__
        if not isinstance(cause, yaml.YAMLError):
            raise
        mark = yaml_mark(cause)
        if mark is None:
            raise
        lines = text.splitlines()
        line = lines[mark.line] if mark.line < len(lines) else ""
        raise UsageError(
            f"YAML invalide, ligne {mark.line + 1} du manifeste, colonne {mark.column + 1} : {yaml_reason(cause)}. "
            f"Ligne en cause : `{line.strip() or '(vide)'}` — vérifiez l'indentation (des espaces, jamais de "
            "tabulations) et le « : » suivi d'un espace."
        ) from cause


def problems_from(error: KubelabError, obj: Obj) -> list[Problem]:
    """Turn a refusal of the API server into problems naming the fields at fault."""
    who = subject(obj)
    if isinstance(error, RefusedError):
        body = error.body or {}
        causes = (body.get("details") or {}).get("causes") or []
        if error.status == 404 and (body.get("details") or {}).get("kind") == "namespaces":
            namespace = (body.get("details") or {}).get("name", "?")
            return [Problem(who, "metadata.namespace", f"le namespace « {namespace} » n'existe pas : exécutez la "
                                                       "cellule « Préparer le lab » (ou créez-le)",
                            body.get("message", ""))]
        if causes:
            return [Problem(who, cause.get("field", ""), _reason(cause.get("reason", ""), cause.get("message", "")),
                            cause.get("message", "")) for cause in causes]
        message = body.get("message") or error.message
        return [Problem(who, "", explain(message) or "refusé par le serveur d'API", message)]
    if isinstance(error, ApiError) and "typed patch" in error.message:
        found = [(m.group(1), m.group(2).strip()) for m in _TYPED_PATCH.finditer(error.message.split("):", 1)[-1])]
        if found:
            return [Problem(who, path, explain(detail) or "valeur refusée", detail) for path, detail in found]
        return [Problem(who, "", "structure refusée par le schéma", error.message)]
    if isinstance(error, UsageError):
        return [Problem(who, "apiVersion/kind", error.message)]
    raise error


def _reason(reason: str, message: str) -> str:
    base = REASONS.get(reason, "refusé")
    meaning = explain(message)
    return f"{base} ({meaning})" if meaning and meaning != "à renseigner" else base


def place(api: KubeApi, objects: list[Obj], namespace: str, report: ApplyReport,
          allowed: tuple[str, ...] = ()) -> list[Obj]:
    """Put each namespaced object lacking a namespace in ``namespace``; refuse one aimed elsewhere.

    The grading reads the lab's namespace only: an object written to another one (``default``,
    a typo) would be lost work. The lab may allow other namespaces (``other_namespaces``).
    """
    placed = []
    for obj in objects:
        try:
            info = api.resource(obj["apiVersion"], obj["kind"])
        except UsageError as exc:
            report.problems.extend(problems_from(exc, obj))
            continue
        copy = {**obj, "metadata": dict(obj.get("metadata") or {})}
        if info.namespaced:
            given = copy["metadata"].get("namespace")
            if not given:
                copy["metadata"]["namespace"] = namespace
            elif given != namespace and given not in allowed:
                report.problems.append(Problem(
                    subject(obj), "metadata.namespace",
                    f"ce lab se fait dans le namespace « {namespace} », pas « {given} » : la correction n'y "
                    "cherchera pas cet objet. Retirez `metadata.namespace` (les objets vont alors dans celui du lab)"))
                continue
        placed.append(copy)
    return sorted(placed, key=lambda o: o["kind"] != "Namespace")


def dry_run(api: KubeApi, objects: list[Obj], report: ApplyReport, field_manager: str = FIELD_MANAGER) -> None:
    """Server-side dry run of every object; refusals go to ``report.problems``."""
    for obj in objects:
        try:
            api.apply(obj, dry_run=True, field_manager=field_manager)
        except (RefusedError, ApiError) as exc:
            report.problems.extend(problems_from(exc, obj))


def apply_objects(api: KubeApi, objects: list[Obj], report: ApplyReport, field_manager: str = FIELD_MANAGER) -> None:
    """Server-side apply each object, noting whether it was created, changed or unchanged."""
    for obj in objects:
        meta = obj["metadata"]
        before = api.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        try:
            after = api.apply(obj, field_manager=field_manager)
        except (RefusedError, ApiError) as exc:
            report.problems.extend(problems_from(exc, obj))
            return
        if before is None:
            action = "créé"
        elif before["metadata"].get("resourceVersion") == after.get("metadata", {}).get("resourceVersion"):
            action = "inchangé"
        else:
            action = "modifié"
        report.applied.append(Applied(obj["kind"], meta["name"], meta.get("namespace", ""), action))


def validate_and_apply(api: KubeApi, text: str, namespace: str, lab_namespace: str | None = None,
                       other_namespaces: tuple[str, ...] = (), change: bool = False) -> ApplyReport:
    """The whole ``appliquer``: parse, place, dry-run every object, then apply them all (or none).

    Objects aimed at another namespace than the lab's are refused, unless in ``other_namespaces``.
    With ``change`` (``modifier``), the objects already exist and the text holds only the fields it changes, as
    ``kubectl set image`` does: they are applied under a field manager of their own, once each controller has
    acted on the current version (``lab_setup.STEP_MANAGER``), so the other fields stay as they were.
    """
    report = ApplyReport()
    manager = STEP_MANAGER if change else FIELD_MANAGER
    if not text or not yaml_has_content(text):
        report.empty = True
        return report
    try:
        objects = parse(text, namespace, lab_namespace)
        if SOLUTION_MARKER in text:  # the instructor's own cell: fact placeholders (lab 01) are filled
            objects = manifests.fill_facts(api, objects)
        placed = place(api, objects, namespace, report, other_namespaces)
        if change and not report.problems:
            for obj in placed:
                wait_observed(api, obj, obj["metadata"].get("namespace", namespace))
        if not report.problems:
            dry_run(api, placed, report, manager)
        if not report.problems:
            apply_objects(api, placed, report, manager)
    except KubelabError as exc:
        report.error = exc.notebook_message
    return report


def yaml_has_content(text: str) -> bool:
    """Does the text hold anything but blank lines, comments and document separators?"""
    return any(line.strip() and not line.strip().startswith("#") and line.strip() not in ("---", "...")
               for line in text.splitlines())


def secret_object(api: KubeApi, namespace: str, name: str, values: dict[str, Any], secret_type: str) -> Obj:
    """The Secret to apply: ``ALEATOIRE`` values drawn at random, or kept if the Secret has them."""
    if not values:
        raise UsageError(f"Le Secret « {name} » devrait avoir au moins une clé.")
    existing = (api.get("v1", "Secret", name, namespace) or {}).get("data") or {}
    data: dict[str, str] = {}
    for key, value in values.items():
        if value is ALEATOIRE:
            data[key] = existing.get(key) or base64.b64encode(secrets.token_urlsafe(18).encode()).decode()
        elif isinstance(value, str):
            data[key] = base64.b64encode(value.encode()).decode()
        else:
            raise UsageError(f"La valeur de « {key} » devrait être un texte ou ALEATOIRE (trouvé : "
                             f"{type(value).__name__}).")
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "type": secret_type, "data": data}


def create_secret(api: KubeApi, namespace: str, name: str, values: dict[str, Any],
                  secret_type: str = "Opaque") -> ApplyReport:
    """Create or update a Secret without ever showing its values."""
    report = ApplyReport()
    try:
        obj = secret_object(api, namespace, name, values, secret_type)
        dry_run(api, [obj], report)
        if not report.problems:
            apply_objects(api, [obj], report)
    except KubelabError as exc:
        report.error = exc.notebook_message
    return report


def api_version_of(kind: str) -> str:
    """The API version of a built-in kind (``StatefulSet`` -> ``apps/v1``)."""
    found = [version for version, known in BUILTIN_RESOURCES if known.lower() == kind.lower()]
    if not found:
        raise UsageError(f"Type inconnu : « {kind} » ; précisez api_version=… (par exemple \"apps/v1\").")
    return found[0]


def canonical_kind(kind: str) -> str:
    return next((known for _, known in BUILTIN_RESOURCES if known.lower() == kind.lower()), kind)


def render(report: ApplyReport, secret_keys: list[str] | None = None) -> str:
    """The report as HTML."""
    parts: list[str] = []
    if report.empty:
        return html.notice(html.text("Rien à appliquer pour l'instant : écrivez le manifeste YAML entre les "
                                     "guillemets \"\"\" (à la place de « # VOTRE CODE ICI »)."))
    if report.error:
        parts.append(html.notice(f"<b>✗ Non appliqué.</b> {html.text(report.error)}", "error"))
    if report.problems:
        count = len({p.subject for p in report.problems})
        items = "".join(
            f"<li><b>{html.text(p.subject)}</b>"
            + (f" — champ <code>{html.text(p.field)}</code>" if p.field else "")
            + f" : {html.text(p.reason)}"
            + (f'<br><span style="color: {html.GREY}">Détail du serveur : {html.text(p.detail)}</span>'
               if p.detail else "")
            + "</li>"
            for p in report.problems)
        by_server = any(p.detail for p in report.problems)
        why = "le serveur d'API a refusé la validation (dry-run)" if by_server else "la validation a échoué"
        parts.append(html.notice(
            f"<b>✗ Rien n'a été appliqué</b> : {why} — {html.text(plural(count, 'objet refusé', 'objets refusés'))}."
            f'<ul style="margin: 4px 0 0 0">{items}</ul>', "error"))
    if report.applied and not report.problems:
        rows = [[html.text(a.kind), f"<code>{html.text(a.name)}</code>", html.text(a.namespace or "—"),
                 html.badge(a.action, html.GREEN if a.action != "inchangé" else html.GREY,
                            html.LIGHT_GREEN if a.action != "inchangé" else html.LIGHT_GREY)]
                for a in report.applied]
        title = "✓ Validé puis appliqué (server-side apply)"
        extra = ""
        if secret_keys is not None:
            extra = (f"<br>Clés : {html.text(', '.join(secret_keys))}. Les valeurs ne sont jamais affichées ; "
                     "une valeur ALEATOIRE est tirée au hasard puis conservée.")
        parts.append(html.notice(f"<b>{html.text(title)}</b>{extra}"
                                 + html.table(["Type", "Nom", "Namespace", "Résultat"], rows), "ok"))
    return "".join(parts)
