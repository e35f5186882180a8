"""The ``kubelab netpol`` verbs: the NetworkPolicy reachability matrix of a namespace.

``kubelab netpol matrix --namespace NS`` reads the cluster (or ``--from-files DIR``, repeatable):
sources are the namespace's pods plus « any pod of » every other namespace, destinations
the namespace's pods plus the cluster DNS pods (kube-system, ``k8s-app=kube-dns``). The
analysis (``kubelab.netpol``) is imported by the verb itself: other commands never load it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kubelab.connection import add_connection_arguments, connect_from_args
from kubelab.errors import EXIT_OK, UsageError
from kubelab.typography import NBSP

if TYPE_CHECKING:
    from kubelab.netpol.loading import Inventory
    from kubelab.netpol.model import Matrix
    from kubelab.netpol.reachability import Analysis


def register(verbs: argparse._SubParsersAction) -> None:
    """Add ``kubelab netpol matrix`` to the ``kubelab`` command."""
    netpol = verbs.add_parser("netpol", help=f"NetworkPolicies{NBSP}: matrice d'accessibilité et erreurs probables",
                              description="Calcule qui peut joindre qui d'après les NetworkPolicies (sans "
                                          "envoyer de trafic).")
    actions = netpol.add_subparsers(dest="netpol_action", metavar="ACTION", required=True)
    matrix = actions.add_parser(
        "matrix", help="matrice d'accessibilité d'un namespace (✓ autorisé, ✗ bloqué)",
        description=f"Matrice d'accessibilité d'un namespace{NBSP}: en lignes les sources (ses pods, puis "
                    f"«{NBSP}tout pod{NBSP}» de chaque autre namespace), en colonnes ses pods et les pods DNS du "
                    "cluster, port par port.")
    matrix.add_argument("--namespace", "-n", required=True, metavar="NS", help="namespace à analyser")
    matrix.add_argument("--from-files", metavar="DOSSIER", action="append",
                        help=f"lire les manifestes YAML d'un dossier au lieu du cluster (répétable{NBSP}; chaque "
                             f"Deployment, StatefulSet… compte pour un pod{NBSP}; les objets sans namespace vont "
                             f"dans NS{NBSP}; un champ inconnu est refusé, d'après le schéma de l'API ou, avec "
                             "--kubeconfig, --context ou --sandbox, par le serveur d'API en dry-run)")
    matrix.add_argument("--json", action="store_true", help="sortie JSON, avec l'explication de chaque case")
    matrix.add_argument("--lint", action="store_true", help="signaler aussi les erreurs probables des politiques")
    matrix.add_argument("--port", action="append", metavar="PORT",
                        help=f"port à tester, ex. 80 ou 53/UDP (répétable{NBSP}; défaut{NBSP}: les ports déclarés "
                             "par les pods)")
    add_connection_arguments(matrix)
    matrix.set_defaults(handler=cmd_netpol_matrix)


def cmd_netpol_matrix(args: argparse.Namespace) -> int:
    """Print the matrix (and the findings with --lint) of one namespace."""
    from kubelab.netpol.french import enumerate_fr, quote
    from kubelab.netpol.lint import lint
    from kubelab.netpol.loading import Inventory, load_directory
    from kubelab.netpol.reachability import Analysis
    from kubelab.netpol.render import findings_text, matrix_json, matrix_text

    if args.from_files:
        inventory = Inventory()
        for folder in args.from_files:
            inventory.extend(load_directory(Path(folder), args.namespace))
        _refuse_unknown_fields(args, inventory)
        origin = f"les fichiers de {enumerate_fr(quote(f) for f in args.from_files)}"
    else:
        inventory = live_inventory(args)
        origin = "le cluster"
    analysis = Analysis(inventory.namespaces, inventory.pods, inventory.policies)
    matrix = namespace_matrix(analysis, args.namespace, args.port, origin)
    findings = None
    if args.lint:
        findings = [f for f in lint(inventory.namespaces, inventory.pods, inventory.policies)
                    if f.policy.split("/", 1)[0] == args.namespace]
    if args.json:
        sys.stdout.write(matrix_json(matrix, findings))
        return EXIT_OK
    sys.stdout.write(matrix_text(matrix, f"Matrice d'accessibilité du namespace {quote(args.namespace)}"))
    if findings is not None:
        sys.stdout.write("\n" + findings_text(findings))
    return EXIT_OK


def _refuse_unknown_fields(args: argparse.Namespace, inventory: Inventory) -> None:
    """Stop on a field the cluster would refuse: asked to the API server if one is named, else the stored schema."""
    from kubelab.netpol import fields

    if args.kubeconfig or args.context or args.sandbox:
        from kubelab.api_schema import strict_dry_run

        api = connect_from_args(args)
        try:
            found = fields.problems(inventory.manifests, strict_dry_run(api))
        finally:
            api.close()
        judge = "le serveur d'API les refuserait (dry-run avec validation stricte des champs, rien n'est écrit)"
    else:
        found = fields.problems(inventory.manifests)
        judge = (f"le serveur d'API les refuserait (d'après le schéma de Kubernetes "
                 f"{fields.stored_schema()['kubernetes']}{NBSP}; --kubeconfig, --context ou --sandbox pour demander "
                 "à un cluster)")
    if found:
        listed = "\n".join(f"  • {line}" for line in found)
        raise UsageError(f"Manifestes refusés, la matrice n'est pas calculée{NBSP}: {judge}{NBSP}:\n{listed}")


def live_inventory(args: argparse.Namespace) -> Inventory:
    """Namespaces, pods of every namespace and NetworkPolicies, read from the cluster."""
    from kubelab.netpol.loading import Inventory

    api = connect_from_args(args)
    try:
        return Inventory(
            namespaces=api.list("v1", "Namespace"),
            pods=api.list("v1", "Pod"),
            policies=api.list("networking.k8s.io/v1", "NetworkPolicy"),
        )
    finally:
        api.close()


def namespace_matrix(analysis: Analysis, namespace: str, ports: list[str] | None, origin: str) -> Matrix:
    """Sources: the namespace's pods, then any pod of each other namespace; destinations: its pods and DNS."""
    from kubelab.netpol.french import quote
    from kubelab.netpol.model import Endpoint, NamespaceEndpoint, PodEndpoint, labels_of

    own = [p for p in analysis.pods if p.namespace == namespace]
    known = namespace in analysis.namespaces or any(p.namespace == namespace for p in analysis.policies)
    if not own and not known:
        raise UsageError(f"Le namespace {quote(namespace)} n'existe pas dans {origin} "
                         "(ni namespace, ni pod, ni NetworkPolicy).")
    others = sorted(({p.namespace for p in analysis.pods} | set(analysis.namespaces)) - {namespace})
    sources: list[Endpoint] = [*own, *(NamespaceEndpoint(n, labels_of(analysis.namespace_labels(n))) for n in others)]
    dns: list[PodEndpoint] = [p for p in analysis.pods if p.namespace == "kube-system"
                              and p.label_map.get("k8s-app") == "kube-dns" and p.namespace != namespace]
    if not own:
        sys.stderr.write(f"Attention{NBSP}: aucun pod dans le namespace {quote(namespace)} ({origin}).\n")
    return analysis.matrix(sources, [*own, *dns], ports)
