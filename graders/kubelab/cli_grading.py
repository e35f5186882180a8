"""Grading verbs of the ``kubelab`` command: labs, lab setup/apply, grade, snapshot, demo."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kubelab.catalog import available_labs, load_lab
from kubelab.connection import add_connection_arguments, connect_from_args
from kubelab.errors import EXIT_INFRASTRUCTURE, EXIT_OK, EXIT_USAGE, UsageError
from kubelab.kube_api import KubeApi
from kubelab.outcomes import GradeReport
from kubelab.reports import json_report, junit, terminal
from kubelab.typography import french


def cmd_labs(args: argparse.Namespace) -> int:
    """List the labs: id, title, points."""
    labs = available_labs()
    if args.json:
        print(json.dumps([{"id": lab.id, "title": lab.title, "namespace": lab.namespace, "points": lab.max_points,
                           "checks": len(lab.checks)} for lab in labs], ensure_ascii=False, indent=2))
        return EXIT_OK
    width = max((len(lab.id) for lab in labs), default=10)
    for lab in labs:
        print(f"{lab.id:<{width}}  {lab.max_points:>3} pts  {len(lab.checks):>2} vérifications  {lab.title}")
    return EXIT_OK


def _allow(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(need for need, on in (("dry-run", args.allow_dry_run), ("probe", args.allow_probes)) if on)


def _emit(report: GradeReport, args: argparse.Namespace) -> int:
    if args.json:
        Path(args.json).write_text(json_report.render(report), encoding="utf-8")
    if args.junit:
        Path(args.junit).write_text(junit.render(report), encoding="utf-8")
    if args.format == "json":
        sys.stdout.write(json_report.render(report))
    else:
        sys.stdout.write(terminal.render(report, colour=terminal.use_colour(sys.stdout)))
    return report.exit_code


def cmd_grade(args: argparse.Namespace) -> int:
    """Grade a lab live, or from a snapshot."""
    from kubelab.grading import grade_live, grade_snapshot

    include_hidden = not args.visible_only
    if args.snapshot and args.allow_probes:
        raise UsageError("--allow-probes ne se combine pas avec --snapshot : les sondes en direct agissent sur un "
                         "cluster réel, pas sur un instantané.")
    if args.snapshot:
        if args.kubeconfig or args.context or args.sandbox or args.namespace:
            raise UsageError("--snapshot ne se combine pas avec --kubeconfig, --context, --sandbox ou --namespace.")
        return _emit(grade_snapshot(args.lab, Path(args.snapshot), include_hidden=include_hidden), args)
    load_lab(args.lab)
    if args.namespaces and args.allow_probes:
        raise UsageError("--allow-probes ne se combine pas avec --namespaces : les sondes en direct écrivent dans le "
                         "namespace de chaque apprenant ; lancez-les pour un apprenant à la fois, avec --namespace.")
    if args.namespaces:
        return _grade_classroom(args)
    api = connect_from_args(args)
    try:
        report = grade_live(args.lab, api, args.namespace, allow=_allow(args), wait=args.wait,
                            include_hidden=include_hidden)
        code = _emit(report, args)
        if args.allow_probes:
            _run_live_probes(args, api, report.namespace)
    finally:
        api.close()
    return code


def _run_live_probes(args: argparse.Namespace, api: KubeApi, namespace: str) -> None:
    """The lab's live probes, after the report: not scored, so the exit code stays the report's."""
    from kubelab import live_probes

    sys.stdout.flush()
    results = live_probes.run_live_probes(args.lab, api, namespace)
    stream = sys.stderr if args.format == "json" else sys.stdout  # keep the JSON on stdout parseable
    stream.write(live_probes.render(results, colour=terminal.use_colour(stream)))


def _grade_classroom(args: argparse.Namespace) -> int:
    from kubelab.classroom import grade_classroom, to_csv

    if args.namespace or args.json or args.junit:
        raise UsageError("--namespaces ne se combine pas avec --namespace, --json ou --junit (le résultat est un CSV).")
    api = connect_from_args(args)
    try:
        results = grade_classroom(args.lab, api, args.namespaces, workers=args.workers, allow=_allow(args),
                                  wait=args.wait or 0.0)
    finally:
        api.close()
    table = to_csv(args.lab, results)
    if args.csv:
        Path(args.csv).write_text(table, encoding="utf-8")
        graded = sum(1 for _, r in results if not isinstance(r, str))
        print(french(f"{graded}/{len(results)} namespaces corrigés ; résultats dans « {args.csv} »."))
    else:
        sys.stdout.write(table)
    complete = all(not isinstance(r, str) and not r.errors for _, r in results)
    return EXIT_OK if complete else EXIT_INFRASTRUCTURE


def cmd_snapshot(args: argparse.Namespace) -> int:
    """Capture the state a lab's checks read into a snapshot file."""
    from kubelab import snapshot
    from kubelab.grading import live_state

    lab = load_lab(args.lab)
    api = connect_from_args(args)
    try:
        document = snapshot.capture(lab, live_state(lab, api, args.namespace, _allow(args)))
    finally:
        api.close()
    output = Path(args.output or f"{lab.id}.snapshot.json")
    snapshot.write(document, output)
    count = sum(len(items) for items in document["lists"].values())
    print(french(f"Instantané du lab {lab.id} écrit dans « {output} » ({count} objets, empreinte "
                 f"{document['sha256'][:12]})."))
    return EXIT_OK


def cmd_lab_setup(args: argparse.Namespace) -> int:
    """Check what the lab needs, create its namespace and the objects it provides (``setup/``)."""
    from kubelab import lab_setup, prerequisites

    lab = load_lab(args.lab)
    api = connect_from_args(args)
    try:
        findings = prerequisites.check(api, lab.requires) if args.step == 1 else []
        namespace = lab_setup.setup(api, lab, args.namespace, step=args.step)
    finally:
        api.close()
    if args.step != 1:
        print(french(f"Étape {args.step} du lab {lab.id} faite dans le namespace « {namespace} » : "
                     f"{lab.setup_steps[args.step].description}."))
        return EXIT_OK
    for line in prerequisites.lines(findings):
        print(french(f"  {line}"))
    absent = prerequisites.missing(findings)
    if absent:
        print(french(f"Erreur : le lab {lab.id} n'est pas prêt : il manque au cluster : "
                     f"{', '.join(f.need for f in absent)} (namespace « {namespace} » créé ; relancez « kubelab lab "
                     f"setup {lab.id} » une fois le nécessaire activé)."), file=sys.stderr)
        return EXIT_USAGE
    print(french(f"Lab {lab.id} prêt dans le namespace « {namespace} »."))
    return EXIT_OK


def cmd_lab_reset(args: argparse.Namespace) -> int:
    """Delete the lab's namespace after confirmation, then set the lab up again."""
    from kubelab import lab_setup

    lab = load_lab(args.lab)
    namespace = args.namespace or lab.namespace
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(f"« lab reset » supprime le namespace « {namespace} » : confirmez avec --yes.")
        answer = input(f"Supprimer le namespace « {namespace} » et tout son contenu ? [o/N] ")
        if answer.strip().lower() not in ("o", "oui", "y", "yes"):
            print("Rien n'a été supprimé.")
            return EXIT_OK
    api = connect_from_args(args)
    try:
        lab_setup.reset(api, lab, namespace)
    finally:
        api.close()
    print(french(f"Lab {lab.id} remis à zéro dans le namespace « {namespace} »."))
    return EXIT_OK


def cmd_lab_apply(args: argparse.Namespace) -> int:
    """Apply one of the lab's variants (starter, solution, alternatives/X, mutants/X)."""
    from kubelab import lab_setup

    lab = load_lab(args.lab)
    target = args.namespace or lab.namespace
    objects = lab_setup.variant_objects(lab, args.variant, target)  # a broken file stops here, before any write
    api = connect_from_args(args)
    try:
        namespace = lab_setup.setup_all(api, lab, target)  # a variant is finished work: every step done
        lab_setup.apply_objects(api, objects, namespace)
    finally:
        api.close()
    print(french(f"{len(objects)} objets de « {args.variant} » appliqués dans « {namespace} »."))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Start a 3-node sandbox, grade every lab's starter then its solution, stop it."""
    from kubelab.demo import run_demo

    return run_demo(args.name, keep=args.keep)


def _grading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("lab", help="identifiant du lab (voir « kubelab labs »)")
    parser.add_argument("--namespace", "-n", help="namespace à corriger (défaut : celui du lab)")
    parser.add_argument("--allow-dry-run", action="store_true",
                        help="autoriser les vérifications par dry-run côté serveur et SubjectAccessReview (rien n'est "
                             "écrit)")
    parser.add_argument("--allow-probes", action="store_true",
                        help="lancer aussi les sondes en direct, non notées (MicroK8s réel) : elles écrivent dans le "
                             "cluster (lab 03 : une table et un redémarrage du pod ; lab 04 : des conteneurs "
                             "éphémères)")
    add_connection_arguments(parser)


def register(verbs: argparse._SubParsersAction) -> None:
    """Add the grading subcommands to the parser."""
    labs = verbs.add_parser("labs", help="lister les labs, leurs titres et leurs points")
    labs.add_argument("--json", action="store_true", help="sortie JSON")
    labs.set_defaults(handler=cmd_labs)

    grade = verbs.add_parser("grade", help="corriger un lab (en direct ou depuis un instantané)")
    _grading_options(grade)
    grade.add_argument("--snapshot", metavar="FICHIER", help="corriger depuis un instantané, sans cluster")
    grade.add_argument("--json", metavar="FICHIER", help="écrire aussi le rapport JSON (schéma kubelab-report v1)")
    grade.add_argument("--junit", metavar="FICHIER", help="écrire aussi le rapport JUnit XML")
    grade.add_argument("--format", choices=("text", "json"), default="text", help="format de la sortie standard")
    grade.add_argument("--wait", type=float, default=None, metavar="SECONDES",
                       help="attente maximale d'un état qui converge (pods qui démarrent…) ; 0 pour ne pas attendre")
    grade.add_argument("--namespaces", metavar="MOTIF",
                       help="mode classe : corriger chaque namespace correspondant (ex. 'etudiant-*') et écrire un CSV")
    grade.add_argument("--workers", type=int, default=4, help="mode classe : corrections simultanées (défaut : 4)")
    grade.add_argument("--csv", metavar="FICHIER", help="mode classe : fichier CSV à écrire (défaut : sortie standard)")
    grade.add_argument("--visible-only", action="store_true", help="ne pas lancer les vérifications cachées")
    grade.set_defaults(handler=cmd_grade)

    snap = verbs.add_parser("snapshot", help="capturer l'état lu par un lab dans un fichier JSON")
    _grading_options(snap)
    snap.add_argument("-o", "--output", metavar="FICHIER", help="fichier à écrire (défaut : LAB.snapshot.json)")
    snap.set_defaults(handler=cmd_snapshot)

    lab = verbs.add_parser("lab", help="préparer un lab dans le cluster")
    lab_verbs = lab.add_subparsers(dest="lab_verb", required=True, metavar="ACTION")
    setup = lab_verbs.add_parser("setup", help="créer le namespace du lab et ce que le lab fournit")
    setup.add_argument("lab", help="identifiant du lab")
    setup.add_argument("--namespace", "-n", help="namespace (défaut : celui du lab)")
    setup.add_argument("--step", type=int, default=1, metavar="N",
                       help="étape de la préparation, quand l'énoncé en a plusieurs (défaut : 1)")
    add_connection_arguments(setup)
    setup.set_defaults(handler=cmd_lab_setup)
    reset = lab_verbs.add_parser("reset", help="supprimer le namespace du lab (après confirmation) et le préparer de "
                                               "nouveau")
    reset.add_argument("lab", help="identifiant du lab")
    reset.add_argument("--namespace", "-n", help="namespace (défaut : celui du lab)")
    reset.add_argument("--yes", "-y", action="store_true", help="ne pas demander de confirmation")
    add_connection_arguments(reset)
    reset.set_defaults(handler=cmd_lab_reset)
    apply = lab_verbs.add_parser("apply", help="appliquer une variante : starter, solution, alternatives/NOM, "
                                               "mutants/NOM")
    apply.add_argument("lab", help="identifiant du lab")
    apply.add_argument("variant", help="starter, solution, alternatives/NOM ou mutants/NOM")
    apply.add_argument("--namespace", "-n", help="namespace (défaut : celui du lab)")
    add_connection_arguments(apply)
    apply.set_defaults(handler=cmd_lab_apply)

    demo = verbs.add_parser("demo", help="démonstration complète : chaque lab corrigé sur le bac à sable")
    demo.add_argument("--name", default="demo", help="nom du bac à sable de démonstration")
    demo.add_argument("--keep", action="store_true", help="laisser le bac à sable démarré à la fin")
    demo.set_defaults(handler=cmd_demo)
