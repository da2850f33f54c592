"""How many threads torch, FAISS and the BLAS/OpenMP runtimes use in this process.

Left alone, each of them starts a thread per core of the machine in every process. Where an API
process and a training share a host, their threads then outnumber the cores, and a training
whose threads wait on each other at every step while one is descheduled runs many times
slower. Each process instead sizes them to the cores it is given (its CPU affinity, as set by
`taskset`, a container's cpuset or the operator) and to what else it does.
"""

from __future__ import annotations

import logging
import os
import sys

import faiss
from threadpoolctl import threadpool_limits

from hallmark.config import Settings

logger = logging.getLogger(__name__)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def cores_given() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def compute_threads(settings: Settings, *, serves_api: bool, runs_jobs: bool) -> int:
    """The threads for numerical work in a process that serves the API, runs jobs, or both.

    HALLMARK_COMPUTE_THREADS decides when set. Otherwise a process that only serves requests
    uses one (its work is many small requests, not large tensors); a worker uses every core it
    is given; an API process that also runs jobs leaves a core to each API process of the host.
    """
    if settings.compute_threads:
        return settings.compute_threads
    if not runs_jobs:
        return 1
    cores = cores_given()
    if serves_api:
        return max(1, cores // settings.api_processes - 1)
    return cores


def size_compute_threads(threads: int) -> None:
    """Tell every numerical runtime of this process, loaded now or later, to use `threads`."""
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)  # for runtimes loaded from here on
    threadpool_limits(limits=threads)  # BLAS and OpenMP runtimes already loaded
    faiss.omp_set_num_threads(threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    logger.info("numerical work uses %d thread(s) in process %d", threads, os.getpid())
