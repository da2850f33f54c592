"""Request and response shapes of the rights-advice API."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field, field_validator

from hallmark.advice.service import Advice
from hallmark.rights.advisor import Action, UseDetails
from hallmark.rights.territories import TerritoryError, country_code

MAX_COPIES = 10**12  # more copies, or a larger audience, than anyone could reach


class RightsQuestion(BaseModel):
    """Ask about a Hallmark image by id, or describe another service's image."""

    action: Action
    generation_id: uuid.UUID | None = None
    service: str | None = Field(
        default=None, max_length=64, examples=["midjourney", "openai", "stability-hosted"]
    )
    plan: str | None = Field(default=None, max_length=32)
    made_on: date | None = None
    generated_by_me: bool | None = None
    revenue_over_1m: bool | None = None
    territory: str | None = Field(
        default=None,
        description="The country of use, as an ISO 3166-1 alpha-2 code",
        examples=["FR"],
    )
    copies: int | None = Field(
        default=None, ge=1, le=MAX_COPIES, description="Copies made, or the audience reached"
    )
    credit_given: bool | None = Field(
        default=None, description="Whether the image's owner is credited where it is used"
    )
    use_on: date | None = Field(default=None, description="The day of use; today if not given")
    keeps_ai_disclosure: bool | None = Field(
        default=None,
        description="Whether what you publish keeps the image's AI disclosure (R9)",
    )
    trains_derivative: bool | None = Field(
        default=None,
        description="Whether the model you train is a fine-tune or LoRA of the model that made it",
    )

    @field_validator("territory")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        """A country of use is a real ISO 3166-1 code, refused by name otherwise."""
        if value is None:
            return None
        try:
            return country_code(value)
        except TerritoryError as error:
            raise ValueError(str(error)) from None

    def use_details(self) -> UseDetails:
        """What the asker said about how they will use the image."""
        return UseDetails(
            territory=self.territory,
            copies=self.copies,
            credit_given=self.credit_given,
            on=self.use_on,
            keeps_disclosure=self.keeps_ai_disclosure,
            trains_derivative=self.trains_derivative,
        )


class RightsAnswer(BaseModel):
    """The answer, its authority, and where its facts came from."""

    action: str
    outcome: str
    reason: str
    source: str
    policy_date: date | None
    term: str | None = Field(description="The license term that decided the answer, if one did")
    conditions: list[str]
    to_find_out: list[str]
    copyright_note: str | None
    facts_from: str
    generation_id: uuid.UUID | None
    summary: str

    @classmethod
    def from_advice(cls, advice: Advice) -> RightsAnswer:
        """Build the response from the service's value."""
        answer = advice.answer
        return cls(
            action=answer.action.value,
            outcome=answer.outcome.value,
            reason=answer.reason,
            source=answer.source,
            policy_date=answer.policy_date,
            term=answer.term.value if answer.term else None,
            conditions=list(answer.conditions),
            to_find_out=list(answer.to_find_out),
            copyright_note=answer.copyright_note,
            facts_from=advice.facts_from,
            generation_id=advice.generation_id,
            summary=answer.in_plain_words(),
        )
