"""DMFN generator: one-stage encoder, 8 dense multi-scale fusion blocks (DMFB), decoder.

Paper: Zheng Hui, Jie Li, Xiumei Wang, Xinbo Gao, "Image Fine-grained Inpainting", 2020 (arXiv:2002.02609).
Upstream repository: https://github.com/Zheng222/DMFN (it states no license; FusionPaint uses none of
its code or weights). This is an independent implementation following the paper, including the K_i
combination convolutions of its Figure 2 (471,808 parameters per block, about 5.73M in all).

Tensors are NCHW float. Image: RGB in [-1, 1]. Hole: (N, 1, H, W), 1 = pixel to fill, 0 = known.
The network input is [image with the hole zeroed (3), hole (1)]. H and W must be multiples of 4.
A departure open to FusionPaint's own weights: the hole may be pre-filled by a classical fill instead of
zeros (``fill``). The network then predicts a correction to that fill (prediction = fill + last convolution, clipped
to [-1, 1]) instead of the paper's tanh of it, so that an untrained network with a zeroed output convolution returns
the classical fill and training only has to improve on it. The output keeps the photo outside the hole and the
prediction inside it either way.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.networks.common import check_image_and_hole, zero_hole

SIZE_MULTIPLE = 4
NUM_BLOCKS = 8
_DILATIONS = (1, 2, 4, 8)


class DMFNOutput(NamedTuple):
    """output (N,3,H,W) in [-1,1]: input outside the hole, prediction inside it.
    prediction (N,3,H,W) in [-1,1]: the network's image for the whole frame (tanh of the last convolution, or with a
    pre-fill the network input plus it, clipped).
    """

    output: Tensor
    prediction: Tensor


def _conv_in_relu(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2),
        nn.InstanceNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


def _up_in_relu(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1),
        nn.InstanceNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class DMFB(nn.Module):
    """Dense multi-scale fusion block (paper Fig. 2), residual; (N,256,h,w) -> (N,256,h,w).

    3x3 conv 256->64 (IN, ReLU); 3x3 convs 64->64 with dilation 1, 2, 4, 8 -> d1..d4;
    k1 = d1, k_i = K_i(k_{i-1} + d_i) for i = 2..4 (3x3 convs); concat [k1..k4] -> IN, ReLU,
    1x1 conv 256->256, IN; plus the block input.
    """

    def __init__(self, channels: int = 256, branch: int = 64) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, branch, 3, padding=1)
        self.dilated = nn.ModuleList(nn.Conv2d(branch, branch, 3, padding=d, dilation=d) for d in _DILATIONS)
        self.combine = nn.ModuleList(nn.Conv2d(branch, branch, 3, padding=1) for _ in _DILATIONS[1:])
        self.fuse = nn.Conv2d(branch * len(_DILATIONS), channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(F.instance_norm(self.reduce(x)), inplace=True)
        k = self.dilated[0](h)
        parts = [k]
        for dilated, combine in zip(self.dilated[1:], self.combine, strict=True):
            k = combine(k + dilated(h))
            parts.append(k)
        y = F.relu(F.instance_norm(torch.cat(parts, dim=1)), inplace=True)
        return x + F.instance_norm(self.fuse(y))


class DMFNGenerator(nn.Module):
    """DMFN generator: encoder to 256 channels at 1/4 size, 8 DMFBs, decoder to RGB with tanh."""

    def __init__(self, num_blocks: int = NUM_BLOCKS) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(4, 64, 5, padding=2),
            nn.ReLU(inplace=True),
            _conv_in_relu(64, 128, 3, stride=2),
            _conv_in_relu(128, 128, 3),
            _conv_in_relu(128, 256, 3, stride=2),
        )
        self.blocks = nn.Sequential(*(DMFB() for _ in range(num_blocks)))
        self.decoder = nn.Sequential(
            _conv_in_relu(256, 256, 3),
            _up_in_relu(256, 128),
            _conv_in_relu(128, 128, 3),
            _up_in_relu(128, 64),
            _conv_in_relu(64, 64, 3),
            nn.Conv2d(64, 3, 3, padding=1),
        )

    def forward(self, image: Tensor, hole: Tensor, *, fill: Tensor | None = None) -> DMFNOutput:
        """image (N,3,H,W) RGB in [-1,1] (not yet zeroed), hole (N,1,H,W) 1 = hole; H, W multiples of 4.

        fill: None (the paper: the hole is zeroed; prediction = tanh(x)) or (N,3,H,W) RGB in [-1,1], a classical
        completion whose hole pixels replace the zeros in the input and which the network corrects (prediction =
        input + x, clipped to [-1, 1]), for weights trained that way.
        """
        check_image_and_hole(image, hole, SIZE_MULTIPLE, "DMFN")
        if fill is not None and fill.shape != image.shape:
            raise ValueError(f"DMFN: fill must have the image's shape {tuple(image.shape)}, got {tuple(fill.shape)}")
        zeroed, hole_bin = zero_hole(image, hole)
        network_input = zeroed if fill is None else zero_hole(image, hole, fill)[0]
        x = self.decoder(self.blocks(self.encoder(torch.cat((network_input, hole_bin), dim=1))))
        prediction = torch.tanh(x) if fill is None else (network_input + x).clamp(-1.0, 1.0)
        return DMFNOutput(zeroed + prediction * hole_bin, prediction)

    def zero_output(self) -> None:
        """Set the last convolution's weights and bias to zero: with a pre-fill the network then returns the fill
        (training from random initialisation starts at the classical fill's quality), without one mid-grey."""
        last = self.decoder[-1]
        assert isinstance(last, nn.Conv2d) and last.bias is not None  # the 64 -> 3 convolution, with a bias
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

