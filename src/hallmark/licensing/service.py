"""Use cases of licensing: owners offer, buyers license, the ledger books it, certificates prove."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.db import after_transaction, utcnow
from hallmark.errors import Conflict, Forbidden, InvalidInput, NotFound
from hallmark.generations.models import Generation
from hallmark.generations.repository import GenerationRepository
from hallmark.generations.service import generation_facts
from hallmark.ledger import service as ledger
from hallmark.ledger.repository import LedgerRepository
from hallmark.licensing.certificates import CertificateSigner
from hallmark.licensing.models import License, LicenseOffer
from hallmark.licensing.payments import PaymentProvider, PaymentRequest
from hallmark.licensing.repository import LicensingRepository
from hallmark.licensing.terms import LicenseTerms, terms_from_template
from hallmark.styles.models import StyleModel
from hallmark.styles.repository import StyleRepository
from hallmark.styles.service import model_facts

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
        generation = _visible_generation(session, owner, generation_id)
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
    if offer is None or offer.owner_id != owner.id:
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


def _channel(offer: LicenseOffer) -> rights.SaleChannel:
    """A model-wide offer is sold by the platform (R7); an offer on one image by its owner (R6)."""
    return rights.SaleChannel.PLATFORM if offer.style_id else rights.SaleChannel.OWNER


def _open_offers(
    session: Session, generation: Generation, style: StyleModel
) -> list[ApplicableOffer]:
    """The offers a buyer could take now: none once the image is licensed exclusively."""
    repository = LicensingRepository(session)
    licenses = [lic for lic in repository.licenses_for_image(generation.id) if not lic.revoked_at]
    if any(lic.exclusive for lic in licenses):
        return []
    found = []
    for offer in repository.active_offers_for(generation.id, generation.style_id):
        if offer.exclusive and licenses:
            continue  # an exclusive license cannot be sold over existing licenses
        channel = _channel(offer)
        if (
            channel is rights.SaleChannel.PLATFORM
            and not rights.platform_may_sell(model_facts(style)).allowed
        ):
            continue
        found.append(ApplicableOffer(offer, channel, LicenseTerms.from_dict(offer.terms)))
    return found


def _visible_generation(session: Session, user: User, generation_id: uuid.UUID) -> Generation:
    """The image if the user may see it (owner, maker, licensee); otherwise it does not exist."""
    generation = GenerationRepository(session).get(generation_id)
    grants = grants_for(session, user.id, generation.id)
    facts = generation_facts(generation)
    if not rights.may_view_generation(user.id, facts, grants, at=utcnow()).allowed:
        raise NotFound("No such image.")
    return generation


def _offered_generation(
    session: Session, user: User, generation_id: uuid.UUID
) -> tuple[Generation, StyleModel, list[ApplicableOffer]]:
    """An image the user may see, or one its owner offers for licensing; with its open offers."""
    generation = GenerationRepository(session).get(generation_id)
    style = StyleRepository(session).get(generation.style_id)
    offers = _open_offers(session, generation, style)
    facts = generation_facts(generation)
    grants = grants_for(session, user.id, generation.id)
    if not offers and not rights.may_view_generation(user.id, facts, grants, at=utcnow()).allowed:
        raise NotFound("No such image.")
    return generation, style, offers


def offers_for_image(
    session: Session, user: User, generation_id: uuid.UUID
) -> list[ApplicableOffer]:
    """The licenses a user could buy for an image now."""
    generation, _, offers = _offered_generation(session, user, generation_id)
    if not rights.may_license_generation(generation_facts(generation)).allowed:
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
    chosen = next(
        (found for found in _open_offers(session, generation, style) if found.offer.id == offer_id),
        None,
    )
    if chosen is None:
        raise _closed_or_unknown(session, buyer, generation, style, offer_id)
    decision = rights.may_buy_license(
        buyer.id, generation_facts(generation), model_facts(style), chosen.channel
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
    session: Session, buyer: User, generation: Generation, style: StyleModel, offer_id: uuid.UUID
) -> Conflict | NotFound:
    """Why an offer cannot be taken: closed, if the buyer could have seen it; else unknown."""
    offer = LicensingRepository(session).get_offer(offer_id)
    applies = offer is not None and (
        offer.generation_id == generation.id or offer.style_id == generation.style_id
    )
    grants = grants_for(session, buyer.id, generation.id)
    could_see = (
        rights.may_view_generation(
            buyer.id, generation_facts(generation), grants, at=utcnow()
        ).allowed
        or (offer is not None and offer.generation_id is not None)
        or rights.platform_may_sell(model_facts(style)).allowed
    )
    if applies and could_see:
        return Conflict("This offer is no longer open for this image.")
    return NotFound("No such offer for this image.")


def _busy() -> Conflict:
    return Conflict("Another purchase of this image is being recorded; try again in a moment.")


# ------------------------------------------------------------------------------------ queries


def grants_for(
    session: Session, user_id: uuid.UUID | None, generation_id: uuid.UUID
) -> list[rights.UsageGrant]:
    """The user's licenses on an image, as the rules see them."""
    if user_id is None:
        return []
    return [
        usage_grant(lic)
        for lic in LicensingRepository(session).licenses_for_image(generation_id)
        if lic.licensee_id == user_id
    ]


def usage_grant(license_: License) -> rights.UsageGrant:
    """A license as the rules see it."""
    return rights.UsageGrant(
        licensor_id=license_.licensor_id,
        licensee_id=license_.licensee_id,
        subject_id=license_.generation_id,
        purposes=frozenset(rights.Purpose(p) for p in license_.terms["purposes"]),
        starts_at=license_.starts_at,
        expires_at=license_.expires_at,
        revoked=license_.revoked_at is not None,
    )


def licenses_for_image(session: Session, user: User, generation_id: uuid.UUID) -> list[License]:
    """The owner sees every license on their image; a licensee sees their own."""
    generation = _visible_generation(session, user, generation_id)
    licenses = LicensingRepository(session).licenses_for_image(generation.id)
    if user.id == generation.owner_id:
        return licenses
    return [lic for lic in licenses if lic.licensee_id == user.id]


def my_purchases(session: Session, user: User) -> list[License]:
    """The licenses the user bought, newest first."""
    return LicensingRepository(session).licenses_of_licensee(user.id)


def get_license(session: Session, user: User, license_id: uuid.UUID) -> License:
    """A license for one of its two parties; to anyone else it does not exist."""
    license_ = LicensingRepository(session).get_or_none(license_id)
    if license_ is None or user.id not in (license_.licensor_id, license_.licensee_id):
        raise NotFound("No such license.")
    return license_


@dataclass(frozen=True)
class EarningsRow:
    """One model's sales in one month and currency."""

    style_id: uuid.UUID
    style_name: str
    month: str
    currency: str
    sales: int
    gross_minor: int
    earned_minor: int


def earnings_by_model_and_month(session: Session, owner: User) -> list[EarningsRow]:
    """The owner's sales grouped by model and calendar month (UTC), newest month first."""
    licenses = LicensingRepository(session).licenses_of_licensor(owner.id)
    generations = GenerationRepository(session)
    styles = StyleRepository(session)
    totals: dict[tuple[uuid.UUID, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    names: dict[uuid.UUID, str] = {}
    for lic in licenses:
        generation = generations.get(lic.generation_id)
        style_id = generation.style_id
        if style_id not in names:
            style = styles.get_or_none(style_id)
            names[style_id] = style.name if style else str(style_id)
        bucket = totals[(style_id, lic.created_at.strftime("%Y-%m"), lic.currency)]
        bucket[0] += 1
        bucket[1] += lic.price_minor
        bucket[2] += lic.owner_share_minor
    rows = [
        EarningsRow(style_id, names[style_id], month, currency, *values)
        for (style_id, month, currency), values in totals.items()
    ]
    return sorted(rows, key=lambda r: (r.month, r.style_name), reverse=True)


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
