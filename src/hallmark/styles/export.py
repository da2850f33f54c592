"""Exporting a style: its owner takes the trained model to the tools they use (R2).

The export is one zip: the LoRA in the engine's own format (diffusers' for diffusers-lora, with
its adapter metadata), the same weights in kohya's format for UNet base models (what ComfyUI,
AUTOMATIC1111 and kohya sd-scripts load) or in the naming ComfyUI maps for FLUX, SD3 and Z-Image
bases (`dit_formats.to_comfyui`), `manifest.json` (which file is for which tool, the base model
and its hash, training settings, the SHA-256 of every training work, trigger words, and for an
imported model the owner's attestation), and `OWNERSHIP.txt`, a statement
of who owns the model and on whose works it was trained, signed by the instance's
content-credentials key, with that signature and certificate beside it. Weights only: never the
training works' pixels (the studio engine keeps copies of them in its folder; they stay here).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from hallmark import rights
from hallmark.accounts.models import User
from hallmark.accounts.service import usernames_of
from hallmark.artworks.repository import ArtworkRepository
from hallmark.engines import EngineError, ModelArtifact
from hallmark.errors import Conflict, Forbidden, InvalidInput
from hallmark.instance import Instance
from hallmark.provenance.statements import sign_statement, verify_statement
from hallmark.styles.facts import model_facts
from hallmark.styles.models import StyleModel, StyleProvenance, StyleStatus
from hallmark.styles.service import get_visible_style
from hallmark.styles.training import load_artifact

EXPORT_FORMAT = "hallmark.style-export/v1"
MANIFEST = "manifest.json"
STATEMENT = "OWNERSHIP.txt"
SIGNATURE = "OWNERSHIP.txt.sig"
CERTIFICATE = "OWNERSHIP-certificate.pem"
README = "README.txt"
DIFFUSERS_FILE = "diffusers/pytorch_lora_weights.safetensors"
TOOLS = {
    "kohya/": "ComfyUI (models/loras, LoraLoader), AUTOMATIC1111 (models/Lora), kohya sd-scripts, "
    "diffusers (load_lora_weights)",
    "comfyui/": "ComfyUI (models/loras, LoraLoader), diffusers (load_lora_weights)",
    "diffusers/": "diffusers (load_lora_weights on the folder)",
    "studio/": "the Hallmark studio engine, on its shipped base",
}
DIFFUSERS_ENGINE = "diffusers-lora"
STUDIO_ENGINE = "studio"
STATEMENT_FILES = re.compile(r"^  ([0-9a-f]{64})  (\S+)$", re.MULTILINE)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _slug(name: str) -> str:
    """A file name from a style's name: lowercase letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "style"


def exportable_style(session: Session, user: User, style_id: Any) -> StyleModel:
    """A trained style the user may export: their own (R2); others' are refused or hidden."""
    style = get_visible_style(session, user, style_id)
    decision = rights.may_export_model(user.id, model_facts(style))
    if not decision.allowed:
        raise Forbidden(decision.reason, rule=decision.rule)
    if style.status != StyleStatus.READY.value:
        raise Conflict("Train the style before exporting it.")
    return style


def base_model_record(style: StyleModel, manifest: dict[str, Any]) -> dict[str, Any]:
    """The base model the LoRA needs, with the hashes tools know it by (AutoV2: the first ten
    hex digits of the checkpoint file's SHA-256, as Civitai and AUTOMATIC1111 show it)."""
    if style.engine == STUDIO_ENGINE:
        sha256 = str(manifest.get("base_sha256", ""))
        return {
            "id": style.base_model or "studio-base",
            "sha256": sha256,
            "autov2": sha256[:10].upper(),
            "needs": "the studio base model shipped with Hallmark "
            "(hallmark/engines/studio/weights/studio-base.safetensors, this SHA-256); "
            "the LoRA loads onto no other model.",
        }
    record: dict[str, Any] = {"id": style.base_model}
    path = Path(style.base_model)
    if path.is_file():
        sha256 = _sha256_of(path)
        record |= {"sha256": sha256, "autov2": sha256[:10].upper()}
    elif path.is_dir():
        record["files_sha256"] = {
            file.relative_to(path).as_posix(): _sha256_of(file)
            for file in sorted(path.rglob("*.safetensors"))
        }
    else:
        record["needs"] = "this Hugging Face Hub model, which lists its files' SHA-256."
    return record


@dataclass(frozen=True)
class ExportParts:
    """What goes in an export besides the statement: weight files and the manifest."""

    files: dict[str, Path]  # name in the zip -> file on disk
    manifest: dict[str, Any]


def _weights(style: StyleModel, artifact: ModelArtifact, owner: str, work: Path) -> dict[str, Path]:
    """The weight files: the engine's own, and for diffusers-lora also the kohya file."""
    files = {
        f"{style.engine}/{path.name}": path
        for path in sorted(artifact.directory.glob("*.safetensors"))
    }
    if style.engine != DIFFUSERS_ENGINE:
        return files
    from hallmark.engines.flow_matching import DIT_FAMILIES
    from hallmark.engines.lora_formats import KohyaDescription, family_of_folder, to_kohya_file

    diffusers = artifact.directory / str(artifact.manifest.get("weights", ""))
    if not diffusers.is_file():
        raise Conflict("The style's trained weights are missing from its model folder.")
    if artifact.manifest.get("architecture") in DIT_FAMILIES:
        comfyui = _comfyui_file(style, artifact, diffusers, work)
        return {DIFFUSERS_FILE: diffusers, f"comfyui/{comfyui.name}": comfyui}
    family = family_of_folder(style.base_model, artifact.manifest.get("architecture") == "sdxl")
    kohya = work / f"{_slug(style.name)}.safetensors"
    trigger = str(artifact.manifest.get("trigger", ""))
    description = KohyaDescription(
        title=style.name,
        author=owner,
        date=str(artifact.manifest.get("created_at", ""))[:10],
        trigger_words=(trigger,) if trigger else (),
        description=style.description or "",
        training_comment=f"Hallmark style {style.id}",
    )
    try:
        to_kohya_file(diffusers, family, description, kohya)
    except EngineError as error:
        raise Conflict(f"The style's weights cannot be converted: {error}") from None
    return {DIFFUSERS_FILE: diffusers, f"kohya/{kohya.name}": kohya}


def _comfyui_file(style: StyleModel, artifact: ModelArtifact, diffusers: Path, work: Path) -> Path:
    """A DiT style's transformer LoRA in the naming ComfyUI maps for its family, each module
    with its alpha (alpha/rank is the scale it was trained or imported at)."""
    import torch
    from safetensors.torch import save_file

    from hallmark.engines.dit_formats import PREFIX, to_comfyui
    from hallmark.engines.lora_formats import adapter_shapes, read_safetensors

    state_dict, metadata = read_safetensors(diffusers)
    transformer = {key: value for key, value in state_dict.items() if key.startswith(PREFIX)}
    saved = adapter_shapes(metadata, transformer).get("transformer")
    if saved is None:
        raise Conflict("The style's weights hold no transformer LoRA to convert.")
    trigger = str(artifact.manifest.get("trigger", ""))
    tensors, written = to_comfyui(
        transformer,
        family=str(artifact.manifest["architecture"]),
        rank=saved.rank,
        alpha=saved.alpha,
        base_model_sha256=str(artifact.manifest.get("base_model_sha256", "")),
        trigger=trigger,
    )
    if "lora_adapter_metadata" not in metadata:  # no shared alpha: each module at alpha = rank
        for key in [key for key in tensors if key.endswith(".alpha")]:
            down = tensors[key.removesuffix(".alpha") + ".lora_A.weight"]
            tensors[key] = torch.tensor(float(down.shape[0]))
    path = work / f"{_slug(style.name)}.safetensors"
    save_file(tensors, str(path), metadata=written)
    return path


def _provenance(style: StyleModel) -> dict[str, Any]:
    """How the model came to be: trained here, or imported on its owner's attestation (R2)."""
    if style.provenance != StyleProvenance.IMPORTED.value:
        return {"kind": StyleProvenance.TRAINED.value}
    return {
        "kind": StyleProvenance.IMPORTED.value,
        "attested_at": style.attested_at.isoformat() if style.attested_at else None,
        "attestation": "trained on works the owner holds the rights to",
        "source_sha256": style.source_sha256,
    }


def export_parts(
    session: Session, instance: Instance, style: StyleModel, work: Path
) -> ExportParts:
    """The export's weight files (written under `work` when converted) and its manifest."""
    artifact = load_artifact(instance, style)
    owner = usernames_of(session, [style.owner_id]).get(style.owner_id, "?")
    files = _weights(style, artifact, owner, work)
    artworks = ArtworkRepository(session).get_many([w.artwork_id for w in style.training_works])
    owners = usernames_of(session, {a.owner_id for a in artworks.values()})
    trigger = artifact.manifest.get("trigger")
    settings = artifact.manifest.get("hyperparameters") or {
        key: value
        for key, value in artifact.manifest.items()
        if key not in {"engine", "base_model", "base_sha256", "trigger"}
    }
    manifest = {
        "format": EXPORT_FORMAT,
        "style": {
            "id": str(style.id),
            "name": style.name,
            "description": style.description,
            "owner": owner,
            "engine": style.engine,
            "trained_at": artifact.manifest.get("created_at") or style.created_at.isoformat(),
            "provenance": _provenance(style),
        },
        "base_model": base_model_record(style, artifact.manifest),
        "trigger_words": [trigger] if trigger else [],
        "training_settings": {k: v for k, v in settings.items() if k != "base_model"},
        "training_works": [
            {
                "artwork_id": str(work_row.artwork_id),
                "sha256": work_row.artwork_sha256,
                "owner": owners.get(artworks[work_row.artwork_id].owner_id, "?")
                if work_row.artwork_id in artworks
                else "?",
            }
            for work_row in style.training_works
        ],
        "files": {name: _sha256_of(path) for name, path in files.items()},
        "tools": {
            name: tool
            for name in files
            for folder, tool in TOOLS.items()
            if name.startswith(folder)
        },
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return ExportParts(files, manifest)


def ownership_statement(instance: Instance, manifest: dict[str, Any], manifest_sha256: str) -> str:
    """The human-readable statement the instance signs: who owns the model, trained on whose
    works, under which rules, and the hashes of every file it covers."""
    style, works, base = manifest["style"], manifest["training_works"], manifest["base_model"]
    owner = style["owner"]
    others = sorted({work["owner"] for work in works} - {owner})
    imported = style.get("provenance", {})
    if imported.get("kind") == StyleProvenance.IMPORTED.value:
        provenance = (
            f"It was not trained here: @{owner} imported it on {imported['attested_at']}, "
            "attesting that it was trained on works they hold the rights to (the uploaded "
            f"file's SHA-256: {imported['source_sha256']})."
        )
    elif not works:
        provenance = "No training works are recorded for it on this instance."
    elif others:
        licensed = ", ".join(f"@{name}" for name in others)
        provenance = (
            f"It was trained on {len(works)} works: @{owner}'s own and works of {licensed} "
            f"licensed to @{owner} for training."
        )
    elif len(works) == 1:
        provenance = f"It was trained on 1 work, @{owner}'s own."
    else:
        provenance = f"It was trained on {len(works)} works, all of them @{owner}'s own."
    files = [(manifest_sha256, MANIFEST), *((v, k) for k, v in manifest["files"].items())]
    settings = instance.settings
    lines = [
        f"Ownership statement from {settings.organisation} ({settings.resolved_public_url})",
        "",
        f'The style model "{style["name"]}" (id {style["id"]}) belongs to @{owner}.',
        provenance,
        "",
        f"R2: {rights.Rule.R2.summary}",
        f"R3: {rights.Rule.R3.summary}",
        "",
        f"Base model: {base['id']}" + (f" (SHA-256 {base['sha256']})" if "sha256" in base else ""),
        f"Exported: {manifest['exported_at']}",
        "",
        "The files this statement covers, by SHA-256:",
        *(f"  {sha256}  {name}" for sha256, name in files),
        "",
        f"Signed by the instance's key; the signature is {SIGNATURE}, the certificate",
        f"{CERTIFICATE}. Check it with:",
        f"  openssl x509 -in {CERTIFICATE} -pubkey -noout > signer.pub",
        f"  openssl dgst -sha256 -verify signer.pub -signature {SIGNATURE} {STATEMENT}",
        "and the files with `sha256sum`, or all at once with `hallmark styles verify-export`.",
        "",
    ]
    return "\n".join(lines)


def _readme(manifest: dict[str, Any]) -> str:
    """Which file to load in which tool."""
    files = list(manifest["files"])
    kohya = next((name for name in files if name.startswith("kohya/")), None)
    base = manifest["base_model"]
    lines = [f'"{manifest["style"]["name"]}": a style model exported from Hallmark.', ""]
    comfyui = next((name for name in files if name.startswith("comfyui/")), None)
    if comfyui:
        lines += [
            f"{comfyui}: ComfyUI (models/loras, LoraLoader),",
            "  and diffusers' load_lora_weights(path).",
            f"{DIFFUSERS_FILE}: diffusers,",
            "  pipeline.load_lora_weights('diffusers') with the base model below.",
        ]
    elif kohya:
        lines += [
            f"{kohya}: ComfyUI (models/loras, LoraLoader), AUTOMATIC1111 (models/Lora),",
            "  kohya sd-scripts, and diffusers' load_lora_weights(path).",
            f"{DIFFUSERS_FILE}: diffusers,",
            "  pipeline.load_lora_weights('diffusers') with the base model below.",
        ]
    else:
        lines += [f"{name}: the {manifest['style']['engine']} engine's own file." for name in files]
    lines += [
        "",
        f"Base model: {base['id']}" + (f", SHA-256 {base['sha256']}" if "sha256" in base else ""),
        *([f"  {base['needs']}"] if "needs" in base else []),
        f"Trigger words: {', '.join(manifest['trigger_words']) or 'none'}",
        f"Who owns it: {STATEMENT} (signed; see how to check it there).",
        "",
    ]
    return "\n".join(lines)


def export_style(
    session: Session, instance: Instance, user: User, style_id: Any, destination: Path
) -> str:
    """Write the owner's export of a trained style to `destination` (a zip); its file name."""
    style = exportable_style(session, user, style_id)
    with tempfile.TemporaryDirectory(prefix="hallmark-export-") as work:
        parts = export_parts(session, instance, style, Path(work))
        manifest_bytes = json.dumps(parts.manifest, indent=2, sort_keys=True).encode()
        manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
        statement = ownership_statement(instance, parts.manifest, manifest_sha256).encode()
        identity = instance.signing_identity
        with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(README, _readme(parts.manifest))
            archive.writestr(MANIFEST, manifest_bytes)
            archive.writestr(STATEMENT, statement)
            archive.writestr(SIGNATURE, sign_statement(identity, statement))
            archive.writestr(CERTIFICATE, identity.chain_pem)
            for name, path in parts.files.items():
                with path.open("rb") as source, archive.open(name, "w") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
    return f"{_slug(style.name)}-hallmark.zip"


# ---------------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class ExportCheck:
    """Whether an export's statement is intact, signed by this instance, and its files whole."""

    valid: bool
    trusted: bool
    reason: str
    statement: str = ""


def verify_export(instance: Instance, data: bytes) -> ExportCheck:
    """Check an export: the statement's signature and certificate, then every file's hash."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            missing = [n for n in (STATEMENT, SIGNATURE, CERTIFICATE) if n not in names]
            if missing:
                raise InvalidInput(f"Not a Hallmark export: {', '.join(missing)} missing.")
            statement = archive.read(STATEMENT)
            identity = instance.signing_identity
            check = verify_statement(
                statement,
                archive.read(SIGNATURE),
                archive.read(CERTIFICATE),
                identity.trust_anchors_pem,
            )
            text = statement.decode("utf-8", errors="replace")
            if not check.valid:
                return ExportCheck(False, False, check.reason, text)
            for sha256, name in STATEMENT_FILES.findall(text):
                if name not in names:
                    return ExportCheck(False, check.trusted, f"{name} is missing", text)
                digest = hashlib.sha256()
                with archive.open(name) as member:
                    for block in iter(lambda: member.read(1 << 20), b""):
                        digest.update(block)
                if digest.hexdigest() != sha256:
                    return ExportCheck(False, check.trusted, f"{name} was altered", text)
    except zipfile.BadZipFile:
        raise InvalidInput("Not a Hallmark export: the file is not a zip.") from None
    return ExportCheck(True, check.trusted, check.reason, text)
