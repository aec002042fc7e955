"""Side-by-side montages of models' fills on a fixed list of evaluation pairs (``fusionpaint gallery``).

The pairs are `trainer.evaluate.eval_set`'s (the same photos, mask files or lasso holes, size and pairing as
``fusionpaint evaluate``), taken round-robin over its bins: the first pair of every bin in order, then the second,
..., and of that sequence the first ``pairs``. Each model runs as in evaluate (`engine.registry.load_model`,
`engine.pipeline.inpaint`) and each result is scored with `trainer.evaluate.score_pair`.

Each pair gives one PNG row ``pair_NN.png``: the photo with the hole tinted magenta, each model's result, the photo;
every tile has a caption strip above it with its name and, for results, that pair's Gram distance (G, lower is
better) and sharpness (S, 1 = as sharp as the photo). ``index.md`` lists the rows in order with their bin, photo,
hole source and scores. Every file is written atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from engine.device import resolve_device
from engine.files import atomic_write
from engine.imageio import save_image
from engine.pipeline import inpaint
from engine.registry import default_model_name, load_model
from trainer.evaluate import DEFAULT_SIZE, EvalPair, EvalSet, FeatureScores, eval_set, score_pair

HOLE_TINT = (255, 0, 255)
"""RGB the hole is tinted with on the first tile (half and half with the photo)."""
GAP_PX = 4
BACKGROUND = (24, 24, 24)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def default_models() -> list[str]:
    """The default model and PatchMatch (once if they are the same)."""
    return list(dict.fromkeys([default_model_name(), "patchmatch"]))


def pick_pairs(cases: EvalSet, count: int) -> list[EvalPair]:
    """The first ``count`` pairs of ``cases`` taken round-robin over the bins (see the module docstring)."""
    by_bin: dict[str, list[EvalPair]] = {}
    for pair in cases.pairs:
        by_bin.setdefault(pair.bin, []).append(pair)
    picked: list[EvalPair] = []
    for j in range(max((len(v) for v in by_bin.values()), default=0)):
        picked += [items[j] for items in by_bin.values() if j < len(items)]
    return picked[:count]


def _fit(text: str, width: int, scale: float) -> str:
    """``text`` shortened with "..." until it fits ``width`` pixels."""
    while len(text) > 4 and cv2.getTextSize(text, FONT, scale, 1)[0][0] > width:
        text = text[: len(text) - 4] + "..."
    return text


def label_tile(rgb: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """uint8 (strip + H, W, 3): ``rgb`` under a dark strip holding ``lines`` in white (sized to the tile)."""
    width = rgb.shape[1]
    scale = max(0.35, width / 600)
    line_h = int(cv2.getTextSize("Ag", FONT, scale, 1)[0][1] * 1.9) + 2
    strip = np.full((line_h * 2 + 4, width, 3), BACKGROUND, np.uint8)
    for i, text in enumerate(lines[:2]):
        cv2.putText(strip, _fit(text, width - 8, scale), (4, line_h * (i + 1) - 3), FONT, scale, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return np.concatenate([strip, rgb], axis=0)


def tinted(photo: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The photo with the hole half tinted `HOLE_TINT`: uint8 (H, W, 3) RGB."""
    out = photo.copy()
    out[hole] = (photo[hole].astype(np.uint16) + np.array(HOLE_TINT, np.uint16)) // 2
    return out


def montage_row(tiles: Sequence[np.ndarray]) -> np.ndarray:
    """Tiles of one height side by side with `GAP_PX` gaps: uint8 RGB."""
    gap = np.full((tiles[0].shape[0], GAP_PX, 3), BACKGROUND, np.uint8)
    parts: list[np.ndarray] = []
    for tile in tiles:
        parts += [tile, gap]
    return np.concatenate(parts[:-1], axis=1)


def _short(name: str) -> str:
    """A model's caption: its name, or a weights file's stem."""
    path = Path(name)
    return path.stem if path.suffix in (".safetensors", ".pt", ".pth") else name


def gallery(
    models: Sequence[str],
    images_dir: str | Path,
    masks_dir: str | Path | None = None,
    *,
    out_dir: str | Path,
    lasso: bool = False,
    masks_per_photo: int | None = None,
    size: int | None = None,
    pairs: int = 8,
    device: str = "auto",
    progress: Callable[[float, str], None] | None = None,
) -> list[Path]:
    """Write the rows and ``index.md`` of the module docstring into ``out_dir`` (created); return the files written.

    Raises ValueError for unusable photos, masks or options (`trainer.evaluate.eval_set`), ModelUnavailable or
    WeightsError for a model that cannot be loaded (before any work), WriteError when a file cannot be written.
    """
    out = Path(out_dir)
    names = list(dict.fromkeys(models)) or default_models()
    loaded = [(name, load_model(name, device=device)) for name in names]
    cases = eval_set(images_dir, masks_dir, lasso=lasso, masks_per_photo=masks_per_photo,
                     size=DEFAULT_SIZE if size is None else size)
    chosen = pick_pairs(cases, pairs)
    features = FeatureScores(resolve_device(device))
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    index_rows: list[str] = []
    for n, pair in enumerate(chosen, start=1):
        photo = cases.photos[pair.photo]
        tiles = [label_tile(tinted(photo, pair.hole), ["input (hole tinted)", f"bin {pair.bin}"])]
        cells = []
        for m, (name, model) in enumerate(loaded):
            result = inpaint(photo, pair.hole, model).image
            scores = score_pair(result, photo, pair.hole, features)
            g, s = scores["gram_dist"], scores["sharpness"]
            tiles.append(label_tile(result, [_short(name), f"G {g:.3f}  S {s:.3f}"]))
            cells.append(f"{g:.3f} / {s:.3f}")
            if progress is not None:
                progress((n - 1 + (m + 1) / len(loaded)) / len(chosen), f"pair {n}: {name}")
        tiles.append(label_tile(photo, ["original", cases.photo_paths[pair.photo].name]))
        path = out / f"pair_{n:02d}.png"
        save_image(path, montage_row(tiles))
        written.append(path)
        index_rows.append(f"| [{path.name}]({path.name}) | {pair.bin} | {cases.photo_paths[pair.photo]} | "
                          f"{pair.source} | " + " | ".join(cells) + " |")
    head = "| row | bin | photo | hole | " + " | ".join(f"{_short(n)} G / S" for n in names) + " |"
    text = "\n".join([
        f"# Gallery: {len(chosen)} pairs at {cases.size} px", "",
        f"Pairing: {cases.pairing}; rows round-robin over the bins. G: Gram distance of VGG19 texture statistics in "
        "the hole (0 = the photo's, lower is better); S: sharpness, Laplacian energy in the hole over the photo's "
        "(1 = as sharp, < 1 blurred, > 1 noisier).", "",
        head, "|---" * (head.count("|") - 1) + "|", *index_rows, "",
        *(f"![{p.stem}]({p.name})\n" for p in written),
    ])
    index = out / "index.md"
    atomic_write(index, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return [*written, index]
