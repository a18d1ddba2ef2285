"""The `closure-readiness` command: a thin layer over the checks and the service functions.

Exit codes: 0 success (or ready to sign off), 1 blocked or failed verification, 2 bad input.
Heavy modules are imported inside commands so `check` and `schema` start quickly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_BLOCKED, EXIT_INVALID = 0, 1, 2
MAX_REVIEW_BYTES = 5 * 1024 * 1024


class UsageProblem(Exception):
    """Bad input from the person at the keyboard: print the message, exit 2, no traceback."""


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{value}' is not a date; write it as YYYY-MM-DD, for example 2025-03-14"
        ) from None


def _read_text(path: Path, what: str) -> str:
    try:
        if path.stat().st_size > MAX_REVIEW_BYTES:
            raise UsageProblem(f"{path}: the {what} is larger than 5 MB; no review is that big.")
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise UsageProblem(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise UsageProblem(f"{path}: this is a folder, not a {what}.") from None
    except PermissionError:
        raise UsageProblem(f"{path}: permission denied.") from None
    except UnicodeDecodeError:
        raise UsageProblem(f"{path}: the {what} is not UTF-8 text.") from None


def _invalid(path: Path, error: object, model: object) -> UsageProblem:
    from closure_readiness.core.errors import explain

    problems = explain(error, model)  # type: ignore[arg-type]
    shown = "\n".join(f"  - {problem}" for problem in problems[:20])
    more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
    return UsageProblem(f"{path}: the review is not valid.\n{shown}{more}")


def cmd_check(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from closure_readiness.checks import DEFAULT_THRESHOLDS, Thresholds, evaluate
    from closure_readiness.checks.text_report import report_as_json, report_as_text
    from closure_readiness.core.review import Review, dated_after

    text = _read_text(args.file, "review file")
    try:
        review = Review.model_validate_json(text)
    except ValidationError as error:
        raise _invalid(args.file, error, Review) from None
    thresholds = DEFAULT_THRESHOLDS
    if args.thresholds is not None:
        try:
            thresholds = Thresholds.model_validate_json(_read_text(args.thresholds, "file"))
        except ValidationError as error:
            raise _invalid(args.thresholds, error, Thresholds) from None
    as_of = args.as_of or review.case.proposed_closure_on
    if as_of < review.case.opened_on:
        raise UsageProblem(f"--as-of {as_of} is before the case was opened.")
    late = dated_after(review, as_of)
    if late:
        raise UsageProblem(
            f"{args.file}: {', '.join(late)} dated after the as-of date ({as_of}); "
            "evidence cannot be relied on before it exists."
        )
    report = evaluate(review, as_of=as_of, thresholds=thresholds)
    ref = review.case.case_reference
    if args.format == "json":
        print(report_as_json(report, case_reference=ref))
    else:
        print(report_as_text(report, case_reference=ref))
    return EXIT_OK if report.sign_off_possible else EXIT_BLOCKED


def cmd_schema(args: argparse.Namespace) -> int:
    from closure_readiness.core.review import review_schema

    print(json.dumps(review_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def cmd_docs(args: argparse.Namespace) -> int:
    from closure_readiness.checks.reference import check_reference_markdown

    text = check_reference_markdown()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run `closure-readiness docs`.", file=sys.stderr)
            return EXIT_BLOCKED
        print(f"{args.out} is up to date.")
        return EXIT_OK
    args.out.write_text(text, encoding="utf-8")
    print(f"Wrote {args.out}.")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="closure-readiness",
        description="Check that a case is ready to close, and run the closure review app.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="evaluate a review file against every check")
    check.add_argument("file", type=Path, metavar="FILE", help="review file (JSON)")
    check.add_argument("--as-of", type=_date, help="evaluate as of this date (YYYY-MM-DD)")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--thresholds", type=Path, help="thresholds file (JSON) to use instead")
    check.set_defaults(handler=cmd_check)

    schema = commands.add_parser("schema", help="print the JSON Schema of the review file")
    schema.set_defaults(handler=cmd_schema)

    docs = commands.add_parser("docs", help="write the check reference (docs/checks.md)")
    docs.add_argument("--out", type=Path, default=Path("docs/checks.md"))
    docs.add_argument("--check", action="store_true", help="fail if the file is out of date")
    docs.set_defaults(handler=cmd_docs)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except UsageProblem as problem:
        print(f"closure-readiness: {problem}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
