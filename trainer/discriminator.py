"""DMFN's global + local discriminator (Hui et al. 2020, section 3.3 and Figure 3; after Iizuka et al. 2017).

Global branch: six 5x5 stride-2 convs (64, 128, 256, 512, 512, 512 channels), each BatchNorm +
LeakyReLU(0.2), on the whole 256x256 image -> 512x4x4 -> linear 512. Local branch: five such convs
(64, 128, 256, 512, 512) on a 128x128 patch around the hole -> 512x4x4 -> linear 512. The two 512-vectors
are concatenated, passed through LeakyReLU(0.2) and a linear layer to one logit (no sigmoid: the RaGAN
loss works on logits). The five local activations are returned for the discriminator feature-matching
loss. Images are RGB in [-1, 1].

Departure, for training at smaller crops first: each branch average-pools its last activation to 4x4 before
the linear layer (an identity at the paper's 256 px), so the same weights also judge 128 px images with 64 px
local patches (last activations 2x2, spread to 4x4).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

GLOBAL_CHANNELS = (64, 128, 256, 512, 512, 512)
LOCAL_CHANNELS = (64, 128, 256, 512, 512)
PAPER_SIZE = 256
"""Side of the images the paper's discriminator judges, pixels; any multiple of `SIZE_MULTIPLE` works."""
SIZE_MULTIPLE = 64
"""Image sides must be multiples of this (the global branch's six stride-2 convs halve it six times)."""
FC_SIDE = 4
"""Side of each branch's last activation as the linear layer reads it (the paper's, at 256 px)."""


class _Branch(nn.Module):
    """Stack of 5x5 stride-2 conv + BN + LeakyReLU(0.2), then flatten and linear to 512."""

    def __init__(self, channels: tuple[int, ...]) -> None:
        super().__init__()
        layers = []
        in_ch = 3
        for ch in channels:
            layers.append(
                nn.Sequential(
                    nn.Conv2d(in_ch, ch, 5, stride=2, padding=2),
                    nn.BatchNorm2d(ch),
                    nn.LeakyReLU(0.2, inplace=True),
                )
            )
            in_ch = ch
        self.layers = nn.ModuleList(layers)
        self.pool = nn.AdaptiveAvgPool2d(FC_SIDE)
        self.fc = nn.Linear(in_ch * FC_SIDE * FC_SIDE, 512)

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return self.fc(self.pool(x).flatten(1)), feats


class DMFNDiscriminator(nn.Module):
    """``forward(image (N,3,S,S), local (N,3,S/2,S/2))`` in [-1, 1] -> (logits (N, 1), local_feats); S a multiple
    of `SIZE_MULTIPLE` (the paper: 256).

    local_feats: the 5 local-branch activations, at S = 256 (N,64,64,64), (N,128,32,32), (N,256,16,16),
    (N,512,8,8), (N,512,4,4).
    """

    def __init__(self) -> None:
        super().__init__()
        self.global_branch = _Branch(GLOBAL_CHANNELS)
        self.local_branch = _Branch(LOCAL_CHANNELS)
        self.head = nn.Sequential(nn.LeakyReLU(0.2), nn.Linear(1024, 1))

    def forward(self, image: Tensor, local: Tensor) -> tuple[Tensor, list[Tensor]]:
        side = image.shape[-1] if image.ndim == 4 else 0
        if image.ndim != 4 or image.shape[1:] != (3, side, side) or side == 0 or side % SIZE_MULTIPLE:
            raise ValueError(f"DMFNDiscriminator: image must be (N, 3, S, S) with S a multiple of {SIZE_MULTIPLE}, "
                             f"got {tuple(image.shape)}")
        if local.ndim != 4 or local.shape[1:] != (3, side // 2, side // 2):
            raise ValueError(f"DMFNDiscriminator: local must be (N, 3, {side // 2}, {side // 2}) for a {side} px "
                             f"image, got {tuple(local.shape)}")
        g, _ = self.global_branch(image)
        loc, feats = self.local_branch(local)
        return self.head(torch.cat([g, loc], dim=1)), feats


def hole_centers(hole: Tensor) -> Tensor:
    """Centre (row, column) of each hole's bounding box: (N, 1, H, W) {0,1} -> int64 (N, 2) on the CPU.

    An empty hole gives the image centre.
    """
    if hole.ndim != 4 or hole.shape[1] != 1:
        raise ValueError(f"hole must be (N, 1, H, W), got {tuple(hole.shape)}")
    n, _, h, w = hole.shape
    m = hole[:, 0] > 0.5
    rows_any, cols_any = m.any(dim=2), m.any(dim=1)  # (N, H), (N, W)
    r_idx = torch.arange(h, device=hole.device)
    c_idx = torch.arange(w, device=hole.device)
    big = max(h, w) + 1
    r0 = torch.where(rows_any, r_idx, big).min(dim=1).values
    r1 = torch.where(rows_any, r_idx, -1).max(dim=1).values
    c0 = torch.where(cols_any, c_idx, big).min(dim=1).values
    c1 = torch.where(cols_any, c_idx, -1).max(dim=1).values
    centers = torch.stack([(r0 + r1 + 1) // 2, (c0 + c1 + 1) // 2], dim=1).cpu()
    empty = ~rows_any.any(dim=1).cpu()
    centers[empty] = torch.tensor([h // 2, w // 2])
    return centers


def local_patches(images: Tensor, hole: Tensor, size: int) -> Tensor:
    """Square crops of side ``size`` centred on each hole's bounding-box centre, clamped inside the image.

    images (N, C, H, W) (any range), hole (N, 1, H, W) 1 = hole -> (N, C, size, size). Use the same hole for
    the real and the completed images so both crops cover the same pixels. H, W must be >= size.
    """
    if images.ndim != 4 or hole.shape[0] != images.shape[0] or hole.shape[2:] != images.shape[2:]:
        raise ValueError(f"images {tuple(images.shape)} and hole {tuple(hole.shape)} do not match")
    _, _, h, w = images.shape
    if h < size or w < size:
        raise ValueError(f"local_patches: images {h}x{w} are smaller than the patch size {size}")
    crops = []
    for i, (cy, cx) in enumerate(hole_centers(hole).tolist()):
        y0 = min(max(cy - size // 2, 0), h - size)
        x0 = min(max(cx - size // 2, 0), w - size)
        crops.append(images[i, :, y0 : y0 + size, x0 : x0 + size])
    return torch.stack(crops)
