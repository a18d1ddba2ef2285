"""The `closure-readiness` command: a thin layer over the checks and the service functions.

Exit codes: 0 success (or ready to sign off), 1 blocked, refused or failed verification,
2 bad input.
Heavy modules are imported inside commands so `check` and `schema` start quickly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_BLOCKED, EXIT_INVALID = 0, 1, 2
MAX_REVIEW_BYTES = 5 * 1024 * 1024
DEMO_DB = Path("data/demo/closure-readiness-demo.db")


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
        # Read at most one byte past the limit: a device or pipe (/dev/stdin) reports no size.
        with path.open("rb") as file:
            data = file.read(MAX_REVIEW_BYTES + 1)
        if len(data) > MAX_REVIEW_BYTES:
            raise UsageProblem(f"{path}: the {what} is larger than 5 MB; no review is that big.")
        return data.decode("utf-8-sig")  # a byte-order mark (Windows editors) is fine
    except FileNotFoundError:
        raise UsageProblem(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise UsageProblem(f"{path}: this is a folder, not a {what}.") from None
    except PermissionError:
        raise UsageProblem(f"{path}: permission denied.") from None
    except UnicodeDecodeError:
        raise UsageProblem(f"{path}: the {what} is not UTF-8 text.") from None


def _invalid(path: Path, error: object, model: object, what: str = "review") -> UsageProblem:
    from closure_readiness.core.errors import explain

    problems = explain(error, model)  # type: ignore[arg-type]
    shown = "\n".join(f"  - {problem}" for problem in problems[:20])
    more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
    return UsageProblem(f"{path}: the {what} is not valid.\n{shown}{more}")


def cmd_check(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from closure_readiness.checks import DEFAULT_THRESHOLDS, Thresholds, evaluate
    from closure_readiness.checks.text_report import report_as_json, report_as_text
    from closure_readiness.core.case_reference import new_reference
    from closure_readiness.core.review import EARLIEST_DAY, LATEST_DAY, Review, dated_after
    from closure_readiness.core.upgrade import upgrade_document

    text = _read_text(args.file, "review file")
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    upgraded = upgrade_document(document)[1] if isinstance(document, dict) else []
    rule = new_reference(_settings().case_reference_pattern)  # a review to check is input
    try:
        review = Review.model_validate_json(text, context=rule)
    except ValidationError as error:
        raise _invalid(args.file, error, Review) from None
    thresholds = DEFAULT_THRESHOLDS
    if args.thresholds is not None:
        try:
            thresholds_text = _read_text(args.thresholds, "thresholds file")
            thresholds = Thresholds.model_validate_json(thresholds_text)
        except ValidationError as error:
            raise _invalid(args.thresholds, error, Thresholds, "thresholds file") from None
    as_of = args.as_of or review.case.proposed_closure_on
    if not EARLIEST_DAY <= as_of <= LATEST_DAY:
        raise UsageProblem(f"--as-of {as_of} is not a plausible date (1900 to 2199).")
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
        print(report_as_json(report, case_reference=ref, upgraded=upgraded))
    else:
        print(report_as_text(report, case_reference=ref, upgraded=upgraded))
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


def _settings() -> Any:
    from pydantic import ValidationError

    from closure_readiness.settings import Settings

    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"CLOSURE_{'_'.join(map(str, e['loc'])).upper()}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in error.errors(include_url=False)
        )
        raise UsageProblem(f"The settings are not valid: {problems}") from None


def _db(args: argparse.Namespace) -> Path:
    path: Path = args.db or _settings().db
    return path


def _existing_db(args: argparse.Namespace) -> Path:
    path = _db(args)
    if not path.exists():
        raise UsageProblem(f"{path}: no such database.")
    return path


def cmd_migrate(args: argparse.Namespace) -> int:
    from closure_readiness.storage.database import ensure_migrated

    path = _db(args)
    ensure_migrated(path)
    print(f"{path}: schema up to date.")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from closure_readiness.storage.database import reading
    from closure_readiness.storage.integrity import read_anchor, verify

    path = _existing_db(args)
    anchor = None
    if args.anchor is not None:
        try:
            anchor = read_anchor(args.anchor)
        except (OSError, ValueError) as error:
            raise UsageProblem(f"{args.anchor}: not a readable anchor file ({error}).") from None
    with reading(path) as db:
        report = verify(db, anchor)
    for problem in report.problems:
        print(f"FAIL {problem}")
    count = len(report.problems)
    verdict = "intact" if report.intact else f"{count} problem{'' if count == 1 else 's'}"
    print(
        f"{path}: {report.decisions_checked} decisions, {report.outcomes_checked} outcomes, "
        f"{report.events_checked} audit events checked"
        f"{', anchor checked' if report.anchor_checked else ''}: {verdict}."
    )
    return EXIT_OK if report.intact else EXIT_BLOCKED


def cmd_anchor(args: argparse.Namespace) -> int:
    from closure_readiness.storage.database import reading
    from closure_readiness.storage.integrity import anchor_document

    path = _existing_db(args)
    with reading(path) as db:
        document = anchor_document(db, now=dt.datetime.now(dt.UTC))
    args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(
        f"Wrote the chain head (event {document['seq']}) to {args.out}; keep it outside the "
        "database's host."
    )
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    from closure_readiness.storage.database import backup

    path = _existing_db(args)
    if args.out.exists():
        raise UsageProblem(f"{args.out} already exists; choose a new file for the backup.")
    backup(path, args.out)
    print(f"Backed up {path} to {args.out}.")
    return EXIT_OK


def cmd_staff(args: argparse.Namespace) -> int:
    from closure_readiness.service import staff
    from closure_readiness.service.context import SYSTEM, Context, ServiceError

    ctx = Context(_db(args))
    try:
        if args.staff_command == "add":
            member = staff.add_staff(
                ctx,
                SYSTEM,
                staff_id=args.staff_id,
                issuer=args.issuer,
                subject=args.subject,
                display_name=args.name,
                role=args.role,
                team=args.team,
            )
            print(f"Added {member.staff_id} ({member.role.value}, {member.team or 'no team'}).")
        elif args.staff_command == "list":
            for member in staff.list_staff(ctx, SYSTEM):
                state = "active" if member.active else "disabled"
                print(
                    f"{member.staff_id}\t{member.role.value}\t{member.team or '-'}\t{state}\t"
                    f"{member.display_name}\t{member.issuer} {member.subject}"
                )
        else:
            changes: dict[str, Any] = {}
            if args.staff_command in ("disable", "enable"):
                changes["active"] = args.staff_command == "enable"
            else:
                changes = {"role": args.role, "team": args.team}
            member = staff.update_staff(ctx, SYSTEM, args.staff_id, **changes)
            state = "active" if member.active else "disabled"
            print(f"{member.staff_id}: {member.role.value}, {member.team or 'no team'}, {state}.")
    except ServiceError as error:
        raise UsageProblem(error.message) from None
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from closure_readiness.demo.launcher import Addresses, LaunchRefused, demo
    from closure_readiness.demo.seed import seed

    path: Path = args.db or DEMO_DB
    if args.seed_only:
        if path.exists():
            raise UsageProblem(f"{path} already exists; the demo seeds only a new database.")
        ids = seed(path, issuer=args.issuer, today=dt.datetime.now(dt.UTC).date())
        print(f"Seeded {path} with demo staff and {len(ids)} synthetic reviews.")
        return EXIT_OK
    settings = _settings().model_copy(update={"db": path})
    try:
        return demo(settings, Addresses(app_port=args.port, provider_port=args.provider_port))
    except LaunchRefused as refusal:
        raise UsageProblem(str(refusal)) from None


def cmd_run(args: argparse.Namespace) -> int:
    from closure_readiness.demo.launcher import run
    from closure_readiness.settings import UnsafeSettings

    try:
        return run(_settings(), port=args.port)
    except UnsafeSettings as refusal:
        raise UsageProblem(str(refusal)) from None


def cmd_export(args: argparse.Namespace) -> int:
    from closure_readiness.service import auditing
    from closure_readiness.service.context import SYSTEM, Context, ServiceError
    from closure_readiness.storage.queries import DecisionQuery

    ctx = Context(_existing_db(args))
    try:
        if args.decision is not None:
            if args.pdf is None:
                raise UsageProblem("--decision needs --pdf FILE to write the decision record to.")
            data = auditing.decision_record_pdf(ctx, SYSTEM, args.decision)
            args.pdf.write_bytes(data)
            print(f"Wrote the decision record of decision {args.decision} to {args.pdf}.")
            return EXIT_OK
        query = DecisionQuery(
            team=args.team,
            status=args.status,
            signed_from=args.signed_from.isoformat() if args.signed_from else None,
            signed_to=args.signed_to.isoformat() if args.signed_to else None,
            closure_reason=args.closure_reason,
            has_exceptions=args.has_exceptions,
            has_re_referral=args.has_re_referral,
            text=args.search,
        )
        data = auditing.export_decisions(ctx, SYSTEM, query, fmt=args.format)
    except ServiceError as error:
        raise UsageProblem(error.message) from None
    if args.out is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        args.out.write_bytes(data)
        print(f"Wrote {args.out}.", file=sys.stderr)
    return EXIT_OK


WITHDRAW_HELP = (
    "Withdraw a draft, returned or submitted review that will not lead to closure, on behalf "
    "of the member of staff named by --by (for example when they ask the service desk; a "
    "disabled account cannot). Their role and team apply as if they had withdrawn it in the "
    "app: the review's own caseworker, or a team manager of its team. The audit trail "
    "records them as the person withdrawing, with the reason, and that it was done at the "
    "command line. "
    "Exit codes: 0 withdrawn, 1 refused (not theirs to withdraw, not in their team, already "
    "approved or withdrawn, account disabled), 2 bad input (no such database or member of "
    "staff, an empty reason)."
)


def cmd_withdraw(args: argparse.Namespace) -> int:
    from closure_readiness.service import reviews, staff
    from closure_readiness.service.context import (
        SYSTEM,
        Context,
        InvalidInput,
        NotFound,
        ServiceError,
    )

    ctx = Context(_existing_db(args))
    members = {member.staff_id: member for member in staff.list_staff(ctx, SYSTEM)}
    member = members.get(args.by)
    if member is None:
        raise UsageProblem(f"No member of staff has the id {args.by}.")
    if not member.active:
        return _not_withdrawn(
            f"{member.staff_id}'s account is disabled; ask a team manager of the team to "
            "withdraw the review."
        )
    principal = member.principal()
    try:
        record = reviews.get_review(ctx, principal, args.review)
        reviews.withdraw(ctx, principal, args.review, reason=args.reason, via="command line")
    except InvalidInput as problem:
        raise UsageProblem(problem.message) from None
    except NotFound:
        return _not_withdrawn(
            f"There is no review {args.review} that {member.staff_id} can see (it does not "
            "exist, or it belongs to another team)."
        )
    except ServiceError as refusal:
        return _not_withdrawn(refusal.message)
    print(
        f"Withdrew review {args.review} (case {record.case_reference}) for {member.staff_id} "
        f"({member.display_name}). The reason is kept in the audit trail."
    )
    return EXIT_OK


def _not_withdrawn(message: str) -> int:
    print(f"closure-readiness: Not withdrawn. {message}", file=sys.stderr)
    return EXIT_BLOCKED


def _yes_no(value: str) -> bool:
    if value.lower() in ("yes", "true", "1"):
        return True
    if value.lower() in ("no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError("answer yes or no")


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

    db_help = "database file (default: CLOSURE_DB or data/closure-readiness.db)"

    migrate = commands.add_parser("migrate", help="create or upgrade the database schema")
    migrate.add_argument("--db", type=Path, help=db_help)
    migrate.set_defaults(handler=cmd_migrate)

    verify = commands.add_parser("verify", help="verify every seal, the audit chain and anchor")
    verify.add_argument("--db", type=Path, help=db_help)
    verify.add_argument("--anchor", type=Path, help="anchor file written by `anchor`")
    verify.set_defaults(handler=cmd_verify)

    anchor = commands.add_parser("anchor", help="export the audit chain head to keep elsewhere")
    anchor.add_argument("--db", type=Path, help=db_help)
    anchor.add_argument("--out", type=Path, required=True)
    anchor.set_defaults(handler=cmd_anchor)

    backup = commands.add_parser("backup", help="online, consistent copy of the database")
    backup.add_argument("--db", type=Path, help=db_help)
    backup.add_argument("--out", type=Path, required=True)
    backup.set_defaults(handler=cmd_backup)

    staff = commands.add_parser("staff", help="add, list, disable or change staff accounts")
    staff.add_argument("--db", type=Path, help=db_help)
    staff_commands = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    add = staff_commands.add_parser("add", help="add a member of staff")
    add.add_argument("staff_id")
    add.add_argument("--issuer", required=True, help="the identity provider's issuer URL")
    add.add_argument("--subject", required=True, help="the person's subject at that issuer")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--role", required=True, choices=["caseworker", "team_manager", "auditor"])
    add.add_argument("--team", default="")
    staff_commands.add_parser("list", help="list staff")
    for action in ("disable", "enable"):
        toggle = staff_commands.add_parser(action, help=f"{action} a member of staff")
        toggle.add_argument("staff_id")
    change = staff_commands.add_parser("set", help="set role and team")
    change.add_argument("staff_id")
    change.add_argument("--role", required=True, choices=["caseworker", "team_manager", "auditor"])
    change.add_argument("--team", required=True)
    staff.set_defaults(handler=cmd_staff)

    demo = commands.add_parser(
        "demo", help="seed the demo database, start local sign-in and the app on 127.0.0.1"
    )
    demo.add_argument("--db", type=Path, help=db_help)
    demo.add_argument("--seed-only", action="store_true", help="seed the database and stop")
    demo.add_argument("--issuer", default="http://127.0.0.1:9400", help="demo sign-in issuer")
    demo.add_argument("--port", type=int, default=8501, help="the app's port on 127.0.0.1")
    demo.add_argument("--provider-port", type=int, default=9400, help="sign-in provider's port")
    demo.set_defaults(handler=cmd_demo)

    export = commands.add_parser("export", help="export decisions (CSV/JSON) or one record (PDF)")
    export.add_argument("--db", type=Path, help=db_help)
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.add_argument("--decision", type=int, help="one decision's id, with --pdf")
    export.add_argument("--pdf", type=Path, help="write that decision record as PDF here")
    export.add_argument("--team")
    export.add_argument("--status", choices=("submitted", "approved", "returned", "withdrawn"))
    export.add_argument("--signed-from", type=_date, help="YYYY-MM-DD, inclusive")
    export.add_argument("--signed-to", type=_date, help="YYYY-MM-DD, inclusive")
    export.add_argument("--closure-reason", choices=[f"RC{n}" for n in range(1, 10)])
    export.add_argument("--has-exceptions", type=_yes_no, metavar="yes|no")
    export.add_argument("--has-re-referral", type=_yes_no, metavar="yes|no")
    export.add_argument("--search", help="words in answers and evidence")
    export.set_defaults(handler=cmd_export)

    withdraw = commands.add_parser(
        "withdraw",
        help="withdraw a review on behalf of a member of staff, with a reason",
        description=WITHDRAW_HELP,
    )
    withdraw.add_argument("--db", type=Path, help=db_help)
    withdraw.add_argument("--review", type=int, required=True, metavar="ID", help="review id")
    withdraw.add_argument(
        "--by",
        required=True,
        metavar="STAFF_ID",
        help="the caseworker or team manager withdrawing it (their staff id)",
    )
    withdraw.add_argument(
        "--reason", required=True, metavar="TEXT", help="why it is withdrawn (kept for audit)"
    )
    withdraw.set_defaults(handler=cmd_withdraw)

    run = commands.add_parser("run", help="start the app for real use (settings from environment)")
    run.add_argument("--port", type=int, default=8501)
    run.set_defaults(handler=cmd_run)
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
