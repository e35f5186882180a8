"""Which cluster to talk to: a kubeconfig context, MicroK8s's own config, or the sandbox.

Every command that reads a cluster takes the same options (``--kubeconfig``, ``--context``,
``--sandbox``). With none of them and no kubeconfig on the machine, the running sandbox is
the embedded default.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from kubelab.errors import UsageError
from kubelab.kube_api import KubeApi
from kubelab.kubeconfig import environment_path


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--kubeconfig``, ``--context`` and ``--sandbox [NAME]`` to a subcommand."""
    group = parser.add_argument_group("cluster")
    group.add_argument("--kubeconfig", help="fichier kubeconfig (défaut : $KUBECONFIG ou ~/.kube/config)")
    group.add_argument("--context", help="contexte du kubeconfig (défaut : le contexte courant)")
    group.add_argument("--sandbox", action="store_true", help="utiliser le bac à sable démarré")
    group.add_argument("--sandbox-name", default="kubelab", metavar="NOM",
                       help="nom du bac à sable (défaut : kubelab)")


def default_kubeconfig() -> Path | None:
    """The kubeconfig kubectl would use, if one exists on this machine (``$KUBECONFIG`` must exist if set)."""
    named = environment_path()
    if named is not None:
        return named
    candidate = Path.home() / ".kube" / "config"
    return candidate if candidate.is_file() else None


def microk8s_kubeconfig() -> str | None:
    """The output of ``microk8s config`` when MicroK8s is installed here, else ``None``."""
    if shutil.which("microk8s") is None:
        return None
    try:
        done = subprocess.run(["microk8s", "config"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 and "clusters:" in done.stdout else None


def sandbox_api(name: str = "kubelab") -> KubeApi:
    """Connect to a running sandbox, or say in French how to start it."""
    from kubelab.sandbox.cluster import Sandbox

    sandbox = Sandbox(name)
    if not sandbox.is_running():
        raise UsageError(
            f"Le bac à sable « {name} » n'est pas démarré : lancez « kubelab sandbox up » "
            "(ou « kubelab sandbox up --nodes 3 » pour la haute disponibilité)."
        )
    return sandbox.api()


def connect(kubeconfig: str | None = None, context: str | None = None, sandbox: str | None = None) -> KubeApi:
    """Open the connection the options ask for.

    Order: ``--sandbox``; then an explicit or default kubeconfig; then MicroK8s's config;
    then the running default sandbox. A kubeconfig named by ``--kubeconfig`` or ``$KUBECONFIG``
    that does not exist is an error naming it, never a fallback to the next one.
    """
    if sandbox and (kubeconfig or context):
        raise UsageError("--sandbox ne se combine pas avec --kubeconfig ou --context.")
    if sandbox:
        return sandbox_api(sandbox)
    if kubeconfig:
        return KubeApi.from_kubeconfig(kubeconfig, context, named_by="l'option --kubeconfig")
    if context or default_kubeconfig():
        return KubeApi.from_kubeconfig(None, context)
    microk8s = microk8s_kubeconfig()
    if microk8s:
        from kubelab.paths import cache_root

        path = cache_root() / "microk8s.kubeconfig"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(microk8s)
        path.chmod(0o600)
        return KubeApi.from_kubeconfig(path)
    return sandbox_api("kubelab")


def connect_from_args(args: argparse.Namespace) -> KubeApi:
    """``connect`` with the options added by ``add_connection_arguments``."""
    return connect(args.kubeconfig, args.context, args.sandbox_name if args.sandbox else None)
