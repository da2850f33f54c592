"""Several API processes behind one port, sharing PostgreSQL and Redis, act as one studio."""

from __future__ import annotations

import io
from pathlib import Path

import httpx2 as httpx
import pytest
from PIL import Image

from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.samples.edits import COPY_EDITS
from tests.helpers import PASSWORD
from tests.server.harness import Launch, RedisServer, Server

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
PROCESSES = 2


def api_processes(server: Server) -> list[int]:
    """The process ids serving requests: the children `hallmark serve`'s supervisor spawned
    (not multiprocessing's resource tracker)."""
    assert server.process is not None
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()]
    return [pid for pid in pids if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def png(image: Image.Image) -> bytes:
    """PNG bytes of an image."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def fleet(launch: Launch, own_redis: RedisServer) -> Server:
    """`hallmark serve --processes 2` on PostgreSQL with a Redis queue (so no job workers)."""
    return launch("postgresql", HALLMARK_API_PROCESSES=str(PROCESSES), HALLMARK_QUEUE=own_redis.url)


def test_the_processes_share_one_sign_in_allowance(fleet: Server) -> None:
    fleet.sign_up("ana")  # its token request is the first of ten sign-ins a minute
    assert len(api_processes(fleet)) == PROCESSES
    answers = []
    for _ in range(10):  # a new connection each time: the kernel spreads them over the processes
        with fleet.client() as api:
            wrong = {"username": "ana", "password": PASSWORD + "x"}
            answers.append(api.post("/api/tokens", json=wrong).status_code)
    assert answers == [401] * 9 + [429], answers


def test_a_copy_is_refused_by_a_process_other_than_the_one_that_registered_the_work(
    fleet: Server,
) -> None:
    ana, ben = fleet.sign_up("ana"), fleet.sign_up("ben")
    work = sample_works(SAMPLE_ARTISTS["bo"], count=1, size=256)[0]
    copy = png(COPY_EDITS["crop-20%"](work.image()))
    with fleet.client() as api:
        registered = api.post(
            "/api/artworks",
            headers=ana,
            data={"attest_rights": "true"},
            files={"file": ("w.png", work.png, "image/png")},
        )
        assert registered.status_code == 201, registered.text
    refusals = []
    for attempt in range(6):  # new connections, so both processes are asked
        with httpx.Client(base_url=fleet.url, timeout=60) as api:
            answer = api.post(
                "/api/artworks",
                headers=ben,
                data={"attest_rights": "true"},
                files={"file": (f"mine-{attempt}.png", copy, "image/png")},
            )
        refusals.append((answer.status_code, answer.json()["error"]["rule"]))
    assert refusals == [(409, "R1")] * 6, refusals
