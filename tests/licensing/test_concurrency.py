"""Purchases racing for one image, with real commits, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.db import make_session_factory, transaction
from hallmark.errors import AppError
from hallmark.generations.service import record_generation
from hallmark.instance import Instance
from hallmark.ledger import service as ledger
from hallmark.licensing import service
from hallmark.licensing.payments import RecordedPayments
from hallmark.styles.models import StyleStatus
from hallmark.styles.service import create_style, publish_style, set_style_status
from tests.conftest import BACKENDS, migrated_engine
from tests.helpers import png_bytes

BUYERS = 100
THREADS = 16


@dataclass
class Market:
    """Committed state: an owner's public image on offer, and many would-be buyers."""

    factory: sessionmaker[Session]
    image_id: uuid.UUID
    owner_id: uuid.UUID
    buyer_ids: list[uuid.UUID]


def _user(session: Session, name: str) -> User:
    return UserRepository(session).add(User(username=name, display_name=name, password_hash="x"))


@pytest.fixture(params=BACKENDS)
def market(request: pytest.FixtureRequest, tmp_path: Path, instance: Instance) -> Iterator[Market]:
    """A committed market on each database."""
    with contextmanager(migrated_engine)(request.param, tmp_path) as engine:
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            owner = _user(session, "owner")
            upload = instance_upload(session, instance, owner)
            style = create_style(session, owner, "posters", [upload])
            set_style_status(session, style, StyleStatus.READY)
            publish_style(session, owner, style.id, accept_platform_license=True)
            image = record_generation(
                session, instance, owner, style, prompt="p", seed=1, image=png_bytes(7)
            )
            buyers = [_user(session, f"buyer{i}").id for i in range(BUYERS)]
            ids = Market(factory, image.id, owner.id, buyers)
        yield ids


def instance_upload(session: Session, instance: Instance, owner: User) -> uuid.UUID:
    """Upload one work and return its id."""
    from hallmark.artworks.service import upload_artwork

    result = upload_artwork(session, instance, owner, png_bytes(3), rights_attested=True)
    assert result.artwork is not None
    return result.artwork.id


def _offer(market: Market, *, exclusive: bool, price_minor: int) -> uuid.UUID:
    with transaction(market.factory) as session:
        owner = session.get(User, market.owner_id)
        assert owner is not None
        offer = service.create_offer(
            session,
            owner,
            template="extended",
            price_minor=price_minor,
            exclusive=exclusive,
            generation_id=market.image_id,
        )
        return offer.id


def _purchase(market: Market, buyer_id: uuid.UUID, offer_id: uuid.UUID, key: str) -> str:
    """One buyer's request in its own transaction: 'ok' or the error's code and status."""
    try:
        with transaction(market.factory) as session:
            buyer = session.get(User, buyer_id)
            assert buyer is not None
            service.purchase_license(
                session,
                buyer,
                market.image_id,
                offer_id,
                idempotency_key=key,
                payments=RecordedPayments(),
                platform_fee_bps=2000,
            )
        return "ok"
    except AppError as error:
        return f"{error.status_code} {error.code}"


def test_of_100_concurrent_buyers_of_an_exclusive_license_exactly_one_gets_it(
    market: Market,
) -> None:
    offer_id = _offer(market, exclusive=True, price_minor=25_000)

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(
            pool.map(lambda buyer: _purchase(market, buyer, offer_id, "k"), market.buyer_ids)
        )

    assert Counter(outcomes) == {"ok": 1, "409 conflict": BUYERS - 1}
    with market.factory() as session:
        assert ledger.balance_due(session, market.owner_id, "EUR") == 25_000
        report = service.reconcile(session)
        assert report.ok, report.problems


def test_one_buyer_retrying_concurrently_is_charged_once(market: Market) -> None:
    offer_id = _offer(market, exclusive=False, price_minor=700)
    buyer = market.buyer_ids[0]

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda _: _purchase(market, buyer, offer_id, "same"), range(20)))

    assert "ok" in outcomes
    assert set(outcomes) <= {"ok", "409 conflict"}
    with market.factory() as session:
        assert len(service.my_purchases(session, session.get(User, buyer))) == 1  # type: ignore[arg-type]
        assert ledger.balance_due(session, market.owner_id, "EUR") == 700
