"""Settings: the data directory, the default database, and a secret that is never a placeholder."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from hallmark.config import Settings


def test_data_dir_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HALLMARK_DATA_DIR", str(tmp_path / "elsewhere"))
    settings = Settings()
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'elsewhere' / 'hallmark.db'}"
    assert settings.blob_dir == tmp_path / "elsewhere" / "blobs"


def test_database_url_overrides_the_sqlite_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALLMARK_DATABASE_URL", "postgresql://db.example/hallmark")
    assert Settings().resolved_database_url == "postgresql://db.example/hallmark"


def test_secret_key_is_generated_once_and_kept_private(settings: Settings) -> None:
    first = settings.resolved_secret_key()
    second = Settings(data_dir=settings.data_dir).resolved_secret_key()
    assert first == second
    assert len(first) >= 32
    mode = stat.S_IMODE((settings.data_dir / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_each_instance_gets_its_own_secret(tmp_path: Path) -> None:
    one = Settings(data_dir=tmp_path / "a").resolved_secret_key()
    two = Settings(data_dir=tmp_path / "b").resolved_secret_key()
    assert one != two


@pytest.mark.parametrize("weak", ["changethis", "secret", "short-but-not-random"])
def test_placeholder_or_short_secrets_are_refused(weak: str) -> None:
    with pytest.raises(ValidationError, match="HALLMARK_SECRET_KEY"):
        Settings(secret_key=SecretStr(weak))


def test_a_configured_secret_is_used_as_given(settings: Settings) -> None:
    value = "x" * 16 + "Zq8-random-enough-value-1234"
    configured = Settings(data_dir=settings.data_dir, secret_key=SecretStr(value))
    assert configured.resolved_secret_key() == value
    assert not (settings.data_dir / "secret_key").exists()


def test_storage_is_the_blob_directory_unless_it_names_an_s3_bucket(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).s3_location is None
    assert Settings(storage="s3://hallmark-blobs").s3_location == ("hallmark-blobs", "")
    assert Settings(storage="s3://my.bucket-1/studio/blobs/").s3_location == (
        "my.bucket-1",
        "studio/blobs",
    )


@pytest.mark.parametrize(
    "storage",
    [
        "local",
        "/var/lib/hallmark/blobs",
        "s3://",
        "s3://UpperCase",
        "s3://ab",
        "s3://bucket//double",
        "s3://bucket/../escape",
        "gs://bucket",
        "s3:/bucket",
    ],
)
def test_a_malformed_storage_is_refused_at_start(storage: str) -> None:
    with pytest.raises(ValidationError, match="HALLMARK_STORAGE must be empty"):
        Settings(storage=storage)


def test_s3_addressing_follows_the_endpoint_unless_set() -> None:
    assert Settings().resolved_s3_addressing_style == "virtual"  # AWS
    assert Settings(s3_endpoint_url="http://minio:9000").resolved_s3_addressing_style == "path"
    chosen = Settings(s3_endpoint_url="http://minio:9000", s3_addressing_style="virtual")
    assert chosen.resolved_s3_addressing_style == "virtual"
    with pytest.raises(ValidationError):
        Settings(s3_addressing_style="sideways")


def test_s3_keys_come_in_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALLMARK_S3_ACCESS_KEY_ID", "AKIAEXAMPLE")
    with pytest.raises(ValidationError, match="HALLMARK_S3_SECRET_ACCESS_KEY"):
        Settings()
    monkeypatch.setenv("HALLMARK_S3_SECRET_ACCESS_KEY", "example-secret")
    settings = Settings()
    assert settings.s3_secret_access_key is not None
    assert settings.s3_secret_access_key.get_secret_value() == "example-secret"
    assert "example-secret" not in repr(settings)
