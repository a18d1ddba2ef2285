"""One wizard checkbox round trip against a bare Streamlit app with the same checkbox.

Issue 12, item 2: "within 1.3x the bare app with the same widget". The subject is the real
demo server (signed in through its local provider) with the family step of a draft review
open; the click changes the answer, saves it and redraws. The floor is a bare Streamlit script
holding only the same checkbox, started from the same folder (so with the same
`.streamlit/config.toml`) and with the same `runner.postScriptGC`. Both are clicked in turn in
their own browser contexts, after a warm-up, and each click is timed until a script run that
finished after the click and the page idle (`browser_bench.Watch`), so a click never counts as
done before its rerun has even started.

Run with postScriptGC on and off (the decision in docs/decisions.md #12 and #37); the server's
resident memory before and after each series says whether turning it off lets memory grow.
`bench/browser_bench.py` has the other floor: a bare script drawing the same elements.

A third series asks what the target allows any page: bare apps holding the same checkbox on a
page of N simple elements (a bold line, two columns, a choice and a text box per four), the
click running again only a one-line fragment, as the wizard's answers now do (decision #82),
against the bare one-checkbox app. The browser's work per click grows with the elements on the
page even when they are not drawn again.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

from bench.browser_bench import (
    CHECKBOX,
    CHROMIUM,
    FLAGS,
    THEME,
    Samples,
    _alternate,
    _goto,
    _row,
    _rss_mib,
    _say,
    _side,
    _signed_in,
    _stop,
    _stopped_on_signals,
    breakdown,
    start_demo,
    start_floor,
    stop_all,
)
from bench.harness import Measurement, free_port

TARGET = 1.3
"""The issue's target for a widget round trip against the bare app with the same widget."""

BARE = f"""import streamlit as st

st.checkbox({CHECKBOX!r})
"""

PAGE_SIZES = (20, 100)
"""Elements on the bare pages of the third series (the family step draws about 100)."""


def sized_page(elements: int) -> str:
    """A bare page of about `elements` elements whose checkbox reruns a one-line fragment."""
    return f"""import streamlit as st


@st.fragment(key="line")
def line():
    st.markdown(f"Ticked: {{st.session_state.get('tick')}}")


st.checkbox({CHECKBOX!r}, key="tick", on_change=lambda: st.rerun(["line"]))
line()
for row in range({elements} // 4):
    st.markdown(f"**Question {{row}}**")
    left, right = st.columns(2)
    left.selectbox(f"Choice {{row}}", ["a", "b", "c"], key=f"choice{{row}}")
    right.text_input(f"Text {{row}}", key=f"text{{row}}")
"""


def start_bare(folder: Path, *, gc: bool) -> str:
    """The bare one-checkbox app under `streamlit run`: its address."""
    script = folder / f"bare-{'gc' if gc else 'nogc'}.py"
    script.write_text(BARE, encoding="utf-8")
    return start_floor(script, folder, gc=gc)


def measure(browser: object, folder: Path, *, gc: bool, clicks: int) -> tuple[Samples, str]:
    """`clicks` alternated clicks on the wizard's checkbox and the bare app's; the memory
    words for the row name."""
    from closure_readiness.demo.seed import seed

    provider_port = free_port()
    db = folder / f"demo-{'gc' if gc else 'nogc'}" / "closure-readiness-demo.db"
    db.parent.mkdir()
    ids = seed(db, issuer=f"http://127.0.0.1:{provider_port}", today=dt.datetime.now(dt.UTC).date())
    demo = start_demo(db, provider_port=provider_port, folder=folder, gc=gc)
    bare_url = start_bare(folder, gc=gc)
    outside: list[str] = []
    samples = Samples(subject=_signed_in(browser, demo, outside), floor=_side(browser, outside))
    try:
        _goto(samples.subject.watch, f"{demo.url}/review?review={ids['draft_new']}&step={THEME}")
        _goto(samples.floor.watch, bare_url)
        pid = demo.server_pid
        before = _rss_mib(pid) if pid else float("nan")
        _alternate(samples, clicks, lambda side, _: side.page.get_by_text(CHECKBOX).click())
        after = _rss_mib(pid) if pid else float("nan")
    finally:
        samples.subject.context.close()
        samples.floor.context.close()
        _stop(demo.process)
    if outside:
        raise RuntimeError(f"a page asked for something outside this machine: {outside[:3]}")
    return samples, f"server memory {before:.0f} -> {after:.0f} MiB"


def _page_sizes(browser: object, folder: Path, clicks: int) -> list[Measurement]:
    """The third series: the same checkbox on bare pages of PAGE_SIZES elements, each click
    running only a one-line fragment, against the bare one-checkbox app (postScriptGC off,
    as the app runs: decision #70)."""
    rows = []
    bare_url = start_bare(folder, gc=False)
    for elements in PAGE_SIZES:
        script = folder / f"page-{elements}.py"
        script.write_text(sized_page(elements), encoding="utf-8")
        url = start_floor(script, folder, gc=False)
        outside: list[str] = []
        samples = Samples(subject=_side(browser, outside), floor=_side(browser, outside))
        try:
            _goto(samples.subject.watch, url)
            _goto(samples.floor.watch, bare_url)
            _alternate(samples, clicks, lambda side, _: side.page.get_by_text(CHECKBOX).click())
        finally:
            samples.subject.context.close()
            samples.floor.context.close()
        rows.append(
            _row(
                f"bare page of {elements} elements, the checkbox running a one-line fragment",
                samples,
                "bare app, the same checkbox (postScriptGC off)",
                target=TARGET,
                limit_ms=None,
            )
        )
    return rows


def run(repeat: int, *, quick: bool = False) -> list[Measurement]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    clicks = 20 if quick else max(50, repeat // 2)
    folder = Path(tempfile.mkdtemp(prefix="closure-bench-server-"))
    rows: list[Measurement] = []
    named: list[tuple[str, Samples]] = []
    try:
        with _stopped_on_signals(), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                rows += _page_sizes(browser, folder, clicks)
                for gc in (True, False):
                    label = "on" if gc else "off"
                    _say(f"postScriptGC {label}: {clicks} clicks each")
                    samples, memory = measure(browser, folder, gc=gc, clicks=clicks)
                    named.append((f"wizard checkbox, postScriptGC {label}", samples))
                    rows.append(
                        _row(
                            f"wizard checkbox, saved (postScriptGC {label}; {memory})",
                            samples,
                            f"bare app, the same checkbox (postScriptGC {label})",
                            target=TARGET,
                            limit_ms=None,
                        )
                    )
            finally:
                browser.close()
        print(breakdown(named), end="\n\n", flush=True)
    finally:
        stop_all()
        shutil.rmtree(folder, ignore_errors=True)
    return rows
