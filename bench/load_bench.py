"""Many signed-in people at once on the real server, over its web socket, with no browser.

`python -m bench load --sessions N --seconds S` starts the demo (`closure-readiness demo` on a
seeded database, with its local sign-in provider), signs N sessions in through that provider
over HTTP as a browser does (the app's Sign in button, Streamlit's /auth/login, the account
picked on the provider's page, the callback setting Streamlit's sign-in cookie), then opens
Streamlit's web socket (/_stcore/stream) for each, with the sign-in and XSRF cookies, and
drives the pages with Streamlit's own messages: a page is asked for with `rerun_script`
(its address and widget values) and is done when `script_finished` arrives.

Session i works as `ROLES[i % 6]`: half are caseworkers, each on draft reviews of their own
(open the family step, change an answer: a checkbox; open the evidence step, add an evidence
item; the next draft after `DRAFT_ITEMS` items, as a review has 5-30); a third are auditors
(search the decisions for a word, open a decision, fetch its record as a PDF: the download's
address asked for as the page does, then the file fetched over HTTP); a sixth are managers,
each with sign-offs of their own waiting (open the queue, open a sign-off, countersign it).
Each session waits `THINK` seconds (0.5-1.5, at random) between actions, as a person does.
Sign-in is timed but not part of the load window.

Reported per kind of page: p50/p95/max latency, errors (an exception on the page, "database is
locked" anywhere, our app's plain database fault line, a closed socket, a page that never
finished), the elements drawn, acknowledged writes against what the database holds afterwards
(read through the service), and the Streamlit server's resident memory every `RSS_EVERY`
seconds. A write is acknowledged as the person sees it: an answer change whose run finished
with no problem or fault shown (the app saves as a change is made and speaks only when it
could not; the stored review must hold the last acknowledged answer, and the next visit to
the step must show it), an evidence item whose reference appears in the redrawn register, a
countersign that says "Closure approved".

The floor: the same sessions doing the same actions, at the same concurrency and for as long
(in `ROUNDS` turns alternating with the app's, so a busy shared machine slows both alike,
after `WARMUP` seconds of untimed work on each),
against a bare Streamlit script drawing the same elements as the app's real pages (read under
AppTest on a copy of the same database; bench/browser_bench.py `FloorScript`), started from the
same folder so with the same `.streamlit/config.toml`, its long-lived heap frozen as the app's
is (views/heap.py; without it the floor paid ~100 ms more per run in `postScriptGC` than the
app). Its PDF is the app's own file, made once, handed to a download button with no checks.
The floor's sign-in is opening the socket (it has none): that row has no ratio. The ratio
is p95 / floor p95.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import pickle
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench.browser_bench import (
    APP,
    FLOOR_HELPERS,
    ICON,
    ROOT,
    FloorScript,
    _rss_mib,
    _spawn,
    _stopped_on_signals,
    _wait_healthy,
    start_demo,
    start_floor,
    stop_all,
)
from bench.harness import Measurement, free_port
from bench.pdf_bench import skeleton
from bench.postgres_cluster import Cluster
from closure_readiness.core.location import PostgresURL, Store
from closure_readiness.storage.database import reading, release

THINK = (0.5, 1.5)
"""Seconds a session waits between two actions (at random in this range), as a person does."""
DRAFT_ITEMS = 25
"""A caseworker moves to their next draft (their next case) after adding this many evidence
items: a real review has 5-30, and a draft that grew without end made the server's memory grow
with it over a soak."""
RSS_EVERY = 5.0
"""Seconds between two readings of the Streamlit server's resident memory."""
PAGE_DEADLINE = 120.0
"""Seconds a page may take before it counts as an error (the socket is opened again)."""
TARGET = 2.0
"""The issue's target: p95 within 2x the floor at the same concurrency."""
CHECKBOX = "Impact on other children considered"
FIELD = "siblings_considered"
"""The answer the checkbox holds, in the family step's answers."""
WORDS = ("school", "police", "youth", "mother", "college", "health")
"""Words the auditors search the decisions for (all in the seeded reviews)."""
CASEWORKER, MANAGER, AUDITOR = "caseworker", "manager", "auditor"
ROLES = (CASEWORKER, AUDITOR, MANAGER, CASEWORKER, CASEWORKER, AUDITOR)
"""Session i works as ROLES[i % 6]: half caseworkers, a third auditors, a sixth managers (2
sessions: a caseworker and an auditor; 3: one of each)."""
APPROVE = "Approve the closure (countersign)"
XSRF = "_streamlit_xsrf"
FAULT_ICON = ":material/database:"
"""The icon of our app's plain line for a database fault (views/session.py)."""
KEEP_IDLE = 2.0
"""Seconds a session keeps an idle HTTP connection for its next fetch. The server (uvicorn,
under Streamlit) closes one idle for 5 s, httpx's default: a fetch that reused a connection
at that moment found it closed ("Server disconnected without sending a response", a
`ReadError`), where a browser sends the request again on a new one."""

KINDS = (
    "sign-in",
    "open a review step",
    "change an answer (saved)",
    "add evidence (saved)",
    "search decisions",
    "open a decision",
    "fetch the decision PDF",
    "open the queue",
    "open a sign-off waiting",
    "countersign (saved)",
)


def _say(message: str) -> None:
    print(f"load bench: {message}", file=sys.stderr, flush=True)


def roles_for(sessions: int) -> list[str]:
    return [ROLES[index % len(ROLES)] for index in range(sessions)]


def processes_for(roles: list[str], processes: int) -> list[int]:
    """The server process each session stays with: each role's sessions in turn across the
    processes, so each process serves the council's mix, as the proxy's hash of a random
    cookie does on average (decision #63). (Session i on process i mod N put every manager on
    the first of two processes beside two thirds of the caseworkers and no auditor: the period
    of ROLES is even.)"""
    seen: dict[str, int] = {}
    placed = []
    for role in roles:
        placed.append(seen.get(role, 0) % processes)
        seen[role] = seen.get(role, 0) + 1
    return placed


# One session over the web socket --------------------------------------------------------------


class PageFailed(Exception):
    """A page that did not finish: the socket closed, or it took longer than the deadline."""


@dataclasses.dataclass
class Drawn:
    """What the last script run drew, by delta path: (element kind, element, fragment id)."""

    elements: dict[tuple[int, ...], tuple[str, Any, str]] = dataclasses.field(default_factory=dict)
    raw: list[bytes] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    auth_redirect: str = ""

    def widgets(self, kind: str, label: str) -> list[tuple[Any, str]]:
        return [
            (getattr(element, kind), fragment)
            for found, element, fragment in self.elements.values()
            if found == kind and getattr(element, kind).label.startswith(label)
        ]

    def widget(self, kind: str, label: str) -> tuple[Any, str]:
        found = self.widgets(kind, label)
        if not found:
            raise LookupError(f"no {kind} labelled {label!r} on the page")
        return found[0]

    def shows(self, text: str) -> bool:
        needle = text.encode()
        return any(needle in frame for frame in self.raw)

    def problems(self) -> list[str]:
        """Error boxes on the page (a refused change's "There is a problem", a fault line)."""
        return [
            element.alert.body
            for kind, element, _ in self.elements.values()
            if kind == "alert" and element.alert.format == element.alert.ERROR
        ]


def _errors_in(element: Any, kind: str) -> list[str]:
    if kind == "exception":
        return ["an exception on the page"]
    found = []
    if kind == "alert" and element.alert.icon == FAULT_ICON:
        found.append(f"database fault line: {element.alert.body[:80]}")
    body = ""
    with contextlib.suppress(AttributeError, ValueError):
        body = str(getattr(element, kind).body)
    if "database is locked" in body.lower():
        found.append("database is locked")
    return found


class Session:
    """One person's tab: an HTTP client (cookies) and Streamlit's web socket."""

    def __init__(self, base: str, http: Any) -> None:
        self.base = base
        self.http = http
        self.socket: Any = None
        self.page_hash = ""
        self.query = ""
        self.pages: dict[str, str] = {}
        self.widgets: dict[str, Any] = {}
        self.drawn = Drawn()
        self.session_id = ""

    async def open(self) -> None:
        import websockets

        if self.socket is not None:
            with contextlib.suppress(Exception):
                await self.socket.close()
        if XSRF not in self.http.cookies:
            await self.http.get(f"{self.base}/_stcore/health")
        xsrf = self.http.cookies[XSRF]
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies.jar)
        address = self.base.replace("http://", "ws://") + "/_stcore/stream"
        self.socket = await websockets.connect(
            address,
            subprotocols=["streamlit", xsrf],  # type: ignore[list-item]
            additional_headers={"Cookie": cookies},
            origin=self.base,  # type: ignore[arg-type]
            max_size=None,
            ping_interval=None,
            compression=None,
        )
        self.widgets = {}

    async def close(self) -> None:
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await self.socket.close()

    async def _send(self, message: Any) -> None:
        try:
            await self.socket.send(message.SerializeToString())
        except Exception as error:
            raise PageFailed(f"the socket closed ({type(error).__name__})") from error

    async def _receive(self) -> Any:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            frame = await self.socket.recv()
        except Exception as error:
            raise PageFailed(f"the socket closed ({type(error).__name__})") from error
        message = ForwardMsg()
        message.ParseFromString(frame)
        self.drawn.raw.append(frame)
        return message

    def _note(self, message: Any) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.drawn.elements.clear()
            self.session_id = message.new_session.initialize.session_id or self.session_id
            for page in message.new_session.app_pages:
                self.pages[page.url_pathname] = page.page_script_hash
            self.page_hash = message.new_session.page_script_hash or self.page_hash
        elif kind == "navigation":
            self.page_hash = message.navigation.page_script_hash or self.page_hash
            for page in message.navigation.app_pages:
                self.pages[page.url_pathname] = page.page_script_hash
        elif kind == "page_info_changed":
            self.query = message.page_info_changed.query_string
        elif kind == "auth_redirect":
            self.drawn.auth_redirect = message.auth_redirect.url
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            element_kind = element.WhichOneof("type") or ""
            path = tuple(message.metadata.delta_path)
            self.drawn.elements[path] = (element_kind, element, message.delta.fragment_id)
            self.drawn.errors.extend(_errors_in(element, element_kind))

    async def rerun(
        self,
        *,
        page: str | None = None,
        query: str | None = None,
        trigger: str = "",
        fragment: str = "",
    ) -> Drawn:
        """A script run (a page load when `page` is given, else a rerun of this page with the
        widget values set): what it drew, once its last run has finished."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        state = message.rerun_script
        if page is not None:
            self.widgets = {}
            self.query = query or ""
            state.page_name = page
            state.page_script_hash = self.pages.get(page, "")
        else:
            state.page_script_hash = self.page_hash
            state.fragment_id = fragment
        state.query_string = self.query
        for widget in self.widgets.values():
            state.widget_states.widgets.append(widget)
        if trigger:
            pressed = state.widget_states.widgets.add()
            pressed.id = trigger
            pressed.trigger_value = True
        self.drawn = Drawn(elements={} if page is not None else dict(self.drawn.elements))
        await self._send(message)
        done = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
        while True:
            received = await self._receive()
            self._note(received)
            if received.WhichOneof("type") == "script_finished":
                if received.script_finished in done:
                    return self.drawn
                if received.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    self.drawn.errors.append("the script did not compile")
                    return self.drawn
            elif self.drawn.auth_redirect:
                return self.drawn

    def set(self, widget_id: str, **value: Any) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        state = WidgetState(id=widget_id)
        ((name, given),) = value.items()
        if name == "string_array_value":
            state.string_array_value.data.extend(given)
        else:
            setattr(state, name, given)
        self.widgets[widget_id] = state

    async def download(self, file_id: str) -> int:
        """A deferred download as the page asks for it: its address, then the file. Bytes."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        request = message.backend_operation_request
        request.request_id = f"load-{random.getrandbits(48):x}"
        request.session_id = self.session_id
        request.deferred_file.file_id = file_id
        await self._send(message)
        while True:
            received = await self._receive()
            if received.WhichOneof("type") == "backend_operation_response":
                answer = received.backend_operation_response
                if answer.request_id != request.request_id:
                    continue
                if answer.error_msg:
                    raise PageFailed(f"the download failed: {answer.error_msg[:80]}")
                url = answer.deferred_file.url
                break
            self._note(received)
        fetched = await self.http.get(urllib.parse.urljoin(self.base + "/", url.lstrip("/")))
        if fetched.status_code != 200:
            raise PageFailed(f"the download answered {fetched.status_code}")
        return len(fetched.content)

    async def sign_in(self, account: str) -> None:
        """As a browser: the app's Sign in button, the provider's page, back to the app."""
        await self.open()
        drawn = await self.rerun(page="")
        button, _ = drawn.widget("button", "Sign in")
        drawn = await self.rerun(trigger=button.id)
        if not drawn.auth_redirect:
            raise PageFailed("the Sign in button did not send the browser to sign in")
        login = urllib.parse.urljoin(self.base + "/", drawn.auth_redirect.lstrip("/"))
        answer = await self.http.get(login)
        authorize = answer.headers["location"]
        answer = await self.http.post(authorize, data={"sub": account})
        callback = answer.headers["location"]
        answer = await self.http.get(callback)
        if answer.status_code not in (302, 303, 307) or "_streamlit_user" not in str(
            answer.headers.get_list("set-cookie")
        ):
            raise PageFailed(f"the sign-in callback answered {answer.status_code}")
        await self.open()
        self.pages, self.page_hash, self.query = {}, "", ""


# The load ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Tally:
    times: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    errors: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    acknowledged: int = 0
    attempted: int = 0
    unacknowledged: list[str] = dataclasses.field(default_factory=list)
    refs: dict[int, list[str]] = dataclasses.field(default_factory=dict)
    """Evidence references the app acknowledged, by review."""
    answers: dict[int, bool] = dataclasses.field(default_factory=dict)
    """The last answer the app acknowledged, by review."""
    answer_acks: dict[int, int] = dataclasses.field(default_factory=dict)
    """How many answer changes the app acknowledged, by review."""
    approved: list[int] = dataclasses.field(default_factory=list)
    """Decisions the app said were approved."""

    drawn: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    """Elements each finished page had drawn, by kind of page (to compare with the floor)."""

    def took(self, kind: str, seconds: float) -> None:
        self.times.setdefault(kind, []).append(seconds * 1000)

    def failed(self, kind: str, why: str) -> None:
        self.errors.setdefault(kind, []).append(why)


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the sessions work on: draft reviews for each caseworker, decisions to open."""

    reviews: list[int]
    """Each caseworker's first draft."""
    decisions: list[int]
    day: dt.date
    waiting: list[list[int]] = dataclasses.field(default_factory=list)
    """Sign-offs waiting for a manager, a list for each manager session."""
    later: list[list[int]] = dataclasses.field(default_factory=list)
    """Each caseworker's next drafts, taken in turn every DRAFT_ITEMS evidence items."""

    def drafts(self, caseworker: int) -> list[int]:
        """The drafts caseworker number `caseworker` works on, in order."""
        later = self.later[caseworker] if caseworker < len(self.later) else []
        return [self.reviews[caseworker], *later]


class Worker:
    """One session's loop: actions until the end, each timed, checked and tallied."""

    def __init__(self, session: Session, tally: Tally, index: int, floor: bool) -> None:
        self.session, self.tally, self.index, self.floor = session, tally, index, floor
        self.written = 0
        self.evidence_next = False
        """A caseworker whose turn ended after the answer change adds evidence first."""

    async def timed(self, kind: str, action: Callable[[], Awaitable[Drawn | None]]) -> Any:
        import httpx

        start = time.perf_counter()
        try:
            drawn = await asyncio.wait_for(action(), PAGE_DEADLINE)
        except httpx.TransportError as error:
            # A download's connection closed under it: an error of that page, counted and
            # shown, never the end of the run (a soak lost its numbers to one).
            self.tally.failed(kind, f"the connection failed: {type(error).__name__}: {error}")
            return None
        except (PageFailed, TimeoutError) as error:
            self.tally.failed(kind, str(error) or "the page never finished")
            with contextlib.suppress(Exception):
                await self.session.open()  # a person reloads the tab
            return None
        except LookupError as error:
            self.tally.failed(kind, f"not drawn: {error}")
            return None
        self.tally.took(kind, time.perf_counter() - start)
        if isinstance(drawn, Drawn):
            self.tally.drawn.setdefault(kind, []).append(len(drawn.elements))
        if isinstance(drawn, Drawn) and drawn.errors:
            for why in drawn.errors:
                self.tally.failed(kind, why)
            return None
        return drawn if drawn is not None else True

    async def caseworker(self, drafts: list[int], plan: Plan, until: float) -> None:
        session, tally = self.session, self.tally
        while time.monotonic() < until:
            # The next case once this draft has a real review's evidence (DRAFT_ITEMS).
            review = drafts[min(self.written // DRAFT_ITEMS, len(drafts) - 1)]
            if self.evidence_next:  # where the last turn stopped
                self.evidence_next = False
                await self.add_evidence(review, plan)
                continue
            query = f"review={review}&step=family"
            drawn = await self.timed(
                "open a review step", partial(session.rerun, page="review", query=query)
            )
            await _think()
            boxes = drawn.widgets("checkbox", CHECKBOX) if drawn is not None else []
            if drawn is not None and not boxes:
                tally.failed("open a review step", f"no checkbox {CHECKBOX!r} drawn")
            if boxes:
                box, fragment = boxes[0]
                if not self.floor and box.default != tally.answers.get(review, box.default):
                    tally.failed("open a review step", "a saved answer was not shown again")
                value = not box.default
                session.set(box.id, bool_value=value)
                tally.attempted += 1
                changed = await self.timed(
                    "change an answer (saved)", partial(session.rerun, fragment=fragment)
                )
                # The app saves a change as it is made and says so only when it could not:
                # a run that finished with no problem and no fault shown is the save done.
                if changed is not None and not changed.problems():
                    tally.acknowledged += 1
                    tally.answers[review] = value
                    tally.answer_acks[review] = tally.answer_acks.get(review, 0) + 1
                elif changed is not None:
                    tally.unacknowledged.append(f"answer: {changed.problems()[0][:80]}")
                await _think()
            if time.monotonic() >= until:
                self.evidence_next = True
                break
            await self.add_evidence(review, plan)

    async def add_evidence(self, review: int, plan: Plan) -> None:
        """Open the evidence step and add an item through its form."""
        session, tally = self.session, self.tally
        query = f"review={review}&step=evidence"
        drawn = await self.timed(
            "open a review step", partial(session.rerun, page="review", query=query)
        )
        await _think()
        if drawn is None:
            return
        self.written += 1
        ref = f"LOAD-{self.index:03d}-{self.written:04d}"
        try:
            submit = self.fill_evidence(drawn, ref, plan.day)
        except LookupError as error:
            tally.failed("add evidence (saved)", f"not drawn: {error}")
            return
        tally.attempted += 1
        added = await self.timed("add evidence (saved)", partial(session.rerun, trigger=submit))
        if added is not None and added.shows(ref) and not added.problems():
            tally.acknowledged += 1
            tally.refs.setdefault(review, []).append(ref)
        elif added is not None:
            tally.unacknowledged.append(
                f"evidence: shown {added.shows(ref)}, problems {added.problems()[:1]}"
            )
        await _think()

    def fill_evidence(self, drawn: Drawn, ref: str, day: dt.date) -> str:
        """Type the add-evidence form's date, what it shows and the reference (the fields of
        that form, not those of the items above it); the form's submit button id."""
        session = self.session
        buttons = [
            button
            for button, _ in drawn.widgets("button", "Add evidence")
            if button.is_form_submitter
        ]
        if not buttons:
            raise LookupError("no 'Add evidence' button")
        form = buttons[-1].form_id

        def field(kind: str, label: str) -> Any:
            found = [w for w, _ in drawn.widgets(kind, label) if w.form_id == form]
            return found[-1] if found else None

        date = field("date_input", "Date observed")
        if date is not None:
            session.set(date.id, string_array_value=[f"{day:%Y/%m/%d}"])
        else:
            typed = field("text_input", "Date observed")
            if typed is None:
                raise LookupError("no date field in the add-evidence form")
            session.set(typed.id, string_value=f"{day:%d/%m/%Y}")
        shows = field("text_area", "What it shows") or field("text_input", "What it shows")
        if shows is None:
            raise LookupError("no 'What it shows' field in the add-evidence form")
        session.set(shows.id, string_value=f"Seen settled at school, note {ref}.")
        reference = field("text_input", "Case record reference")
        if reference is None:
            raise LookupError("no 'Case record reference' field in the add-evidence form")
        session.set(reference.id, string_value=ref)
        return str(buttons[-1].id)

    async def auditor(self, plan: Plan, until: float) -> None:
        session = self.session
        rng = random.Random(self.index)
        while time.monotonic() < until:
            drawn = await self.timed(
                "search decisions", partial(session.rerun, page="decisions", query="")
            )
            await _think()
            if drawn is not None:
                try:
                    text, _ = drawn.widget("text_input", "Search answers and evidence")
                    found = drawn.widgets("button", "Search")
                    search = next(b.id for b, _ in found if b.is_form_submitter)
                    session.set(text.id, string_value=rng.choice(WORDS))
                    await self.timed("search decisions", partial(session.rerun, trigger=search))
                except (LookupError, StopIteration) as error:
                    self.tally.failed("search decisions", f"not drawn: {error}")
                await _think()
            decision = rng.choice(plan.decisions)
            drawn = await self.timed(
                "open a decision",
                partial(session.rerun, page="decision", query=f"decision={decision}"),
            )
            await _think()
            if drawn is not None:
                pdf = drawn.widgets("download_button", "Download the decision record")
                if not pdf or not pdf[0][0].deferred_file_id:
                    self.tally.failed("fetch the decision PDF", "no download button drawn")
                else:
                    file_id = pdf[0][0].deferred_file_id
                    await self.timed(
                        "fetch the decision PDF", partial(_fetch_pdf, session, file_id)
                    )
                await _think()

    async def manager(self, waiting: list[int], plan: Plan, until: float) -> None:
        session, tally = self.session, self.tally
        rng = random.Random(self.index)
        while time.monotonic() < until:
            await self.timed("open the queue", partial(session.rerun, page="queue", query=""))
            await _think()
            decision = waiting.pop(0) if waiting else rng.choice(plan.decisions)
            drawn = await self.timed(
                "open a sign-off waiting",
                partial(session.rerun, page="decision", query=f"decision={decision}"),
            )
            await _think()
            approve = drawn.widgets("button", APPROVE) if drawn is not None else []
            if approve and not approve[0][0].disabled:
                tally.attempted += 1
                done = await self.timed(
                    "countersign (saved)", partial(session.rerun, trigger=approve[0][0].id)
                )
                said = done is not None and any(
                    kind == "alert" and element.alert.body.startswith("Closure approved")
                    for kind, element, _ in done.elements.values()
                )
                if said:
                    tally.acknowledged += 1
                    tally.approved.append(decision)
                elif done is not None:
                    tally.unacknowledged.append(f"countersign: {done.problems()[:1]}")
                await _think()


async def _fetch_pdf(session: Session, file_id: str) -> None:
    size = await session.download(file_id)
    if size < 100:
        raise PageFailed(f"the PDF had {size} bytes")


async def _think() -> None:
    await asyncio.sleep(random.uniform(*THINK))


async def _memory(pids: list[int], readings: list[tuple[float, float]], until: float) -> None:
    """The app's server processes' resident memory, added up, every RSS_EVERY seconds."""
    start = time.monotonic()
    while pids and time.monotonic() < until:
        with contextlib.suppress(OSError):
            readings.append((time.monotonic() - start, sum(_rss_mib(pid) for pid in pids)))
        await asyncio.sleep(RSS_EVERY)


ROUNDS = 4
"""The load window is split in this many turns each for the app and the floor, alternating,
so a busy shared machine slows both alike (the sessions stay signed in between turns)."""


WARMUP = 10.0
"""Seconds of untimed work on each server before the turns: the first visit to each page
imports its modules once per server process, a cost of starting, not of load. (Its errors
and writes still count.)"""


class Load:
    """`sessions` sessions (`roles_for`) on one server, signed in once, working in turns."""

    def __init__(self, bases: list[str], plan: Plan, sessions: int, *, floor: bool) -> None:
        import httpx

        self.plan, self.floor, self.tally = plan, floor, Tally()
        self.roles = roles_for(sessions)
        self.clients = [
            httpx.AsyncClient(
                follow_redirects=False,
                timeout=PAGE_DEADLINE,
                limits=httpx.Limits(keepalive_expiry=KEEP_IDLE),
            )
            for _ in self.roles
        ]
        # With several server processes each session stays with one, as the proxy keeps a
        # browser with one (decision #63), each process with the same mix of roles.
        placed = processes_for(self.roles, len(bases))
        self.people = [
            Session(bases[process], client)
            for process, client in zip(placed, self.clients, strict=True)
        ]
        self.workers = [
            Worker(person, self.tally, index, floor) for index, person in enumerate(self.people)
        ]
        drafts = iter(plan.drafts(n) for n in range(len(plan.reviews)))
        waiting = iter([list(w) for w in plan.waiting])
        self.work: list[Callable[[float], Awaitable[None]]] = []
        for worker, role in zip(self.workers, self.roles, strict=True):
            if role == CASEWORKER:
                self.work.append(partial(worker.caseworker, next(drafts), plan))
            elif role == MANAGER:
                self.work.append(partial(worker.manager, next(waiting), plan))
            else:
                self.work.append(partial(worker.auditor, plan))

    async def sign_in(self) -> None:
        """Signed in a few at a time, as people arrive (timed, outside the load window)."""

        async def signed_in(person: Session, role: str) -> None:
            start = time.perf_counter()
            if self.floor:
                await person.open()  # the floor has no sign-in
            else:
                await person.sign_in(role)
            self.tally.took("sign-in", time.perf_counter() - start)

        for start in range(0, len(self.people), 5):
            batch = zip(self.people[start : start + 5], self.roles[start : start + 5], strict=True)
            await asyncio.gather(*(signed_in(person, role) for person, role in batch))

    async def turn(self, seconds: float, *, timed: bool = True) -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(*(work(until) for work in self.work))
        if not timed:
            signing_in = self.tally.times.pop("sign-in", [])
            self.tally.times.clear()
            self.tally.drawn.clear()
            self.tally.times["sign-in"] = signing_in

    async def close(self) -> None:
        for person in self.people:
            await person.close()
        for client in self.clients:
            await client.aclose()


async def drive(
    app_urls: list[str],
    floor_urls: list[str],
    plan: Plan,
    *,
    sessions: int,
    seconds: float,
    pids: list[int],
) -> tuple[Tally, Tally, list[tuple[float, float]]]:
    """The load on the app and on the floor in alternating turns; the app servers' memory."""
    app = Load(app_urls, plan, sessions, floor=False)
    floor = Load(floor_urls, plan, sessions, floor=True)
    readings: list[tuple[float, float]] = []
    try:
        _say(f"signing in {sessions} sessions")
        await app.sign_in()
        await floor.sign_in()
        memory = asyncio.ensure_future(
            _memory(pids, readings, time.monotonic() + 2 * seconds + 600)
        )
        try:
            _say(f"warming up for {WARMUP:g} s on each (untimed)")
            await app.turn(WARMUP, timed=False)
            await floor.turn(WARMUP, timed=False)
            for turn in range(ROUNDS):
                _say(f"turn {turn + 1} of {ROUNDS}: the app, then the floor")
                await app.turn(seconds / ROUNDS)
                await floor.turn(seconds / ROUNDS)
        finally:
            memory.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await memory
    finally:
        await app.close()
        await floor.close()
    return app.tally, floor.tally, readings


# Setting up: the database, the floor ----------------------------------------------------------


def seed_load(db: Store, *, issuer: str, sessions: int, seconds: float, today: dt.date) -> Plan:
    """The demo's data, plus draft reviews of its own for each caseworker session (one for
    every DRAFT_ITEMS items it may add) and, for each manager session, sign-offs waiting (one
    for every 3 s of load and warm-up)."""
    from closure_readiness.demo.seed import READY, _load, seed
    from closure_readiness.service import reviews, staff
    from closure_readiness.service.context import Context

    seed(db, issuer=issuer, today=today)
    ctx = Context(db)
    worker = staff.identify(ctx, issuer=issuer, subject=CASEWORKER)
    roles = roles_for(sessions)
    serial = iter(range(1, 10_000))

    def started() -> int:
        case = _load(READY, reference=f"CR-7000-{next(serial):04d}", closure_on=today).case
        return int(reviews.start_review(ctx, worker, case))

    def signed() -> int:
        ready = _load(READY, reference=f"CR-7000-{next(serial):04d}", closure_on=today)
        review_id = reviews.start_review(ctx, worker, ready.case)
        record = reviews.get_review(ctx, worker, review_id)
        reviews.save_review(ctx, worker, review_id, ready, expected_version=record.version)
        record = reviews.get_review(ctx, worker, review_id)
        return int(
            reviews.sign_off(ctx, worker, review_id, seen_hash=record.content_hash, attested=True)
        )

    # Enough drafts that none passes DRAFT_ITEMS (an item added every 5 s or so; 4 s leaves room).
    per = int((seconds + WARMUP) / 4 / DRAFT_ITEMS) + 1
    caseworkers = [[started() for _ in range(per)] for role in roles if role == CASEWORKER]
    each = max(1, int((seconds + WARMUP) // 3) + 1)
    waiting = [[signed() for _ in range(each)] for role in roles if role == MANAGER]
    with reading(db) as conn:
        decisions = [int(row[0]) for row in conn.execute("SELECT id FROM decisions ORDER BY id")]
    return Plan(
        reviews=[drafts[0] for drafts in caseworkers],
        decisions=decisions,
        day=today - dt.timedelta(days=2),
        waiting=waiting,
        later=[drafts[1:] for drafts in caseworkers],
    )


class LoadFloor(FloorScript):
    """FloorScript with the decision record's download button: on each click the same
    paragraphs and tables as the app's record laid out with bare platypus (the PDF bench's
    floor), as the app builds its record on each click."""

    def _emit(self, node: Any, depth: int) -> None:
        if getattr(node, "type", "") == "download_button":
            proto = node.proto
            self.lines.append(
                f"{'    ' * depth}st.download_button({proto.label!r}, data=pdf, "
                f"file_name='record.pdf', mime='application/pdf', on_click='ignore', "
                f"{self._key(proto)})"
            )
            return
        super()._emit(node, depth)


def _trees(copy: Store, *, issuer: str, review: int, decision: int, waiting: int) -> dict[str, Any]:
    """AppTest trees of the pages the load opens, on a copy of the database (AppTest reads
    CLOSURE_DB: put back as it was afterwards)."""
    before = os.environ.get("CLOSURE_DB")
    try:
        return _read_trees(copy, issuer=issuer, review=review, decision=decision, waiting=waiting)
    finally:
        if before is None:
            os.environ.pop("CLOSURE_DB", None)
        else:
            os.environ["CLOSURE_DB"] = before


def _read_trees(
    copy: Store, *, issuer: str, review: int, decision: int, waiting: int
) -> dict[str, Any]:
    from streamlit.testing.v1 import AppTest

    os.environ["CLOSURE_DB"] = copy.url if isinstance(copy, PostgresURL) else str(copy)

    def tree(account: str, script: str = "", **query: object) -> Any:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.user = {"is_logged_in": True, "iss": issuer, "sub": account, "iat": int(time.time())}
        for name, value in query.items():
            at.query_params[name] = str(value)
        at.run()
        if script:
            at.switch_page(f"views/scripts/{script}.py")
            at.run()
        if at.exception:
            raise RuntimeError(f"the app failed under AppTest ({script}): {at.exception}")
        return at._tree

    return {
        "my_reviews": tree(CASEWORKER),
        "family": tree(CASEWORKER, "review", review=review, step="family"),
        "evidence": tree(CASEWORKER, "review", review=review, step="evidence"),
        "decisions": tree(AUDITOR),
        "decision": tree(AUDITOR, "decision", decision=decision),
        "queue": tree(MANAGER),
        "waiting": tree(MANAGER, "decision", decision=waiting),
    }


def floor_script(trees: dict[str, Any], pdf: Path, waiting: list[int]) -> str:
    """The floor app: the pages at the same addresses; a decision waiting for a manager (one
    of `waiting`) is drawn as the manager's sign-off page, any other as the auditor's."""
    script = LoadFloor()
    names = ("my_reviews", "family", "evidence", "decisions", "decision", "queue")
    for name in (*names, "waiting"):
        script.view(name, trees[name])
    head = [
        '"""A bare Streamlit app drawing the same elements as the pages the load opens."""',
        "import datetime",
        "import gc",
        "import pickle",
        "import sys",
        "from pathlib import Path",
        "import streamlit as st",
        "",
        "",
        "@st.cache_resource",
        "def heap():",
        "    return {'frozen_with': 0}",
        "",
        "",
        "# The long-lived heap frozen as the app does (views/heap.py): the collection after",
        "# each run (runner.postScriptGC) then costs both sides alike.",
        "if heap()['frozen_with'] != len(sys.modules):",
        "    gc.collect()",
        "    gc.freeze()",
        "    heap()['frozen_with'] = len(sys.modules)",
        f"st.set_page_config(page_title='Floor', page_icon={str(ICON)!r}, layout='wide')",
        f"sys.path.insert(0, {str(ROOT)!r})",
        "from bench.pdf_bench import floor_pdf",
        f"SHAPE = pickle.loads(Path({str(pdf)!r}).read_bytes())",
        "",
        "",
        "def pdf():",
        "    return floor_pdf(SHAPE)",
        "",
        "",
        *FLOOR_HELPERS,
        "def review():",
        "    step = st.query_params.get('step', 'family')",
        "    {'family': view_family, 'evidence': view_evidence}[step]()",
        "",
        "",
        f"WAITING = {sorted(waiting)!r}",
        "",
        "",
        "def decision():",
        "    chosen = st.query_params.get('decision', '')",
        "    view_waiting() if chosen.isdigit() and int(chosen) in WAITING else view_decision()",
        "",
        "",
    ]
    tail = [
        "",
        "PAGES = [",
        "    st.Page(view_my_reviews, title='My reviews', url_path='my_reviews', default=True),",
        "    st.Page(review, title='Review', url_path='review', visibility='hidden'),",
        "    st.Page(view_decisions, title='Decisions', url_path='decisions'),",
        "    st.Page(decision, title='Decision', url_path='decision', visibility='hidden'),",
        "    st.Page(view_queue, title='Waiting for me', url_path='queue'),",
        "]",
        "st.navigation(PAGES).run()",
        "",
    ]
    # Page links in the copied views point at PAGES by name: give them the same pages.
    source = "\n".join(head + script.lines + tail)
    return source.replace("PAGES[", "PAGE_BY_NAME[").replace(
        "st.navigation(PAGES).run()",
        "PAGE_BY_NAME = {p.url_path: p for p in PAGES}\nst.navigation(PAGES).run()",
    )


def _stored(db: Store, issuer: str, tally: Tally) -> tuple[int, list[str]]:
    """How many acknowledged writes the database holds (read through the service), and what
    is missing."""
    from closure_readiness.core.workflow import ReviewStatus
    from closure_readiness.service import decisions, reviews, staff
    from closure_readiness.service.context import Context

    ctx = Context(db)
    worker = staff.identify(ctx, issuer=issuer, subject=CASEWORKER)
    stored, missing = 0, []
    manager = staff.identify(ctx, issuer=issuer, subject=MANAGER)
    for decision in tally.approved:
        if decisions.get_decision(ctx, manager, decision).outcome == ReviewStatus.APPROVED:
            stored += 1
        else:
            missing.append(f"the approval of decision {decision}")
    for review in {*tally.refs, *tally.answers}:
        record = reviews.get_review(ctx, worker, review).review
        refs = {item.record_ref for item in record.evidence}
        for ref in tally.refs.get(review, []):
            if ref in refs:
                stored += 1
            else:
                missing.append(f"evidence {ref} on review {review}")
        if review in tally.answers:
            # Each change saves the whole answer, so the stored review holds the last one the
            # app acknowledged, or that write (and those before it, overwritten) was lost.
            if bool(getattr(record.answers.family, FIELD)) == tally.answers[review]:
                stored += tally.answer_acks[review]
            else:
                missing.append(f"the answer on review {review}")
    return stored, missing


# Reporting -----------------------------------------------------------------------------------


def _pct(samples: list[float], q: float) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


@dataclasses.dataclass
class Result:
    sessions: int
    seconds: float
    app: Tally
    floor: Tally
    memory: list[tuple[float, float]]
    acknowledged: int
    stored: int
    missing: list[str]


def _elements(tally: Tally, kind: str) -> str:
    counts = tally.drawn.get(kind, [])
    return f"{statistics.median(counts):.0f}" if counts else "-"


def kinds_table(result: Result) -> str:
    roles = roles_for(result.sessions)
    lines = [
        f"Load: {result.sessions} sessions for {result.seconds:g} s "
        f"({', '.join(f'{roles.count(r)} {r}s' for r in (CASEWORKER, MANAGER, AUDITOR))}).",
        "",
        "| page | n | p50 ms | p95 ms | max ms | errors | floor n | floor p50 | floor p95 "
        "| p95 / floor p95 | elements (floor) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in KINDS:
        app = result.app.times.get(kind, [])
        floor = result.floor.times.get(kind, [])
        errors = len(result.app.errors.get(kind, []))
        if not app and not errors:
            continue
        ratio = _pct(app, 95) / _pct(floor, 95) if app and floor else float("nan")
        shown = "-" if kind == "sign-in" or ratio != ratio else f"{ratio:.2f}x"
        lines.append(
            f"| {kind} | {len(app)} | {_pct(app, 50):.0f} | {_pct(app, 95):.0f} | "
            f"{max(app, default=float('nan')):.0f} | {errors} | {len(floor)} | "
            f"{_pct(floor, 50):.0f} | {_pct(floor, 95):.0f} | {shown} | "
            f"{_elements(result.app, kind)} ({_elements(result.floor, kind)}) |"
        )
    reasons: dict[str, int] = {}
    for whys in result.app.errors.values():
        for why in whys:
            reasons[why] = reasons.get(why, 0) + 1
    floor_errors = sum(len(v) for v in result.floor.errors.values())
    lines.append("")
    lines.append(
        "Errors: "
        + (", ".join(f"{n} x {why}" for why, n in sorted(reasons.items())) or "none")
        + f" (floor: {floor_errors})."
    )
    lines.append(
        f"Writes: {result.app.attempted} made, {result.acknowledged} acknowledged, "
        f"{result.stored} of them stored"
        + (f"; missing: {', '.join(result.missing[:5])}" if result.missing else "")
        + (
            f"; not acknowledged: {', '.join(result.app.unacknowledged[:3])}"
            if result.app.unacknowledged
            else ""
        )
        + "."
    )
    memory = ", ".join(f"{t:.0f}s {m:.0f}" for t, m in result.memory)
    lines.append(
        f"Streamlit server memory (MiB, every {RSS_EVERY:g} s from the first turn; the app "
        f"idles while the floor works): {memory or '-'}."
    )
    return "\n".join(lines)


def rows(result: Result) -> list[Measurement]:
    """One row per page kind: p95 against the floor's p95 (medians in the kinds table)."""
    found = []
    for kind in KINDS:
        app, floor = result.app.times.get(kind, []), result.floor.times.get(kind, [])
        if not app or not floor or kind == "sign-in":
            continue
        found.append(
            Measurement(
                name=f"load x{result.sessions}: {kind} (p95)",
                subject_ms=_pct(app, 95),
                floor_name="bare script, same elements, same load (p95)",
                floor_ms=_pct(floor, 95),
                target=TARGET,
                subject_p90_ms=_pct(app, 90),
                floor_p90_ms=_pct(floor, 90),
            )
        )
    return found


# Running -------------------------------------------------------------------------------------


def start_apps(db: Store, *, ports: list[int], issuer: str, folder: Path) -> list[int]:
    """The app on each port, as `run --processes N` starts it, but each process with its own
    sign-in return address (its own port), since no proxy shares one address among them
    here; the sign-in provider runs in this process. Their server pids."""
    from closure_readiness.demo.launcher import streamlit_command, write_secrets

    env = {
        **os.environ,
        "CLOSURE_DB": db.url if isinstance(db, PostgresURL) else str(db),
        "CLOSURE_ENVIRONMENT": "test",
        "CLOSURE_DEMO_SIGN_IN": "true",
        "PYTHONUNBUFFERED": "1",
    }
    pids = []
    for port in ports:
        url = f"http://127.0.0.1:{port}"
        secrets = write_secrets(folder / f"secrets-{port}.toml", app_url=url, issuer=issuer)
        log = folder / f"app-{port}.log"
        process = _spawn(streamlit_command(port=port, secrets_file=secrets), env=env, log=log)
        _wait_healthy(url, process, log)
        pids.append(process.pid)
    return pids


def measure(
    sessions: int,
    seconds: float,
    folder: Path,
    *,
    processes: int = 1,
    cluster: Cluster | None = None,
) -> Result:
    """One load run against the app and against the floor. With `cluster`, the app's data is
    in a PostgreSQL database there (and the floor's pages are read from a copy of it)."""
    from closure_readiness.report.decision_pdf import decision_record_story
    from closure_readiness.service import auditing, staff
    from closure_readiness.service.context import Context

    today = dt.datetime.now(dt.UTC).date()
    provider_port = free_port()
    issuer = f"http://127.0.0.1:{provider_port}"
    db: Store
    copy: Store
    if cluster is not None:
        db = PostgresURL(cluster.create_database("load"))
        _say(f"seeding the demo, and the drafts and sign-offs for {sessions} sessions")
        plan = seed_load(db, issuer=issuer, sessions=sessions, seconds=seconds, today=today)
        release(db)  # a template must have no one connected
        copy = PostgresURL(cluster.create_database("apptest", template="load"))
    else:
        db = folder / "demo" / "closure-readiness-demo.db"
        db.parent.mkdir()
        _say(f"seeding the demo, and the drafts and sign-offs for {sessions} sessions")
        plan = seed_load(db, issuer=issuer, sessions=sessions, seconds=seconds, today=today)
        copy = folder / "apptest" / "closure-readiness.db"
        copy.parent.mkdir()
        with (
            contextlib.closing(sqlite3.connect(db)) as source,
            contextlib.closing(sqlite3.connect(copy)) as target,
        ):
            source.backup(target)  # the seeded rows may still be in the write-ahead log
    _say("reading the pages under AppTest for the floor")
    waiting = plan.waiting[0][0] if plan.waiting else plan.decisions[-1]
    trees = _trees(
        copy, issuer=issuer, review=plan.reviews[0], decision=plan.decisions[0], waiting=waiting
    )
    ctx = Context(copy)
    auditor = staff.identify(ctx, issuer=issuer, subject=AUDITOR)
    pdf = folder / "record-shape.pickle"
    # The record the app lays out for this decision (on the copy: its export event stays there).
    record = auditing._record(ctx, auditor, plan.decisions[0], action="decision_record_exported")
    pdf.write_bytes(pickle.dumps(skeleton(decision_record_story(record))))
    script = folder / "floor.py"
    waiting_ids = [decision for each in plan.waiting for decision in each]
    script.write_text(floor_script(trees, pdf, waiting_ids), encoding="utf-8")
    floor_urls = [start_floor(script, folder) for _ in range(processes)]
    if processes == 1 and isinstance(db, Path):
        _say("starting the demo and the floor")
        demo = start_demo(db, provider_port=provider_port, folder=folder)
        app_urls, pids = [demo.url], [demo.server_pid] if demo.server_pid else []
        provider: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    else:
        from closure_readiness.demo.launcher import sign_in_provider

        _say(f"starting {processes} app processes, the sign-in provider and {processes} floors")
        provider = sign_in_provider(provider_port)
    with provider:
        if not (processes == 1 and isinstance(db, Path)):
            ports = [free_port() for _ in range(processes)]
            pids = start_apps(db, ports=ports, issuer=issuer, folder=folder)
            app_urls = [f"http://127.0.0.1:{port}" for port in ports]
        _say(f"{sessions} sessions for {seconds:g} s on each, in {ROUNDS} turns")
        app, floor, memory = asyncio.run(
            drive(app_urls, floor_urls, plan, sessions=sessions, seconds=seconds, pids=pids)
        )
        stop_all()
    stored, missing = _stored(db, issuer, app)
    return Result(sessions, seconds, app, floor, memory, app.acknowledged, stored, missing)


def load(sessions: int, seconds: float, *, processes: int = 1, engine: str = "sqlite") -> Result:
    """The load on the app, then on the floor; every server stopped and the folder removed.
    `engine` "postgresql": the app's data in a throwaway cluster, durable (fsync on, as
    SQLite's synchronous=FULL), started here and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="closure-bench-load-"))
    try:
        with _stopped_on_signals():
            if engine == "postgresql":
                with Cluster.started(durable=True) as cluster:
                    return measure(sessions, seconds, folder, processes=processes, cluster=cluster)
            return measure(sessions, seconds, folder, processes=processes)
    finally:
        stop_all()
        for line in _server_errors(folder):
            _say(f"the app's log: {line}")
        shutil.rmtree(folder, ignore_errors=True)


def _server_errors(folder: Path, most: int = 5) -> list[str]:
    """The first lines of the app servers' logs (not the floor's) saying something failed, so
    an error a page showed can be explained after the folder is gone."""
    found: list[str] = []
    for log in sorted([*folder.glob("demo-*.log"), *folder.glob("app-*.log")]):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if ("ERROR" in line or "Error" in line or "Traceback" in line) and line not in found:
                found.append(line.strip()[:300])
                if len(found) == most:
                    return found
    return found


def run(
    repeat: int,
    *,
    quick: bool = False,
    sessions: int = 3,
    seconds: float = 60.0,
    processes: int = 1,
    engine: str = "sqlite",
) -> list[Measurement]:
    del repeat  # the load runs for a time, not a count
    if quick:
        seconds = min(seconds, 20.0)
    result = load(sessions, seconds, processes=processes, engine=engine)
    print(kinds_table(result), end="\n\n", flush=True)
    return rows(result)


if __name__ == "__main__":  # python -m bench.load_bench N S
    for row in run(0, sessions=int(sys.argv[1]), seconds=float(sys.argv[2])):
        print(row)
