"""Idempotency keys: a retried submission gets the first job, even when the two requests race."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from hallmark.accounts.models import User
from hallmark.db import write_transaction
from hallmark.errors import Conflict, InvalidInput
from hallmark.jobs import service
from hallmark.jobs.models import Job, JobKind
from tests.jobs.studio import Committed


def test_a_retry_with_the_same_key_gets_the_first_job_and_queues_nothing_more(
    committed: Committed,
) -> None:
    first = committed.train("retry-1")
    assert committed.train("retry-1") == first
    assert committed.jobs() == 1
    assert committed.instance.queues.pending(JobKind.TRAIN_STYLE) == 1
    # A retry is answered even when the user has since reached the limit of trainings.
    limit = committed.instance.settings.max_trainings_per_user
    for number in range(limit - 1):
        committed.train(f"other-{number}")
    assert committed.train("retry-1") == first
    with pytest.raises(Conflict, match="trainings queued or running"):
        committed.train("one-too-many")


def test_a_key_used_for_other_work_or_malformed_is_refused(committed: Committed) -> None:
    committed.train("mine")
    with pytest.raises(Conflict, match="already used for a different request"):
        committed.train("mine", {"steps": 4})
    with write_transaction(committed.factory) as session:
        ana = session.get(User, committed.ana_id)
        assert ana is not None
        with pytest.raises(Conflict, match="already used for a different request"):
            service.submit_generation(
                session,
                committed.instance.queues,
                ana,
                committed.style_id,
                {"prompt": "x"},
                idempotency_key="mine",
            )
    for bad in ("", "x" * 129, "line\nbreak"):
        with pytest.raises(InvalidInput, match="1 to 128 printable characters"):
            committed.train(bad)
    assert committed.train(None) != committed.train(None)  # no key: every request is new work
    assert committed.jobs() == 3


def test_two_requests_racing_with_one_key_make_one_job(committed: Committed) -> None:
    inserted, ids = threading.Event(), {}

    def first() -> None:
        with write_transaction(committed.factory) as session:
            ids["first"] = committed.train_in(session, "raced").id
            inserted.set()
            time.sleep(0.3)  # the second request arrives before this one commits

    def second() -> None:
        inserted.wait()
        ids["second"] = committed.train("raced")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert ids["first"] == ids["second"]
    assert committed.jobs() == 1
    assert committed.instance.queues.pending(JobKind.TRAIN_STYLE) == 1


def test_an_insert_that_loses_the_race_falls_back_to_the_first_job(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = committed.train("raced")
    # As if the lookup had run before the first request committed: the insert itself collides.
    monkeypatch.setattr(service, "_earlier_submission", lambda *args: None)
    with write_transaction(committed.factory) as session:
        again = committed.train_in(session, "raced")
        assert again.id == first
        assert session.scalar(select(func.count()).select_from(Job)) == 1  # still usable
    with pytest.raises(Conflict, match="already used for a different request"):
        committed.train("raced", {"steps": 9})
    assert committed.jobs() == 1
