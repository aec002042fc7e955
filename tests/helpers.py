"""Small helpers shared by several test modules."""

from pathlib import Path

import numpy as np
from PIL import Image


def write_photo_folder(folder: Path, n: int = 4, size: int = 64) -> Path:
    """Write ``n`` distinct synthetic RGB photos (size x size PNG, smooth gradients) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:size, 0:size]
    for i in range(n):
        rgb = np.stack([(x * 4 + 40 * i) % 256, (y * 4) % 256, ((x + y) * 2 + 60 * i) % 256], -1)
        Image.fromarray(rgb.astype(np.uint8)).save(folder / f"photo{i}.png")
    return folder
