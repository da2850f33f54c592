"""Earnings with the platform's share: per sale, per model and month, payouts, CSV statements."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.db import transaction, utcnow
from hallmark.errors import InvalidInput
from hallmark.generations.models import Generation
from hallmark.ledger import service as ledger
from hallmark.licensing import service
from hallmark.licensing.repository import SalesPeriod
from hallmark.licensing.statements import STATEMENT_COLUMNS, statement_csv
from hallmark.styles.models import StyleModel
from tests.conftest import Generate
from tests.helpers import assert_error, sign_up
from tests.licensing.test_api import published_image
from tests.licensing.test_service import buy


def parsed(text: str) -> list[dict[str, str]]:
    """A CSV statement read back with the csv module, its header checked."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == STATEMENT_COLUMNS
    return list(reader)


def test_each_sale_shows_gross_platform_share_and_net_and_they_add_up(
    session: Session,
    owner: User,
    maker: User,
    stranger: User,
    generate: Generate,
    public_style: StyleModel,
) -> None:
    first, second = generate(maker, public_style), generate(maker, public_style)
    by_platform = service.create_offer(
        session, owner, template="standard", price_minor=1000, style_id=public_style.id
    )
    by_owner = service.create_offer(
        session, owner, template="personal", price_minor=333, generation_id=second.id
    )
    january = buy(session, stranger, first, by_platform, key="january")
    january.created_at = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
    session.flush()
    platform_sale = buy(session, maker, first, by_platform, key="platform")
    owner_sale = buy(session, stranger, second, by_owner, key="owner")
    ledger.record_payout(
        session, owner_id=owner.id, amount_minor=500, currency="EUR", reference="SEPA-7"
    )

    statement = service.earnings_statement(session, owner, service.sales_period())

    assert statement.sales_total == 3
    assert [
        (
            sale.license_id,
            sale.generation_id,
            sale.style_name,
            sale.buyer_username,
            sale.seller,
            sale.gross_minor,
            sale.platform_share_minor,
            sale.net_minor,
            sale.currency,
        )
        for sale in statement.sales
    ] == [
        (january.id, first.id, public_style.name, "stranger", "platform", 1000, 200, 800, "EUR"),
        (platform_sale.id, first.id, public_style.name, "maker", "platform", 1000, 200, 800, "EUR"),
        (owner_sale.id, second.id, public_style.name, "stranger", "owner", 333, 0, 333, "EUR"),
    ]
    assert statement.sales[0].sold_at == january.created_at
    this_month = utcnow().strftime("%Y-%m")
    assert [
        (row.month, row.sales, row.gross_minor, row.platform_share_minor, row.net_minor)
        for row in statement.rows
    ] == [(this_month, 2, 1333, 200, 1133), ("2025-01", 1, 1000, 200, 800)]
    for row in statement.rows:
        assert row.gross_minor == row.platform_share_minor + row.net_minor
    assert sum(row.net_minor for row in statement.rows) == sum(s.net_minor for s in statement.sales)
    assert [(p.amount_minor, p.currency, p.reference) for p in statement.payouts] == [
        (500, "EUR", "SEPA-7")
    ]
    assert ledger.balance_due(session, owner.id, "EUR") == 800 + 800 + 333 - 500

    only_january = service.earnings_statement(
        session, owner, service.sales_period("2025-01", "2025-01")
    )
    assert [sale.license_id for sale in only_january.sales] == [january.id]
    assert only_january.payouts == []  # paid this month, not in January
    second_page = service.earnings_statement(
        session, owner, service.sales_period(), limit=1, offset=1
    )
    assert [sale.license_id for sale in second_page.sales] == [platform_sale.id]

    rows = parsed(statement_csv(service.statement_sales(session, owner, SalesPeriod())))
    assert [row["license_id"] for row in rows] == [
        str(january.id),
        str(platform_sale.id),
        str(owner_sale.id),
    ]
    assert rows[0] == {
        "date": "2025-01-15T09:00:00+00:00",
        "model": public_style.name,
        "image_id": str(first.id),
        "license_id": str(january.id),
        "buyer": "stranger",
        "seller": "platform",
        "gross_minor": "1000",
        "platform_share_minor": "200",
        "net_minor": "800",
        "currency": "EUR",
    }
    for line in rows:
        gross, share = int(line["gross_minor"]), int(line["platform_share_minor"])
        assert gross == share + int(line["net_minor"])
    assert rows[2]["seller"] == "owner" and rows[2]["platform_share_minor"] == "0"  # R6

    # Nobody else's sales are in another user's statement.
    assert service.earnings_statement(session, maker, SalesPeriod()).sales == []
    assert service.statement_sales(session, stranger, SalesPeriod()) == []


def test_a_model_name_that_looks_like_a_formula_stays_text_in_the_csv(
    session: Session, owner: User, maker: User, image: Generation, public_style: StyleModel
) -> None:
    public_style.name = '=HYPERLINK("http://evil.invalid","x")'
    offer = service.create_offer(
        session, owner, template="standard", price_minor=100, style_id=public_style.id
    )
    buy(session, maker, image, offer)
    [row] = parsed(statement_csv(service.statement_sales(session, owner, SalesPeriod())))
    assert row["model"] == "'" + public_style.name


@pytest.fixture
def image(generate: Generate, maker: User, public_style: StyleModel) -> Generation:
    """An image the maker made with the owner's public style: the owner's under R4."""
    return generate(maker, public_style)


@pytest.mark.parametrize(
    ("first", "last", "starts", "ends"),
    [
        (None, None, None, None),
        ("2025-03", None, datetime(2025, 3, 1, tzinfo=UTC), None),
        (None, "2025-12", None, datetime(2026, 1, 1, tzinfo=UTC)),
        ("2024-11", "2025-02", datetime(2024, 11, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC)),
    ],
)
def test_a_month_range_covers_whole_utc_months(
    first: str | None, last: str | None, starts: datetime | None, ends: datetime | None
) -> None:
    assert service.sales_period(first, last) == SalesPeriod(starts, ends)


@pytest.mark.parametrize(
    ("first", "last", "named"),
    [("2025-13", None, "'from'"), (None, "25-01", "'to'"), ("2025-03", "2025-02", "ends")],
)
def test_a_bad_month_range_is_refused_by_name(
    first: str | None, last: str | None, named: str
) -> None:
    with pytest.raises(InvalidInput, match=named):
        service.sales_period(first, last)


def two_sales(client: TestClient) -> dict[str, Any]:
    """ana's image made by ben, licensed by ben from the platform and by cleo from ana directly."""
    ana, ben, cleo = sign_up(client, "ana"), sign_up(client, "ben"), sign_up(client, "cleo")
    style_id, image_id = published_image(client, ana)
    platform = client.post(
        "/api/offers",
        headers=ana,
        json={"template": "standard", "price_minor": 2500, "style_id": style_id},
    ).json()
    direct = client.post(
        "/api/offers",
        headers=ana,
        json={"template": "personal", "price_minor": 1200, "generation_id": image_id},
    ).json()
    licenses = {}
    for buyer, headers, offer in (("ben", ben, platform), ("cleo", cleo, direct)):
        bought = client.post(
            f"/api/generations/{image_id}/licenses",
            headers={**headers, "Idempotency-Key": f"buy-{buyer}"},
            json={"offer_id": offer["id"]},
        )
        assert bought.status_code == 201, bought.text
        licenses[buyer] = bought.json()["id"]
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with transaction(factory) as session:
        owner = UserRepository(session).get_by_username("ana")
        assert owner is not None
        ledger.record_payout(
            session, owner_id=owner.id, amount_minor=1000, currency="EUR", reference="SEPA-1"
        )
    return {
        "ana": ana,
        "ben": ben,
        "cleo": cleo,
        "image_id": image_id,
        "style_id": style_id,
        "licenses": licenses,
    }


def test_the_earnings_api_shows_the_platform_share_per_sale_and_per_month(
    client: TestClient,
) -> None:
    world = two_sales(client)
    earnings = client.get("/api/earnings", headers=world["ana"]).json()

    [row] = earnings["rows"]
    assert (row["style_id"], row["sales"], row["currency"]) == (world["style_id"], 2, "EUR")
    assert (row["gross_minor"], row["platform_share_minor"], row["net_minor"]) == (3700, 500, 3200)
    assert earnings["sales_total"] == 2
    assert [
        (
            sale["license_id"],
            sale["generation_id"],
            sale["buyer_username"],
            sale["seller"],
            sale["gross_minor"],
            sale["platform_share_minor"],
            sale["net_minor"],
        )
        for sale in earnings["sales"]
    ] == [
        (world["licenses"]["ben"], world["image_id"], "ben", "platform", 2500, 500, 2000),
        (world["licenses"]["cleo"], world["image_id"], "cleo", "owner", 1200, 0, 1200),
    ]
    [payout] = earnings["payouts"]
    assert (payout["amount_minor"], payout["currency"], payout["reference"]) == (
        1000,
        "EUR",
        "SEPA-1",
    )
    assert earnings["balances"] == [{"currency": "EUR", "due_minor": 2200, "paid_minor": 1000}]

    later = client.get("/api/earnings", params={"from": "2099-01"}, headers=world["ana"]).json()
    assert (later["rows"], later["sales"], later["sales_total"], later["payouts"]) == (
        [],
        [],
        0,
        [],
    )
    assert_error(
        client.get("/api/earnings", params={"from": "2025-13"}, headers=world["ana"]),
        422,
        "invalid_input",
    )
    # ben and cleo bought, they sold nothing: their earnings hold none of ana's sales.
    for buyer in ("ben", "cleo"):
        theirs = client.get("/api/earnings", headers=world[buyer]).json()
        assert (theirs["rows"], theirs["sales"], theirs["payouts"]) == ([], [], [])


def test_the_csv_statement_is_the_owners_alone(client: TestClient) -> None:
    world = two_sales(client)
    this_month = utcnow().strftime("%Y-%m")

    response = client.get(
        "/api/earnings/statement.csv",
        params={"from": this_month, "to": this_month},
        headers=world["ana"],
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        f'filename="statement-{this_month}-to-{this_month}.csv"'
        in (response.headers["content-disposition"])
    )
    rows = parsed(response.text)
    assert [(row["buyer"], row["seller"], row["license_id"]) for row in rows] == [
        ("ben", "platform", world["licenses"]["ben"]),
        ("cleo", "owner", world["licenses"]["cleo"]),
    ]
    assert {row["model"] for row in rows} == {"Posters"}
    assert {row["image_id"] for row in rows} == {world["image_id"]}
    assert sum(int(row["gross_minor"]) for row in rows) == 3700
    assert sum(int(row["platform_share_minor"]) for row in rows) == 500
    assert sum(int(row["net_minor"]) for row in rows) == 3200
    earlier = client.get(
        "/api/earnings/statement.csv", params={"to": "2001-01"}, headers=world["ana"]
    )
    assert parsed(earlier.text) == []

    assert_error(client.get("/api/earnings/statement.csv"), 401, "not_authenticated")
    for other in ("ben", "cleo"):
        theirs = client.get("/api/earnings/statement.csv", headers=world[other])
        assert theirs.status_code == 200 and parsed(theirs.text) == []
    reversed_range = client.get(
        "/api/earnings/statement.csv",
        params={"from": "2025-05", "to": "2025-04"},
        headers=world["ana"],
    )
    assert_error(reversed_range, 422, "invalid_input")


def test_the_earnings_page_shows_shares_sales_payouts_and_the_statement(
    client: TestClient,
) -> None:
    two_sales(client)
    # Pages sign in with the session cookie; the form does it as a person would.
    page_client = client
    login = page_client.get("/login")
    found = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed_in = page_client.post(
        "/login",
        data={"username": "ana", "password": "correct horse battery", "csrf_token": found},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text

    page = page_client.get("/earnings")
    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert '<th scope="col">Platform share</th>' in text
    assert "<td>37.00 EUR</td><td>5.00 EUR</td><td>32.00 EUR</td>" in text
    assert "@ben</td><td>the platform (R7)</td> <td>25.00 EUR</td><td>5.00 EUR</td>" in text
    assert "@cleo</td><td>you (R6)</td> <td>12.00 EUR</td><td>0.00 EUR</td>" in text
    assert "<td>SEPA-1</td><td>10.00 EUR</td>" in text
    assert 'href="/earnings/statement.csv"' in text

    statement = page_client.get("/earnings/statement.csv")
    assert [row["buyer"] for row in parsed(statement.text)] == ["ben", "cleo"]
    refused = page_client.get("/earnings", params={"from": "2025-99"})
    assert refused.status_code == 422 and "YYYY-MM" in refused.text
    page_client.cookies.clear()
    assert page_client.get("/earnings/statement.csv", follow_redirects=False).status_code == 303
