"""Rights advice over HTTP and from the terminal, on Hallmark records, files and supplied facts."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from hallmark.accounts.models import User
from hallmark.advice.service import SuppliedFacts, advise_on_file, advise_on_generation
from hallmark.cli import app
from hallmark.errors import NotFound
from hallmark.instance import Instance
from hallmark.rights.advisor import Action
from hallmark.rights.guide import guide_markdown
from hallmark.rights.policies import Outcome, load_policies
from hallmark.styles.models import StyleModel
from tests.conftest import Generate, MakeStyle
from tests.helpers import sign_up

ROOT = Path(__file__).resolve().parents[2]


def test_the_makers_question_about_an_image_made_with_anothers_model(
    session: Session,
    owner: User,
    maker: User,
    stranger: User,
    public_style: StyleModel,
    generate: Generate,
) -> None:
    image = generate(maker, public_style)

    as_maker = advise_on_generation(session, maker, image.id, Action.SELL)
    as_owner = advise_on_generation(session, owner, image.id, Action.SELL)

    assert as_maker.answer.outcome is Outcome.NOT_ALLOWED
    assert f"@{owner.username}" in as_maker.answer.reason
    assert as_owner.answer.outcome is Outcome.ALLOWED_WITH_CONDITIONS
    with pytest.raises(NotFound):
        advise_on_generation(session, stranger, image.id, Action.VIEW)


def test_a_signed_file_and_its_stripped_copy_are_both_recognised_as_hallmark_images(
    session: Session,
    instance: Instance,
    owner: User,
    maker: User,
    make_style: MakeStyle,
    generate: Generate,
) -> None:
    from hallmark.generations.service import record_generation
    from hallmark.samples import SAMPLE_ARTISTS, sample_works

    style = make_style(owner, public=True)
    picture = sample_works(SAMPLE_ARTISTS["dmitri"], count=1, size=256, seed=4)[0].png
    image = record_generation(session, instance, maker, style, prompt="p", seed=1, image=picture)
    signed = instance.blobs.get(image.sha256)
    buffer = io.BytesIO()
    Image.open(io.BytesIO(signed)).convert("RGB").save(buffer, format="JPEG", quality=92)

    for data in (signed, buffer.getvalue()):
        advice = advise_on_file(session, instance, maker, data, Action.TRACE, SuppliedFacts())
        assert advice.facts_from == "hallmark records"
        assert advice.generation_id == image.id
        assert advice.answer.outcome is Outcome.NOT_ALLOWED  # the maker must license it (R4)


def test_the_api_answers_for_supplied_facts_and_hides_private_images(client: TestClient) -> None:
    ben = sign_up(client, "ben")
    answer = client.post(
        "/api/rights",
        json={
            "action": "trace",
            "service": "midjourney",
            "plan": "standard",
            "made_on": "2024-05-01",
            "generated_by_me": False,
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "not_allowed"
    assert "permission" in answer.json()["summary"]
    dated = client.post(
        "/api/rights",
        json={
            "action": "sell",
            "service": "stability-hosted",
            "made_on": "2026-02-01",
            "generated_by_me": True,
        },
    ).json()
    assert dated["outcome"] == "allowed" and dated["policy_date"] == "2025-07-31"
    hidden = client.post(
        "/api/rights", headers=ben, json={"action": "view", "generation_id": str(uuid.uuid4())}
    )
    assert hidden.status_code == 404
    assert client.post("/api/rights", json={"action": "steal"}).status_code == 422


def test_the_help_page_lists_every_rule_and_service(client: TestClient) -> None:
    page = client.get("/help/ownership")

    assert page.status_code == 200
    for text in ("R1", "R11", "Midjourney", "OpenAI", "31 July 2025", "Copyright Office"):
        assert text in page.text


def test_docs_ownership_md_is_the_current_guide() -> None:
    written = (ROOT / "docs" / "ownership.md").read_text(encoding="utf-8")

    assert written == guide_markdown(load_policies()), (
        "docs/ownership.md is stale: run `.venv/bin/hallmark ownership-guide > docs/ownership.md`"
    )


def test_the_cli_answers_in_plain_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hallmark.config import get_settings

    monkeypatch.setenv("HALLMARK_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    picture = tmp_path / "dalle.png"
    Image.new("RGB", (64, 64), (10, 200, 30)).save(picture)
    try:
        result = CliRunner().invoke(
            app, ["rights", str(picture), "--action", "sell", "--service", "openai", "--mine"]
        )
        bad = CliRunner().invoke(app, ["rights", str(picture), "--action", "steal"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    assert "Yes, if:" in result.output and "AI-generated" in result.output
    assert bad.exit_code != 0


def test_the_cli_passes_the_facts_of_a_use_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hallmark.config import get_settings

    monkeypatch.setenv("HALLMARK_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    picture = tmp_path / "community.png"
    Image.new("RGB", (64, 64), (200, 10, 30)).save(picture)
    asked = ["rights", str(picture), "--service", "stability-community", "--mine"]
    asked += ["--action", "train"]
    try:
        lora = CliRunner().invoke(app, [*asked, "--derivative", "--json"])
        foundation = CliRunner().invoke(app, [*asked, "--not-derivative", "--json"])
        nowhere = CliRunner().invoke(app, [*asked, "--country", "Narnia"])
    finally:
        get_settings.cache_clear()

    assert lora.exit_code == 0 and foundation.exit_code == 0, lora.output + foundation.output
    assert json.loads(lora.output)["outcome"] == "allowed", lora.output
    assert json.loads(foundation.output)["outcome"] == "not_allowed", foundation.output
    assert nowhere.exit_code != 0 and "--country" in str(nowhere.exception)
