"""Training previews: one image of a step's batch - per sample the input (hole grey), the result, the alpha (DMFN:
the hole) and the original - written into the run folder's ``previews``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from engine.imageio import save_image
from trainer.arches import Preview


def preview_grid(images: Tensor, holes: Tensor, result: Tensor, alpha: Tensor, max_rows: int = 4) -> np.ndarray:
    """uint8 (rows*S, 4*S, 3) RGB: per sample input (hole grey) | result | alpha (DMFN: the hole) | ground truth.

    images, result, alpha: (N,3,S,S) in [0,1]; holes (N,1,S,S) 1 = hole.
    """
    n = min(max_rows, images.shape[0])
    grey = torch.full_like(images[:n], 0.5)
    hole = holes[:n].expand(-1, 3, -1, -1)
    shown_input = torch.where(hole > 0.5, grey, images[:n])
    cols = [shown_input, result[:n], alpha[:n], images[:n]]
    rows = torch.cat([torch.cat([c[i] for c in cols], dim=2) for i in range(n)], dim=1)
    return (rows.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


def write_preview(preview: Preview, run_dir: Path, step: int) -> Path:
    """Write the `preview_grid` of ``preview`` (tensors on any device, any float dtype) as
    ``run_dir/previews/step_NNNNNNN.png``; return its path."""
    images, holes, result, alpha = (t.detach().float().cpu() for t in preview)
    grid = preview_grid(images, holes, result, alpha)
    path = run_dir / "previews" / f"step_{step:07d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(path, grid)
    return path
