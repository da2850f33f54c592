"""License certificates: signed once, verified anywhere, and any change is caught."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hallmark.cli import app
from hallmark.config import get_settings
from hallmark.instance import Instance
from hallmark.licensing.certificates import KEY_FILE, CertificateSigner, verify_certificate

PAYLOAD = {
    "license_id": "4b1d0c1e-0000-4000-8000-000000000001",
    "image": {"generation_id": "g", "sha256": "ab" * 32},
    "owner": {"id": "o", "username": "ana"},
    "licensee": {"id": "l", "username": "ben"},
    "terms": {
        "name": "Standard",
        "purposes": ["commercial", "editorial", "personal"],
        "max_copies": 500000,
        "territory": "worldwide",
        "exclusive": False,
        "attribution_required": False,
    },
    "price_minor": 2500,
    "currency": "EUR",
    "sold_by": "the owner (R6)",
    "granted_at": "2026-11-24T12:00:00+00:00",
    "expires_at": None,
    "verify_url": "http://127.0.0.1:8000/api/licenses/x/certificate",
}


@pytest.fixture
def signer(tmp_path: Path) -> CertificateSigner:
    return CertificateSigner.from_key_dir(tmp_path / "keys")


def test_the_key_is_created_private_and_reused(tmp_path: Path, signer: CertificateSigner) -> None:
    path = tmp_path / "keys" / KEY_FILE

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert CertificateSigner.from_key_dir(tmp_path / "keys").key_id == signer.key_id


def test_a_signed_certificate_verifies_as_ours(signer: CertificateSigner) -> None:
    signed = signer.sign(PAYLOAD)

    check = verify_certificate(json.dumps(signed).encode(), signer.public_key)

    assert (check.valid, check.trusted) == (True, True)
    assert check.certificate is not None and check.certificate["owner"]["username"] == "ana"


def test_changing_any_single_byte_of_the_signed_text_is_caught(signer: CertificateSigner) -> None:
    document = json.dumps(signer.sign(PAYLOAD), sort_keys=True).encode()
    start = document.index(b'"price_minor"')

    for offset in range(start, start + 24):
        changed = bytearray(document)
        changed[offset] = ord("7") if changed[offset] != ord("7") else ord("8")

        assert not verify_certificate(bytes(changed), signer.public_key).valid, offset


def test_a_certificate_from_another_instance_is_valid_but_not_trusted(
    tmp_path: Path, signer: CertificateSigner
) -> None:
    other = CertificateSigner.from_key_dir(tmp_path / "elsewhere")

    check = verify_certificate(other.sign(PAYLOAD), signer.public_key)

    assert check.valid and not check.trusted
    assert "does not know" in check.reason


@pytest.mark.parametrize("document", [b"", b"{}", b'{"certificate": {}, "signature": "!"}'])
def test_garbage_is_not_a_certificate(signer: CertificateSigner, document: bytes) -> None:
    check = verify_certificate(document, signer.public_key)

    assert not check.valid and "not a license certificate" in check.reason


def test_the_cli_verifies_and_refuses_a_forged_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HALLMARK_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        signed = Instance.from_settings(get_settings()).certificate_signer.sign(PAYLOAD)
        good, forged = tmp_path / "good.json", tmp_path / "forged.json"
        good.write_text(json.dumps(signed))
        signed["certificate"]["price_minor"] = 1
        forged.write_text(json.dumps(signed))
        runner = CliRunner()

        ok = runner.invoke(app, ["licenses", "verify", str(good)])
        bad = runner.invoke(app, ["licenses", "verify", str(forged)])
        books = runner.invoke(app, ["ledger", "reconcile"])
    finally:
        get_settings.cache_clear()

    assert ok.exit_code == 0, ok.output
    assert "valid license" in ok.output and "@ben" in ok.output
    assert bad.exit_code == 1 and "altered after signing" in bad.output
    assert books.exit_code == 0 and "every invariant holds" in books.output
