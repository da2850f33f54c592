"""A worker on one host and a worker on another share only the database and the blob store:
the trained model and the newest checkpoint travel through the store, not a local disk."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from hallmark.db import transaction, write_transaction
from hallmark.instance import Instance
from hallmark.jobs import service
from hallmark.jobs.models import JobKind, JobState
from hallmark.jobs.repository import JobRepository
from hallmark.jobs.runner import JobRunner, WorkerPool
from hallmark.similarity.service import CopyGuard
from hallmark.styles.repository import StyleRepository
from tests.jobs.studio import Studio, open_studio, run_queued


def another_host(studio: Studio, directory: Path) -> Instance:
    """An instance with its own data directory, on the studio's database and blob store."""
    settings = studio.settings.model_copy(update={"data_dir": directory})
    blobs = studio.instance.blobs
    return Instance(settings, blobs, CopyGuard(directory / "similarity", blobs))


def test_a_style_trained_on_one_host_makes_images_on_another(tmp_path: Path, tiny_sd: Path) -> None:
    with open_studio(tmp_path, tiny_sd, "sqlite") as studio:
        job_id = studio.submit_training()
        run_queued(studio, JobKind.TRAIN_STYLE)
        assert studio.job(job_id).state == JobState.SUCCEEDED.value
        with studio.factory() as session:
            artifact = StyleRepository(session).get(studio.style_id).artifact_sha256
        assert artifact is not None and studio.instance.blobs.exists(artifact)

        elsewhere = another_host(studio, tmp_path / "host-b")
        with transaction(studio.factory) as session:
            ask = {"prompt": "a red boat", "count": 1, "steps": 2, "width": 64, "height": 64}
            owner = studio.user(session, studio.owner_id)
            generation = service.submit_generation(
                session, elsewhere.queues, owner, studio.style_id, ask
            )
        JobRunner(elsewhere, studio.factory)(generation.id)

        made = studio.job(generation.id)
        assert made.state == JobState.SUCCEEDED.value, made.error
        assert len(made.result["generation_ids"]) == 1
        assert (tmp_path / "host-b" / "models" / artifact / "manifest.json").is_file()
        assert not (tmp_path / "host-b" / "styles").exists()


def test_a_training_stopped_on_one_host_resumes_on_another_from_the_stored_checkpoint(
    tmp_path: Path, tiny_sd: Path
) -> None:
    with open_studio(tmp_path, tiny_sd, "sqlite") as studio:
        job_id = studio.submit_training(steps=400, checkpoint_every=1)
        pool = WorkerPool(studio.instance, studio.factory)
        pool.start()
        try:
            studio.wait(job_id, lambda job: job.result.get("checkpoint", {}).get("step", 0) >= 3)
        finally:
            pool.stop()  # what SIGTERM does: the job goes back on the queue
        stored = studio.job(job_id).result["checkpoint"]
        shutil.rmtree(studio.settings.data_dir / "styles")  # the first host is gone

        elsewhere = another_host(studio, tmp_path / "host-b")
        runner = threading.Thread(target=JobRunner(elsewhere, studio.factory), args=(job_id,))
        runner.start()
        try:
            resumed = studio.wait(job_id, lambda job: "resumed_from_step" in job.result)
        finally:
            with write_transaction(studio.factory) as session:
                JobRepository(session).request_cancel(job_id)
            runner.join(60)
        assert resumed.result["resumed_from_step"] >= stored["step"]
        assert studio.job(job_id).state == JobState.CANCELLED.value
