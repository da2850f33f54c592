"""From the terminal: upload works, train a diffusers-lora style on a tiny base, generate."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hallmark.accounts.repository import UserRepository
from hallmark.cli import app
from hallmark.config import get_settings
from hallmark.db import transaction
from hallmark.errors import AcknowledgementRequired
from hallmark.instance import Instance
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.styles.service import publish_style

runner = CliRunner()


def invoke(*args: str) -> str:
    """Run a command and return its output, failing the test on a non-zero exit."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_an_artist_trains_a_style_and_every_image_is_signed_as_theirs(
    data_dir: Path, tmp_path: Path, tiny_sd: Path
) -> None:
    for name in ("ana", "ben"):
        invoke("users", "create", name, "--password", "correct horse battery")
    works = tmp_path / "works"
    works.mkdir()
    for work in sample_works(SAMPLE_ARTISTS["ana"], count=3, size=96):
        (works / work.filename).write_bytes(work.png)
    invoke("artworks", "add", str(works), "--as", "ana", "--i-hold-the-rights")

    trained = invoke(
        "styles",
        "train",
        "Washes",
        "--as",
        "ana",
        "--engine",
        "diffusers-lora",
        "--base",
        str(tiny_sd),
        "--steps",
        "3",
        "--resolution",
        "64",
        "--rank",
        "4",
        "--min-side",
        "32",
    )
    assert "is ready" in trained
    found = re.search(r"\(([0-9a-f-]{36})\)", trained)
    assert found is not None
    style_id = found.group(1)

    out = tmp_path / "out"
    made = invoke(
        "generate",
        style_id,
        "a red boat",
        "--as",
        "ana",
        "-n",
        "2",
        "--steps",
        "2",
        "--size",
        "64",
        "--out",
        str(out),
    )
    files = sorted(out.glob("*.png"))
    assert len(files) == 2 and made.count("owned by @ana") == 2
    for file in files:
        report = invoke("verify", str(file), "--json")
        assert '"verdict": "trusted"' in report
        assert '"username": "ana"' in report and '"name": "Washes"' in report

    # The style is private: ben may not generate with it (R5), and is told nothing about it.
    refused = runner.invoke(app, ["generate", style_id, "x", "--as", "ben", "--size", "64"])
    assert refused.exit_code != 0


def test_the_default_studio_engine_trains_and_generates_from_the_terminal_for_anyone_allowed(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke("users", "create", "bob", "--password", "correct horse battery")
    works = tmp_path / "works"
    works.mkdir()
    for work in sample_works(SAMPLE_ARTISTS["bo"], count=5, size=128):
        (works / work.filename).write_bytes(work.png)
        (works / work.filename).with_suffix(".txt").write_text(work.caption)
    invoke("artworks", "add", str(works), "--as", "bob", "--i-hold-the-rights")

    trained = invoke("styles", "train", "Posters", "--as", "bob", "--steps", "4")
    assert "is ready" in trained
    found = re.search(r"\(([0-9a-f-]{36})\)", trained)
    assert found is not None

    out = tmp_path / "out"
    made = invoke(
        "generate",
        found.group(1),
        "a red sun over a blue sea, by a dragon",
        "--as",
        "bob",
        "-n",
        "2",
        "--steps",
        "4",
        "--out",
        str(out),
    )
    files = sorted(out.glob("*.png"))
    assert len(files) == 2 and made.count("owned by @bob") == 2
    assert "note: " in made and "dragon" in made  # a word outside the studio's small world

    # Published, anyone may make images with it; they are bob's, so ben gets no file (R4).
    with Instance.open(get_settings()) as instance, transaction(instance.sessions) as session:
        bob = UserRepository(session).get_by_username("bob")
        assert bob is not None
        publish_style(session, bob, uuid.UUID(found.group(1)), accept_platform_license=True)
    invoke("users", "create", "ben", "--password", "correct horse battery")
    elsewhere = tmp_path / "ben"
    ask = ["generate", found.group(1), "a red sun", "--as", "ben", "--out", str(elsewhere)]
    notice = "note: This is @bob's model. Every image you make with it belongs to @bob (R4)"
    assert notice not in " ".join(made.split())  # the owner is never told or asked

    # First use of bob's style: the notice, then an acknowledgement, --acknowledge or asked.
    unacknowledged = runner.invoke(app, ask)
    assert unacknowledged.exit_code == 1
    assert isinstance(unacknowledged.exception, AcknowledgementRequired)
    assert "Pass --acknowledge" in unacknowledged.exception.message
    assert notice in " ".join(unacknowledged.output.split())
    monkeypatch.setattr("hallmark.cli.on_terminal", lambda: True)
    declined = runner.invoke(app, ask, input="n\n")
    assert declined.exit_code == 1 and "Make images that will belong to @bob? [y/N]" in (
        declined.output
    )
    monkeypatch.setattr("hallmark.cli.on_terminal", lambda: False)
    assert not elsewhere.exists()  # nothing was made

    asked = invoke(*ask, "--acknowledge")
    told = " ".join(asked.split())
    assert told.index(notice) < told.index("owned by @bob")  # told before the images
    assert "license it from them to download it. (R4)" in told
    assert not list(elsewhere.glob("*.png"))
    again = " ".join(invoke(*ask).split())  # acknowledged once, not asked again
    assert notice in again and "owned by @bob" in again
