"""Snapshots: the cluster state a lab's checks read, saved as one versioned JSON file.

A snapshot holds the lists the lab declares (sanitised: no Secret values), the results of
its allowed probes, the cluster's identity (kube-system UID, server version), the capture
time, the lab id, the tool version and a SHA-256 of its content. A snapshot written by a
notebook's « Soumettre » also says for which assignment and learner it was captured.

What the hash proves: the file was not edited by accident after capture. It does not stop
a learner who recomputes it (the learner controls their machine, so no key can live in the
notebook): for an exam, grade a cluster the instructor controls (``--namespaces``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubelab import __version__
from kubelab.catalog import Lab
from kubelab.cluster_state import SnapshotState
from kubelab.errors import UsageError
from kubelab.live_state import LiveState

FORMAT = "kubelab-snapshot"
VERSION = 1

Document = dict[str, Any]


def content_hash(document: Document) -> str:
    """SHA-256 of the canonical JSON of everything but the hash itself."""
    body = {key: value for key, value in document.items() if key != "sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def capture(lab: Lab, state: LiveState, submission: dict[str, str] | None = None) -> Document:
    """Read everything ``lab`` needs from the live cluster into a snapshot document.

    ``submission`` (``assignment``, ``learner``) records for whom a notebook captured it.
    """
    lists, probes = state.capture()
    document: Document = {
        "format": FORMAT,
        "version": VERSION,
        "lab": lab.id,
        "namespace": state.namespace,
        "captured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool_version": __version__,
        "cluster": state.identity(),
        "lists": lists,
        "probes": probes,
    }
    if submission is not None:
        document["submission"] = dict(submission)
    document["sha256"] = content_hash(document)
    return document


def write(document: Document, path: Path) -> None:
    """Write atomically: a crash never leaves a half-written snapshot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, ensure_ascii=False, sort_keys=True)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_document(path: Path) -> Document:
    """Load and validate a snapshot file; a French error naming the file otherwise."""
    if not path.is_file():
        raise UsageError(f"L'instantané « {path} » est introuvable.")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"L'instantané « {path} » est illisible : ce n'est pas un fichier texte JSON.") from exc
    except json.JSONDecodeError as exc:
        unreadable = (f"L'instantané « {path} » est illisible (JSON invalide ligne {exc.lineno}, colonne "
                      f"{exc.colno}) : fichier tronqué ou corrompu. ")
        raise UsageError(unreadable + "Capturez-le de nouveau avec « kubelab snapshot ».",
                         notebook=unreadable + "Cliquez de nouveau sur « Soumettre ».") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UsageError(f"« {path} » n'est pas un instantané kubelab (champ « format » absent ou différent).")
    version = document.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise UsageError(
            f"L'instantané « {path} » est au format {version}, plus récent que ce kubelab "
            f"(format {VERSION}, version {__version__}) : mettez kubelab à jour."
        )
    for field in ("lab", "namespace", "lists", "probes", "cluster", "sha256"):
        if field not in document:
            raise UsageError(f"L'instantané « {path} » est incomplet : le champ « {field} » manque.")
    if document["sha256"] != content_hash(document):
        raise UsageError(
            f"L'instantané « {path} » a été modifié après sa capture (empreinte SHA-256 différente) : "
            "il n'est pas noté."
        )
    return document


def _captured_at(document: Document, path: Path) -> datetime | None:
    """When the snapshot was captured (``None`` for a snapshot that does not say)."""
    value = document.get("captured_at")
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        moment = None
    if moment is None or moment.tzinfo is None:
        raise UsageError(f"L'instantané « {path} » a un champ « captured_at » illisible ({value!r}) : "
                         "il faut une date ISO 8601 avec fuseau, comme kubelab l'écrit.")
    return moment


def load_state(lab: Lab, path: Path) -> tuple[SnapshotState, Document]:
    """The state stored in a snapshot of ``lab``."""
    document = read_document(path)
    if document["lab"] != lab.id:
        raise UsageError(f"L'instantané « {path} » concerne le lab « {document['lab']} », pas « {lab.id} ».")
    state = SnapshotState(document["namespace"], lab.reads, lab.probes, document["lists"], document["probes"],
                          document["cluster"], _captured_at(document, path))
    missing = sorted(key for key in state.reads if key not in document["lists"])
    if missing:
        raise UsageError(f"L'instantané « {path} » ne contient pas {', '.join(f'« {k} »' for k in missing)}, "
                         f"que le lab « {lab.id} » lit : capturez-le à nouveau avec cette version de kubelab.")
    return state, document
