"""The ``cx`` command line: ``cx synth``, ``cx init``, ``cx validate``, ``cx run``, ``cx verify``,
``cx schema``.

Exit codes: 0 success; 1 a run failed or a rerun differs; 2 bad input (the message says what and
how to fix it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cx_helpers.errors import StudyError
from cx_helpers.layout import REPORT_HTML, REPORT_PDF

__all__ = ["main"]


def _synth(args):
    from cx_helpers.synth import SHAPES, write_study

    path = write_study(args.out, customers=args.customers, seed=args.seed,
                       journey_effect=args.journey_effect, response_rate=args.response_rate,
                       force=args.force, shape=args.shape,
                       journeys_per_customer=args.journeys_per_customer)
    if args.shape == "sample":
        print(f"wrote a synthetic study of {args.customers} customers (seed {args.seed}, journey "
              f"effect {args.journey_effect}) to {path}")
    else:
        who = "customers" if SHAPES[args.shape].world == "mobile" else "respondents"
        print(f"wrote a synthetic study of shape '{args.shape}' ({args.customers} {who}, seed "
              f"{args.seed}) to {path}")
    return 0


def _validate(args):
    from cx_helpers.study import load_study, summarize

    info = summarize(load_study(args.study))
    width = max(map(len, info))
    print(f"{args.study}: valid")
    for key, value in info.items():
        print(f"  {key:<{width}}  {value}")
    return 0


def _init(args):
    from cx_helpers.drafting import draft_study

    draft = draft_study(args.file, args.out, format=args.format, sheet=args.sheet)
    e = draft.export
    print(f"read {e.path.name} as {e.format}: {len(e.table)} responses, {len(e.header)} columns")
    for note in e.notes:
        print(f"  {note}")
    roles: dict[str, list[str]] = {}
    for c in draft.columns:
        roles.setdefault(c.role, []).append(c.name)
    width = max(map(len, roles))
    for role, names in roles.items():
        shown = ", ".join(names[:8]) + (f", ... ({len(names)})" if len(names) > 8 else "")
        print(f"  {role:<{width}}  {shown}")
    print(f"wrote {draft.path} (a draft). Confirm:")
    for item in draft.confirm:
        print(f"  - {item}")
    print(f"then: cx validate {args.out} && cx run {args.out}")
    return 0


def _schema(args):
    import json

    from cx_helpers.schema import json_schema

    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return 0


def _parameters(pairs) -> dict:
    import yaml

    return {name: yaml.safe_load(value) for name, value in pairs or []}


def _run(args):
    from cx_helpers.runner import RunError, run_many, run_study

    kwargs = {"seed": args.seed, "min_base": args.min_base,
              "parameters": _parameters(args.parameter), "pdf": args.pdf}
    if len(args.study) == 1 and args.by is None:
        try:
            run_dir = run_study(args.study[0], out=args.out, progress=not args.quiet, **kwargs)
        except RunError as exc:
            print(f"cx run: {exc}", file=sys.stderr)
            return 1
        print(f"report: {run_dir / REPORT_HTML}")
        return 0
    results = run_many(args.study, by=args.by, out=args.out, progress=not args.quiet, **kwargs)
    failed = [r for r in results if r["status"] != "ok"]
    print(f"{len(results) - len(failed)} of {len(results)} runs succeeded")
    for r in results:
        what = r["study"] + (f" [{r['segment']}]" if r["segment"] else "")
        if r["status"] == "ok":
            print(f"  ok      {what}: {Path(r['run_dir']) / REPORT_HTML}")
        else:
            print(f"  FAILED  {what}: {r['error']}")
    return 1 if failed else 0


def _verify(args):
    from cx_helpers.runner import RunError
    from cx_helpers.verify import verify_run

    try:
        result = verify_run(args.run, out=args.out, study=args.study, progress=not args.quiet,
                            strict_versions=args.strict_versions)
    except RunError as exc:
        print(f"cx verify: the rerun failed: {exc}", file=sys.stderr)
        return 1
    if result.versions:
        from cx_helpers.verify import LOCKED_VERSIONS_HINT

        print(f"versions that differ from the run's ({LOCKED_VERSIONS_HINT}):")
        for item in result.versions:
            print(f"  - {item}")
    if result.identical:
        print(f"verified: all {result.tables} tables are identical (rerun in {result.rerun_dir})")
        return 0
    print(f"NOT reproduced: {len(result.differences)} of {result.tables} tables differ "
          f"(rerun in {result.rerun_dir}):")
    for line in result.differences:
        print(f"  - {line}")
    return 1


def _shape_names() -> list[str]:
    from cx_helpers.synth import SHAPES

    return list(SHAPES)


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
    p.add_argument("--journeys-per-customer", type=float, default=None,
                   help="mean journeys per customer, for denser event logs (about 2.3 events "
                        "each; default: the sample's design, about 6 events per customer)")
    p.add_argument("--shape", default="sample", choices=_shape_names(),
                   help="the study's design (README: Study shapes): outcome kind, events, "
                        "segments, weights, journeys, not-applicable codes; default: the sample's")
    p.add_argument("--force", action="store_true",
                   help="replace the generator's own files in a non-empty folder")
    p.set_defaults(func=_synth)

    p = sub.add_parser("init", help="draft a study folder from a survey export (SPSS, Stata, "
                                    "Qualtrics, SurveyMonkey, Excel, CSV)")
    p.add_argument("file", help="the export: .sav/.zsav, .dta, .xlsx, .csv (any delimiter and "
                                "encoding), Qualtrics or SurveyMonkey CSV/Excel")
    p.add_argument("--out", required=True, help="the study folder to write (file copied in, "
                                                "study.yaml drafted)")
    from cx_helpers.readers import FORMATS
    p.add_argument("--format", choices=FORMATS, help="the reader (default: from the file)")
    p.add_argument("--sheet", help="Excel: the sheet holding the data (default: the first)")
    p.set_defaults(func=_init)

    p = sub.add_parser("schema", help="print the JSON Schema of study.yaml (for editors)")
    p.set_defaults(func=_schema)

    p = sub.add_parser("validate", help="check a study against the contract")
    p.add_argument("study", help="study folder (holding study.yaml)")
    p.set_defaults(func=_validate)

    p = sub.add_parser("run", help="run the notebooks on one or more studies and write reports")
    p.add_argument("study", nargs="+", help="study folder(s) (holding study.yaml)")
    p.add_argument("--out", help="run folder (one study), or parent folder of the runs (several "
                                 "studies or --by); default reports/<study>/<run id>/")
    p.add_argument("--by", metavar="SEGMENT", help="one report per value of this segment column")
    p.add_argument("--seed", type=int, help="seed of every random step (default: the study's)")
    p.add_argument("--min-base", type=int, help="minimum base size (default: the study's, or 30)")
    p.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="a further notebook parameter, e.g. -p n_boot 500")
    p.add_argument("--pdf", action="store_true",
                   help=f"also print {REPORT_PDF} (needs chromium)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_run)

    from cx_helpers.layout import MANIFEST
    p = sub.add_parser("verify", help="rerun a finished run from its manifest, compare tables")
    p.add_argument("run", help=f"run folder (holding {MANIFEST})")
    p.add_argument("--out", help="folder for the rerun (default: beside the run)")
    p.add_argument("--study", help="where the study is now, if it moved since the run")
    p.add_argument("--strict-versions", action="store_true",
                   help="refuse to rerun (exit 2) when a package version differs from the run's")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_verify)
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
