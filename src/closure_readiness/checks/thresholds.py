"""The one thresholds object: every number a check compares against, stored with each report."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Thresholds(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    recent_evidence_weeks: int = Field(
        default=12, ge=1, le=104, description="Newest evidence of change must be this recent."
    )
    default_maintenance_weeks: int = Field(
        default=12, ge=1, le=104, description="Sustained change required when the plan names none."
    )
    circumstance_horizon_weeks: int = Field(
        default=26,
        ge=1,
        le=104,
        description="A circumstantial cause ending within this after closure needs a plan.",
    )
    child_seen_alone_weeks: int = Field(
        default=4, ge=1, le=52, description="Child seen alone, views recorded, within this."
    )
    rit_recompleted_weeks: int = Field(
        default=4, ge=1, le=52, description="Risk indicator tool re-completed within this."
    )
    re_referral_window_months: int = Field(
        default=12,
        ge=1,
        le=60,
        description="A new review this soon after closure is a re-referral.",
    )
    onward_first_contact_gap_weeks: int = Field(
        default=4, ge=1, le=52, description="Longest gap from closure to first onward contact."
    )
    minutes_circulated_working_days: int = Field(
        default=10, ge=1, le=60, description="Final meeting minutes circulated within this."
    )
    transfer_meeting_working_days: int = Field(
        default=15,
        ge=1,
        le=60,
        description="A transfer meeting or conference is held or booked within this of closure.",
    )
    transition_age: int = Field(
        default=17, ge=14, le=18, description="From this age a plan for turning 18 is expected."
    )


DEFAULT_THRESHOLDS = Thresholds()
