"""A real S3 wire server for the tests: moto's standalone server on 127.0.0.1, spoken to over HTTP.

Nothing in the client is mocked: the stores under test send their requests to this process.
"""

from __future__ import annotations

import functools
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from hallmark.storage.s3 import S3BlobStore, s3_client

ACCESS_KEY = "hallmark-test"
SECRET_KEY = "hallmark-test-secret"
START_SECONDS = 60.0


class S3ServerUnavailable(RuntimeError):
    """moto's server could not be started or did not answer."""


@dataclass(frozen=True)
class S3Server:
    """A running S3 server: where it listens, and fresh buckets and stores on it."""

    endpoint_url: str

    def client(self) -> Any:
        """A client of this server, shared: making one takes a good part of a second."""
        return _client(self.endpoint_url)

    def new_bucket(self) -> str:
        """An empty bucket of its own, so tests never see each other's objects."""
        bucket = f"hallmark-test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def store(self, bucket: str, prefix: str = "") -> S3BlobStore:
        """A store in the bucket, under the prefix."""
        return S3BlobStore(self.client(), bucket, prefix, endpoint_url=self.endpoint_url)

    def settings(self, bucket: str, prefix: str = "") -> dict[str, Any]:
        """The HALLMARK_* settings that put an instance's blobs in the bucket."""
        return {
            "storage": f"s3://{bucket}/{prefix}".rstrip("/"),
            "s3_endpoint_url": self.endpoint_url,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SecretStr(SECRET_KEY),
        }


@functools.cache
def _client(endpoint_url: str) -> Any:
    """One client per server, with one attempt per call: a test wants failures at once."""
    return s3_client(
        endpoint_url=endpoint_url,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        max_attempts=1,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def running_s3_server(log: Path) -> Iterator[S3Server]:
    """Start moto's server on a free port, wait until it answers, and stop it afterwards."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        server = S3Server(f"http://127.0.0.1:{port}")
        _wait_until_answering(server, process, log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_answering(server: S3Server, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise S3ServerUnavailable(
                f"moto's S3 server exited with {process.returncode} (pip install 'moto[server]'):"
                f"\n{tail}"
            )
        try:
            urllib.request.urlopen(server.endpoint_url + "/", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answers, if only with an error: it is up
        except OSError:
            time.sleep(0.1)
    raise S3ServerUnavailable(f"moto's S3 server did not answer within {START_SECONDS:g} s")
