"""The check reference in docs/ is generated from the registry and must not drift."""

from __future__ import annotations

from pathlib import Path

from closure_readiness.checks import REGISTRY
from closure_readiness.checks.reference import check_reference_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs" / "checks.md"


def test_committed_check_reference_matches_the_registry() -> None:
    assert DOCS.read_text(encoding="utf-8") == check_reference_markdown(), (
        "docs/checks.md is out of date: run `closure-readiness docs`"
    )


def test_check_reference_documents_every_check_with_its_hint() -> None:
    text = check_reference_markdown()
    for spec in REGISTRY:
        assert f"`{spec.id}` {spec.title}" in text
        assert spec.hint in text


# Every id in the design catalogue (shared/design/checks.md); ids are never reused or dropped.
CATALOGUE_IDS = (
    "change.E001",
    "change.E002",
    "change.E003",
    "change.E004",
    "change.E005",
    "change.W001",
    "pace.E001",
    "pace.W001",
    "pace.W002",
    "cause.E001",
    "cause.E002",
    "cause.W001",
    "cause.W002",
    "sustain.E001",
    "sustain.W001",
    "sustain.W002",
    "support.E001",
    "support.W001",
    "support.W002",
    "exit.E001",
    "exit.E002",
    "exit.E003",
    "exit.E004",
    "exit.W001",
    "exit.W002",
    "curiosity.E001",
    "curiosity.W001",
    "curiosity.W002",
    "family.E001",
    "family.W001",
    "family.W002",
    "family.W003",
    "sharing.E001",
    "sharing.W001",
    "sharing.W002",
    "diversion.W001",
    "diversion.W002",
    "diversion.I001",
    "exploit.E001",
    "exploit.E002",
    "exploit.E003",
    "exploit.W001",
    "mh.E001",
    "mh.W001",
)


def test_every_catalogue_id_is_registered() -> None:
    assert set(CATALOGUE_IDS) <= set(REGISTRY.ids())
    assert len(set(CATALOGUE_IDS)) == len(CATALOGUE_IDS) == 44
