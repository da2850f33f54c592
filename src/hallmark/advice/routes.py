"""HTTP routes of rights advice."""

from __future__ import annotations

from fastapi import APIRouter

from hallmark.advice import service
from hallmark.advice.schemas import RightsAnswer, RightsQuestion
from hallmark.deps import OptionalUser, SessionDep

router = APIRouter(tags=["rights"])


@router.post("/api/rights", response_model=RightsAnswer)
def ask_about_rights(
    question: RightsQuestion, user: OptionalUser, session: SessionDep
) -> RightsAnswer:
    """May I trace, sell, modify, print or train on this image? With the rule, term or clause."""
    if question.generation_id is not None:
        advice = service.advise_on_generation(
            session, user, question.generation_id, question.action, question.use_details()
        )
    else:
        facts = service.SuppliedFacts(
            service=question.service,
            plan=question.plan,
            made_on=question.made_on,
            generated_by_me=question.generated_by_me,
            revenue_over_1m=question.revenue_over_1m,
        )
        advice = service.advise_on_supplied_facts(facts, question.action, question.use_details())
    return RightsAnswer.from_advice(advice)
