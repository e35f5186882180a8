"""Two nbgrader preprocessors of the course, configured in ``notebooks/nbgrader_config.py``.

``RestoreHiddenTests`` works around nbgrader issue 1961: ``generate_assignment`` stores in the
gradebook the checksum of a test cell *with* its hidden tests, while the learner receives
the cell *without* them; at autograde every untouched cell that has hidden tests then logs
a false « Attribute 'checksum' for cell … has changed! ». A cell whose source is exactly the
released one (the gradebook's source with its hidden regions removed, by nbgrader's own
``ClearHiddenTests``) gets its hidden tests back silently; a cell the learner really edited
is still reported and replaced by nbgrader, as before.

``SubmissionContext`` runs before ``Execute`` at autograde and tells the kernel, through its
environment, which assignment and learner it grades and the window the snapshot's capture
must fall in (``kubelab.notebook.provenance``): from ``opens[assignment]`` if the course sets
it, to the submission's timestamp plus ``tolerance_seconds``.
"""

from __future__ import annotations

import os
from datetime import UTC, timedelta
from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor, OverwriteCells
from traitlets import Bool, Dict, Int

from kubelab.notebook.environment import (
    EXPECT_ASSIGNMENT_ENV,
    EXPECT_LEARNER_ENV,
    WINDOW_CLOSES_ENV,
    WINDOW_OPENS_ENV,
)


class RestoreHiddenTests(OverwriteCells):
    """``OverwriteCells`` without the false checksum warning of untouched cells with hidden tests."""

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict,
                        cell_index: int) -> tuple[NotebookNode, ResourcesDict]:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and cell.cell_type == "code":
            try:
                original = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                original = None
            if original is not None and original.locked and self._released(original.source) == cell.source.rstrip():
                cell.source = original.source
        return super().preprocess_cell(cell, resources, cell_index)

    def _released(self, source: str) -> str | None:
        """What ``generate_assignment`` handed out for this source, or ``None`` if it has no hidden tests."""
        copy = NotebookNode({"cell_type": "code", "source": source, "metadata": {}})
        if not ClearHiddenTests(config=self.config)._remove_hidden_test_region(copy):
            return None
        return copy.source.rstrip()


class SubmissionContext(NbGraderPreprocessor):
    """Pass the assignment, the learner and the capture window to the autograde kernel."""

    check_learner = Bool(True, help="Refuser un instantané capturé par un autre apprenant.").tag(config=True)
    opens = Dict({}, help="Ouverture de chaque devoir (ISO 8601) : un instantané capturé avant est refusé, "
                          "ex. {'03-stockage-pvc': '2025-09-01T08:00:00+02:00'}.").tag(config=True)
    tolerance_seconds = Int(300, help="Décalage d'horloge toléré entre la capture et la soumission.").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        grading: dict[str, Any] = resources["nbgrader"]
        assignment, student = grading["assignment"], grading["student"]
        os.environ[EXPECT_ASSIGNMENT_ENV] = assignment
        os.environ[EXPECT_LEARNER_ENV] = student if self.check_learner else ""
        os.environ[WINDOW_OPENS_ENV] = str(self.opens.get(assignment, ""))
        os.environ[WINDOW_CLOSES_ENV] = self._closes(grading["db_url"], assignment, student)
        return nb, resources

    def _closes(self, db_url: str, assignment: str, student: str) -> str:
        with Gradebook(db_url) as gradebook:
            try:
                submitted = gradebook.find_submission(assignment, student).timestamp
            except MissingEntry:
                return ""
        if submitted is None:
            return ""
        moment = submitted if submitted.tzinfo else submitted.replace(tzinfo=UTC)
        return (moment + timedelta(seconds=self.tolerance_seconds)).isoformat()


def with_course_hooks(sanitize: list[type], autograde: list[type]) -> tuple[list[type], list[type]]:
    """nbgrader's default preprocessor lists, with ``RestoreHiddenTests`` and ``SubmissionContext`` in place."""
    sanitized = [RestoreHiddenTests if step is OverwriteCells else step for step in sanitize]
    position = autograde.index(Execute)
    return sanitized, [*autograde[:position], SubmissionContext, *autograde[position:]]
