"""``ouvrir_lab(...)``: what a lab notebook calls, one short line per cell.

A ``LabSession`` holds the lab, its namespace and the connection. Every method displays its
result in French and never raises for the learner's mistakes or an unreachable cluster; a
lab that cannot be opened at all (``ouvrir_lab("99-inconnu")``) stops the notebook with a
French message and no traceback. When nbgrader executes the notebook (autograde, validate),
nothing is written: no manifest is applied and no snapshot captured; the test cells grade
the submitted snapshot.
"""

from __future__ import annotations

from typing import Any

from kubelab import lab_setup, prerequisites
from kubelab.catalog import load_lab
from kubelab.errors import KubelabError, UsageError
from kubelab.grading import grade, live_state
from kubelab.kube_api import KubeApi
from kubelab.notebook import applying, checklist, html, submission, submitted
from kubelab.notebook.cluster import Cluster, find_cluster, how_to_connect
from kubelab.notebook.dashboard import Dashboard
from kubelab.notebook.environment import Mode, current_mode, lab_namespace, snapshot_path
from kubelab.outcomes import GradeReport
from kubelab.typography import french

OFFLINE = {
    Mode.AUTOGRADE: "Correction automatique (nbgrader autograde)",
    Mode.VALIDATE: "Validation (nbgrader validate)",
}


class NoCluster(KubelabError):
    """No cluster answered: the learner has to start one."""


class LabNotOpened(UsageError):
    """``ouvrir_lab`` cannot open this lab. IPython shows ``_render_traceback_`` instead of a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[1;31m✗ {french(self.notebook_message)}\x1b[0m"]


class LabSession:
    """One lab in one notebook: its namespace, its cluster, its helpers."""

    def __init__(self, lab_id: str) -> None:
        self.lab = load_lab(lab_id)
        self.namespace = lab_namespace(self.lab)
        self.mode = current_mode()
        self._cluster: Cluster | None = None
        self._dashboards: list[Dashboard] = []
        self.verify_button: checklist.VerifyButton | None = None
        self.submit_button: submission.SubmitButton | None = None

    # --- connection ------------------------------------------------------------------

    @property
    def offline(self) -> bool:
        return self.mode is not Mode.LEARNER

    def cluster(self) -> Cluster:
        """The connection, opened on first use (and retried until a cluster answers)."""
        if self._cluster is None:
            try:
                self._cluster = find_cluster()
            except KubelabError as exc:
                raise NoCluster(f"{exc.notebook_message}\n{how_to_connect()}") from exc
        return self._cluster

    @property
    def api(self) -> KubeApi:
        return self.cluster().api

    def _offline_notice(self, what: str) -> None:
        html.show(html.notice(f"<b>{html.text(OFFLINE[self.mode])}</b> : {html.text(what)}"))

    def _error(self, exc: KubelabError) -> None:
        html.show(html.notice(f"<b>⚠</b> {html.lines(exc.notebook_message)}", "error"))

    def connexion(self) -> None:
        """Find the cluster and say which one it is."""
        if self.offline:
            path = snapshot_path()
            found = (f"l'instantané « {path.name} » soumis avec le notebook est noté, sans contacter de cluster"
                     if path.is_file() else f"aucun instantané « {path.name} » n'a été soumis : chaque vérification "
                                            "vaudra 0 (aucun cluster n'est lu à sa place)")
            self._offline_notice(f"{found}. Aucune cellule n'écrit dans un cluster.")
            return
        try:
            cluster = self.cluster()
        except KubelabError as exc:
            self._error(exc)
            return
        html.show(html.notice(
            f"<b>✓ Connecté</b> {html.text(cluster.summary)}.<br>Lab « {html.text(self.lab.title)} », "
            f"namespace « <code>{html.text(self.namespace)}</code> ».", "ok"))

    # --- preparing and looking -------------------------------------------------------------

    def preparer(self, etape: int = 1) -> None:
        """Check what the lab needs, then create its namespace and what it provides (``kubelab lab setup``), or run
        a later step of the preparation (``kubelab lab setup --step N``)."""
        if self.offline:
            self._offline_notice("rien n'est préparé.")
            return
        try:
            findings = prerequisites.check(self.api, self.lab.requires) if etape == 1 else []
            lab_setup.setup(self.api, self.lab, self.namespace, step=etape)
        except KubelabError as exc:
            self._error(exc)
            return
        if etape != 1:
            description = html.text(self.lab.setup_steps[etape].description)
            html.show(html.notice(f"<b>✓ Étape {etape} faite</b> : {description}.", "ok"))
            self._changed()
            return
        needs = html.bullets(prerequisites.lines(findings), symbols=True)
        absent = prerequisites.missing(findings)
        where = f"namespace « <code>{html.text(self.namespace)}</code> »"
        if absent:
            html.show(html.notice(
                f"<b>✗ Lab pas prêt</b> : il manque au cluster : {html.text(', '.join(f.need for f in absent))}. "
                f"Le {where} est créé ; une fois ce qui manque activé, exécutez de nouveau cette cellule.{needs}",
                "error"))
        else:
            extra = " et les objets fournis par le lab (dossier setup/)" if (self.lab.folder / "setup").is_dir() else ""
            html.show(html.notice(f"<b>✓ Lab prêt</b> : {where}{extra}.{needs}", "ok"))
        self._refresh_dashboards()

    def tableau_de_bord(self) -> None:
        """The live dashboard: nodes and roles, the lab's pods per node, its claims, the submission."""
        if self.offline:
            self._offline_notice("le tableau de bord ne s'affiche pas pendant la correction.")
            return
        try:
            board = Dashboard(self.api, self.lab, self.namespace, lambda: submitted.status(self.lab).html())
        except KubelabError as exc:
            self._error(exc)
            return
        board.refresh()
        for old in self._dashboards:
            old.stop()
        self._dashboards = [board]
        from IPython.display import display

        display(board)

    def _refresh_dashboards(self) -> None:
        for board in self._dashboards:
            board.refresh()

    def _changed(self) -> None:
        """Objects were written from the notebook: a snapshot taken before is stale; follow the cluster."""
        submitted.record_change(self.lab.id)
        for board in self._dashboards:
            board.follow()
        self._show_status()

    def _show_status(self) -> None:
        """Say again where the submission stands, next to « Vérifier » and « Soumettre »."""
        if self.verify_button is not None:
            self.verify_button.show_status(submitted.status(self.lab, self._current_verification()).html())
        if self.submit_button is not None:
            self.submit_button.refresh()

    # --- writing -----------------------------------------------------------------------

    def appliquer(self, manifeste: str) -> None:
        """Validate the YAML (server-side dry run), then apply it (server-side apply)."""
        self._apply(manifeste, change=False)

    def modifier(self, manifeste: str) -> None:
        """Change objects already applied with only the fields written here (as « kubectl set image »), once
        their controller has taken the previous version into account."""
        self._apply(manifeste, change=True)

    def _apply(self, manifeste: str, change: bool) -> None:
        if self.offline:
            self._offline_notice("rien n'est appliqué.")
            return
        wrong = _wrong_types(f"lab.{'modifier' if change else 'appliquer'}(...) attend le texte YAML d'un manifeste, "
                             'entre guillemets """', (manifeste, str))
        if wrong is not None:
            self._error(wrong)
            return
        try:
            api = self.api
        except KubelabError as exc:
            self._error(exc)
            return
        report = applying.validate_and_apply(api, manifeste, self.namespace, self.lab.namespace,
                                             self.lab.other_namespaces, change=change)
        html.show(applying.render(report))
        if report.applied:
            self._changed()

    def creer_secret(self, nom: str, valeurs: dict[str, Any], type: str = "Opaque") -> None:
        """Create or update a Secret; ``ALEATOIRE`` draws a value at random. Values are never shown."""
        if self.offline:
            self._offline_notice("aucun Secret n'est créé.")
            return
        wrong = _wrong_types("lab.creer_secret(NOM, {CLÉ: VALEUR, …}) attend un nom (texte) et une table de valeurs",
                             (nom, str), (valeurs, dict))
        if wrong is not None:
            self._error(wrong)
            return
        try:
            api = self.api
        except KubelabError as exc:
            self._error(exc)
            return
        report = applying.create_secret(api, self.namespace, nom, dict(valeurs), type)
        html.show(applying.render(report, secret_keys=list(valeurs)))
        if report.applied:
            self._changed()

    def supprimer(self, type_objet: str, nom: str, api_version: str | None = None) -> None:
        """Delete one object of the lab's namespace (to re-create it, or start again)."""
        if self.offline:
            self._offline_notice("rien n'est supprimé.")
            return
        try:
            kind = applying.canonical_kind(type_objet)
            version = api_version or applying.api_version_of(kind)
            namespaced = self.api.resource(version, kind).namespaced
            gone = self.api.delete(version, kind, nom, self.namespace if namespaced else None)
        except KubelabError as exc:
            self._error(exc)
            return
        message = f"✓ {kind} « {nom} » supprimé." if gone else f"{kind} « {nom} » n'existait pas : rien à supprimer."
        html.show(html.notice(html.text(message), "ok" if gone else "info"))
        if gone:
            self._changed()

    # --- grading -----------------------------------------------------------------------

    def noter_visible(self) -> tuple[GradeReport, str]:
        """Grade the visible checks now, without waiting (what « Vérifier » shows)."""
        state = live_state(self.lab, self.api, self.namespace, submission.ALLOW)
        report = grade(self.lab, state, include_hidden=False, wait=0)
        return report, f"namespace « {self.namespace} »"

    def _current_verification(self) -> GradeReport | None:
        """The last « Vérifier » report, if nothing changed from the notebook since."""
        button = self.verify_button
        if button is None or button.last_report is None:
            return None
        changed = submitted.last_change(self.lab.id)
        return button.last_report if changed is None or changed <= button.last_at else None

    def verifier(self) -> None:
        """The « Vérifier » button, its checklist and where the submission stands."""
        if self.offline:
            self._offline_notice("le bouton « Vérifier » ne sert pas ici ; la note vient des cellules de correction.")
            return
        self.verify_button = checklist.VerifyButton(self.noter_visible,
                                                    lambda report: submitted.status(self.lab, report).html())
        from IPython.display import display

        display(self.verify_button)

    def soumettre(self) -> None:
        """The « Soumettre » button: a click captures the lab's snapshot next to the notebook."""
        if self.offline:
            path = snapshot_path()
            self._offline_notice(f"l'instantané « {path.name} » soumis est noté tel quel." if path.is_file()
                                 else f"aucun instantané « {path.name} » n'a été soumis.")
            return
        self.submit_button = submission.SubmitButton(self._submit_now, lambda: submitted.status(self.lab).html())
        from IPython.display import display

        display(self.submit_button)

    def _submit_now(self) -> str:
        done = submission.submit(self.lab, self.api, self.namespace)
        self._show_status()
        self._refresh_dashboards()
        return submission.render(done)


def _wrong_types(expectation: str, *values: tuple[object, type]) -> UsageError | None:
    """The French error for a learner's call with arguments of the wrong type (``None`` when they are right)."""
    if all(isinstance(value, expected) for value, expected in values):
        return None
    found = ", ".join(type(value).__name__ for value, _ in values)
    return UsageError(f"{expectation} (trouvé : {found}).")


def ouvrir_lab(lab_id: str) -> LabSession:
    """The session of a lab notebook: ``lab = ouvrir_lab("03-stockage-pvc")``."""
    wrong = _wrong_types("ouvrir_lab(...) attend l'identifiant d'un lab, entre guillemets", (lab_id, str))
    if wrong is not None:
        raise LabNotOpened(wrong.message)
    try:
        return LabSession(lab_id)
    except KubelabError as exc:
        raise LabNotOpened(f"{exc.notebook_message} Vérifiez l'identifiant passé à ouvrir_lab(…) : la première "
                           "cellule de code du notebook l'indique.") from None
