"""The `hallmark` command: help, init, users, artworks from files, folders, zips; clean errors."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from hallmark.cli import app
from tests.helpers import png_bytes

runner = CliRunner()


def run_hallmark(
    data_dir: Path, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the installed command in a child process, as a person would."""
    env = {**os.environ, "HALLMARK_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "hallmark", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_help_lists_every_command_with_a_line_of_help() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "serve", "demo", "users", "artworks"):
        assert command in result.output
    artworks_help = runner.invoke(app, ["artworks", "--help"])
    assert "add" in artworks_help.output and "list" in artworks_help.output


def test_init_creates_database_blobs_and_secret(data_dir: Path) -> None:
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (data_dir / "hallmark.db").is_file()
    assert (data_dir / "secret_key").is_file()
    assert str(data_dir) in result.output


def test_users_and_artworks_from_files_folders_and_zips(data_dir: Path, tmp_path: Path) -> None:
    created = runner.invoke(app, ["users", "create", "ana", "--password", "correct horse battery"])
    assert created.exit_code == 0, created.output

    folder = tmp_path / "works"
    (folder / "nested").mkdir(parents=True)
    (folder / "a.png").write_bytes(png_bytes(1))
    (folder / "nested" / "b.png").write_bytes(png_bytes(2))
    (folder / "readme.txt").write_text("not an artwork")
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("c.png", png_bytes(3))
        bundle.writestr("a-again.png", png_bytes(1))

    added = runner.invoke(
        app,
        ["artworks", "add", str(folder), str(archive), "--as", "ana", "--i-hold-the-rights"],
    )
    assert added.exit_code == 0, added.output
    assert added.output.count("created") == 3
    assert "duplicate" in added.output

    listed = runner.invoke(app, ["artworks", "list", "--as", "ana"])
    assert listed.exit_code == 0
    assert "3 artworks" in listed.output


def test_refused_files_are_reported_and_exit_non_zero(data_dir: Path, tmp_path: Path) -> None:
    runner.invoke(app, ["users", "create", "ana", "--password", "correct horse battery"])
    runner.invoke(app, ["users", "create", "ben", "--password", "correct horse battery"])
    work = tmp_path / "work.png"
    work.write_bytes(png_bytes(5))
    broken = tmp_path / "broken.png"
    broken.write_bytes(png_bytes(6)[:50])
    assert (
        runner.invoke(app, ["artworks", "add", str(work), "--as", "ana", "--i-hold-the-rights"])
    ).exit_code == 0

    result = runner.invoke(
        app, ["artworks", "add", str(work), str(broken), "--as", "ben", "--i-hold-the-rights"]
    )
    assert result.exit_code == 1
    assert "R1" in result.output
    assert "truncated" in result.output
    assert "2 of 2 files refused" in result.output


def test_errors_are_one_line_without_a_traceback(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    missing = run_hallmark(data_dir, "artworks", "list", "--as", "nobody")
    assert missing.returncode == 1
    output = missing.stdout + missing.stderr
    assert "error: No user named 'nobody'." in output
    assert "Traceback" not in output

    weak = run_hallmark(data_dir, "users", "create", "ana", "--password", "short")
    assert weak.returncode == 1
    assert "Traceback" not in weak.stdout + weak.stderr
    assert "password" in (weak.stdout + weak.stderr).lower()


def test_demo_tour_runs_and_shows_the_rules(tmp_path: Path) -> None:
    result = run_hallmark(tmp_path / "data", "demo", "--training-steps", "8", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "refused under R1" in result.stdout
    assert "crop-20%      refused under R1" in result.stdout
    assert "variant (linked to the original" in result.stdout
    assert "No content credentials in this file." in result.stdout
    assert "owned by @ana (pdq" in result.stdout
    assert result.stdout.count("owned by @ana (R4), made by @cleo") == 2
    assert "ledger reconciled: True" in result.stdout
    assert "ana's own Extended license on the other image, 40.00 EUR" in result.stdout
    assert "ana's balance due: 52.00 EUR" in result.stdout
    assert "signed by a certificate this studio trusts" in result.stdout
    assert "refused under R2" in result.stdout
    assert result.stdout.count("step 8/8") == 1  # the last step is shown once, not twice
    assert "licensed to @cleo" in result.stdout  # the usage register
    assert "platform's share 3.00, hers 52.00 EUR" in result.stdout
    assert "2,000,000 copies in Japan: not allowed" in result.stdout
    assert "checked: " in result.stdout and "model-export.zip" in result.stdout
    demo = tmp_path / "data" / "demo"
    assert zipfile.is_zipfile(demo / "model-export.zip")
    assert any(demo.glob("preview-*.jpg"))
    rerun = run_hallmark(tmp_path / "data", "demo", timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "already exists" in rerun.stdout
