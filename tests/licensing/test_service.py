"""Offers, purchases, the ledger they write, and who may see which license (R6, R7, R8, R11)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.db import utcnow
from hallmark.errors import Conflict, Forbidden, InvalidInput, NotFound
from hallmark.generations.models import Generation
from hallmark.generations.service import clear_near_copy, download_generation
from hallmark.ledger import service as ledger
from hallmark.licensing import service
from hallmark.licensing.facts import usage_grant
from hallmark.licensing.models import License, LicenseOffer
from hallmark.licensing.payments import RecordedPayments
from hallmark.styles.models import StyleModel
from hallmark.styles.service import unpublish_style
from tests.conftest import Generate, MakeStyle

FEE_BPS = 2000


@pytest.fixture
def image(generate: Generate, maker: User, public_style: StyleModel) -> Generation:
    """An image the maker made with the owner's public style: the owner's under R4."""
    return generate(maker, public_style)


def buy(
    session: Session, buyer: User, image: Generation, offer: LicenseOffer, key: str = "k1"
) -> License:
    """Purchase with the embedded payment provider and the default platform fee."""
    return service.purchase_license(
        session,
        buyer,
        image.id,
        offer.id,
        idempotency_key=key,
        payments=RecordedPayments(),
        platform_fee_bps=FEE_BPS,
    )


def test_the_maker_licenses_the_owners_image_and_the_owner_earns_r6(
    session: Session, owner: User, maker: User, image: Generation
) -> None:
    offer = service.create_offer(
        session, owner, template="standard", price_minor=1500, generation_id=image.id
    )

    license_ = buy(session, maker, image, offer)

    assert (license_.licensor_id, license_.licensee_id) == (owner.id, maker.id)
    assert license_.channel == "owner"
    assert (license_.price_minor, license_.owner_share_minor, license_.platform_share_minor) == (
        1500,
        1500,
        0,
    )
    assert ledger.balance_due(session, owner.id, "EUR") == 1500
    assert service.reconcile(session).ok
    # The license lets the maker download the image it grants uses of (R4, R8).
    assert download_generation(session, maker, image.id).id == image.id


def test_a_model_wide_offer_is_sold_by_the_platform_with_its_fee_r7(
    session: Session, owner: User, maker: User, image: Generation, public_style: StyleModel
) -> None:
    offer = service.create_offer(
        session, owner, template="extended", price_minor=999, style_id=public_style.id
    )

    license_ = buy(session, maker, image, offer)

    assert license_.channel == "platform"
    assert (license_.owner_share_minor, license_.platform_share_minor) == (800, 199)
    assert ledger.balance_due(session, owner.id, "EUR") == 800
    report = service.reconcile(session)
    assert report.ok, report.problems
    assert report.balances[(ledger.REVENUE, "EUR")] == -199
    assert report.balances[(ledger.CASH, "EUR")] == 999


def test_the_platform_does_not_sell_for_an_unpublished_model_r7(
    session: Session, owner: User, maker: User, image: Generation, public_style: StyleModel
) -> None:
    offer = service.create_offer(
        session, owner, template="standard", price_minor=500, style_id=public_style.id
    )
    unpublish_style(session, owner, public_style.id)

    assert service.offers_for_image(session, maker, image.id) == []
    with pytest.raises(Conflict, match="no longer open"):
        buy(session, maker, image, offer)
    # The image is still the owner's, and the owner may still sell it directly (R5, R6).
    direct = service.create_offer(
        session, owner, template="standard", price_minor=700, generation_id=image.id
    )
    assert buy(session, maker, image, direct, key="k2").licensor_id == owner.id


def test_a_stranger_cannot_see_or_buy_an_image_of_someone_elses_private_model(
    session: Session,
    owner: User,
    maker: User,
    stranger: User,
    make_style: MakeStyle,
    generate: Generate,
) -> None:
    private = make_style(owner)
    image = generate(owner, private)
    offer = service.create_offer(
        session, owner, template="standard", price_minor=500, style_id=private.id
    )

    with pytest.raises(NotFound):
        service.offers_for_image(session, stranger, image.id)
    with pytest.raises(NotFound):
        buy(session, stranger, image, offer)


def test_a_near_copy_cannot_be_offered_or_bought_until_cleared_r11(
    session: Session, owner: User, maker: User, image: Generation, public_style: StyleModel
) -> None:
    offer = service.create_offer(
        session, owner, template="standard", price_minor=500, style_id=public_style.id
    )
    image.near_copy = True
    session.flush()

    with pytest.raises(Forbidden) as refused:
        service.create_offer(
            session, owner, template="standard", price_minor=500, generation_id=image.id
        )
    assert refused.value.rule == rights.Rule.R11
    assert service.offers_for_image(session, maker, image.id) == []
    with pytest.raises(Forbidden) as bought:
        buy(session, maker, image, offer)
    assert bought.value.rule == rights.Rule.R11

    clear_near_copy(session, owner, image.id, "a common motif")
    assert buy(session, maker, image, offer).licensee_id == maker.id


def test_a_retried_purchase_returns_the_first_license_and_charges_once(
    session: Session, owner: User, maker: User, image: Generation
) -> None:
    offer = service.create_offer(
        session, owner, template="standard", price_minor=1200, generation_id=image.id
    )

    first = buy(session, maker, image, offer, key="retry-me")
    again = buy(session, maker, image, offer, key="retry-me")

    assert again.id == first.id
    assert ledger.balance_due(session, owner.id, "EUR") == 1200
    assert len(service.my_purchases(session, maker)) == 1
    other = service.create_offer(
        session, owner, template="extended", price_minor=3000, generation_id=image.id
    )
    with pytest.raises(Conflict, match="different purchase"):
        buy(session, maker, image, other, key="retry-me")


def test_an_exclusive_license_is_sold_once_and_ends_every_offer(
    session: Session,
    owner: User,
    maker: User,
    stranger: User,
    image: Generation,
    public_style: StyleModel,
) -> None:
    exclusive = service.create_offer(
        session,
        owner,
        template="extended",
        price_minor=50_000,
        exclusive=True,
        generation_id=image.id,
    )
    service.create_offer(
        session, owner, template="standard", price_minor=500, style_id=public_style.id
    )

    license_ = buy(session, maker, image, exclusive)

    assert license_.exclusive and license_.exclusive_generation_id == image.id
    assert service.offers_for_image(session, owner, image.id) == []
    with pytest.raises(Conflict):
        buy(session, maker, image, exclusive, key="second")


def test_an_exclusive_offer_closes_once_someone_holds_a_license(
    session: Session, owner: User, maker: User, image: Generation
) -> None:
    standard = service.create_offer(
        session, owner, template="standard", price_minor=500, generation_id=image.id
    )
    exclusive = service.create_offer(
        session,
        owner,
        template="extended",
        price_minor=9000,
        exclusive=True,
        generation_id=image.id,
    )
    buy(session, maker, image, standard)

    open_ids = {found.offer.id for found in service.offers_for_image(session, maker, image.id)}
    assert open_ids == {standard.id}
    with pytest.raises(Conflict, match="no longer open"):
        buy(session, maker, image, exclusive, key="k2")


def test_a_withdrawn_offer_sells_nothing_but_its_licenses_stay_valid(
    session: Session, owner: User, maker: User, image: Generation
) -> None:
    offer = service.create_offer(
        session, owner, template="personal", price_minor=300, generation_id=image.id
    )
    license_ = buy(session, maker, image, offer)

    service.withdraw_offer(session, owner, offer.id)

    with pytest.raises(Conflict, match="no longer open"):
        buy(session, maker, image, offer, key="k2")
    assert service.get_license(session, maker, license_.id).id == license_.id
    assert usage_grant(service.get_license(session, maker, license_.id)).purposes == {
        rights.Purpose.PERSONAL
    }


def test_only_the_owner_offers_and_withdraws_r6(
    session: Session, owner: User, maker: User, image: Generation, public_style: StyleModel
) -> None:
    with pytest.raises(Forbidden) as on_image:
        service.create_offer(
            session, maker, template="standard", price_minor=1, generation_id=image.id
        )
    assert on_image.value.rule == rights.Rule.R6
    with pytest.raises(Forbidden):
        service.create_offer(
            session, maker, template="standard", price_minor=1, style_id=public_style.id
        )
    offer = service.create_offer(
        session, owner, template="standard", price_minor=1, generation_id=image.id
    )
    with pytest.raises(NotFound):
        service.withdraw_offer(session, maker, offer.id)


def test_an_owner_cannot_buy_their_own_image(
    session: Session, owner: User, image: Generation
) -> None:
    offer = service.create_offer(
        session, owner, template="standard", price_minor=1, generation_id=image.id
    )

    with pytest.raises(Forbidden, match="own this image"):
        buy(session, owner, image, offer)


@pytest.mark.parametrize("key", ["", "x" * 129, "tab\there"])
def test_a_bad_idempotency_key_is_refused(
    session: Session, owner: User, maker: User, image: Generation, key: str
) -> None:
    offer = service.create_offer(
        session, owner, template="standard", price_minor=1, generation_id=image.id
    )

    with pytest.raises(InvalidInput, match="idempotency key"):
        buy(session, maker, image, offer, key=key)


def test_licenses_are_seen_by_their_parties_only(
    session: Session, owner: User, maker: User, stranger: User, image: Generation
) -> None:
    offer = service.create_offer(
        session, owner, template="cc-by", price_minor=0, generation_id=image.id
    )
    license_ = buy(session, maker, image, offer)

    assert [lic.id for lic in service.licenses_for_image(session, owner, image.id)] == [license_.id]
    assert [lic.id for lic in service.licenses_for_image(session, maker, image.id)] == [license_.id]
    with pytest.raises(NotFound):
        service.get_license(session, stranger, license_.id)
    with pytest.raises(NotFound):
        service.licenses_for_image(session, stranger, image.id)
    # A free license moves no money.
    assert license_.ledger_transaction_id is None
    assert ledger.balance_due(session, owner.id, "EUR") == 0


def test_earnings_are_totalled_per_model_month_and_currency(
    session: Session,
    owner: User,
    maker: User,
    stranger: User,
    generate: Generate,
    make_style: MakeStyle,
    public_style: StyleModel,
) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Months are UTC months whatever the database session's own time zone.
        session.execute(text("SET LOCAL TIME ZONE 'Europe/Paris'"))
    second_style = make_style(owner, public=True)
    strangers_style = make_style(stranger, public=True)
    first, second, third = (
        generate(maker, public_style),
        generate(maker, public_style),
        generate(maker, second_style),
    )
    wide = service.create_offer(
        session, owner, template="standard", price_minor=1000, style_id=public_style.id
    )
    direct = service.create_offer(
        session, owner, template="standard", price_minor=500, generation_id=third.id
    )
    in_dollars = service.create_offer(
        session,
        owner,
        template="standard",
        price_minor=300,
        currency="USD",
        style_id=second_style.id,
    )
    theirs = service.create_offer(
        session, stranger, template="standard", price_minor=700, style_id=strangers_style.id
    )
    last_january = buy(session, maker, first, wide, key="january")
    last_january.created_at = datetime(2025, 1, 31, 23, 30, tzinfo=UTC)  # 00:30 in Paris
    session.flush()
    buy(session, maker, second, wide, key="a")
    buy(session, stranger, second, wide, key="b")
    buy(session, maker, third, direct, key="c")
    buy(session, maker, third, in_dollars, key="d")
    buy(session, maker, generate(maker, strangers_style), theirs, key="e")  # not the owner's
    this_month = utcnow().strftime("%Y-%m")

    rows = service.earnings_by_model_and_month(session, owner)

    assert [
        (
            row.month,
            row.style_name,
            row.currency,
            row.sales,
            row.gross_minor,
            row.platform_share_minor,
            row.net_minor,
        )
        for row in rows
    ] == [
        (this_month, second_style.name, "EUR", 1, 500, 0, 500),  # the owner's own sale (R6)
        (this_month, second_style.name, "USD", 1, 300, 60, 240),
        (this_month, public_style.name, "EUR", 2, 2000, 400, 1600),
        ("2025-01", public_style.name, "EUR", 1, 1000, 200, 800),
    ]
    assert [row.style_id for row in rows] == [
        second_style.id,
        second_style.id,
        public_style.id,
        public_style.id,
    ]


def test_earnings_by_model_and_month_and_payouts(
    session: Session,
    owner: User,
    maker: User,
    stranger: User,
    image: Generation,
    generate: Generate,
    public_style: StyleModel,
) -> None:
    second = generate(maker, public_style)
    wide = service.create_offer(
        session, owner, template="standard", price_minor=1000, style_id=public_style.id
    )
    buy(session, maker, image, wide)
    buy(session, maker, second, wide, key="k2")

    [row] = service.earnings_by_model_and_month(session, owner)

    assert (row.style_id, row.sales, row.gross_minor, row.net_minor) == (
        public_style.id,
        2,
        2000,
        1600,
    )
    ledger.record_payout(
        session, owner_id=owner.id, amount_minor=1000, currency="EUR", reference="sepa-001"
    )
    assert ledger.balance_due(session, owner.id, "EUR") == 600
    assert ledger.paid_out(session, owner.id, "EUR") == 1000
    with pytest.raises(Conflict, match="exceeds the balance due of 600"):
        ledger.record_payout(
            session, owner_id=owner.id, amount_minor=601, currency="EUR", reference="sepa-002"
        )
    with pytest.raises(Conflict, match="already recorded"):
        ledger.record_payout(
            session, owner_id=owner.id, amount_minor=1, currency="EUR", reference="sepa-001"
        )
    assert service.reconcile(session).ok
