"""Signed license certificates: a JSON document anyone can check, and a page a person can read."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hallmark.errors import InvalidInput

CERTIFICATE_TYPE = "hallmark.license-certificate/v1"
KEY_FILE = "license-signing-ed25519.pem"


def canonical_json(data: dict[str, Any]) -> bytes:
    """The one byte sequence a signature covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class CertificateSigner:
    """The instance's Ed25519 key for license certificates, created once and kept 0600."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key()

    @classmethod
    def from_key_dir(cls, directory: Path) -> CertificateSigner:
        """Load the key from the directory, creating it atomically on first use."""
        path = directory / KEY_FILE
        if not path.exists():
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
            try:
                os.link(temporary, path)  # fails if another process created it first
            except FileExistsError:
                pass
            finally:
                temporary.unlink()
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidInput(f"{path} does not hold an Ed25519 private key.")
        return cls(key)

    @property
    def key_id(self) -> str:
        """A short fingerprint of the public key, printed on every certificate."""
        return hashlib.sha256(public_key_bytes(self.public_key)).hexdigest()[:16]

    def sign(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload with the issuer's key named and a signature over its canonical form."""
        body = dict(payload)
        body["type"] = CERTIFICATE_TYPE
        body["issuer_key"] = {
            "algorithm": "Ed25519",
            "key_id": self.key_id,
            "public_key": base64.b64encode(public_key_bytes(self.public_key)).decode(),
        }
        signature = self._private_key.sign(canonical_json(body))
        return {"certificate": body, "signature": base64.b64encode(signature).decode()}


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class CertificateCheck:
    """Whether a certificate is intact and issued by the key we trust, and what it says."""

    valid: bool
    trusted: bool
    reason: str
    certificate: dict[str, Any] | None


def verify_certificate(
    document: bytes | dict[str, Any], trusted: Ed25519PublicKey
) -> CertificateCheck:
    """Check a certificate: well-formed, signed by the key it names, and that key is ours."""
    try:
        data = json.loads(document) if isinstance(document, bytes) else document
        body = data["certificate"]
        signature = base64.b64decode(data["signature"], validate=True)
        named = base64.b64decode(body["issuer_key"]["public_key"], validate=True)
        key = Ed25519PublicKey.from_public_bytes(named)
    except (ValueError, KeyError, TypeError) as error:
        return CertificateCheck(False, False, f"not a license certificate ({error})", None)
    if body.get("type") != CERTIFICATE_TYPE:
        return CertificateCheck(False, False, "not a license certificate", None)
    try:
        key.verify(signature, canonical_json(body))
    except InvalidSignature:
        return CertificateCheck(False, False, "the certificate was altered after signing", body)
    is_ours = named == public_key_bytes(trusted)
    reason = "signed by this instance" if is_ours else "signed by a key this instance does not know"
    return CertificateCheck(True, is_ours, reason, body)


def certificate_html(signed: dict[str, Any]) -> str:
    """A page a person can read and print, with the signed JSON beneath it."""
    body = signed["certificate"]
    terms = body["terms"]
    price = f"{body['price_minor'] / 100:.2f} {body['currency']}"

    def row(label: str, value: object) -> str:
        cells = f"<th scope='row'>{html.escape(label)}</th><td>{html.escape(str(value))}</td>"
        return f"<tr>{cells}</tr>"

    rows = "".join(
        [
            row("License", body["license_id"]),
            row("Image (SHA-256)", body["image"]["sha256"]),
            row("Owner", f"@{body['owner']['username']}"),
            row("Licensee", f"@{body['licensee']['username']}"),
            row("Terms", terms["name"]),
            row("Uses granted", ", ".join(terms["purposes"])),
            row("Copy cap", terms["max_copies"] or "none"),
            row("Territory", terms["territory"]),
            row("Exclusive", "yes" if terms["exclusive"] else "no"),
            row("Attribution required", "yes" if terms["attribution_required"] else "no"),
            row("Price", price),
            row("Sold by", body["sold_by"]),
            row("Granted", body["granted_at"]),
            row("Valid until", body["expires_at"] or "perpetual"),
            row("Verify at", body["verify_url"]),
            row("Signing key", body["issuer_key"]["key_id"]),
        ]
    )
    signed_json = html.escape(json.dumps(signed, indent=2, sort_keys=True))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>License {html.escape(body['license_id'])}</title></head><body>"
        "<h1>License certificate</h1>"
        "<p>This license grants the uses below; the copyright and ownership stay with the owner "
        "(R8).</p>"
        f"<table>{rows}</table><h2>Signed document</h2><pre>{signed_json}</pre></body></html>"
    )
