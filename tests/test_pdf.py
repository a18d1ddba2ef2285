"""The decision record and family summary PDFs: content, escaping, Unicode, determinism."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from closure_readiness.checks import evaluate
from closure_readiness.core.review import Review
from closure_readiness.core.vocabulary import Agency
from closure_readiness.report.decision_pdf import DecisionRecord, decision_record_pdf, london_time
from closure_readiness.report.family_pdf import FROM_AGENCY, explained_terms, family_summary_pdf
from closure_readiness.report.fonts import font_path

EXAMPLE = "ready-three-agencies-sustained-change.json"
HOSTILE = (
    '<img src="/etc/passwd"/>',
    '<a href="http://x">link</a>',
    "<b>",
    "&amp;",
    "<font size=40>",
)
POLISH = "Zażółć gęślą jaźń"
VIETNAMESE = "Tiếng Việt có dấu"
CYRILLIC = "Съешь же ещё этих мягких французских булок"
RATIONALE = "Reasons explored in supervision and recorded on the case file."
EXCEPTION_REASON = "The voluntary service is the lead and was told in person."
CHECK_ID = re.compile(r"\b[a-z]+\.[EWI]\d{3}\b")


def _document(repo_root: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (repo_root / "examples" / EXAMPLE).read_text(encoding="utf-8")
    )
    return document


def _record(review: Review, **changes: Any) -> DecisionRecord:
    report = evaluate(review)
    fields: dict[str, Any] = {
        "decision_id": 41,
        "review_id": 17,
        "case_reference": review.case.case_reference,
        "team": review.case.team,
        "closure_reason": review.case.closure_reason.value if review.case.closure_reason else "",
        "signed_by": "SW-014",
        "signed_by_name": "Sam Worker",
        "signed_at": "2025-05-30T10:15:00+00:00",
        "as_of": report.as_of,
        "checks_version": report.checks_version,
        "thresholds": report.thresholds,
        "review": review,
        "report": report,
        "attestation": "I have checked the evidence and the answers are accurate.",
        "content_hash": "3f" * 32,
        "outcome": "approved",
        "decided_by": "TM-002",
        "decided_by_name": "Morgan Manager",
        "decided_at": "2025-06-02T08:30:00+00:00",
        "hash_seen": "3f" * 32,
        "reasons": {},
    }
    fields.update(changes)
    return DecisionRecord(**fields)


def _resolved_review(repo_root: Path) -> Review:
    """The ready example with one blocker excepted, one caution explained, and hostile text."""
    document = _document(repo_root)
    document["answers"]["exit"]["notified"] = ["school", "police"]  # fails exit.E003
    document["answers"]["curiosity"]["engagement_reasons"] = ""  # fails curiosity.W001
    document["evidence"][0]["shows"] = f"Attendance up. {' '.join(HOSTILE)} {POLISH}"
    document["answers"]["change"]["notes"] = f"{' '.join(HOSTILE)}\n{VIETNAMESE}"
    document["incidents"][0]["summary"] = CYRILLIC
    failing = evaluate(Review.model_validate(document))
    gap = next(f for f in failing.findings() if f.check_id == "exit.E003")
    document["exceptions"] = [
        {
            "finding": gap.key,
            "subject": gap.subject,
            "facts": gap.facts,
            "message": gap.message,
            "reason": EXCEPTION_REASON,
            "manager": "TM-002",
            "granted_on": "2025-05-29",
        }
    ]
    document["rationales"] = {"curiosity.W001": RATIONALE}
    return Review.model_validate(document)


def _pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def _flat(text: str) -> str:
    """Extracted text with line wrapping undone: runs of whitespace become one space."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def ready_record(repo_root: Path) -> DecisionRecord:
    return _record(Review.model_validate(_document(repo_root)))


@pytest.fixture(scope="module")
def resolved_record(repo_root: Path) -> DecisionRecord:
    return _record(_resolved_review(repo_root))


@pytest.fixture(scope="module")
def record_pdf(resolved_record: DecisionRecord) -> bytes:
    return decision_record_pdf(resolved_record)


@pytest.fixture(scope="module")
def family_pdf(ready_record: DecisionRecord) -> bytes:
    return family_summary_pdf(ready_record)


def test_the_example_resolves_one_blocker_by_exception_and_one_caution_by_rationale(
    resolved_record: DecisionRecord,
) -> None:
    resolutions = {f.check_id: f.resolution.value for f in resolved_record.report.findings()}
    assert resolutions == {"exit.E003": "exception", "curiosity.W001": "rationale"}
    assert resolved_record.report.sign_off_possible


def test_record_names_the_case_and_every_check(
    record_pdf: bytes, resolved_record: DecisionRecord
) -> None:
    text = "\n".join(_pages(record_pdf))
    assert resolved_record.case_reference in text
    for result in resolved_record.report.results:
        assert result.id in text, result.id


def _applying(record: DecisionRecord) -> int:
    return sum(result.applicable for result in record.report.results)


def test_record_says_in_words_how_each_gap_was_resolved(
    record_pdf: bytes, resolved_record: DecisionRecord
) -> None:
    text = _flat("\n".join(_pages(record_pdf)))
    assert "Resolved by exception" in text
    assert "granted by manager TM-002 on 29 May 2025" in text
    assert EXCEPTION_REASON in text
    assert "Resolved by rationale" in text
    assert RATIONALE in text
    assert f"Passed: {_applying(resolved_record) - 2};" in text  # two resolved, not passed


def test_record_without_gaps_says_passed_and_never_resolved(ready_record: DecisionRecord) -> None:
    text = _flat("\n".join(_pages(decision_record_pdf(ready_record))))
    assert f"Passed: {_applying(ready_record)};" in text
    assert "Resolved by exception: 0" in text
    assert "Resolved by rationale: 0" in text


def test_checks_a_route_does_not_ask_are_said_so_not_passed(ready_record: DecisionRecord) -> None:
    skipped = [r.id for r in ready_record.report.results if not r.applicable]
    assert skipped  # a closure where things changed asks nothing about transfers
    text = _flat("\n".join(_pages(decision_record_pdf(ready_record))))
    assert f"Not asked on this route: {len(skipped)} ({', '.join(skipped)})" in text


def test_record_names_the_closure_route_in_words(
    record_pdf: bytes, resolved_record: DecisionRecord, repo_root: Path
) -> None:
    text = _flat("\n".join(_pages(record_pdf)))
    assert "Closure route Needs met because things changed" in text
    assert "Closure route: Needs met because things changed." in text
    transfer = Review.model_validate_json(
        (repo_root / "examples" / "ready-transfer-to-another-authority.json").read_text("utf-8")
    )
    text = _flat("\n".join(_pages(decision_record_pdf(_record(transfer)))))
    assert "Closure route: Transfer to another local authority." in text
    assert '"transfer"' not in text
    assert "Route.TRANSFER" not in text


def test_record_lists_exceptions_that_resolve_nothing(repo_root: Path) -> None:
    document = _document(repo_root)
    document["answers"]["exit"]["lead_role"] = "tbc"  # exit.E001: no manager may override it
    gap = next(
        f
        for f in evaluate(Review.model_validate(document)).open_blockers
        if f.check_id == "exit.E001"
    )
    document["answers"]["exit"]["lead_role"] = "Senior youth worker"
    document["exceptions"] = [
        {
            "finding": gap.key,
            "reason": "Agreed in supervision.",
            "manager": "TM-002",
            "granted_on": "2025-05-29",
        }
    ]
    record = _record(Review.model_validate(document))
    assert [n.kind.value for n in record.report.exception_notices] == ["not_overridable"]

    text = _flat("\n".join(_pages(decision_record_pdf(record))))

    assert "Recorded exceptions that resolve nothing" in text
    assert "Exception cannot be used" in text
    assert "The exception for exit.E001 is ignored" in text


def test_record_shows_signatures_hashes_and_times_in_london(record_pdf: bytes) -> None:
    text = _flat("\n".join(_pages(record_pdf)))
    assert "Sam Worker (SW-014), 30 May 2025 at 11:15 BST" in text
    assert "Countersigned by" in text
    assert "Morgan Manager (TM-002), 2 June 2025 at 09:30 BST" in text
    assert "3f" * 32 in text.replace(" ", "")
    assert "(matches the sealed content)" in text
    assert "Approved: countersigned by the team manager" in text


def test_winter_times_are_shown_in_gmt() -> None:
    assert london_time("2025-01-10T10:15:00+00:00") == "10 January 2025 at 10:15 GMT"
    assert london_time("2025-01-10T10:15:00") == "10 January 2025 at 10:15 GMT"


def test_returned_record_lists_the_managers_reasons(resolved_record: DecisionRecord) -> None:
    key = resolved_record.report.findings()[0].key
    returned = dataclasses.replace(
        resolved_record,
        outcome="returned",
        reasons={
            "overall": "Say more about the network.",
            "findings": {key: "Ask the voluntary service."},
            "themes": {"exit": "Name who acts."},
        },
    )
    text = _flat("\n".join(_pages(decision_record_pdf(returned))))
    assert "Reasons for returning the review" in text
    assert "Say more about the network." in text
    assert "Ask the voluntary service." in text
    assert "Step: Exit strategy" in text
    assert "Returned by" in text


def test_record_shows_every_themes_question_and_labelled_answers(
    record_pdf: bytes, resolved_record: DecisionRecord
) -> None:
    text = _flat("\n".join(_pages(record_pdf)))
    assert "What has actually changed, and who saw it?" in text
    assert "Is there support for emotional wellbeing when CAMHS is not available?" in text
    assert "Maintenance period agreed in the plan (weeks) 16" in text
    assert "Date peers and network mapped 12 February 2025" in text
    assert "Parental mental health Present Mother referred to talking therapies" in text
    assert "Youth worker sees steady attendance at boxing club" in text


@pytest.mark.parametrize("which", ["record", "family"])
def test_every_page_footer_says_page_x_of_n(
    which: str, record_pdf: bytes, family_pdf: bytes
) -> None:
    pages = _pages(record_pdf if which == "record" else family_pdf)
    total = len(pages)
    assert total >= 1
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {total}" in text


def test_record_footer_carries_case_reference_and_short_hash(record_pdf: bytes) -> None:
    for text in _pages(record_pdf):
        assert "CR-2025-0412" in text
        assert "Content hash " + "3f" * 6 in text


def test_hostile_markup_is_printed_literally(record_pdf: bytes) -> None:
    text = _flat("\n".join(_pages(record_pdf)))
    for hostile in HOSTILE:
        assert _flat(hostile) in text, hostile


def test_hostile_markup_adds_no_links_and_no_images(record_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(record_pdf))
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            assert "/URI" not in annotation.get_object().get("/A", {})
        xobjects = page["/Resources"].get("/XObject") or {}
        for name in xobjects:
            assert xobjects[name].get_object().get("/Subtype") != "/Image"
    assert b"/URI" not in record_pdf
    assert b"/Subtype /Image" not in record_pdf


def test_polish_vietnamese_and_cyrillic_come_back_exactly(record_pdf: bytes) -> None:
    text = _flat("\n".join(_pages(record_pdf)))
    for sample in (POLISH, VIETNAMESE, CYRILLIC):
        assert sample in text


def test_only_the_embedded_dejavu_font_is_used(record_pdf: bytes, family_pdf: bytes) -> None:
    for data in (record_pdf, family_pdf):
        fonts = {}
        for page in PdfReader(io.BytesIO(data)).pages:
            for ref in page["/Resources"]["/Font"].values():
                font = ref.get_object()
                fonts[str(font["/BaseFont"])] = font
        assert fonts
        for name, font in fonts.items():
            assert "DejaVuSans" in name
            assert "/FontFile2" in font["/FontDescriptor"].get_object()


def test_same_record_gives_byte_identical_pdfs(
    resolved_record: DecisionRecord, record_pdf: bytes, ready_record: DecisionRecord
) -> None:
    assert decision_record_pdf(resolved_record) == record_pdf
    assert family_summary_pdf(ready_record) == family_summary_pdf(ready_record)


def test_a_changed_record_gives_a_different_pdf(
    resolved_record: DecisionRecord, record_pdf: bytes
) -> None:
    changed = dataclasses.replace(resolved_record, decided_at="2025-06-02T08:31:00+00:00")
    assert decision_record_pdf(changed) != record_pdf


def test_record_metadata_is_fixed(record_pdf: bytes) -> None:
    metadata = PdfReader(io.BytesIO(record_pdf)).metadata
    assert metadata is not None
    assert metadata.title == "Closure decision record CR-2025-0412"
    assert metadata.author == "Closure Readiness"
    assert str(metadata.get("/CreationDate")).startswith("D:20000101")


def test_family_summary_has_triggers_lead_role_and_no_check_ids(
    family_pdf: bytes, ready_record: DecisionRecord
) -> None:
    text = _flat("\n".join(_pages(family_pdf)))
    exit_answer = ready_record.review.answers.exit
    for trigger in exit_answer.triggers:
        assert trigger.trigger in text
        assert trigger.who_acts in text
    assert exit_answer.lead_role in text
    assert "Your school or college" in text
    assert "Attendance up from 61% to 94%" not in text  # record text only when chosen
    assert "College place from September" in text
    assert "Detached youth work has agreed to help" in text
    assert not CHECK_ID.search(text)
    for jargon in ("blocker", "caution", "exception", "rationale", "RC7"):
        assert jargon not in text


def test_family_summary_explains_terms_from_the_recorded_text(family_pdf: bytes) -> None:
    text = _flat("\n".join(_pages(family_pdf)))
    assert "front door: the council's first contact point" in text
    assert "designated safeguarding lead: the person at school" in text


def test_glossary_explains_a_phrase_once_and_abbreviations_only_in_capitals() -> None:
    terms = [term for term, _ in explained_terms(["School designated safeguarding lead", "gp"])]
    assert terms == ["designated safeguarding lead"]
    assert [t for t, _ in explained_terms(["Referred to CAMHS"])] == ["CAMHS"]


def test_family_summary_fits_on_two_pages(family_pdf: bytes) -> None:
    assert len(_pages(family_pdf)) <= 2


def test_a_missing_font_names_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="fonts-dejavu-core"):
        font_path("DejaVuSans", dirs=(tmp_path,))


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
@pytest.mark.parametrize("which", ["record", "family"])
def test_first_page_renders_to_png(
    which: str, record_pdf: bytes, family_pdf: bytes, tmp_path: Path
) -> None:
    source = tmp_path / f"{which}.pdf"
    source.write_bytes(record_pdf if which == "record" else family_pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(source), str(tmp_path / which)],
        check=True,
        timeout=60,
        capture_output=True,
    )
    images = list(tmp_path.glob(f"{which}*.png"))
    assert len(images) == 1
    assert images[0].read_bytes().startswith(b"\x89PNG")


def test_every_agency_has_words_for_the_family() -> None:
    assert set(FROM_AGENCY) == set(Agency)


@pytest.mark.parametrize(
    ("example", "says"),
    [
        (
            "ready-transfer-to-another-authority.json",
            "Your case is moving to Northmoor County Council children's services, who have "
            "agreed to take it on.",
        ),
        (
            "ready-transition-at-18-to-adult-services.json",
            "Now that you are an adult, adult social care have agreed to support you.",
        ),
    ],
)
def test_family_summary_says_who_takes_the_case_on(
    repo_root: Path, example: str, says: str
) -> None:
    review = Review.model_validate_json((repo_root / "examples" / example).read_text("utf-8"))
    record = _record(review)

    text = _flat("\n".join(_pages(family_summary_pdf(record))))

    assert says in text
    assert not CHECK_ID.search(text)
    assert "other_local_authority" not in text
    assert "adult_social_care" not in text


def test_family_summary_names_change_seen_by_any_agency(repo_root: Path) -> None:
    document = _document(repo_root)
    document["evidence"][2]["agency"] = "probation"  # cited as change; new in schema 2
    document["case"]["involved_agencies"] = ["school", "police", "probation"]
    record = _record(Review.model_validate(document))

    text = _flat("\n".join(_pages(family_summary_pdf(record))))

    assert "The probation service" in text
    assert "Youth worker sees steady attendance" not in text  # record text only when chosen
