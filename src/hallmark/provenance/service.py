"""Use cases of provenance: sign a generated image, read and verify any file's credentials (R9)."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import c2pa
from PIL import Image
from sqlalchemy.orm import Session

from hallmark import __version__
from hallmark.accounts.repository import UserRepository
from hallmark.artworks.images import inspect_image, sniff_mime
from hallmark.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from hallmark.instance import Instance
from hallmark.provenance.authority import SigningIdentity
from hallmark.provenance.manifests import (
    GENERATION_ASSERTION,
    TRAINED_ALGORITHMIC_MEDIA,
    TRAINING_MINING,
    GenerationCredentials,
    generation_manifest,
    with_xmp,
    xmp_packet,
)
from hallmark.similarity.service import CopyGuard, PreparedImage

SIGNABLE = {"image/png", "image/jpeg"}


def sign_generated_image(
    identity: SigningIdentity, data: bytes, mime: str, facts: GenerationCredentials
) -> bytes:
    """The image with XMP and a signed C2PA manifest, before anything else touches the file."""
    if mime not in SIGNABLE:
        raise InvalidInput(f"Content credentials are written to PNG and JPEG images, not {mime}.")
    marked = with_xmp(data, mime, xmp_packet(training_allowed=facts.training_mining == "allowed"))
    manifest = generation_manifest(facts, title=f"{facts.generation_id}.{mime.split('/')[1]}")
    output = io.BytesIO()
    with c2pa.Builder(manifest) as builder, identity.signer() as signer:
        builder.sign(signer, mime, io.BytesIO(marked), output)
    return output.getvalue()


def sign_derivative(
    identity: SigningIdentity,
    original: bytes,
    original_mime: str,
    derived: bytes,
    derived_mime: str,
    *,
    author: str,
    description: str,
) -> bytes:
    """Sign an edit or tracing of an image with the original as its parent ingredient (R9).

    The original's own credentials travel inside as the ingredient's manifest, so a derivative of
    an AI-made image still says so.
    """
    for mime in (original_mime, derived_mime):
        if mime not in SIGNABLE:
            raise InvalidInput(f"Content credentials are written to PNG and JPEG, not {mime}.")
    agent = {"name": "Hallmark", "version": __version__}
    manifest = {
        "claim_generator_info": [agent],
        "title": f"derivative.{derived_mime.split('/')[1]}",
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.opened",
                            "softwareAgent": agent,
                            "parameters": {"ingredientIds": ["original"]},
                        },
                        {
                            "action": "c2pa.edited",
                            "softwareAgent": agent,
                            "parameters": {"description": description, "author": author},
                        },
                    ]
                },
            }
        ],
    }
    output = io.BytesIO()
    with c2pa.Builder(manifest) as builder, identity.signer() as signer:
        builder.add_ingredient(
            {
                "title": f"original.{original_mime.split('/')[1]}",
                "relationship": "parentOf",
                "label": "original",
            },
            original_mime,
            io.BytesIO(original),
        )
        builder.sign(signer, derived_mime, io.BytesIO(derived), output)
    return output.getvalue()


class Verdict:
    """What a file's credentials amount to."""

    TRUSTED = "trusted"  # intact, signed by a certificate we trust
    UNTRUSTED = "untrusted"  # intact, but signed by a certificate we do not know
    TAMPERED = "tampered"  # the file or its manifest changed after signing
    UNSIGNED = "unsigned"  # no content credentials at all


@dataclass
class RegistryMatch:
    """A registered image an unsigned file matches by its perceptual hash."""

    kind: str  # "generation" or "artwork"
    id: uuid.UUID
    owner_username: str
    method: str
    distance: int


@dataclass
class VerificationReport:
    """Everything a person or a program needs to know about one file's provenance."""

    verdict: str
    signer: str | None = None
    generator: str | None = None  # the software that wrote the credentials
    ai_generated: bool | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    training_mining: dict[str, str] = field(default_factory=dict)
    derived_from: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    registry_matches: list[RegistryMatch] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        data = asdict(self)
        for match in data["registry_matches"]:
            match["id"] = str(match["id"])
        return data

    def in_plain_words(self) -> str:
        """The report as a few sentences for a person."""
        lines = [_VERDICT_WORDS[self.verdict]]
        if self.signer:
            lines.append(f"Signed by: {self.signer}.")
        if self.ai_generated:
            lines.append("It says it was made by AI (trained algorithmic media).")
        generation = self.facts.get("generation") or {}
        if generation:
            model, owner = generation.get("model", {}), generation.get("owner", {})
            lines.append(
                f"Made with the model '{model.get('name')}' ({model.get('engine')}); owned by "
                f"@{owner.get('username')} under {generation.get('ownership_rule')}; prompted by "
                f"@{generation.get('maker', {}).get('username')}."
            )
            if model.get("provenance") == "imported":
                lines.append(
                    "The model was not trained here: its owner imported it, attesting on "
                    f"{model.get('attested_at')} that it was trained on works they hold the "
                    "rights to (R2)."
                )
            if "prompt" in generation:
                lines.append(f"Prompt: {generation['prompt']!r}, seed {generation.get('seed')}.")
            lines.append(f"License terms: {generation.get('license')}")
        if self.training_mining:
            refused = sorted(k for k, v in self.training_mining.items() if v == "notAllowed")
            if refused:
                lines.append(f"Its owner does not allow: {', '.join(refused)}.")
        for parent in self.derived_from:
            made = " (AI-made)" if parent.get("ai_generated") else ""
            lines.append(f"Derived from {parent.get('title')}{made}.")
        lines.extend(f"Problem: {problem}" for problem in self.problems)
        for match in self.registry_matches:
            lines.append(
                f"It matches {match.kind} {match.id} owned by @{match.owner_username} "
                f"({match.method}, distance {match.distance})."
            )
        if self.verdict == Verdict.UNSIGNED and not self.registry_matches:
            lines.append("It matches nothing registered here.")
        return "\n".join(lines)


_VERDICT_WORDS = {
    Verdict.TRUSTED: "Content credentials: valid, and signed by a certificate this studio trusts.",
    Verdict.UNTRUSTED: "Content credentials: intact, but the signer is not one this studio trusts.",
    Verdict.TAMPERED: "Content credentials: BROKEN - the file was changed after it was signed.",
    Verdict.UNSIGNED: "No content credentials in this file.",
}


def read_credentials(identity: SigningIdentity, data: bytes, mime: str) -> VerificationReport:
    """Verify a file's C2PA manifest against the trust anchors and decode what it says."""
    context = c2pa.Context.from_dict(
        {
            "verify": {"verify_trust": True},
            "trust": {"trust_anchors": identity.trust_anchors_pem.decode()},
        }
    )
    try:
        with c2pa.Reader(mime, io.BytesIO(data), context=context) as reader:
            state = reader.get_validation_state()
            results = reader.get_validation_results() or {}
            manifest = reader.get_active_manifest() or {}
            store = json.loads(reader.json())
    except c2pa.C2paError as error:
        if "ManifestNotFound" in type(error).__name__ or "not found" in str(error).lower():
            return VerificationReport(Verdict.UNSIGNED)
        return VerificationReport(Verdict.TAMPERED, problems=[f"unreadable credentials: {error}"])
    failures = results.get("activeManifest", {}).get("failure", [])
    verdict = {
        "Trusted": Verdict.TRUSTED,
        "Valid": Verdict.UNTRUSTED,
    }.get(state or "", Verdict.TAMPERED)
    signature = manifest.get("signature_info") or {}
    generators = manifest.get("claim_generator_info") or [{}]
    report = VerificationReport(
        verdict,
        signer=signature.get("issuer"),
        generator=generators[0].get("name") or manifest.get("claim_generator"),
    )
    if verdict == Verdict.TAMPERED:
        report.problems = [_explain(failure) for failure in failures] or [f"state {state}"]
    _read_assertions(report, manifest)
    for ingredient in manifest.get("ingredients", []):
        if ingredient.get("relationship") != "parentOf":
            continue
        parent = VerificationReport(verdict)
        _read_assertions(parent, store.get("manifests", {}).get(ingredient.get("active_manifest")))
        report.derived_from.append(
            {
                "title": ingredient.get("title"),
                "ai_generated": parent.ai_generated,
                "generation": parent.facts.get("generation"),
            }
        )
        # A derivative of an AI-made image is still an AI-derived image (R9).
        report.ai_generated = bool(report.ai_generated or parent.ai_generated)
    return report


def _read_assertions(report: VerificationReport, manifest: dict[str, Any] | None) -> None:
    """Decode the assertions Hallmark cares about from one manifest into the report."""
    for assertion in (manifest or {}).get("assertions", []):
        label, content = assertion.get("label"), assertion.get("data", {})
        if label in ("c2pa.actions", "c2pa.actions.v2"):
            report.ai_generated = report.ai_generated or any(
                action.get("digitalSourceType") == TRAINED_ALGORITHMIC_MEDIA
                for action in content.get("actions", [])
            )
        elif label == GENERATION_ASSERTION:
            report.facts["generation"] = content
        elif label == TRAINING_MINING:
            report.training_mining = {
                use: entry.get("use", "") for use, entry in content.get("entries", {}).items()
            }


def _explain(failure: dict[str, Any]) -> str:
    code = str(failure.get("code", ""))
    if code.startswith("assertion.dataHash") or code.startswith("assertion.boxesHash"):
        return "the image's bytes no longer match the hash that was signed (pixels changed)"
    return f"{code}: {failure.get('explanation', '')}".strip()


def declared_training_opt_out(data: bytes, mime: str) -> bool:
    """Whether a file's own metadata says it must not be used to train AI (honoured under R2).

    Either a C2PA `cawg.training-mining` assertion refusing AI training, or the IPTC PLUS
    `DataMining` XMP property set to prohibited; a claim counts even if its signer is unknown,
    since it can only restrict.
    """
    try:
        with c2pa.Reader(mime, io.BytesIO(data)) as reader:
            manifest = reader.get_active_manifest() or {}
    except c2pa.C2paError:
        manifest = {}
    report = VerificationReport(Verdict.UNSIGNED)
    _read_assertions(report, manifest)
    if any(
        report.training_mining.get(use) == "notAllowed"
        for use in ("cawg.ai_training", "cawg.ai_generative_training")
    ):
        return True
    return _xmp_prohibits_mining(data)


def _xmp_prohibits_mining(data: bytes) -> bool:
    """Whether the file's XMP carries PLUS DataMining = prohibited."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    except OSError:
        return False
    text = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else str(xmp)
    return "DataMining" in text and "DMI-PROHIBITED" in text


def verify_file(session: Session, instance: Instance, data: bytes) -> VerificationReport:
    """Verify any uploaded image file (PNG, JPEG, WebP within the upload limits)."""
    settings = instance.settings
    try:
        mime = inspect_image(
            data,
            max_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_image_pixels,
            min_side=1,
        ).mime
    except (UnsupportedMediaType, PayloadTooLarge):
        raise
    except InvalidInput:
        # A damaged file may still carry credentials that tell what it was and that it changed.
        found = sniff_mime(data)
        if found is None:
            raise
        mime = found
    return verify_image(session, instance.signing_identity, instance.copy_guard, data, mime)


def verify_image(
    session: Session, identity: SigningIdentity, guard: CopyGuard, data: bytes, mime: str
) -> VerificationReport:
    """Verify a file; one without credentials is looked up by its perceptual hash instead."""
    report = read_credentials(identity, data, mime)
    if report.verdict != Verdict.UNSIGNED:
        return report
    try:
        prepared = PreparedImage.from_bytes(data)
    except Exception:  # an undecodable file simply matches nothing
        return report
    matches = guard.near_copies_of(session, prepared, include_generations=True)
    owners = UserRepository(session).get_many({match.owner_id for match in matches})
    for match in matches:
        owner = owners.get(match.owner_id)
        report.registry_matches.append(
            RegistryMatch(
                kind="generation" if match.generation_id else "artwork",
                id=match.work_id,
                owner_username=owner.username if owner else "?",
                method=match.method.value,
                distance=match.distance,
            )
        )
    return report


def report_json(report: VerificationReport) -> str:
    """The report as indented JSON."""
    return json.dumps(report.as_dict(), indent=2, sort_keys=True)
