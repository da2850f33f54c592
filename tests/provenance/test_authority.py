"""The instance's own CA: created once, even when several processes start on one host at once."""

from __future__ import annotations

import io
import multiprocessing
from pathlib import Path

from cryptography import x509
from PIL import Image

from hallmark.provenance.authority import (
    CHAIN,
    ROOT_CERT,
    SIGNER_KEY,
    configured_authority,
    own_authority,
)
from hallmark.provenance.service import Verdict, read_credentials, sign_generated_image
from tests.provenance.test_credentials import FACTS


def chain_of(directory: str) -> bytes:
    """The signing chain a process gets (run in a child process)."""
    return own_authority(Path(directory)).chain_pem


def test_processes_starting_together_share_one_authority(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        chains = pool.map(chain_of, [str(keys)] * 8)
    assert len(set(chains)) == 1
    root = x509.load_pem_x509_certificate((keys / ROOT_CERT).read_bytes())
    signer = x509.load_pem_x509_certificates(chains[0])[0]
    signer.verify_directly_issued_by(root)  # the chain on disk is the root's own


def test_after_a_rotation_older_images_verify_while_their_root_stays_trusted(
    tmp_path: Path,
) -> None:
    old = own_authority(tmp_path / "old")
    new_keys = tmp_path / "new"
    own_authority(new_keys)  # stands in for the operator's new certificate from another CA
    png = io.BytesIO()
    Image.new("RGB", (32, 32), "teal").save(png, format="PNG")
    signed_before = sign_generated_image(old, png.getvalue(), "image/png", FACTS)

    both_roots = tmp_path / "anchors.pem"
    both_roots.write_bytes((new_keys / ROOT_CERT).read_bytes() + old.trust_anchors_pem)
    rotated = configured_authority(new_keys / CHAIN, new_keys / SIGNER_KEY, both_roots)
    only_new = configured_authority(new_keys / CHAIN, new_keys / SIGNER_KEY, new_keys / ROOT_CERT)
    signed_after = sign_generated_image(rotated, png.getvalue(), "image/png", FACTS)

    assert read_credentials(rotated, signed_before, "image/png").verdict == Verdict.TRUSTED
    assert read_credentials(rotated, signed_after, "image/png").verdict == Verdict.TRUSTED
    assert read_credentials(only_new, signed_before, "image/png").verdict == Verdict.UNTRUSTED
