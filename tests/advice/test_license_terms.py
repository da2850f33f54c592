"""A license's terms asked of real records and over HTTP: advisor, download, help page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from hallmark.accounts.models import User
from hallmark.advice.service import advise_on_generation
from hallmark.db import utcnow
from hallmark.errors import Forbidden, InvalidInput
from hallmark.generations.models import Generation
from hallmark.generations.service import download_generation
from hallmark.licensing import service as licensing
from hallmark.licensing.models import License
from hallmark.licensing.payments import RecordedPayments
from hallmark.rights import LicenseTerm
from hallmark.rights import guide as guide_module
from hallmark.rights.advisor import Action, UseDetails
from hallmark.rights.policies import Outcome
from hallmark.styles.models import StyleModel
from tests.conftest import Generate


@pytest.fixture
def image(generate: Generate, maker: User, public_style: StyleModel) -> Generation:
    """An image the maker made with the owner's public style: the owner's under R4."""
    return generate(maker, public_style)


def license_us_only(session: Session, owner: User, buyer: User, image: Generation) -> License:
    """The buyer takes the owner's Standard offer, sold for the US with a credit required."""
    offer = licensing.create_offer(
        session,
        owner,
        template="standard",
        price_minor=1500,
        generation_id=image.id,
        overrides={"territory": "US", "attribution_required": True},
    )
    return licensing.purchase_license(
        session,
        buyer,
        image.id,
        offer.id,
        idempotency_key="terms",
        payments=RecordedPayments(),
        platform_fee_bps=2000,
    )


def test_the_licensees_questions_are_decided_by_the_terms_sold(
    session: Session, owner: User, maker: User, image: Generation
) -> None:
    license_us_only(session, owner, maker, image)

    def ask(action: Action, **said: object) -> tuple[Outcome, LicenseTerm | None, str]:
        details = UseDetails(**said)  # type: ignore[arg-type]
        answer = advise_on_generation(session, maker, image.id, action, details).answer
        return answer.outcome, answer.term, answer.reason

    in_france = ask(Action.COMMERCIAL_USE, territory="FR")
    assert in_france[:2] == (Outcome.NOT_ALLOWED, LicenseTerm.TERRITORY)
    assert "covers US only" in in_france[2]
    assert ask(Action.PRINT, copies=600_000)[:2] == (Outcome.NOT_ALLOWED, LicenseTerm.COPY_CAP)
    uncredited = ask(Action.COMMERCIAL_USE, credit_given=False)
    assert uncredited[:2] == (Outcome.NOT_ALLOWED, LicenseTerm.ATTRIBUTION)
    kept = ask(Action.COMMERCIAL_USE, territory="US", copies=1000, credit_given=True)
    assert kept[0] is Outcome.ALLOWED
    assert ask(Action.EDITORIAL_USE)[0] is Outcome.ALLOWED_WITH_CONDITIONS
    assert ask(Action.MERCHANDISE)[:2] == (Outcome.NOT_ALLOWED, LicenseTerm.PURPOSE)


def test_an_offer_for_a_territory_nobody_can_check_is_refused(
    session: Session, owner: User, image: Generation
) -> None:
    with pytest.raises(InvalidInput, match="Narnia"):
        licensing.create_offer(
            session,
            owner,
            template="standard",
            price_minor=1500,
            generation_id=image.id,
            overrides={"territory": "Narnia"},
        )


def test_a_revoked_license_no_longer_downloads_and_says_so(
    session: Session, owner: User, maker: User, image: Generation
) -> None:
    license_ = license_us_only(session, owner, maker, image)
    assert download_generation(session, maker, image.id).id == image.id

    license_.revoked_at = utcnow()
    session.flush()

    with pytest.raises(Forbidden, match="revoked") as refused:
        download_generation(session, maker, image.id)
    assert refused.value.rule == "R8"


def test_training_on_an_image_follows_its_models_opt_out(
    session: Session, maker: User, public_style: StyleModel, image: Generation
) -> None:
    opted_out = advise_on_generation(session, maker, image.id, Action.TRAIN).answer
    public_style.allow_ai_training = True
    session.flush()
    allowed_but_unlicensed = advise_on_generation(session, maker, image.id, Action.TRAIN).answer

    assert opted_out.outcome is Outcome.NOT_ALLOWED and opted_out.source.endswith("R2")
    assert "opted this image out" in opted_out.reason
    assert allowed_but_unlicensed.outcome is Outcome.NOT_ALLOWED
    assert allowed_but_unlicensed.source.endswith("R4")


def test_the_api_takes_the_facts_of_a_use_and_answers_with_the_terms(client: TestClient) -> None:
    trial = client.post(
        "/api/rights",
        json={
            "action": "sell",
            "service": "midjourney",
            "plan": "free",
            "made_on": "2022-10-01",
            "generated_by_me": True,
        },
    ).json()
    lora = client.post(
        "/api/rights",
        json={
            "action": "train",
            "service": "stability-community",
            "generated_by_me": True,
            "trains_derivative": True,
        },
    ).json()
    uncredited = client.post(
        "/api/rights",
        json={
            "action": "editorial_use",
            "service": "midjourney",
            "plan": "free",
            "made_on": "2022-10-01",
            "generated_by_me": True,
            "credit_given": False,
            "territory": "fr",
            "copies": 2000,
            "use_on": "2022-11-01",
        },
    ).json()

    assert trial["outcome"] == "not_allowed" and "CC BY-NC 4.0" in trial["reason"]
    assert trial["policy_date"] == "2022-08-28" and trial["term"] is None
    assert lora["outcome"] == "allowed" and "Derivative Works" in lora["reason"]
    assert uncredited["outcome"] == "not_allowed" and "attribution" in uncredited["reason"]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("territory", "France", "ISO 3166-1"),
        ("territory", "XX", "ISO 3166-1"),
        ("copies", 0, "greater than or equal to 1"),
        ("copies", 10**13, "less than or equal to"),
        ("use_on", "next week", "date"),
        ("credit_given", "perhaps", "boolean"),
    ],
)
def test_the_api_refuses_malformed_facts_by_name(
    client: TestClient, field: str, value: object, words: str
) -> None:
    answer = client.post("/api/rights", json={"action": "print", field: value})

    assert answer.status_code == 422, answer.text
    message = answer.json()["error"]["message"]
    assert field in message and words in message, message


def test_the_help_page_renders_markdown_as_markup_never_as_marks(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = client.get("/help/ownership")
    assert page.status_code == 200
    assert "`" not in page.text
    assert "<code>hallmark rights FILE --action trace</code>" in page.text
    assert "CC BY-NC 4.0" in page.text and "LoRA" in page.text

    monkeypatch.setattr(guide_module, "INTRO", "Say **<b>no</b>** to `<script>x</script>`.")
    hostile = client.get("/help/ownership").text

    assert "<strong>&lt;b&gt;no&lt;/b&gt;</strong>" in hostile
    assert "<code>&lt;script&gt;x&lt;/script&gt;</code>" in hostile
    assert "<script>x" not in hostile
