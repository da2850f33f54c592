"""Content credentials: the instance's CA, signed generations, verification, derivatives (R9)."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from PIL import Image

from hallmark.provenance.authority import (
    CHAIN,
    ROOT_KEY,
    SIGNER_KEY,
    SigningIdentity,
    configured_authority,
    own_authority,
)
from hallmark.provenance.manifests import GenerationCredentials
from hallmark.provenance.service import (
    Verdict,
    declared_training_opt_out,
    read_credentials,
    sign_derivative,
    sign_generated_image,
)
from tests.helpers import png_with_one_pixel_changed

FACTS = GenerationCredentials(
    generation_id="6b0c6e5e-0000-4000-8000-000000000001",
    model_id="m-1",
    model_name="Washes",
    engine="studio",
    base_model="hallmark-world-v1",
    owner_id="o-1",
    owner_username="ana",
    ownership_rule="R4",
    maker_username="ben",
    prompt="a red boat at dusk",
    seed=42,
    license_url="http://127.0.0.1:8000/api/generations/x/offers",
    software_version="0.1.0",
)


def image_bytes(fmt: str = "PNG", colour: tuple[int, int, int] = (200, 90, 40)) -> bytes:
    """A small image with some structure, encoded in the format."""
    image = Image.new("RGB", (96, 64), colour)
    image.paste((20, 40, 160), (10, 10, 50, 40))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> SigningIdentity:
    return own_authority(tmp_path_factory.mktemp("keys"))


def test_the_instance_ca_is_created_once_with_private_keys(tmp_path: Path) -> None:
    first = own_authority(tmp_path / "keys")
    again = own_authority(tmp_path / "keys")

    assert again.chain_pem == first.chain_pem
    for name in (ROOT_KEY, SIGNER_KEY):
        assert stat.S_IMODE((tmp_path / "keys" / name).stat().st_mode) == 0o600
    assert first.chain_pem.count(b"BEGIN CERTIFICATE") == 2  # the signer and the root above it
    assert "Signer" in first.subject


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_a_signed_generation_verifies_as_trusted_and_says_who_owns_it(
    identity: SigningIdentity, fmt: str, mime: str
) -> None:
    original = image_bytes(fmt)

    signed = sign_generated_image(identity, original, mime, FACTS)
    report = read_credentials(identity, signed, mime)

    assert report.verdict == Verdict.TRUSTED
    assert report.ai_generated is True
    generation = report.facts["generation"]
    assert generation["owner"] == {"id": "o-1", "username": "ana"}
    assert generation["model"]["name"] == "Washes"
    assert (generation["prompt"], generation["seed"]) == ("a red boat at dusk", 42)
    assert report.training_mining["cawg.ai_training"] == "notAllowed"
    decoded = Image.open(io.BytesIO(signed)).info
    assert "trainedAlgorithmicMedia" in str(decoded.get("xmp") or decoded["XML:com.adobe.xmp"])
    assert "owned by @ana" in report.in_plain_words()


def test_a_hidden_prompt_is_not_written(identity: SigningIdentity) -> None:
    from dataclasses import replace

    signed = sign_generated_image(identity, image_bytes(), "image/png", replace(FACTS, prompt=None))

    assert "prompt" not in read_credentials(identity, signed, "image/png").facts["generation"]


def test_changing_the_image_bytes_after_signing_shows_as_tampered(
    identity: SigningIdentity,
) -> None:
    signed = sign_generated_image(identity, image_bytes(), "image/png", FACTS)
    tampered = png_with_one_pixel_changed(signed)
    assert Image.open(io.BytesIO(tampered)).convert("RGB").getpixel((0, 0)) != (200, 90, 40)

    report = read_credentials(identity, tampered, "image/png")

    assert report.verdict == Verdict.TAMPERED
    assert any("pixels changed" in problem for problem in report.problems)
    assert "BROKEN" in report.in_plain_words()


def test_credentials_from_another_ca_are_intact_but_untrusted(
    identity: SigningIdentity, tmp_path: Path
) -> None:
    stranger = own_authority(tmp_path / "elsewhere", organisation="Elsewhere")
    signed = sign_generated_image(stranger, image_bytes(), "image/png", FACTS)

    report = read_credentials(identity, signed, "image/png")

    assert report.verdict == Verdict.UNTRUSTED
    assert report.facts["generation"]["owner"]["username"] == "ana"


def test_a_file_without_credentials_is_unsigned(identity: SigningIdentity) -> None:
    assert read_credentials(identity, image_bytes(), "image/png").verdict == Verdict.UNSIGNED


def test_an_operator_chain_and_a_signing_callback_sign_alike(tmp_path: Path) -> None:
    own = own_authority(tmp_path / "ca")
    configured = configured_authority(
        tmp_path / "ca" / CHAIN, tmp_path / "ca" / SIGNER_KEY, tmp_path / "ca" / "c2pa-root.pem"
    )
    key = serialization.load_pem_private_key((tmp_path / "ca" / SIGNER_KEY).read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)

    def sign_in_the_hsm(data: bytes) -> bytes:
        der = key.sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = utils.decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    remote = SigningIdentity(own.chain_pem, own.trust_anchors_pem, sign_callback=sign_in_the_hsm)
    for signer in (configured, remote):
        signed = sign_generated_image(signer, image_bytes(), "image/png", FACTS)
        assert read_credentials(own, signed, "image/png").verdict == Verdict.TRUSTED


def test_a_missing_operator_certificate_is_a_clear_error(tmp_path: Path) -> None:
    from hallmark.errors import InvalidInput

    with pytest.raises(InvalidInput, match="does not exist"):
        configured_authority(tmp_path / "chain.pem", tmp_path / "key.pem", None)


def test_a_derivative_keeps_the_ai_disclosure_of_its_original(identity: SigningIdentity) -> None:
    generated = sign_generated_image(identity, image_bytes(), "image/png", FACTS)
    traced = image_bytes("JPEG", colour=(240, 240, 240))

    signed = sign_derivative(
        identity, generated, "image/png", traced, "image/jpeg", author="cleo", description="traced"
    )
    report = read_credentials(identity, signed, "image/jpeg")

    assert report.verdict == Verdict.TRUSTED
    assert report.ai_generated is True
    [parent] = report.derived_from
    assert parent["ai_generated"] is True
    assert parent["generation"]["owner"]["username"] == "ana"
    assert "Derived from" in report.in_plain_words()


def test_an_uploads_own_training_refusal_is_read(identity: SigningIdentity) -> None:
    from dataclasses import replace

    refused = sign_generated_image(identity, image_bytes(), "image/png", FACTS)
    allowed = sign_generated_image(
        identity, image_bytes(), "image/png", replace(FACTS, training_mining="allowed")
    )

    assert declared_training_opt_out(refused, "image/png") is True
    assert declared_training_opt_out(allowed, "image/png") is False
    assert declared_training_opt_out(image_bytes(), "image/png") is False
    assert json.loads(json.dumps(read_credentials(identity, allowed, "image/png").as_dict()))
