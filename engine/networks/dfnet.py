"""DFNet generator: a U-Net whose 6 shallowest decoder layers end in fusion blocks.

Paper: Xin Hong, Pengfei Xiong, Renhe Ji, Haoqiang Fan, "Deep Fusion Network for Image Completion",
ACM Multimedia 2019. Upstream repository: https://github.com/hughplay/DFNet (its pretrained weights are
licensed CC BY-NC 4.0; FusionPaint ships none of them). This is an independent implementation of the
paper's official configuration (32,880,504 parameters).

Tensors are NCHW float. Image: RGB in [0, 1]. Hole: (N, 1, H, W), 1 = pixel to fill, 0 = known.
The network input is [image with the hole zeroed (3), hole (1)]: the mask channel is the *hole* mask
(1 = hole). The upstream code feeds the opposite (1 = known) mask, so its weights would need the mask
channel's input filters negated (and that sign folded into the biases) to be used here.
A departure open to FusionPaint's own weights: the hole may be pre-filled by a classical fill instead of
zeros (``fill``); the fusion blocks then blend the raw completion over that fill.
H and W must be multiples of 256 (8 stride-2 encoder layers).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.networks.common import check_image_and_hole, zero_hole

SIZE_MULTIPLE = 256
NUM_FUSION = 6
_ENCODER_KERNELS = (7, 5, 5, 3, 3, 3, 3, 3)
_ENCODER_CHANNELS = (64, 128, 256, 512, 512, 512, 512, 512)
_IN_CHANNELS = 4


class DFNetOutput(NamedTuple):
    """Lists of 6 tensors, finest (full resolution) first; scale k is 1/2**k of the input size.

    results[k] (N,3,h,w) = alphas[k] * raws[k] + (1 - alphas[k]) * image_k, image_k being the
    hole-zeroed input at that scale (see `image_pyramid`). alphas[k] (N,3,h,w) RGB composition weights
    in [0, 1] (1 = take the raw completion). raws[k] (N,3,h,w) RGB raw completion in [0, 1].
    With `finest_only=True` each list holds only the full-resolution tensor.
    """

    results: list[Tensor]
    alphas: list[Tensor]
    raws: list[Tensor]


def image_pyramid(image: Tensor, levels: int) -> list[Tensor]:
    """Return `levels` images, finest (the input itself) first, each a 2x2 box average of the previous.

    This is the resizing the fusion blocks use for image_k; use it for per-scale targets as well.
    """
    pyramid = [image]
    for _ in range(levels - 1):
        pyramid.append(F.avg_pool2d(pyramid[-1], 2))
    return pyramid


class _EncoderLayer(nn.Module):
    """Stride-2 "same" conv; BatchNorm + ReLU unless it is the first layer."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, norm_act: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride=2, padding=kernel // 2)
        self.bn = nn.BatchNorm2d(out_ch) if norm_act else None

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = F.relu(self.bn(x), inplace=True)
        return x


class _DecoderLayer(nn.Module):
    """Nearest 2x upsample, concatenate [upsampled, skip], 3x3 conv, BatchNorm, LeakyReLU(0.2).

    Computed without building the upsampled tensor or the concatenation: a 3x3 conv of a nearest-upsampled
    map equals, for each of the 4 output phases (row parity a, column parity b), a 2x2 conv of the
    low-resolution map with summed taps. The weight stays one (out, in + skip, 3, 3) conv weight.
    """

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int) -> None:
        super().__init__()
        self.in_ch = in_ch
        self.conv = nn.Conv2d(in_ch + skip_ch, out_ch, 3, padding=1)
        self.bn = nn.BatchNorm2d(out_ch)

    def _phase_weight(self) -> Tensor:
        """(4*out, in, 2, 2) weight, phases ordered (a, b) = (0,0), (0,1), (1,0), (1,1)."""
        w = self.conv.weight[:, : self.in_ch]
        rows = (
            torch.stack((w[:, :, 0], w[:, :, 1] + w[:, :, 2]), 2),
            torch.stack((w[:, :, 0] + w[:, :, 1], w[:, :, 2]), 2),
        )
        phases = []
        for wr in rows:  # wr: (out, in, 2, 3), rows already merged for this row parity
            phases.append(torch.stack((wr[..., 0], wr[..., 1] + wr[..., 2]), -1))
            phases.append(torch.stack((wr[..., 0] + wr[..., 1], wr[..., 2]), -1))
        return torch.cat(phases, 0)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        n, _, h, w = x.shape
        out_ch = self.conv.out_channels
        y = F.conv2d(skip, self.conv.weight[:, self.in_ch :], self.conv.bias, padding=1)
        phases = F.conv2d(x, self._phase_weight(), padding=1)  # (N, 4*out, h+1, w+1)
        y6 = y.view(n, out_ch, h, 2, w, 2)
        for i, (a, b) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            y6[:, :, :, a, :, b] += phases[:, i * out_ch : (i + 1) * out_ch, a : a + h, b : b + w]
        return F.leaky_relu(self.bn(y), 0.2, inplace=True)


class FusionBlock(nn.Module):
    """raw = sigmoid(1x1 conv(features)); alpha = sigmoid(A([image_k, raw]));
    result = alpha*raw + (1-alpha)*image_k. All three (N,3,h,w) in [0,1].

    A = 1x1 conv 6->32, BN, LeakyReLU(0.2), 3x3 conv 32->3, BN, LeakyReLU(0.2), 1x1 conv 3->3.
    """

    def __init__(self, feat_ch: int) -> None:
        super().__init__()
        self.raw = nn.Conv2d(feat_ch, 3, 1)
        self.alpha1 = nn.Conv2d(6, 32, 1)
        self.alpha1_bn = nn.BatchNorm2d(32)
        self.alpha2 = nn.Conv2d(32, 3, 3, padding=1)
        self.alpha2_bn = nn.BatchNorm2d(3)
        self.alpha3 = nn.Conv2d(3, 3, 1)

    def forward(self, features: Tensor, image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """features (N,C,h,w), image (N,3,h,w) hole-zeroed RGB -> (result, alpha, raw), each (N,3,h,w)."""
        raw = torch.sigmoid(self.raw(features))
        a = self.alpha1(torch.cat((image, raw.to(image.dtype)), dim=1))
        a = F.leaky_relu(self.alpha1_bn(a), 0.2, inplace=True)
        a = F.leaky_relu(self.alpha2_bn(self.alpha2(a)), 0.2, inplace=True)
        alpha = torch.sigmoid(self.alpha3(a))
        result = image + alpha * (raw - image)  # == alpha*raw + (1-alpha)*image
        return result, alpha, raw


def fold_conv_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Fold an eval-mode BatchNorm that directly follows ``conv`` into the conv's weight and bias, in place.

    ``bn`` must track running statistics (every BatchNorm of the shipped networks does)."""
    mean, var = bn.running_mean, bn.running_var
    if mean is None or var is None:
        raise ValueError("only a BatchNorm with running statistics can be folded into a convolution")
    scale = bn.weight / torch.sqrt(var + bn.eps)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(mean)
    with torch.no_grad():
        conv.weight.mul_(scale.view(-1, 1, 1, 1))
        conv.bias = nn.Parameter((bias - mean) * scale + bn.bias, requires_grad=False)


class DFNet(nn.Module):
    """DFNet official configuration: 8-level U-Net, fusion blocks on the 6 shallowest decoder outputs."""

    #: On the CPU, channels_last with folded BatchNorm runs DFNet ~20 % faster than contiguous tensors
    #: (measured at 512x512, 2 threads: 0.20 s vs 0.25 s); DMFN's InstanceNorm is slower in channels_last.
    channels_last_on_cpu = True

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.ModuleList()
        in_ch = _IN_CHANNELS
        skip_channels = []
        for i, (kernel, out_ch) in enumerate(zip(_ENCODER_KERNELS, _ENCODER_CHANNELS, strict=True)):
            skip_channels.append(in_ch)
            self.encoder.append(_EncoderLayer(in_ch, out_ch, kernel, norm_act=i > 0))
            in_ch = out_ch
        self.decoder = nn.ModuleList()
        for skip_ch in reversed(skip_channels):
            out_ch = skip_ch  # each decoder layer returns to its skip's channel count: 512 ... 64, 4
            self.decoder.append(_DecoderLayer(in_ch, skip_ch, out_ch))
            in_ch = out_ch
        # fusion[0] sits on the last (full-resolution) decoder layer, fusion[5] on the 6th from last.
        fused_channels = list(reversed(skip_channels))[-NUM_FUSION:]
        self.fusion = nn.ModuleList(FusionBlock(ch) for ch in reversed(fused_channels))

    def fold_batchnorm(self) -> DFNet:
        """Fold every BatchNorm into the conv before it, for inference only (eval mode; outputs equal to float
        rounding). The model can no longer be trained afterwards. Returns self."""
        pairs = [(layer.conv, layer.bn) for layer in (*self.encoder, *self.decoder) if layer.bn is not None]
        pairs += [(b.alpha1, b.alpha1_bn) for b in self.fusion] + [(b.alpha2, b.alpha2_bn) for b in self.fusion]
        for conv, bn in pairs:
            if isinstance(bn, nn.BatchNorm2d):
                fold_conv_batchnorm(conv, bn)
        for layer in (*self.encoder, *self.decoder):
            if layer.bn is not None:
                layer.bn = nn.Identity()
        for block in self.fusion:
            block.alpha1_bn, block.alpha2_bn = nn.Identity(), nn.Identity()
        return self.eval()

    def forward(
        self, image: Tensor, hole: Tensor, *, fill: Tensor | None = None, finest_only: bool = False
    ) -> DFNetOutput:
        """image (N,3,H,W) RGB in [0,1] (not yet zeroed), hole (N,1,H,W) 1 = hole; H, W multiples of 256.

        fill: None (the paper: the hole is zeroed) or (N,3,H,W) RGB in [0,1], a classical completion whose hole
        pixels replace the zeros, for weights trained that way. finest_only=True computes only the
        full-resolution fusion block (inference); its result equals element 0 of the full output.
        """
        check_image_and_hole(image, hole, SIZE_MULTIPLE, "DFNet")
        if fill is not None and fill.shape != image.shape:
            raise ValueError(f"DFNet: fill must have the image's shape {tuple(image.shape)}, got {tuple(fill.shape)}")
        zeroed, hole_bin = zero_hole(image, hole, fill)
        x = torch.cat((zeroed, hole_bin), dim=1)
        skips = []
        for layer in self.encoder:
            skips.append(x)
            x = layer(x)
        n_layers = len(self.decoder)
        features: list[Tensor] = []  # decoder outputs that feed a fusion block, coarsest first
        for i, layer in enumerate(self.decoder):
            x = layer(x, skips[n_layers - 1 - i])
            if i >= n_layers - NUM_FUSION and (not finest_only or i == n_layers - 1):
                features.append(x)
        features.reverse()
        images = [zeroed] if finest_only else image_pyramid(zeroed, NUM_FUSION)
        results, alphas, raws = [], [], []
        # with finest_only there is one feature map and one image: only fusion[0] runs
        for block, feat, img in zip(self.fusion, features, images, strict=False):
            result, alpha, raw = block(feat, img)
            results.append(result)
            alphas.append(alpha)
            raws.append(raw)
        return DFNetOutput(results, alphas, raws)

