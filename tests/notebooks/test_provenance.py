"""Before autograde trusts a snapshot: does it belong to this assignment and learner, captured in the window?

``provenance.problem`` is a pure function of the snapshot's origin and of what nbgrader's
``SubmissionContext`` told the kernel; the full path through nbgrader (a learner submitting
another learner's snapshot) is in ``test_pipeline.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kubelab.notebook.environment import Expectation
from kubelab.notebook.provenance import problem

ORIGIN = {"captured_at": "2025-09-10T08:30:00+00:00",
          "submission": {"assignment": "03-stockage-pvc", "learner": "alice"}}
EXPECTED = Expectation("03-stockage-pvc", "alice", datetime(2025, 9, 1, tzinfo=UTC),
                       datetime(2025, 9, 10, 9, 0, tzinfo=UTC))


def test_own_snapshot_within_the_window_is_trusted() -> None:
    assert problem(ORIGIN, EXPECTED) is None


def test_nothing_expected_outside_autograde() -> None:
    assert problem({"captured_at": "2020-01-01T00:00:00+00:00"}, Expectation()) is None


@pytest.mark.parametrize(("origin", "reason"), [
    ({**ORIGIN, "submission": {"assignment": "04-networkpolicies", "learner": "alice"}},
     "capturé pour le devoir « 04-networkpolicies », pas pour « 03-stockage-pvc »"),
    ({**ORIGIN, "submission": {"assignment": "03-stockage-pvc", "learner": "bob"}},
     "capturé par « bob », pas par « alice »"),
    ({**ORIGIN, "captured_at": "2024-09-10T08:30:00+00:00"},
     "capturé le 10/09/2024 08:30:00 UTC, avant l'ouverture du devoir (01/09/2025 00:00:00 UTC)"),
    ({**ORIGIN, "captured_at": "2025-09-10T10:00:00+02:00"}, None),
    ({**ORIGIN, "captured_at": "2025-09-10T09:30:00+00:00"},
     "capturé le 10/09/2025 09:30:00 UTC, après la soumission du devoir (10/09/2025 09:00:00 UTC)"),
    ({"captured_at": ORIGIN["captured_at"]}, "il ne dit pas pour quel devoir ni quel apprenant"),
    ({**ORIGIN, "captured_at": "hier"}, "sa date de capture est illisible"),
])
def test_foreign_or_out_of_window_snapshot_is_refused(origin: dict, reason: str | None) -> None:
    """Another assignment, another learner, before the opening, after the submission, no provenance, bad date."""
    found = problem(origin, EXPECTED)
    if reason is None:
        assert found is None, found
    else:
        assert found is not None and found.startswith("instantané refusé : ") and reason in found, found
