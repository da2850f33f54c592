"""Tiny base models for the engine tests, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engines.tiny_pipelines import build_tiny_sd, build_tiny_sdxl


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SD 1.x diffusers folder."""
    return build_tiny_sd(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture(scope="session")
def tiny_sdxl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SDXL diffusers folder."""
    return build_tiny_sdxl(tmp_path_factory.mktemp("tiny-sdxl"))
