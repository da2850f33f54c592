"""What a generated image's content credentials say, and the XMP that says it without C2PA."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
GENERATION_ASSERTION = "org.hallmark.generation"
TRAINING_MINING = "cawg.training-mining"
# The uses CAWG's training-and-mining assertion names; an owner's choice applies to all of them.
TRAINING_MINING_USES = (
    "cawg.ai_generative_training",
    "cawg.ai_inference",
    "cawg.ai_training",
    "cawg.data_mining",
)
PLUS_PROHIBITED = "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"


@dataclass(frozen=True)
class GenerationCredentials:
    """The facts signed into a generated image (R3/R4, R9)."""

    generation_id: str
    model_id: str
    model_name: str
    engine: str
    base_model: str
    owner_id: str
    owner_username: str
    ownership_rule: str
    maker_username: str
    prompt: str | None  # None when the owner keeps prompts private
    seed: int
    license_url: str
    training_mining: str = "notAllowed"  # or "allowed", the owner's choice
    software_version: str = "0.0.0"
    # "trained" here on the owner's works, or "imported" on the owner's attestation that it was
    # trained on works they hold the rights to (R2), given at `model_attested_at`.
    model_provenance: str = "trained"
    model_attested_at: str | None = None


def generation_manifest(facts: GenerationCredentials, title: str) -> dict[str, Any]:
    """The C2PA manifest definition for one generated image."""
    agent = {"name": "Hallmark", "version": facts.software_version}
    generation: dict[str, Any] = {
        "generation_id": facts.generation_id,
        "model": {
            "id": facts.model_id,
            "name": facts.model_name,
            "engine": facts.engine,
            "base_model": facts.base_model,
            "provenance": facts.model_provenance,
        },
        "owner": {"id": facts.owner_id, "username": facts.owner_username},
        "ownership_rule": facts.ownership_rule,
        "maker": {"username": facts.maker_username},
        "seed": facts.seed,
        "license": facts.license_url,
    }
    if facts.model_attested_at is not None:
        generation["model"]["attested_at"] = facts.model_attested_at
    if facts.prompt is not None:
        generation["prompt"] = facts.prompt
    return {
        "claim_generator_info": [agent],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                            "softwareAgent": agent,
                        }
                    ]
                },
            },
            {"label": GENERATION_ASSERTION, "data": generation},
            {
                "label": TRAINING_MINING,
                "data": {
                    "entries": {use: {"use": facts.training_mining} for use in TRAINING_MINING_USES}
                },
            },
        ],
    }


def xmp_packet(*, training_allowed: bool) -> bytes:
    """XMP that says the image is AI-made (IPTC) and whether it may be mined (PLUS)."""
    mining = "" if training_allowed else f' plus:DataMining="{PLUS_PROHIBITED}"'
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about=""'
        ' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
        ' xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"'
        f' Iptc4xmpExt:DigitalSourceType="{TRAINED_ALGORITHMIC_MEDIA}"{mining}/>'
        "</rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def with_xmp(data: bytes, mime: str, xmp: bytes) -> bytes:
    """The image with an XMP packet added, its pixels and other metadata byte for byte the same."""
    if mime == "image/png":
        return _png_with_xmp(data, xmp)
    if mime == "image/jpeg":
        return _jpeg_with_xmp(data, xmp)
    raise ValueError(f"cannot add XMP to {mime}")


def _png_with_xmp(data: bytes, xmp: bytes) -> bytes:
    """Insert an iTXt chunk keyed XML:com.adobe.xmp right after the IHDR chunk."""
    signature_and_ihdr = 8 + 8 + 13 + 4
    body = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body
    chunk += struct.pack(">I", zlib.crc32(b"iTXt" + body) & 0xFFFFFFFF)
    return data[:signature_and_ihdr] + chunk + data[signature_and_ihdr:]


def _jpeg_with_xmp(data: bytes, xmp: bytes) -> bytes:
    """Insert an APP1 XMP segment after the start-of-image marker (and a JFIF APP0, if any)."""
    position = 2
    if data[2:4] == b"\xff\xe0":
        position = 4 + struct.unpack(">H", data[4:6])[0]
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    if len(payload) + 2 > 0xFFFF:
        raise ValueError("XMP packet too large for one JPEG segment")
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return data[:position] + segment + data[position:]
