"""What the sign-off page showed, and what changed since: the worker seals only what they saw.

Each time the sign-off page is drawn, this tab remembers the content hash of the review it drew
(with the document and the open gaps, to say what changed). The Sign off click happens in the
next run, which reloads the review; it attests the remembered hash, not the reloaded one, so a
change made in another tab since the page was drawn is refused and put into words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import streamlit as st

from closure_readiness.checks.questions import THEMES_BY_KEY
from closure_readiness.core.review import Answers, Case, EvidenceItem
from closure_readiness.service.records import ReviewRecord

MOST_CHANGES = 6
"""Changes named one by one in the message; any more are counted."""


@dataclass(frozen=True)
class Seen:
    """The review as the sign-off page drew it."""

    content_hash: str
    document: dict[str, Any]
    blockers: frozenset[str]
    cautions: frozenset[str]


def _seen_key(review_id: int) -> str:
    return f"sign_off_seen:{review_id}"


def _notice_key(review_id: int) -> str:
    return f"sign_off_changed:{review_id}"


def clicked_key(review_id: int) -> str:
    return f"sign_off_clicked:{review_id}"


def remember(record: ReviewRecord) -> None:
    """The page drew this record: a Sign off click in the next run attests its hash."""
    report = record.report
    st.session_state[_seen_key(record.id)] = Seen(
        content_hash=record.content_hash,
        document=record.review.model_dump(mode="json"),
        blockers=frozenset(f.key for f in report.open_blockers),
        cautions=frozenset(f.key for f in report.open_cautions),
    )


def last_seen(review_id: int) -> Seen | None:
    seen = st.session_state.get(_seen_key(review_id))
    return seen if isinstance(seen, Seen) else None


def forget(review_id: int) -> None:
    for name in (_seen_key(review_id), _notice_key(review_id), clicked_key(review_id)):
        st.session_state.pop(name, None)


def refused(review_id: int, message: str) -> None:
    """Keep the refusal on the page (and the old hash) until the worker reloads the review."""
    st.session_state[_notice_key(review_id)] = message


def pending_refusal(review_id: int) -> str | None:
    notice = st.session_state.get(_notice_key(review_id))
    return notice if isinstance(notice, str) else None


def clear_refusal(review_id: int) -> None:
    st.session_state.pop(_notice_key(review_id), None)


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any


def changes(before: Any, after: Any, path: str = "") -> list[Change]:
    """Leaf-level differences between two review documents, as paths ("answers.support.notes",
    "evidence[E7]"); lists of records with ids are matched by id, others compared whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[Change] = []
        for name in sorted(set(before) | set(after)):
            found += changes(before.get(name), after.get(name), f"{path}.{name}" if path else name)
        return found
    records = [*before, *after] if isinstance(before, list) and isinstance(after, list) else []
    if records and all(isinstance(x, dict) and "id" in x for x in records):
        old = {x["id"]: x for x in before}
        new = {x["id"]: x for x in after}
        found = []
        for ident in sorted(set(old) | set(new)):
            found += changes(old.get(ident), new.get(ident), f"{path}[{ident}]")
        return found
    return [] if before == after else [Change(path, before, after)]


def _count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"


def _title(model: type[Any], name: str) -> str:
    field = model.model_fields.get(name)
    return field.title if field is not None and field.title else name.replace("_", " ")


_LISTED = re.compile(r"^(evidence|incidents)\[([^\]]+)\](.*)$")


def _phrase(change: Change, check_titles: dict[str, str]) -> str:
    """One change in words a worker reads ("Onward support notes changed")."""
    path = change.path
    listed = _LISTED.match(path)
    if listed:
        what = "Evidence" if listed.group(1) == "evidence" else "Incident"
        ident = listed.group(2)
        if not listed.group(3) and change.before is None:
            return f"{what} {ident} added"
        if not listed.group(3) and change.after is None:
            return f"{what} {ident} removed"
        if listed.group(3) == ".shows":
            return f"{what} {ident}: {_title(EvidenceItem, 'shows')} changed"
        return f"{what} {ident} changed"
    top, _, rest = path.partition(".")
    if top == "answers":
        theme, _, field = rest.partition(".")
        title = THEMES_BY_KEY[theme].title if theme in THEMES_BY_KEY else theme
        answer = Answers.model_fields.get(theme)
        name = re.split(r"[.\[]", field, maxsplit=1)[0]
        if answer is None or not isinstance(answer.annotation, type) or not name:
            return f"{title} changed"
        return f"{title} {_title(answer.annotation, name)} changed"
    if top == "case":
        name = re.split(r"[.\[]", rest, maxsplit=1)[0]
        words = _title(Case, name)
        return f"Case details: {words} changed"
    if top == "rationales":
        check = check_titles.get(rest, "")
        which = f"{rest} ({check})" if check else rest
        if change.before is None:
            return f"Rationale for {which} added"
        if change.after is None:
            return f"Rationale for {which} removed"
        return f"Rationale for {which} changed"
    if top == "exceptions":
        return "Your manager's exceptions changed"
    if top == "family_summary":
        return "Summary for you and your family changed"
    return "Other details changed"


def change_words(
    before: dict[str, Any], after: dict[str, Any], check_titles: dict[str, str] | None = None
) -> list[str]:
    """What changed between two review documents, one phrase per change, in order, no repeats."""
    phrases: list[str] = []
    for change in changes(before, after):
        phrase = _phrase(change, check_titles or {})
        if phrase not in phrases:
            phrases.append(phrase)
    return phrases


def what_changed(seen: Seen | None, record: ReviewRecord) -> str:
    """The refusal in words: what changed since the page was shown, and what to do."""
    if seen is None:
        return (
            "This page no longer knows which version of the review it showed you. "
            "Read the review again before signing off."
        )
    report = record.report
    titles = {result.id: result.title for result in report.results}
    phrases = change_words(seen.document, record.review.model_dump(mode="json"), titles)
    if len(phrases) > MOST_CHANGES:
        more = len(phrases) - MOST_CHANGES
        phrases = [*phrases[:MOST_CHANGES], f"{_count(more, 'other change', 'other changes')}"]
    new_blockers = {f.key for f in report.open_blockers} - seen.blockers
    new_cautions = {f.key for f in report.open_cautions} - seen.cautions
    if new_blockers:
        phrases.append(_count(len(new_blockers), "new blocker", "new blockers"))
    if new_cautions:
        phrases.append(
            _count(len(new_cautions), "new caution", "new cautions") + " needing a rationale"
        )
    said = f": {'; '.join(phrases)}" if phrases else ""
    return f"Since this page was shown, the review changed{said}. Read it again before signing off."
