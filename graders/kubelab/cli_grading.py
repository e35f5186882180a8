"""Grading verbs of the ``kubelab`` command, and the demo."""

from __future__ import annotations

import argparse
import sys

from kubelab.errors import EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Start a 3-node sandbox, show its nodes and addons, stop it."""
    from kubelab.sandbox import profile, status_report
    from kubelab.sandbox.cluster import Sandbox

    sandbox = Sandbox(args.name)
    sandbox.up(nodes=3, addons=("dns", "hostpath-storage", "ingress", "rbac"))
    try:
        api = sandbox.api()
        print("\nNœuds :")
        for node in api.list("v1", "Node"):
            role = "plan de contrôle" if profile.is_control_plane(node) else "worker"
            ready = "Ready" if profile.is_ready(node) else "NotReady"
            print(f"  {node['metadata']['name']:<10} {ready:<9} {role:<17} {profile.internal_ip(node)}")
        print()
        sys.stdout.write(status_report.render_text(status_report.status(api, rbac=True)))
    finally:
        if not args.keep:
            sandbox.down()
    return EXIT_OK


def register(verbs: argparse._SubParsersAction) -> None:
    """Add the grading subcommands to the parser."""
    demo = verbs.add_parser("demo", help="démonstration complète sur un bac à sable")
    demo.add_argument("--name", default="demo", help="nom du bac à sable de démonstration")
    demo.add_argument("--keep", action="store_true", help="laisser le bac à sable démarré à la fin")
    demo.set_defaults(handler=cmd_demo)
