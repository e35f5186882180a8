"""Grading never writes to the cluster: proved from the API server's own audit log.

How the grading requests are told apart from everything else (the sandbox's controllers,
kwok, the test's own admin connection): the grading process authenticates as a dedicated
user, a client certificate minted for this test with the sandbox's CA and a unique common
name, bound to ``cluster-admin``. Full rights matter: a write attempt by the grader would
then succeed and could not hide behind a 403 (a refused request is audited too, but this
way the grade is also the real one: full marks, which proves the grader did read
everything). Every audit event of that user is the grader's, whatever its timing, user
agent or concurrency with other tests, so no time window is needed.

The audit policy is level Metadata: no request bodies, and dry runs only show in the
request URI's query string (``dryRun=All``). A mutating verb (create, update, patch, delete,
deletecollection) is allowed only with ``--allow-dry-run`` and only as a dry run or an
access review (SubjectAccessReview and friends write nothing but are « create »).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubelab.catalog import Lab, lab_ids, load_lab
from kubelab.errors import KubelabError, UsageError
from kubelab.kube_api import KubeApi
from kubelab.lab_setup import apply_variant, setup
from tests.engine.conftest import (
    LAB03,
    MUTATING_VERBS,
    bind_cluster_role,
    mint_kubeconfig,
    settled_audit_events,
    unique_user,
    wait_authorized,
)
from tests.helpers import run_cli

REVIEWS = {"subjectaccessreviews", "selfsubjectaccessreviews", "localsubjectaccessreviews",
           "selfsubjectrulesreviews", "tokenreviews"}


def _allowed_write(event: dict, allow_dry_run: bool) -> bool:
    if not allow_dry_run:
        return False
    query = event.get("requestURI", "").partition("?")[2].split("&")
    return "dryRun=All" in query or (event.get("objectRef") or {}).get("resource") in REVIEWS


@pytest.fixture
def grader_identity(sandbox: Any, kube_api: KubeApi, tmp_path: Path):
    """A factory of grader-only identities with cluster-admin rights: (user name, kubeconfig)."""
    bindings = []

    def make() -> tuple[str, Path]:
        user = unique_user("correcteur")
        bindings.append(bind_cluster_role(kube_api, user, "cluster-admin"))
        wait_authorized(kube_api, user, "list", "secrets", "kube-system")
        return user, mint_kubeconfig(sandbox, tmp_path / f"{user}.kubeconfig", user)

    yield make
    for binding in bindings:
        kube_api.delete("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", binding)


def _writes(events: list[dict], allow_dry_run: bool) -> list[str]:
    """The mutating requests among ``events`` that the grading was not allowed to make."""
    return [f"{e['verb']} {e['requestURI']} ({e.get('userAgent', '?')})" for e in events
            if e["verb"] in MUTATING_VERBS and not _allowed_write(e, allow_dry_run)]


@pytest.mark.parametrize("allow_dry_run", [False, True], ids=["lecture-seule", "allow-dry-run"])
def test_grading_and_snapshot_make_no_write(sandbox: Any, grader_identity: tuple[str, Path], solved_namespace: str,
                                            tmp_path: Path, allow_dry_run: bool) -> None:
    """`kubelab grade` (text and JSON) and `kubelab snapshot` of a solved lab 03: full marks, and
    not a single mutating request by the grader's user outside allowed dry runs."""
    user, kubeconfig = grader_identity()
    flags = ["--allow-dry-run"] if allow_dry_run else []
    common = ["-n", solved_namespace, "--kubeconfig", str(kubeconfig), *flags]
    for args in (["grade", LAB03, *common, "--wait", "30"],
                 ["grade", LAB03, *common, "--format", "json", "--json", str(tmp_path / "r.json")],
                 ["snapshot", LAB03, *common, "-o", str(tmp_path / "etat.json")]):
        result = run_cli(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)

    lab = load_lab(LAB03)
    events = settled_audit_events(sandbox, user, minimum=3 * len(lab.reads))
    assert events, f"aucun événement d'audit pour {user} : l'identification des requêtes ne marche pas"
    listed = {(e["objectRef"].get("resource"), e["objectRef"].get("namespace")) for e in events
              if e["verb"] == "list" and e.get("objectRef")}
    for resource in ("secrets", "persistentvolumeclaims", "statefulsets", "pods", "services"):
        assert (resource, solved_namespace) in listed, f"{resource} jamais listé : le correcteur n'a pas tout lu"
    assert ("persistentvolumes", None) in listed and ("storageclasses", None) in listed

    writes = _writes(events, allow_dry_run)
    assert writes == [], "la correction a écrit dans le cluster :\n" + "\n".join(writes)
    verbs = {e["verb"] for e in events}
    assert verbs <= {"get", "list", "watch"} | (MUTATING_VERBS if allow_dry_run else set()), verbs


def _labs_with_dry_runs() -> list[Lab]:
    """Labs (whose grader loads) with a check or probe that needs --allow-dry-run."""
    labs = []
    for lab_id in lab_ids():
        try:
            lab = load_lab(lab_id)
        except UsageError:
            continue
        needs = {c.spec.needs for c in lab.checks} | {p.needs for p in lab.probes.values()}
        if "dry-run" in needs:
            labs.append(lab)
    return labs


@pytest.mark.parametrize("lab", [pytest.param(lab, id=lab.id) for lab in _labs_with_dry_runs()])
def test_dry_runs_only_with_allow_dry_run(sandbox: Any, kube_api: KubeApi, grader_identity, namespace: str,
                                          lab: Lab) -> None:
    """A lab whose checks use dry runs or access reviews, its solution graded through the CLI:
    without --allow-dry-run no mutating request at all (those checks are « non noté »); with it,
    mutating requests only as dry runs (dryRun=All) or reviews."""
    try:
        setup(kube_api, lab, namespace)
        apply_variant(kube_api, lab, "solution", namespace)
    except KubelabError as exc:
        pytest.skip(f"la solution de {lab.id} ne s'applique pas sur ce bac à sable : {exc.message}")
    observed = {}
    for allow_dry_run in (False, True):
        user, kubeconfig = grader_identity()
        flags = ["--allow-dry-run"] if allow_dry_run else []
        result = run_cli("grade", lab.id, "-n", namespace, "--kubeconfig", str(kubeconfig), "--wait", "20",
                         "--format", "json", *flags)
        assert result.returncode in (0, 1, 3), result.stderr
        report = json.loads(result.stdout)
        events = settled_audit_events(sandbox, user, minimum=len(lab.reads))
        assert events, f"aucun événement d'audit pour {user}"
        writes = _writes(events, allow_dry_run)
        assert writes == [], "la correction a écrit dans le cluster :\n" + "\n".join(writes)
        observed[allow_dry_run] = (report, [e for e in events if e["verb"] in MUTATING_VERBS])
    without, _ = observed[False]
    gated = {c.id for c in lab.checks if c.spec.needs == "dry-run"}
    for check in without["checks"]:
        if check["id"] in gated:
            assert check["outcome"] == "error" and "--allow-dry-run" in check["message"], check
    report, dry_runs = observed[True]
    assert dry_runs, "avec --allow-dry-run, aucun dry-run ni revue d'accès : les vérifications n'ont pas tourné"
    assert not [c for c in report["checks"] if "--allow-dry-run" in c["message"]]
