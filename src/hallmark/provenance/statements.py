"""Detached signatures on plain statements (an exported model's ownership), by the instance's
content-credentials key, checkable by anyone with its certificate and a standard tool:

    openssl x509 -in OWNERSHIP-certificate.pem -pubkey -noout > signer.pub
    openssl dgst -sha256 -verify signer.pub -signature OWNERSHIP.txt.sig OWNERSHIP.txt

The signature is ECDSA P-256 over SHA-256 in DER, what `openssl dgst -sign` writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from hallmark.provenance.authority import SigningIdentity


def sign_statement(identity: SigningIdentity, statement: bytes) -> bytes:
    """A DER ECDSA-SHA256 signature of the statement by the instance's signing key."""
    if identity.sign_callback is not None:
        raw = identity.sign_callback(statement)  # r || s, as C2PA's callbacks return it
        half = len(raw) // 2
        r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        return utils.encode_dss_signature(r, s)
    assert identity.private_key_pem is not None
    key = serialization.load_pem_private_key(identity.private_key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("The content-credentials key is not an elliptic-curve key.")
    return key.sign(statement, ec.ECDSA(hashes.SHA256()))


@dataclass(frozen=True)
class StatementCheck:
    """Whether a statement is intact, and whether its signer chains to a root we trust."""

    valid: bool
    trusted: bool
    reason: str
    signer: str = ""


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


def _chains_to(chain: list[x509.Certificate], anchors: list[x509.Certificate]) -> bool:
    """Each certificate issued by the next, and the last by (or being) a trusted root."""
    for child, parent in zip(chain, chain[1:], strict=False):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            return False
    top = chain[-1]
    for anchor in anchors:
        if top == anchor:
            return True
        try:
            top.verify_directly_issued_by(anchor)
            return True
        except (ValueError, TypeError, InvalidSignature):
            continue
    return False


def verify_statement(
    statement: bytes, signature: bytes, chain_pem: bytes, trust_anchors_pem: bytes
) -> StatementCheck:
    """Check a signature against the first certificate of the chain, and the chain against the
    roots this instance trusts."""
    try:
        chain = x509.load_pem_x509_certificates(chain_pem)
    except ValueError as error:
        return StatementCheck(False, False, f"the certificate is unreadable ({error})")
    public_key = chain[0].public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return StatementCheck(False, False, "the certificate's key is not an ECDSA key")
    try:
        public_key.verify(signature, statement, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return StatementCheck(False, False, "the statement was altered after signing")
    signer = _common_name(chain[0])
    anchors = x509.load_pem_x509_certificates(trust_anchors_pem) if trust_anchors_pem else []
    if _chains_to(chain, anchors):
        return StatementCheck(True, True, "signed by this instance", signer)
    reason = "signed by a certificate this instance does not trust"
    return StatementCheck(True, False, reason, signer)
