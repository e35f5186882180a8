"""``ouvrir_lab(...)``: what a lab notebook calls, one short line per cell.

A ``LabSession`` holds the lab, its namespace and the connection. Every method displays its
result in French and never raises for the learner's mistakes or an unreachable cluster.
When nbgrader executes the notebook (autograde, validate), nothing is written: no manifest
is applied and no snapshot captured; the test cells grade the submitted snapshot.
"""

from __future__ import annotations

import time
from typing import Any

from kubelab import lab_setup
from kubelab.catalog import load_lab
from kubelab.errors import KubelabError
from kubelab.grading import grade, live_state
from kubelab.kube_api import KubeApi
from kubelab.notebook import applying, autograde, checklist, html, submission
from kubelab.notebook.cluster import Cluster, find_cluster, how_to_connect
from kubelab.notebook.dashboard import Dashboard
from kubelab.notebook.environment import Mode, current_mode, lab_namespace, snapshot_path
from kubelab.outcomes import GradeReport

OFFLINE = {
    Mode.AUTOGRADE: "Correction automatique (nbgrader autograde)",
    Mode.VALIDATE: "Validation (nbgrader validate)",
}


class NoCluster(KubelabError):
    """No cluster answered: the learner has to start one."""


class LabSession:
    """One lab in one notebook: its namespace, its cluster, its helpers."""

    def __init__(self, lab_id: str) -> None:
        self.lab = load_lab(lab_id)
        self.namespace = lab_namespace(self.lab)
        self.mode = current_mode()
        self._cluster: Cluster | None = None
        self._dashboards: list[Dashboard] = []
        self.verify_button: checklist.VerifyButton | None = None

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
                raise NoCluster(f"{exc.message}\n{how_to_connect()}") from exc
        return self._cluster

    @property
    def api(self) -> KubeApi:
        return self.cluster().api

    def _offline_notice(self, what: str) -> None:
        html.show(html.notice(f"<b>{html.text(OFFLINE[self.mode])}</b> : {html.text(what)}"))

    def _error(self, exc: KubelabError) -> None:
        message = html.text(exc.message).replace("\n", "<br>")
        html.show(html.notice(f"<b>⚠</b> {message}", "error"))

    def connexion(self) -> None:
        """Find the cluster and say which one it is."""
        if self.offline:
            path = snapshot_path()
            found = (f"l'instantané « {path.name} » soumis avec le notebook est noté, sans contacter de cluster"
                     if path.is_file() else f"aucun instantané « {path.name} » : les cellules de correction liront "
                                            "le cluster en direct s'il répond")
            self._offline_notice(f"{found}. Aucune cellule n'écrit dans un cluster.")
            return
        try:
            cluster = self.cluster()
        except KubelabError as exc:
            self._error(exc)
            return
        html.show(html.notice(
            f"<b>✓ Connecté</b> à {html.text(cluster.summary)}.<br>Lab « {html.text(self.lab.title)} », "
            f"namespace « <code>{html.text(self.namespace)}</code> ».", "ok"))

    # --- preparing and looking -------------------------------------------------------------

    def preparer(self, etape: int = 1) -> None:
        """Create the lab's namespace and what the lab provides (``kubelab lab setup``), or run a later step of
        the preparation (``kubelab lab setup --step N``)."""
        if self.offline:
            self._offline_notice("rien n'est préparé.")
            return
        try:
            lab_setup.setup(self.api, self.lab, self.namespace, step=etape)
        except KubelabError as exc:
            self._error(exc)
            return
        if etape != 1:
            description = html.text(self.lab.setup_steps[etape].description)
            html.show(html.notice(f"<b>✓ Étape {etape} faite</b> : {description}.", "ok"))
            self._refresh_dashboards()
            return
        provided = self.lab.folder / "setup"
        extra = " et les objets fournis par le lab (dossier setup/)" if provided.is_dir() else ""
        html.show(html.notice(f"<b>✓ Lab prêt</b> : namespace "
                              f"« <code>{html.text(self.namespace)}</code> »{extra}.", "ok"))
        self._refresh_dashboards()

    def tableau_de_bord(self) -> None:
        """The live dashboard: nodes and roles, the lab's pods per node, its claims."""
        if self.offline:
            self._offline_notice("le tableau de bord ne s'affiche pas pendant la correction.")
            return
        try:
            board = Dashboard(self.api, self.lab, self.namespace)
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
        try:
            api = self.api
        except KubelabError as exc:
            self._error(exc)
            return
        report = applying.validate_and_apply(api, manifeste, self.namespace, self.lab.namespace, change=change)
        autograde.invalidate()
        html.show(applying.render(report))
        if report.applied:
            self._refresh_dashboards()

    def creer_secret(self, nom: str, valeurs: dict[str, Any], type: str = "Opaque") -> None:
        """Create or update a Secret; ``ALEATOIRE`` draws a value at random. Values are never shown."""
        if self.offline:
            self._offline_notice("aucun Secret n'est créé.")
            return
        try:
            api = self.api
        except KubelabError as exc:
            self._error(exc)
            return
        report = applying.create_secret(api, self.namespace, nom, dict(valeurs), type)
        autograde.invalidate()
        html.show(applying.render(report, secret_keys=list(valeurs)))

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
        autograde.invalidate()
        message = f"✓ {kind} « {nom} » supprimé." if gone else f"{kind} « {nom} » n'existait pas : rien à supprimer."
        html.show(html.notice(html.text(message), "ok" if gone else "info"))
        self._refresh_dashboards()

    # --- grading -----------------------------------------------------------------------

    def noter_visible(self) -> tuple[GradeReport, str]:
        """Grade the visible checks now, without waiting (what « Vérifier » shows)."""
        state = live_state(self.lab, self.api, self.namespace, submission.ALLOW)
        report = grade(self.lab, state, include_hidden=False, wait=0)
        return report, f"namespace « {self.namespace} »"

    def verifier(self) -> None:
        """The « Vérifier » button and its checklist."""
        if self.offline:
            self._offline_notice("le bouton « Vérifier » ne sert pas ici ; la note vient des cellules de correction.")
            return
        self.verify_button = checklist.VerifyButton(self.noter_visible)
        from IPython.display import display

        display(self.verify_button)

    def soumettre(self) -> None:
        """Capture the lab's snapshot next to the notebook, for nbgrader to collect."""
        if self.offline:
            path = snapshot_path()
            self._offline_notice(f"l'instantané « {path.name} » soumis est noté tel quel." if path.is_file()
                                 else f"aucun instantané « {path.name} » n'a été soumis.")
            return
        started = time.monotonic()
        try:
            done = submission.submit(self.lab, self.api, self.namespace)
        except KubelabError as exc:
            self._error(exc)
            return
        autograde.invalidate()
        html.show(submission.render(done) + html.notice(
            html.text(f"Capture en {time.monotonic() - started:.1f} s."), "info"))


def ouvrir_lab(lab_id: str) -> LabSession:
    """The session of a lab notebook: ``lab = ouvrir_lab("03-stockage-pvc")``."""
    return LabSession(lab_id)
