"""Threads for numerical work: sized to the cores a process is given and to what it does."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hallmark.compute import compute_threads, cores_given
from hallmark.config import Settings
from tests.server.harness import SRC_DIR


@pytest.mark.parametrize(
    ("setting", "processes", "serves_api", "runs_jobs", "expected"),
    [
        (0, 1, True, False, 1),  # an API process: requests, not tensors
        (0, 1, False, True, "cores"),  # a worker: every core it is given
        (0, 1, True, True, "cores - 1"),  # one process doing both leaves a core to the API
        (0, 2, True, True, "cores / 2 - 1"),
        (3, 1, True, False, 3),  # the operator's setting decides
    ],
)
def test_threads_follow_the_cores_given_and_the_process_role(
    setting: int, processes: int, serves_api: bool, runs_jobs: bool, expected: int | str
) -> None:
    cores = cores_given()
    wanted = {
        "cores": cores,
        "cores - 1": max(1, cores - 1),
        "cores / 2 - 1": max(1, cores // 2 - 1),
    }
    settings = Settings(compute_threads=setting, api_processes=processes)
    threads = compute_threads(settings, serves_api=serves_api, runs_jobs=runs_jobs)
    assert threads == (wanted[expected] if isinstance(expected, str) else expected)


PROBE = """
import json, os, sys
import hallmark
from hallmark.compute import size_compute_threads
import faiss, numpy, torch
from threadpoolctl import threadpool_info
size_compute_threads(int(sys.argv[1]))
import cv2  # loaded after sizing: reads the environment
print(json.dumps({
    "torch": torch.get_num_threads(),
    "faiss": faiss.omp_get_max_threads(),
    "pools": sorted({pool["num_threads"] for pool in threadpool_info()}),
    "wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    "omp": os.environ.get("OMP_NUM_THREADS"),
}))
"""


def test_sizing_reaches_torch_faiss_and_every_blas_and_openmp_runtime() -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "MKL_"))}
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, "1"],
        env=environment | {"PYTHONPATH": str(SRC_DIR)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert seen == {"torch": 1, "faiss": 1, "pools": [1], "wait_policy": "PASSIVE", "omp": "1"}
