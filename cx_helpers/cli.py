"""The ``cx`` command line: ``cx synth``, ``cx validate``, ``cx run``.

Exit codes: 0 success, 1 a run failed, 2 bad input (the message says what and how to fix it).
"""

from __future__ import annotations

import argparse
import sys

from cx_helpers.errors import StudyError

__all__ = ["main"]


def _synth(args):
    from cx_helpers.synth import write_study

    path = write_study(args.out, customers=args.customers, seed=args.seed,
                       journey_effect=args.journey_effect, response_rate=args.response_rate,
                       force=args.force)
    print(f"wrote a synthetic study of {args.customers} customers (seed {args.seed}, journey "
          f"effect {args.journey_effect}) to {path}")
    return 0


def _validate(args):
    from cx_helpers.study import load_study, summarize

    info = summarize(load_study(args.study))
    width = max(map(len, info))
    print(f"{args.study}: valid")
    for key, value in info.items():
        print(f"  {key:<{width}}  {value}")
    return 0


def _run(args):
    from cx_helpers.runner import RunError, run_study

    try:
        run_dir = run_study(args.study, out=args.out, seed=args.seed, min_base=args.min_base,
                            progress=not args.quiet)
    except RunError as exc:
        print(f"cx run: {exc}", file=sys.stderr)
        return 1
    print(f"report: {run_dir / 'report.html'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cx``."""
    parser = argparse.ArgumentParser(prog="cx", description="CX research suite: touchpoint "
                                     "inventory, key drivers, journeys versus touchpoints.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="write a synthetic study with known ground truth")
    p.add_argument("--out", required=True, help="folder to write (must be empty unless --force)")
    p.add_argument("--customers", type=int, default=3000)
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument("--journey-effect", type=float, default=0.8,
                   help="LTR points per SD of the journey-level experience (0: journeys add "
                        "nothing beyond touchpoints)")
    p.add_argument("--response-rate", type=float, default=0.8)
    p.add_argument("--force", action="store_true",
                   help="replace the generator's own files in a non-empty folder")
    p.set_defaults(func=_synth)

    p = sub.add_parser("validate", help="check a study against the contract")
    p.add_argument("study", help="study folder (holding study.yaml)")
    p.set_defaults(func=_validate)

    p = sub.add_parser("run", help="run the notebooks on a study and write a report")
    p.add_argument("study", help="study folder (holding study.yaml)")
    p.add_argument("--out", help="run folder (default reports/<study>/<run id>/)")
    p.add_argument("--seed", type=int, help="seed of every random step (default: the study's)")
    p.add_argument("--min-base", type=int, help="minimum base size (default: the study's, or 30)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_run)
    return parser


def main(argv=None) -> int:
    """Entry point of ``cx``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except StudyError as exc:
        print(f"cx {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for users; --debug shows it
        if args.debug:
            raise
        print(f"cx {args.command}: unexpected error: {type(exc).__name__}: {exc} "
              "(rerun with --debug for details)", file=sys.stderr)
        return 1
