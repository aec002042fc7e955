"""DFNet (Deep Fusion Network) as FusionPaint runs it: its spec, how to build it and how to run it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.model_spec import NetworkSpec, register_model
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


register_model(NetworkSpec(
    name="dfnet",
    title="DFNet (Deep Fusion Network)",
    arch="dfnet",
    license="FusionPaint's own weights, trained on research photo sets: research and non-commercial use only "
            "(resources/weights/dfnet.md)",
    training_data="1,400 research photos (BSDS500, ImageNet samples, Urban100, Sun-Hays80, Set14), 256 px, "
                  "procedural 0-60 % holes; see resources/weights/dfnet.md",
    paper="Hong et al., Deep Fusion Network for Image Completion, ACM MM 2019",
    value_range=(0.0, 1.0),
    size_multiple=256,
    native_size=512,
    alpha_learned=True,
    alpha_meaning="learned composition map: the finest fusion block's 3-channel alpha; 1 = the network's output, "
                  "0 = the photo outside the hole and the classical pre-fill inside it",
    weights_file=WEIGHTS_DIR / "dfnet.safetensors",
    sha256="295b3e9992ba172ff6d63f799820b0a24d21df5abc4babe0afbfe9cc5dd2bcab",
    # trained on OpenCV Telea's fill of the hole (a departure from the paper), run on PatchMatch's: its learned alpha
    # keeps PatchMatch's texture where it fits, better than PatchMatch alone in every metric and bin (see the card)
    input_fill="patchmatch",
    working_bytes_per_pixel=400,
    cpu_bf16=True,  # shipped weights' bf16 error: mean 0.25 / max 2.7 of 255 in the sample's hole (docs/benchmarks.md)
    rank=5,  # the default: the best VGG distance, L1, PSNR and SSIM of every model in every bin on val (docs/models.md)
    build=_build,
    forward=_forward,
))
