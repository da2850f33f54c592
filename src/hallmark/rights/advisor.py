"""May I view, publish, sell, trace, modify, print, merchandise or train on this image? (R10)

`advise` answers for a Hallmark image from the ownership rules, and for another service's image
from that service's dated terms (`rights/policies`), always with the rule or clause it relied on.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from hallmark.rights.decisions import Decision, LicenseTerm, Rule, TermDecision
from hallmark.rights.facts import GenerationFacts, IntendedUse, ModelFacts, Purpose, UsageGrant
from hallmark.rights.policies import FreePlanTerms, Outcome, PolicyVersion, ServicePolicy
from hallmark.rights.rules import (
    disclosure_permits,
    may_publish_generation,
    may_train_on_generation,
    may_view_generation,
)
from hallmark.rights.terms import license_permits


class Action(StrEnum):
    """What someone wants to do with an image."""

    VIEW = "view"
    KEEP_PRIVATE = "keep_private"
    PUBLISH = "publish"
    SELL = "sell"
    COMMERCIAL_USE = "commercial_use"
    MODIFY = "modify"
    TRACE = "trace"
    PRINT = "print"
    MERCHANDISE = "merchandise"
    EDITORIAL_USE = "editorial_use"
    TRAIN = "train"


COPYRIGHT_NOTE = (
    "A purely AI-generated image is not protected by US copyright (Copyright Office guidance of "
    "March 2023, and its report of January 2025): what you hold are rights under the terms that "
    "made the image, and copyright only in what you add by hand."
)
TERMS_OF_HALLMARK = "Hallmark's ownership rules (SPEC R1-R11)"
_USES = {Action.SELL, Action.COMMERCIAL_USE, Action.MODIFY, Action.TRACE, Action.PRINT}
_USES |= {Action.MERCHANDISE, Action.PUBLISH, Action.EDITORIAL_USE, Action.TRAIN}
_PUBLISHES = _USES - {Action.TRAIN}  # uses that put the image, or a work from it, before others
_COMMERCIAL = {Action.SELL, Action.COMMERCIAL_USE, Action.MERCHANDISE}
_DERIVATIVE = {Action.MODIFY, Action.TRACE}
_PURPOSE = {
    Action.COMMERCIAL_USE: Purpose.COMMERCIAL,
    Action.PRINT: Purpose.PERSONAL,
    Action.MERCHANDISE: Purpose.MERCHANDISE,
    Action.EDITORIAL_USE: Purpose.EDITORIAL,
    Action.MODIFY: Purpose.DERIVATIVE,
    Action.TRACE: Purpose.DERIVATIVE,
    Action.TRAIN: Purpose.AI_TRAINING,
}
DERIVATIVE_DISCLOSURE = (
    "keep the AI disclosure on what you make from it: sign it with the original as its "
    "ingredient (`hallmark derive`), as R9 asks"
)


@dataclass(frozen=True)
class UseDetails:
    """What the asker said about how they will use the image; None: not said."""

    territory: str | None = None  # ISO 3166-1 alpha-2 code of the country of use
    copies: int | None = None  # copies made or audience reached
    credit_given: bool | None = None
    on: date | None = None  # the day of use
    keeps_disclosure: bool | None = None  # whether what is published keeps the AI disclosure
    trains_derivative: bool | None = None  # training a fine-tune or LoRA of the image's model

    def for_purpose(self, purpose: Purpose) -> IntendedUse:
        """The use as the license rules see it."""
        return IntendedUse(
            purpose,
            territory=self.territory,
            copies=self.copies,
            credit_given=self.credit_given,
            on=self.on,
            keeps_disclosure=self.keeps_disclosure,
        )


NOTHING_SAID = UseDetails()


@dataclass(frozen=True)
class ExternalImage:
    """An image made by another service, as far as the file and its holder can tell."""

    service: str  # a policy key, or "unknown"
    made_on: date | None = None
    generated_by_asker: bool | None = None  # None: nobody said who generated it
    plan: str | None = None
    asker_revenue_over_1m: bool | None = None
    training_mining: str | None = None  # "allowed" or "notAllowed", from its credentials


@dataclass(frozen=True)
class HallmarkImage:
    """An image made on Hallmark, from its records."""

    generation: GenerationFacts
    model: ModelFacts
    owner_username: str
    grants: tuple[UsageGrant, ...] = ()
    training_mining: str | None = None


@dataclass(frozen=True)
class Answer:
    """The answer to one question: an outcome, why, on what authority, and what it needs."""

    action: Action
    outcome: Outcome
    reason: str
    source: str  # a rule of Hallmark's, or the clause's address
    policy_date: date | None = None
    term: LicenseTerm | None = None  # the license term that decided it, if one did
    conditions: tuple[str, ...] = ()
    to_find_out: tuple[str, ...] = ()
    copyright_note: str | None = None

    def in_plain_words(self) -> str:
        """The answer as sentences for a person."""
        headline = {
            Outcome.ALLOWED: "Yes.",
            Outcome.ALLOWED_WITH_CONDITIONS: "Yes, if:",
            Outcome.NOT_ALLOWED: "No.",
            Outcome.UNKNOWN: "It cannot be told yet.",
        }[self.outcome]
        lines = [f"May you {self.action.value.replace('_', ' ')} this image? {headline}"]
        lines.extend(f"  - {condition}" for condition in self.conditions)
        lines.append(self.reason)
        dated = f" (terms of {self.policy_date.isoformat()})" if self.policy_date else ""
        decided = f", the license's {self.term.value.replace('_', ' ')} term" if self.term else ""
        lines.append(f"Source: {self.source}{dated}{decided}")
        if self.to_find_out:
            lines.append("Find out: " + "; ".join(self.to_find_out) + ".")
        if self.copyright_note:
            lines.append(self.copyright_note)
        return "\n".join(lines)


@dataclass
class _Draft:
    outcome: Outcome
    reason: str
    conditions: list[str] = field(default_factory=list)
    to_find_out: tuple[str, ...] = ()


def advise(
    image: ExternalImage | HallmarkImage,
    asker_id: uuid.UUID | None,
    action: Action,
    *,
    at: datetime,
    policies: Mapping[str, ServicePolicy],
    details: UseDetails = NOTHING_SAID,
) -> Answer:
    """What the asker may do with the image, and why."""
    if isinstance(image, HallmarkImage):
        return _advise_hallmark(image, asker_id, action, at, details)
    return _advise_external(image, action, at.date(), policies, details)


# ------------------------------------------------------------------------------------ Hallmark


def _answer_from(action: Action, decision: Decision, *conditions: str) -> Answer:
    outcome = Outcome.NOT_ALLOWED
    if decision.allowed:
        outcome = Outcome.ALLOWED_WITH_CONDITIONS if conditions else Outcome.ALLOWED
    return Answer(
        action,
        outcome,
        decision.reason,
        f"{TERMS_OF_HALLMARK}: {decision.rule.value}",
        conditions=conditions if decision.allowed else (),
        copyright_note=COPYRIGHT_NOTE if action in _USES else None,
        term=decision.term if isinstance(decision, TermDecision) else None,
    )


def _advise_hallmark(
    image: HallmarkImage,
    asker_id: uuid.UUID | None,
    action: Action,
    at: datetime,
    details: UseDetails,
) -> Answer:
    generation, owner = image.generation, image.owner_username
    is_owner = asker_id == generation.owner_id
    sees = may_view_generation(asker_id, generation, image.grants, at=at)
    if action is Action.VIEW:
        return _answer_from(action, sees)
    if action is Action.KEEP_PRIVATE:
        private = Decision(
            sees.allowed, sees.rule, "Images stay private until their owner publishes them (R5)."
        )
        return _answer_from(action, private if sees.allowed else sees)
    if action in _PUBLISHES and details.keeps_disclosure is False:
        return _answer_from(action, disclosure_permits(False, derivative=action in _DERIVATIVE))
    if action is Action.PUBLISH:
        anonymous = uuid.UUID(int=0)  # nobody signed in: no owner has this id
        return _answer_from(action, may_publish_generation(asker_id or anonymous, generation))
    if action is Action.SELL:
        if is_owner:
            decision = may_publish_generation(generation.owner_id, generation)
            if decision.allowed:
                decision = Decision(True, Rule.R6, "Owners sell their images at their own terms.")
            return _answer_from(action, decision, "its content credentials stay on the file (R9)")
        return _answer_from(
            action,
            Decision(
                False,
                Rule.R6,
                f"Only the owner, @{owner}, sells this image; a license grants uses, never the "
                "right to resell (R8).",
            ),
        )
    purpose = _PURPOSE[action]
    derivative = (DERIVATIVE_DISCLOSURE,) if action in _DERIVATIVE else ()
    if is_owner:
        reason = "Images made with your model are yours (R3)."
        return _answer_from(action, Decision(True, Rule.R3, reason), *derivative)
    if action is Action.TRAIN:
        opted_out = image.training_mining == "notAllowed"
        training = may_train_on_generation(asker_id, generation, opted_out=opted_out)
        if not training.allowed:
            return _answer_from(action, training)
    held = [
        grant
        for grant in image.grants
        if grant.licensee_id == asker_id
        and grant.subject_id == generation.id
        and grant.licensor_id == generation.owner_id
    ]
    use = details.for_purpose(purpose)
    decisions = [license_permits(grant, use, at=at) for grant in held]
    covering = next((decision for decision in decisions if decision.allowed), None)
    if covering is not None:
        reason = f"Your license from @{owner} grants {purpose.value} use (R8)."
        return _answer_from(
            action,
            TermDecision(True, Rule.R8, reason, covering.term),
            *covering.conditions,
            *derivative,
        )
    if decisions:
        # A license that names the use but fails another term says more than one that does not.
        refusal = min(decisions, key=lambda decision: decision.term is LicenseTerm.PURPOSE)
        reason = f"Your license from @{owner}: {refusal.reason}"
        return _answer_from(action, TermDecision(False, Rule.R8, reason, refusal.term))
    rule = Rule.R4 if asker_id == generation.maker_id else Rule.R8
    reason = (
        f"The image belongs to @{owner}, the model's owner (R4); no license of yours grants "
        f"{purpose.value} use. Buy a license from @{owner} first."
    )
    return _answer_from(action, Decision(False, rule, reason))


# ------------------------------------------------------------------------------ other services


def _advise_external(
    image: ExternalImage,
    action: Action,
    today: date,
    policies: Mapping[str, ServicePolicy],
    details: UseDetails = NOTHING_SAID,
) -> Answer:
    policy = policies.get(image.service) or policies["unknown"]
    version = policy.version_on(image.made_on or today)
    if action in (Action.VIEW, Action.KEEP_PRIVATE):
        return Answer(
            action,
            Outcome.ALLOWED,
            "No terms restrict looking at or keeping a file you have.",
            "no restriction applies",
        )
    if image.training_mining == "notAllowed" and action is Action.TRAIN:
        return Answer(
            action,
            Outcome.NOT_ALLOWED,
            "The file's own content credentials say its owner does not allow AI training.",
            "the file's cawg.training-mining assertion",
        )
    if policy.service == "unknown" or version is None:
        return Answer(
            action,
            Outcome.UNKNOWN,
            "Nothing is known about the terms this image was made under.",
            policy.current.source or "no terms known",
            to_find_out=(
                "which service or tool made it",
                "who generated it",
                "when it was made",
                "which plan was used",
            ),
            copyright_note=COPYRIGHT_NOTE,
        )
    draft = _external_draft(policy, version, image, action, details)
    return Answer(
        action,
        draft.outcome,
        f"{policy.name}: {draft.reason}",
        version.source,
        policy_date=version.effective_from,
        conditions=tuple(draft.conditions),
        to_find_out=draft.to_find_out,
        copyright_note=COPYRIGHT_NOTE,
    )


def _external_draft(
    policy: ServicePolicy,
    version: PolicyVersion,
    image: ExternalImage,
    action: Action,
    details: UseDetails,
) -> _Draft:
    """The outcome under one dated version of a service's terms."""
    if image.generated_by_asker is None:
        return _Draft(
            Outcome.UNKNOWN,
            "Under these terms the person who generated an image owns it; say whether you did.",
            to_find_out=("who generated it",),
        )
    if not image.generated_by_asker:
        return _Draft(
            Outcome.NOT_ALLOWED,
            f"{version.others_images} Using someone else's image needs their permission. "
            + version.clause,
            ["ask the person who generated it for permission or a license"],
        )
    if version.output_owner == "service":
        if action in (Action.PUBLISH, Action.PRINT, Action.EDITORIAL_USE):
            return _Draft(
                Outcome.ALLOWED_WITH_CONDITIONS,
                version.clause,
                ["for non-commercial use only: the service, not you, owns the image"],
            )
        return _Draft(Outcome.NOT_ALLOWED, version.clause)
    if version.output_owner == "unknown":
        return _Draft(Outcome.UNKNOWN, version.clause, to_find_out=("the terms in force then",))
    if version.free_plan is not None and image.plan == "free":
        return _free_plan_draft(version.free_plan, action, details)
    if version.paid_plan_required and image.plan in (None, "", "free"):
        if image.plan == "free":
            return _Draft(
                Outcome.UNKNOWN,
                "Ownership is granted to paying subscribers; free use is licensed differently. "
                + version.clause,
                to_find_out=("the terms that applied to free use when it was made",),
            )
        return _Draft(
            Outcome.UNKNOWN,
            "You own what you make on a paid plan. " + version.clause,
            to_find_out=("which plan you were on",),
        )
    over_1m = bool(image.asker_revenue_over_1m)
    if (
        over_1m
        and version.large_company_revenue_usd
        and (image.plan or "").lower() not in version.large_company_plans
    ):
        plans = " or ".join(p.capitalize() for p in version.large_company_plans)
        return _Draft(
            Outcome.NOT_ALLOWED,
            f"A company earning over USD {version.large_company_revenue_usd:,} a year owns its "
            f"images only on the {plans} plan. {version.clause}",
            [f"upgrade to {plans}"],
        )
    if action is Action.TRAIN and version.train_derivatives is not Outcome.UNKNOWN:
        return _training_draft(version, details)
    if action is Action.TRAIN:
        reason = (
            version.clause
            if version.train_other_models is not Outcome.UNKNOWN
            else "These terms say nothing clear about training other models on their images."
        )
        limits = [version.train_condition] if version.train_condition else []
        return _Draft(version.train_other_models, reason, limits)
    conditions: list[str] = []
    outcome = Outcome.ALLOWED
    if action in _COMMERCIAL:
        if over_1m and version.revenue_cap_usd:
            return _Draft(
                Outcome.NOT_ALLOWED,
                f"Commercial use is free below USD {version.revenue_cap_usd:,} annual revenue; "
                f"above it an enterprise license is needed. {version.clause}",
                ["buy the service's enterprise license"],
            )
        outcome = version.commercial_use
        if version.commercial_condition:
            conditions.append(version.commercial_condition)
        if image.asker_revenue_over_1m is None and version.revenue_cap_usd:
            conditions.append(f"your annual revenue is under USD {version.revenue_cap_usd:,}")
    if version.disclosure == "required" and action in _USES:
        conditions.append("say that it is AI-generated; never present it as made by hand")
    if action in _DERIVATIVE:
        conditions.append("say what your work was traced or derived from")
    if conditions and outcome is Outcome.ALLOWED:
        outcome = Outcome.ALLOWED_WITH_CONDITIONS
    return _Draft(outcome, "You generated it, so you own it. " + version.clause, conditions)


def _free_plan_draft(terms: FreePlanTerms, action: Action, details: UseDetails) -> _Draft:
    """A free plan's images under the license the service grants for them (a Creative Commons
    license, say): commercial uses as that license says, others within its conditions."""
    if action is Action.TRAIN:
        return _Draft(
            Outcome.UNKNOWN,
            f"{terms.clause} The {terms.license_name} license does not say whether AI training "
            "is a use it grants.",
            to_find_out=("whether the training is non-commercial and credits the creator",),
        )
    if action in _COMMERCIAL and terms.commercial_use is Outcome.NOT_ALLOWED:
        return _Draft(
            Outcome.NOT_ALLOWED,
            f"{terms.clause} Commercial use is not granted ({terms.license_url}).",
            ["a paid plan, for images made after you subscribe"],
        )
    if terms.attribution_required and details.credit_given is False:
        return _Draft(
            Outcome.NOT_ALLOWED,
            f"{terms.clause} {terms.license_name} requires attribution; a use without the "
            f"credit is not granted ({terms.license_url}).",
        )
    conditions = []
    if terms.commercial_use is Outcome.NOT_ALLOWED:
        conditions.append(f"for non-commercial use only, under {terms.license_name}")
    if terms.attribution_required:
        conditions.append(f"give the attribution {terms.license_name} requires")
    if action in _DERIVATIVE:
        conditions.append("say what your work was traced or derived from")
    outcome = Outcome.ALLOWED_WITH_CONDITIONS if conditions else Outcome.ALLOWED
    return _Draft(outcome, f"{terms.clause} ({terms.license_url})", conditions)


def _training_draft(version: PolicyVersion, details: UseDetails) -> _Draft:
    """Training on an image where the terms treat a derivative of the model that made it (a
    fine-tune or LoRA) apart from other models."""
    if details.trains_derivative is True:
        return _Draft(version.train_derivatives, version.clause)
    if details.trains_derivative is False:
        limits = [version.train_condition] if version.train_condition else []
        return _Draft(version.train_other_models, version.clause, limits)
    if version.train_derivatives is version.train_other_models:
        return _Draft(version.train_derivatives, version.clause)
    condition = version.train_derivatives_condition or "the model you train derives from it"
    if version.train_derivatives is Outcome.NOT_ALLOWED:
        return _Draft(version.train_other_models, version.clause, [condition])
    return _Draft(Outcome.ALLOWED_WITH_CONDITIONS, version.clause, [condition])


def may_use_under_service_terms(
    image: ExternalImage,
    action: Action,
    *,
    on: date,
    policies: Mapping[str, ServicePolicy],
    details: UseDetails = NOTHING_SAID,
) -> Decision:
    """R10: an image from another AI service may be used only as that service's dated terms allow;
    an answer that cannot be told yet is no permission."""
    answer = _advise_external(image, action, on, policies, details)
    allowed = answer.outcome in (Outcome.ALLOWED, Outcome.ALLOWED_WITH_CONDITIONS)
    dated = f" (terms of {answer.policy_date.isoformat()})" if answer.policy_date else ""
    within = f" Only if: {'; '.join(answer.conditions)}." if answer.conditions else ""
    return Decision(allowed, Rule.R10, f"{answer.reason}{within} Source: {answer.source}{dated}")


def advise_all(
    image: ExternalImage | HallmarkImage,
    asker_id: uuid.UUID | None,
    actions: Sequence[Action],
    *,
    at: datetime,
    policies: Mapping[str, ServicePolicy],
    details: UseDetails = NOTHING_SAID,
) -> list[Answer]:
    """Answers for several actions at once."""
    return [
        advise(image, asker_id, action, at=at, policies=policies, details=details)
        for action in actions
    ]
