"""The instance's own CA: created once, even when several processes start on one host at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from cryptography import x509

from hallmark.provenance.authority import ROOT_CERT, own_authority


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
