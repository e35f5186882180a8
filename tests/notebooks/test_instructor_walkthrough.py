"""Every command of ``README.md`` and ``notebooks/README.md``, exactly as written, from a fresh copy.

Each document is followed in a fresh copy of the repository (its tracked files, as a clone
has them, with the repository's virtualenv), in one shell session per document, command
after command, the way a newcomer would type them: ``cd`` and ``export`` carry over. The
shell's PATH does not hold the virtualenv (nbgrader must find ``alembic`` anyway), HOME is
empty, and the machine's nbgrader configuration is the one ``notebooks/README.md`` gives for
a shared JupyterHub (its Python block, with a temporary exchange). Learners are simulated
between « release » and « collect »: they fetch the assignment, work, click « Soumettre » and
submit. Each command's exit code is checked; a command that cannot run here (MicroK8s, GitHub,
this very test) is listed in ``PLAN`` with the reason, and a command added to a README without
an entry in ``PLAN`` fails the test.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from kubelab.catalog import load_lab
from kubelab.paths import cache_root

from .nbtools import BIN, REPO, builder, click_submit, execute, kernel_env, without_test_cells

INLINE = re.compile(r"`((?:\.\./)?\.venv/bin/\S+ [^`]+|nbgrader [^`]+)`")
LAB_ID = "03-stockage-pvc"
LEARNER = "alice"
Hook = Callable[["Walk"], None]


@dataclass(frozen=True)
class Step:
    """What the test does with one command of a README."""

    expect: int | None = 0
    skip: str = ""
    """Why the command cannot run here (then it is not run)."""
    before: Hook | None = None
    learner: bool = False
    """A learner's command: run by the simulated learner, in their folder, not in the instructor's shell."""
    answer: str = ""
    """The command asks a question on its terminal: run it in a pseudo-terminal that answers this."""


def commands(text: str) -> list[str]:
    """The commands of a Markdown page: each line of its ``bash`` blocks (comments dropped, ``\\``
    continuations joined), and the commands written inline in its prose."""
    found: list[str] = []
    in_block, language, pending = False, "", ""
    for line in text.splitlines():
        fence = re.match(r"^```(\w*)", line)
        if fence:
            in_block, language = not in_block, fence.group(1)
            continue
        if not in_block:
            found += INLINE.findall(line)
            continue
        if language != "bash":
            continue
        if pending:
            line, pending = f"{pending} {line.strip()}", ""
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1].rstrip()
            continue
        code = re.split(r"\s{2,}#", line)[0].strip()
        if code and not code.startswith("#"):
            found.append(code)
    return found


def _python_block(text: str) -> str:
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)  # type: ignore[union-attr]


class Shell:
    """One interactive bash session: commands run one after the other, state (cd, export) carries over."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=cwd, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def run(self, command: str, timeout: float = 600) -> tuple[int, str]:
        marker = f"@@fin-{uuid.uuid4().hex}"
        assert self.process.stdin is not None
        self.process.stdin.write(f"{{ {command}\n}} </dev/null 2>&1; __rc=$?; echo; echo \"{marker} $__rc\"\n")
        self.process.stdin.flush()
        output = []
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                shown = "".join(output)[-3000:]
                raise AssertionError(f"« {command} » n'a pas fini en {timeout:.0f} s :\n{shown}") from None
            if line.startswith(marker):
                return int(line.split()[1]), "".join(output)[:-1]  # without the newline put before the marker
            output.append(line)

    def value(self, expression: str) -> str:
        return self.run(f'printf "%s" "{expression}"')[1]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


@dataclass
class Walk:
    """One document followed in its own fresh copy."""

    root: Path
    shell: Shell
    env: dict[str, str]
    home: Path
    machine_config: Path
    cluster: Callable[[], Path]
    """The kubeconfig of the cluster the learners work on."""
    learner_done: bool = False
    namespaces: tuple[str, ...] = ()

    def cwd(self) -> Path:
        return Path(self.shell.value("$PWD"))


def fresh_copy(target: Path) -> Path:
    """The repository as a clone has it: its tracked files (as they are now), with a virtualenv of its own."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        if name and (REPO / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)
    fresh_venv(target)
    return target


def fresh_venv(root: Path) -> None:
    """``root/.venv`` as ``scripts/setup.sh`` makes it, without downloading again: a virtualenv whose
    ``kubelab`` is the copy's own code (``root/graders``) and whose other packages are the repository's
    (same versions), with the same commands in ``bin/``."""
    venv = root / ".venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)  # type: ignore[attr-defined]
    packages = next(Path(p) for p in sys.path if p.endswith("site-packages") and str(REPO / ".venv") in p)
    site = venv / packages.relative_to(REPO / ".venv")
    (site / "kubelab-copie.pth").write_text(f"{root / 'graders'}\n{packages}\n", encoding="utf-8")
    for shared in ("share", "etc"):  # Jupyter's data and configuration: templates, kernels, extensions
        if (REPO / ".venv" / shared).is_dir():
            (venv / shared).symlink_to(REPO / ".venv" / shared)
    shebang = f"#!{REPO / '.venv' / 'bin'}/python"
    for script in sorted((REPO / ".venv" / "bin").iterdir()):
        target = venv / "bin" / script.name
        if target.exists() or not script.is_file() or script.is_symlink():
            continue
        head = script.read_bytes()[:200]
        if head.startswith(b"\x7fELF"):  # a compiled command (ruff): the same binary serves the copy
            target.symlink_to(script)
            continue
        if not head.startswith(shebang.encode()):
            continue
        _, _, rest = script.read_text(encoding="utf-8").partition("\n")
        target.write_text(f"#!{venv / 'bin' / 'python'}\n{rest}", encoding="utf-8")
        target.chmod(0o755)


def instructor_env(home: Path, jupyter: Path, sandboxes: Path, kubeconfig: Path | None) -> dict[str, str]:
    """A newcomer's terminal: no virtualenv on PATH, an empty HOME, the machine's nbgrader settings."""
    venv = {str(BIN), str(REPO / ".venv" / "bin")}
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p not in venv)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KUBELAB_", "NBGRADER_", "KUBECONFIG", "JUPYTER", "VIRTUAL_ENV", "PYTEST"))}
    env.update(PATH=path, HOME=str(home), JUPYTER_CONFIG_DIR=str(jupyter), KUBELAB_CACHE=str(cache_root()),
               KUBELAB_SANDBOX_HOME=str(sandboxes))
    env.pop("XDG_CACHE_HOME", None)
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return env


# --- what happens between the commands --------------------------------------------------------------------


def kube_config_stand_in(walk: Walk) -> None:
    """In place of « microk8s config > ~/.kube/config »: the sandbox's kubeconfig (its context is « microk8s » too)."""
    target = walk.home / ".kube" / "config"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(walk.cluster(), target)


def classroom(walk: Walk) -> None:
    """A learner's namespace on the cluster graded in classroom mode: lab 03's solution in ``etudiant-alice``."""
    if "etudiant-alice" in walk.namespaces:
        return
    done = subprocess.run([str(BIN / "kubelab"), "lab", "apply", LAB_ID, "solution", "-n", "etudiant-alice",
                           "--kubeconfig", str(walk.cluster())], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    walk.namespaces += ("etudiant-alice",)


def learner_works(walk: Walk, lab_id: str = LAB_ID) -> None:
    """Alice, on her JupyterHub account: fetch (as written), work, click « Soumettre », submit, validate."""
    if walk.learner_done:
        return
    walk.learner_done = True
    folder = walk.home.parent / "apprenante"
    folder.mkdir(exist_ok=True)
    namespace = f"nb-{LEARNER}-{uuid.uuid4().hex[:5]}"
    walk.namespaces += (namespace,)
    env = kernel_env(walk.cluster(), namespace, JUPYTERHUB_USER=LEARNER, HOME=str(folder),
                     JUPYTER_CONFIG_DIR=str(walk.machine_config.parent))

    def nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, f"nbgrader {' '.join(args)} :\n{done.stdout}\n{done.stderr}"
        return done

    nbgrader("fetch_assignment", lab_id, cwd=folder)
    path = folder / lab_id / f"{lab_id}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    lab = load_lab(lab_id)
    builder().fill(notebook, {**builder().variant_answers(lab, "solution"), **builder().quiz_answers(lab, True)})
    execute(click_submit(notebook), path.parent, env)
    nbformat.write(without_test_cells(notebook), path)
    assert (path.parent / "snapshot.json").is_file()
    # « nbgrader submit 03-stockage-pvc » as written, but for alice: nbgrader names the submitter after the
    # machine account running it, and this test runs as one account for every role.
    nbgrader("submit", lab_id, f"--student={LEARNER}", cwd=folder)
    validated = nbgrader("validate", f"{lab_id}.ipynb", cwd=path.parent)
    assert "Success! Your notebook passes all the tests." in validated.stdout, validated.stdout


def assert_full_marks(walk: Walk) -> None:
    """Alice submitted the solution: the gradebook has her full marks."""
    with Gradebook(f"sqlite:///{walk.root / 'notebooks' / 'gradebook.db'}") as gradebook:
        graded = gradebook.find_submission_notebook(LAB_ID, LAB_ID, LEARNER)
        assert graded.score == graded.max_score > 0, {grade.name: grade.score for grade in graded.grades}


BUILD_SKIP = ("installe tout (scripts/setup.sh, que scripts/test.sh lance avant la suite) puis lance "
              "« kubelab demo » sur un bac à sable de 3 nœuds : chacune des commandes qu'elle enchaîne (lab setup, "
              "lab apply, grade) est exécutée ici, une par une")
REAL_NODE = ("un seul nœud réel par machine, qui modifie l'hôte (iptables, montages) : tests/realnode s'en sert ; "
             "arrêter le bac à sable ici couperait aussi celui des commandes qui suivent")
SUITE = "des tests de la suite, que scripts/test.sh lance déjà"
README_PLAN: dict[str, Step] = {
    "bash scripts/demo.sh": Step(skip=BUILD_SKIP),
    "bash scripts/test.sh": Step(skip="c'est la commande de la CI (.ci/run) qui lance ce test lui-même"),
    ".venv/bin/kubelab sandbox up": Step(),
    ".venv/bin/kubelab sandbox status": Step(),
    "export KUBECONFIG=$(.venv/bin/kubelab sandbox kubeconfig --path)": Step(),
    ".venv/bin/kubelab sandbox addon enable hostpath-storage": Step(before=kube_config_stand_in),
    ".venv/bin/kubelab sandbox node add": Step(),
    ".venv/bin/kubelab sandbox node remove node-2": Step(),
    "sudo .venv/bin/kubelab sandbox up --real-node": Step(skip=REAL_NODE),
    "sudo .venv/bin/kubelab sandbox up --real-node --nodes 3": Step(skip=REAL_NODE),
    "sudo .venv/bin/kubelab sandbox down": Step(skip=REAL_NODE),
    ".venv/bin/python -m kubelab.sandbox.images.registry --store DOSSIER --listen 127.0.0.1:PORT": Step(
        skip="un gabarit (DOSSIER et PORT à remplacer) : tests/images lance ce registre"),
    ".venv/bin/kubelab labs": Step(),
    ".venv/bin/kubelab lab setup 03-stockage-pvc": Step(),
    ".venv/bin/kubelab grade 03-stockage-pvc": Step(expect=1),
    ".venv/bin/kubelab grade 03-stockage-pvc --json r.json --junit r.xml": Step(expect=1),
    ".venv/bin/kubelab snapshot 03-stockage-pvc -o etat.json": Step(),
    ".venv/bin/kubelab grade 03-stockage-pvc --snapshot etat.json": Step(expect=1),
    ".venv/bin/kubelab lab reset 03-stockage-pvc": Step(answer="o"),
    ".venv/bin/pytest graders/kubelab/labs/lab03_stockage_pvc.py --kubeconfig ~/.kube/config": Step(expect=1),
    "microk8s config > ~/.kube/config": Step(skip="MicroK8s n'est pas installé ici : ~/.kube/config est le "
                                                  "kubeconfig du bac à sable, de contexte « microk8s » lui aussi"),
    ".venv/bin/kubelab grade 03-stockage-pvc --kubeconfig ~/.kube/config --context microk8s": Step(expect=1),
    ".venv/bin/kubelab grade 03-stockage-pvc --namespaces 'etudiant-*' --workers 4 --csv notes.csv":
        Step(before=classroom),
    ".venv/bin/jupyter lab notebooks/source/03-stockage-pvc/": Step(
        skip="un serveur interactif : test_jupyterlab_browser.py l'ouvre dans Chromium"),
    "cd notebooks": Step(),
    "../.venv/bin/nbgrader generate_assignment 03-stockage-pvc": Step(),
    "../.venv/bin/nbgrader release_assignment 03-stockage-pvc": Step(),
    "../.venv/bin/nbgrader collect 03-stockage-pvc": Step(before=learner_works),
    "../.venv/bin/nbgrader autograde 03-stockage-pvc": Step(),
    "../.venv/bin/nbgrader generate_feedback 03-stockage-pvc": Step(before=assert_full_marks),
    "../.venv/bin/nbgrader release_feedback 03-stockage-pvc": Step(),
    "cd ..": Step(),
    ".venv/bin/kubelab sandbox down": Step(),
    "unset KUBECONFIG": Step(),
    ".venv/bin/mkdocs build": Step(),
    "KUBELAB_HIDE_SOLUTIONS=1 .venv/bin/mkdocs build": Step(),
    ".venv/bin/mkdocs gh-deploy --force": Step(skip="publie sur GitHub : cette machine n'a pas accès à Internet"),
    "bash scripts/static_checks.sh": Step(),
    ".venv/bin/python -m pytest tests/engine/test_concurrency.py -q": Step(skip=SUITE),
    "KUBELAB_TIMEOUT_FACTOR=3 .venv/bin/python -m pytest tests/sandbox": Step(skip=SUITE),
}
GUIDE_PLAN: dict[str, Step] = {
    "../.venv/bin/python build_notebooks.py": Step(),
    "../.venv/bin/python build_notebooks.py --check": Step(),
    "../.venv/bin/python build_notebooks.py --course-url https://exemple.org/cours": Step(),
    "../.venv/bin/nbgrader generate_assignment 03-stockage-pvc": Step(),
    "../.venv/bin/nbgrader release_assignment 03-stockage-pvc": Step(),
    "nbgrader fetch_assignment 03-stockage-pvc": Step(learner=True),
    "nbgrader submit 03-stockage-pvc": Step(learner=True),
    "../.venv/bin/nbgrader collect 03-stockage-pvc": Step(before=learner_works),
    "../.venv/bin/nbgrader autograde 03-stockage-pvc": Step(),
    "../.venv/bin/nbgrader autograde 03-stockage-pvc --student alice --force": Step(before=assert_full_marks),
    "nbgrader validate 03-stockage-pvc.ipynb": Step(learner=True),
    "../.venv/bin/nbgrader export": Step(),
    "../.venv/bin/nbgrader generate_feedback 03-stockage-pvc": Step(),
    "../.venv/bin/nbgrader release_feedback 03-stockage-pvc": Step(),
    "../.venv/bin/kubelab grade 03-stockage-pvc --namespaces 'etudiant-*' --csv notes.csv": Step(before=classroom),
    "../.venv/bin/kubelab grade 03-stockage-pvc --namespaces 'etudiant-*' --workers 8 --csv notes.csv --allow-dry-run":
        Step(),
    "../.venv/bin/kubelab grade 03-stockage-pvc --snapshot submitted/alice/03-stockage-pvc/snapshot.json": Step(),
    "../.venv/bin/python -m pytest -q -p no:cacheprovider ../tests/notebooks/test_pipeline.py "
    "../tests/notebooks/test_pipeline_every_lab.py ../tests/notebooks/test_protections.py "
    "../tests/notebooks/test_jupyterlab_browser.py ../tests/notebooks/test_instructor_walkthrough.py":
        Step(skip="ces tests font partie de la suite, qui les lance déjà (ce test compris)"),
}


def follow(walk: Walk, document: str, plan: dict[str, Step]) -> list[str]:
    """Run every command of ``document`` as planned; the transcript."""
    listed = commands((walk.root / document).read_text(encoding="utf-8"))
    assert sorted(set(listed)) == sorted(plan), (
        f"{document} et le plan du test divergent : absentes du plan {sorted(set(listed) - set(plan))}, "
        f"absentes du document {sorted(set(plan) - set(listed))}")
    transcript = []
    for command in listed:
        step = plan[command]
        if step.skip:
            transcript.append(f"(non exécutée) {command} — {step.skip}")
            continue
        if step.before is not None:
            step.before(walk)
        if step.learner:
            learner_works(walk)
            transcript.append(f"(apprenante) {command}")
            continue
        print(f"$ {command}", flush=True)
        line = command
        if step.answer:
            line = f"echo {step.answer} | script -qfec {shell_quote(command)} /dev/null"
        started = time.monotonic()
        code, output = walk.shell.run(line)
        transcript.append(f"$ {command}  → {code} en {time.monotonic() - started:.1f} s")
        assert "Traceback" not in output, f"{command} :\n{output[-3000:]}"
        assert step.expect is None or code == step.expect, f"{command} a rendu {code} (attendu {step.expect}) :\n" \
                                                            f"{output[-3000:]}"
    return transcript


def shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


@pytest.fixture
def walk_factory(tmp_path: Path, kube_api: object, cluster_kubeconfig: Path):
    walks: list[Walk] = []

    def make(name: str, start: str, kubeconfig: Path | None) -> Walk:
        base = tmp_path / name
        root = fresh_copy(base / "kubelab")
        home = base / "home"
        home.mkdir()
        exchange = base / "echange"
        exchange.mkdir(mode=0o777)
        config = base / "jupyter" / "nbgrader_config.py"
        config.parent.mkdir()
        guide = (root / "notebooks" / "README.md").read_text(encoding="utf-8")
        config.write_text(_python_block(guide).replace("/srv/nbgrader/exchange", str(exchange)), encoding="utf-8")
        env = instructor_env(home, config.parent, base / "bacs-a-sable", kubeconfig)
        shell = Shell(root / start, env)
        walk = Walk(root, shell, env, home, config, lambda: kubeconfig or Path(shell.value("$KUBECONFIG")))
        walks.append(walk)
        return walk

    yield make
    for walk in walks:
        walk.shell.run(f"{walk.root}/.venv/bin/kubelab sandbox down >/dev/null 2>&1; true")  # the README's sandbox
        walk.shell.close()
        for namespace in walk.namespaces:
            kube_api.delete("v1", "Namespace", namespace)  # type: ignore[attr-defined]


def test_readme_commands_run_as_written(walk_factory) -> None:
    """README.md, top to bottom: the sandbox, grading, classroom mode, the instructor's nbgrader steps,
    publishing. The README's own sandbox (in a private folder) serves its commands and its learner."""
    walk = walk_factory("readme", ".", None)
    transcript = follow(walk, "README.md", README_PLAN)
    print("\n".join(transcript))
    assert (walk.root / "r.json").is_file() and (walk.root / "r.xml").is_file()
    assert (walk.root / "etat.json").is_file() and (walk.root / "notes.csv").is_file()
    assert "etudiant-alice" in (walk.root / "notes.csv").read_text(encoding="utf-8")
    assert (walk.root / "notebooks" / "feedback" / LEARNER / LAB_ID / f"{LAB_ID}.html").is_file()
    assert (walk.root / "site" / "index.html").is_file()


def test_instructor_guide_commands_run_as_written(walk_factory, cluster_kubeconfig: Path) -> None:
    """notebooks/README.md, top to bottom, from notebooks/, against the classroom cluster (the session sandbox)."""
    walk = walk_factory("guide", "notebooks", cluster_kubeconfig)
    transcript = follow(walk, "notebooks/README.md", GUIDE_PLAN)
    print("\n".join(transcript))
    course = walk.root / "notebooks"
    assert LEARNER in (course / "grades.csv").read_text(encoding="utf-8")
    assert "etudiant-alice" in (course / "notes.csv").read_text(encoding="utf-8")
    assert (course / "feedback" / LEARNER / LAB_ID / f"{LAB_ID}.html").is_file()
    assert "exemple.org/cours" in (course / "source" / LAB_ID / f"{LAB_ID}.ipynb").read_text(encoding="utf-8")
