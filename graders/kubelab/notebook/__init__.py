"""What lab notebooks import: short helpers so that notebook cells stay one line long.

``ouvrir_lab`` opens a lab (connection, dashboard, apply, « Vérifier », submission),
``noter`` is the body of each locked test cell, ``quiz`` grades the multiple-choice
questions, ``ALEATOIRE`` asks ``creer_secret`` for a random value.
"""

from __future__ import annotations

from kubelab.notebook import quiz
from kubelab.notebook.applying import ALEATOIRE
from kubelab.notebook.autograde import noter
from kubelab.notebook.session import LabSession, ouvrir_lab

__all__ = ["ALEATOIRE", "LabSession", "noter", "ouvrir_lab", "quiz"]
