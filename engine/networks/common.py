"""Input checks shared by the generators."""

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
