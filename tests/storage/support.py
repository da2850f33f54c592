"""What the storage tests share: puts racing each other, and a moment between two puts."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from hallmark.storage import BlobStore, LocalBlobStore, StoredBlob

# File times come from the kernel's coarse clock (a few ms behind); S3 keeps whole seconds.
_LOCAL_RESOLUTION_SECONDS = 0.05
_S3_RESOLUTION_SECONDS = 1.1


def moment_between_puts(store: BlobStore) -> datetime:
    """A time after every put so far and before every later one, as the store records them."""
    local = isinstance(store, LocalBlobStore)
    pause = _LOCAL_RESOLUTION_SECONDS if local else _S3_RESOLUTION_SECONDS
    time.sleep(pause)
    moment = datetime.now(UTC)
    time.sleep(pause)
    return moment


def put_concurrently(store: BlobStore, data: bytes, writers: int = 8) -> list[StoredBlob]:
    """What each of `writers` threads, released at once, got from putting the same bytes."""
    barrier = threading.Barrier(writers)
    results: list[StoredBlob] = []
    lock = threading.Lock()

    def write() -> None:
        barrier.wait()
        blob = store.put(data)
        with lock:
            results.append(blob)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
