"""DMFN (Dense Multi-scale Fusion Network) as FusionPaint runs it: its spec, how to build it and how to run it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.model_spec import HARD_ALPHA, ModelSpec, register_model
from resources import WEIGHTS_DIR

if TYPE_CHECKING:
    import torch


def _build() -> torch.nn.Module:
    from engine.networks.dmfn import DMFNGenerator

    return DMFNGenerator()


def _forward(network, image, hole, fill):
    """The generator's prediction (DMFN has no learned alpha); ``fill``: the pre-filled hole or None."""
    return network(image, hole, fill=fill).prediction, None


register_model(ModelSpec(
    name="dmfn",
    title="DMFN (Dense Multi-scale Fusion Network)",
    arch="dmfn",
    license="FusionPaint weights: trained by the FusionPaint project (none shipped yet)",
    training_data="none shipped yet",
    paper="Hui et al., Image Fine-grained Inpainting, 2020",
    value_range=(-1.0, 1.0),
    size_multiple=4,
    native_size=256,
    weights_file=WEIGHTS_DIR / "dmfn.safetensors",
    working_bytes_per_pixel=1000,
    rank=30,
    alpha_meaning=HARD_ALPHA,
    seam_band_px=0,  # trained on the hard composite: its output outside the hole is never supervised
    build=_build,
    forward=_forward,
))
