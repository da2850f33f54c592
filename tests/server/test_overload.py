"""Many clients at once: every request gets an answer, a refusal under load is a 503 that says
when to come back, and a purchase raced 50 ways charges once per Idempotency-Key.

Past 40 concurrent requests the server had run out of worker threads and database connections
and answered with 500s (or dropped connections); a purchase that lost a race for the image's
lock could fail with a 500 as well.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx2 as httpx

from tests.server.harness import Outcome, Server, Studio, in_parallel, server_errors, summary, timed

CONNECTIONS = 256
LOAD_SECONDS = 8  # each connection sends requests one after another until then
PATIENCE = 20  # seconds a request may take before it counts as unanswered
PATHS = ["/api/health", "/api/styles/public", "/api/artworks"]  # the last one with a token


def test_256_concurrent_connections_get_answers_or_503_with_retry_after(server: Server) -> None:
    ana = server.sign_up("ana")
    server.upload_works(ana, 20, size=96)  # a page of artworks to list
    with server.client() as api:
        assert api.get("/api/artworks", headers=ana).status_code == 200
    until = time.monotonic() + LOAD_SECONDS

    def client(number: int) -> list[Outcome]:
        outcomes = []
        with server.client(timeout=PATIENCE) as api:  # one connection of its own
            for turn in range(1000):
                if time.monotonic() > until:
                    break
                path = PATHS[(number + turn) % len(PATHS)]
                headers = ana if path == "/api/artworks" else {}
                outcomes.append(timed(api, "GET", path, headers=headers))
        return outcomes

    outcomes = in_parallel(CONNECTIONS, client, timeout=LOAD_SECONDS + 2 * PATIENCE + 60)

    problems = server_errors(outcomes)
    assert not problems, f"{summary(outcomes)}: {problems[:5]}"
    for path in PATHS:
        assert any(o.ok for o in outcomes if o.path == path), f"{path} never answered 2xx"


PURCHASES = 50
PRICE = 500


def offer_on(studio: Studio, generation_id: str, *, exclusive: bool) -> str:
    """ana offers licenses on one of her images; the offer's id."""
    with studio.server.client() as api:
        offer = api.post(
            "/api/offers",
            headers=studio.ana,
            json={
                "template": "standard",
                "price_minor": PRICE,
                "generation_id": generation_id,
                "exclusive": exclusive,
            },
        )
    assert offer.status_code == 201, offer.text
    return str(offer.json()["id"])


def race(studio: Studio, generation_id: str, offer_id: str, keys: list[str]) -> dict[str, Any]:
    """ben sends 50 purchases at once, key i % len(keys) each, then retries each key until it
    is settled; the licenses each key was answered with, the refusals, and the books' change."""
    server = studio.server
    path = f"/api/generations/{generation_id}/licenses"
    body = {"offer_id": offer_id}
    with server.client() as api:
        licenses_before, sales_before = len(licenses_of(api, studio)), sales_of(api, studio)

    def buy(number: int) -> list[Outcome]:
        headers = studio.ben | {"Idempotency-Key": keys[number % len(keys)]}
        with server.client(timeout=120) as api:
            return [timed(api, "POST", path, headers=headers, json=body)]

    raced = in_parallel(PURCHASES, buy)
    answers: dict[str, list[Outcome]] = {key: [] for key in keys}
    for number, outcome in enumerate(raced):
        answers[keys[number % len(keys)]].append(outcome)
    with server.client(timeout=60) as api:
        for key in keys:  # a buyer told to try again does, until the purchase is settled
            for _ in range(20):
                retry = timed(
                    api, "POST", path, headers=studio.ben | {"Idempotency-Key": key}, json=body
                )
                answers[key].append(retry)
                if not busy(retry):
                    break
                time.sleep(min(1.0, float(retry.headers.get("retry-after", "0.2"))))
        licenses_after, sales_after = len(licenses_of(api, studio)), sales_of(api, studio)
    return {
        "raced": raced,
        "answers": answers,
        "licenses": licenses_after - licenses_before,
        "sales": sales_after[0] - sales_before[0],
        "gross": sales_after[1] - sales_before[1],
    }


def settled_licenses(outcomes: list[Outcome]) -> set[str]:
    return {str(outcome.body["id"]) for outcome in outcomes if outcome.ok}


def test_a_purchase_raced_50_ways_charges_once_per_idempotency_key(studio: Studio) -> None:
    generation_id = studio.new_generation()
    offer_id = offer_on(studio, generation_id, exclusive=False)
    keys = [f"race-{uuid.uuid4().hex[:8]}-{number}" for number in range(10)]

    result = race(studio, generation_id, offer_id, keys)

    problems = server_errors(result["raced"])
    assert not problems, f"{summary(result['raced'])}: {problems[:5]}"
    for key, outcomes in result["answers"].items():
        unexpected = [o.describe() for o in outcomes if not o.ok and not busy(o)]
        assert not unexpected, f"{key}: {unexpected}"
        assert len(settled_licenses(outcomes)) == 1, f"{key}: {[o.describe() for o in outcomes]}"
    assert result["licenses"] == len(keys), "one license per Idempotency-Key"
    assert (result["sales"], result["gross"]) == (len(keys), len(keys) * PRICE), result


def test_an_exclusive_license_raced_50_ways_is_sold_once(studio: Studio) -> None:
    generation_id = studio.new_generation()
    offer_id = offer_on(studio, generation_id, exclusive=True)
    keys = [f"exclusive-{uuid.uuid4().hex[:8]}-{number}" for number in range(PURCHASES)]

    result = race(studio, generation_id, offer_id, keys)

    problems = server_errors(result["raced"])
    assert not problems, f"{summary(result['raced'])}: {problems[:5]}"
    winners = [key for key, outcomes in result["answers"].items() if settled_licenses(outcomes)]
    assert len(winners) == 1, f"{len(winners)} buyers got the exclusive license"
    for key, outcomes in result["answers"].items():
        if key not in winners:  # the others are told it is gone, never charged
            last = outcomes[-1]
            assert last.status == 409, last.describe()
    assert (result["licenses"], result["sales"], result["gross"]) == (1, 1, PRICE), result


def busy(outcome: Outcome) -> bool:
    """A refusal that says to try again: 503 with Retry-After, or a 409 while another purchase of
    the image is being recorded."""
    if outcome.status == 503:
        return "retry-after" in outcome.headers
    if outcome.status != 409:
        return False
    message = str(outcome.body.get("error", {}).get("message", "")) if outcome.body else ""
    return "try again" in message


def licenses_of(api: httpx.Client, studio: Studio) -> list[dict[str, Any]]:
    """ben's licenses."""
    answer = api.get("/api/licenses", headers=studio.ben)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def sales_of(api: httpx.Client, studio: Studio) -> tuple[int, int]:
    """The number of ana's sales and their gross, in minor units, from her earnings."""
    rows = api.get("/api/earnings", headers=studio.ana).json()["rows"]
    return sum(row["sales"] for row in rows), sum(row["gross_minor"] for row in rows)
