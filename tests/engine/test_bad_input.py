"""Bad input and broken clusters, through the CLI as a process: exit code and French message.

Exit 2 is the user's input (unknown lab, context or namespace, malformed YAML, a snapshot
that cannot be trusted); exit 3 is the infrastructure (unreachable server, refused
credentials, forbidden reads): « non noté, à relancer », never 0 points counted as the
learner's failure. And bad input changes nothing: no namespace created, no file rewritten.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubelab import snapshot
from kubelab.catalog import available_labs, lab_ids
from kubelab.kube_api import KubeApi
from kubelab.pytest_plugin import create_namespace
from kubelab.typography import french
from tests.engine.conftest import (
    LAB03,
    issue_client_cert,
    kubeconfig_with_user,
    mint_kubeconfig,
    namespace_exists,
    new_ca,
    unique_user,
    wait_authorized,
)
from tests.helpers import REPO, run_cli

NBSP = "\u00a0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _grade(*args: str, env: dict[str, str] | None = None):
    return run_cli("grade", *args, env=env, timeout=180)


def _plain(text: str) -> str:
    """Output with French non-breaking spaces turned into plain ones, for readable assertions."""
    return text.replace(NBSP, " ").replace("\u202f", " ")


# --- connection problems -------------------------------------------------------------------


def test_unreachable_server_is_infrastructure(admin_kubeconfig: Path, tmp_path: Path) -> None:
    """A kubeconfig pointing to a port where nothing listens: exit 3, « injoignable », the address."""
    config = yaml.safe_load(admin_kubeconfig.read_text())
    port = _free_port()
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"
    path = tmp_path / "injoignable.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    result = _grade(LAB03, "--kubeconfig", str(path))
    assert result.returncode == 3, result.stderr
    message = _plain(result.stderr)
    assert "injoignable" in message
    assert f"127.0.0.1:{port}" in message
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("how", ["option", "variable"])
def test_missing_kubeconfig_is_named_never_a_fallback(tmp_path: Path, how: str) -> None:
    """--kubeconfig or $KUBECONFIG naming a file that does not exist: exit 2 naming it, and no other
    cluster graded instead (the running sandbox, MicroK8s, ~/.kube/config)."""
    missing = tmp_path / "absent.kubeconfig"
    if how == "option":
        result = _grade(LAB03, "--kubeconfig", str(missing))
    else:
        result = _grade(LAB03, env={"KUBECONFIG": str(missing)})
    assert result.returncode == 2, result.stdout + result.stderr
    message = _plain(result.stderr)
    assert f"« {missing} »" in message and "introuvable" in message, message
    assert ("$KUBECONFIG" in message) == (how == "variable"), message
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert not missing.exists()


def test_wrong_certificate_authority_is_a_tls_error(admin_kubeconfig: Path, tmp_path: Path) -> None:
    """A kubeconfig whose CA is not the server's: exit 3, said as a certificate problem, not « injoignable »,
    and no sentence cut in the middle of a word."""
    from cryptography.hazmat.primitives import serialization

    config = yaml.safe_load(admin_kubeconfig.read_text())
    _, ca = new_ca()
    config["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
        ca.public_bytes(serialization.Encoding.PEM)).decode()
    path = tmp_path / "autre-ca.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    result = _grade(LAB03, "--kubeconfig", str(path))
    assert result.returncode == 3, result.stderr
    message = _plain(result.stderr)
    assert "La connexion TLS au serveur d'API" in message and "certificat" in message, message
    assert "injoignable" not in message and "SSLError" not in message and "HTTPSConnectionPool" not in message
    assert message.rstrip().endswith("»."), message


@pytest.mark.parametrize(("args", "expected"), [
    (("grade",), "arguments obligatoires manquants : lab"),
    (("grade", LAB03, "--licorne"), "arguments non reconnus : --licorne"),
    (("licorne",), "choix invalide : 'licorne'"),
    (("grade", LAB03, "--wait", "longtemps"), "valeur invalide : 'longtemps'"),
])
def test_argparse_speaks_french(args: tuple[str, ...], expected: str) -> None:
    """argparse's own errors: exit 2, « utilisation : » and the French message."""
    result = run_cli(*args)
    assert result.returncode == 2
    message = _plain(result.stderr)
    assert message.startswith("utilisation : kubelab"), message
    assert expected in message and "erreur :" in message, message
    assert "usage:" not in message and "error:" not in message


def test_unknown_context_is_usage(admin_kubeconfig: Path) -> None:
    """--context naming a context the kubeconfig lacks: exit 2, the context and the known ones."""
    before = admin_kubeconfig.read_bytes()
    result = _grade(LAB03, "--kubeconfig", str(admin_kubeconfig), "--context", "licorne")
    assert result.returncode == 2, result.stderr
    message = _plain(result.stderr)
    assert "Le contexte « licorne » n'existe pas" in message
    assert "microk8s" in message  # the contexts that do exist
    assert admin_kubeconfig.read_bytes() == before


@pytest.mark.parametrize("credential", ["jeton-bidon", "certificat-autre-ca"])
def test_refused_credentials_are_infrastructure(admin_kubeconfig: Path, tmp_path: Path, credential: str) -> None:
    """A bogus bearer token, or a client cert from a CA the server does not trust: 401, exit 3, « identifiants »."""
    if credential == "jeton-bidon":
        user = {"token": "pas-un-vrai-jeton." + uuid.uuid4().hex}
    else:
        cert, key = issue_client_cert(*new_ca(), "mallory")
        user = {"client-certificate-data": base64.b64encode(cert).decode(),
                "client-key-data": base64.b64encode(key).decode()}
    path = kubeconfig_with_user(admin_kubeconfig, tmp_path / f"{credential}.kubeconfig", user)
    result = _grade(LAB03, "--kubeconfig", str(path))
    assert result.returncode == 3, result.stderr
    message = _plain(result.stderr)
    assert "identifiants" in message and "401" in message
    assert "Traceback" not in result.stderr


def test_user_without_any_right_is_infrastructure(sandbox: Any, tmp_path: Path) -> None:
    """A user the server knows but RBAC grants nothing: 403 on the first read, exit 3, never a score."""
    path = mint_kubeconfig(sandbox, tmp_path / "personne.kubeconfig", unique_user("personne"))
    result = _grade(LAB03, "--kubeconfig", str(path))
    assert result.returncode == 3, result.stderr
    message = _plain(result.stderr)
    assert "Accès interdit (403)" in message
    assert "Score" not in result.stdout


@pytest.fixture
def partial_reader(sandbox: Any, kube_api: KubeApi, solved_namespace: str, tmp_path: Path):
    """A user allowed to read the lab's namespace through ``view`` (no Secrets) and nothing cluster-wide
    but Namespaces: so the Secret, PersistentVolume and StorageClass LISTs answer 403."""
    user = unique_user("lecteur-partiel")
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": user},
            "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}]}
    kube_api.apply(role)
    bindings = [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": user},
         "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}],
         "roleRef": {"kind": "ClusterRole", "name": user, "apiGroup": "rbac.authorization.k8s.io"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": user, "namespace": solved_namespace},
         "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}],
         "roleRef": {"kind": "ClusterRole", "name": "view", "apiGroup": "rbac.authorization.k8s.io"}},
    ]
    for binding in bindings:
        kube_api.apply(binding)
    wait_authorized(kube_api, user, "get", "namespaces")
    wait_authorized(kube_api, user, "list", "pods", solved_namespace)
    yield mint_kubeconfig(sandbox, tmp_path / "partiel.kubeconfig", user)
    kube_api.delete("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", user)
    kube_api.delete("rbac.authorization.k8s.io/v1", "ClusterRole", user)


def test_forbidden_reads_are_not_graded_not_failed(partial_reader: Path, solved_namespace: str) -> None:
    """Checks whose LIST answers 403 are « non noté, à relancer » (outcome error, exit 3), the
    others are graded normally: a missing right is never 0 points for the learner."""
    args = (LAB03, "--kubeconfig", str(partial_reader), "-n", solved_namespace, "--wait", "30")
    result = _grade(*args, "--format", "json")
    assert result.returncode == 3, result.stdout + result.stderr
    report = json.loads(result.stdout)
    outcomes = {check["id"]: check for check in report["checks"]}
    # Secret (the keys the credentials come from, and whether the pod could start), StorageClass, PV
    forbidden = {"postgres-secret-keys", "postgres-env-from-secret", "postgres-pod-ready", "postgres-claim-spec",
                 "postgres-claim-bound"}
    for check_id in forbidden:
        assert outcomes[check_id]["outcome"] == "error", outcomes[check_id]
        assert outcomes[check_id]["points"] == 0
        assert "non noté, à relancer" in _plain(outcomes[check_id]["message"])
        assert "403" in outcomes[check_id]["message"]
    assert not [c for c in report["checks"] if c["outcome"] == "failed"], "un 403 compté comme un échec de l'apprenant"
    assert {c["id"] for c in report["checks"] if c["outcome"] == "passed"} == set(outcomes) - forbidden
    assert report["complete"] is False

    text = _grade(*args)
    assert text.returncode == 3
    plain = _plain(text.stdout)
    assert plain.count("non noté, à relancer") == len(forbidden)
    assert f"{len(forbidden)} vérification(s) non notée(s)" in plain
    assert "✗" not in text.stdout


# --- what is graded ---------------------------------------------------------------------------


def test_missing_namespace_is_usage_and_not_created(admin_kubeconfig: Path, kube_api: KubeApi) -> None:
    """Grading a namespace that does not exist: exit 2 naming it, and it is not created."""
    missing = f"absent-{uuid.uuid4().hex[:6]}"
    result = _grade(LAB03, "--kubeconfig", str(admin_kubeconfig), "-n", missing)
    assert result.returncode == 2, result.stderr
    assert f"Le namespace « {missing} » n'existe pas" in _plain(result.stderr)
    assert "kubelab lab setup" in result.stderr
    assert not namespace_exists(kube_api, missing)


def test_unknown_lab_lists_the_labs(admin_kubeconfig: Path) -> None:
    """An unknown lab id: exit 2, the id, and every available lab."""
    result = _grade("99-licorne", "--kubeconfig", str(admin_kubeconfig))
    assert result.returncode == 2
    message = _plain(result.stderr)
    assert "Lab inconnu : « 99-licorne »" in message
    assert LAB03 in message
    for lab_id in lab_ids():
        assert lab_id in message


@pytest.fixture
def labs_copy(tmp_path: Path) -> Path:
    """A private labs root holding a copy of lab 03 (KUBELAB_LABS points to it)."""
    root = tmp_path / "labs"
    shutil.copytree(REPO / "labs" / LAB03, root / LAB03)
    return root


def test_malformed_lab_yaml_names_file_and_line(labs_copy: Path, admin_kubeconfig: Path) -> None:
    """A lab.yaml that is not YAML: `kubelab labs` and `kubelab grade` exit 2 naming the file and line."""
    path = labs_copy / LAB03 / "lab.yaml"
    lines = path.read_text().splitlines()
    broken_line = next(i for i, line in enumerate(lines) if line.startswith("checks:")) + 2
    lines.insert(broken_line - 1, "  postgres-statefulset: [1, 2")
    path.write_text("\n".join(lines) + "\n")
    env = {"KUBELAB_LABS": str(labs_copy)}
    for args in (("labs",), ("grade", LAB03, "--kubeconfig", str(admin_kubeconfig))):
        result = run_cli(*args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        message = _plain(result.stderr)
        assert f"YAML invalide dans « {path} »" in message, message
        assert "ligne " in message
        line = int(message.split("ligne ")[1].split()[0].strip(" ,:"))
        assert broken_line <= line <= broken_line + 1, message
        assert "Traceback" not in result.stderr


def test_malformed_manifest_names_file_and_line_and_applies_nothing(labs_copy: Path, admin_kubeconfig: Path,
                                                                      kube_api: KubeApi) -> None:
    """`kubelab lab apply` with a broken solution manifest: exit 2 naming the file and line, and
    nothing written to the cluster (the namespace is not even created)."""
    path = labs_copy / LAB03 / "solution" / "service.yaml"
    text = path.read_text().replace("  selector:\n", "  selector:\n   app: [postgres\n", 1)
    path.write_text(text)
    broken_line = text.splitlines().index("   app: [postgres") + 1
    target = f"t-manifeste-{uuid.uuid4().hex[:6]}"
    result = run_cli("lab", "apply", LAB03, "solution", "-n", target, "--kubeconfig", str(admin_kubeconfig),
                     env={"KUBELAB_LABS": str(labs_copy)})
    try:
        assert result.returncode == 2, result.stderr
        message = _plain(result.stderr)
        assert f"YAML invalide dans « {path} »" in message, message
        line = int(message.split("ligne ")[1].split(",")[0])
        assert broken_line <= line <= broken_line + 1, message
        assert not namespace_exists(kube_api, target), \
            "une variante illisible a quand même créé le namespace (et appliqué setup/)"
    finally:
        kube_api.delete("v1", "Namespace", target)


# --- snapshots -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_snapshot(kube_api: KubeApi, admin_kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A genuine snapshot of lab 03 (lab set up, nothing applied), captured through the CLI."""
    namespace = f"t-instantane-{uuid.uuid4().hex[:6]}"
    create_namespace(kube_api, namespace)
    path = tmp_path_factory.mktemp("instantanes") / "lab03.snapshot.json"
    try:
        result = run_cli("snapshot", LAB03, "-n", namespace, "-o", str(path), "--kubeconfig", str(admin_kubeconfig))
        assert result.returncode == 0, result.stderr
    finally:
        kube_api.delete("v1", "Namespace", namespace)
    return path


def _document(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _write_json(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    return path


def _corrupt(good: Path, target: Path) -> Path:
    target.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" + os.urandom(64))
    return target


def _truncated(good: Path, target: Path) -> Path:
    data = good.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def _newer_format(good: Path, target: Path) -> Path:
    document = _document(good)
    document["version"] = 99
    document["sha256"] = snapshot.content_hash(document)
    return _write_json(target, document)


def _edited(good: Path, target: Path) -> Path:
    document = _document(good)
    document["lists"]["v1/Secret@" + document["namespace"]].append(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "postgres-credentials"},
         "data": {"POSTGRES_USER": None, "POSTGRES_PASSWORD": None}})
    return _write_json(target, document)  # the hash is left as captured


def _missing_field(good: Path, target: Path) -> Path:
    document = _document(good)
    del document["cluster"]
    document["sha256"] = snapshot.content_hash(document)
    return _write_json(target, document)


def _missing_list(good: Path, target: Path) -> Path:
    """Well-formed and hashed, but without a list lab 03 reads (as an older grader would capture it)."""
    document = _document(good)
    del document["lists"]["v1/Secret@" + document["namespace"]]
    document["sha256"] = snapshot.content_hash(document)
    return _write_json(target, document)


def _unreadable_capture_time(good: Path, target: Path) -> Path:
    """Hashed again after its capture time was replaced by text that is not a date."""
    document = _document(good)
    document["captured_at"] = "hier soir"
    document["sha256"] = snapshot.content_hash(document)
    return _write_json(target, document)


def _not_a_snapshot(good: Path, target: Path) -> Path:
    return _write_json(target, {"schema": "kubelab-report", "score": 16})


SNAPSHOT_DEFECTS = {
    "corrompu": (_corrupt, "est illisible"),
    "tronque": (_truncated, "fichier tronqué ou corrompu"),
    "format-99": (_newer_format, "au format 99, plus récent que ce kubelab"),
    "modifie": (_edited, "a été modifié après sa capture"),
    "incomplet": (_missing_field, "le champ « cluster » manque"),
    "liste-manquante": (_missing_list, "v1/Secret@"),
    "pas-un-instantane": (_not_a_snapshot, "n'est pas un instantané kubelab"),
    "date-illisible": (_unreadable_capture_time, "a un champ « captured_at » illisible ('hier soir')"),
}


@pytest.mark.parametrize("defect", list(SNAPSHOT_DEFECTS))
def test_untrustworthy_snapshot_is_refused_naming_the_file(good_snapshot: Path, tmp_path: Path, defect: str) -> None:
    """Corrupt, truncated, newer, edited, incomplete, foreign or with an unreadable date: exit 2 naming the file;
    the file is untouched."""
    make, expected = SNAPSHOT_DEFECTS[defect]
    path = make(good_snapshot, tmp_path / f"{defect}.snapshot.json")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    result = _grade(LAB03, "--snapshot", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    message = _plain(result.stderr)
    assert f"« {path} »" in message, message
    assert french(expected).replace(NBSP, " ") in message, message
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_the_genuine_snapshot_grades(good_snapshot: Path) -> None:
    """The snapshot the defects start from is itself accepted (so each refusal above is the defect's)."""
    result = _grade(LAB03, "--snapshot", str(good_snapshot), "--format", "json")
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["source"] == "snapshot"


def test_snapshot_of_another_lab_is_refused(kube_api: KubeApi, admin_kubeconfig: Path, tmp_path: Path) -> None:
    """A genuine snapshot of another lab graded as lab 03: exit 2 naming the file and both labs."""
    other = next((lab for lab in available_labs() if lab.id != LAB03), None)
    if other is None:
        pytest.skip("un seul lab a un correcteur")
    namespace = f"t-autre-lab-{uuid.uuid4().hex[:6]}"
    create_namespace(kube_api, namespace)
    path = tmp_path / "autre.snapshot.json"
    try:
        captured = run_cli("snapshot", other.id, "-n", namespace, "-o", str(path),
                           "--kubeconfig", str(admin_kubeconfig))
        assert captured.returncode == 0, captured.stderr
    finally:
        kube_api.delete("v1", "Namespace", namespace)
    before = path.read_bytes()
    result = _grade(LAB03, "--snapshot", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    message = _plain(result.stderr)
    assert f"L'instantané « {path} » concerne le lab « {other.id} », pas « {LAB03} »" in message
    assert path.read_bytes() == before
