"""Measure models on photo + hole-mask pairs, per hole-ratio bin, beside the classical OpenCV baselines; and the
held-out comparison that ends a fine-tune (:func:`evaluate_generators`, :func:`judge`).

Pairing (fixed, documented so numbers are comparable between runs):

- Photos: every supported file under ``images_dir`` (recursive, sorted by path; unreadable ones are skipped
  and listed). Each is centre-cropped to a square (the short side) and resized to ``size`` x ``size``
  (default 256; area filter when shrinking, bicubic when enlarging).
- Masks: every supported file under ``masks_dir``. A mask inside a folder named like "20-30" belongs to
  that bin (hole ratio 20-30 %); any other mask is binned by its measured hole ratio in 10 % steps
  ("00-10" ... "90-100"). Masks are resized to ``size`` (nearest neighbour); white (> 127) = hole.
- Within a bin, masks are sorted by path and the j-th mask goes with photo number ``j mod n_photos``, so
  every bin uses the same photos in the same order. ``limit`` caps the number of pairs per bin.

Each model runs through `engine.registry.load_model` and `engine.pipeline.inpaint` (the path users get) and
the result is scored against the original with `engine.metrics`: L1 (% of 0..255, whole image), PSNR (dB,
whole image), SSIM (whole image), BPE (% of 0..255, 8-px band inside the hole boundary), the same L1/PSNR/SSIM
over the hole only, and "vgg_dist", a perceptual distance on ImageNet VGG19 features that stands in for
LPIPS offline (LPIPS needs downloaded weights): for relu1_1..relu5_1, features are unit-normalised along
the channels, squared differences are summed over channels and averaged over positions; the five layer
values are averaged. 0 = identical; it is not comparable with published LPIPS numbers.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from engine import metrics
from engine.device import resolve_device
from engine.errors import FusionPaintError, ImageError, ModelUnavailable, WeightsError
from engine.imageio import load_image, load_mask
from engine.model_spec import ModelSpec
from engine.pipeline import inpaint
from engine.registry import get_spec, load_model
from trainer.arches import recipe_for
from trainer.config import MIN_PHOTO_SIDE
from trainer.data import list_photos
from trainer.masks import MaskSampler, hole_ratio, list_mask_files
from trainer.vgg import VGG19Features

BASELINES = ("opencv-telea", "opencv-ns")
DEFAULT_SIZE = 256
BIN_PATTERN = re.compile(r"^(\d{1,3})-(\d{1,3})$")
VGG_DIST_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

METRICS: dict[str, str] = {
    "l1_percent": "L1, % of 0..255, whole image (lower is better)",
    "psnr": "PSNR, dB, whole image (higher is better)",
    "ssim": "SSIM, whole image (higher is better)",
    "bpe": "Boundary Pixels Error, % of 0..255, 8-px band inside the hole boundary (lower is better)",
    "vgg_dist": "VGG19 feature distance, offline stand-in for LPIPS, not comparable with LPIPS (lower is better)",
    "l1_percent_hole": "L1, % of 0..255, hole pixels only (lower is better)",
    "psnr_hole": "PSNR, dB, hole pixels only (higher is better)",
    "ssim_hole": "SSIM, hole pixels only (higher is better)",
}
"""Every per-pair metric in the report, with its unit and direction."""

TABLE_COLUMNS = (("l1_percent", "L1 %"), ("psnr", "PSNR"), ("ssim", "SSIM"), ("bpe", "BPE %"), ("vgg_dist", "VGG-d*"))

PAIRING = (
    "photos centre-cropped to a square and resized to size x size (area/bicubic); masks resized to size "
    "(nearest), white = hole; bins from mask folder names like '20-30', else measured ratio in 10 % steps; "
    "the j-th mask of a bin (sorted by path) is paired with photo j mod n_photos (sorted by path)"
)

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class EvalPair:
    """One evaluation case: bin name, index into the prepared photos, mask file."""

    bin: str
    photo: int
    mask: Path


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


class PerceptualDistance:
    """``vgg_dist`` of the module docstring: ``(a, b)`` uint8 (H, W, 3) RGB -> float >= 0 (0 = identical)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.vgg = VGG19Features(VGG_DIST_LAYERS).to(device)

    @torch.no_grad()
    def __call__(self, a: np.ndarray, b: np.ndarray) -> float:
        x = torch.from_numpy(np.stack([a, b])).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        feats = self.vgg(x)
        total = 0.0
        for name in VGG_DIST_LAYERS:
            f = feats[name].float()
            f = f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
            total += float((f[0] - f[1]).pow(2).sum(dim=0).mean())
        return total / len(VGG_DIST_LAYERS)


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


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float | int | None]:
    """{"count": number of rows, metric: mean of its finite values (None when there are none)} for every metric
    key of the rows (PSNR is infinite for an exact fill and then left out of the mean)."""
    out: dict[str, float | int | None] = {"count": len(rows)}
    for key in rows[0] if rows else ():
        values = [r[key] for r in rows if math.isfinite(r[key])]
        out[key] = float(np.mean(values)) if values else None
    return out


def evaluate(
    models: Sequence[str],
    images_dir: str | Path,
    masks_dir: str | Path,
    *,
    device: str = "auto",
    size: int | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    baselines: Sequence[str] = BASELINES,
) -> dict:
    """Score ``models`` (names or weights paths) and ``baselines`` (the OpenCV fills); JSON-serialisable report.

    Report keys: "size", "pairing", "device", "metrics" (descriptions), "photos" (count used),
    "skipped_photos" ([path, reason]), "bins" ({bin: number of pairs}), "models" ({name: {"title",
    "bins": {bin: {"count", metric: mean or None}}, "all": {...}, "seconds_per_image"}}), "skipped_models"
    ({name: reason} for models that could not be loaded). Means skip non-finite values (e.g. PSNR of an
    exact result); a metric with no finite value is None. ``progress(fraction 0..1, message)``.
    Raises ValueError when there are no usable photos or masks.
    """
    size = DEFAULT_SIZE if size is None else int(size)
    if size < 16:
        raise ValueError(f"evaluate: size must be >= 16 px, got {size}")
    images_root, masks_root = Path(images_dir), Path(masks_dir)
    names = list(dict.fromkeys([*models, *baselines]))
    mask_bins = _masks_by_bin(masks_root, size, limit)
    if not mask_bins:
        raise ValueError(f"no readable masks in {masks_root}")
    needed = max(len(items) for items in mask_bins.values())

    photos: list[np.ndarray] = []
    skipped_photos: list[list[str]] = []
    for path in list_photos(images_root):
        if len(photos) >= needed:
            break
        try:
            photos.append(prepare_photo(load_image(path).rgb, size))
        except ImageError as exc:
            skipped_photos.append([str(path), str(exc)])
    if not photos:
        raise ValueError(f"no readable photos in {images_root}")

    pairs = [
        (name, j % len(photos), hole)
        for name, items in mask_bins.items()
        for j, (_, hole) in enumerate(items)
    ]
    torch_device = resolve_device(device)
    distance = PerceptualDistance(torch_device)
    report: dict = {
        "size": size,
        "pairing": PAIRING,
        "device": str(torch_device),
        "metrics": dict(METRICS),
        "photos": len(photos),
        "skipped_photos": skipped_photos,
        "bins": {name: len(items) for name, items in mask_bins.items()},
        "models": {},
        "skipped_models": {},
    }
    total_steps = len(names) * len(pairs)
    step = 0
    for name in names:
        try:
            model = load_model(name, device=device)
            title = get_spec(name).title
        except (ModelUnavailable, WeightsError) as exc:
            report["skipped_models"][name] = str(exc)
            step += len(pairs)
            continue
        rows: dict[str, list[dict[str, float]]] = {b: [] for b in mask_bins}
        elapsed = 0.0
        for bin_name, photo_idx, hole in pairs:
            image = photos[photo_idx]
            start = time.perf_counter()
            result = inpaint(image, hole, model)
            elapsed += time.perf_counter() - start
            scores = metrics.all_metrics(result.image, image, hole)
            scores["vgg_dist"] = distance(result.image, image)
            rows[bin_name].append(scores)
            step += 1
            if progress is not None:
                progress(step / total_steps, f"{name}: {bin_name}")
        report["models"][name] = {
            "title": title,
            "bins": {b: mean_metrics(r) for b, r in rows.items()},
            "all": mean_metrics([r for rs in rows.values() for r in rs]),
            "seconds_per_image": elapsed / max(1, len(pairs)),
        }
    return report


BAR_ALL_BINS = ("vgg_dist",)
"""Metrics a default model must beat both classical baselines in, in every hole-ratio bin."""
BAR_LARGE_BINS = ("l1_percent", "psnr", "ssim")
"""Metrics it must beat them in for every bin whose lower bound is at least `BAR_LARGE_FROM` %."""
BAR_LARGE_FROM = 20
_HIGHER_IS_BETTER = {"psnr", "ssim", "psnr_hole", "ssim_hole"}


def bar_misses(report: dict, model: str) -> list[tuple[str, str, float | None, float]]:
    """Where ``model`` misses the bar for default weights in an `evaluate` report: (bin, metric, value, best
    baseline value) for each bin and metric in which it is not strictly better than both `BASELINES`
    (value None: no finite value). An empty list means the bar is met."""
    misses = []
    for bin_name, row in report["models"][model]["bins"].items():
        match = BIN_PATTERN.match(bin_name)
        large = match is not None and int(match.group(1)) >= BAR_LARGE_FROM
        for key in BAR_ALL_BINS + (BAR_LARGE_BINS if large else ()):
            higher = key in _HIGHER_IS_BETTER
            rivals = [report["models"][b]["bins"][bin_name].get(key) for b in BASELINES]
            rivals = [v for v in rivals if v is not None]
            value = row.get(key)
            if not rivals:
                continue
            best = max(rivals) if higher else min(rivals)
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
    if key in ("ssim", "vgg_dist"):
        return f"{value:.4f}"
    return f"{value:.2f}"


def format_table(report: dict) -> str:
    """Plain-text table of a `evaluate` report: for each bin, one row per model with L1, PSNR, SSIM, BPE and
    the VGG distance (marked * as the offline LPIPS stand-in), then an "all" block and notes."""
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
    for name, reason in report.get("skipped_models", {}).items():
        lines.append(f"skipped {name}: {reason}")
    return "\n".join(lines)


EVAL_SEED = 20240601
"""Seed of the evaluation masks: the same masks for the base and the fine-tuned model, every run."""


def evaluate_generators(
    generators: dict[str, nn.Module | ModelSpec],
    arch: str,
    photos: tuple[Path, ...] | list[Path],
    *,
    size: int,
    device: torch.device | str = "cpu",
    masks_per_photo: int = 3,
    log: Callable[[str], None] | None = None,
    fill: str | None = None,
) -> dict:
    """Compare generators on held-out photos with the same seeded masks (``fill``: DFNet's input fill). A
    generator given as a `ModelSpec` is that classical fill.

    Each photo is centre-cropped to a square and resized to size x size (as in :func:`evaluate`);
    ``masks_per_photo`` masks from
    ``MaskSampler(seed=EVAL_SEED)`` (hole ratio 0-60 %). The prediction is composited hard (known pixels from the
    photo) and scored with engine.metrics. Returns {"photos": n, "samples": k, NAME: {"overall": {...},
    "bins": {"0-10": {..., "count": c}, ...}}}; metric keys: l1_percent, psnr, ssim (whole image),
    l1_percent_hole, psnr_hole, ssim_hole, bpe (see engine.metrics.all_metrics). Float32, eval mode.
    """
    device = torch.device(device)
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
    sampler = MaskSampler(size, seed=EVAL_SEED, device="cpu")
    samples = []
    for rgb in images:
        for hole in sampler.next(masks_per_photo):
            samples.append((rgb, hole))
    recipe = recipe_for(arch)
    per_model: dict[str, list[tuple[float, dict[str, float]]]] = {name: [] for name in generators}
    for name, net in generators.items():
        classical = isinstance(net, ModelSpec)
        if not classical:
            was_training = net.training
            net.eval()
            net.to(device)
        for rgb, hole in samples:
            hole_np = hole[0].numpy() > 0.5
            if not hole_np.any():
                continue
            if classical:
                pred = net.fill(rgb[None].astype(np.float32) / 255.0, hole_np[None], None, None)[0]
            else:
                image = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float().div(255).to(device)
                pred = recipe.predict(net, image, hole[None].to(device), fill)[0].permute(1, 2, 0).cpu().numpy()
            composite = np.where(hole_np[..., None], np.round(pred * 255), rgb).astype(np.uint8)
            per_model[name].append((hole_ratio(hole), metrics.all_metrics(composite, rgb, hole_np)))
        if not classical:
            net.train(was_training)
    report: dict = {"photos": len(images), "samples": len(samples)}
    for name, rows in per_model.items():
        bins: dict[str, list[dict[str, float]]] = {}
        for ratio, row in rows:
            bins.setdefault(ratio_bin(ratio), []).append(row)
        report[name] = {"overall": mean_metrics([m for _, m in rows]),
                        "bins": {b: mean_metrics(bins[b]) for b in sorted(bins)}}
    return report


MIN_GAIN = 0.01
"""Smallest relative fall of the held-out hole L1 that counts as an improvement (1 %)."""


def judge(before: dict, after: dict, photos: int) -> tuple[bool | None, str]:
    """(helped, one plain sentence) from the overall hole L1 and PSNR before and after fine-tuning.

    It helped when the hole L1 fell by at least ``MIN_GAIN`` (relative) and the hole PSNR did not drop; a change
    smaller than that either way is reported as no measurable difference (helped = False).
    """
    b, a = before.get("overall", {}), after.get("overall", {})
    if not b.get("count") or not a.get("count"):
        return None, "no held-out samples: fine-tuning was not evaluated"
    l1_b, l1_a = b["l1_percent_hole"], a["l1_percent_hole"]
    ps_b, ps_a = (math.inf if v is None else v for v in (b["psnr_hole"], a["psnr_hole"]))
    gain = (l1_b - l1_a) / l1_b if l1_b > 0 else 0.0
    helped = bool(gain >= MIN_GAIN and ps_a >= ps_b)
    if helped:
        verdict = "Fine-tuning helped"
    elif abs(gain) < MIN_GAIN:
        verdict = "Fine-tuning made no measurable difference"
    else:
        verdict = "Fine-tuning did not help"
    return helped, (
        f"{verdict}: hole L1 {l1_b:.2f}% -> {l1_a:.2f}%, hole PSNR {ps_b:.2f} -> {ps_a:.2f} dB, "
        f"SSIM {b['ssim']:.3f} -> {a['ssim']:.3f}, BPE {b['bpe']:.2f}% -> {a['bpe']:.2f}% "
        f"on {photos} held-out photo{'s' if photos != 1 else ''} ({a['count']} masks)."
    )
