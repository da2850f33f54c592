"""What every rule returns: allowed or refused, the rule applied, and a reason a person can read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Rule(StrEnum):
    """The ownership rules of SPEC.md section 1; every decision names one."""

    R1 = "R1"
    R2 = "R2"
    R3 = "R3"
    R4 = "R4"
    R5 = "R5"
    R6 = "R6"
    R7 = "R7"
    R8 = "R8"
    R9 = "R9"
    R10 = "R10"
    R11 = "R11"

    @property
    def summary(self) -> str:
        """The rule in one sentence, as the help pages state it."""
        return RULE_SUMMARIES[self]


RULE_SUMMARIES: dict[Rule, str] = {
    Rule.R1: "An uploaded image belongs to its uploader, who attests they hold its rights; "
    "nobody else can register the same work as theirs.",
    Rule.R2: "A model trained on your works belongs to you; it may be trained only on works you "
    "own or hold a training license for, and never on works opted out of training.",
    Rule.R3: "Every image made with your model belongs to you, whoever wrote the prompt.",
    Rule.R4: "An image made with someone else's model belongs to that model's owner; its maker "
    "may license it from the owner.",
    Rule.R5: "Models are private by default; publishing is the owner's choice, and unpublishing "
    "stops new generations without changing who owns earlier images.",
    Rule.R6: "Owners sell images made with their models at their own price and terms; the "
    "platform takes no share of those sales.",
    Rule.R7: "For public models the platform may sell licenses on the owner's behalf and credits "
    "the proceeds to the owner.",
    Rule.R8: "A license grants designated uses, never the copyright.",
    Rule.R9: "Every generated image carries signed credentials saying it is AI-made, by which "
    "model, owned by whom.",
    Rule.R10: "Images from other AI services follow those services' terms.",
    Rule.R11: "An image too close to a training image or a registered work cannot be published "
    "or licensed until its owner clears it.",
}


@dataclass(frozen=True)
class Decision:
    """The answer to "may this happen?": the rule that decided it and why."""

    allowed: bool
    rule: Rule
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


class LicenseTerm(StrEnum):
    """The terms of a license that can decide a use (R8)."""

    PURPOSE = "purpose"
    DURATION = "duration"
    REVOCATION = "revocation"
    TERRITORY = "territory"
    COPY_CAP = "copy_cap"
    ATTRIBUTION = "attribution"
    EXCLUSIVITY = "exclusivity"


@dataclass(frozen=True)
class TermDecision(Decision):
    """A decision on a license's terms: the term that decided it, and the terms left to keep.

    `conditions` are the terms the asker did not say they meet (no country, no copy count): the
    use is allowed only within them.
    """

    term: LicenseTerm | None = None
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class OwnershipDecision(Decision):
    """The answer to "who owns this?": the owner, the rule, and why."""

    owner_id: uuid.UUID | None = None


def allow(rule: Rule, reason: str) -> Decision:
    """An allowed decision under `rule`."""
    return Decision(True, rule, reason)


def refuse(rule: Rule, reason: str) -> Decision:
    """A refused decision under `rule`."""
    return Decision(False, rule, reason)
