"""Checks 2.0.0: the checks read the facts, not the form (issue: close the ways round the gate).

Each test here failed against checks 1.0.0. The base is the ready whole-case scenario; each
test changes one fact and asserts what a practice lead would expect.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from enum import StrEnum
from typing import Any

import pytest

from closure_readiness.checks import Problem, evaluate
from closure_readiness.checks.registry import Registry
from closure_readiness.checks.report import NoticeKind, Resolution
from closure_readiness.core import vocabulary
from closure_readiness.core.review import ManagerException, Review
from closure_readiness.core.text import is_placeholder
from closure_readiness.core.vocabulary import Agency, Labelled, ReferralStatus, RiskLevel
from example_data import SCENARIOS_DIR, apply_merge_patch

BASE = SCENARIOS_DIR / "ready-three-agencies-sustained-change.json"
CLOSURE = dt.date(2025, 5, 30)


def document() -> dict[str, Any]:
    return json.loads(BASE.read_text(encoding="utf-8"))


def review_with(patch: dict[str, Any]) -> Review:
    return Review.model_validate(apply_merge_patch(document(), patch))


def open_ids(review: Review) -> set[str]:
    return {finding.check_id for finding in evaluate(review).open_findings}


def evidence_with(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [*document()["evidence"], *extra]


def test_the_base_scenario_is_ready() -> None:
    report = evaluate(Review.model_validate(document()))
    assert report.sign_off_possible, [f.check_id for f in report.open_findings]


# 1. Labels collide -----------------------------------------------------------------------------


def _vocabularies() -> list[type[Labelled]]:
    return [
        value
        for value in vars(vocabulary).values()
        if isinstance(value, type) and issubclass(value, Labelled) and value is not Labelled
    ]


@pytest.mark.parametrize("vocab", _vocabularies(), ids=lambda v: v.__name__)
def test_every_member_of_every_vocabulary_has_its_own_label(vocab: type[StrEnum]) -> None:
    labels = [member.label for member in vocab]  # type: ignore[attr-defined]
    assert all(labels)
    assert len(set(labels)) == len(labels), labels


def test_labels_of_equal_values_in_different_vocabularies_do_not_collide() -> None:
    assert RiskLevel("none").label == "None"
    assert ReferralStatus("referred").label == "Referred"
    assert ReferralStatus("accepted").label == "Accepted by the service"
    assert vocabulary.NetworkStatus("not_applicable").label == "No exploiting network identified"
    assert vocabulary.MaleCarer("not_applicable").label.startswith("No father")


# 2 and 3. Accounts never move a date check; a concern blocks wherever it is typed --------------


def test_a_parents_account_last_week_does_not_make_stale_change_fresh() -> None:
    review = review_with(
        {
            "evidence": evidence_with(
                {
                    "id": "E9",
                    "agency": "parent_carer",
                    "kind": "parent_account",
                    "observed_on": "2025-05-26",
                    "direction": "shows_change",
                    "shows": "Mother says he is much calmer.",
                }
            ),
            "answers": {"change": {"cited": ["E1", "E9"]}},
        }
    )
    report = evaluate(review)
    stale = [f for f in report.open_findings if f.check_id == "change.E004"]
    assert stale
    assert "E1" in stale[0].message


def test_a_parents_account_does_not_start_the_sustained_change_clock_early() -> None:
    # Independent change first seen five weeks before closure; the mother said so in January.
    review = review_with(
        {
            "evidence": evidence_with(
                {
                    "id": "E9",
                    "agency": "parent_carer",
                    "kind": "parent_account",
                    "observed_on": "2025-01-03",
                    "direction": "shows_change",
                    "shows": "Mother says things are better.",
                },
                {
                    "id": "E8",
                    "agency": "school",
                    "kind": "observed",
                    "observed_on": "2025-04-25",
                    "direction": "shows_change",
                    "shows": "Head of year sees him settled in class.",
                },
            ),
            "answers": {"change": {"cited": ["E8", "E3", "E9"]}},
        }
    )
    assert "pace.E001" in open_ids(review)


def test_an_account_does_not_clear_police_intelligence_that_no_professional_has_looked_at() -> None:
    review = review_with(
        {
            "incidents": [
                *document()["incidents"],
                {"id": "I9", "kind": "police_intelligence", "occurred_on": "2025-05-20"},
            ],
            "evidence": evidence_with(
                {
                    "id": "E9",
                    "agency": "young_person",
                    "kind": "young_person_account",
                    "observed_on": "2025-05-27",
                    "direction": "shows_change",
                    "shows": "Says he has stopped going out late.",
                }
            ),
            "answers": {"change": {"cited": ["E1", "E3", "E9"]}},
        }
    )
    assert "change.E005" in open_ids(review)


def test_a_police_concern_in_the_evidence_register_blocks_like_an_incident() -> None:
    review = review_with(
        {
            "evidence": evidence_with(
                {
                    "id": "E9",
                    "agency": "police",
                    "kind": "record",
                    "observed_on": "2025-05-22",
                    "direction": "shows_concern",
                    "shows": "Seen with older males linked to the line.",
                }
            )
        }
    )
    report = evaluate(review)
    blockers = [f for f in report.open_blockers if f.check_id == "change.E005"]
    assert blockers
    assert blockers[0].subject == "E9"
    assert "Police reported a concern" in blockers[0].message
    assert "change.W001" not in {f.check_id for f in report.open_findings}


# 4. An exception lapses when its facts change ---------------------------------------------------


def _granted(review: Review, check_id: str) -> Review:
    finding = next(f for f in evaluate(review).open_blockers if f.check_id == check_id)
    exception = ManagerException(
        finding=finding.key,
        subject=finding.subject,
        facts=finding.facts,
        message=finding.message,
        reason="Seen alone at the youth centre; the review was delayed by the holidays.",
        manager="TM-001",
        granted_on=CLOSURE,
    )
    return review.model_copy(update={"exceptions": [exception]})


def test_an_exception_stops_applying_when_the_facts_it_was_granted_against_change() -> None:
    five_weeks_ago = review_with({"answers": {"exit": {"seen_alone_on": "2025-04-25"}}})
    excepted = _granted(five_weeks_ago, "exit.E004")
    assert evaluate(excepted).sign_off_possible

    never = Review.model_validate(
        apply_merge_patch(
            excepted.model_dump(mode="json"), {"answers": {"exit": {"seen_alone_on": None}}}
        )
    )
    report = evaluate(never)
    assert not report.sign_off_possible
    finding = next(f for f in report.open_blockers if f.check_id == "exit.E004")
    assert finding.resolution is Resolution.OPEN
    assert "Exception no longer applies" in finding.lapsed
    assert "seen alone on: 25/04/2025 → not recorded" in finding.lapsed
    assert [n.kind for n in report.exception_notices] == [NoticeKind.LAPSED]


def test_an_exception_for_a_check_that_cannot_be_overridden_is_reported() -> None:
    review = review_with({"answers": {"exit": {"lead_role": "tbc"}}})
    key = next(f.key for f in evaluate(review).open_blockers if f.check_id == "exit.E001")
    excepted = review.model_copy(
        update={
            "exceptions": [
                ManagerException(
                    finding=key, reason="Agreed.", manager="TM-001", granted_on=CLOSURE
                )
            ]
        }
    )
    report = evaluate(excepted)
    assert not report.sign_off_possible
    assert [n.kind for n in report.exception_notices] == [NoticeKind.NOT_OVERRIDABLE]


def test_an_exception_whose_gap_is_closed_is_reported_as_no_longer_needed() -> None:
    late = review_with({"answers": {"exit": {"seen_alone_on": "2025-04-25"}}})
    excepted = _granted(late, "exit.E004")
    seen = Review.model_validate(
        apply_merge_patch(
            excepted.model_dump(mode="json"), {"answers": {"exit": {"seen_alone_on": "2025-05-23"}}}
        )
    )
    report = evaluate(seen)
    assert report.sign_off_possible
    assert [n.kind for n in report.exception_notices] == [NoticeKind.RESOLVED]


# 5. Placeholders never satisfy a check -----------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["tbc", "TBC.", "n/a", "N/A", "-", "none", "?", "  ...  ", "To be confirmed"]
)
def test_placeholders_are_recognised(text: str) -> None:
    assert is_placeholder(text)


@pytest.mark.parametrize("text", ["GP", "Senior youth worker", "Aunt calls police", "PC 101"])
def test_real_answers_are_not_placeholders(text: str) -> None:
    assert not is_placeholder(text)


@pytest.mark.parametrize(
    ("check_id", "patch"),
    [
        ("exit.E001", {"answers": {"exit": {"lead_role": "tbc"}}}),
        (
            "exit.E002",
            {
                "answers": {
                    "exit": {
                        "triggers": [{"trigger": "Missing", "who_acts": "n/a", "agency": "police"}]
                    }
                }
            },
        ),
        (
            "cause.E002",
            {
                "answers": {
                    "cause": {
                        "causes": [
                            {
                                "kind": "bail_curfew_tag",
                                "ends_on": "2025-07-01",
                                "plan_agency": "youth_justice",
                                "plan_role": "tbc",
                                "plan_action": "-",
                                "plan_by": "2025-07-01",
                                "plan_check": "?",
                                "plan_notes": "Plan to follow.",
                            }
                        ]
                    }
                }
            },
        ),
        (
            "support.E001",
            {
                "answers": {
                    "support": {
                        "needs": [
                            {
                                "need": "Mentoring",
                                "status": "signposted",
                                "service": "Mentoring scheme",
                                "agency": "voluntary",
                                "focus": "young_person",
                                "named_contact": "none",
                            }
                        ]
                    }
                }
            },
        ),
        (
            "support.E001",
            {"answers": {"support": {"remaining_needs": False, "no_needs_because": "n/a"}}},
        ),
        (
            "mh.E001",
            {
                "answers": {
                    "mh": {
                        "wellbeing_need": True,
                        "camhs": "threshold_not_met",
                        "alternative_support": "tbc",
                        "alternative_agency": "school",
                    }
                }
            },
        ),
        (
            "family.E001",
            {
                "answers": {
                    "family": {
                        "factors": {
                            "domestic_abuse": {
                                "status": "present",
                                "response": "-",
                                "agency": "voluntary",
                            }
                        }
                    }
                }
            },
        ),
    ],
)
def test_a_placeholder_does_not_satisfy_a_blocker(check_id: str, patch: dict[str, Any]) -> None:
    assert check_id in open_ids(review_with(patch))


# 6. The closure route decides which checks apply --------------------------------------------------


def test_a_transfer_is_not_asked_for_evidence_of_change() -> None:
    review = review_with({"case": {"closure_reason": "RC5"}, "answers": {"change": {"cited": []}}})
    report = evaluate(review)
    assert report.route == "transfer"
    change = [r for r in report.results if r.theme == "change"]
    assert change
    assert all(not r.applicable and r.passed for r in change)
    assert {"route.E003", "route.E004", "route.E005", "route.E006"} <= open_ids(review)


def test_turning_eighteen_is_the_transition_route_whatever_the_reason_code() -> None:
    review = review_with({"case": {"birth_month": "2007-04"}})
    report = evaluate(review)
    assert report.route == "transition"
    assert {"route.E007", "route.E008"} <= open_ids(review)
    assert "cause.E001" not in {r.id for r in report.results if r.applicable}


def test_closed_after_assessment_needs_the_threshold_decision_and_the_offer() -> None:
    review = review_with({"case": {"closure_reason": "RC8"}})
    assert {"route.E010", "route.E011"} <= open_ids(review)
    assert "change.E001" not in open_ids(review)


# 7. Involvement is not inferred from one old record ----------------------------------------------


def test_an_old_emergency_department_visit_is_shown_not_demanded() -> None:
    review = review_with(
        {
            "evidence": evidence_with(
                {
                    "id": "E9",
                    "agency": "emergency_department",
                    "kind": "record",
                    "observed_on": "2024-08-09",
                    "direction": "shows_concern",
                    "shows": "Attended with a hand injury.",
                }
            )
        }
    )
    report = evaluate(review)
    assert not {"exit.E003", "sharing.E001"} & {f.check_id for f in report.open_findings}
    note = next(f for f in report.findings(level="note") if f.check_id == "sharing.I001")
    assert "Emergency department" in note.message
    assert report.sign_off_possible


# 8. Agencies a transfer or a transition needs -----------------------------------------------------


def test_the_vocabulary_tells_a_receiving_authority_from_the_case_holder() -> None:
    assert {
        "adult_social_care",
        "probation",
        "other_local_authority",
        "gp",
        "housing",
        "voluntary",
    } <= {agency.value for agency in Agency}


def test_a_version_1_file_is_upgraded_on_read_and_the_check_says_so(tmp_path: Any) -> None:
    old = document()
    old["schema_version"] = 1
    old["answers"]["cause"]["causes"] = [
        {
            "kind": "custody_or_remand",
            "ends_on": "2025-06-20",
            "plan_for_end": "YOT to meet at the gate",
        }
    ]
    for name in ("plan_outcomes",):
        old["answers"]["change"].pop(name, None)
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "closure_readiness.cli", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Upgraded: The file was written for schema version 1" in result.stdout
    assert "cause.E002" in result.stdout  # the free-text plan is kept as notes, not as a plan
    review = Review.model_validate(old)
    assert review.answers.cause.causes[0].plan_notes == "YOT to meet at the gate"


# 9. Absent data is never good news ----------------------------------------------------------


def test_a_new_review_fails_every_step_whose_questions_nobody_answered() -> None:
    case = document()["case"]
    for name in (
        "closure_reason",
        "exploitation_concern",
        "risk_at_opening",
        "risk_now",
        "orders_in_force",
    ):
        case.pop(name)
    review = Review.model_validate({"case": case})
    ids = open_ids(review)
    for needed in (
        "route.E001",
        "pace.E001",
        "support.E001",
        "diversion.W001",
        "mh.E001",
        "curiosity.W001",
    ):
        assert needed in ids


# 10. Smaller defects -------------------------------------------------------------------------


def test_a_large_fall_in_risk_explained_only_by_circumstances_needs_a_rationale() -> None:
    review = review_with(
        {
            "answers": {
                "cause": {
                    "causes": [
                        {
                            "kind": "school_holidays",
                            "ends_on": "2025-05-01",
                        }
                    ]
                }
            }
        }
    )
    assert "pace.W002" in open_ids(review)
    assert "pace.W002" not in open_ids(Review.model_validate(document()))


def test_a_signposted_exploitation_need_needs_a_first_contact_date() -> None:
    need = {
        "need": "Support to stay away from the line",
        "area": "exploitation",
        "status": "signposted",
        "service": "Youth outreach",
        "agency": "voluntary",
        "focus": "young_person",
        "named_contact": "Outreach lead",
    }
    assert "support.E001" in open_ids(review_with({"answers": {"support": {"needs": [need]}}}))
    dated = {**need, "first_contact_on": "2025-06-06"}
    assert "support.E001" not in open_ids(review_with({"answers": {"support": {"needs": [dated]}}}))


def test_a_check_that_returns_something_other_than_problems_blocks_and_is_named() -> None:
    registry = Registry()

    @registry.register(id="change.E999", title="Broken", question="?", satisfied_by="-", hint="-")
    def broken(review: Review, **_: Any) -> Any:
        return "no problems here"

    @registry.register(
        id="change.E998", title="Broken too", question="?", satisfied_by="-", hint="-"
    )
    def broken_list(review: Review, **_: Any) -> Any:
        return [Problem("fine"), "not a problem"]

    report = evaluate(Review.model_validate(document()), registry=registry)
    assert not report.sign_off_possible
    assert all(result.crashed for result in report.results)
    assert "change.E999" in report.results[1].findings[0].message
