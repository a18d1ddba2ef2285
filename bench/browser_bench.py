"""What a person waits for in Chromium: sign-in, a step switch, a checkbox, adding evidence, a
page load, each against a bare Streamlit page drawing the same widgets (the floor).

Two servers run side by side from the repository (so both read `.streamlit/config.toml`):
the real demo (`closure-readiness demo`, seeded synthetic data, its local sign-in provider)
and a floor app: a generated script with no database, no checks and no logic, drawing the
same element kinds, labels, keys, values and layout blocks as each measured page, in order
(read from an AppTest run of the real page on a copy of the same database). The ratio is what
our code adds to what Streamlit itself costs for that page.

An interaction has settled when Streamlit's last script run for it has finished (its
`script_finished` message arrived on the web socket: a run restarted by `st.rerun` is not
finished) and the page is idle: `[data-test-script-state="notRunning"]`, no stale element,
and the expected heading shown. Samples alternate between the app and the floor, so a busy
machine slows both alike; before each timed action the page is left to go quiet and then a
second passes (untimed, `PAUSE`), as between a person's actions.
Requests leaving 127.0.0.1 are reported (none should be needed).

Rows: sign-in (the app's button, the provider's page, back to the app's first page idle; its
floor is a page load of the same elements), a step switch (task list -> the family step), a
checkbox on that step (the app saves it), adding evidence (a review with many open findings),
a page load of the review's task list, the least a page load costs (one heading), and the
checkbox clicked `clicks` times with `runner.postScriptGC` on and off (a second demo), with the
Streamlit server's resident memory before and after. Before the table, where each
interaction's time goes: waiting for its run to start, the runs, the browser drawing.

`python -m bench --quick browser`: 5 samples of each, 20 clicks (about 10 minutes); without
--quick 20 samples and 150 clicks (about 35 minutes; BENCH_BROWSER_SKIP_CLICKS=1 leaves out the
click runs: about 15). Every server runs in its own process
group and is stopped on exit, on error, on Ctrl+C and on SIGTERM.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import datetime as dt
import functools
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import closure_readiness
from bench.harness import Measurement, free_port, healthy

ROOT = Path(__file__).resolve().parents[1]
"""Both servers start here, so both read this repository's `.streamlit/config.toml`."""
PACKAGE = Path(closure_readiness.__file__).resolve().parent
"""The app measured: the package Python imports (PYTHONPATH can point at another copy)."""
APP = PACKAGE / "app.py"
ICON = PACKAGE / "views" / "icon.png"
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 1000}
IDLE = """() => {
    const root = document.querySelector('[data-test-script-state]');
    return root && root.dataset.testScriptState === 'notRunning'
        && !document.querySelector('[data-stale="true"]');
}"""
OUTSIDE = re.compile(r"^(?!http://127\.0\.0\.1[:/]|data:|blob:|about:)")
"""Any address but this machine's: reported (a page should need none)."""
START_DEADLINE = 120.0
"""Seconds a server may take to answer its health check."""
SETTLE_DEADLINE = 60.0
SKIP_CLICKS = os.environ.get("BENCH_BROWSER_SKIP_CLICKS") == "1"
"""BENCH_BROWSER_SKIP_CLICKS=1 leaves out the postScriptGC click runs (most of a full run's
time), for measuring the interactions again after a change."""
PAUSE = 1.0
"""Seconds between one timed action settling and the next starting. Without it, a page load
started right after the other side's page load waited about 300 ms longer to start its run,
on both sides (the servers and the browser were still closing what the last load replaced):
nobody reloads a page the instant another tab has settled."""
"""Seconds one interaction may take before the benchmark gives up (a loaded machine)."""
THEME = "family"
"""The theme step measured: the most widgets of any step (a select box per family factor)."""
CHECKBOX = "Impact on other children considered"
ACCOUNT = "caseworker"
MANY = 20
"""The measured reviews must have at least this many open findings (the gap panel's load)."""


def _say(message: str) -> None:
    """Progress on stderr: a full run takes minutes."""
    print(f"browser bench: {message}", file=sys.stderr, flush=True)


# Processes ------------------------------------------------------------------------------------

_CHILDREN: list[subprocess.Popen[bytes]] = []


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl+C for the process group (the launcher stops Streamlit), then SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    # The group outlives its leader when a child ignored the signal: kill whatever remains.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def stop_all() -> None:
    while _CHILDREN:
        _stop(_CHILDREN.pop())


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _stopped_on_signals() -> Iterator[None]:
    """Ctrl+C, SIGTERM and SIGHUP end the run through every `finally`, so each server stops.

    (A plain KeyboardInterrupt can be swallowed inside Playwright's event loop; SystemExit is
    not.)"""
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, _terminate) for sig in signals}
    try:
        yield
    finally:
        stop_all()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


atexit.register(stop_all)


def _spawn(command: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _CHILDREN.append(process)
    return process


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE
    while not healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"the server at {url} did not start:\n{tail}")
        time.sleep(0.05)  # polling interval


def _streamlit_pid(group: int) -> int | None:
    """The Streamlit server in a process group (the launcher's child)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == group and b"streamlit" in cmdline and b"run" in cmdline:
            return int(entry.name)
    return None


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclasses.dataclass
class Demo:
    url: str
    provider: str
    process: subprocess.Popen[bytes]

    @property
    def server_pid(self) -> int | None:
        return _streamlit_pid(self.process.pid)


def start_demo(db: Path, *, provider_port: int, folder: Path, gc: bool | None = None) -> Demo:
    """`closure-readiness demo` on a seeded database, as a person starts it."""
    app_port = free_port()
    env = {**os.environ, "CLOSURE_ENVIRONMENT": "test", "PYTHONUNBUFFERED": "1"}
    env.pop("CLOSURE_DB", None)
    if gc is not None:  # otherwise the setting in .streamlit/config.toml
        env["STREAMLIT_RUNNER_POST_SCRIPT_GC"] = "true" if gc else "false"
    command = [
        sys.executable,
        "-m",
        "closure_readiness.cli",
        "demo",
        "--db",
        str(db),
        "--port",
        str(app_port),
        "--provider-port",
        str(provider_port),
    ]
    log = folder / f"demo-{app_port}.log"
    process = _spawn(command, env=env, log=log)
    url = f"http://127.0.0.1:{app_port}"
    _wait_healthy(url, process, log)
    return Demo(url=url, provider=f"http://127.0.0.1:{provider_port}", process=process)


def start_floor(script: Path, folder: Path, *, gc: bool | None = None) -> str:
    """The floor script under `streamlit run`, with the same config as the demo (and, if
    given, the same `runner.postScriptGC`)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
    ]
    if gc is not None:
        command.append(f"--runner.postScriptGC={'true' if gc else 'false'}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = folder / f"floor-{port}.log"
    process = _spawn(command, env=env, log=log)
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(url, process, log)
    return url


# The floor script -----------------------------------------------------------------------------


def _children(node: Any) -> list[Any]:
    children = getattr(node, "children", None)
    return list(children.values()) if isinstance(children, dict) else []


def _user_key(proto: Any) -> str | None:
    """The key the app gave a widget (Streamlit ids read `$$ID-<hash>-<key>`)."""
    widget_id = str(getattr(proto, "id", "") or "")
    if widget_id.startswith("$$ID-"):
        key = widget_id.split("-", 2)[2] if widget_id.count("-") >= 2 else "None"
        return None if key == "None" else key
    return None


def _icon(proto: Any) -> str:
    icon = str(getattr(proto, "icon", "") or "")
    return f", icon={icon!r}" if icon else ""


FLOOR_HELPERS = [
    "def submitted():",
    "    st.session_state['submitted'] = st.session_state.get('submitted', 0) + 1",
    "",
    "",
    "def grown(records):",
    "    return records + [dict(records[-1])] * st.session_state.get('submitted', 0)",
    "",
    "",
]
"""What the views `FloorScript` writes call: a form submitted, a register grown by it."""


class FloorScript:
    """Python source drawing the same elements as AppTest trees, one function per view.

    `hooks` adds keyword arguments to the widget with a given key (a button's `on_click`).
    """

    def __init__(self, hooks: dict[str, str] | None = None) -> None:
        self.hooks = hooks or {}
        self.lines: list[str] = []
        self.serial = 0

    def _key(self, proto: Any) -> str:
        """The widget's key (and its help text, hooks): the same classes as in the app."""
        key = _user_key(proto)
        if key is None:
            self.serial += 1
            key = f"floor{self.serial}"
        hook = self.hooks.get(key, "")
        help_text = str(getattr(proto, "help", "") or "")
        return (
            f"key={key!r}"
            + (f", help={help_text!r}" if help_text else "")
            + (f", {hook}" if hook else "")
        )

    def view(self, name: str, tree: Any) -> None:
        self.lines.append(f"def view_{name}():")
        self.lines.append("    pass")
        for child in _children(tree):
            kind = getattr(child, "type", "")
            if kind == "main":
                for inner in _children(child):
                    self._emit(inner, 1)
            elif kind == "sidebar":
                self.lines.append("    with st.sidebar:")
                self.lines.append("        pass")
                for inner in _children(child):
                    self._emit(inner, 2)
        self.lines.append("")

    def _emit(self, node: Any, depth: int) -> None:
        pad = "    " * depth
        kind = getattr(node, "type", "")
        proto: Any = getattr(node, "proto", None)
        add = self.lines.append
        children = _children(node)
        if kind == "flex_container" and children and all(c.type == "column" for c in children):
            weights = [round(float(c.proto.weight), 4) for c in children]
            gap = {0: "small", 1: "small", 2: "medium", 3: "large"}.get(
                int(proto.flex_container.gap_config.gap_size), "small"
            )
            align = {0: "top", 1: "center", 2: "bottom"}.get(
                int(children[0].proto.vertical_alignment), "top"
            )
            self.serial += 1
            name = f"c{self.serial}"
            add(f"{pad}{name} = st.columns({weights}, gap={gap!r}, vertical_alignment={align!r})")
            for index, column in enumerate(children):
                add(f"{pad}with {name}[{index}]:")
                add(f"{pad}    pass")
                for child in _children(column):
                    self._emit(child, depth + 1)
            return
        if kind == "flex_container":
            add(f"{pad}with st.container(border={bool(proto.flex_container.border)}):")
        elif kind == "expander":
            add(f"{pad}with st.expander({proto.label!r}, expanded={bool(proto.expanded)}):")
        elif kind == "form":
            form = proto.form
            add(
                f"{pad}with st.form({form.form_id!r}, clear_on_submit={form.clear_on_submit}, "
                f"border={form.border}):"
            )
        elif kind in ("title", "header", "subheader"):
            anchor = ", anchor=False" if proto.hide_anchor else ""
            add(f"{pad}st.{kind}({proto.body!r}{anchor})")
            return
        elif kind in ("markdown", "caption"):
            function = "caption" if kind == "caption" else "markdown"
            add(f"{pad}st.{function}({proto.body!r})")
            return
        elif kind == "text":
            add(f"{pad}st.text({proto.body!r})")
            return
        elif kind in ("error", "warning", "info", "success"):
            add(f"{pad}st.{kind}({proto.body!r}{_icon(proto)})")
            return
        elif kind == "progress":
            add(f"{pad}st.progress({int(proto.value)}, text={proto.text!r})")
            return
        elif kind == "dataframe":
            # A row more for every form submitted, as the app's register grows.
            records = node.value.astype(str).to_dict("records")
            add(f"{pad}st.dataframe(grown({records!r}), hide_index=True)")
            return
        elif kind == "page_link":
            add(f"{pad}st.page_link(PAGES[{proto.page!r}], label={proto.label!r}{_icon(proto)})")
            return
        elif kind == "button":
            button_type = proto.type or "secondary"
            common = f"{proto.label!r}, type={button_type!r}{_icon(proto)}"
            if proto.is_form_submitter:
                add(f"{pad}st.form_submit_button({common}, on_click=submitted)")
            else:
                disabled = ", disabled=True" if proto.disabled else ""
                add(f"{pad}st.button({common}{disabled}, {self._key(proto)})")
            return
        elif kind == "checkbox":
            add(f"{pad}st.checkbox({proto.label!r}, value={proto.default}, {self._key(proto)})")
            return
        elif kind in ("selectbox", "radio"):
            options = list(proto.options)
            selected = int(proto.default) if proto.HasField("default") else None
            extra = ", horizontal=True" if kind == "radio" and proto.horizontal else ""
            add(
                f"{pad}st.{kind}({proto.label!r}, {options!r}, index={selected}{extra}, "
                f"{self._key(proto)})"
            )
            return
        elif kind == "multiselect":
            options = list(proto.options)
            chosen = [options[i] for i in proto.default]
            add(
                f"{pad}st.multiselect({proto.label!r}, {options!r}, default={chosen!r}, "
                f"placeholder={proto.placeholder!r}, {self._key(proto)})"
            )
            return
        elif kind in ("text_input", "text_area"):
            value = proto.default if proto.HasField("default") else ""
            limit = f", max_chars={proto.max_chars}" if proto.max_chars else ""
            add(f"{pad}st.{kind}({proto.label!r}, value={value!r}{limit}, {self._key(proto)})")
            return
        elif kind == "date_input":
            value = (
                f"datetime.date.fromisoformat({proto.default[0].replace('/', '-')!r})"
                if proto.default
                else "None"
            )
            add(
                f"{pad}st.date_input({proto.label!r}, value={value}, "
                f"min_value=datetime.date.fromisoformat({proto.min.replace('/', '-')!r}), "
                f"max_value=datetime.date.fromisoformat({proto.max.replace('/', '-')!r}), "
                f"format={proto.format or 'YYYY/MM/DD'!r}, {self._key(proto)})"
            )
            return
        elif kind == "empty":
            add(f"{pad}st.empty()")
            return
        elif kind == "number_input":
            add(f"{pad}st.number_input({proto.label!r}, value=None, {self._key(proto)})")
            return
        else:
            for child in children:
                self._emit(child, depth)
            return
        add(f"{pad}    pass")
        for child in children:
            self._emit(child, depth + 1)

    def source(
        self, *, landing: str, review_views: list[str], pages: list[str], only: str = ""
    ) -> str:
        """The floor app: the same page menu as the caseworker's, the review page's view picked
        by `?step=` as the app's step is. `only` draws one view and no menu (for checking)."""
        head = [
            '"""A bare Streamlit app drawing the same elements as the pages measured."""',
            "import datetime",
            "import streamlit as st",
            "",
            # The app's own icon: a Material page icon would be fetched from a font CDN.
            f"st.set_page_config(page_title='Floor', page_icon={str(ICON)!r}, layout='wide')",
            "",
            "",
            "def go(step):",
            "    st.query_params['step'] = step",
            "",
            "",
            *FLOOR_HELPERS,
            "def review():",
            f"    step = st.query_params.get('step', {review_views[0]!r})",
            f"    {{{', '.join(f'{v!r}: view_{v}' for v in review_views)}}}[step]()",
            "",
            "",
            "def empty():",
            "    st.title('Another page')",
            "",
            "",
        ]
        page_lines = ["PAGES = {"]
        for name in pages:
            function = {"review": "review", landing: f"view_{landing}"}.get(name, "empty")
            visibility = "hidden" if name == "review" else "visible"
            page_lines.append(
                f"    {name!r}: st.Page({function}, title={name.replace('_', ' ').title()!r}, "
                f"url_path={name!r}, icon=':material/list_alt:', visibility={visibility!r}, "
                f"default={name == landing}),"
            )
        page_lines.append("}")
        run = f"view_{only}()" if only else "st.navigation(list(PAGES.values())).run()"
        tail = ["", run, ""]
        return "\n".join(head + self.lines + page_lines + tail)


# Reading the real pages (AppTest on a copy of the demo database) ------------------------------


@dataclasses.dataclass
class Pages:
    """AppTest trees of the measured pages and what they say."""

    landing: Any
    tasks: Any
    theme: Any
    evidence: Any
    tasks_heading: str
    theme_heading: str
    evidence_heading: str
    open_findings: int
    evidence_open_findings: int


def read_pages(db: Path, *, issuer: str, review: int, evidence_review: int) -> Pages:
    from streamlit.testing.v1 import AppTest

    from closure_readiness.service import reviews, staff
    from closure_readiness.service.context import Context

    os.environ["CLOSURE_DB"] = str(db)
    user = {"is_logged_in": True, "iss": issuer, "sub": ACCOUNT, "iat": int(time.time())}

    def tree(review_id: int | None, step: str | None) -> Any:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.user = user
        if review_id is None:
            at.run()
        else:
            at.query_params["review"] = str(review_id)
            at.query_params["step"] = str(step)
            at.run()
            at.switch_page("views/scripts/review.py")
            at.run()
        if at.exception:
            raise RuntimeError(f"the app failed under AppTest: {at.exception}")
        return at

    landing, tasks = tree(None, None), tree(review, "tasks")
    theme, evidence = tree(review, THEME), tree(evidence_review, "evidence")
    ctx = Context(db)
    worker = staff.identify(ctx, issuer=issuer, subject=ACCOUNT)
    many = len(reviews.get_review(ctx, worker, review).report.open_findings)
    evidence_many = len(reviews.get_review(ctx, worker, evidence_review).report.open_findings)
    return Pages(
        landing=landing._tree,
        tasks=tasks._tree,
        theme=theme._tree,
        evidence=evidence._tree,
        tasks_heading=tasks.title[0].value,
        theme_heading=theme.header[0].value,
        evidence_heading=evidence.header[0].value,
        open_findings=many,
        evidence_open_findings=evidence_many,
    )


def floor_source(found: Pages, *, review: int, only: str = "") -> str:
    task_button = f"r.{review}.g0.task.{THEME}"
    script = FloorScript(hooks={task_button: f"on_click=go, args=({THEME!r},)"})
    script.view("my_reviews", found.landing)
    script.view("tasks", found.tasks)
    script.view(THEME, found.theme)
    script.view("evidence", found.evidence)
    return script.source(
        landing="my_reviews",
        review_views=["tasks", THEME, "evidence"],
        pages=["my_reviews", "start_review", "review", "reference"],
        only=only,
    )


def _add_first_evidence(db: Path, *, issuer: str, review_id: int, today: dt.date) -> None:
    """One item already recorded, so every measured add draws the register and its editor."""
    from closure_readiness.service import reviews, staff
    from closure_readiness.service.context import Context

    ctx = Context(db)
    worker = staff.identify(ctx, issuer=issuer, subject=ACCOUNT)
    record = reviews.get_review(ctx, worker, review_id)
    document = record.review.model_dump(mode="json")
    document["evidence"].append(
        {
            "id": "E1",
            "agency": "school",
            "kind": "observed",
            "observed_on": (today - dt.timedelta(days=3)).isoformat(),
            "direction": "shows_change",
            "shows": "Form tutor saw her settled in lessons all week.",
            "record_ref": "EDU-OBS-0001",
        }
    )
    reviews.save_review(ctx, worker, review_id, document, expected_version=record.version)


# In the browser -------------------------------------------------------------------------------


COUNTER = """(() => {
    window.__benchStarts = [];
    window.__benchEnds = [];
    const now = () => performance.timeOrigin + performance.now();
    const finished = (bytes) => {
        let i = 0;
        const varint = () => {
            let value = 0, scale = 1;
            while (i < bytes.length) {
                const b = bytes[i++];
                value += (b & 0x7f) * scale;
                scale *= 128;
                if (b < 0x80) return value;
            }
            return -1;
        };
        while (i < bytes.length) {
            const tag = varint();
            if (tag < 0) return false;
            const number = Math.floor(tag / 8), wire = tag % 8;
            if (wire === 0) {
                const value = varint();
                if (number === FIELD) return value === FINISHED || value === FRAGMENT;
            } else if (wire === 2) {
                const length = varint();
                if (length < 0) return false;
                if (number === NEW_SESSION) window.__benchStarts.push(now());
                i += length;
            } else if (wire === 1) {
                i += 8;
            } else if (wire === 5) {
                i += 4;
            } else {
                return false;
            }
        }
        return false;
    };
    const Native = window.WebSocket;
    class Counted extends Native {
        constructor(...args) {
            super(...args);
            this.addEventListener("message", (event) => {
                if (event.data instanceof ArrayBuffer && finished(new Uint8Array(event.data))) {
                    window.__benchEnds.push(now());
                }
            });
        }
    }
    window.WebSocket = Counted;
})();"""


def _finished_counter() -> str:
    """A page script counting finished script runs as their messages arrive on the web socket.

    Only the top level of each ForwardMsg is read: its `script_finished` field with the value
    FINISHED_SUCCESSFULLY, or FINISHED_FRAGMENT_RUN_SUCCESSFULLY for a fragment's own rerun (a
    run cut short by `st.rerun` is not finished; the next one is).
    """
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    fields = ForwardMsg.DESCRIPTOR.fields_by_name
    return (
        COUNTER.replace("NEW_SESSION", str(fields["new_session"].number))
        .replace("FIELD", str(fields["script_finished"].number))
        .replace("FINISHED ||", f"{ForwardMsg.FINISHED_SUCCESSFULLY} ||")
        .replace("FRAGMENT;", f"{ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY};")
    )


@dataclasses.dataclass(frozen=True)
class Split:
    """Where one interaction's time went, in milliseconds."""

    total: float
    waiting: float
    """From the action to the first script run starting (a page load: loading the page)."""
    running: float
    """From that run starting to the last run's finished message (our script, every rerun)."""
    drawing: float
    """From the finished message to the page idle (the browser drawing what is left)."""


class Watch:
    """Waits for a page to settle: a script run finished since a count, then idle."""

    def __init__(self, page: Any) -> None:
        self.page = page

    @property
    def finished(self) -> int:
        return int(self.page.evaluate("(window.__benchEnds || []).length"))

    def settle(self, after: int, heading: str | None = None) -> None:
        """Wait for a run finished since `after` (0 after a navigation: the count starts
        again), an idle page and the heading (if given)."""
        self.page.wait_for_function(
            f"(after) => (window.__benchEnds || []).length > after && ({IDLE})()",
            arg=after,
            timeout=SETTLE_DEADLINE * 1000,
        )
        if heading is not None:
            self.page.get_by_role("heading", name=heading).first.wait_for(
                state="visible", timeout=SETTLE_DEADLINE * 1000
            )

    def split(self, started_at: float, settled_at: float, starts_after: int) -> Split:
        """The split of an interaction that began at `started_at` (epoch ms)."""
        starts, ends = self.page.evaluate("[window.__benchStarts, window.__benchEnds]")
        first = next((t for t in starts[starts_after:] if t >= started_at), ends[-1])
        return Split(
            total=settled_at - started_at,
            waiting=first - started_at,
            running=ends[-1] - first,
            drawing=settled_at - ends[-1],
        )


def _timed(
    watch: Watch,
    action: Callable[[], None],
    heading: str | None = None,
    *,
    navigation: bool = False,
    splits: list[Split] | None = None,
) -> float:
    """Milliseconds from the action to the page settled (a navigation counts runs afresh)."""
    before = 0 if navigation else watch.finished
    starts = 0 if navigation else int(watch.page.evaluate("window.__benchStarts.length"))
    started_at = time.time() * 1000
    start = time.perf_counter()
    action()
    watch.settle(before, heading)
    elapsed = (time.perf_counter() - start) * 1000
    if splits is not None:
        splits.append(watch.split(started_at, started_at + elapsed, starts))
    return elapsed


def _open(browser: Any, outside: list[str]) -> tuple[Any, Any, Watch]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(SETTLE_DEADLINE * 1000)

    # Noted, not intercepted: routing every request through Playwright added ~0.8 s to
    # each page load. Nothing leaves this machine here (no route out), so a request out fails.
    context.on(
        "request",
        lambda request: outside.append(request.url) if OUTSIDE.match(request.url) else None,
    )
    context.add_init_script(_finished_counter())
    page = context.new_page()
    return context, page, Watch(page)


QUIET = """() => new Promise((done) => {
    requestAnimationFrame(() => requestIdleCallback(() => done(true), {timeout: 5000}));
})"""


def _quiet(page: Any) -> None:
    """Untimed: let the browser finish what a page load started (fonts, lazily loaded
    widget code, layout) so the next timed action does not wait behind it."""
    page.wait_for_load_state("networkidle")
    page.evaluate(QUIET)


def _goto(watch: Watch, url: str, heading: str | None = None) -> None:
    watch.page.goto(url, wait_until="commit")
    watch.settle(0, heading)
    _quiet(watch.page)


def _by_key(page: Any, key: str) -> Any:
    return page.locator(f".st-key-{key.replace('.', '-')}")


def _fill_evidence(page: Any, key: str, day: dt.date, number: int) -> None:
    """Fill the add-evidence form as a person does (untimed): date, what it shows, reference."""
    page.get_by_role("spinbutton", name="day, Date observed").first.click()
    page.keyboard.type(f"{day:%d%m%Y}")
    page.keyboard.press("Tab")
    _by_key(page, f"{key}.shows").get_by_role("textbox").fill(
        f"Form tutor saw her settled in lessons, week {number}."
    )
    _by_key(page, f"{key}.record_ref").get_by_role("textbox").fill(f"EDU-OBS-{number:04d}")


@dataclasses.dataclass
class Side:
    """One side of a comparison: the app or the floor, in its own browser context."""

    context: Any
    page: Any
    watch: Watch
    times: list[float] = dataclasses.field(default_factory=list)
    splits: list[Split] = dataclasses.field(default_factory=list)

    def keep(self, elapsed: float, splits: list[Split]) -> None:
        self.times.append(elapsed)
        self.splits.extend(splits)


@dataclasses.dataclass
class Samples:
    subject: Side
    floor: Side


def _p90(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=10, method="inclusive")[-1]


def _row(
    name: str,
    samples: Samples,
    floor_name: str,
    *,
    target: float | None,
    limit_ms: float | None,
) -> Measurement:
    return Measurement(
        name=name,
        subject_ms=statistics.median(samples.subject.times),
        floor_name=floor_name,
        floor_ms=statistics.median(samples.floor.times),
        target=target,
        limit_ms=limit_ms,
        subject_p90_ms=_p90(samples.subject.times),
        floor_p90_ms=_p90(samples.floor.times),
    )


@dataclasses.dataclass
class Setup:
    folder: Path
    db: Path
    provider_port: int
    issuer: str
    ids: dict[str, int]
    review: int
    evidence_review: int
    pages: Pages
    floor_url: str
    today: dt.date


def prepare(folder: Path) -> Setup:
    from closure_readiness.demo.seed import seed

    today = dt.datetime.now(dt.UTC).date()
    provider_port = free_port()
    issuer = f"http://127.0.0.1:{provider_port}"
    db = folder / "demo" / "closure-readiness-demo.db"
    db.parent.mkdir()
    ids = seed(db, issuer=issuer, today=today)
    review, evidence_review = ids["draft_new"], ids["re_referral"]
    _add_first_evidence(db, issuer=issuer, review_id=evidence_review, today=today)
    copy = folder / "apptest" / "closure-readiness.db"
    copy.parent.mkdir()
    shutil.copyfile(db, copy)
    found = read_pages(copy, issuer=issuer, review=review, evidence_review=evidence_review)
    if min(found.open_findings, found.evidence_open_findings) < MANY:
        raise RuntimeError("the measured reviews no longer have many open findings")
    script = folder / "floor.py"
    script.write_text(floor_source(found, review=review), encoding="utf-8")
    floor_url = start_floor(script, folder)
    return Setup(
        folder=folder,
        db=db,
        provider_port=provider_port,
        issuer=issuer,
        ids=ids,
        review=review,
        evidence_review=evidence_review,
        pages=found,
        floor_url=floor_url,
        today=today,
    )


def _sign_in(watch: Watch, demo: Demo) -> None:
    """Sign in as a person does, up to the app's first page idle: Sign in, the account on the
    provider's page, back to the app."""
    page = watch.page
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{demo.provider}/**", wait_until="commit")
    page.get_by_role("button", name=ACCOUNT, exact=True).click()
    page.wait_for_url(f"{demo.url}/**", wait_until="commit")
    watch.settle(0, "My reviews")


def _side(browser: Any, outside: list[str]) -> Side:
    context, page, watch = _open(browser, outside)
    return Side(context, page, watch)


def _signed_in(browser: Any, demo: Demo, outside: list[str]) -> Side:
    side = _side(browser, outside)
    _goto(side.watch, demo.url, "Closure Readiness")
    _sign_in(side.watch, demo)
    return side


def _alternate(
    samples: Samples,
    rounds: int,
    action: Callable[[Side, int], None],
    *,
    before: Callable[[Side, str, int], None] | None = None,
    heading: str | None = None,
    navigation: bool = False,
) -> None:
    """`rounds` timed actions on each side, the floor first, after one untimed warm-up each.

    `before(side, which, index)` runs untimed before each action (`which`: "app", "floor").
    """
    for index in range(rounds + 1):
        for which, side in (("floor", samples.floor), ("app", samples.subject)):
            if before is not None:
                before(side, which, index)
            side.page.evaluate(QUIET)
            time.sleep(PAUSE)
            splits: list[Split] = []
            elapsed = _timed(
                side.watch,
                functools.partial(action, side, index),
                heading,
                navigation=navigation,
                splits=splits,
            )
            if index:
                side.keep(elapsed, splits)


def measure_sign_in(browser: Any, setup: Setup, demo: Demo, rounds: int) -> Samples:
    """Sign-in with a warm browser cache (cookies cleared each time), against a page load of
    the floor's copy of the page it lands on."""
    outside: list[str] = []
    samples = Samples(subject=_side(browser, outside), floor=_side(browser, outside))
    landing = f"{setup.floor_url}/my_reviews"

    def signed_out(side: Side, which: str, _index: int) -> None:
        if which == "app":
            side.context.clear_cookies()
            _goto(side.watch, demo.url, "Closure Readiness")

    def act(side: Side, _index: int) -> None:
        if side is samples.subject:
            _sign_in(side.watch, demo)
        else:
            side.page.goto(landing, wait_until="commit")

    try:
        _alternate(samples, rounds, act, before=signed_out, heading="My reviews", navigation=True)
    finally:
        samples.subject.context.close()
        samples.floor.context.close()
    return samples


def measure_interactions(browser: Any, setup: Setup, demo: Demo, rounds: int) -> dict[str, Samples]:
    """Step switch, checkbox, page load and adding evidence: the app and the floor in turn."""
    found, review, evidence = setup.pages, setup.review, setup.evidence_review
    outside: list[str] = []
    app, floor = _signed_in(browser, demo, outside), _side(browser, outside)
    base = {"app": demo.url, "floor": setup.floor_url}
    results: dict[str, Samples] = {}

    def fresh(app_side: Side, floor_side: Side) -> Samples:
        return Samples(
            subject=Side(app_side.context, app_side.page, app_side.watch),
            floor=Side(floor_side.context, floor_side.page, floor_side.watch),
        )

    def open_step(samples: Samples, review_id: int, step: str, heading: str) -> None:
        for which, side in (("floor", samples.floor), ("app", samples.subject)):
            _goto(side.watch, f"{base[which]}/review?review={review_id}&step={step}", heading)

    try:
        # A step switch: task list -> theme step (the task list opened, untimed, each time).
        task_button = f"r.{review}.g0.task.{THEME}"
        results["switch"] = samples = fresh(app, floor)

        def task_list(side: Side, which: str, _index: int) -> None:
            url = f"{base[which]}/review?review={review}&step=tasks"
            _goto(side.watch, url, found.tasks_heading)

        _alternate(
            samples,
            rounds,
            lambda side, _: _by_key(side.page, task_button).get_by_role("button").click(),
            before=task_list,
            heading=found.theme_heading,
        )
        # A checkbox on the theme step (the app saves it at once).
        results["checkbox"] = samples = fresh(app, floor)
        open_step(samples, review, THEME, found.theme_heading)
        _alternate(samples, rounds, lambda side, _: side.page.get_by_text(CHECKBOX).click())
        # A full page load of the review page (its task list).
        results["reload"] = samples = fresh(app, floor)
        open_step(samples, review, "tasks", found.tasks_heading)
        _alternate(
            samples,
            rounds,
            lambda side, _: side.page.reload(wait_until="commit"),
            heading=found.tasks_heading,
            navigation=True,
        )
        # The least any page load costs here: a page with one heading, on the floor server.
        least = Side(floor.context, floor.page, floor.watch)
        _goto(least.watch, f"{setup.floor_url}/start_review", "Another page")
        for index in range(rounds + 1):
            least.page.evaluate(QUIET)
            time.sleep(PAUSE)
            splits: list[Split] = []
            elapsed = _timed(
                least.watch,
                lambda: least.page.reload(wait_until="commit"),
                "Another page",
                navigation=True,
                splits=splits,
            )
            if index:
                least.keep(elapsed, splits)
        results["least"] = Samples(subject=least, floor=least)
        # Adding evidence on a review with many open findings (the form filled untimed).
        results["evidence"] = samples = fresh(app, floor)
        open_step(samples, evidence, "evidence", found.evidence_heading)
        form = f"r.{evidence}.g0.evidence.add"

        def filled(side: Side, _which: str, index: int) -> None:
            _fill_evidence(side.page, form, setup.today - dt.timedelta(days=2), index + 2)

        _alternate(
            samples,
            rounds,
            lambda side, _: side.page.get_by_role("button", name="Add evidence").click(),
            before=filled,
        )
    finally:
        app.context.close()
        floor.context.close()
    _check_evidence_added(setup, rounds + 1)
    if outside:
        hosts = sorted({url.split("/")[2] for url in outside if "//" in url})
        _say(f"{len(outside)} requests left 127.0.0.1 (to {', '.join(hosts)})")
    return results


def _check_evidence_added(setup: Setup, expected: int) -> None:
    """Every measured add was stored: the benchmark timed real saves, not refusals."""
    from closure_readiness.service import reviews, staff
    from closure_readiness.service.context import Context

    ctx = Context(setup.db)
    worker = staff.identify(ctx, issuer=setup.issuer, subject=ACCOUNT)
    stored = len(reviews.get_review(ctx, worker, setup.evidence_review).review.evidence)
    if stored != 1 + expected:
        raise RuntimeError(f"{stored - 1} of {expected} evidence items were stored")


@dataclasses.dataclass
class Clicks:
    samples: Samples
    rss_before: float
    rss_after: float


def measure_clicks(browser: Any, setup: Setup, demo: Demo, clicks: int) -> Clicks:
    """`clicks` checkbox clicks on the theme step (as many on the floor, alternating): the
    times, and the Streamlit server's resident memory before and after."""
    outside: list[str] = []
    samples = Samples(subject=_signed_in(browser, demo, outside), floor=_side(browser, outside))
    review = setup.review
    try:
        for url, side in ((demo.url, samples.subject), (setup.floor_url, samples.floor)):
            _goto(
                side.watch, f"{url}/review?review={review}&step={THEME}", setup.pages.theme_heading
            )
        for _ in range(3):  # warm-up
            _timed(samples.subject.watch, samples.subject.page.get_by_text(CHECKBOX).click)
        pid = demo.server_pid
        before = _rss_mib(pid) if pid else float("nan")
        _alternate(samples, clicks - 1, lambda side, _: side.page.get_by_text(CHECKBOX).click())
        after = _rss_mib(pid) if pid else float("nan")
    finally:
        samples.subject.context.close()
        samples.floor.context.close()
    return Clicks(samples, before, after)


def _split_median(splits: list[Split]) -> str:
    parts = [statistics.median(getattr(s, name) for s in splits) for name in Split.__annotations__]
    return " | ".join(f"{value:.0f}" for value in parts)


def breakdown(named: list[tuple[str, Samples]]) -> str:
    """Where the time goes: medians of each part, for the app and the floor."""
    lines = [
        "Where the time goes (median ms): waiting = action to the first script run starting "
        "(page loads, redirects, sign-in provider), running = that run starting to the last "
        "run finished (every rerun included), drawing = finished to idle.",
        "",
        "| interaction | app total | waiting | running | drawing | floor total | waiting | "
        "running | drawing |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, samples in named:
        if samples.subject.splits and samples.floor.splits:
            lines.append(
                f"| {name} | {_split_median(samples.subject.splits)} | "
                f"{_split_median(samples.floor.splits)} |"
            )
    return "\n".join(lines)


def run(repeat: int, *, quick: bool = False) -> list[Measurement]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    rounds = 5 if quick else max(10, repeat // 10)
    clicks = 20 if quick else 150
    folder = Path(tempfile.mkdtemp(prefix="closure-bench-browser-"))
    rows: list[Measurement] = []
    named: list[tuple[str, Samples]] = []
    try:
        with _stopped_on_signals(), sync_playwright() as playwright:
            _say("seeding, reading the pages under AppTest, starting the floor app")
            setup = prepare(folder)
            found = setup.pages
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                _say("starting the demo")
                demo = start_demo(setup.db, provider_port=setup.provider_port, folder=folder)
                _say(f"sign-in x{rounds}")
                sign_in = measure_sign_in(browser, setup, demo, rounds)
                _say(f"step switch, checkbox, page load, add evidence x{rounds}")
                measured = measure_interactions(browser, setup, demo, rounds)
                gc_runs: list[tuple[str, Clicks]] = []
                if not SKIP_CLICKS:
                    _say(f"postScriptGC on: checkbox x{clicks}")
                    gc_runs.append(("on", measure_clicks(browser, setup, demo, clicks)))
                    _stop(demo.process)
                    _CHILDREN.remove(demo.process)
                    _say(f"postScriptGC off: checkbox x{clicks}")
                    demo = start_demo(
                        setup.db, provider_port=setup.provider_port, folder=folder, gc=False
                    )
                    gc_runs.append(("off", measure_clicks(browser, setup, demo, clicks)))
            finally:
                browser.close()
        many = f"{found.open_findings} open findings"
        rows.append(
            _row(
                "sign-in: app, provider, app idle",
                sign_in,
                "bare page load, same elements",
                target=None,
                limit_ms=2000,
            )
        )
        named.append(("sign-in", sign_in))
        for key, name, floor_name in (
            ("switch", f"step switch: task list -> {THEME} ({many})", "bare step switch"),
            ("checkbox", f"checkbox on the {THEME} step, saved ({many})", "bare checkbox"),
            (
                "evidence",
                f"add evidence ({found.evidence_open_findings} open findings)",
                "bare form submit",
            ),
            ("reload", f"page load: review task list ({many})", "bare page load"),
        ):
            rows.append(_row(name, measured[key], floor_name, target=1.5, limit_ms=1000))
            named.append((key, measured[key]))
        rows.append(
            _row(
                "page load: one heading, bare (the least a page load costs)",
                measured["least"],
                "the same",
                target=None,
                limit_ms=None,
            )
        )
        for label, measured_clicks in gc_runs:
            rows.append(
                _row(
                    f"postScriptGC {label}: checkbox x{clicks}, server memory "
                    f"{measured_clicks.rss_before:.0f} -> {measured_clicks.rss_after:.0f} MiB",
                    measured_clicks.samples,
                    "bare checkbox (GC on)",
                    target=None,
                    limit_ms=None,
                )
            )
            named.append((f"checkbox, postScriptGC {label}", measured_clicks.samples))
        print(breakdown(named), end="\n\n", flush=True)
    finally:
        stop_all()
        shutil.rmtree(folder, ignore_errors=True)
    return rows
