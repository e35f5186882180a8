"""Every manifest of the course runs.

The manifests are the ```yaml blocks of ``course/`` and of the lab statements, and the lab files
that the lab pages include (starter, solution, alternatives). For each of them:

* every block is a complete manifest, or is listed in ``manifests/catalog.yaml`` with its reason
  (a fragment, the file of another tool, a kind whose CRD the sandbox does not carry);
* on the session's sandbox, each namespace is created with the labels the course gives it, the
  CRDs the sandbox can carry are installed (``manifests/crds/``), and each object goes through a
  **server-side dry run** in its namespace: a refusal or any warning of the API server (« would
  violate PodSecurity », unknown field, deprecated API) fails the test, naming the page and line;
* the apiserver configuration files (EncryptionConfiguration, audit Policy) start a real
  kube-apiserver, and what it writes is read back: Secrets encrypted in etcd, audit events
  without the Secrets' content;
* on the **real node** (``real_node`` marker, ``real_sandbox`` fixture), the workloads whose
  images the node holds are really applied, pinned to it with one replica, and their pods must
  become Ready; the others are listed with the missing image.

A namespace that *enforces* a Pod Security level gets ``warn`` at the same level for the dry
run: ``enforce`` only judges pods, so a Deployment's template would pass the dry run and its
pods be refused later; with ``warn``, the API server says so at once.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubelab.errors import KubelabError
from kubelab.kube_api import KubeApi
from kubelab.pytest_plugin import create_namespace
from kubelab.waiting import scaled, wait_for

from . import workload_run
from .course_manifests import (
    APISERVER_CONFIG_KINDS,
    CATALOG,
    CRD_DIR,
    REPO,
    Catalog,
    Document,
    blocks,
    classify,
    documents,
    namespace_labels,
    prepared,
)

FIELD_MANAGER = "kubelab-course-test"
PATCH_MANAGER = "kubelab-course-patch"

CATALOG_DATA = Catalog.load()
SORTED = classify(blocks(), CATALOG_DATA)

Obj = dict[str, Any]


# ----------------------------------------------------------------------------- namespaces


@pytest.fixture(scope="module")
def course_cluster(kube_sandbox: object | None, kube_api: KubeApi) -> Iterator[dict[str, dict[str, str]]]:
    """The sandbox with the course's namespaces (labelled) and CRDs; all removed afterwards."""
    if kube_sandbox is None:
        pytest.skip("ce test crée et supprime des namespaces et des CRD : il ne tourne que sur le bac à sable "
                    "de la session, jamais sur le cluster de --kubeconfig")
    labels = namespace_labels(SORTED.applied)
    existing_ns = {n["metadata"]["name"] for n in kube_api.list("v1", "Namespace")}
    existing_crds = {c["metadata"]["name"]
                     for c in kube_api.list("apiextensions.k8s.io/v1", "CustomResourceDefinition")}
    created_crds: list[str] = []
    try:
        for path in sorted(CRD_DIR.glob("*.yaml")):
            for crd in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if crd["metadata"]["name"] not in existing_crds:
                    kube_api.apply(crd, field_manager=FIELD_MANAGER)
                    created_crds.append(crd["metadata"]["name"])
        for name in created_crds:
            wait_for(kube_api, "apiextensions.k8s.io/v1", "CustomResourceDefinition",
                     lambda crds, n=name: any(c["metadata"]["name"] == n and any(
                         x.get("type") == "Established" and x.get("status") == "True"
                         for x in (c.get("status") or {}).get("conditions", [])) for c in crds),
                     what=f"la CRD {name}")
        for name, values in sorted(labels.items()):
            if name in existing_ns:
                kube_api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": values}},
                               field_manager=FIELD_MANAGER)
            else:
                create_namespace(kube_api, name, values)
        yield labels
    finally:
        for name in labels:
            if name in existing_ns:
                kube_api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                               field_manager=FIELD_MANAGER)
            else:
                kube_api.delete("v1", "Namespace", name)
        for name in created_crds:
            kube_api.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
        gone = set(labels) - existing_ns
        wait_for(kube_api, "v1", "Namespace", lambda items: not gone & {n["metadata"]["name"] for n in items},
                 timeout=scaled(60), what="la suppression des namespaces du cours")


# ------------------------------------------------------------------------- without cluster


def test_every_yaml_block_is_applied_or_listed_with_its_reason() -> None:
    """Is every block of the course either a manifest the test applies, or listed with a reason?"""
    assert not SORTED.problems, "\n".join(SORTED.problems)
    stale = [f"{e.page} : « {e.contains} » ({e.category})" for e in SORTED.unused_entries]
    assert not stale, (f"entrées de {CATALOG.relative_to(REPO)} qui ne correspondent plus à aucun bloc :\n"
                       + "\n".join(stale))
    for block, entry in SORTED.listed:
        if entry.category == "fragments":
            whole = [d for d in documents(block)
                     if isinstance(d.obj, dict) and d.obj.get("apiVersion") and d.obj.get("kind")]
            assert not whole, f"{block.where} : répertorié comme fragment mais contient un manifeste complet"
        assert entry.reason.strip(), f"{block.where} : entrée sans raison"
    assert len(SORTED.applied) > 150, f"trop peu de manifestes trouvés ({len(SORTED.applied)})"


def test_a_block_that_is_neither_manifest_nor_listed_is_reported() -> None:
    """Does the classification name the page and line of an unlisted fragment and of bad YAML?"""
    from .course_manifests import Block

    fragment = Block("course/x.md", "course/x.md", 10, "spec:\n  replicas: 2\n")
    broken = Block("course/x.md", "course/x.md", 20, "apiVersion: v1\n kind: Pod\n")
    result = classify([fragment, broken], Catalog([], {}))
    assert any(p.startswith("course/x.md:10 : ni un manifeste complet") for p in result.problems), result.problems
    assert any(p.startswith("course/x.md:21 : YAML invalide") for p in result.problems), result.problems


def test_namespace_labels_take_the_strictest_level_and_warn_follows_enforce() -> None:
    from .course_manifests import Block

    block = Block("course/x.md", "course/x.md", 1, "")
    docs = [Document(block, 1, {"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": "p", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}),
            Document(block, 9, {"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": "p", "labels": {"pod-security.kubernetes.io/enforce": "baseline", "env": "prod"}}})]
    assert namespace_labels(docs)["p"] == {"pod-security.kubernetes.io/enforce": "restricted", "env": "prod",
                                           "pod-security.kubernetes.io/warn": "restricted"}


# ---------------------------------------------------------------------------- the dry run


def summary_lines() -> list[str]:
    applied_blocks = {id(d.block) for d in SORTED.applied}
    lines = [
        f"Manifestes appliqués par essai à blanc côté serveur : {len(SORTED.applied)} objets, "
        f"{len(applied_blocks)} blocs ou fichiers.",
        "Fichiers de configuration de kube-apiserver vérifiés par un vrai kube-apiserver : "
        f"{len(SORTED.apiserver_config)}.",
        f"CRD installées : {', '.join(sorted(p.stem for p in CRD_DIR.glob('*.yaml')))}.",
        f"Blocs répertoriés, non appliqués : {len(SORTED.listed)}.",
    ]
    category = {"fragments": "extrait", "not_manifests": "fichier d'un autre outil"}
    lines += [f"  - {block.where} ({category[entry.category]}) : {entry.reason}" for block, entry in SORTED.listed]
    lines.append(f"Correctifs appliqués sur leur objet de base : {len(SORTED.patches)}.")
    lines += [f"  - {p.doc.where} sur {p.base.where} : {p.reason}" for p in SORTED.patches]
    lines.append(f"Avertissements attendus (voulus) : {len(CATALOG_DATA.expected_warnings)}.")
    lines += [f"  - {e.source} ({e.kind}) : « {e.warning} » : {e.reason}" for e in CATALOG_DATA.expected_warnings]
    lines.append(f"Objets de CRD non installées : {len(SORTED.uninstalled)}.")
    lines += [f"  - {doc.where} : {doc.label} : {reason}" for doc, reason in SORTED.uninstalled]
    return lines


def test_course_manifests_pass_a_server_dry_run(course_cluster: dict, kube_api: KubeApi, output_dir: Path) -> None:
    """Does the API server accept every manifest of the course, in its namespace, without a warning?"""
    failures: list[str] = []
    for doc in SORTED.applied:
        warnings: list[str] = []
        try:
            kube_api.apply(prepared(doc), dry_run=True, warnings=warnings)
        except KubelabError as exc:
            failures.append(f"{doc.where} : {doc.label} refusé : {exc.message}")
        expected = CATALOG_DATA.expected_for(doc)
        if expected is not None:
            if not any(expected.warning in w for w in warnings):
                failures.append(f"{doc.where} : {doc.label} : l'avertissement attendu « {expected.warning} » "
                                f"({expected.reason}) n'est plus donné : mettez à jour {CATALOG.name}")
            warnings = [w for w in warnings if expected.warning not in w]
        failures += [f"{doc.where} : {doc.label} : avertissement du serveur : {w}" for w in warnings]
    failures += patch_failures(kube_api)
    report = summary_lines() + ["", f"Échecs : {len(failures)}."] + failures
    (output_dir / "manifestes.txt").write_text("\n".join(report) + "\n", encoding="utf-8")
    print("\n".join(report))
    assert not failures, f"{len(failures)} manifeste(s) du cours refusé(s) ou signalé(s) :\n" + "\n".join(failures)


def patch_failures(kube_api: KubeApi) -> list[str]:
    """Each patch by a server dry run over its base, which is applied for real, then removed."""
    failures: list[str] = []
    for patch in SORTED.patches:
        base = prepared(patch.base)
        meta = base["metadata"]
        kube_api.apply(base, field_manager=FIELD_MANAGER)
        try:
            warnings: list[str] = []
            kube_api.apply(prepared(patch.doc), dry_run=True, field_manager=PATCH_MANAGER, warnings=warnings)
            failures += [f"{patch.doc.where} : {patch.doc.label} : avertissement du serveur : {w}" for w in warnings]
        except KubelabError as exc:
            failures.append(f"{patch.doc.where} : {patch.doc.label} refusé sur {patch.base.where} : {exc.message}")
        finally:
            kube_api.delete(base["apiVersion"], base["kind"], meta["name"], meta.get("namespace"))
    return failures


def test_the_dry_run_catches_a_workload_that_restricted_refuses(course_cluster: dict, kube_api: KubeApi) -> None:
    """Would the test see a Deployment whose pods `restricted` refuses? (the check itself can fail)"""
    restricted = next((n for n, v in course_cluster.items()
                       if v.get("pod-security.kubernetes.io/enforce") == "restricted"), None)
    assert restricted, "aucun namespace du cours n'applique restricted"
    root = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "en-root", "namespace": restricted},
            "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "x", "image": "nginx:1.27"}]}}}}
    warnings: list[str] = []
    kube_api.apply(root, dry_run=True, warnings=warnings)
    assert any('would violate PodSecurity "restricted' in w for w in warnings), warnings


# -------------------------------------------------------------------- apiserver config files


def config_runs() -> list[dict[str, Document]]:
    """Groups of configuration documents, one of each kind per kube-apiserver start."""
    by_flag: dict[str, list[Document]] = {}
    for doc in SORTED.apiserver_config:
        by_flag.setdefault(APISERVER_CONFIG_KINDS[(doc.obj["apiVersion"], doc.obj["kind"])], []).append(doc)
    count = max((len(v) for v in by_flag.values()), default=0)
    return [{flag: docs[i] for flag, docs in by_flag.items() if i < len(docs)} for i in range(count)]


def test_the_course_has_an_encryption_configuration_and_an_audit_policy() -> None:
    flags = {flag for run in config_runs() for flag in run}
    assert flags == set(APISERVER_CONFIG_KINDS.values()), flags


def first_secret_provider(config: Obj) -> tuple[str, str]:
    """(provider, key name) that encrypts new Secrets: the first provider of the secrets entry."""
    for entry in config.get("resources") or []:
        if "secrets" in entry.get("resources", []):
            provider = entry["providers"][0]
            (name, settings), = provider.items()
            keys = (settings or {}).get("keys") or [{}]
            return name, keys[0].get("name", "")
    raise AssertionError("l'EncryptionConfiguration ne chiffre pas les Secrets")


@pytest.mark.parametrize("run", range(len(config_runs())), ids=lambda i: f"demarrage-{i + 1}")
def test_apiserver_configuration_files_work(kube_sandbox: object | None, tmp_path: Path, run: int) -> None:
    """Does a real kube-apiserver start with the course's files, encrypt Secrets and audit without content?"""
    if kube_sandbox is None:
        pytest.skip("il faut le bac à sable de la session (son binaire kube-apiserver et son etcd)")
    from .extra_apiserver import ApiserverRefused, etcd_value, extra_apiserver

    docs = config_runs()[run]
    files = {}
    for flag, doc in docs.items():
        path = tmp_path / f"{doc.obj['kind']}.yaml"
        path.write_text(yaml.safe_dump(doc.obj), encoding="utf-8")
        files[flag] = path
    where = ", ".join(d.where for d in docs.values())
    value = secrets.token_hex(12)
    try:
        with extra_apiserver(kube_sandbox, tmp_path, files) as extra:  # type: ignore[arg-type]
            extra.api.apply({"apiVersion": "v1", "kind": "Secret",
                             "metadata": {"name": "preuve", "namespace": "default"},
                             "stringData": {"mot-de-passe": value}})
            read = extra.api.get("v1", "Secret", "preuve", "default")
            assert read is not None and "data" in read, f"{where} : le Secret relu est vide"
            raw = etcd_value(kube_sandbox, f"{extra.prefix}/secrets/default/preuve")  # type: ignore[arg-type]
            assert raw is not None, f"{where} : Secret introuvable dans etcd"
            if "--encryption-provider-config" in docs:
                provider, key = first_secret_provider(docs["--encryption-provider-config"].obj)
                expected = f"k8s:enc:{provider}:v1:{key}:".encode()
                assert raw.startswith(expected), f"{where} : etcd contient {raw[:40]!r}, attendu {expected!r}…"
                assert value.encode() not in raw, f"{where} : la valeur du Secret est lisible dans etcd"
                counted = [line for line in extra.text("/metrics").splitlines()
                           if line.startswith("apiserver_storage_transformation_operations_total")
                           and 'transformation_type="to_storage"' in line and f'"k8s:enc:{provider}:v1:"' in line]
                assert counted, f"{where} : la métrique que le cours fait lire ne montre aucun chiffrement"
            if extra.audit_log is not None:
                deadline = time.monotonic() + scaled(10)
                events: list[Obj] = []
                while time.monotonic() < deadline and not events:
                    lines = extra.audit_log.read_text().splitlines() if extra.audit_log.exists() else []
                    events = [e for e in map(json.loads, lines)
                              if (e.get("objectRef") or {}).get("resource") == "secrets"
                              and (e.get("objectRef") or {}).get("name") == "preuve"]
                    time.sleep(0.2)
                assert events, f"{where} : aucun événement d'audit pour le Secret « preuve »"
                leaked = [e["verb"] for e in events if "requestObject" in e or "responseObject" in e]
                assert not leaked, f"{where} : le journal d'audit contient le contenu du Secret ({leaked})"
                assert value not in extra.audit_log.read_text(), f"{where} : la valeur du Secret est dans le journal"
    except ApiserverRefused as exc:
        pytest.fail(f"{where} : {exc}")


def test_without_encryption_a_secret_is_readable_in_etcd(kube_sandbox: object | None, kube_api: KubeApi,
                                                         namespace: str) -> None:
    """Is a Secret stored in clear (not even base64) when the API server has no encryption? (architecture page)"""
    if kube_sandbox is None:
        pytest.skip("il faut l'etcd du bac à sable de la session")
    from .extra_apiserver import etcd_value

    value = secrets.token_hex(12)
    kube_api.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "en-clair", "namespace": namespace},
                    "stringData": {"mot-de-passe": value}})
    raw = etcd_value(kube_sandbox, f"/registry/secrets/{namespace}/en-clair")  # type: ignore[arg-type]
    assert raw is not None and value.encode() in raw, "la valeur du Secret devrait être lisible telle quelle dans etcd"


# ------------------------------------------------------------------------------ real node


REAL_RUNS = workload_run.real_runs(SORTED.applied, SORTED.patches)


@pytest.fixture(scope="module")
def real_course(real_sandbox: object) -> Iterator[tuple[KubeApi, str, Any]]:
    """The real sandbox with the course's namespaces, labelled as the dry run labels them; the
    real node's ``kubernetes.io/hostname``; the node's image store. Namespaces removed afterwards."""
    from kubelab.sandbox.images import ImageStore
    from kubelab.sandbox.realnode import layout

    store = ImageStore.open(layout.run_folder("image-store").resolve())
    api: KubeApi = real_sandbox.api()  # type: ignore[attr-defined]
    node = api.get("v1", "Node", real_sandbox.read_state().real_node)  # type: ignore[attr-defined]
    assert node is not None, "le nœud réel est introuvable"
    labels = namespace_labels([d for run in REAL_RUNS for d in run.docs])
    created = [name for name in labels if api.get("v1", "Namespace", name) is None]
    try:
        for name in created:
            create_namespace(api, name, labels[name])
        yield api, node["metadata"]["labels"]["kubernetes.io/hostname"], store
    finally:
        for name in created:
            api.delete("v1", "Namespace", name)
        wait_for(api, "v1", "Namespace", lambda items: not set(created) & {n["metadata"]["name"] for n in items},
                 timeout=scaled(180), what="la suppression des namespaces du cours")
        api.close()


@pytest.mark.real_node
@pytest.mark.parametrize("run", REAL_RUNS, ids=[r.key.replace(" : ", ":") for r in REAL_RUNS])
def test_course_workloads_become_ready_on_the_real_node(real_course: tuple[KubeApi, str, Any],
                                                         run: workload_run.RealRun) -> None:
    """On the real node, do this page's workloads whose images exist there really start and become Ready?"""
    if run.same_as:
        pytest.skip(f"mêmes charges de travail et même configuration que « {run.same_as} », déjà lancées")
    api, hostname, store = real_course
    missing = {d.where: workload_run.missing_images(d.obj, store) for d in run.workloads}
    runnable = [d for d in run.workloads if not missing[d.where]]
    absent = [f"{where} ({', '.join(images)})" for where, images in missing.items() if images]
    if not runnable:
        pytest.skip(f"image(s) absente(s) du nœud réel : {' ; '.join(absent)}")
    applied: list[dict[str, Any]] = []
    try:
        applied = workload_run.apply_run(api, run, runnable, hostname, FIELD_MANAGER)
        problems = {d.where: workload_run.wait_ready(api, d, scaled(120)) for d in runnable}
        for patch in run.patches:
            if problems.get(patch.base.where, "absent") is None:
                problems[patch.doc.where] = workload_run.roll_out(api, patch, PATCH_MANAGER, store, scaled(180))
    finally:
        workload_run.remove_run(api, applied, runnable, scaled(90))
    failures = [f"{where} : pas prêt sur le nœud réel : {why}" for where, why in problems.items() if why]
    untried = f"\n(non lancés, image absente : {' ; '.join(absent)})" if absent else ""
    assert not failures, "\n".join(failures) + untried
