"""Settings: one object read from HALLMARK_* environment variables, and the data directory."""

from __future__ import annotations

import os
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"
MIN_SECRET_KEY_LENGTH = 32
# s3://bucket/optional/prefix: an S3 bucket name, then key prefix segments of safe characters.
_S3_STORAGE = re.compile(
    r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?P<prefix>(?:/[A-Za-z0-9_.=-]+)*)/?"
)


def default_data_dir() -> Path:
    """Where Hallmark keeps its database, blobs and keys when nothing else is configured."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "hallmark"


class Settings(BaseSettings):
    """Every configurable value of an instance; embedded defaults need no running service."""

    model_config = SettingsConfigDict(env_prefix="HALLMARK_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    secret_key: SecretStr | None = None
    environment: str = "development"

    host: str = "127.0.0.1"
    port: int = 8000

    # Bodies: one file of an upload, a whole batch upload, and any other request; each is
    # refused from its declared length, or cut while it streams, before the work is done.
    max_upload_bytes: int = 50 * 1024 * 1024
    max_batch_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    # An imported LoRA file (a style model trained elsewhere).
    max_model_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    max_image_pixels: int = 40_000_000
    min_image_side: int = 32

    api_token_days: int = 90

    # Serving many at once: request_threads run the routes; a request waits at most
    # request_queue_seconds (and behind at most max_queued_requests others) for one, else 503
    # with Retry-After. Long-polls wait without a thread or connection, max_long_polls at a time.
    # The database pool holds a connection for every thread that may need one at once.
    request_threads: int = Field(default=16, ge=1, le=256)
    max_queued_requests: int = Field(default=1024, ge=0)
    request_queue_seconds: float = Field(default=5.0, gt=0)
    max_long_polls: int = Field(default=256, ge=1)
    database_pool_size: int | None = Field(default=None, ge=1)
    verifications_per_minute: int = Field(default=30, ge=1)

    # Pages: how long a sign-in lasts, whether its cookie needs HTTPS, and rate limits per
    # minute (login attempts per address and name; generation requests per user).
    session_hours: int = Field(default=24 * 7, ge=1)
    secure_cookies: bool = False
    login_attempts_per_minute: int = Field(default=10, ge=1)
    generations_per_minute: int = Field(default=30, ge=1)
    # Where those counts live: "" shares them through the queue's Redis when HALLMARK_QUEUE is
    # one (several API processes then share one allowance), else keeps them in the process;
    # "memory" always keeps them in the process; a redis:// URL names another Redis.
    rate_limit_store: str = ""

    # Licensing: the platform's share of the licenses it sells for public models (R7), in basis
    # points; the address certificates point to; how buyers pay ("ledger": recorded only).
    platform_fee_bps: int = Field(default=2000, ge=0, le=10_000)
    public_url: str = ""
    payment_provider: str = "ledger"
    stripe_api_key: SecretStr | None = None

    # Content credentials: unset, the instance signs with its own CA (created in keys/); set the
    # chain and key of a certificate from a CA on the C2PA trust list to be trusted everywhere.
    c2pa_cert_chain: Path | None = None
    c2pa_private_key: Path | None = None
    c2pa_trust_anchors: Path | None = None
    organisation: str = "Hallmark"

    # Jobs: "sqlite" keeps the queue in the data directory; "redis://host:6379/0" shares it
    # between machines. A running job's worker writes a heartbeat; one silent for
    # job_stale_seconds is re-queued, at most job_max_attempts times in all.
    queue: str = "sqlite"
    # Whether `hallmark serve` starts a job worker process beside its API processes: unset, yes
    # with the SQLite queue (one machine), no with a shared Redis queue (run `hallmark worker`).
    serve_job_workers: bool | None = None
    # `hallmark worker` answers GET /health on this port of HALLMARK_HOST (0: it does not).
    worker_health_port: int = Field(default=0, ge=0, le=65535)
    # How many API processes `hallmark serve` starts on this host (each its own event loop).
    api_processes: int = Field(default=1, ge=1, le=64)
    # Threads for torch, FAISS and BLAS in each process; 0 sizes them to the cores the process
    # is given (see hallmark.compute).
    compute_threads: int = Field(default=0, ge=0, le=512)
    training_workers: int = Field(default=1, ge=0, le=16)
    generation_workers: int = Field(default=1, ge=0, le=16)
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    job_stale_seconds: float = Field(default=60.0, gt=0)
    job_max_attempts: int = Field(default=3, ge=1)
    max_trainings_per_user: int = Field(default=2, ge=1)
    # How long a call to a Redis broker may take (connecting, or one command) before the broker
    # counts as unreachable; blocking dequeues wait 1 s within it.
    queue_timeout_seconds: float = Field(default=5.0, ge=2.0)
    # On SIGTERM, how long the workers wait for running jobs to reach a step where they can stop;
    # whatever is still running then is re-queued anyway, without spending one of its attempts.
    job_shutdown_seconds: float = Field(default=10.0, ge=0)
    # Blob files that no row uses are deleted at start once older than this, so the files of an
    # upload or a job still in flight are never swept.
    blob_grace_seconds: float = Field(default=3600.0, ge=0)

    # Where blobs live: "" is the blob directory in the data directory; "s3://bucket/prefix" an
    # S3 bucket, shared by every machine. The endpoint names an S3-compatible server (MinIO,
    # R2, ...; empty is AWS); without keys, boto3 finds credentials itself (AWS_*, an IAM role).
    storage: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr | None = None
    # Bucket in the path (http://host/bucket/key) or in the host name (http://bucket.host/key);
    # unset, the path when an endpoint is set, else the host name as AWS prefers.
    s3_addressing_style: Literal["path", "virtual"] | None = None

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> Settings:
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < MIN_SECRET_KEY_LENGTH or value.lower() in {"changethis", "secret"}:
                raise ValueError(
                    f"HALLMARK_SECRET_KEY must be a random value of at least "
                    f"{MIN_SECRET_KEY_LENGTH} characters; unset it to have one generated"
                )
        return self

    @field_validator("storage")
    @classmethod
    def _refuse_unknown_storage(cls, value: str) -> str:
        match = _S3_STORAGE.fullmatch(value)
        if value and (match is None or {".", ".."} & set(match["prefix"].split("/"))):
            raise ValueError(
                "HALLMARK_STORAGE must be empty (blobs in the data directory) or "
                f"s3://bucket/optional/prefix with a valid S3 bucket name, not {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _refuse_half_s3_keys(self) -> Settings:
        if bool(self.s3_access_key_id) != (self.s3_secret_access_key is not None):
            raise ValueError(
                "set both HALLMARK_S3_ACCESS_KEY_ID and HALLMARK_S3_SECRET_ACCESS_KEY, or neither "
                "(boto3 then finds credentials itself)"
            )
        return self

    @property
    def blob_dir(self) -> Path:
        """Content-addressed files (artworks, generated images), unless `storage` names S3."""
        return self.data_dir / "blobs"

    @property
    def s3_location(self) -> tuple[str, str] | None:
        """The bucket and key prefix `storage` names, or None for the local blob directory."""
        match = _S3_STORAGE.fullmatch(self.storage)
        if match is None:
            return None
        return match["bucket"], match["prefix"].strip("/")

    @property
    def resolved_s3_addressing_style(self) -> str:
        """The configured addressing style, else the path for an endpoint and the host for AWS."""
        if self.s3_addressing_style is not None:
            return self.s3_addressing_style
        return "path" if self.s3_endpoint_url else "virtual"

    @property
    def sqlite_path(self) -> Path:
        """The embedded database file."""
        return self.data_dir / "hallmark.db"

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or the SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def admitted_requests(self) -> int:
        """How many requests are let in at once: twice the threads, so a thread that finishes
        finds the next request's body already read."""
        return 2 * self.request_threads

    @property
    def resolved_database_pool_size(self) -> int:
        """A connection for every admitted request (one holds its connection from its first
        query to its commit), job worker, heartbeat and sweeper at once."""
        if self.database_pool_size is not None:
            return self.database_pool_size
        workers = self.training_workers + self.generation_workers
        return self.admitted_requests + 2 * workers + 4

    @property
    def shared_queue(self) -> bool:
        """Whether the job queue is shared between machines (Redis), not a local file."""
        return self.queue != "sqlite"

    @property
    def resolved_serve_job_workers(self) -> bool:
        """Whether the API processes of `hallmark serve` run job workers too."""
        if self.serve_job_workers is not None:
            return self.serve_job_workers
        return not self.shared_queue

    @property
    def resolved_public_url(self) -> str:
        """Where this instance is reached from outside, for links in certificates."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def key_dir(self) -> Path:
        """Private signing keys (0700 directory, 0600 files)."""
        return self.data_dir / "keys"

    def ensure_data_dir(self) -> None:
        """Create the data directory (private to this user) if it is missing."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated on first start and kept 0600 in the data dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        self.ensure_data_dir()
        path = self.data_dir / SECRET_KEY_FILE
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
        return path.read_text(encoding="utf-8").strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
