"""Reading review files written for earlier schema versions: upgrade, never guess.

Case systems go on exporting the older format for a while, and sealed decisions keep the
content they were signed with. An upgrade moves what the older file said into the new shape
and leaves every new answer "not recorded": it never invents the hopeful answer.
"""

from __future__ import annotations

import copy
from typing import Any

CURRENT = 2


def version_of(document: dict[str, Any]) -> int:
    """The schema version a review document says it was written for (current when unsaid)."""
    version = document.get("schema_version", CURRENT)
    return version if isinstance(version, int) and not isinstance(version, bool) else CURRENT


def upgrade_document(document: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The document in the current shape, and what the upgrade changed, in plain words.

    A document of the current version (or a version this code cannot know) is returned as is,
    so validation reports it in the usual way.
    """
    version = version_of(document)
    if version >= CURRENT or version < 1:
        return document, []
    upgraded = copy.deepcopy(document)
    notes = [f"The file was written for schema version {version}; it was read as version 2."]
    notes += _v1_to_v2(upgraded)
    upgraded["schema_version"] = CURRENT
    return upgraded, notes


def _v1_to_v2(document: dict[str, Any]) -> list[str]:
    notes: list[str] = []
    answers = document.get("answers")
    if not isinstance(answers, dict):
        return notes
    cause = answers.get("cause")
    if isinstance(cause, dict):
        moved = 0
        for item in cause.get("causes") or []:
            if isinstance(item, dict) and "plan_for_end" in item:
                text = item.pop("plan_for_end")
                if text:
                    item["plan_notes"] = text
                    moved += 1
        if moved:
            notes.append(
                (
                    "1 plan for when a circumstance ends was free text"
                    if moved == 1
                    else f"{moved} plans for when a circumstance ends were free text"
                )
                + ": kept as notes; who acts, what, by when and how it is known are not "
                "recorded."
            )
    support = answers.get("support")
    if isinstance(support, dict) and support.get("needs"):
        support.setdefault("remaining_needs", True)
    notes.append(
        "Questions added in version 2 (closure route, plan outcomes, household adults, "
        "statutory orders, step-down review point) are not recorded."
    )
    return notes
