"""DFNet (Deep Fusion Network) as FusionPaint runs it: its spec, how to build it and how to run it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.model_spec import ModelSpec, register_model
from resources import WEIGHTS_DIR

if TYPE_CHECKING:
    import torch


def _build() -> torch.nn.Module:
    from engine.networks.dfnet import DFNet

    return DFNet()


def _forward(network, image, hole, fill):
    """The finest fusion block's raw completion and learned alpha (the coarser scales only matter in training)."""
    out = network(image, hole, fill=fill, finest_only=True)
    return out.raws[0], out.alphas[0]


register_model(ModelSpec(
    name="dfnet",
    title="DFNet (Deep Fusion Network)",
    arch="dfnet",
    license="FusionPaint weights: trained by the FusionPaint project (none shipped yet)",
    training_data="none shipped yet",
    paper="Hong et al., Deep Fusion Network for Image Completion, ACM MM 2019",
    value_range=(0.0, 1.0),
    size_multiple=256,
    native_size=512,
    alpha_learned=True,
    alpha_meaning="learned 3-channel alpha composition map of the finest fusion block (1 = network output)",
    weights_file=WEIGHTS_DIR / "dfnet.safetensors",
    working_bytes_per_pixel=400,
    rank=20,  # below PatchMatch until trained weights beat it on the validation photos
    build=_build,
    forward=_forward,
))
