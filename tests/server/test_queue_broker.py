"""Losing the queue broker (Redis) is reported, refuses nothing with a 500, and loses no job.

The server answered /api/health "ok" with Redis gone, and `POST /api/styles/{id}/train`
committed the job and then failed with a 500 when it could not put it on the queue, so a retry
queued a second training. A job queued while Redis was down never ran once it came back, and
the worker threads had died on the lost connection.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.server.harness import Launch, Outcome, RedisServer, Server, free_port, timed


def health(server: Server) -> Outcome:
    with server.client(timeout=30) as api:
        return timed(api, "GET", "/api/health")


def is_degraded(outcome: Outcome) -> bool:
    """503 with {"status": "degraded", ...}: the server is up, its queue broker is not."""
    return bool(
        outcome.status == 503
        and isinstance(outcome.body, dict)
        and outcome.body.get("status") == "degraded"
    )


def same_job(first: Outcome, again: Outcome) -> bool:
    """The retry answered with the job the first request made."""
    return again.status in (200, 202) and again.body["id"] == first.body["id"]


def train(server: Server, headers: dict[str, str], style_id: str, key: str) -> Outcome:
    with server.client(timeout=60) as api:
        return timed(
            api,
            "POST",
            f"/api/styles/{style_id}/train",
            headers=headers | {"Idempotency-Key": key},
            json={"steps": 1},
        )


def accepted_or_busy(outcome: Outcome) -> bool:
    """202 with the job, or 503 with Retry-After: never a 500."""
    return outcome.status == 202 or (outcome.status == 503 and "retry-after" in outcome.headers)


def draft_style(server: Server) -> tuple[dict[str, str], str]:
    ana = server.sign_up("ana")
    return ana, server.create_style(ana, "Washes", server.upload_works(ana, 4))


def test_an_unreachable_broker_is_reported_and_refuses_no_training_with_a_500(
    launch: Launch,
) -> None:
    server = launch(
        "sqlite",
        HALLMARK_QUEUE=f"redis://127.0.0.1:{free_port()}/0",
        HALLMARK_SERVE_JOB_WORKERS="true",
    )
    ana, style_id = draft_style(server)
    key = f"train-{uuid.uuid4().hex}"
    problems: list[str] = []

    checked = health(server)
    if not is_degraded(checked):
        problems.append(f"/api/health with the broker gone: {checked.describe()}")
    first = train(server, ana, style_id, key)
    if not accepted_or_busy(first):
        problems.append(f"first training request: {first.describe()}")
    again = train(server, ana, style_id, key)
    if not accepted_or_busy(again):
        problems.append(f"its retry with the same Idempotency-Key: {again.describe()}")
    elif first.status == 202 and not same_job(first, again):
        problems.append(f"the retry did not return the first job: {again.describe()}")
    stored = server.jobs_of_style(style_id)
    if stored > 1:
        problems.append(f"{stored} jobs stored for one Idempotency-Key")

    assert not problems, "; ".join(problems)


@pytest.mark.redis
def test_a_training_asked_for_while_redis_is_down_runs_once_it_is_back(
    launch: Launch, own_redis: RedisServer
) -> None:
    server = launch(
        "sqlite",
        HALLMARK_QUEUE=own_redis.url,
        HALLMARK_JOB_STALE_SECONDS="6",
        HALLMARK_SERVE_JOB_WORKERS="true",
    )
    ana, style_id = draft_style(server)
    assert health(server).status == 200, health(server).describe()
    key = f"train-{uuid.uuid4().hex}"

    own_redis.stop()
    down = health(server)
    first = train(server, ana, style_id, key)
    own_redis.start()  # the same port, empty: whatever was queued in it is gone
    again = train(server, ana, style_id, key)

    problems = []
    if not is_degraded(down):
        problems.append(f"/api/health with Redis stopped: {down.describe()}")
    if not accepted_or_busy(first):
        problems.append(f"training asked for while Redis was down: {first.describe()}")
    if again.status not in (200, 202):
        problems.append(f"its retry once Redis was back: {again.describe()}")
    elif first.status == 202 and not same_job(first, again):
        problems.append("the retry made a second job")
    assert not problems, "; ".join(problems)
    job: dict[str, Any] = again.body
    done = server.wait_for_job(ana, job["id"], timeout=120)
    assert done["state"] == "succeeded", done
    assert done["attempts"] == 1, done
    assert server.jobs_of_style(style_id) == 1
    assert health(server).status == 200
