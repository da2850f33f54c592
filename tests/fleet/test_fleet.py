"""Many machines: two API hosts and a worker host sharing only PostgreSQL, Redis and an S3
bucket, as docs/operations.md sets them up; each host is a process with its own data directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from hallmark.provenance.authority import CHAIN, ROOT_CERT, SIGNER_KEY, own_authority
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.samples.edits import COPY_EDITS
from tests.conftest import IN_CI
from tests.s3 import ACCESS_KEY, SECRET_KEY, S3Server
from tests.server.harness import (
    PostgresUnavailable,
    RedisServer,
    Server,
    postgres_schema,
)
from tests.similarity.test_copy_guard_processes import png

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.s3]
# Files an API host keeps: secrets and a cache rebuilt from the database, no artist's data.
HOST_FILES = ("secret_key", "keys/", "similarity/")


@dataclass
class Fleet:
    """Two API hosts, the settings every host shares, and how to start a worker host."""

    a: Server
    b: Server
    shared: dict[str, str]
    root: Path

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        """`hallmark worker` on a host of its own (its own data directory)."""
        directory = self.root / name
        environment = {k: v for k, v in os.environ.items() if not k.startswith("HALLMARK_")}
        log = (self.root / f"{name}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "hallmark", "worker"],
            env=environment
            | self.a.environment()
            | {"HALLMARK_DATA_DIR": str(directory), "TMPDIR": str(self.root)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def fleet(tmp_path: Path, s3_server: S3Server, own_redis: RedisServer) -> Iterator[Fleet]:
    with ExitStack() as stack:
        try:
            database_url = stack.enter_context(postgres_schema())
        except PostgresUnavailable as error:
            if IN_CI:
                pytest.fail(f"{error} (CI=true: the fleet test must run)")
            pytest.skip(str(error))
        # One content-credentials CA for every host, handed out as the operator would.
        authority = tmp_path / "authority"
        own_authority(authority)
        shared = {
            "HALLMARK_QUEUE": own_redis.url,
            "HALLMARK_STORAGE": f"s3://{s3_server.new_bucket()}/hallmark",
            "HALLMARK_S3_ENDPOINT_URL": s3_server.endpoint_url,
            "HALLMARK_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "HALLMARK_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "HALLMARK_SECRET_KEY": "a-secret-every-host-shares-and-nobody-guesses",
            "HALLMARK_C2PA_CERT_CHAIN": str(authority / CHAIN),
            "HALLMARK_C2PA_PRIVATE_KEY": str(authority / SIGNER_KEY),
            "HALLMARK_C2PA_TRUST_ANCHORS": str(authority / ROOT_CERT),
            "HALLMARK_JOB_STALE_SECONDS": "6",
            "HALLMARK_HEARTBEAT_SECONDS": "1",
        }
        hosts = []
        for name in ("api-a", "api-b"):
            (tmp_path / name).mkdir()
            server = Server(tmp_path / name, database_url, "postgresql", dict(shared))
            server.start()
            stack.callback(server.stop)
            hosts.append(server)
        yield Fleet(hosts[0], hosts[1], shared, tmp_path)


def files_under(directory: Path) -> list[str]:
    """Every file below a directory, relative to it."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def test_two_api_hosts_and_a_worker_host_act_as_one_studio(fleet: Fleet) -> None:
    a, b = fleet.a, fleet.b
    ana, ben = a.sign_up("ana"), b.sign_up("ben")

    # A work registered through one host; its copy refused through the other at once (R1).
    works = a.upload_works(ana, 4, artist="bo", size=256)
    original = sample_works(SAMPLE_ARTISTS["bo"], count=1, size=256)[0]
    with b.client() as api:
        copied = api.post(
            "/api/artworks",
            headers=ben,
            data={"attest_rights": "true"},
            files={
                "file": ("mine.png", png(COPY_EDITS["crop-20%"](original.image())), "image/png")
            },
        )
    assert copied.status_code == 409 and copied.json()["error"]["rule"] == "R1", copied.text

    # A training asked for through B runs on the worker host; killed with -9 mid-way, a fresh
    # worker on another host takes it over and resumes from the checkpoint in the bucket.
    style_id = a.create_style(ana, "Posters", works)
    job = b.train(ana, style_id, steps=20, checkpoint_every=2)
    first = fleet.start_worker("worker-1")
    try:
        a.wait_for_job(ana, job["id"], until=lambda j: j["step"] >= 6, timeout=600)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    second = fleet.start_worker("worker-2")
    try:
        done = a.wait_for_job(ana, job["id"], timeout=900)
        assert done["state"] == "succeeded", done
        row = a.job_row(job["id"])
        assert row["attempts"] == 2 and row["result"]["resumed_from_step"] >= 2, row

        # Images made on the worker are read through both API hosts, by their owner.
        with a.client() as api:
            made = api.post(
                f"/api/styles/{style_id}/generate",
                headers=ana,
                json={"prompt": "a red sun over a blue sea", "count": 1},
            )
        assert made.status_code == 202, made.text
        generated = a.wait_for_job(ana, made.json()["id"], timeout=600)
        assert generated["state"] == "succeeded", generated
    finally:
        second.terminate()
        second.wait(60)
    image_id = a.job_row(generated["id"])["result"]["generation_ids"][0]
    files = []
    for host in (a, b):
        with host.client() as api:
            answer = api.get(f"/api/generations/{image_id}/file", headers=ana)
        assert answer.status_code == 200, answer.text
        files.append(answer.content)
    assert files[0] == files[1] and files[0][:8] == b"\x89PNG\r\n\x1a\n"

    # Nothing of the artists' data is on the API hosts' disks.
    for host in (a, b):
        kept = files_under(host.data_dir)
        assert all(name.startswith(HOST_FILES) for name in kept), kept
