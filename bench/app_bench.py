"""A wizard step rerun (AppTest) against a bare script drawing the same elements.

The floor script is generated from the real page's element tree: same element types, same
labels, same order, but no database, no checks and no layout logic. The ratio is what our
code adds to Streamlit's own cost of drawing that page.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.harness import Measurement, compare

APP = Path(__file__).resolve().parents[1] / "src" / "closure_readiness" / "app.py"
ISSUER = "http://127.0.0.1:9400"


def _user(subject: str) -> dict[str, Any]:
    return {"is_logged_in": True, "iss": ISSUER, "sub": subject, "iat": int(time.time())}


_SIMPLE = {
    "markdown": "st.markdown({value!r})",
    "caption": "st.caption({value!r})",
    "title": "st.title({value!r})",
    "header": "st.header({value!r})",
    "subheader": "st.subheader({value!r})",
    "text": "st.text({value!r})",
    "error": "st.error({value!r})",
    "warning": "st.warning({value!r})",
    "info": "st.info({value!r})",
    "success": "st.success({value!r})",
    "progress": "st.progress(0.5)",
}
_WIDGETS = {
    "button": "st.button({label!r}, key={key!r})",
    "checkbox": "st.checkbox({label!r}, key={key!r})",
    "text_input": "st.text_input({label!r}, key={key!r})",
    "text_area": "st.text_area({label!r}, key={key!r})",
    "selectbox": "st.selectbox({label!r}, {options!r}, key={key!r})",
    "multiselect": "st.multiselect({label!r}, {options!r}, key={key!r})",
    "date_input": "st.date_input({label!r}, value=None, key={key!r})",
    "number_input": "st.number_input({label!r}, value=None, key={key!r})",
    "radio": "st.radio({label!r}, {options!r}, key={key!r})",
}


def _children(node: Any) -> list[Any]:
    children = getattr(node, "children", None)
    return list(children.values()) if isinstance(children, dict) else []


def floor_script(at: Any) -> tuple[str, Counter[str]]:
    """A plain script drawing the same elements and layout blocks as the page, in order."""
    lines = ["import streamlit as st", "st.set_page_config(layout='wide')"]
    kinds: Counter[str] = Counter()
    counter = iter(range(1_000_000))

    def emit(node: Any, depth: int, in_form: bool) -> None:
        pad = "    " * depth
        kind = getattr(node, "type", "")
        children = _children(node)
        kinds[kind] += 1
        if kind == "sidebar":
            lines.append(f"{pad}with st.sidebar:")
        elif (
            kind == "flex_container"
            and children
            and all(getattr(c, "type", "") == "column" for c in children)
        ):
            name = f"cols{next(counter)}"
            lines.append(f"{pad}{name} = st.columns({len(children)})")
            for index, column in enumerate(children):
                lines.append(f"{pad}with {name}[{index}]:")
                lines.append(f"{pad}    pass")
                for child in _children(column):
                    emit(child, depth + 1, in_form)
            return
        elif kind == "flex_container":
            lines.append(f"{pad}with st.container(border=True):")
        elif kind == "expandable" or kind == "expander":
            lines.append(f"{pad}with st.expander('expander {next(counter)}'):")
        elif kind == "form":
            lines.append(f"{pad}with st.form('form{next(counter)}'):")
            lines.append(f"{pad}    pass")
            for child in children:
                emit(child, depth + 1, True)
            return
        elif kind in _SIMPLE:
            value = str(getattr(node, "value", "") or getattr(node, "body", ""))
            lines.append(pad + _SIMPLE[kind].format(value=value))
            return
        elif kind == "button" and in_form:
            lines.append(f"{pad}st.form_submit_button({str(node.label)!r})")
            return
        elif kind in _WIDGETS:
            options = [str(o) for o in (getattr(node, "options", None) or ["-"])]
            label = str(getattr(node, "label", kind))
            lines.append(
                pad + _WIDGETS[kind].format(label=label, key=f"w{next(counter)}", options=options)
            )
            return
        else:
            for child in children:
                emit(child, depth, in_form)
            return
        lines.append(f"{pad}    pass")
        for child in children:
            emit(child, depth + 1, in_form)

    emit(at._tree, 0, False)
    return "\n".join(lines) + "\n", kinds


def run(repeat: int) -> list[Measurement]:
    from streamlit.testing.v1 import AppTest

    from closure_readiness.demo.seed import seed

    folder = Path(tempfile.mkdtemp(prefix="closure-bench-app-"))
    try:
        db = folder / "bench.db"
        ids = seed(db, issuer=ISSUER, today=dt.date(2026, 11, 26))
        os.environ["CLOSURE_DB"] = str(db)
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.user = _user("caseworker")
        at.query_params["review"] = str(ids["draft_new"])
        at.query_params["step"] = "exit"
        at.run()
        at.switch_page("views/scripts/review.py")
        at.run()
        assert not at.exception, at.exception
        assert at.title[0].value.startswith("Closure review"), "the wizard step did not render"
        script, _ = floor_script(at)
        floor_path = folder / "floor.py"
        floor_path.write_text(script, encoding="utf-8")
        bare = AppTest.from_file(str(floor_path), default_timeout=60)
        bare.run()
        assert not bare.exception, bare.exception
        rounds = max(5, repeat // 10)
        return [
            compare(
                "wizard step rerun (AppTest, exit step)",
                at.run,
                "bare script, same elements",
                bare.run,
                repeat=rounds,
                target=1.5,
            )
        ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
