"""Driving the Streamlit app in-process with AppTest: a seeded database, a signed-in user, pages.

AppTest runs the real entry point (`app.py`) in this process, so anything the app keeps with
`st.cache_resource` (the settings, the last-activity table) survives from one test to the next:
`use_database` clears it whenever a test points the app at its own database.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

from closure_readiness.demo.seed import DEMO_ACCOUNTS, seed, shifted
from closure_readiness.service import reviews, staff
from closure_readiness.service.context import Context, Principal
from closure_readiness.service.records import ReviewRecord

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_EXAMPLE = REPO_ROOT / "examples" / "ready-three-agencies-sustained-change.json"
APP = REPO_ROOT / "app.py"
"""The root entry, as `streamlit run app.py` from a checkout runs it."""
ISSUER = "https://sign-in.test.invalid"
TODAY = dt.date(2025, 6, 2)
"""The demo data is seeded as if today were this day (proposed closures sit around it)."""
RUN_TIMEOUT = 30.0
"""Seconds one script run may take (the first run imports the whole app)."""

PAGE_SCRIPTS = {
    name: f"src/closure_readiness/views/scripts/{name}.py"
    for name in (
        "my_reviews",
        "start_review",
        "review",
        "queue",
        "team_reviews",
        "decision",
        "decisions",
        "learning",
        "reference",
    )
}
"""Page scripts, relative to the root app.py, as AppTest.switch_page wants them."""


_RUNS = threading.local()
"""Whether the last AppTest run drew fragments alone, and whether tests want to see that."""


def _fragments_alone(runner: LocalScriptRunner) -> bool:
    """A run that drew only fragments: every element it sent belongs to one."""
    deltas = [msg.delta for msg in runner.forward_msgs() if msg.HasField("delta")]
    return bool(deltas) and all(delta.fragment_id for delta in deltas)


def _see_the_whole_page() -> None:
    """Make AppTest show the page a browser shows after a run of fragments alone.

    A changed answer runs only the review page's keyed fragments (views/review/live.py). A
    browser keeps the rest of the page; AppTest keeps only the last run's elements, so it
    would show the fragments alone. After such a run the page's own run follows, with no
    widget changed, which draws the whole page as the fragments left it (nothing is saved
    again: the widgets hold what is stored). `fragments_alone()` turns this off for a test
    of the fragment run itself."""
    run, app_run = LocalScriptRunner.run, AppTest._run

    def runner_run(self: LocalScriptRunner, *args: Any, **kwargs: Any) -> Any:
        tree = run(self, *args, **kwargs)
        _RUNS.fragments = _fragments_alone(self)
        return tree

    def app_test_run(self: AppTest, widget_state: Any = None, timeout: Any = None) -> AppTest:
        done = app_run(self, widget_state, timeout)
        if getattr(_RUNS, "fragments", False) and not getattr(_RUNS, "as_drawn", False):
            done = app_run(self, None, timeout)
        return done

    LocalScriptRunner.run = runner_run  # type: ignore[method-assign]
    AppTest._run = app_test_run  # type: ignore[method-assign]


_see_the_whole_page()


@contextmanager
def fragments_alone() -> Iterator[None]:
    """AppTest shows each run's elements as sent: a run of fragments alone shows them only."""
    _RUNS.as_drawn = True
    try:
        yield
    finally:
        _RUNS.as_drawn = False


def last_run_was_fragments_alone() -> bool:
    return bool(getattr(_RUNS, "fragments", False))


@dataclass(frozen=True)
class DemoDatabase:
    """A database seeded with the demo staff and cases; `ids` are review ids by label."""

    path: Path
    ids: dict[str, int]

    def context(self) -> Context:
        return Context(self.path)

    def principal(self, subject: str) -> Principal:
        return staff.identify(self.context(), issuer=ISSUER, subject=subject)

    def stored(self, review_id: int, subject: str = "caseworker") -> ReviewRecord:
        """The review as now stored, read as `subject`."""
        return reviews.get_review(self.context(), self.principal(subject), review_id)


def seeded_database(directory: Path, *, today: dt.date = TODAY) -> DemoDatabase:
    """Seed the demo staff and cases (every workflow state) into a new file in `directory`."""
    path = directory / "closure-readiness.db"
    ids = seed(path, issuer=ISSUER, today=today)
    return DemoDatabase(path, ids)


def copy_database(template: DemoDatabase, directory: Path) -> DemoDatabase:
    """A private copy of a seeded database (seeding takes a second; copying a millisecond).

    Storage keeps connections open, so the template's latest changes may still be in its
    write-ahead log: closing them first folds the log into the file that is copied."""
    from closure_readiness.storage.database import release

    release(template.path)
    path = directory / template.path.name
    shutil.copyfile(template.path, path)
    return DemoDatabase(path, dict(template.ids))


def clear_app_caches() -> None:
    """Forget cached settings and last-activity times (shared by every AppTest in-process)."""
    st.cache_resource.clear()
    st.cache_data.clear()


def point_app_at(
    monkeypatch: pytest.MonkeyPatch, database: DemoDatabase | Path, **env: str
) -> None:
    """Make the app use `database` (CLOSURE_DB) and extra CLOSURE_* settings, caches cleared."""
    path = database.path if isinstance(database, DemoDatabase) else database
    monkeypatch.setenv("CLOSURE_DB", str(path))
    monkeypatch.setenv("CLOSURE_ENVIRONMENT", "test")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    clear_app_caches()


def email_of(subject: str) -> str:
    return f"{subject}@demo.invalid"


def signed_in_claims(
    subject: str, *, issuer: str = ISSUER, issued_at: float | None = None
) -> dict[str, Any]:
    """What `st.user` holds after the real sign-in (OIDC ID token claims)."""
    return {
        "is_logged_in": True,
        "iss": issuer,
        "sub": subject,
        "iat": int(time.time() if issued_at is None else issued_at),
        "email": email_of(subject),
    }


def app_test(
    principal_subject: str | None,
    *,
    page: str | None = None,
    query: dict[str, str] | None = None,
    issuer: str = ISSUER,
    issued_at: float | None = None,
    run: bool = True,
) -> AppTest:
    """The app as `principal_subject` sees it (None: signed out), run once.

    With `page`, the app is run once on its default page and then switched to that page (AppTest
    matches st.navigation pages only after a first run). `query` sets `st.query_params`.
    """
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT)
    if principal_subject is None:
        at.user = {"is_logged_in": False}
    else:
        at.user = signed_in_claims(principal_subject, issuer=issuer, issued_at=issued_at)
    if query:
        at.query_params.update(query)
    if not run:
        return at
    at.run()
    if page is not None:
        open_page(at, page, query=query)
    return at


def open_page(at: AppTest, page: str, *, query: dict[str, str] | None = None) -> AppTest:
    """Switch to one of the app's pages (by name, as in views/pages.py) and run it."""
    at.switch_page(PAGE_SCRIPTS[page])
    if query is not None:
        at.query_params.clear()
        at.query_params.update(query)
    return at.run()


def open_step(at: AppTest, review_id: int, step: str) -> AppTest:
    """Open one step of the review wizard, as the task list's links do."""
    return open_page(at, "review", query={"review": str(review_id), "step": step})


Scope = AppTest | Block
"""Where to look for a widget: the whole page, or one form, row or expander on it."""


def _labels(scope: Scope, kind: str) -> list[str]:
    return [str(widget.label) for widget in getattr(scope, kind)]


def widget(scope: Scope, kind: str, label: str) -> Any:
    """The one `kind` widget ("button", "text_input", ... as AppTest names them) in `scope`
    that people see labelled `label`. Scope it to a form or row when a label repeats."""
    found = [w for w in getattr(scope, kind) if str(w.label) == label]
    if len(found) != 1:
        raise AssertionError(
            f"{len(found)} {kind} labelled {label!r} here; labels: {_labels(scope, kind)}"
        )
    return found[0]


def widget_starting(scope: Scope, kind: str, start: str) -> Any:
    """The one `kind` widget whose label starts with `start` (a label that quotes stored text)."""
    found = [w for w in getattr(scope, kind) if str(w.label).startswith(start)]
    if len(found) != 1:
        raise AssertionError(
            f"{len(found)} {kind} labelled {start!r}...; labels: {_labels(scope, kind)}"
        )
    return found[0]


def button(scope: Scope, label: str) -> Any:
    return widget(scope, "button", label)


def checkbox(scope: Scope, label: str) -> Any:
    return widget(scope, "checkbox", label)


def text_input(scope: Scope, label: str) -> Any:
    return widget(scope, "text_input", label)


def text_area(scope: Scope, label: str) -> Any:
    return widget(scope, "text_area", label)


def selectbox(scope: Scope, label: str) -> Any:
    return widget(scope, "selectbox", label)


def radio(scope: Scope, label: str) -> Any:
    return widget(scope, "radio", label)


def date_input(scope: Scope, label: str) -> Any:
    return widget(scope, "date_input", label)


def multiselect(scope: Scope, label: str) -> Any:
    return widget(scope, "multiselect", label)


def labels(scope: Scope, kind: str) -> list[str]:
    """The labels of every `kind` widget in `scope`, as people read them."""
    return _labels(scope, kind)


def start_review(
    at: AppTest,
    *,
    case_reference: str,
    birth_month: str,
    involvement: str | None = None,
    opened_on: dt.date | None = None,
    proposed_closure_on: dt.date | None = None,
) -> AppTest:
    """Fill in "Start a closure review" (the fields not given are left as they are) and send."""
    start = form(at, "Start review")
    text_input(start, "Case reference").set_value(case_reference)
    text_input(start, "Month of birth (YYYY-MM)").set_value(birth_month)
    if involvement is not None:
        selectbox(start, "Type of involvement").set_value(involvement)
    if opened_on is not None:
        date_input(start, "Date opened").set_value(opened_on)
    if proposed_closure_on is not None:
        date_input(start, "Proposed closure date").set_value(proposed_closure_on)
    return button(start, "Start review").click().run()


def _blocks(scope: Scope) -> list[Block]:
    root = scope.main if isinstance(scope, AppTest) else scope
    return [node for node in root if isinstance(node, Block)]


def _holds(block: Block, kind: str, label: str) -> bool:
    return label in _labels(block, kind)


def form(scope: Scope, submit: str, *, holding: str | None = None) -> Block:
    """The form sent with the button labelled `submit` (and, where several forms have that
    button, the one with a field labelled `holding`)."""
    found = [
        block
        for block in _blocks(scope)
        if block.type == "form"
        and _holds(block, "button", submit)
        and (holding is None or any(holding in _labels(block, kind) for kind in FIELD_KINDS))
    ]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} forms sent with {submit!r} holding {holding!r}")
    return found[0]


def row(scope: Scope, remove: str) -> Block:
    """One entry of a list on a step: the smallest block holding its button labelled `remove`
    ("Remove cause 1")."""
    holding = [block for block in _blocks(scope) if _holds(block, "button", remove)]
    if not holding:
        raise AssertionError(f"no row with a button {remove!r}: {_labels(scope, 'button')}")
    return min(holding, key=lambda block: len(list(block)))


def expander(scope: Scope, label_starts: str) -> Block:
    """The one expander whose label starts with `label_starts`."""
    found = [e for e in scope.expander if str(e.label).startswith(label_starts)]
    if len(found) != 1:
        labels = [str(e.label) for e in scope.expander]
        raise AssertionError(f"{len(found)} expanders start {label_starts!r}: {labels}")
    return found[0]


def open_expander(at: AppTest, label_starts: str) -> AppTest:
    """Open a folded box whose content is drawn only once it is open (a rerun), as a person
    clicking it does: the app names the box's state by the key it gave it."""
    box = expander(at, label_starts)
    assert box.key, f"the box {box.label!r} keeps no open state"
    at.session_state[box.key] = True
    return at.run()


def open_all_gaps(at: AppTest) -> AppTest:
    """Beside the task list the findings are folded under "Every open gap, by step": open it,
    as the worker does (its content is drawn once it is open)."""
    return open_expander(at, "Every open gap, by step")


FIELD_KINDS = (
    "checkbox",
    "date_input",
    "multiselect",
    "number_input",
    "radio",
    "selectbox",
    "text_area",
    "text_input",
    "toggle",
)


MARKDOWN_ELEMENTS = (
    "title",
    "header",
    "subheader",
    "markdown",
    "caption",
    "error",
    "warning",
    "info",
    "success",
    "exception",
)


def rendered_markdown(at: AppTest) -> list[str]:
    """Every text the browser renders as Markdown: element bodies and widget labels."""
    bodies: list[str] = []
    for kind in MARKDOWN_ELEMENTS:
        bodies.extend(str(element.value) for element in getattr(at, kind))
    bodies.extend(str(expander.label) for expander in at.expander)
    for kind in (
        "button",
        "checkbox",
        "date_input",
        "multiselect",
        "number_input",
        "radio",
        "selectbox",
        "text_area",
        "text_input",
        "toggle",
    ):
        for widget in getattr(at, kind):
            bodies.append(str(getattr(widget, "label", "")))
            bodies.append(str(getattr(widget, "help", "") or ""))
    return bodies


def as_seen(markdown: str) -> str:
    """Markdown as the reader sees it: backslash escapes and bold markers removed, and inline
    code (how escape_markdown shows web addresses and shortcodes) shown as its content."""
    pieces = re.split(r"(?<!\\)`([^`]*)`", markdown)
    return "".join(
        piece if index % 2 else re.sub(r"\\(.)", r"\1", piece).replace("**", "")
        for index, piece in enumerate(pieces)
    )


def all_text(at: AppTest) -> str:
    """Everything shown as text or Markdown on the page, for 'does not mention' assertions."""
    parts = rendered_markdown(at)
    parts.extend(str(element.value) for element in at.text)
    parts.extend(str(link.proto.label) for link in at.page_link)
    return "\n".join(parts)


def task_statuses(at: AppTest) -> dict[str, str]:
    """The task list as the worker reads it: step title -> status text ("Not started ·
    1 blocker"), without the icon. Each row is one button: "**Step** · status"."""
    statuses: dict[str, str] = {}
    for each in at.button:
        found = re.fullmatch(r"\*\*(.+?)\*\* · (.+)", str(each.label), flags=re.DOTALL)
        if found:
            statuses[found[1]] = found[2]
    return statuses


def demo_subjects() -> list[str]:
    return [account.subject for account in DEMO_ACCOUNTS]


def ready_document(reference: str) -> dict[str, Any]:
    """The example review that passes every check, moved so that closure is in two weeks."""
    original: dict[str, Any] = json.loads(READY_EXAMPLE.read_text(encoding="utf-8"))
    closure = dt.date.fromisoformat(original["case"]["proposed_closure_on"])
    target = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=14)
    document: dict[str, Any] = shifted(original, (target - closure).days)
    document["case"]["case_reference"] = reference
    return document


# Evidence and dates for reviews built in tests (the demo's today is TODAY).
CLOSING_ON = dt.date(2025, 6, 30)
SCHOOL_SAW_CHANGE = {
    "id": "E1",
    "agency": "school",
    "kind": "observed",
    "observed_on": "2025-05-20",
    "direction": "shows_change",
    "shows": "Form tutor saw him settled in lessons every day.",
    "record_ref": "EDU-OBS-0520",
}
POLICE_RECORD = {
    "id": "E2",
    "agency": "police",
    "kind": "record",
    "observed_on": "2025-06-02",
    "direction": "shows_change",
    "shows": "No missing episodes recorded since February.",
    "record_ref": "POL-CHK-0602",
}
