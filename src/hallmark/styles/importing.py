"""Importing a style: an artist brings a LoRA they trained elsewhere and owns it here (R2).

The owner attests the model was trained on works they hold the rights to; the rules require it
(`rights.may_import_model`) and the style records it (provenance "imported", the attestation's
time, the uploaded file's SHA-256), so its export and every image's content credentials say the
model was imported under attestation rather than trained here. The file is checked against the
named base before anything is stored: a refusal leaves no row and no blob. The style is private
until published (R5) and ready at once: it generates through the normal generation job.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.blob_lifecycle import store_blob_for_row
from hallmark.db import utcnow
from hallmark.engines import EngineError
from hallmark.errors import Conflict, InvalidInput, PayloadTooLarge
from hallmark.instance import Instance
from hallmark.styles.artifacts import pack_folder
from hallmark.styles.models import StyleModel, StyleProvenance, StyleStatus
from hallmark.styles.repository import StyleRepository

IMPORT_ENGINE = "diffusers-lora"
STUDIO_BASE = "studio-base"


def _clean_name(name: str) -> str:
    clean = name.strip()
    if not 1 <= len(clean) <= 100:
        raise InvalidInput("A style's name has 1 to 100 characters.")
    return clean


def check_import(
    session: Session, owner: User, *, name: str, base_model: str, attested: bool
) -> tuple[str, str]:
    """Refuse an import the rules (R2) or its fields forbid, before its file is read; the
    clean name and base."""
    decision = rights.may_import_model(owner.id, trained_on_own_works_attested=attested)
    if not decision.allowed:
        raise InvalidInput(decision.reason, rule=decision.rule)
    clean_name = _clean_name(name)
    styles = StyleRepository(session)
    if styles.find_by_owner_and_name(owner.id, clean_name) is not None:
        raise Conflict(f"You already have a style named '{clean_name}'.")
    base = base_model.strip()
    if not base:
        raise InvalidInput(
            "Name the base model the LoRA was trained for (a diffusers folder, checkpoint or hub "
            "id this instance has)."
        )
    if base == STUDIO_BASE:
        raise InvalidInput(
            "Studio styles cannot be imported: the studio engine paints with the artist's works "
            "kept beside its LoRA. Import a LoRA for Stable Diffusion, SDXL, FLUX, SD3 or "
            "Z-Image, or train a studio style here on your works."
        )
    return clean_name, base


def import_style(
    session: Session,
    instance: Instance,
    owner: User,
    source: Path,
    *,
    name: str,
    base_model: str,
    attested: bool,
    description: str | None = None,
    trigger: str | None = None,
    device: str = "cpu",
    hide_prompts: bool = False,
    allow_ai_training: bool = False,
) -> StyleModel:
    """Make an uploaded LoRA file a style the uploader owns, on their attestation (R2)."""
    # 1. The rule, the name, the base and the size, before the file is read.
    clean_name, base = check_import(
        session, owner, name=name, base_model=base_model, attested=attested
    )
    styles = StyleRepository(session)
    limit = instance.settings.max_model_bytes
    if source.stat().st_size > limit:
        raise PayloadTooLarge(f"A model file is at most {limit // (1024 * 1024)} MB.")

    # 2. The engine reads the file, checks it against the base and writes a model folder.
    from hallmark.engines.lora_import import import_lora

    with tempfile.TemporaryDirectory(prefix="hallmark-import-") as work:
        folder = Path(work) / "model"
        try:
            chosen = trigger.strip() if trigger is not None else None
            artifact = import_lora(source, base, folder, trigger=chosen, device=device)
        except EngineError as error:
            raise InvalidInput(str(error)) from None
        packed = pack_folder(folder)

    # 3. The style, owned by the importer and private; its model stored as trained ones are.
    stored = store_blob_for_row(session, instance.blobs, packed)
    ownership = rights.owner_of_model(owner.id)
    assert ownership.owner_id is not None
    style = StyleModel(
        owner_id=ownership.owner_id,
        name=clean_name,
        description=(description or "").strip() or None,
        engine=IMPORT_ENGINE,
        base_model=base,
        artifact_sha256=stored.sha256,
        status=StyleStatus.READY.value,
        visibility=rights.Visibility.PRIVATE.value,
        hide_prompts=hide_prompts,
        allow_ai_training=allow_ai_training,
        provenance=StyleProvenance.IMPORTED.value,
        attested_at=utcnow(),
        source_sha256=artifact.manifest["provenance"]["source_sha256"],
        training_works=[],
    )
    try:
        with session.begin_nested():
            styles.add(style)
    except IntegrityError as error:
        raise Conflict(f"You already have a style named '{clean_name}'.") from error
    return style
