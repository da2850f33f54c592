"""Use cases of licensing: owners offer, buyers license, the ledger books it, certificates prove."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.db import after_transaction, utcnow
from hallmark.errors import Conflict, Forbidden, InvalidInput, NotFound
from hallmark.generations import service as generations
from hallmark.generations.facts import generation_facts
from hallmark.generations.models import Generation
from hallmark.generations.repository import GenerationRepository
from hallmark.ledger import service as ledger
from hallmark.ledger.repository import LedgerRepository
from hallmark.licensing.certificates import CertificateSigner
from hallmark.licensing.facts import offer_facts, usage_grant
from hallmark.licensing.models import License, LicenseOffer
from hallmark.licensing.payments import PaymentProvider, PaymentRequest
from hallmark.licensing.repository import EarningsRow, LicensingRepository, SaleRow, SalesPeriod
from hallmark.licensing.terms import LicenseTerms, terms_from_template
from hallmark.styles.facts import model_facts
from hallmark.styles.models import StyleModel
from hallmark.styles.repository import StyleRepository

MAX_IDEMPOTENCY_KEY = 128


# ------------------------------------------------------------------------------------- offers


def create_offer(
    session: Session,
    owner: User,
    *,
    template: str,
    price_minor: int,
    currency: str = "EUR",
    exclusive: bool = False,
    style_id: uuid.UUID | None = None,
    generation_id: uuid.UUID | None = None,
    overrides: dict[str, Any] | None = None,
) -> LicenseOffer:
    """An owner offers licenses on one image, or on every image of one of their models (R6/R7)."""
    if (style_id is None) == (generation_id is None):
        raise InvalidInput("An offer is for one image or for one model: give exactly one of them.")
    terms = terms_from_template(
        template,
        price_minor=price_minor,
        currency=currency,
        exclusive=exclusive,
        overrides=overrides,
    )
    if generation_id is not None:
        generation = generations.get_visible_generation(session, owner, generation_id)
        subject_owner = generation.owner_id
        decision = rights.may_license_generation(generation_facts(generation))
        if not decision.allowed:
            raise Forbidden(decision.reason, rule=decision.rule)
    else:
        assert style_id is not None
        style = StyleRepository(session).get_or_none(style_id)
        if style is None or not rights.may_view_model(owner.id, model_facts(style)).allowed:
            raise NotFound("No such style.")
        subject_owner = style.owner_id
    decision = rights.may_set_offer(owner.id, subject_owner)
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)
    return LicensingRepository(session).add(
        LicenseOffer(
            owner_id=owner.id,
            style_id=style_id,
            generation_id=generation_id,
            template=template,
            terms=terms.as_dict(),
            price_minor=terms.price_minor,
            currency=terms.currency,
            exclusive=terms.exclusive,
        )
    )


def withdraw_offer(session: Session, owner: User, offer_id: uuid.UUID) -> LicenseOffer:
    """The owner stops an offer; licenses already sold under it stay valid."""
    offer = LicensingRepository(session).get_offer(offer_id)
    if offer is None or not rights.may_set_offer(owner.id, offer.owner_id).allowed:
        raise NotFound("No such offer.")
    if offer.withdrawn_at is None:
        offer.withdrawn_at = utcnow()
        session.flush()
    return offer


def offers_of_owner(session: Session, owner: User) -> list[LicenseOffer]:
    """Every offer the owner made."""
    return LicensingRepository(session).offers_of_owner(owner.id)


@dataclass(frozen=True)
class ApplicableOffer:
    """An offer a buyer can take for one image, and who would sell it."""

    offer: LicenseOffer
    channel: rights.SaleChannel
    terms: LicenseTerms


def _licenses_on(session: Session, generation: Generation) -> list[rights.UsageGrant]:
    """Every license granted on an image, as the rules see them."""
    licenses = LicensingRepository(session).licenses_for_image(generation.id)
    return [usage_grant(license_) for license_ in licenses]


def _open_offers(
    session: Session,
    generation: Generation,
    style: StyleModel,
    licenses: list[rights.UsageGrant],
) -> list[ApplicableOffer]:
    """The offers a buyer could take now (R6/R7/R8): none once the image is licensed exclusively."""
    image, model = generation_facts(generation), model_facts(style)
    found = []
    for offer in LicensingRepository(session).active_offers_for(generation.id, style.id):
        facts = offer_facts(offer)
        if rights.may_take_offer(image, model, facts, licenses).allowed:
            found.append(ApplicableOffer(offer, facts.channel, LicenseTerms.from_dict(offer.terms)))
    return found


def offers_for_image(
    session: Session, user: User, generation_id: uuid.UUID
) -> list[ApplicableOffer]:
    """The licenses a user could buy for an image now: the open offers they may see (R5-R8).

    With no open offer to show, an image exists only for those who may see it.
    """
    generation = GenerationRepository(session).get(generation_id)
    if generation is None:
        raise NotFound("No such image.")
    style = StyleRepository(session).get(generation.style_id)
    assert style is not None
    licenses = _licenses_on(session, generation)
    image, model, now = generation_facts(generation), model_facts(style), utcnow()
    offers = [
        found
        for found in _open_offers(session, generation, style, licenses)
        if rights.may_view_offer(user.id, image, model, offer_facts(found.offer), licenses, at=now)
    ]
    if not offers and not rights.may_view_generation(user.id, image, licenses, at=now).allowed:
        raise NotFound("No such image.")
    if not rights.may_license_generation(image).allowed:
        return []
    return offers


# ----------------------------------------------------------------------------------- purchases


def _check_idempotency_key(key: str) -> str:
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise InvalidInput(
            f"An idempotency key is 1 to {MAX_IDEMPOTENCY_KEY} printable characters; send the "
            "same key when you retry a purchase."
        )
    return key


def _same_purchase(existing: License, generation_id: uuid.UUID, offer_id: uuid.UUID) -> License:
    """A retried purchase gets the first result; the key reused for another purchase is refused."""
    if existing.generation_id != generation_id or existing.offer_id != offer_id:
        raise Conflict(
            "This idempotency key was already used for a different purchase; use a new key."
        )
    return existing


def purchase_license(
    session: Session,
    buyer: User,
    generation_id: uuid.UUID,
    offer_id: uuid.UUID,
    *,
    idempotency_key: str,
    payments: PaymentProvider,
    platform_fee_bps: int,
) -> License:
    """License an image under an offer: charged once, booked in the ledger, exclusive at most once.

    A retry with the same idempotency key returns the first license and charges nothing.
    """
    key = _check_idempotency_key(idempotency_key)
    repository = LicensingRepository(session)
    existing = repository.find_by_idempotency_key(buyer.id, key)
    if existing is not None:
        return _same_purchase(existing, generation_id, offer_id)

    # Purchases of one image queue on its row, so "is it still offered?" holds until we commit.
    try:
        GenerationRepository(session).lock(generation_id)
    except OperationalError as error:
        raise _busy() from error
    generation = GenerationRepository(session).get_or_none(generation_id)
    style = StyleRepository(session).get_or_none(generation.style_id) if generation else None
    if generation is None or style is None:
        raise NotFound("No such image.")
    licenses = _licenses_on(session, generation)
    chosen = next(
        (
            found
            for found in _open_offers(session, generation, style, licenses)
            if found.offer.id == offer_id
        ),
        None,
    )
    if chosen is None:
        raise _closed_or_unknown(session, buyer, generation, style, offer_id, licenses)
    decision = rights.may_buy_license(
        buyer.id,
        generation_facts(generation),
        model_facts(style),
        offer_facts(chosen.offer),
        licenses,
    )
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)

    terms = chosen.terms
    split = rights.split_proceeds(
        terms.price_minor, chosen.channel, platform_fee_bps=platform_fee_bps
    )
    reference = payments.charge(
        PaymentRequest(
            buyer_id=buyer.id,
            amount_minor=terms.price_minor,
            currency=terms.currency,
            description=f"{terms.name} license on image {generation.id}",
            idempotency_key=key,
        )
    )
    if terms.price_minor:
        after_transaction(session, rolled_back=lambda: payments.refund(reference))
    now = utcnow()
    license_ = License(
        offer_id=chosen.offer.id,
        generation_id=generation.id,
        licensor_id=generation.owner_id,
        licensee_id=buyer.id,
        channel=chosen.channel.value,
        terms=terms.as_dict(),
        price_minor=terms.price_minor,
        owner_share_minor=split.owner_minor,
        platform_share_minor=split.platform_minor,
        currency=terms.currency,
        exclusive=terms.exclusive,
        exclusive_generation_id=generation.id if terms.exclusive else None,
        idempotency_key=key,
        payment_reference=reference if terms.price_minor else None,
        starts_at=now,
        expires_at=now + timedelta(days=terms.duration_days) if terms.duration_days else None,
    )
    try:
        with session.begin_nested():
            repository.add(license_)  # the unique constraints decide races
    except IntegrityError:
        again = repository.find_by_idempotency_key(buyer.id, key)
        if again is not None:
            return _same_purchase(again, generation_id, offer_id)
        raise Conflict("This image was just licensed exclusively to someone else.") from None
    except OperationalError as error:
        raise _busy() from error
    license_.ledger_transaction_id = ledger.record_sale(
        session,
        reference=f"license:{license_.id}",
        owner_id=generation.owner_id,
        split=split,
        currency=terms.currency,
    )
    session.flush()
    return license_


def _closed_or_unknown(
    session: Session,
    buyer: User,
    generation: Generation,
    style: StyleModel,
    offer_id: uuid.UUID,
    licenses: list[rights.UsageGrant],
) -> Conflict | NotFound:
    """Why an offer cannot be taken: closed, if the buyer may see it (R5-R7); else unknown."""
    offer = LicensingRepository(session).get_offer(offer_id)
    if (
        offer is not None
        and (offer.generation_id == generation.id or offer.style_id == style.id)
        and rights.may_view_offer(
            buyer.id,
            generation_facts(generation),
            model_facts(style),
            offer_facts(offer),
            licenses,
            at=utcnow(),
        ).allowed
    ):
        return Conflict("This offer is no longer open for this image.")
    return NotFound("No such offer for this image.")


def _busy() -> Conflict:
    return Conflict("Another purchase of this image is being recorded; try again in a moment.")


# ------------------------------------------------------------------------------------ queries


def licenses_for_image(session: Session, user: User, generation_id: uuid.UUID) -> list[License]:
    """The owner sees every license on their image; a licensee sees their own."""
    generation = generations.get_visible_generation(session, user, generation_id)
    return [
        license_
        for license_ in LicensingRepository(session).licenses_for_image(generation.id)
        if rights.may_view_license(user.id, usage_grant(license_)).allowed
    ]


def my_purchases(session: Session, user: User) -> list[License]:
    """The licenses the user bought, newest first."""
    return LicensingRepository(session).licenses_of_licensee(user.id)


def get_license(session: Session, user: User, license_id: uuid.UUID) -> License:
    """A license for one of its two parties; to anyone else it does not exist."""
    license_ = LicensingRepository(session).get_or_none(license_id)
    if license_ is None or not rights.may_view_license(user.id, usage_grant(license_)).allowed:
        raise NotFound("No such license.")
    return license_


def earnings_by_model_and_month(
    session: Session, owner: User, period: SalesPeriod | None = None
) -> list[EarningsRow]:
    """The owner's sales grouped by model and calendar month (UTC), newest month first, each with
    the gross, the platform's share (R7; none on the owner's own sales, R6) and the net."""
    return LicensingRepository(session).sales_by_model_and_month(owner.id, period or SalesPeriod())


MAX_STATEMENT_SALES = 50_000
MAX_PAYOUTS_LISTED = 100
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _month_start(month: str, field: str) -> datetime:
    """The first moment (UTC) of a 'YYYY-MM' month; a malformed month is refused by name."""
    found = MONTH.fullmatch(month)
    if found is None or not 1 <= int(found.group(1)) < 9999:
        raise InvalidInput(f"'{field}' is a month written YYYY-MM, such as 2025-03.")
    return datetime(int(found.group(1)), int(found.group(2)), 1, tzinfo=UTC)


def sales_period(first_month: str | None = None, last_month: str | None = None) -> SalesPeriod:
    """The calendar months (UTC) from `first_month` to `last_month`, both included ('YYYY-MM');
    a month left out leaves that side open."""
    starts = _month_start(first_month, "from") if first_month else None
    ends = None
    if last_month:
        last = _month_start(last_month, "to")
        ends = last.replace(year=last.year + last.month // 12, month=last.month % 12 + 1)
    if starts is not None and ends is not None and starts >= ends:
        raise InvalidInput(f"The month range ends ({last_month}) before it starts ({first_month}).")
    return SalesPeriod(starts, ends)


@dataclass(frozen=True)
class EarningsStatement:
    """An owner's earnings over a period: per model and month, one page of the sales one by one,
    and the payouts made to them."""

    rows: list[EarningsRow]
    sales: list[SaleRow]
    sales_total: int
    payouts: list[ledger.Payout]


def earnings_statement(
    session: Session, owner: User, period: SalesPeriod, *, limit: int = 50, offset: int = 0
) -> EarningsStatement:
    """The owner's own earnings over the period: nobody sees another's (SPEC section 5)."""
    repository = LicensingRepository(session)
    return EarningsStatement(
        rows=repository.sales_by_model_and_month(owner.id, period),
        sales=repository.sales_of(owner.id, period, limit=limit, offset=offset),
        sales_total=repository.count_sales_of(owner.id, period),
        payouts=ledger.payouts_to(
            session, owner.id, starts=period.starts, ends=period.ends, limit=MAX_PAYOUTS_LISTED
        ),
    )


def statement_sales(session: Session, owner: User, period: SalesPeriod) -> list[SaleRow]:
    """Every sale of the owner's in the period, for a statement; too many asks for fewer months."""
    repository = LicensingRepository(session)
    total = repository.count_sales_of(owner.id, period)
    if total > MAX_STATEMENT_SALES:
        raise InvalidInput(
            f"The statement would list {total} sales, more than {MAX_STATEMENT_SALES}; choose "
            "fewer months with 'from' and 'to'."
        )
    return repository.sales_of(owner.id, period, limit=MAX_STATEMENT_SALES, offset=0)


# ------------------------------------------------------------------------------- certificates


def certificate_for(
    session: Session, user: User, license_id: uuid.UUID, signer: CertificateSigner, public_url: str
) -> dict[str, Any]:
    """The signed certificate of a license, for its parties."""
    license_ = get_license(session, user, license_id)
    generation = GenerationRepository(session).get(license_.generation_id)
    users = UserRepository(session)
    owner, licensee = users.get(license_.licensor_id), users.get(license_.licensee_id)
    return signer.sign(
        {
            "license_id": str(license_.id),
            "image": {"generation_id": str(generation.id), "sha256": generation.sha256},
            "owner": {"id": str(owner.id), "username": owner.username},
            "licensee": {"id": str(licensee.id), "username": licensee.username},
            "terms": license_.terms,
            "price_minor": license_.price_minor,
            "currency": license_.currency,
            "sold_by": "the platform on the owner's behalf (R7)"
            if license_.channel == rights.SaleChannel.PLATFORM.value
            else "the owner (R6)",
            "granted_at": _iso(license_.created_at),
            "expires_at": _iso(license_.expires_at) if license_.expires_at else None,
            "verify_url": f"{public_url}/api/licenses/{license_.id}/certificate",
        }
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# ----------------------------------------------------------------------------- reconciliation


def reconcile(session: Session) -> ledger.Reconciliation:
    """The ledger's invariants, plus: every paid license is booked once, at its price and split."""
    report = ledger.reconcile_ledger(session)
    ledger_repository = LedgerRepository(session)
    for lic in LicensingRepository(session).all_licenses():
        entries = ledger_repository.entries_for_reference(f"license:{lic.id}")
        if lic.price_minor == 0:
            if entries:
                report.problems.append(f"free license {lic.id} has ledger entries")
            continue
        cash = sum(e.amount_minor for e in entries if e.account == ledger.CASH)
        owed = -sum(e.amount_minor for e in entries if e.account.endswith(":payable"))
        if cash != lic.price_minor or owed != lic.owner_share_minor:
            report.problems.append(
                f"license {lic.id}: price {lic.price_minor}, owner share {lic.owner_share_minor}, "
                f"but the ledger took in {cash} and owes {owed}"
            )
        transactions = len({e.transaction_id for e in entries})
        if transactions != 1:
            report.problems.append(f"license {lic.id} is booked in {transactions} transactions")
    return report
