"""Input checks and hole handling shared by the generators."""

import torch
from torch import Tensor


def check_image_and_hole(image: Tensor, hole: Tensor, size_multiple: int, model: str) -> None:
    """Raise ValueError unless image is (N, 3, H, W), hole is (N, 1, H, W) and H, W are multiples of
    ``size_multiple``; ``model`` names the network in the message."""
    if image.dim() != 4 or image.shape[1] != 3:
        raise ValueError(f"{model}: image must be (N,3,H,W), got {tuple(image.shape)}")
    n, _, h, w = image.shape
    if tuple(hole.shape) != (n, 1, h, w):
        raise ValueError(f"{model}: hole must be ({n},1,{h},{w}), got {tuple(hole.shape)}")
    if h % size_multiple or w % size_multiple:
        raise ValueError(f"{model}: height and width must be multiples of {size_multiple}, got {h}x{w}")


def zero_hole(image: Tensor, hole: Tensor, fill: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Return (image with hole pixels set to 0, or to ``fill`` where given, binary hole mask 0/1 in image's dtype);
    hole > 0.5 = hole. fill: (N, 3, H, W) like image (same value range), only its hole pixels are used."""
    hole_bool = hole > 0.5
    known = image.masked_fill(hole_bool, 0.0) if fill is None else torch.where(hole_bool, fill.to(image.dtype), image)
    return known, hole_bool.to(image.dtype)
