"""The studio's small text-to-image network: a cross-attention UNet trained by flow matching.

Images live at LAYOUT_SIZE pixels, folded 2x2 into channels (space-to-depth) so that the UNet
works at half that size: four times cheaper on a CPU, with nothing lost. A UNet built with two
more input channels than the image has is given the row and column of every pixel there
(coordinate channels): a prompt names places ("in the top left"), and convolutions and
diffusers' attention blocks otherwise know where they are only from the zero padding at the
borders. A shape may also put a trained self-attention layer over the frozen text tokens
(TextAdapter) before the UNet reads them: the frozen tokens say an object's colour but hardly
where it is (`bench/text_binding.py`). The shapes the base model has had are kept by name
(UNET_SHAPES); a model of one shape continues training as a larger one with the new parts
starting as no-ops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from PIL import Image

from hallmark.engines.studio.text import EMBEDDING_DIM

LAYOUT_SIZE = 32
FOLD = 2
CHANNELS = 3 * FOLD * FOLD
COORDINATE_CHANNELS = 2
UNIFORM_TIME_SHARE = 0.3


_COARSE_ATTENTION = {
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
}
_ATTENTION_EVERYWHERE = {
    "down_block_types": ("CrossAttnDownBlock2D",) * 3,
    "up_block_types": ("CrossAttnUpBlock2D",) * 3,
}
# The shapes the base model has had, by name, so that every training command stays reproducible.
UNET_SHAPES: dict[str, dict[str, Any]] = {
    "coarse-attention": {"in_channels": CHANNELS, **_COARSE_ATTENTION},
    "coordinates": {"in_channels": CHANNELS + COORDINATE_CHANNELS, **_COARSE_ATTENTION},
    "attention-everywhere": {
        "in_channels": CHANNELS + COORDINATE_CHANNELS,
        **_ATTENTION_EVERYWHERE,
    },
    "text-attention": {
        "in_channels": CHANNELS + COORDINATE_CHANNELS,
        "text_adapter_layers": 1,
        **_COARSE_ATTENTION,
    },
}
TEXT_ADAPTER_HEADS = 6
TEXT_ADAPTER_HIDDEN = 768
TEXT_ADAPTER_PREFIX = "text_adapter."
DEFAULT_SHAPE = "coordinates"


def unet_config(shape: str = DEFAULT_SHAPE) -> dict[str, Any]:
    """The network's configuration: diffusers' UNet arguments, and text_adapter_layers if any.

    Three levels at 16, 8 and 4 px, with cross-attention where `shape` puts it.
    """
    if shape not in UNET_SHAPES:
        raise ValueError(f"Unknown UNet shape {shape!r}; known: {', '.join(UNET_SHAPES)}.")
    return {
        "sample_size": LAYOUT_SIZE // FOLD,
        "out_channels": CHANNELS,
        "block_out_channels": (32, 64, 128),
        "layers_per_block": 1,
        "cross_attention_dim": EMBEDDING_DIM,
        "attention_head_dim": 32,
        "norm_num_groups": 16,
        **UNET_SHAPES[shape],
    }


class TextAdapter(torch.nn.Module):
    """Self-attention layers over the frozen text tokens, added to them (residual).

    Each token can take in its neighbours ("a red boat in the top left": the noun learns its
    place); every layer's output projections start at zero, so a new adapter passes the
    tokens through unchanged and a trained UNet keeps computing what it did.
    """

    def __init__(self, layers: int, width: int = EMBEDDING_DIM) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(
            torch.nn.TransformerEncoderLayer(
                width,
                TEXT_ADAPTER_HEADS,
                TEXT_ADAPTER_HIDDEN,
                dropout=0.0,
                batch_first=True,
                norm_first=True,
            )
            for _ in range(layers)
        )
        self.pass_through()

    @torch.no_grad()
    def pass_through(self) -> None:
        """Zero every layer's output projections: the adapter then returns its input."""
        for layer in self.modules():
            if not isinstance(layer, torch.nn.TransformerEncoderLayer):
                continue
            for projection in (layer.self_attn.out_proj, layer.linear2):
                projection.weight.zero_()
                projection.bias.zero_()

    def forward(self, embeddings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The tokens after the adapter; padding stays zero and is attended by nothing."""
        padding = mask == 0
        out = embeddings
        for layer in self.layers:
            out = layer(out, src_key_padding_mask=padding)
        return out * mask.unsqueeze(-1).to(out)


def build_unet(config: dict[str, Any] | None = None) -> torch.nn.Module:
    """A freshly initialised network of the studio's shape (or of `config`).

    A configuration with text_adapter_layers gets a TextAdapter as the UNet's `text_adapter`
    submodule, so that its weights are saved, loaded and frozen with the UNet's.
    """
    from diffusers import UNet2DConditionModel

    arguments = dict(config or unet_config())
    adapter_layers = int(arguments.pop("text_adapter_layers", 0))
    unet: torch.nn.Module = UNet2DConditionModel(**arguments)
    if adapter_layers:
        unet.text_adapter = TextAdapter(adapter_layers)
    return unet


def condition_text(
    unet: torch.nn.Module, embeddings: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """The text tokens as the UNet reads them: through its text adapter, if it has one."""
    adapter = getattr(unet, "text_adapter", None)
    if adapter is None:
        return embeddings
    conditioned: torch.Tensor = adapter(embeddings, mask)
    return conditioned


def widen_input(state: dict[str, torch.Tensor], in_channels: int) -> dict[str, torch.Tensor]:
    """A UNet's weights with `conv_in` taking `in_channels`, the new inputs weighted zero.

    The widened UNet computes exactly what the narrower one did, so a model trained without
    coordinate channels continues training with them from where it was.
    """
    weight = state["conv_in.weight"]
    missing = in_channels - weight.shape[1]
    if missing <= 0:
        return state
    zeros = weight.new_zeros(weight.shape[0], missing, *weight.shape[2:])
    return {**state, "conv_in.weight": torch.cat([weight, zeros], dim=1)}


def load_earlier_weights(unet: torch.nn.Module, state: dict[str, torch.Tensor]) -> list[str]:
    """Load a smaller earlier UNet's weights into `unet`; the parts it lacked start as no-ops.

    New input channels are weighted zero, every new attention block's output projection is
    zero and a new text adapter passes the tokens through, so the grown UNet computes what the
    earlier one did and training continues from there. Returns the names of the new attention
    blocks (and "text_adapter" if that is new).
    """
    config: Any = unet.config
    result = unet.load_state_dict(widen_input(state, int(config.in_channels)), strict=False)
    if result.unexpected_keys:
        raise ValueError(
            f"The earlier weights hold parts this UNet lacks: {result.unexpected_keys[:3]}"
        )
    new_blocks = sorted(
        key.removesuffix(".proj_out.weight")
        for key in result.missing_keys
        if key.endswith(".proj_out.weight") and not key.startswith(TEXT_ADAPTER_PREFIX)
    )
    new_adapter = [key for key in result.missing_keys if key.startswith(TEXT_ADAPTER_PREFIX)]
    unexplained = [
        key
        for key in result.missing_keys
        if key not in new_adapter and not any(key.startswith(f"{b}.") for b in new_blocks)
    ]
    if unexplained:
        raise ValueError(f"The earlier weights lack parts this UNet needs: {unexplained[:3]}")
    with torch.no_grad():
        for name in new_blocks:
            for parameter in unet.get_submodule(f"{name}.proj_out").parameters():
                parameter.zero_()
    if new_adapter:
        adapter: Any = unet.get_submodule("text_adapter")
        adapter.pass_through()
        return [*new_blocks, "text_adapter"]
    return new_blocks


def coordinates(batch: int, size: int) -> torch.Tensor:
    """Two channels holding each pixel's row and column, from -1 (top, left) to 1."""
    line = torch.linspace(-1.0, 1.0, size)
    rows, columns = torch.meshgrid(line, line, indexing="ij")
    return torch.stack([rows, columns]).expand(batch, -1, -1, -1)


def predict_velocity(
    unet: torch.nn.Module,
    x: torch.Tensor,
    t: torch.Tensor,
    embeddings: torch.Tensor,
    mask: torch.Tensor,
) -> torch.Tensor:
    """The UNet's velocity at times `t` in [0, 1], with coordinate channels if it takes them."""
    config: Any = unet.config
    wanted = int(config.in_channels)
    if wanted == x.shape[1] + COORDINATE_CHANNELS:
        x = torch.cat([x, coordinates(x.shape[0], x.shape[-1]).to(x)], dim=1)
    elif wanted != x.shape[1]:
        raise ValueError(f"The UNet takes {wanted} input channels; the layout has {x.shape[1]}.")
    velocity: torch.Tensor = unet(
        x, t * 1000, encoder_hidden_states=embeddings, encoder_attention_mask=mask
    ).sample
    return velocity


def images_to_tensor(images: list[Image.Image]) -> torch.Tensor:
    """RGB images, resized to LAYOUT_SIZE, as folded tensors in [-1, 1]."""
    arrays = [
        np.asarray(
            image.convert("RGB").resize((LAYOUT_SIZE, LAYOUT_SIZE), Image.Resampling.BOX),
            np.float32,
        )
        for image in images
    ]
    batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2) / 127.5 - 1.0
    return F.pixel_unshuffle(batch, FOLD)


def tensor_to_arrays(folded: torch.Tensor) -> NDArray[np.uint8]:
    """Folded tensors in [-1, 1] back to (batch, H, W, 3) uint8 pixels."""
    pixels = F.pixel_shuffle(folded.float().clamp(-1, 1), FOLD)
    out = ((pixels + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return out.permute(0, 2, 3, 1).numpy()


def sample_times(
    batch: int, generator: torch.Generator, uniform_share: float = UNIFORM_TIME_SHARE
) -> torch.Tensor:
    """Training times: mostly logit-normal (the middle of the path), partly uniform.

    The uniform share trains the two ends too: sampling starts at t=1, where the layout is
    decided, and ends near t=0, where the last noise is removed; a pure logit-normal law
    almost never visits either.
    """
    times = torch.sigmoid(torch.randn(batch, generator=generator))
    if uniform_share > 0:
        uniform = torch.rand(batch, generator=generator) < uniform_share
        times = torch.where(uniform, torch.rand(batch, generator=generator), times)
    return times


def flow_matching_loss(
    unet: torch.nn.Module,
    clean: torch.Tensor,
    embeddings: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator,
    uniform_time_share: float = UNIFORM_TIME_SHARE,
) -> torch.Tensor:
    """Mean squared error of the predicted velocity from noise to image (rectified flow)."""
    text = condition_text(unet, embeddings, mask)
    return velocity_loss(unet, clean, text, mask, generator, uniform_time_share)


def velocity_loss(
    unet: torch.nn.Module,
    clean: torch.Tensor,
    text: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator,
    uniform_time_share: float = UNIFORM_TIME_SHARE,
) -> torch.Tensor:
    """flow_matching_loss on text tokens already through the adapter (to reuse them)."""
    noise = torch.randn(clean.shape, generator=generator)
    t = sample_times(clean.shape[0], generator, uniform_time_share)
    noisy = (1 - t.view(-1, 1, 1, 1)) * clean + t.view(-1, 1, 1, 1) * noise
    target = noise - clean
    predicted = predict_velocity(unet, noisy, t, text, mask)
    return F.mse_loss(predicted, target)


@torch.no_grad()
def sample_layouts(
    unet: torch.nn.Module,
    embeddings: torch.Tensor,
    mask: torch.Tensor,
    empty_embeddings: torch.Tensor,
    empty_mask: torch.Tensor,
    *,
    steps: int,
    guidance: float,
    generators: list[torch.Generator],
    on_step: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Euler steps from noise (t=1) to image (t=0), with classifier-free guidance."""
    batch = embeddings.shape[0]
    shape = (CHANNELS, LAYOUT_SIZE // FOLD, LAYOUT_SIZE // FOLD)
    x = torch.stack([torch.randn(shape, generator=g) for g in generators])
    both_mask = torch.cat([mask, empty_mask.expand(batch, -1)])
    both_embeddings = condition_text(
        unet, torch.cat([embeddings, empty_embeddings.expand(batch, -1, -1)]), both_mask
    )
    times = torch.linspace(1.0, 0.0, steps + 1)
    for index in range(steps):
        t, t_next = times[index], times[index + 1]
        velocity = predict_velocity(
            unet, torch.cat([x, x]), torch.full((2 * batch,), float(t)), both_embeddings, both_mask
        )
        conditional, unconditional = velocity.chunk(2)
        guided = unconditional + guidance * (conditional - unconditional)
        x = x + (t_next - t) * guided
        if on_step is not None:
            on_step(index + 1)
    return x
