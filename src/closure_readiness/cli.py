"""The `closure-readiness` command: a thin layer over the checks, the service and the launcher.

Each command is one decorated function that reads its options, calls the library and says what
happened; the rules (what a review, a setting, an as-of date or a backup may be) live in the
library, so the app and the command line refuse the same things in the same words.

Exit codes: 0 success (or ready to sign off), 1 blocked, refused or failed verification,
2 bad input. Heavy modules are imported inside commands so `check` and `schema` start quickly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click

from closure_readiness.core import words
from closure_readiness.core.location import PostgresURL, Store, is_postgres_url, parse_store
from closure_readiness.core.vocabulary import ClosureReason
from closure_readiness.core.workflow import DECISION_STATUSES, STAFF_ROLES

if TYPE_CHECKING:  # imported when a command runs: the commands start fast
    from closure_readiness.storage.queries import DecisionQuery

PROG = "closure-readiness"
EXIT_OK, EXIT_BLOCKED, EXIT_INVALID = 0, 1, 2
MAX_REVIEW_BYTES = 5 * 1024 * 1024
MAX_ROW_ID = 2**63 - 1  # SQLite's largest integer: a larger id names no row
DEMO_DB = Path("data/demo/closure-readiness-demo.db")
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class BadInput(click.ClickException):
    """Bad input from the person at the keyboard: the message, exit 2, no traceback."""

    exit_code = EXIT_INVALID

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"{PROG}: {self.format_message()}", err=True)


class Refused(BadInput):
    """The library refused (not theirs to do, not in this state): the message, exit 1."""

    exit_code = EXIT_BLOCKED


def _exit(code: int) -> NoReturn:
    click.get_current_context().exit(code)


# Faults met with one line: the disk, the file system and the database, never a traceback. ----


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _where() -> str:
    """The database the command was using, to name it in a fault's message."""
    path = click.get_current_context().meta.get("closure_readiness.db")
    return f"{path}: " if path else ""


def _fault_message(error: Exception) -> str:
    """What went wrong, in one line, for an error met outside the library's own refusals."""
    from closure_readiness.storage.database import DISK_FULL, database_fault

    described = database_fault(error, where=_where())
    if described is not None:
        return described
    code = getattr(error, "errno", None)
    if isinstance(error, OSError):
        name = f"{error.filename}: " if getattr(error, "filename", None) else _where()
        if code in (errno.ENOSPC, errno.EDQUOT):
            return DISK_FULL
        if code == errno.EROFS:
            return f"{name}read-only storage: nothing was written."
        if code in (errno.EACCES, errno.EPERM):
            return f"{name}permission denied: nothing was written."
        if code == errno.ENOENT:
            return f"{name}no such file or folder."
        return f"{name}{_one_line(error.strerror or error)}."
    return f"stopped by an unexpected error ({type(error).__name__}): {_one_line(error)}"


class _Commands(click.Group):
    """The command group: a fault of the disk, file system or database becomes one line on
    standard error and exit 1 (click's own messages and our refusals pass through)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as error:
            from closure_readiness.storage.database import DatabaseProblem

            if isinstance(error, DatabaseProblem):
                raise Refused(str(error)) from None
            raise Refused(_fault_message(error)) from None


def _output_folder(path: Path) -> None:
    """An output file's folder must exist: checked before anything is read or audited."""
    if not path.parent.is_dir():
        raise BadInput(f"{path.parent}: no such folder; nothing was written.")
    if path.is_dir():
        raise BadInput(f"{path}: this is a folder; give a file name.")


def _write_file(path: Path, data: bytes) -> None:
    """Write an output file whole, or leave none: a part-written file is removed."""
    try:
        path.write_bytes(data)
    except OSError as error:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        raise Refused(_fault_message(error)) from None


# Option types: plain words when a value is not what the option needs. -----------------------


class IsoDate(click.ParamType[dt.date, Any]):
    name = "YYYY-MM-DD"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(f"'{value}' is not a date; write it as YYYY-MM-DD, for example 2025-03-14")


class YesNo(click.ParamType[bool, Any]):
    name = "yes|no"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> bool:
        if isinstance(value, bool):
            return value
        answer = str(value).lower()
        if answer in ("yes", "true", "1"):
            return True
        if answer in ("no", "false", "0"):
            return False
        self.fail(f"'{value}': answer yes or no")


FILE = click.Path(path_type=Path)


class StoreLocation(click.ParamType[Store, Any]):
    """A database: a file's path (as click.Path gives it), or a postgresql:// URL."""

    name = "path"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Store:
        if isinstance(value, Path | PostgresURL):
            return value
        text = str(value)
        return parse_store(text) if is_postgres_url(text) else Path(text)


def db_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--db",
        type=StoreLocation(),
        help="The database file, or a postgresql:// URL. Default: the CLOSURE_DB setting, or "
        "data/closure-readiness.db.",
    )(fn)


# Reading what the person gave us. -----------------------------------------------------------


def _read_text(path: Path, what: str) -> str:
    try:
        # Read at most one byte past the limit: a device or pipe (/dev/stdin) reports no size.
        with path.open("rb") as file:
            data = file.read(MAX_REVIEW_BYTES + 1)
        if len(data) > MAX_REVIEW_BYTES:
            raise BadInput(f"{path}: the {what} is larger than 5 MB; no review is that big.")
        return data.decode("utf-8-sig")  # a byte-order mark (Windows editors) is fine
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: this is a folder, not a {what}.") from None
    except PermissionError:
        raise BadInput(f"{path}: permission denied.") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: the {what} is not UTF-8 text.") from None


def _invalid(path: Path, error: object, model: object, what: str) -> BadInput:
    from closure_readiness.core.errors import explain

    problems = explain(error, model)  # type: ignore[arg-type]
    shown = "\n".join(f"  - {problem}" for problem in problems[:20])
    more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
    return BadInput(f"{path}: the {what} is not valid.\n{shown}{more}")


def _settings() -> Any:
    from closure_readiness.settings import SettingsProblem, load_settings

    try:
        return load_settings()
    except SettingsProblem as problem:
        raise BadInput(str(problem)) from None


def _db(db: Store | None) -> Store:
    path: Store = db or _settings().db
    click.get_current_context().meta["closure_readiness.db"] = path
    return path


def _existing_db(db: Store | None) -> Store:
    """A database to read must exist: opening a mistyped path would create an empty one. (A
    PostgreSQL database is never created by connecting: the server refuses a wrong name.)"""
    path = _db(db)
    if isinstance(path, Path) and not path.exists():
        raise BadInput(f"{path}: no such database.")
    return path


# The commands. ------------------------------------------------------------------------------


@click.group(cls=_Commands, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="closure-readiness", prog_name=PROG)
def cli() -> None:
    """Check that a case is ready to close, and run the closure review app.

    Exit codes: 0 done (or ready to sign off), 1 blocked, refused or failed verification,
    2 bad input. Settings come from the environment (CLOSURE_DB, CLOSURE_ENVIRONMENT, ...):
    see docs/deployment.md.
    """


@cli.command()
@click.argument("file", type=FILE)
@click.option(
    "--as-of",
    type=IsoDate(),
    help="Judge the review as of this date (default: its proposed closure date).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A report for people, or JSON for other systems (docs/json-output.md).",
)
@click.option(
    "--thresholds", type=FILE, help="A thresholds file (JSON) to use instead of the defaults."
)
def check(file: Path, as_of: dt.date | None, fmt: str, thresholds: Path | None) -> None:
    """Evaluate a review FILE (JSON) against every check.

    Exits 0 when sign-off is possible, 1 when something blocks it, 2 when the file is not a
    valid review.
    """
    from pydantic import ValidationError

    from closure_readiness.checks import DEFAULT_THRESHOLDS, Thresholds, evaluate
    from closure_readiness.checks.text_report import report_as_json, report_as_text
    from closure_readiness.core.case_reference import new_reference
    from closure_readiness.core.review import AsOfRefused, Review, refuse_as_of, review_from_file
    from closure_readiness.core.upgrade import upgrade_document

    text = _read_text(file, "review file")
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    upgraded = upgrade_document(document)[1] if isinstance(document, dict) else []
    rule = new_reference(_settings().case_reference_pattern)  # a review to check is input
    try:
        review = review_from_file(text, context=rule)  # strictly typed: it is input
    except ValidationError as error:
        raise _invalid(file, error, Review, "review") from None
    limits = DEFAULT_THRESHOLDS
    if thresholds is not None:
        try:
            limits = Thresholds.model_validate_json(_read_text(thresholds, "thresholds file"))
        except ValidationError as error:
            raise _invalid(thresholds, error, Thresholds, "thresholds file") from None
    as_of = as_of or review.case.proposed_closure_on
    try:
        refuse_as_of(review, as_of)
    except AsOfRefused as refusal:
        raise BadInput(f"{file}: {refusal}") from None
    report = evaluate(review, as_of=as_of, thresholds=limits)
    show = report_as_json if fmt == "json" else report_as_text
    click.echo(show(report, case_reference=review.case.case_reference, upgraded=upgraded))
    _exit(EXIT_OK if report.sign_off_possible else EXIT_BLOCKED)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the review file."""
    from closure_readiness.core.review import review_schema

    click.echo(json.dumps(review_schema(), indent=2, ensure_ascii=False))


@dataclass(frozen=True)
class GeneratedDoc:
    """A reference page written from the code, so it cannot drift from it."""

    name: str
    what: str
    text: Callable[[], str]


def _check_reference() -> str:
    from closure_readiness.checks.reference import check_reference_markdown

    return check_reference_markdown()


def _workflow_reference() -> str:
    from closure_readiness.core.workflow import reference_markdown

    return reference_markdown()


GENERATED_DOCS = (
    GeneratedDoc("checks.md", "the check reference", _check_reference),
    GeneratedDoc("workflow.md", "the workflow reference", _workflow_reference),
    # One line per generated page, written beside the first: the name, what it is, its text.
)


@cli.command()
@click.option(
    "--out",
    type=FILE,
    default=Path("docs/checks.md"),
    show_default=True,
    help="Where to write the check reference; the other generated pages go beside it.",
)
@click.option(
    "--check", "check_only", is_flag=True, help="Change nothing; exit 1 if a page is out of date."
)
def docs(out: Path, check_only: bool) -> None:
    """Write the reference pages generated from the code.

    The check reference (docs/checks.md) is written from the check registry, the workflow
    reference (docs/workflow.md) from the transition table.
    """
    stale = False
    for doc in GENERATED_DOCS:
        path = out if doc is GENERATED_DOCS[0] else out.parent / doc.name
        text = doc.text()
        if not check_only:
            path.write_text(text, encoding="utf-8")
            click.echo(f"Wrote {path}.")
        elif (path.read_text(encoding="utf-8") if path.exists() else "") != text:
            click.echo(f"{path} is out of date: run `{PROG} docs`.", err=True)
            stale = True
        else:
            click.echo(f"{path} is up to date.")
    _exit(EXIT_BLOCKED if stale else EXIT_OK)


@cli.command()
@db_option
def migrate(db: Store | None) -> None:
    """Create the database, or upgrade its schema to this version."""
    from closure_readiness.storage.database import ensure_migrated

    path = _db(db)
    ensure_migrated(path)
    click.echo(f"{path}: schema up to date.")


def _anchor_key(path: Path) -> bytes:
    """The operator's anchor key, or one line saying why the file cannot be used (exit 2)."""
    from closure_readiness.storage.integrity import read_anchor_key

    try:
        return read_anchor_key(path)
    except (OSError, ValueError) as error:
        raise BadInput(f"{path}: not a usable key file ({_one_line(error)}).") from None


@cli.command()
@db_option
@click.option("--anchor", type=FILE, help="An anchor file written by `anchor`, kept elsewhere.")
@click.option(
    "--key-file",
    type=FILE,
    help="The operator's anchor key: checks that the anchor was written with it.",
)
@click.option(
    "--since",
    type=FILE,
    help="An anchor from an earlier verified run: check the whole chain, but seals, versions "
    "and evidence only for what was written after it (an incremental run).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Say how far a long run has got, on standard error (default: when it is a terminal).",
)
def verify(
    db: Store | None,
    anchor: Path | None,
    key_file: Path | None,
    since: Path | None,
    progress: bool | None,
) -> None:
    """Verify every seal, the audit chain and an anchor.

    Checks every sealed decision and outcome, the audit chain and, with --anchor, its head;
    with --key-file too, that the anchor was written with that key and not changed since.
    With --since ANCHOR, an incremental run from an anchor written after the last full run
    (nightly; keep a full run weekly: docs/operations.md).

    Prints FAIL and the problem for each one found; exits 1 if there is any. Only reads: works
    on a backup on read-only storage, and on a database made by an earlier version as it is.
    On PostgreSQL, comparing the safeguards needs the right to create a schema, in a
    transaction that is always rolled back.
    """
    from closure_readiness.storage.database import read_only
    from closure_readiness.storage.integrity import ANCHOR_SIGNATURE
    from closure_readiness.storage.integrity import verify as verify_store

    path = _existing_db(db)
    if key_file is not None and anchor is None and since is None:
        raise BadInput("--key-file checks an anchor's signature: give the anchor with --anchor.")
    key = None if key_file is None else _anchor_key(key_file)
    head = None if anchor is None else _read_anchor_file(anchor)
    start = None if since is None else _read_anchor_file(since)
    if progress is None:
        progress = sys.stderr.isatty()
    with read_only(path) as store:
        report = verify_store(
            store, head, key, since=start, progress=_say_progress if progress else None
        )
    checked = ", anchor checked" if report.anchor_checked else ""
    if start is not None:
        checked += f" (incremental: what was written after event {start.get('seq')})"
    if key is not None:
        checked = ", anchor and its signature checked"
    elif head is not None and ANCHOR_SIGNATURE in head:
        checked = ", anchor checked (not its signature: give --key-file)"
    for problem in report.problems:
        click.echo(f"FAIL {problem}")
    count = len(report.problems)
    verdict = "intact" if report.intact else f"{count} problem{'' if count == 1 else 's'}"
    click.echo(
        f"{path}: {report.decisions_checked} decisions, {report.outcomes_checked} outcomes, "
        f"{report.events_checked} audit events checked{checked}: {verdict}."
    )
    _exit(EXIT_OK if report.intact else EXIT_BLOCKED)


def _read_anchor_file(path: Path) -> dict[str, Any]:
    from closure_readiness.storage.integrity import read_anchor

    try:
        return read_anchor(path)
    except (OSError, ValueError) as error:
        raise BadInput(f"{path}: not a readable anchor file ({_one_line(error)}).") from None


def _say_progress(what: str, done: int, total: int) -> None:
    click.echo(f"verify: {done:,} of {total:,} {what} checked", err=True)


@cli.command()
@db_option
@click.option("--out", type=FILE, required=True, help="The anchor file to write.")
@click.option(
    "--key-file",
    type=FILE,
    help="Sign the anchor with this key (HMAC-SHA256), held by the operator: a file only "
    "its owner can read, of 32 bytes or more.",
)
def anchor(db: Store | None, out: Path, key_file: Path | None) -> None:
    """Write the audit chain's head to a file, to keep elsewhere.

    Keep it away from the database's host: `verify --anchor` then shows that nobody rewrote the
    whole chain. With --key-file the anchor is signed, so nobody without the key can forge or
    edit one (`verify --anchor A --key-file K` checks it). See docs/operations.md.
    """
    from closure_readiness.storage.database import read_only, require_store
    from closure_readiness.storage.integrity import anchor_document

    path = _existing_db(db)
    key = None if key_file is None else _anchor_key(key_file)
    _output_folder(out)
    with read_only(path) as store:
        require_store(store, path, current=False)
        document = anchor_document(store, now=dt.datetime.now(dt.UTC), key=key)
    if document["seq"] == 0:
        raise Refused(f"{path}: the audit trail is empty; there is nothing to anchor yet.")
    _write_file(out, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
    click.echo(
        f"Wrote the chain head (event {document['seq']}){', signed,' if key else ''} to {out}; "
        "keep it outside the database's host."
    )


@cli.command()
@db_option
@click.option("--out", type=FILE, required=True, help="A new file for the copy.")
def backup(db: Store | None, out: Path) -> None:
    """Copy the database while the app runs (online and consistent).

    An SQLite file only: a PostgreSQL database is backed up with pg_dump, or by the server's
    own backups or its provider's."""
    from closure_readiness.storage.database import backup as backup_store

    path = _existing_db(db)
    if isinstance(path, PostgresURL):
        raise Refused(
            f"{path}: a PostgreSQL database is backed up with pg_dump or by the server's or its "
            "provider's own backups, not with this command; nothing was written."
        )
    try:
        backup_store(path, out)
    except (FileExistsError, FileNotFoundError) as refusal:
        raise BadInput(str(refusal)) from None
    click.echo(f"Backed up {path} to {out}.")


@cli.command()
@db_option
@click.option(
    "--as-of",
    type=IsoDate(),
    required=True,
    help="Dispose of what is due on this date (today or earlier).",
)
@click.option(
    "--hold",
    "holds",
    multiple=True,
    metavar="CASE",
    help="A case reference under a legal hold or an inquiry's moratorium: none of its records "
    "are disposed of. Repeat for each case.",
)
@click.option("--dry-run", is_flag=True, help="Say what is due; change nothing.")
def dispose(db: Store | None, as_of: dt.date, holds: tuple[str, ...], dry_run: bool) -> None:
    """Dispose of the records past their retention date, leaving a tombstone.

    A review's content, evidence, sealed decisions, reasons and case reference go; that there
    was a decision, its team, dates, outcome and findings stay, and the audit trail records the
    disposal, so `verify` still passes. A case's reviews go together, once the last is due and
    none is open. See docs/operations.md ("Retention").
    """
    from closure_readiness.service import retention
    from closure_readiness.service.context import SYSTEM, Context

    path = _existing_db(db)
    settings = _settings()
    try:
        policy = settings.retention()
    except ValueError as unusable:
        raise BadInput(str(unusable)) from None
    ctx = Context(path, retention=policy)
    held = frozenset(h.strip().upper() for h in holds if h.strip())
    if as_of > words.in_london(ctx.now()).date():
        raise BadInput(
            f"--as-of {as_of.isoformat()} is after today: records are disposed of only once due."
        )
    if dry_run:
        run = retention.plan(ctx, as_of, held)
        for due in run.due:
            click.echo(
                f"due: review {due.review_id} (case {due.case_reference}, "
                f"{len(due.decisions)} decision{'' if len(due.decisions) == 1 else 's'}), "
                f"disposal date {words.day(due.dispose_on)}"
            )
    else:
        run = retention.dispose(ctx, SYSTEM, as_of, held)
        for due, problem in run.refused:
            click.echo(f"NOT DISPOSED review {due.review_id}: {problem}; run verify.")
    done = run.due if dry_run else run.disposed
    click.echo(
        f"{path}: {len(done)} review{'' if len(done) == 1 else 's'} "
        f"{'due for disposal' if dry_run else 'disposed of'} as of {words.day(as_of)}; "
        f"{run.not_yet_due} not yet due; {len(run.held)} held; "
        f"{run.open_cases} case{'' if run.open_cases == 1 else 's'} with a review still open."
    )
    _exit(EXIT_BLOCKED if run.refused else EXIT_OK)


@cli.group(context_settings=CONTEXT_SETTINGS)
@db_option
@click.pass_context
def staff(ctx: click.Context, db: Store | None) -> None:
    """Add, list, disable, enable or change staff accounts.

    Give --db before the action: closure-readiness staff --db PATH add ...
    """
    ctx.obj = db


def _staff_call(action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    from closure_readiness.service.context import SYSTEM, Context, ServiceError

    ctx = Context(_db(click.get_current_context().obj))  # the group's --db
    try:
        return action(ctx, SYSTEM, *args, **kwargs)
    except ServiceError as error:
        raise BadInput(error.message) from None


def _say_member(member: Any) -> None:
    state = "active" if member.active else "disabled"
    click.echo(f"{member.staff_id}: {member.role.value}, {member.team or 'no team'}, {state}.")


ROLE = click.Choice([role.value for role in STAFF_ROLES])


@staff.command("add")
@click.argument("staff_id")
@click.option("--issuer", required=True, help="The identity provider's issuer URL (the iss claim).")
@click.option(
    "--subject", required=True, help="The person's subject at that issuer (the sub claim)."
)
@click.option("--name", required=True, help="The name the app shows for them.")
@click.option("--role", type=ROLE, required=True, help="What they do in the app.")
@click.option("--team", default="", help="Their team (caseworkers and team managers need one).")
def staff_add(staff_id: str, issuer: str, subject: str, name: str, role: str, team: str) -> None:
    """Add a member of staff who may sign in as STAFF_ID."""
    from closure_readiness.service.staff import add_staff

    member = _staff_call(
        add_staff,
        staff_id=staff_id,
        issuer=issuer,
        subject=subject,
        display_name=name,
        role=role,
        team=team,
    )
    click.echo(f"Added {member.staff_id} ({member.role.value}, {member.team or 'no team'}).")


@staff.command("list")
def staff_list() -> None:
    """List every staff account.

    One line each, tab-separated: id, role, team, active or disabled, name, issuer and subject.
    Only reads: never creates, upgrades or waits on the database.
    """
    from closure_readiness.service.staff import StaffMember
    from closure_readiness.storage import repositories
    from closure_readiness.storage.database import read_only, require_store

    path = _existing_db(click.get_current_context().obj)  # the group's --db
    with read_only(path) as store:
        require_store(store, path, current=True)
        members = [StaffMember.from_row(row) for row in repositories.list_staff(store)]
    for member in members:
        state = "active" if member.active else "disabled"
        click.echo(
            f"{member.staff_id}\t{member.role.value}\t{member.team or '-'}\t{state}\t"
            f"{member.display_name}\t{member.issuer} {member.subject}"
        )


@staff.command("disable")
@click.argument("staff_id")
def staff_disable(staff_id: str) -> None:
    """Disable STAFF_ID: refused at their next click (a leaver)."""
    from closure_readiness.service.staff import update_staff

    _say_member(_staff_call(update_staff, staff_id, active=False))


@staff.command("enable")
@click.argument("staff_id")
def staff_enable(staff_id: str) -> None:
    """Enable STAFF_ID again."""
    from closure_readiness.service.staff import update_staff

    _say_member(_staff_call(update_staff, staff_id, active=True))


@staff.command("set")
@click.argument("staff_id")
@click.option("--role", type=ROLE, required=True, help="Their new role.")
@click.option("--team", required=True, help="Their new team.")
def staff_set(staff_id: str, role: str, team: str) -> None:
    """Set STAFF_ID's role and team."""
    from closure_readiness.service.staff import update_staff

    _say_member(_staff_call(update_staff, staff_id, role=role, team=team))


@cli.command()
@click.option("--db", type=FILE, help=f"The demo database file. Default: {DEMO_DB}.")
@click.option("--seed-only", is_flag=True, help="Seed a new demo database and stop.")
@click.option(
    "--issuer",
    default="http://127.0.0.1:9400",
    show_default=True,
    help="The demo sign-in issuer the seeded staff belong to (with --seed-only).",
)
@click.option(
    "--port",
    type=int,
    metavar="PORT",
    default=8501,
    show_default=True,
    help="The app's port on 127.0.0.1.",
)
@click.option(
    "--provider-port",
    type=int,
    default=9400,
    metavar="PORT",
    show_default=True,
    help="The sign-in provider's port.",
)
def demo(db: Path | None, seed_only: bool, issuer: str, port: int, provider_port: int) -> None:
    """Start the demo: synthetic cases, local sign-in and the app.

    Seeds the demo database if it is new, then starts a local sign-in provider and the app on
    127.0.0.1. Synthetic cases and demo staff only; the database defaults to
    data/demo/closure-readiness-demo.db. Ctrl+C stops everything it started.
    """
    path: Path = db or DEMO_DB
    if seed_only:
        from closure_readiness.demo.seed import seed

        try:
            ids = seed(path, issuer=issuer, today=dt.datetime.now(dt.UTC).date())
        except FileExistsError as refusal:
            raise BadInput(str(refusal)) from None
        click.echo(f"Seeded {path} with demo staff and {len(ids)} synthetic reviews.")
        return
    from closure_readiness.demo.launcher import Addresses, LaunchRefused
    from closure_readiness.demo.launcher import demo as start_demo

    settings = _settings().model_copy(update={"db": path})
    try:
        _exit(start_demo(settings, Addresses(app_port=port, provider_port=provider_port)))
    except LaunchRefused as refusal:
        raise BadInput(str(refusal)) from None


@cli.command()
@click.option(
    "--port",
    type=int,
    metavar="PORT",
    default=8501,
    show_default=True,
    help="The app's port on 127.0.0.1 (the first port, with --processes).",
)
@click.option(
    "--processes",
    type=click.IntRange(1, 16),
    default=1,
    show_default=True,
    metavar="N",
    help="How many server processes to start, on PORT, PORT+1, ... (behind the reverse proxy).",
)
def run(port: int, processes: int) -> None:
    """Start the app for real use.

    Settings come from the environment (CLOSURE_ENVIRONMENT, CLOSURE_DB, ...) and sign-in from
    Streamlit's .streamlit/secrets.toml: see docs/deployment.md. Refuses to start, naming the
    setting, when sign-in is not set up or production settings would put data at risk.

    With --processes N, N servers share the database and the reverse proxy shares people
    among them (docs/operations.md, section 5); one that stops is started again.
    """
    from closure_readiness.demo.launcher import LaunchRefused
    from closure_readiness.demo.launcher import run as start_app
    from closure_readiness.settings import UnsafeSettings

    try:
        _exit(start_app(_settings(), port=port, processes=processes))
    except (UnsafeSettings, LaunchRefused) as refusal:
        raise BadInput(str(refusal)) from None


@cli.command()
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="The list's format.",
)
@click.option("--out", type=FILE, help="The file to write (default: standard output).")
@click.option(
    "--decision", type=int, metavar="ID", help="One decision's id, to write as PDF with --pdf."
)
@click.option("--pdf", type=FILE, help="Where to write that decision record (PDF).")
@click.option("--team", help="Only this team's decisions.")
@click.option(
    "--status",
    type=click.Choice([s.value for s in DECISION_STATUSES]),
    help="Only decisions at this status.",
)
@click.option("--signed-from", type=IsoDate(), help="Signed off on or after this date.")
@click.option("--signed-to", type=IsoDate(), help="Signed off on or before this date.")
@click.option(
    "--closure-reason",
    type=click.Choice([r.value for r in ClosureReason]),
    help="Only this reason for closure.",
)
@click.option(
    "--has-exceptions",
    type=YesNo(),
    help="Only decisions with (yes) or without (no) a manager's exception.",
)
@click.option(
    "--has-re-referral", type=YesNo(), help="Only decisions since re-referred (yes) or not (no)."
)
@click.option("--search", help="Words in the answers and evidence.")
def export(
    db: Store | None,
    fmt: str,
    out: Path | None,
    decision: int | None,
    pdf: Path | None,
    **filters: Any,
) -> None:
    """Export decisions (CSV or JSON) or one decision record (PDF).

    With --decision ID --pdf FILE, writes that decision record; otherwise the decisions the
    filters select. The export is recorded in the audit trail: the only write it makes (it
    never upgrades the database: run `migrate` first for one made by an earlier version).
    """
    from closure_readiness.service import auditing
    from closure_readiness.service.context import SYSTEM, Context, NotFound, ServiceError
    from closure_readiness.storage.database import use_as_is

    if decision is not None and pdf is None:
        raise BadInput("--decision needs --pdf FILE to write the decision record to.")
    for target in (pdf, out):
        if target is not None:
            _output_folder(target)
    path = _existing_db(db)
    if decision is not None and not 1 <= decision <= MAX_ROW_ID:
        raise Refused(f"There is no such decision: {decision}.")
    use_as_is(path)
    ctx = Context(path)
    try:
        if decision is not None and pdf is not None:
            _write_file(pdf, auditing.decision_record_pdf(ctx, SYSTEM, decision))
            click.echo(f"Wrote the decision record of decision {decision} to {pdf}.")
            return
        data = auditing.export_decisions(ctx, SYSTEM, _decision_query(**filters), fmt=fmt)
    except NotFound:
        raise Refused(f"There is no such decision: {decision}.") from None
    except ServiceError as error:
        raise BadInput(error.message) from None
    if out is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        _write_file(out, data)
        click.echo(f"Wrote {out}.", err=True)


def _decision_query(
    team: str | None,
    status: str | None,
    signed_from: dt.date | None,
    signed_to: dt.date | None,
    closure_reason: str | None,
    has_exceptions: bool | None,
    has_re_referral: bool | None,
    search: str | None,
) -> DecisionQuery:
    """The export's filters, as the auditor's list takes them."""
    from closure_readiness.storage.queries import DecisionQuery

    return DecisionQuery(
        team=team,
        status=status,
        signed_from=signed_from.isoformat() if signed_from else None,
        signed_to=signed_to.isoformat() if signed_to else None,
        closure_reason=closure_reason,
        has_exceptions=has_exceptions,
        has_re_referral=has_re_referral,
        text=search,
    )


WITHDRAW_HELP = """Withdraw a review on behalf of a member of staff, with a reason.

Withdraw a draft, returned or submitted review that will not lead to closure, on behalf of the
member of staff named by --by (for example when they ask the service desk; a disabled account
cannot). Their role and team apply as if they had withdrawn it in the app: the review's own
caseworker, or a team manager of its team. The audit trail records them as the person
withdrawing, with the reason, and that it was done at the command line.

Exit codes: 0 withdrawn, 1 refused (not theirs to withdraw, not in their team, already
approved or withdrawn, account disabled), 2 bad input (no such database or member of staff, an
empty reason).
"""


@cli.command(help=WITHDRAW_HELP, short_help="Withdraw a review on behalf of a member of staff.")
@db_option
@click.option("--review", type=int, required=True, metavar="ID", help="The review's id.")
@click.option(
    "--by",
    required=True,
    metavar="STAFF_ID",
    help="The caseworker or team manager withdrawing it (their staff id).",
)
@click.option(
    "--reason", required=True, metavar="TEXT", help="Why it is withdrawn (kept for audit)."
)
def withdraw(db: Store | None, review: int, by: str, reason: str) -> None:
    from closure_readiness.service import reviews, staff
    from closure_readiness.service.context import (
        SYSTEM,
        Context,
        InvalidInput,
        NotFound,
        ServiceError,
    )

    ctx = Context(_existing_db(db))
    member = next((m for m in staff.list_staff(ctx, SYSTEM) if m.staff_id == by), None)
    if member is None:
        raise BadInput(f"No member of staff has the id {by}.")
    if not member.active:
        raise Refused(
            f"Not withdrawn. {member.staff_id}'s account is disabled; ask a team manager of the "
            "team to withdraw the review."
        )
    principal = member.principal()
    try:
        if not 1 <= review <= MAX_ROW_ID:
            raise NotFound("no such review")  # larger than any id SQLite can hold
        record = reviews.get_review(ctx, principal, review)
        reviews.withdraw(ctx, principal, review, reason=reason, via="command line")
    except InvalidInput as problem:
        raise BadInput(problem.message) from None
    except NotFound:
        raise Refused(
            f"Not withdrawn. There is no review {review} that {member.staff_id} can see (it does "
            "not exist, or it belongs to another team)."
        ) from None
    except ServiceError as refusal:
        raise Refused(f"Not withdrawn. {refusal.message}") from None
    click.echo(
        f"Withdrew review {review} (case {record.case_reference}) for {member.staff_id} "
        f"({member.display_name}). The reason is kept in the audit trail."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The console script, and in-process callers: the exit code, never a traceback for bad
    input (click's own messages for an unknown command or option also exit 2)."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None, prog_name=PROG, standalone_mode=False
        )
    except click.ClickException as problem:
        problem.show()
        return problem.exit_code
    except click.Abort:  # Ctrl+C while a command ran
        return 130
    return result if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
