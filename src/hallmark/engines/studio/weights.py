"""The studio's base model: where its weights are, checking them, and loading them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hallmark.engines.base import EngineError, MissingComponent

if TYPE_CHECKING:
    import torch

SHIPPED = Path(__file__).resolve().parent / "weights" / "studio-base.json"
BUILT_IN_NAMES = ("", "studio-base")


class ChecksumMismatch(EngineError):
    """A base model's weights are not the ones its record describes."""


@dataclass(frozen=True)
class BaseModel:
    """A base model's record (how it was made) and its weights file."""

    record: dict[str, Any]
    weights: Path

    @property
    def sha256(self) -> str:
        """The checksum its record promises."""
        return str(self.record["sha256"])

    @property
    def vocabulary(self) -> frozenset[str]:
        """The words of the world it was trained on."""
        return frozenset(self.record.get("vocabulary", ()))


def locate_base(base_model: str) -> BaseModel:
    """The shipped base model ("" or "studio-base"), or one at a path to its .json record."""
    record_path = SHIPPED if base_model in BUILT_IN_NAMES else Path(base_model)
    if record_path.is_dir():
        record_path = record_path / "studio-base.json"
    if not record_path.is_file():
        raise MissingComponent(
            f"No studio base model at {record_path}: give the folder or .json record that "
            "`python -m hallmark.samples.studio_base` wrote."
        )
    record = json.loads(record_path.read_text(encoding="utf-8"))
    weights = record_path.parent / str(record["file"])
    if not weights.is_file():
        raise MissingComponent(f"The base model's weights {weights} are missing.")
    return BaseModel(record, weights)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_base(base: BaseModel) -> None:
    """Refuse weights whose checksum differs from their record's."""
    actual = file_sha256(base.weights)
    if actual != base.sha256:
        raise ChecksumMismatch(
            f"{base.weights} has checksum {actual[:12]}..., its record says {base.sha256[:12]}...; "
            "reinstall the package or retrain with the command in the record."
        )


def load_base_unet(base: BaseModel) -> torch.nn.Module:
    """The base UNet in float32 on the CPU, checked against its record."""
    from safetensors.torch import load_file

    from hallmark.engines.studio.network import build_unet

    verify_base(base)
    unet = build_unet(dict(base.record["unet"]))
    state = {k: v.float() for k, v in load_file(str(base.weights)).items()}
    unet.load_state_dict(state)
    unet.eval()
    return unet
