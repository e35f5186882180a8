"""kubelab's pytest plugin: options, the ``points`` marker, cluster and namespace fixtures,
and the collection of lab graders.

Registered through the ``pytest11`` entry point. By default a session-scoped sandbox is
started once per test run (and stopped at the end); ``--kubeconfig`` grades an existing
cluster instead.

A lab's grader module is a pytest module whose tests are its checks:
``pytest graders/kubelab/labs/lab03_stockage_pvc.py --kubeconfig ~/.kube/config`` (or
``--lab-snapshot FILE``) runs each check as a test item carrying its ``points`` marker,
fails it with the French message and hint, and prints the score at the end. A check that
cannot be graded (infrastructure, a dry run not allowed) is an *error*, never a skip: it
keeps its points in the maximum, as ``kubelab grade`` does (« Score : 1/21 », not 1/13).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from kubelab.checks import CheckSpec, Verdict
from kubelab.cluster_state import ClusterState
from kubelab.errors import KubelabError
from kubelab.kube_api import KubeApi
from kubelab.typography import french, plural
from kubelab.waiting import wait_for

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr, TracebackStyle

    from kubelab.sandbox.cluster import Sandbox

SESSION_ADDONS = ("dns", "hostpath-storage", "ingress", "rbac")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kubelab", "kubelab : cluster à corriger")
    group.addoption("--kubeconfig", dest="kubelab_kubeconfig", default=None,
                    help="kubeconfig d'un cluster existant (sinon : un bac à sable démarré pour la session)")
    group.addoption("--context", dest="kubelab_context", default=None, help="contexte du kubeconfig")
    group.addoption("--sandbox-nodes", dest="kubelab_sandbox_nodes", type=int, default=3,
                    help="nœuds du plan de contrôle du bac à sable de session (défaut : 3)")
    group.addoption("--lab-snapshot", dest="kubelab_snapshot", default=None, metavar="FICHIER",
                    help="corriger les modules de labs depuis cet instantané")
    group.addoption("--lab-namespace", dest="kubelab_namespace", default=None,
                    help="namespace à corriger (défaut : celui du lab)")
    group.addoption("--allow-dry-run", dest="kubelab_allow_dry_run", action="store_true",
                    help="autoriser les vérifications par dry-run côté serveur")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): nombre de points de la vérification")
    config.addinivalue_line("markers", "real_node: a besoin du nœud réel de la machine (Linux, root)")
    config.addinivalue_line("markers", "real_node_host: démarre et arrête ses propres nœuds réels (passe en premier)")
    config.addinivalue_line("markers", "host_runtime: lance ses propres conteneurs sur l'hôte (montages, namespaces "
                                       "réseau) : tourne avec les tests du nœud réel, pas à côté")
    if config.getoption("kubelab_context") and not config.getoption("kubelab_kubeconfig"):
        raise pytest.UsageError("--context demande aussi --kubeconfig.")
    if config.getoption("kubelab_snapshot") and (config.getoption("kubelab_kubeconfig")
                                                   or config.getoption("kubelab_namespace")):
        raise pytest.UsageError("--lab-snapshot ne se combine pas avec --kubeconfig ou --lab-namespace.")


class CheckFailed(Exception):
    """A check's verdict was negative: the learner's work."""


class CheckNotGraded(Exception):
    """A check could not be graded (cluster, rights, a dry run not allowed): an error, not the learner's."""


class CheckItem(pytest.Item):
    """One check of a lab grader, run as a test."""

    def __init__(self, *, spec: CheckSpec, lab_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.lab_id = lab_id
        from kubelab.catalog import load_lab

        points = next(c.points for c in load_lab(lab_id).checks if c.id == spec.id)
        self.add_marker(pytest.mark.points(points))
        self.points = points
        self.verdict = Verdict(False, "")

    def setup(self) -> None:
        """Read the state and run the check: what fails here is not graded (pytest reports an error)."""
        from kubelab.grading import not_graded

        try:
            self.verdict = self.spec.run(_lab_state(self.config, self.lab_id))
        except KubelabError as exc:
            raise CheckNotGraded(not_graded(exc)) from None

    def runtest(self) -> None:
        self.user_properties.append(("message", self.verdict.message))
        if not self.verdict.passed:
            raise CheckFailed(self.verdict.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: TracebackStyle | None = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, CheckFailed):
            return french(f"{excinfo.value}\nIndice : {self.verdict.hint or self.spec.hint}")
        if isinstance(excinfo.value, CheckNotGraded):
            return french(str(excinfo.value))
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.lab_id} : {self.spec.title}"


def _lab_state(config: pytest.Config, lab_id: str) -> ClusterState:
    """One cluster state per lab and per test session (live or from --lab-snapshot)."""
    cache: dict[str, ClusterState] = config.stash.setdefault(_STATES, {})
    if lab_id not in cache:
        from kubelab.catalog import load_lab
        from kubelab.grading import live_state

        lab = load_lab(lab_id)
        snapshot_path = config.getoption("kubelab_snapshot")
        if snapshot_path:
            from kubelab.snapshot import load_state

            cache[lab_id] = load_state(lab, Path(snapshot_path))[0]
        else:
            from kubelab.connection import connect

            api = connect(config.getoption("kubelab_kubeconfig"), config.getoption("kubelab_context"))
            allow = ("dry-run",) if config.getoption("kubelab_allow_dry_run") else ()
            cache[lab_id] = live_state(lab, api, config.getoption("kubelab_namespace"), allow)
    return cache[lab_id]


_STATES = pytest.StashKey[dict]()


def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> pytest.Item | None:
    """Collect the checks of a lab grader module (functions declared with ``@registry.check``)."""
    spec = getattr(obj, "__kubelab_check__", None)
    module = getattr(obj, "__module__", "") or ""
    if isinstance(spec, CheckSpec) and module.startswith("kubelab.labs.lab"):
        from kubelab.catalog import load_lab

        lab_id = next((lab for lab in _lab_ids() if module.endswith(_module_suffix(lab))), None)
        if lab_id is not None:
            load_lab(lab_id)
            return CheckItem.from_parent(collector, name=spec.id, spec=spec, lab_id=lab_id)
    return None


def _lab_ids() -> list[str]:
    from kubelab.catalog import lab_ids

    return lab_ids()


def _module_suffix(lab_id: str) -> str:
    from kubelab.catalog import module_name

    return module_name(lab_id).rsplit(".", 1)[1]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the score of the lab checks that ran; ungraded ones count in the maximum, not in the score."""
    earned = total = errors = 0
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            points = dict(getattr(report, "user_properties", [])).get("points")
            if points is None:
                continue
            total += points
            earned += points if outcome == "passed" else 0
            errors += outcome == "error"
    if total:
        terminalreporter.write_line(f"Score\u00a0: {earned}/{total}", bold=True)
    if errors:
        count = plural(errors, "vérification non notée", "vérifications non notées")
        terminalreporter.write_line(french(f"{count} : problème d'infrastructure ou dry-run non autorisé, relancez."),
                                    yellow=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, CheckItem) and (call.when == "call" or (call.when == "setup" and report.failed)):
        report.user_properties.append(("points", item.points))
    return report


@pytest.fixture(scope="session")
def kube_sandbox(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox | None]:
    """The session's sandbox (``None`` when testing an existing cluster with --kubeconfig)."""
    if request.config.getoption("kubelab_kubeconfig"):
        yield None
        return
    from kubelab.sandbox.cluster import Sandbox

    root = Path(os.environ.get("KUBELAB_TEST_SANDBOX_ROOT") or tmp_path_factory.mktemp("sandboxes"))
    sandbox = Sandbox(f"session-{uuid.uuid4().hex[:6]}", root=root)
    sandbox.up(nodes=request.config.getoption("kubelab_sandbox_nodes"), addons=SESSION_ADDONS,
               audit=True, progress=lambda _: None)
    try:
        yield sandbox
    finally:
        sandbox.down(progress=lambda _: None)


def real_node_unavailable() -> str | None:
    """Why this machine cannot run the real node, or ``None`` when it can."""
    import platform

    if platform.system() != "Linux":
        return "le nœud réel ne fonctionne que sous Linux"
    if os.geteuid() != 0:
        return "le nœud réel demande les droits root"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that run their own real node go first (before the shared ``real_sandbox`` holds the
    machine's only real node); tests marked ``real_node`` are skipped, visibly, only where the
    machine cannot run one."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("real_node_host") else 1)
    reason = real_node_unavailable()
    if reason is None:
        return
    for item in items:
        if item.get_closest_marker("real_node"):
            item.add_marker(pytest.mark.skip(reason=f"nœud réel impossible ici : {reason}"))


@pytest.fixture(scope="session")
def real_sandbox(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A sandbox whose only node is the machine's real node, shared by the session's tests.

    One real node per machine: a second test session waits for the first to release it."""
    from kubelab.sandbox.cluster import Sandbox
    from kubelab.sandbox.realnode import ownership

    reason = real_node_unavailable()
    if reason is not None:
        pytest.skip(f"nœud réel impossible ici : {reason}")
    root = Path(os.environ.get("KUBELAB_TEST_SANDBOX_ROOT") or tmp_path_factory.mktemp("real-sandboxes"))
    sandbox = Sandbox(f"real-{uuid.uuid4().hex[:6]}", root=root)
    deadline = time.monotonic() + 3600.0
    while True:
        ownership.wait_until_free(timeout=max(1.0, deadline - time.monotonic()))
        try:
            sandbox.up(nodes=1, addons=SESSION_ADDONS, audit=True, progress=lambda _: None, real_node=True)
            break
        except ownership.NodeBusy:
            if time.monotonic() > deadline:
                raise
    try:
        yield sandbox
    finally:
        sandbox.down(progress=lambda _: None)


@pytest.fixture(scope="session")
def kube_api(request: pytest.FixtureRequest, kube_sandbox: Sandbox | None) -> Iterator[KubeApi]:
    """An admin connection to the cluster under test."""
    if kube_sandbox is None:
        api = KubeApi.from_kubeconfig(request.config.getoption("kubelab_kubeconfig"),
                                      request.config.getoption("kubelab_context"))
    else:
        api = kube_sandbox.api()
    yield api
    api.close()


@pytest.fixture
def namespace(request: pytest.FixtureRequest, kube_api: KubeApi) -> Iterator[str]:
    """A fresh namespace with a unique name, deleted after the test."""
    base = "".join(ch if ch.isalnum() else "-" for ch in request.node.name.lower())[:40].strip("-")
    name = f"t-{base}-{uuid.uuid4().hex[:5]}"
    create_namespace(kube_api, name)
    yield name
    kube_api.delete("v1", "Namespace", name)


def create_namespace(api: KubeApi, name: str, labels: dict[str, str] | None = None) -> None:
    """Create a namespace and wait for its default ServiceAccount (pods need it)."""
    api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}})
    wait_for(api, "v1", "ServiceAccount", lambda sas: any(sa["metadata"]["name"] == "default" for sa in sas),
             namespace=name, what=f"le ServiceAccount default de {name}")
