"""Use cases of rights advice: gather an image's facts from records, credentials or the asker."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.db import utcnow
from hallmark.errors import NotFound
from hallmark.generations.facts import generation_facts
from hallmark.generations.models import Generation
from hallmark.generations.repository import GenerationRepository
from hallmark.instance import Instance
from hallmark.licensing.facts import usage_grant
from hallmark.licensing.repository import LicensingRepository
from hallmark.provenance.service import VerificationReport, verify_file
from hallmark.rights.advisor import (
    NOTHING_SAID,
    Action,
    Answer,
    ExternalImage,
    HallmarkImage,
    UseDetails,
    advise,
)
from hallmark.rights.policies import load_policies
from hallmark.styles.facts import model_facts
from hallmark.styles.repository import StyleRepository

# How other services name themselves in the content credentials they write.
GENERATOR_SERVICES = {
    "openai": "openai",
    "dall": "openai",
    "chatgpt": "openai",
    "firefly": "adobe-firefly",
    "adobe": "adobe-firefly",
    "midjourney": "midjourney",
    "stability": "stability-hosted",
}


@dataclass(frozen=True)
class SuppliedFacts:
    """What the asker says about an image that its file and our records cannot tell."""

    service: str | None = None
    plan: str | None = None
    made_on: date | None = None
    generated_by_me: bool | None = None
    revenue_over_1m: bool | None = None


@dataclass(frozen=True)
class Advice:
    """An answer, and where the facts it rests on came from."""

    answer: Answer
    facts_from: str  # "hallmark records", "content credentials", "what you told us"
    generation_id: uuid.UUID | None = None


def hallmark_image(session: Session, generation: Generation) -> HallmarkImage:
    """A Hallmark image's facts from the records: owner, model, licenses, and whether its owner
    allows AI training on it (the model's choice, which its content credentials carry)."""
    style = StyleRepository(session).get(generation.style_id)
    owner = UserRepository(session).get(generation.owner_id)
    grants = tuple(
        usage_grant(lic) for lic in LicensingRepository(session).licenses_for_image(generation.id)
    )
    return HallmarkImage(
        generation_facts(generation),
        model_facts(style),
        owner.username,
        grants,
        training_mining="allowed" if style.allow_ai_training else "notAllowed",
    )


def advise_on_generation(
    session: Session,
    user: User | None,
    generation_id: uuid.UUID,
    action: Action,
    details: UseDetails = NOTHING_SAID,
) -> Advice:
    """Advice on a Hallmark image the asker may see; to anyone else it does not exist."""
    generation = GenerationRepository(session).get(generation_id)
    image = hallmark_image(session, generation)
    user_id = user.id if user else None
    if not rights.may_view_generation(user_id, image.generation, image.grants, at=utcnow()):
        raise NotFound("No such image.")
    answer = advise(image, user_id, action, at=utcnow(), policies=load_policies(), details=details)
    return Advice(answer, "hallmark records", generation.id)


def advise_on_supplied_facts(
    facts: SuppliedFacts, action: Action, details: UseDetails = NOTHING_SAID
) -> Advice:
    """Advice on another service's image from what the asker says about it."""
    image = ExternalImage(
        service=facts.service or "unknown",
        made_on=facts.made_on,
        generated_by_asker=facts.generated_by_me,
        plan=facts.plan,
        asker_revenue_over_1m=facts.revenue_over_1m,
    )
    answer = advise(image, None, action, at=utcnow(), policies=load_policies(), details=details)
    return Advice(answer, "what you told us")


def advise_on_file(
    session: Session,
    instance: Instance,
    user: User | None,
    data: bytes,
    action: Action,
    supplied: SuppliedFacts,
    details: UseDetails = NOTHING_SAID,
) -> Advice:
    """Advice on any file: a Hallmark image by credentials or fingerprint, else others' terms."""
    report = verify_file(session, instance, data)
    generation_id = _hallmark_generation_id(report)
    generation = GenerationRepository(session).get_or_none(generation_id) if generation_id else None
    if generation is not None:
        ours = hallmark_image(session, generation)
        asker = user.id if user else None
        answer = advise(ours, asker, action, at=utcnow(), policies=load_policies(), details=details)
        return Advice(answer, "hallmark records", generation.id)
    service = supplied.service or _service_of(report)
    training = report.training_mining.get("cawg.ai_training") or report.training_mining.get(
        "cawg.ai_generative_training"
    )
    image = ExternalImage(
        service=service or "unknown",
        made_on=supplied.made_on,
        generated_by_asker=supplied.generated_by_me,
        plan=supplied.plan,
        asker_revenue_over_1m=supplied.revenue_over_1m,
        training_mining=training,
    )
    answer = advise(image, None, action, at=utcnow(), policies=load_policies(), details=details)
    source = "content credentials" if report.generator else "what you told us"
    return Advice(answer, source)


def _hallmark_generation_id(report: VerificationReport) -> uuid.UUID | None:
    """The Hallmark generation a file is: from intact credentials, or a stripped copy's hash."""
    if report.verdict in ("trusted", "untrusted"):
        generation = report.facts.get("generation") or {}
        try:
            return uuid.UUID(str(generation.get("generation_id")))
        except ValueError:
            return None
    for match in report.registry_matches:
        if match.kind == "generation":
            return match.id
    return None


def _service_of(report: VerificationReport) -> str | None:
    """Which service wrote a file's credentials, if it names one we know."""
    name = (report.generator or "").lower()
    return next((key for word, key in GENERATOR_SERVICES.items() if word in name), None)
