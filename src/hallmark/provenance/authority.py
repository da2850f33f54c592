"""The instance's signing identity for content credentials: its own two-level CA, or an operator's.

C2PA refuses self-signed signing certificates, so a fresh instance makes a root certificate and a
signing certificate issued by it (ES256), keeps both keys 0600 in the data directory, and trusts
its own root when it verifies. An operator can instead point the settings at a certificate chain
from a CA on the C2PA trust list and its key, or sign through a callback (a key in a KMS or HSM).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hallmark.errors import InvalidInput

ROOT_CERT = "c2pa-root.pem"
ROOT_KEY = "c2pa-root.key"
CHAIN = "c2pa-signer-chain.pem"
SIGNER_KEY = "c2pa-signer.key"
LOCK = ".c2pa.lock"
ROOT_YEARS = 20
SIGNER_YEARS = 2


@dataclass(frozen=True)
class SigningIdentity:
    """Who signs this instance's credentials: a certificate chain, how to sign, what to trust."""

    chain_pem: bytes
    trust_anchors_pem: bytes
    private_key_pem: bytes | None = None
    sign_callback: Callable[[bytes], bytes] | None = None

    def signer(self) -> c2pa.Signer:
        """A fresh C2PA signer (the SDK consumes one per use)."""
        if self.sign_callback is not None:
            return c2pa.Signer.from_callback(
                self.sign_callback, c2pa.C2paSigningAlg.ES256, self.chain_pem.decode(), None
            )
        assert self.private_key_pem is not None
        info = c2pa.C2paSignerInfo(b"es256", self.chain_pem, self.private_key_pem, None)
        return c2pa.Signer.from_info(info)

    @property
    def subject(self) -> str:
        """The signing certificate's common name, as shown to people."""
        leaf = x509.load_pem_x509_certificates(self.chain_pem)[0]
        names = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else leaf.subject.rfc4514_string()


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        ]
    )


def _key_usage(*, sign_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not sign_certificates,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=sign_certificates,
        crl_sign=sign_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def create_authority(organisation: str) -> tuple[bytes, bytes, bytes, bytes]:
    """A new root and a signing certificate it issued: (root pem, root key, chain pem, key pem)."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"{organisation} Content Credentials Root", organisation)
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365 * ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(sign_certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{organisation} Content Credentials Signer", organisation))
        .issuer_name(root_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365 * SIGNER_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign_certificates=False), critical=True)
        # C2PA accepts signing certificates for e-mail protection or document signing.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    return _pem(root), _key_pem(root_key), _pem(signer) + _pem(root), _key_pem(signer_key)


def _write_private(path: Path, data: bytes) -> None:
    """Write a file readable by this user only, atomically, never over an existing one."""
    temporary = path.with_suffix(f"{path.suffix}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def own_authority(directory: Path, organisation: str = "Hallmark") -> SigningIdentity:
    """The instance's own CA from the key directory, created on first use."""
    files = [directory / name for name in (ROOT_CERT, ROOT_KEY, CHAIN, SIGNER_KEY)]
    if not all(path.is_file() for path in files):
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # API processes of one host may get here at once: one creates, the others read its CA.
        with (directory / LOCK).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not all(path.is_file() for path in files):
                for path, data in zip(files, create_authority(organisation), strict=True):
                    _write_private(path, data)
    root, _, chain, key = (path.read_bytes() for path in files)
    return SigningIdentity(chain_pem=chain, trust_anchors_pem=root, private_key_pem=key)


def configured_authority(chain: Path, key: Path, trust_anchors: Path | None) -> SigningIdentity:
    """An operator's certificate chain and key (from a CA on the C2PA trust list)."""
    for path in (chain, key, *([trust_anchors] if trust_anchors else [])):
        if not path.is_file():
            raise InvalidInput(f"The content-credentials file {path} does not exist.")
    try:
        x509.load_pem_x509_certificates(chain.read_bytes())
        serialization.load_pem_private_key(key.read_bytes(), password=None)
    except ValueError as error:
        message = f"The content-credentials certificate or key is unreadable: {error}"
        raise InvalidInput(message) from None
    anchors = trust_anchors.read_bytes() if trust_anchors else b""
    return SigningIdentity(
        chain_pem=chain.read_bytes(), trust_anchors_pem=anchors, private_key_pem=key.read_bytes()
    )
