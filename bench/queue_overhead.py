"""What the job queue adds to a generation: enqueue -> picked up -> result stored.

Run: .venv/bin/python bench/queue_overhead.py [--jobs 200] [--redis redis://127.0.0.1:6379/15]
For each queue (the SQLite file, and Redis when reachable), 200 generation jobs whose engine
work is a stand-in measured by itself (a direct call); prints the median and 95th percentile of
the time each job spent beyond that call: the queue, the claim, the heartbeat and the record.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis

from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.config import Settings
from hallmark.db import transaction
from hallmark.instance import Instance
from hallmark.jobs.models import Job, JobKind, JobState
from hallmark.jobs.runner import JobRunner, WorkerPool
from hallmark.styles.models import StyleModel

WORK_SECONDS = 0.005  # the stand-in for the engine: a fixed, directly measured call


def stand_in_engine() -> None:
    """What a direct call to the engine would cost here."""
    time.sleep(WORK_SECONDS)


class MeasuredRunner(JobRunner):
    """The real runner, with the engine call replaced by the stand-in."""

    def _generate(self, job_id: uuid.UUID, worker: str, *args: Any) -> None:
        from hallmark.jobs.models import JobState as State

        stand_in_engine()
        self._finish(job_id, worker, State.SUCCEEDED, result={"generation_ids": []})


def measure(queue: str, jobs: int) -> list[float]:
    """Milliseconds each job took beyond the engine call, from commit to its stored result."""
    folder = Path(tempfile.mkdtemp())
    url = f"sqlite:///{folder / 'db.sqlite'}"
    settings = Settings(
        data_dir=folder / "data",
        database_url=url,
        queue=queue,
        training_workers=0,
        generation_workers=1,
    )
    with Instance.open(settings) as instance:
        return _measure_jobs(instance, jobs)


def _measure_jobs(instance: Instance, jobs: int) -> list[float]:
    """The time each of `jobs` generations spends queued, beyond the work itself."""
    factory = instance.sessions
    with transaction(factory) as session:
        user = UserRepository(session).add(
            User(username="ana", display_name="A", password_hash="x")
        )
        style = StyleModel(owner_id=user.id, name="s", engine="diffusers-lora")
        session.add(style)
        session.flush()
        user_id, style_id = user.id, style.id
    pool = WorkerPool(instance, factory)
    instance.queues.runner = MeasuredRunner(instance, factory)
    pool.workers.start()
    started: dict[uuid.UUID, float] = {}
    try:
        for _ in range(jobs):
            with transaction(factory) as session:
                job = Job(
                    kind=JobKind.GENERATE_IMAGES.value,
                    requester_id=user_id,
                    style_id=style_id,
                    payload={},
                )
                session.add(job)
                session.flush()
                job_id = job.id
            started[job_id] = time.perf_counter()
            instance.queues.enqueue(JobKind.GENERATE_IMAGES, job_id)
            while True:
                with factory() as session:
                    state = session.get(Job, job_id).state  # type: ignore[union-attr]
                if state == JobState.SUCCEEDED.value:
                    started[job_id] = time.perf_counter() - started[job_id]
                    break
                time.sleep(0.0005)
    finally:
        pool.workers.stop()
    return [(seconds - WORK_SECONDS) * 1000 for seconds in started.values()]


def main() -> None:
    """Measure both queues and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    queues = ["sqlite"]
    try:
        redis.Redis.from_url(args.redis).flushdb()
        queues.append(args.redis)
    except redis.ConnectionError:
        print(f"(Redis at {args.redis} not reachable: measured SQLite only)")
    work_ms = WORK_SECONDS * 1000
    print(f"{'queue':<34} {'median ms':>10} {'p95 ms':>8}   (beyond a {work_ms:.0f} ms call)")
    for queue in queues:
        added = sorted(measure(queue, args.jobs))
        p95 = added[int(len(added) * 0.95) - 1]
        print(f"{queue:<34} {statistics.median(added):>10.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()
