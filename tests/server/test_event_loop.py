"""CPU-heavy requests must not stop the server from answering everyone else.

`POST /api/verify` and `POST /api/artworks/batch` were async routes that decoded, hashed and
searched images on the event loop: a big JPEG sent anonymously to /api/verify stopped
/api/health for as long as it took, and a 40-file batch froze every route for seconds. The
event loop is the same whatever the database, so these run on SQLite only.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from hallmark.samples import SAMPLE_ARTISTS, sample_works
from tests.server.harness import (
    Launch,
    Outcome,
    Poller,
    Server,
    in_parallel,
    latencies,
    noisy_jpeg,
    percentile,
    sample,
    summary,
    timed,
)

BIG_SIDE = 6000  # 36 megapixels of noise, 12 MB: a second of decoding and hashing or more


@functools.cache
def big_jpeg(seed: int) -> bytes:
    return noisy_jpeg(BIG_SIDE, seed)


def bystanders_during(
    server: Server, work: Callable[[], list[Outcome]]
) -> tuple[list[Outcome], list[Outcome], float, list[Outcome]]:
    """Health answers before and during `work`, how long the work took, and its outcomes."""
    with server.client() as api:
        before = sample(api, "/api/health", 30)
    assert all(outcome.status == 200 for outcome in before), summary(before)
    with Poller(server, "/api/health", pause=0.02, timeout=120) as health:
        time.sleep(0.2)
        started = time.perf_counter()
        outcomes = work()
        took = time.perf_counter() - started
    return before, health.outcomes, took, outcomes


def assert_health_kept_answering(
    before: list[Outcome], during: list[Outcome], took: float, what: str
) -> None:
    assert all(outcome.status == 200 for outcome in during), summary(during)
    longest = max(latencies(during))
    # Sharing the CPU slows a health check a little; waiting for the work to end is not that.
    bound = max(10 * percentile(latencies(before), 0.99), took / 4)
    assert longest <= bound, (
        f"health before: {summary(before)}; during {what} ({took:.1f} s): {summary(during)}"
    )


def test_verifying_big_jpegs_does_not_stop_health_checks(launch: Launch) -> None:
    server = launch("sqlite")
    images = [big_jpeg(seed) for seed in (1, 2)]

    def verify_both() -> list[Outcome]:
        def verify(number: int) -> list[Outcome]:
            with server.client(timeout=120) as api:
                files = {"file": (f"photo-{number}.jpg", images[number], "image/jpeg")}
                return [timed(api, "POST", "/api/verify", files=files)]

        return in_parallel(2, verify)

    before, during, took, verified = bystanders_during(server, verify_both)

    assert [outcome.status for outcome in verified] == [200, 200], summary(verified)
    assert_health_kept_answering(before, during, took, "two anonymous verifications")


def test_a_40_file_batch_upload_does_not_freeze_other_routes(launch: Launch) -> None:
    server = launch("sqlite")
    ana = server.sign_up("ana")
    works = sample_works(SAMPLE_ARTISTS["bo"], count=40, size=192)

    def upload_batch() -> list[Outcome]:
        with server.client(timeout=300) as api:
            files = [("files", (work.filename, work.png, "image/png")) for work in works]
            form = {"attest_rights": "true"}
            return [timed(api, "POST", "/api/artworks/batch", headers=ana, data=form, files=files)]

    before, during, took, uploaded = bystanders_during(server, upload_batch)

    assert [outcome.status for outcome in uploaded] == [200], summary(uploaded)
    assert len(uploaded[0].body) == 40
    assert_health_kept_answering(before, during, took, "a 40-file batch upload")
