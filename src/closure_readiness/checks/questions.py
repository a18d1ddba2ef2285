"""The themes a review asks about, in wizard order: the question, guidance and red flags.

Over-optimism's six questions come first, then the learning review's other key learning.
Guidance is written in our own words; `learning` names the section of the review it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Theme:
    key: str
    title: str
    question: str
    guidance: str
    red_flags: str
    learning: str


THEMES: tuple[Theme, ...] = (
    Theme(
        "route",
        "Closure route",
        "How is statutory involvement ending, and does the closure fit that route?",
        "The closure reason decides which questions apply. A transfer is ready when the "
        "receiving authority has accepted it in writing and the new area's agencies know; a "
        "move to adult services when an adult service has accepted the handover; a closure "
        "after assessment when the threshold decision and what was offered are recorded. "
        "Closing because things have changed asks every question about whether the change is "
        "real and will last.",
        "A transfer with no written acceptance; an 18th birthday treated as the end of risk; "
        "a closure after assessment with nothing offered; an order still running.",
        "Key learning: information sharing and early intervention",
    ),
    Theme(
        "change",
        "Evidence of change",
        "What has actually changed, and who saw it?",
        "Cite what professionals saw or what records show, from more than one agency, at least "
        "one of them independent of your service and the family. Keep it recent.",
        "Only the parent or young person says things are better; attending appointments offered "
        "as change; nothing new from school or police; an incident after the good news.",
        "Key learning: over-optimism",
    ),
    Theme(
        "pace",
        "Pace of change",
        "Is it realistic that the change happened this quickly?",
        "Change that has lasted through the plan's agreed maintenance period is more likely to "
        "hold. Count from the first change seen, or the last incident if that came later.",
        "A sudden improvement after months of incidents; closing at the first review of a "
        "child protection plan; risk dropping several levels with no reason recorded.",
        "Key learning: over-optimism",
    ),
    Theme(
        "cause",
        "Circumstance or choice",
        "Did risk fall because of circumstances rather than the young person's choices?",
        "Record what caused the fall in risk. Remand, a tag, a move or the school holidays hold "
        "risk down only while they last: say what happens on the day they end.",
        "Risk fell during remand or a curfew that ends soon after closure; the exploiting "
        "network is still active; nobody asked the young person why things changed.",
        "Key learning: over-optimism",
    ),
    Theme(
        "sustain",
        "Sustainability",
        "Can the change be kept going after we close?",
        "Name the protective factors that continue once services stop, and the trusted adults "
        "or safety network members with an agreed action each.",
        "Every protective factor is a service that ends at closure; no trusted adult named; a "
        "previous closure that was followed by a re-referral.",
        "Key learning: over-optimism",
    ),
    Theme(
        "support",
        "Onward support",
        "Does the young person or family need support from other services?",
        "For each need that remains, record the referral, the service, a named contact, when "
        "first contact will happen and whether consent to share was given.",
        "Signposting only; 'awaiting triage' with nobody named; a long gap before the first "
        "contact; no consent to share.",
        "Key learning: over-optimism",
    ),
    Theme(
        "exit",
        "Exit strategy",
        "Is the exit strategy robust?",
        "Name the lead professional after closure, the triggers for re-referral and who acts on "
        "each, and make sure every agency involved knows. See the young person alone first.",
        "No lead named; triggers without owners; an agency that will not know the case closed; "
        "the young person not seen alone recently.",
        "Key learning: over-optimism",
    ),
    Theme(
        "curiosity",
        "Professional curiosity",
        "Have peers, networks and the reasons behind engagement been explored?",
        "Where exploitation is a concern, map peers and networks, family members included. "
        "Where engagement was reluctant or sporadic, find out why.",
        "No network map; engagement called poor without asking why; no recent direct contact, "
        "so no news is read as good news.",
        "Key learning: professional curiosity",
    ),
    Theme(
        "family",
        "Family and context",
        "Have needs inside the family been considered alongside the contextual ones?",
        "Consider domestic abuse, parental mental health, substance misuse, child-to-parent "
        "violence and family criminality; the father or male carer; other children at home.",
        "A family need present with nothing planned for it; factors never assessed; the "
        "father not seen; siblings not considered.",
        "Key learning: intrafamilial and contextual needs",
    ),
    Theme(
        "sharing",
        "Information sharing",
        "Does every agency hold the same picture, triangulated with the history?",
        "Consult every agency involved on the closure, review earlier referrals and police "
        "history, and circulate the final meeting's minutes promptly to everyone invited.",
        "An agency not consulted; history not read; minutes late or professionals missing.",
        "Key learning: information sharing",
    ),
    Theme(
        "diversion",
        "Early intervention and diversion",
        "Are diversion and the move to adulthood in place, avoiding criminalisation?",
        "Where charges are pending, make sure police and prosecutors know of exploitation "
        "concerns. Offer diversionary or positive activities. Plan the transition at 17.",
        "Charges pending with exploitation unmentioned; an older teenager with no transition "
        "plan; no positive activity offered.",
        "Key learning: early intervention",
    ),
    Theme(
        "exploit",
        "Victim and perpetrator",
        "Have the exploitation processes been followed through?",
        "Re-complete the risk indicator tool (RIT) before closing, close the multi-agency "
        "child exploitation (MACE) process, decide on a National Referral Mechanism (NRM) "
        "referral and consult the vulnerable, exploited, missing and trafficked (VEMT) team.",
        "An old RIT; still open to MACE; no NRM decision; seen only as an offender.",
        "Key learning: balancing victim and perpetrator needs",
    ),
    Theme(
        "mh",
        "Mental health",
        "Is there support for emotional wellbeing when CAMHS is not available?",
        "When child and adolescent mental health services (CAMHS) decline or the threshold is "
        "not met, offer other support and share it with the family and partner agencies.",
        "CAMHS said no and nothing else was offered; the family does not know what is available.",
        "Key learning: mental health support",
    ),
)

THEMES_BY_KEY = {theme.key: theme for theme in THEMES}

THEME_KEYS = tuple(theme.key for theme in THEMES)
