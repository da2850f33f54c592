"""Request and response shapes of the rights-advice API."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field

from hallmark.advice.service import Advice
from hallmark.rights.advisor import Action


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


class RightsAnswer(BaseModel):
    """The answer, its authority, and where its facts came from."""

    action: str
    outcome: str
    reason: str
    source: str
    policy_date: date | None
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
            conditions=list(answer.conditions),
            to_find_out=list(answer.to_find_out),
            copyright_note=answer.copyright_note,
            facts_from=advice.facts_from,
            generation_id=advice.generation_id,
            summary=answer.in_plain_words(),
        )
