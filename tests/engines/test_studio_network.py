"""The studio's network: coordinate channels, growing a trained UNet, the text side."""

from __future__ import annotations

import random

import pytest
import torch

from hallmark.engines.studio.network import (
    CHANNELS,
    COORDINATE_CHANNELS,
    FOLD,
    LAYOUT_SIZE,
    TextAdapter,
    build_unet,
    condition_text,
    coordinates,
    load_earlier_weights,
    predict_velocity,
    unet_config,
    widen_input,
)
from hallmark.engines.studio.text import ENCODE_GROUP, MAX_TOKENS, shared_text_encoder
from hallmark.samples.scenes import describe, random_scene

SIDE = LAYOUT_SIZE // FOLD


def _inputs(batch: int, seed: int) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, CHANNELS, SIDE, SIDE, generator=generator)
    t = torch.rand(batch, generator=generator)
    embeddings = torch.randn(batch, MAX_TOKENS, unet_config()["cross_attention_dim"])
    mask = torch.ones(batch, MAX_TOKENS, dtype=torch.long)
    return x, t, embeddings, mask


def test_coordinates_give_each_pixel_its_row_and_column_from_top_left() -> None:
    grid = coordinates(2, 4)
    assert grid.shape == (2, COORDINATE_CHANNELS, 4, 4)
    rows, columns = grid[0]
    assert rows[0, 0] == -1 and columns[0, 0] == -1 and rows[-1, -1] == 1 and columns[-1, -1] == 1
    assert torch.equal(rows[:, 0], rows[:, 3]) and bool((rows[1:, 0] > rows[:-1, 0]).all())
    assert torch.equal(columns[0], columns[3]) and bool((columns[0, 1:] > columns[0, :-1]).all())


def test_a_widened_unet_predicts_what_the_narrow_one_did_and_then_reads_the_coordinates() -> None:
    torch.manual_seed(0)
    narrow = build_unet(unet_config("coarse-attention")).eval()
    wide = build_unet(unet_config("coordinates")).eval()
    assert load_earlier_weights(wide, narrow.state_dict()) == []
    inputs = _inputs(2, seed=1)
    with torch.no_grad():
        before = predict_velocity(narrow, *inputs)
        after = predict_velocity(wide, *inputs)
        assert torch.allclose(before, after, atol=1e-6)
        conv_in = wide.get_submodule("conv_in")
        assert isinstance(conv_in, torch.nn.Conv2d)
        conv_in.weight[:, CHANNELS:] += 0.1
        moved = predict_velocity(wide, *inputs)
    assert not torch.allclose(before, moved, atol=1e-3)


def test_widening_leaves_a_unet_that_already_takes_the_coordinates_alone() -> None:
    state = build_unet().state_dict()
    widened = widen_input(state, CHANNELS + COORDINATE_CHANNELS)
    assert widened["conv_in.weight"] is state["conv_in.weight"]


def test_a_unet_grown_attention_at_the_finest_level_first_predicts_what_it_did() -> None:
    torch.manual_seed(0)
    earlier = build_unet(unet_config("coarse-attention")).eval()
    grown = build_unet(unet_config("attention-everywhere")).eval()
    new_blocks = load_earlier_weights(grown, earlier.state_dict())
    assert new_blocks == [
        "down_blocks.0.attentions.0",
        "up_blocks.2.attentions.0",
        "up_blocks.2.attentions.1",
    ]
    inputs = _inputs(2, seed=3)
    with torch.no_grad():
        before = predict_velocity(earlier, *inputs)
        after = predict_velocity(grown, *inputs)
        assert torch.allclose(before, after, atol=1e-5)
        projection = grown.get_submodule("down_blocks.0.attentions.0.proj_out")
        assert isinstance(projection, torch.nn.Conv2d)
        projection.weight.normal_(std=0.1)
        moved = predict_velocity(grown, *inputs)
    assert not torch.allclose(after, moved, atol=1e-3)


def test_a_unet_given_a_text_adapter_first_predicts_what_it_did_and_then_reads_it() -> None:
    torch.manual_seed(0)
    earlier = build_unet(unet_config("coordinates")).eval()
    grown = build_unet(unet_config("text-attention")).eval()
    adapter = grown.get_submodule("text_adapter")
    assert isinstance(adapter, TextAdapter)
    for parameter in adapter.parameters():  # as if trained, before the earlier weights arrive
        torch.nn.init.normal_(parameter, std=0.05)
    assert load_earlier_weights(grown, earlier.state_dict()) == ["text_adapter"]
    x, t, _, _ = _inputs(2, seed=4)
    encoded = shared_text_encoder().encode(["a red boat in the top left", "two birds"])
    with torch.no_grad():
        tokens = condition_text(grown, encoded.embeddings, encoded.mask)
        assert torch.equal(tokens, encoded.embeddings)
        before = predict_velocity(earlier, x, t, encoded.embeddings, encoded.mask)
        after = predict_velocity(grown, x, t, tokens, encoded.mask)
        assert torch.allclose(before, after, atol=1e-6)
        layer = adapter.layers[0]
        assert isinstance(layer, torch.nn.TransformerEncoderLayer)
        torch.nn.init.normal_(layer.linear2.weight, std=0.05)
        moved = predict_velocity(
            grown, x, t, condition_text(grown, encoded.embeddings, encoded.mask), encoded.mask
        )
    assert not torch.allclose(before, moved, atol=1e-3)


def test_the_text_adapter_lets_each_token_read_the_others_but_never_the_padding() -> None:
    torch.manual_seed(0)
    adapter = TextAdapter(1).eval()
    for parameter in adapter.parameters():
        torch.nn.init.normal_(parameter, std=0.05)
    _, _, embeddings, mask = _inputs(1, seed=5)
    mask[:, 10:] = 0
    embeddings = embeddings * mask.unsqueeze(-1)
    other_word = embeddings.clone()
    other_word[:, 3] = torch.randn(embeddings.shape[-1])
    other_padding = embeddings.clone()
    other_padding[:, 20] = torch.randn(embeddings.shape[-1])
    with torch.no_grad():
        out = adapter(embeddings, mask)
        assert not torch.allclose(out[:, 7], adapter(other_word, mask)[:, 7], atol=1e-4)
        assert torch.allclose(out, adapter(other_padding, mask), atol=1e-6)
    assert bool((out[:, 10:] == 0).all()) and bool((out[:, :10] != 0).any())


def test_earlier_weights_that_do_not_fit_the_unet_are_refused_by_name() -> None:
    grown = build_unet(unet_config("attention-everywhere"))
    state = build_unet(unet_config("coordinates")).state_dict()
    with pytest.raises(ValueError, match="lack parts this UNet needs: .*conv_out"):
        load_earlier_weights(
            grown, {k: v for k, v in state.items() if not k.startswith("conv_out")}
        )
    with pytest.raises(ValueError, match="hold parts this UNet lacks: .*down_blocks.0.attentions"):
        load_earlier_weights(build_unet(unet_config("coordinates")), grown.state_dict())


def test_an_unknown_shape_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="Unknown UNet shape 'huge'; known: coarse-attention"):
        unet_config("huge")


def test_a_layout_of_the_wrong_width_is_refused_with_both_channel_counts() -> None:
    x, t, embeddings, mask = _inputs(1, seed=2)
    with pytest.raises(ValueError, match="takes 14 input channels; the layout has 11"):
        predict_velocity(build_unet(), x[:, :11], t, embeddings, mask)


def test_prompts_encoded_in_length_groups_match_one_padded_batch() -> None:
    encoder = shared_text_encoder()
    rng = random.Random(5)
    prompts = [describe(random_scene(rng), rng) for _ in range(2 * ENCODE_GROUP + 3)]
    prompts += ["", "a red sun", "sun " * 200]
    encoded = encoder.encode(prompts)
    plain = encoder.tokenizer(
        prompts, padding="max_length", truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
    )
    with torch.no_grad():
        hidden = encoder.model(**plain).last_hidden_state * plain["attention_mask"].unsqueeze(-1)
    assert encoded.embeddings.shape == (len(prompts), MAX_TOKENS, hidden.shape[-1])
    assert torch.equal(encoded.mask, plain["attention_mask"])
    assert torch.allclose(encoded.embeddings, hidden, atol=1e-4)
    assert encoded.truncated == tuple([False] * (len(prompts) - 1) + [True])
