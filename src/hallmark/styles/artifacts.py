"""A style's trained model and its training checkpoints kept in the blob store.

Engines read and write folders; the blob store holds files by content. A trained model folder
is packed into one tar blob that the style row names, and every host that generates with it
unpacks that blob once into a cache named by its hash (a folder written whole and never changed,
so processes of one host share it safely). A training's newest checkpoint is packed the same
way and named in its job's result, so a worker on another host resumes where the last one
stopped. The data directory holds only caches and the work of a training in progress.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hallmark.engines.checkpoints import STATE, is_checkpoint
from hallmark.instance import Instance


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint in the blob store: where it goes in the training folder, and its step."""

    sha256: str
    path: str  # relative to the training folder
    step: int

    def as_result(self) -> dict[str, Any]:
        """How a job's result names it."""
        return {"sha256": self.sha256, "path": self.path, "step": self.step}

    @classmethod
    def from_result(cls, value: Any) -> StoredCheckpoint | None:
        """The checkpoint a job's result names, if any."""
        if not isinstance(value, dict) or not {"sha256", "path", "step"} <= value.keys():
            return None
        return cls(str(value["sha256"]), str(value["path"]), int(value["step"]))


def pack_folder(folder: Path, *, leave_out_checkpoints: bool = False) -> bytes:
    """The folder's files as a tar, in name order and with no owner or time, so the same files
    always pack to the same bytes (and hence the same blob)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if any(part.startswith(".") for part in relative.parts):
                continue  # temporary folders and files of writes in progress
            if leave_out_checkpoints and any(
                is_checkpoint(folder / Path(*relative.parts[: i + 1]))
                for i in range(len(relative.parts))
            ):
                continue
            if not path.is_file():
                continue
            info = tarfile.TarInfo(relative.as_posix())
            info.size = path.stat().st_size
            info.mode = 0o644
            with path.open("rb") as file:
                archive.addfile(info, file)
    return buffer.getvalue()


def unpack_into(data: bytes, folder: Path) -> None:
    """Extract a packed folder to `folder`, written beside it and renamed into place whole;
    entries that would land outside it are refused."""
    temporary = folder.with_name(f".{folder.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as archive:
            archive.extractall(temporary, filter="data")
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    try:
        temporary.rename(folder)
    except OSError:  # another process or thread put the same content there first
        shutil.rmtree(temporary, ignore_errors=True)
        if not folder.is_dir():
            raise


def store_model(instance: Instance, folder: Path) -> str:
    """Put a trained model folder (without its checkpoints) in the blob store; its hash."""
    return instance.blobs.put(pack_folder(folder, leave_out_checkpoints=True)).sha256


def model_folder(instance: Instance, artifact_sha256: str) -> Path:
    """The trained model named by its blob, unpacked into this host's cache on first use."""
    folder = instance.settings.data_dir / "models" / artifact_sha256
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        unpack_into(instance.blobs.get(artifact_sha256), folder)
    return folder


def newest_training_checkpoint(folder: Path) -> tuple[Path, int] | None:
    """The checkpoint with the highest step anywhere in a training folder, and its step."""
    found: list[tuple[int, Path]] = []
    for state in folder.rglob(STATE):
        relative = state.parent.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        try:
            found.append((int(json.loads(state.read_text(encoding="utf-8"))["step"]), state.parent))
        except (ValueError, KeyError, OSError):
            continue  # being replaced at this moment; the next look finds it whole
    if not found:
        return None
    step, path = max(found, key=lambda item: item[0])
    return path, step


def store_checkpoint(
    instance: Instance, folder: Path, checkpoint: Path, step: int
) -> StoredCheckpoint:
    """Put one checkpoint folder in the blob store."""
    stored = instance.blobs.put(pack_folder(checkpoint))
    return StoredCheckpoint(stored.sha256, checkpoint.relative_to(folder).as_posix(), step)


def restore_checkpoint(instance: Instance, folder: Path, checkpoint: StoredCheckpoint) -> bool:
    """Put a stored checkpoint back in a training folder that lacks it (a new host, or a
    folder lost with its disk); whether anything was restored."""
    target = folder / checkpoint.path
    present = newest_training_checkpoint(folder)
    if present is not None and present[1] >= checkpoint.step:
        return False
    if not target.resolve().is_relative_to(folder.resolve()):
        raise ValueError(f"A checkpoint path leaves the training folder: {checkpoint.path}")
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    unpack_into(instance.blobs.get(checkpoint.sha256), target)
    return True
