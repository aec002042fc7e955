"""Measure models on photo + hole-mask pairs, per hole-ratio bin, beside the classical OpenCV baselines; and the
held-out comparison that ends a fine-tune (:func:`held_out_pairs`, :func:`compare_on_pairs`, :func:`judge`).

Pairing (fixed, documented so numbers are comparable between runs), built by :func:`eval_set`:

- Photos: every supported file under ``images_dir`` (recursive, sorted by path; unreadable ones are skipped
  and listed). Each is centre-cropped to a square (the short side) and resized to ``size`` x ``size``
  (default 256; area filter when shrinking, bicubic when enlarging).
- Masks (the stroke set, ``masks_dir``): every supported file under ``masks_dir``. A mask inside a folder named
  like "20-30" belongs to that bin (hole ratio 20-30 %); any other mask is binned by its measured hole ratio in
  10 % steps ("00-10" ... "90-100"). Masks are resized to ``size`` (nearest neighbour); white (> 127) = hole.
  Within a bin, masks are sorted by path and the j-th mask goes with photo number ``j mod n_photos``, so
  every bin uses the same photos in the same order.
- Lassos (the object-removal set, ``lasso=True``, no mask files): for every bin of `LASSO_BINS` ("03-08", "08-15",
  "15-25": % of the photo) and every photo i (in order), ``masks_per_photo`` holes k = 0.. drawn by
  `trainer.masks.lasso_mask` from ``numpy.random.default_rng([LASSO_SEED, i, bin number, k])``: the area is uniform
  in the bin's range, then the shape (rasterisation adds about 2 % to the area at 256 px). Every bin thus uses the
  same photos, and a photo's holes do not depend on the other photos or on ``limit``.
- ``limit`` caps the number of pairs per bin (the first ones in that order).

Each model runs through `engine.registry.load_model` and `engine.pipeline.inpaint` (the path users get) and
the result is scored against the original (:func:`score_pair`) with `engine.metrics`: L1 (% of 0..255, whole image),
PSNR (dB, whole image), SSIM (whole image), BPE (% of 0..255, 8-px band inside the hole boundary), the same
L1/PSNR/SSIM over the hole only, sharpness (`engine.metrics.sharpness`: Laplacian energy of the result in the hole
over the photo's, 1 = as sharp, < 1 blurred, > 1 noisier; a bin's value is the ratio of its mean energies,
`engine.metrics.mean_sharpness`), and two measures on ImageNet VGG19 features of result and photo from one pass:

- "vgg_dist", a perceptual distance that stands in for LPIPS offline (LPIPS needs downloaded weights): for
  relu1_1..relu5_1, features are unit-normalised along the channels, squared differences are summed over channels
  and averaged over positions (whole image); the five layer values are averaged. 0 = identical; it is not
  comparable with published LPIPS numbers.
- "gram_dist", a texture-statistics distance over the hole only (:func:`masked_gram_distance`): for relu1_1,
  relu2_1, relu3_1 and relu4_1 the hole is area-downsampled to the layer's grid and the positions at least half
  in the hole are kept; over them G = F^T F / n (channels x channels, n positions) for result and photo, and the
  layer's distance is the relative Frobenius norm ||G_result - G_photo|| / ||G_photo||; the layers' values are
  averaged (layers with no such position left out). 0 = the same statistics, lower is better; a fill whose
  features are all zero scores 1, and a fill can score above 1. Unlike the pixel metrics it does not reward a
  smooth average: a plausible texture that is not the photo's scores better than a flat fill.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine import metrics
from engine.device import resolve_device
from engine.errors import FusionPaintError, ImageError, ModelUnavailable, WeightsError
from engine.imageio import load_image
from engine.masks_io import load_mask
from engine.model_spec import ClassicalSpec
from engine.pipeline import inpaint
from engine.registry import get_spec, load_model
from trainer.arches import recipe_for
from trainer.config import MIN_PHOTO_SIDE
from trainer.data import list_photos
from trainer.masks import hole_ratio, lasso_mask, list_mask_files
from trainer.vgg import VGG19Features

BASELINES = ("opencv-telea", "opencv-ns")
DEFAULT_SIZE = 256
MIN_SIZE = 16
MAX_SIZE = 2048
"""Range of the evaluation size, px: the VGG19 features of one pair at 2048 px take about 4 GB."""
BIN_PATTERN = re.compile(r"^(\d{1,3})-(\d{1,3})$")
VGG_DIST_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
GRAM_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
LASSO_BINS = (("03-08", 0.03, 0.08), ("08-15", 0.08, 0.15), ("15-25", 0.15, 0.25))
"""(bin name, lowest, highest area as a share of the photo) of the lasso set."""
LASSO_SEED = 20250301
"""Seed of the lasso set (see the module docstring)."""

METRICS: dict[str, str] = {
    "l1_percent": "L1, % of 0..255, whole image (lower is better)",
    "psnr": "PSNR, dB, whole image (higher is better)",
    "ssim": "SSIM, whole image (higher is better)",
    "bpe": "Boundary Pixels Error, % of 0..255, 8-px band inside the hole boundary (lower is better)",
    "vgg_dist": "VGG19 feature distance, offline stand-in for LPIPS, not comparable with LPIPS (lower is better)",
    "l1_percent_hole": "L1, % of 0..255, hole pixels only (lower is better)",
    "psnr_hole": "PSNR, dB, hole pixels only (higher is better)",
    "ssim_hole": "SSIM, hole pixels only (higher is better)",
    "gram_dist": "VGG19 Gram-matrix (texture statistics) distance, hole only, 0 = same statistics (lower is better)",
    "sharpness": "Laplacian energy in the hole over the photo's: 1 = as sharp, < 1 blurred, > 1 noisier",
    "lap_energy": "mean squared Laplacian of the result's grey image in the hole (eroded 1 px), grey levels^2",
    "lap_energy_true": "the same for the photo (the reference of sharpness)",
}
"""Every per-pair metric in the report, with its unit and direction."""

TABLE_COLUMNS = (("l1_percent", "L1 %"), ("psnr", "PSNR"), ("ssim", "SSIM"), ("bpe", "BPE %"), ("vgg_dist", "VGG-d*"),
                 ("gram_dist", "Gram-d"), ("sharpness", "Sharp"))

PAIRING = (
    "photos centre-cropped to a square and resized to size x size (area/bicubic); masks resized to size "
    "(nearest), white = hole; bins from mask folder names like '20-30', else measured ratio in 10 % steps; "
    "the j-th mask of a bin (sorted by path) is paired with photo j mod n_photos (sorted by path)"
)
LASSO_PAIRING = (
    "photos centre-cropped to a square and resized to size x size (area/bicubic); for each area bin "
    "(03-08, 08-15, 15-25 % of the photo) and photo i (sorted by path), {per} lasso hole(s) k drawn by "
    f"trainer.masks.lasso_mask with numpy default_rng([{LASSO_SEED}, i, bin number, k]), area uniform in the bin"
)
"""The lasso set's "pairing" text; ``{per}``: the holes per photo and bin."""

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class EvalPair:
    """One evaluation case: bin name, index into `EvalSet.photos`, the hole (bool (size, size), True = hole) and
    where the hole came from (its mask file, or the lasso's seed)."""

    bin: str
    photo: int
    hole: np.ndarray
    source: str


@dataclass(frozen=True)
class EvalSet:
    """The pairs of an evaluation (see the module docstring): prepared photos (uint8 (size, size, 3) RGB), their
    files, the photos skipped ([path, reason]), the pairs in order (bin by bin) and the pairing's description."""

    size: int
    photos: list[np.ndarray]
    photo_paths: list[Path]
    skipped_photos: list[list[str]]
    pairs: list[EvalPair]
    pairing: str

    @property
    def bins(self) -> dict[str, int]:
        """{bin: number of pairs}, in order."""
        counts: dict[str, int] = {}
        for pair in self.pairs:
            counts[pair.bin] = counts.get(pair.bin, 0) + 1
        return counts


def prepare_photo(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre square crop of uint8 (H, W, 3) RGB, resized to uint8 (size, size, 3)."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    crop = rgb[y0 : y0 + side, x0 : x0 + side]
    if side == size:
        return np.ascontiguousarray(crop)
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=interp)


def ratio_bin(ratio: float) -> str:
    """10 % bin name of a hole ratio in [0, 1]: 0.23 -> "20-30", 1.0 -> "90-100"."""
    lo = min(int(ratio * 10), 9) * 10
    return f"{lo:02d}-{lo + 10}"


def _bin_sort_key(name: str) -> tuple[int, int, str]:
    m = BIN_PATTERN.match(name)
    return (int(m.group(1)), int(m.group(2)), name) if m else (10**6, 0, name)


def _float64(t: Tensor) -> Tensor:
    """``t`` as float64, moved to the CPU first on Apple MPS (which has no float64)."""
    return (t.cpu() if t.device.type == "mps" else t).double()


def masked_gram_distance(
    pred: dict[str, Tensor], target: dict[str, Tensor], hole: Tensor, layers: Sequence[str] = GRAM_LAYERS
) -> float:
    """``gram_dist`` of the module docstring: ``pred`` and ``target`` map layer names to one image's (C, h, w)
    features; ``hole``: bool (H, W) at the image's resolution, True = hole. Float >= 0 (0 = same statistics), NaN
    when no layer has a position at least half in the hole."""
    values = []
    for name in layers:
        fp, ft = _float64(pred[name]), _float64(target[name])
        cover = F.interpolate(_float64(hole[None, None]), size=fp.shape[-2:], mode="area")[0, 0] >= 0.5
        n = int(cover.sum())
        if n == 0:
            continue
        a, b = fp[:, cover], ft[:, cover]  # (C, n)
        g_pred, g_true = a @ a.T / n, b @ b.T / n
        reference = float(torch.linalg.matrix_norm(g_true))
        diff = float(torch.linalg.matrix_norm(g_pred - g_true))
        values.append(diff / reference if reference > 0 else (0.0 if diff == 0 else math.inf))
    return float(np.mean(values)) if values else math.nan


class FeatureScores:
    """``vgg_dist`` and ``gram_dist`` of the module docstring from one VGG19 pass over result and photo:
    ``(pred, target, hole)`` with uint8 (H, W, 3) RGB images and a bool (H, W) hole -> {"vgg_dist", "gram_dist"}."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.vgg = VGG19Features(tuple(dict.fromkeys(VGG_DIST_LAYERS + GRAM_LAYERS))).to(device)

    @torch.no_grad()
    def __call__(self, pred: np.ndarray, target: np.ndarray, hole: np.ndarray) -> dict[str, float]:
        x = torch.from_numpy(np.stack([pred, target])).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        feats = self.vgg(x)
        total = 0.0
        for name in VGG_DIST_LAYERS:
            f = feats[name].float()
            f = f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
            total += float((f[0] - f[1]).pow(2).sum(dim=0).mean())
        gram = masked_gram_distance({k: v[0] for k, v in feats.items()}, {k: v[1] for k, v in feats.items()},
                                    torch.from_numpy(np.ascontiguousarray(hole)).to(self.device))
        return {"vgg_dist": total / len(VGG_DIST_LAYERS), "gram_dist": gram}


@functools.lru_cache(maxsize=1)
def feature_scores(device: torch.device) -> FeatureScores:
    """The `FeatureScores` of ``device``, built once and kept (the VGG19 to relu5_1, about 80 MB): the fine-tune's
    timing probe builds it, and the final scoring, which is timed on that probe, does not pay for it again."""
    return FeatureScores(device)


def score_pair(result: np.ndarray, photo: np.ndarray, hole: np.ndarray, features: FeatureScores) -> dict[str, float]:
    """Every per-pair metric of `METRICS` for one result (uint8 (H, W, 3) RGB, as composited) against its photo."""
    return {**metrics.all_metrics(result, photo, hole), **features(result, photo, hole)}


def _masks_by_bin(masks_dir: Path, size: int, limit: int | None) -> dict[str, list[tuple[Path, np.ndarray]]]:
    bins: dict[str, list[tuple[Path, np.ndarray]]] = {}
    for path in list_mask_files(masks_dir):
        try:
            hole, _ = load_mask(path, (size, size))
        except ImageError:
            continue
        folder = path.parent.name if path.parent != masks_dir else ""
        name = folder if BIN_PATTERN.match(folder) else ratio_bin(float(hole.mean()))
        bins.setdefault(name, []).append((path, hole))
    ordered = {}
    for name in sorted(bins, key=_bin_sort_key):
        items = bins[name] if limit is None else bins[name][:limit]
        if items:
            ordered[name] = items
    return ordered


def lasso_hole(size: int, photo: int, bin_number: int, k: int) -> np.ndarray:
    """Hole k of photo number ``photo`` in lasso bin ``bin_number`` (index into `LASSO_BINS`): bool (size, size)."""
    _, lo, hi = LASSO_BINS[bin_number]
    rng = np.random.default_rng([LASSO_SEED, photo, bin_number, k])
    return lasso_mask(size, size, rng, float(rng.uniform(lo, hi)))


def eval_set(
    images_dir: str | Path,
    masks_dir: str | Path | None = None,
    *,
    lasso: bool = False,
    masks_per_photo: int | None = None,
    size: int | None = None,
    limit: int | None = None,
) -> EvalSet:
    """The evaluation pairs of the module docstring: from the mask files under ``masks_dir``, or with ``lasso`` the
    seeded lasso holes (``masks_per_photo`` per photo and bin, default 1). ``limit``: at most this many pairs per
    bin. Raises ValueError for a bad combination, a size outside MIN_SIZE..MAX_SIZE px, or no usable photos or
    masks."""
    size = DEFAULT_SIZE if size is None else int(size)
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"the evaluation size must be {MIN_SIZE} to {MAX_SIZE} px, got {size}")
    if lasso == (masks_dir is not None):
        raise ValueError("give either a mask folder or the lasso set, not both or neither")
    if masks_per_photo is not None and not lasso:
        raise ValueError("masks per photo apply to the lasso set only")
    per = 1 if masks_per_photo is None else int(masks_per_photo)
    if per < 1:
        raise ValueError(f"masks per photo must be at least 1, got {per}")
    images_root = Path(images_dir)
    mask_bins: dict[str, list[tuple[Path, np.ndarray]]] = {}
    if lasso:
        needed = None if limit is None else -(-limit // per)
    else:
        assert masks_dir is not None, "checked above: without the lasso set a mask folder is given"
        masks_root = Path(masks_dir)
        mask_bins = _masks_by_bin(masks_root, size, limit)
        if not mask_bins:
            raise ValueError(f"no readable masks in {masks_root}")
        needed = max(len(items) for items in mask_bins.values())

    photos: list[np.ndarray] = []
    paths: list[Path] = []
    skipped: list[list[str]] = []
    for path in list_photos(images_root):
        if needed is not None and len(photos) >= needed:
            break
        try:
            photos.append(prepare_photo(load_image(path).rgb, size))
            paths.append(path)
        except ImageError as exc:
            skipped.append([str(path), str(exc)])
    if not photos:
        raise ValueError(f"no readable photos in {images_root}")

    if lasso:
        pairs = []
        for b, (name, _, _) in enumerate(LASSO_BINS):
            cases = [(i, k) for i in range(len(photos)) for k in range(per)]
            for i, k in cases if limit is None else cases[:limit]:
                pairs.append(EvalPair(name, i, lasso_hole(size, i, b, k), f"lasso {LASSO_SEED}/{i}/{b}/{k}"))
        pairing = LASSO_PAIRING.format(per=per)
    else:
        pairs = [EvalPair(name, j % len(photos), hole, str(path))
                 for name, items in mask_bins.items() for j, (path, hole) in enumerate(items)]
        pairing = PAIRING
    return EvalSet(size, photos, paths, skipped, pairs, pairing)


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float | int | None]:
    """{"count": number of rows, metric: mean of its finite values (None when there are none)} for every metric
    key of the rows (PSNR is infinite for an exact fill and then left out of the mean). "sharpness" is the ratio of
    the mean energies instead (`engine.metrics.mean_sharpness`)."""
    out: dict[str, float | int | None] = {"count": len(rows)}
    for key in rows[0] if rows else ():
        values = [r[key] for r in rows if math.isfinite(r[key])]
        out[key] = float(np.mean(values)) if values else None
    if rows and "sharpness" in rows[0]:
        value = metrics.mean_sharpness([(r["lap_energy"], r["lap_energy_true"]) for r in rows])
        out["sharpness"] = value if math.isfinite(value) else None
    return out


def evaluate(
    models: Sequence[str],
    images_dir: str | Path,
    masks_dir: str | Path | None = None,
    *,
    lasso: bool = False,
    masks_per_photo: int | None = None,
    device: str = "auto",
    size: int | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    baselines: Sequence[str] = BASELINES,
) -> dict:
    """Score ``models`` (names or weights paths) and ``baselines`` (the OpenCV fills) on the pairs of
    :func:`eval_set` (mask files under ``masks_dir``, or the ``lasso`` set); JSON-serialisable report.

    Report keys: "size", "pairing", "device", "metrics" (descriptions), "photos" (count used),
    "skipped_photos" ([path, reason]), "bins" ({bin: number of pairs}), "models" ({name: {"title",
    "bins": {bin: {"count", metric: mean or None}}, "all": {...}, "seconds_per_image"}}), "skipped_models"
    ({name: reason} for models that could not be loaded; when none of ``models`` could, the baselines are not
    scored either). Means skip non-finite values (e.g. PSNR of an
    exact result); a metric with no finite value is None. ``progress(fraction 0..1, message)``.
    Raises FusionPaintError for an absent or unknown device, ValueError when there are no usable photos or masks
    (see :func:`eval_set`).
    """
    torch_device = resolve_device(device)
    cases = eval_set(images_dir, masks_dir, lasso=lasso, masks_per_photo=masks_per_photo, size=size, limit=limit)
    names = list(dict.fromkeys([*models, *baselines]))
    features = FeatureScores(torch_device)
    bins = cases.bins
    report: dict = {
        "size": cases.size,
        "pairing": cases.pairing,
        "device": str(torch_device),
        "metrics": dict(METRICS),
        "photos": len(cases.photos),
        "skipped_photos": cases.skipped_photos,
        "bins": bins,
        "models": {},
        "skipped_models": {},
    }
    total_steps = len(names) * len(cases.pairs)
    step = 0
    for name in names:
        if name not in models and models and not report["models"]:
            break  # none of the models asked for could be loaded: the baselines alone compare nothing
        try:
            model = load_model(name, device=device)
            title = get_spec(name).title
        except (ModelUnavailable, WeightsError) as exc:
            report["skipped_models"][name] = str(exc)
            step += len(cases.pairs)
            continue
        rows: dict[str, list[dict[str, float]]] = {b: [] for b in bins}
        elapsed = 0.0
        for pair in cases.pairs:
            image = cases.photos[pair.photo]
            start = time.perf_counter()
            result = inpaint(image, pair.hole, model)
            elapsed += time.perf_counter() - start
            rows[pair.bin].append(score_pair(result.image, image, pair.hole, features))
            step += 1
            if progress is not None:
                progress(step / total_steps, f"{name}: {pair.bin}")
        report["models"][name] = {
            "title": title,
            "bins": {b: mean_metrics(r) for b, r in rows.items()},
            "all": mean_metrics([r for rs in rows.values() for r in rs]),
            "seconds_per_image": elapsed / max(1, len(cases.pairs)),
        }
    return report


BAR_ALL_BINS = ("vgg_dist", "gram_dist", "sharpness")
"""Metrics a default model must beat its rivals in, in every bin: the perceptual distance, the texture statistics and
the sharpness (a blurred fill scores well in the pixel metrics; these three see it). A report without a metric (one
written before it existed) is not judged on it."""
BAR_LARGE_BINS = ("l1_percent", "psnr", "ssim")
"""Metrics it must beat them in for every bin whose lower bound is at least `BAR_LARGE_FROM` %."""
BAR_LARGE_FROM = 20
_HIGHER_IS_BETTER = {"psnr", "ssim", "psnr_hole", "ssim_hole", "sharpness"}


def bar_misses(
    report: dict, model: str, rivals: Sequence[str] = BASELINES
) -> list[tuple[str, str, float | None, float]]:
    """Where ``model`` misses the bar for default weights in an `evaluate` report: (bin, metric, value, best rival
    value) for each bin and metric in which it is not strictly better than every one of ``rivals`` (the classical
    baselines; PatchMatch for the editor's default) (value None: no finite value). An empty list means the bar is
    met. Sharpness counts as better when higher: no fill of a rival's sharpness or above is a smear."""
    misses = []
    for bin_name, row in report["models"][model]["bins"].items():
        match = BIN_PATTERN.match(bin_name)
        large = match is not None and int(match.group(1)) >= BAR_LARGE_FROM
        for key in BAR_ALL_BINS + (BAR_LARGE_BINS if large else ()):
            higher = key in _HIGHER_IS_BETTER
            values = [report["models"][b]["bins"][bin_name].get(key) for b in rivals]
            values = [v for v in values if v is not None]
            value = row.get(key)
            if not values:
                continue
            best = max(values) if higher else min(values)
            if value is None or (value <= best if higher else value >= best):
                misses.append((bin_name, key, value, best))
    return misses


def format_miss(miss: tuple[str, str, float | None, float]) -> str:
    """One `bar_misses` entry as text, e.g. "00-10 vgg_dist 0.0512 vs 0.0457 (+0.0055)"."""
    bin_name, key, value, best = miss
    if value is None:
        return f"{bin_name} {key} - vs {best:.4f} (no value)"
    return f"{bin_name} {key} {value:.4f} vs {best:.4f} ({value - best:+.4f})"


def _fmt(value: float | int | None, key: str) -> str:
    if value is None:
        return "-"
    if key in ("ssim", "vgg_dist", "gram_dist"):
        return f"{value:.4f}"
    if key == "sharpness":
        return f"{value:.3f}"
    return f"{value:.2f}"


def format_table(report: dict) -> str:
    """Plain-text table of a `evaluate` report: for each bin, one row per model with L1, PSNR, SSIM, BPE, the VGG
    distance (marked * as the offline LPIPS stand-in), the Gram distance and sharpness ("-" where a report has no
    value), then an "all" block and notes."""
    names = list(report["models"])
    width = max([len(n) for n in names] + [12])
    header = f"{'bin':<7} {'model':<{width}} {'n':>4} " + " ".join(f"{label:>8}" for _, label in TABLE_COLUMNS)
    lines = [f"size {report['size']} px, {report['photos']} photos, device {report['device']}", header]
    lines.append("-" * len(header))
    for bin_name in [*report["bins"], "all"]:
        for name in names:
            entry = report["models"][name]
            row = entry["all"] if bin_name == "all" else entry["bins"].get(bin_name)
            if row is None:
                continue
            cells = " ".join(f"{_fmt(row.get(key), key):>8}" for key, _ in TABLE_COLUMNS)
            lines.append(f"{bin_name:<7} {name:<{width}} {row['count']:>4} {cells}")
        lines.append("")
    lines.append("L1 % and BPE %: lower is better; PSNR (dB), SSIM: higher is better.")
    lines.append("* VGG-d: VGG19 feature distance, an offline stand-in for LPIPS (lower is better).")
    lines.append("Gram-d: distance of VGG19 texture statistics in the hole, 0 = the photo's (lower is better).")
    lines.append("Sharp: Laplacian energy in the hole over the photo's (1 = as sharp, < 1 blurred, > 1 noisier).")
    for name, reason in report.get("skipped_models", {}).items():
        lines.append(f"skipped {name}: {reason}")
    return "\n".join(lines)


def held_out_images(photos: Sequence[Path], size: int, log: Callable[[str], None] | None = None) -> list[np.ndarray]:
    """The held-out photos as ``size`` x ``size`` uint8 RGB (:func:`prepare_photo`); unreadable ones and short sides
    below ``MIN_PHOTO_SIDE`` are left out."""
    images = []
    for path in photos:
        try:
            rgb = load_image(path).rgb
        except (FusionPaintError, OSError, ValueError) as exc:
            if log:
                log(f"evaluation: skipped {path}: {exc}")
            continue
        if min(rgb.shape[:2]) >= MIN_PHOTO_SIDE:
            images.append(prepare_photo(rgb, size))
    return images


def held_out_pairs(images: Sequence[np.ndarray], masks_per_photo: int) -> list[tuple[int, np.ndarray, Tensor]]:
    """(photo number, photo, hole (1,S,S) float 1 = hole): the object-removal holes a person draws in the editor,
    the lasso set's (:func:`lasso_hole`). Hole k of photo i is in bin ``k mod 3`` of `LASSO_BINS` (3-8, 8-15,
    15-25 % of the photo), so three masks per photo cover every bin. Round robin: every photo's first hole, then
    every photo's second, ..., so that scoring only the first pairs still covers many photos."""
    if not images:
        return []
    size = images[0].shape[0]
    bins = len(LASSO_BINS)
    holes = [[torch.from_numpy(lasso_hole(size, i, k % bins, k // bins)).float()[None] for k in range(masks_per_photo)]
             for i in range(len(images))]
    return [(i, images[i], holes[i][k]) for k in range(masks_per_photo) for i in range(len(images))]


def compare_on_pairs(
    generators: dict[str, nn.Module | ClassicalSpec],
    arch: str,
    pairs: Sequence[tuple[int, np.ndarray, Tensor]],
    *,
    device: torch.device | str = "cpu",
    fill: str | None = None,
    deadline: float | None = None,
    pair_s: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
    features: FeatureScores | None = None,
) -> dict:
    """Score every generator on each pair in turn (all of them on one pair before the next), so that stopping early
    still compares them on the same pairs. A generator given as a `ClassicalSpec` is that fill; ``fill``:
    DFNet's input fill. The prediction is composited hard (known pixels from the photo) and scored as `evaluate`
    scores (:func:`score_pair`; ``features``: its VGG19 measures, by default :func:`feature_scores` on ``device``).
    Float32, eval mode.

    ``deadline`` (``time.perf_counter()`` seconds): no pair is started that would end after it; a pair costs the mean
    of those scored so far (``pair_s`` before the first), every model's fill and scoring, VGG19 measures included.
    ``progress(done, total)`` after each pair.
    Returns {"photos": photos scored, "samples": pairs scored, "pairs": pairs offered, "pair_s": mean seconds per
    pair, NAME: {"overall": {...}, "bins": {"00-10": {..., "count": c}, ...}}}; metric keys (means, see `METRICS` and
    :func:`mean_metrics`): l1_percent, psnr, ssim, vgg_dist (whole image), l1_percent_hole, psnr_hole, ssim_hole,
    bpe, gram_dist (lower is better, 0 = the photo's texture statistics), sharpness (1 = as sharp as the photo) and
    its energies lap_energy, lap_energy_true.
    """
    device = torch.device(device)
    recipe = recipe_for(arch)
    scores = feature_scores(device) if features is None else features
    networks = {name: net for name, net in generators.items() if not isinstance(net, ClassicalSpec)}
    modes = [(module, module.training) for net in networks.values() for module in net.modules()]
    for network in networks.values():
        network.eval()
        network.to(device)
    per_model: dict[str, list[tuple[float, dict[str, float]]]] = {name: [] for name in generators}
    photos: set[int] = set()
    scored, spent = 0, 0.0
    try:
        for number, rgb, hole in pairs:
            cost = spent / scored if scored else pair_s
            if deadline is not None and time.perf_counter() + cost > deadline:
                break
            t0 = time.perf_counter()
            hole_np = hole[0].numpy() > 0.5
            if hole_np.any():
                for name, net in generators.items():
                    if isinstance(net, ClassicalSpec):
                        pred = net.fill(rgb[None].astype(np.float32) / 255.0, hole_np[None], None, None)[0]
                    else:
                        image = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float().div(255).to(device)
                        pred = recipe.predict(net, image, hole[None].to(device), fill)[0].permute(1, 2, 0).cpu().numpy()
                    composite = np.where(hole_np[..., None], np.round(pred * 255), rgb).astype(np.uint8)
                    per_model[name].append((hole_ratio(hole), score_pair(composite, rgb, hole_np, scores)))
                photos.add(number)
            scored += 1
            spent += time.perf_counter() - t0
            if progress is not None:
                progress(scored, len(pairs))
    finally:
        for module, training in modes:  # each module's own mode: a part frozen in training stays in eval mode
            module.train(training)
    report: dict = {"photos": len(photos), "samples": scored, "pairs": len(pairs),
                    "pair_s": spent / scored if scored else pair_s}
    for name, rows in per_model.items():
        bins: dict[str, list[dict[str, float]]] = {}
        for ratio, row in rows:
            bins.setdefault(ratio_bin(ratio), []).append(row)
        report[name] = {"overall": mean_metrics([m for _, m in rows]),
                        "bins": {b: mean_metrics(bins[b]) for b in sorted(bins)}}
    return report


MIN_GAIN = 0.01
"""Smallest relative fall of the held-out hole L1 that counts as an improvement (1 %)."""
GRAM_TOLERANCE = 0.01
"""Largest relative rise of the held-out Gram distance that still counts as no worse (1 %); a larger one means the
fill's texture moved away from the photo's."""
PSNR_TOLERANCE_DB = 0.1
"""Largest fall of the held-out hole PSNR (dB) that still counts as no worse beside a smaller hole L1: the two measure
the same pixel error (PSNR squares it, so a few pixels can move it against L1), and 0.1 dB is not visible."""


def _relative(before: float | None, after: float | None) -> float | None:
    """(after - before) / before, 0 when both are 0; None when either is missing or not finite."""
    if before is None or after is None or not (math.isfinite(before) and math.isfinite(after)):
        return None
    if before == 0:
        return 0.0 if after == 0 else math.inf
    return (after - before) / before


def _value(value: float | None, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def judge(before: dict, after: dict, photos: int) -> tuple[bool | None, str]:
    """(helped, one plain sentence) from the overall held-out figures before and after fine-tuning.

    It helped when the hole L1 fell by at least ``MIN_GAIN`` (relative), the Gram distance (``gram_dist``) did not
    rise by more than ``GRAM_TOLERANCE`` (relative) and the hole PSNR fell by no more than ``PSNR_TOLERANCE_DB``. It
    did not help when the hole L1 rose by ``MIN_GAIN`` or more or the Gram distance by more than ``GRAM_TOLERANCE``;
    anything else is no measurable difference (helped = False). A report without a Gram distance (written before it
    was measured) is judged by L1 and PSNR alone. The sentence gives L1, PSNR, Gram distance, sharpness, SSIM and BPE
    before -> after, and says in words which way L1 and the Gram distance moved when they disagree. helped = None:
    no held-out samples.
    """
    b, a = before.get("overall", {}), after.get("overall", {})
    if not b.get("count") or not a.get("count"):
        return None, "no held-out samples: fine-tuning was not evaluated"
    l1_b, l1_a = b["l1_percent_hole"], a["l1_percent_hole"]
    ps_b, ps_a = (math.inf if v is None else v for v in (b["psnr_hole"], a["psnr_hole"]))
    gain = (l1_b - l1_a) / l1_b if l1_b > 0 else 0.0
    gram_b, gram_a = b.get("gram_dist"), a.get("gram_dist")
    rise = _relative(gram_b, gram_a)  # None: not measured, judged by L1 and PSNR
    l1_way = 1 if gain >= MIN_GAIN else (-1 if gain <= -MIN_GAIN else 0)  # 1 better, -1 worse
    gram_way = 0 if rise is None else (1 if rise < -GRAM_TOLERANCE else (-1 if rise > GRAM_TOLERANCE else 0))
    helped = bool(l1_way == 1 and gram_way != -1 and ps_a >= ps_b - PSNR_TOLERANCE_DB)
    if helped:
        verdict = "Fine-tuning helped"
    elif l1_way == -1 or gram_way == -1:
        verdict = "Fine-tuning did not help"
    else:
        verdict = "Fine-tuning made no measurable difference"
    if l1_way * gram_way == -1:
        verdict += (" (texture closer to the photo's but a larger L1 error)" if gram_way == 1
                    else " (a smaller L1 error but texture further from the photo's)")
    elif l1_way == 1 and not helped:
        verdict += " (a smaller L1 error but a lower PSNR)"
    gram = (f"Gram-d {_value(gram_b, '.4f')} -> {_value(gram_a, '.4f')}, "
            if gram_b is not None or gram_a is not None else "Gram-d not measured, ")
    sharp_b, sharp_a = b.get("sharpness"), a.get("sharpness")
    sharp = (f"sharpness {_value(sharp_b, '.2f')} -> {_value(sharp_a, '.2f')} (1 = as sharp as the photo), "
             if sharp_b is not None or sharp_a is not None else "")
    return helped, (
        f"{verdict}: hole L1 {l1_b:.2f}% -> {l1_a:.2f}%, hole PSNR {ps_b:.2f} -> {ps_a:.2f} dB, {gram}{sharp}"
        f"SSIM {_value(b.get('ssim'), '.3f')} -> {_value(a.get('ssim'), '.3f')}, "
        f"BPE {_value(b.get('bpe'), '.2f', '%')} -> {_value(a.get('bpe'), '.2f', '%')} "
        f"on {photos} held-out photo{'s' if photos != 1 else ''} ({a['count']} masks)."
    )
