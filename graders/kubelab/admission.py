"""Why the API server's admission refused an object, read from its answer.

Labs probe admission with server-side dry runs (a pod that the quota must refuse, a
privileged pod that Pod Security must refuse). The answer names the plugin that refused:
the check then tells the learner which of their objects spoke, instead of guessing.
"""

from __future__ import annotations

import re

QUOTA = "quota"
LIMIT_RANGE = "limitrange"
POD_SECURITY = "podsecurity"
OTHER = "other"

CAUSES = (
    (QUOTA, re.compile(r"exceeded quota|must specify (requests|limits)|status unknown for quota")),
    (LIMIT_RANGE, re.compile(r"(maximum|minimum) (cpu|memory|ephemeral-storage|storage) usage per (Container|Pod)"
                             r"|(cpu|memory) max limit to request ratio per (Container|Pod)|LimitRange")),
    (POD_SECURITY, re.compile(r"violates PodSecurity")),
)

WHO = {QUOTA: "le ResourceQuota", LIMIT_RANGE: "le LimitRange", POD_SECURITY: "Pod Security Admission",
       OTHER: "un contrôle d'admission"}


def cause(message: str) -> str:
    """The plugin behind a refusal message: ``quota``, ``limitrange``, ``podsecurity`` or ``other``."""
    return next((name for name, pattern in CAUSES if pattern.search(message)), OTHER)


def reason(message: str) -> str:
    """The refusal without its « pods "x" is forbidden: » prefix."""
    return message.split("forbidden: ", 1)[-1].strip()
