"""The ``kubelab`` command: one verb per subcommand, French help.

Exit codes: 0 success (full score), 1 graded but not full score, 2 usage or bad input,
3 infrastructure error (cluster unreachable, timeout): « non noté, à relancer ».
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from kubelab.errors import EXIT_OK, KubelabError, UsageError
from kubelab.typography import french

if TYPE_CHECKING:
    from kubelab.sandbox.cluster import Sandbox

Handler = Callable[[argparse.Namespace], int]


def _sandbox(args: argparse.Namespace) -> Sandbox:
    from kubelab.sandbox.cluster import Sandbox

    return Sandbox(args.name)


def cmd_sandbox_build(args: argparse.Namespace) -> int:
    from kubelab.sandbox.build import binaries_dir, ensure_binaries, ensure_node_binaries, node_binaries_dir

    def progress(message: str) -> None:
        print(message, flush=True)

    ensure_binaries(progress, allow_go_download=not args.no_go_download)
    print(french(f"Binaires du bac à sable prêts : {binaries_dir()}"))
    if args.real_node:
        from kubelab.sandbox.images import ensure_images
        from kubelab.sandbox.images.payloads import payload_binaries

        ensure_node_binaries(progress, allow_go_download=not args.no_go_download)
        print(french(f"Binaires du nœud réel prêts : {node_binaries_dir()}"))
        store = ensure_images(progress, payload_binaries(progress, allow_go_download=not args.no_go_download))
        print(french(f"Images du nœud réel prêtes : {store.root}"))
    return EXIT_OK


def cmd_sandbox_up(args: argparse.Namespace) -> int:
    addons = tuple(a for a in args.addons.split(",") if a) if args.addons is not None else ("dns",)
    _sandbox(args).up(
        nodes=args.nodes, workers=args.workers, port=args.port, rbac=args.rbac, audit=args.audit,
        addons=addons, allow_go_download=not args.no_go_download, real_node=args.real_node,
    )
    return EXIT_OK


def cmd_sandbox_down(args: argparse.Namespace) -> int:
    _sandbox(args).down()
    return EXIT_OK


def cmd_sandbox_status(args: argparse.Namespace) -> int:
    from kubelab.sandbox import status_report

    sandbox = _sandbox(args)
    state = sandbox.read_state()
    if state is None or not sandbox.is_running():
        report = status_report.stopped()
    else:
        report = status_report.status(sandbox.api(), rbac=state.rbac)
    render = status_report.render_yaml if args.format == "yaml" else status_report.render_text
    sys.stdout.write(render(report))
    return EXIT_OK if report["microk8s"]["running"] else 1


def cmd_sandbox_kubeconfig(args: argparse.Namespace) -> int:
    sandbox = _sandbox(args)
    if not sandbox.kubeconfig.exists():
        raise UsageError(f"Le bac à sable « {args.name} » n'est pas démarré : lancez « kubelab sandbox up ».")
    if args.path:
        print(sandbox.kubeconfig)
    else:
        sys.stdout.write(sandbox.kubeconfig.read_text())
    return EXIT_OK


def cmd_node_add(args: argparse.Namespace) -> int:
    _sandbox(args).add_node(worker=args.worker)
    return EXIT_OK


def cmd_node_remove(args: argparse.Namespace) -> int:
    _sandbox(args).remove_node(args.node)
    return EXIT_OK


def cmd_addon_enable(args: argparse.Namespace) -> int:
    _sandbox(args).enable_addon(args.addon)
    return EXIT_OK


def cmd_addon_disable(args: argparse.Namespace) -> int:
    _sandbox(args).disable_addon(args.addon)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubelab",
        description="Cours Kubernetes auto-corrigé : bac à sable MicroK8s, labs et correction.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="COMMANDE", required=True)

    sandbox = verbs.add_parser("sandbox", help="bac à sable : un MicroK8s simulé (vrai plan de contrôle + kwok)")
    sandbox.add_argument("--name", default="kubelab", help="nom du bac à sable (défaut : kubelab)")
    actions = sandbox.add_subparsers(dest="action", metavar="ACTION", required=True)

    build = actions.add_parser("build", help="construire les binaires (une fois par machine)")
    build.add_argument("--no-go-download", action="store_true", help="ne pas télécharger Go s'il manque")
    build.add_argument("--real-node", action="store_true",
                       help="construire aussi kube-router, CoreDNS, pause et agnhost (nœud réel)")
    build.set_defaults(handler=cmd_sandbox_build)

    up = actions.add_parser("up", help="démarrer le bac à sable (sans effet s'il tourne déjà)")
    up.add_argument("--nodes", type=int, default=1, help="nœuds du plan de contrôle (3 pour la HA)")
    up.add_argument("--workers", type=int, default=0, help="nœuds workers (microk8s join --worker)")
    up.add_argument("--port", type=int, help="port du serveur d'API (défaut : un port libre)")
    up.add_argument("--addons", help="addons à activer, séparés par des virgules (défaut : dns)")
    up.add_argument("--rbac", action="store_true", help="activer RBAC (comme microk8s enable rbac)")
    up.add_argument("--audit", action="store_true", help="journal d'audit du serveur d'API")
    up.add_argument("--no-go-download", action="store_true", help="ne pas télécharger Go s'il manque")
    up.add_argument("--real-node", action="store_true",
                    help="le premier nœud est réel : kubelet, containerd et kube-router sur cette machine "
                         "(Linux, root) ; les conteneurs tournent vraiment et les NetworkPolicies s'appliquent")
    up.set_defaults(handler=cmd_sandbox_up)

    actions.add_parser("down", help="arrêter et supprimer le bac à sable").set_defaults(handler=cmd_sandbox_down)

    status = actions.add_parser("status", help="état façon « microk8s status »")
    status.add_argument("--format", choices=("text", "yaml"), default="text")
    status.set_defaults(handler=cmd_sandbox_status)

    kubeconfig = actions.add_parser("kubeconfig", help="afficher le kubeconfig (comme microk8s config)")
    kubeconfig.add_argument("--path", action="store_true", help="n'afficher que le chemin du fichier")
    kubeconfig.set_defaults(handler=cmd_sandbox_kubeconfig)

    node = actions.add_parser("node", help="ajouter ou retirer un nœud")
    node_actions = node.add_subparsers(dest="node_action", metavar="ACTION", required=True)
    node_add = node_actions.add_parser("add", help="ajouter un nœud (plan de contrôle par défaut)")
    node_add.add_argument("--worker", action="store_true", help="ajouter un worker")
    node_add.set_defaults(handler=cmd_node_add)
    node_remove = node_actions.add_parser("remove", help="retirer un nœud")
    node_remove.add_argument("node", help="nom du nœud")
    node_remove.set_defaults(handler=cmd_node_remove)

    addon = actions.add_parser("addon", help="activer ou désactiver un addon MicroK8s")
    addon_actions = addon.add_subparsers(dest="addon_action", metavar="ACTION", required=True)
    enable = addon_actions.add_parser("enable", help="activer (ex. hostpath-storage, "
                                                     "metallb:10.64.140.43-10.64.140.49)")
    enable.add_argument("addon")
    enable.set_defaults(handler=cmd_addon_enable)
    disable = addon_actions.add_parser("disable", help="désactiver")
    disable.add_argument("addon")
    disable.set_defaults(handler=cmd_addon_disable)

    from kubelab import cli_grading, cli_netpol

    cli_grading.register(verbs)
    cli_netpol.register(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from kubelab.argparse_french import french_messages

    with french_messages():
        parser = build_parser()
        args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KubelabError as exc:
        print(french(f"Erreur : {exc.message}"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrompu.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
