"""DMFN (Dense Multi-scale Fusion Network) as FusionPaint runs it: its spec, how to build it and how to run it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.model_spec import NetworkSpec, register_model
from resources import WEIGHTS_DIR

if TYPE_CHECKING:
    import torch


def _build() -> torch.nn.Module:
    from engine.networks.dmfn import DMFNGenerator

    return DMFNGenerator()


def _forward(network, image, hole, fill):
    """The generator's prediction (DMFN has no learned alpha); ``fill``: the pre-filled hole or None."""
    return network(image, hole, fill=fill).prediction, None


register_model(NetworkSpec(
    name="dmfn",
    title="DMFN (Dense Multi-scale Fusion Network)",
    arch="dmfn",
    license="FusionPaint's own weights, trained on research photo sets: research and non-commercial use only "
            "(resources/weights/dmfn.md)",
    training_data="1,400 research photos (BSDS500, ImageNet samples, Urban100, Sun-Hays80, Set14), 128 px crops, "
                  "procedural 0-60 % holes; see resources/weights/dmfn.md",
    paper="Hui et al., Image Fine-grained Inpainting, 2020",
    value_range=(-1.0, 1.0),
    size_multiple=4,
    native_size=256,
    weights_file=WEIGHTS_DIR / "dmfn.safetensors",
    sha256="1862e8a8c86f25de073485c97848cab1b4ae8c210d755b7d2cb23b90a4e3abea",
    # trained on OpenCV Telea's fill of the hole (a departure from the paper); on PatchMatch's fill it misses the
    # classical fills' L1 at 20-30 % (trainer/recipes/README.md), so the editor gives it Telea's, as trained
    input_fill="telea",
    working_bytes_per_pixel=1000,
    cpu_bf16=True,  # shipped weights' bf16 error: mean 0.07 / max 0.8 of 255 in the sample's hole (docs/benchmarks.md)
    rank=30,  # after DFNet and PatchMatch: the best L1, PSNR and SSIM on val, a worse VGG distance (docs/models.md)
    seam_band_px=0,  # trained on the hard composite: its output outside the hole is never supervised
    build=_build,
    forward=_forward,
))
