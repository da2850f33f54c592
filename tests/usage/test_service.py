"""The usage register: per model, who made what and when, who licensed it for what; CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from hallmark.accounts.models import User
from hallmark.errors import Forbidden, NotFound
from hallmark.gallery.service import list_generation
from hallmark.licensing import service as licensing
from hallmark.licensing.payments import RecordedPayments
from hallmark.styles.models import StyleModel
from hallmark.usage.export import CSV_HEADER, usage_csv
from hallmark.usage.repository import UsageRepository
from hallmark.usage.service import usage_register
from tests.conftest import Generate, MakeStyle


@contextmanager
def statements_during(session: Session) -> Iterator[list[str]]:
    """Collect the SQL statements the session's connection runs inside the block."""
    seen: list[str] = []
    connection = session.connection()

    def note(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(connection, "before_cursor_execute", note)
    yield seen
    event.remove(connection, "before_cursor_execute", note)


def test_the_owner_reads_who_made_what_and_who_licensed_it_for_what(
    session: Session,
    owner: User,
    maker: User,
    stranger: User,
    public_style: StyleModel,
    generate: Generate,
) -> None:
    licensed = generate(maker, public_style, prompt='=HYPERLINK("x") a heron')
    own = generate(owner, public_style, prompt="a kite")
    offer = licensing.create_offer(
        session, owner, template="standard", price_minor=1500, style_id=public_style.id
    )
    for buyer, key in ((maker, "m"), (stranger, "s")):
        licensing.purchase_license(
            session,
            buyer,
            licensed.id,
            offer.id,
            idempotency_key=key,
            payments=RecordedPayments(),
            platform_fee_bps=2000,
        )
    list_generation(session, owner, own.id)

    style, entries, total = usage_register(session, owner, public_style.id)

    assert (style.id, total) == (public_style.id, 2)
    assert [(e.generation_id, e.maker_username, e.listed) for e in entries] == [
        (own.id, owner.username, True),
        (licensed.id, maker.username, False),
    ]
    assert entries[0].licenses == []
    assert [(u.licensee_username, u.purposes, u.price_minor) for u in entries[1].licenses] == [
        (maker.username, offer.terms["purposes"], 1500),
        (stranger.username, offer.terms["purposes"], 1500),
    ]
    rows = list(csv.reader(io.StringIO(usage_csv(entries))))
    assert rows[0] == list(CSV_HEADER)
    assert len(rows) == 4  # the unlicensed image once, the licensed one per license
    assert rows[1][2:8] == [owner.username, "a kite", str(own.seed), "yes", "no", ""]
    assert rows[2][3].startswith("'=HYPERLINK")  # a spreadsheet shows it, never runs it
    assert {row[8] for row in rows[2:]} == {maker.username, stranger.username}


def test_a_page_of_the_register_is_one_statement_however_many_images_and_licenses(
    session: Session, owner: User, maker: User, public_style: StyleModel, generate: Generate
) -> None:
    images = [generate(maker, public_style) for _ in range(3)]
    offer = licensing.create_offer(
        session, owner, template="personal", price_minor=100, style_id=public_style.id
    )
    for number, image in enumerate(images):
        licensing.purchase_license(
            session,
            maker,
            image.id,
            offer.id,
            idempotency_key=f"k{number}",
            payments=RecordedPayments(),
            platform_fee_bps=0,
        )
    style_id, expected = public_style.id, [images[1].id, images[0].id]
    session.flush()
    session.expire_all()  # nothing is read from the identity map

    with statements_during(session) as seen:
        entries = UsageRepository(session).entries_for_style(style_id, limit=2, offset=1)

    assert len(seen) == 1
    assert [len(entry.licenses) for entry in entries] == [1, 1]
    assert [entry.generation_id for entry in entries] == expected


def test_only_the_owner_reads_a_register(
    session: Session, owner: User, maker: User, public_style: StyleModel, make_style: MakeStyle
) -> None:
    private = make_style(owner)

    with pytest.raises(Forbidden) as refused:
        usage_register(session, maker, public_style.id)
    assert refused.value.rule == "R3"
    with pytest.raises(NotFound):
        usage_register(session, maker, private.id)
    assert usage_register(session, owner, private.id)[2] == 0
