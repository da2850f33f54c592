"""Packing a model folder into one blob and back: the same files give the same bytes, the
checkpoints stay out of a trained model, and nothing unpacks outside its folder."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from hallmark.instance import Instance
from hallmark.styles.artifacts import (
    StoredCheckpoint,
    model_folder,
    newest_training_checkpoint,
    pack_folder,
    restore_checkpoint,
    store_checkpoint,
    store_model,
    unpack_into,
)


def trained_folder(root: Path) -> Path:
    """A model folder as an engine leaves it: weights, manifest, a checkpoint, a temp folder."""
    (root / "works").mkdir(parents=True)
    (root / "weights.safetensors").write_bytes(b"w" * 100)
    (root / "manifest.json").write_text('{"engine": "studio"}')
    (root / "works" / "a.png").write_bytes(b"png")
    for step in (2, 4):
        checkpoint = root / "checkpoints" / f"step-{step}"
        checkpoint.mkdir(parents=True)
        (checkpoint / "weights.safetensors").write_bytes(b"c" * step)
        (checkpoint / "state.json").write_text(json.dumps({"step": step}))
    (root / ".checkpoint.tmp").mkdir()
    (root / ".checkpoint.tmp" / "half.bin").write_bytes(b"x")
    return root


def test_the_same_files_pack_to_the_same_bytes_without_checkpoints(tmp_path: Path) -> None:
    first = trained_folder(tmp_path / "a")
    second = trained_folder(tmp_path / "b")
    packed = pack_folder(first, leave_out_checkpoints=True)
    assert packed == pack_folder(second, leave_out_checkpoints=True)
    with tarfile.open(fileobj=io.BytesIO(packed)) as archive:
        names = sorted(archive.getnames())
    assert names == ["manifest.json", "weights.safetensors", "works/a.png"]


def test_a_stored_model_unpacks_once_into_this_hosts_cache(
    tmp_path: Path, instance: Instance
) -> None:
    sha256 = store_model(instance, trained_folder(tmp_path / "trained"))
    folder = model_folder(instance, sha256)
    assert (folder / "works" / "a.png").read_bytes() == b"png"
    assert not (folder / "checkpoints").exists()
    (folder / "manifest.json").write_text("changed")  # a cached folder is not fetched again
    assert (model_folder(instance, sha256) / "manifest.json").read_text() == "changed"


def test_the_newest_checkpoint_is_restored_where_it_was_missing(
    tmp_path: Path, instance: Instance
) -> None:
    source = trained_folder(tmp_path / "first-host")
    found = newest_training_checkpoint(source)
    assert found is not None and found[1] == 4
    stored = store_checkpoint(instance, source, *found)
    assert stored == StoredCheckpoint(stored.sha256, "checkpoints/step-4", 4)

    target = tmp_path / "second-host"
    assert restore_checkpoint(instance, target, stored) is True
    assert json.loads((target / "checkpoints/step-4/state.json").read_text()) == {"step": 4}
    assert restore_checkpoint(instance, target, stored) is False  # already there


def test_an_archive_entry_that_leaves_its_folder_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(tarfile.OutsideDestinationError):
        unpack_into(buffer.getvalue(), tmp_path / "model")
    assert not (tmp_path / "escaped.txt").exists()
