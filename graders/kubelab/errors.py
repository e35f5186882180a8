"""The two error families, never confused.

``UsageError`` is bad input (exit 2). ``InfrastructureError`` is a problem of the cluster or
the machine (exit 3): « non noté, à relancer », never the learner's fault.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_NOT_FULL_SCORE = 1
EXIT_USAGE = 2
EXIT_INFRASTRUCTURE = 3


class KubelabError(Exception):
    """An error whose French message is meant for the user as is.

    ``message`` may advise command-line options (``--namespace``); ``notebook_message`` is the
    same error with the advice a notebook user can follow (« exécutez la cellule … »).
    """

    exit_code: int = EXIT_USAGE

    def __init__(self, message: str, *, notebook: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.notebook_message = notebook or message


class UsageError(KubelabError):
    """Bad input: unknown lab, malformed file, wrong option (exit 2)."""

    exit_code = EXIT_USAGE


class InfrastructureError(KubelabError):
    """The cluster or the machine failed us (exit 3): not the learner's fault."""

    exit_code = EXIT_INFRASTRUCTURE
