"""The engine registry: built-ins and entry-point plugins found by name, and a plugin at work."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

import hallmark
from hallmark.app import create_app
from hallmark.config import Settings
from hallmark.engines import (
    Engine,
    EngineError,
    GenerationRequest,
    ModelArtifact,
    UnknownEngine,
    default_base_model,
    engine_class,
    engine_names,
    generation_defaults,
    get_engine,
    prompt_notes,
    training_defaults,
)
from hallmark.engines.diffusers_lora import DiffusersLoraEngine
from hallmark.engines.registry import ENTRY_POINT_GROUP
from hallmark.engines.studio import StudioEngine
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from tests.engines.sketch_engine import SketchEngine
from tests.helpers import assert_error, sign_up, upload

PLUGIN_PACKAGE = "hallmark_sketch"


@pytest.fixture
def sketch_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """tests/engines/sketch_engine.py installed as a package of its own in a site on sys.path.

    Its distribution declares three entry points: `sketch`, the engine; `studio`, a name a
    built-in already holds; and `broken`, which names something that is not an engine class.
    """
    site = tmp_path / "site"
    package = site / PLUGIN_PACKAGE
    package.mkdir(parents=True)
    shutil.copy(Path(__file__).with_name("sketch_engine.py"), package / "__init__.py")
    info = site / f"{PLUGIN_PACKAGE}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: hallmark-sketch\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n"
        f"sketch = {PLUGIN_PACKAGE}:SketchEngine\n"
        f"studio = {PLUGIN_PACKAGE}:SketchEngine\n"
        f"broken = {PLUGIN_PACKAGE}:WEIGHTS\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(site))  # also clears importlib's finder caches
    yield site
    sys.modules.pop(PLUGIN_PACKAGE, None)


def test_the_built_in_engines_declare_their_own_settings() -> None:
    # mypy checks that each engine class, the test plugin's too, meets the Engine protocol.
    declared: list[type[Engine]] = [StudioEngine, DiffusersLoraEngine, SketchEngine]
    assert [engine.name for engine in declared] == ["studio", "diffusers-lora", "sketch"]
    assert engine_names() == ["diffusers-lora", "studio"]
    assert engine_class("studio") is StudioEngine
    assert engine_class("diffusers-lora") is DiffusersLoraEngine
    assert training_defaults("studio")["steps"] == 300
    assert generation_defaults("studio") == {
        "steps": 20,
        "guidance": 7.0,
        "width": 256,
        "height": 256,
    }
    assert default_base_model("studio") == "studio-base"
    assert (training_defaults("diffusers-lora"), generation_defaults("diffusers-lora")) == ({}, {})
    assert default_base_model("diffusers-lora") == ""
    assert prompt_notes("diffusers-lora", "anything at all") == []
    # The defaults handed out are copies: changing one changes no engine.
    training_defaults("studio")["steps"] = 1
    assert StudioEngine.training_defaults["steps"] == 300


def test_listing_engines_and_reading_their_settings_imports_no_ml_library() -> None:
    script = (
        "import sys\n"
        "from hallmark.engines import registry\n"
        "for name in registry.engine_names():\n"
        "    registry.training_defaults(name), registry.generation_defaults(name)\n"
        "    registry.default_base_model(name)\n"
        "heavy = sorted({'torch', 'diffusers', 'peft', 'transformers'} & set(sys.modules))\n"
        "print(','.join(heavy))\n"
    )
    source = str(Path(hallmark.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""


def test_an_unknown_engine_is_refused_naming_the_registered_ones() -> None:
    with pytest.raises(
        UnknownEngine, match=r"Unknown engine 'nope'; available: diffusers-lora, studio\."
    ):
        get_engine("nope")
    for ask in (training_defaults, generation_defaults, default_base_model):
        with pytest.raises(UnknownEngine, match="available: diffusers-lora, studio"):
            ask("nope")


def test_a_plugin_is_found_through_its_entry_point(sketch_installed: Path) -> None:
    sketch = engine_class("sketch")

    assert sketch.__module__ == PLUGIN_PACKAGE
    assert Path(sys.modules[PLUGIN_PACKAGE].__file__ or "").is_relative_to(sketch_installed)
    assert engine_names() == ["broken", "diffusers-lora", "sketch", "studio"]
    assert training_defaults("sketch") == {"steps": 3, "min_images": 2}
    assert generation_defaults("sketch") == {"width": 64, "height": 48, "steps": 1}
    assert default_base_model("sketch") == "sketch-base"
    assert prompt_notes("sketch", "a boat", "sketch-base") == [
        "sketch-base paints the style's colour only; 'a boat' is not drawn."
    ]
    assert isinstance(get_engine("sketch"), sketch)
    # A plugin never takes a built-in's name, and what is not an engine class is refused.
    assert engine_class("studio") is StudioEngine
    with pytest.raises(EngineError, match=f"'broken' \\({PLUGIN_PACKAGE}:WEIGHTS\\) is not an"):
        engine_class("broken")
    with pytest.raises(UnknownEngine, match="available: broken, diffusers-lora, sketch, studio"):
        get_engine("nope")


def test_a_plugin_engine_trains_and_generates_through_the_studio(
    sketch_installed: Path, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", heartbeat_seconds=0.5)
    with TestClient(create_app(settings, start_workers=True)) as served:
        ana = sign_up(served, "ana")
        ids = [
            upload(served, ana, work.png).json()["artwork"]["id"]
            for work in sample_works(SAMPLE_ARTISTS["bo"], count=3, size=96)
        ]
        refused = served.post(
            "/api/styles",
            headers=ana,
            json={"name": "Colour", "artwork_ids": ids, "engine": "crayon"},
        )
        assert_error(refused, 422, "invalid_input")
        assert "broken, diffusers-lora, sketch, studio" in refused.json()["error"]["message"]

        created = served.post(
            "/api/styles",
            headers=ana,
            json={"name": "Colour", "artwork_ids": ids, "engine": "sketch"},
        )
        assert created.status_code == 201, created.text
        style = created.json()
        assert (style["engine"], style["base_model"]) == ("sketch", "sketch-base")

        # Trained through the job queue, with the plugin's own training defaults.
        queued = served.post(f"/api/styles/{style['id']}/train", headers=ana, json={})
        assert queued.status_code == 202, queued.text
        job = queued.json()["id"]
        trained = served.get(f"/api/jobs/{job}/wait", params={"timeout": 60}, headers=ana).json()
        assert (trained["state"], trained["step"], trained["total"]) == ("succeeded", 3, 3), trained
        artifact = ModelArtifact.load(settings.data_dir / "styles" / style["id"])
        assert artifact.manifest["engine"] == "sketch"
        assert (artifact.directory / "sketch-weights.json").is_file()

        # Generated through the job queue, with the plugin's own sampler defaults.
        made = served.post(
            f"/api/styles/{style['id']}/generate",
            headers=ana,
            json={"prompt": "a red boat", "count": 2, "seed": 5},
        )
        assert made.status_code == 202, made.text
        result = served.get(
            f"/api/jobs/{made.json()['id']}/wait", params={"timeout": 60}, headers=ana
        ).json()
        assert result["state"] == "succeeded", result
        ids_made = result["result"]["generation_ids"]
        assert len(ids_made) == 2
        expected = get_engine("sketch").generate(
            artifact,
            GenerationRequest("a red boat", count=2, seed=5, **generation_defaults("sketch")),
        )
        owner = served.get("/api/users/me", headers=ana).json()["id"]
        for generation_id, wanted in zip(ids_made, expected, strict=True):
            assert (
                served.get(f"/api/generations/{generation_id}", headers=ana).json()["owner_id"]
                == owner
            )
            file = served.get(f"/api/generations/{generation_id}/file", headers=ana)
            assert file.status_code == 200, file.text
            with Image.open(io.BytesIO(file.content)) as image:
                assert image.size == (64, 48)
                assert image.convert("RGB").tobytes() == wanted.tobytes()
