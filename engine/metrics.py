"""Image-quality metrics for inpainting results: L1, PSNR, SSIM, Boundary Pixels Error (BPE) and sharpness.

Every function takes ``pred`` and ``target`` of shape (H, W, 3), RGB, either uint8 or a float dtype
holding values on the same 0..255 scale (floats are not rescaled: a float image in [0, 1] must be
multiplied by 255 first). Computation is float64. An optional ``hole`` is a bool (H, W) mask,
True = filled pixel; when given, a metric is averaged over the hole pixels only (all three channels).
A metric over an empty set of pixels (an all-False hole, or a BPE band with no pixels) is NaN.

BPE is the metric of the DFNet paper (Hong et al., ACM MM 2019, section 4.2): the mean absolute
error over the n-pixel band just inside the hole boundary, where the known and filled regions meet.

Sharpness compares how much fine detail the fill has with the photo's own: the pixel metrics above reward a smooth
average of the possible fills, sharpness shows it as a value far below 1 (see :func:`sharpness`).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

PEAK = 255.0
"""Peak value of the 0..255 scale used by PSNR and SSIM."""

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03

DEFAULT_BAND_PX = 8
"""Default BPE band width in pixels (same as the pipeline's default composition band)."""

LUMA_WEIGHTS = (0.299, 0.587, 0.114)
"""ITU-R BT.601 weights of R, G, B for the grey image of :func:`laplacian_energy`."""


def _validate(pred: np.ndarray, target: np.ndarray, hole: np.ndarray | None) -> None:
    """Raise TypeError/ValueError unless pred/target are (H, W, 3) uint8/float of one shape and hole fits."""
    for name, arr in (("pred", pred), ("target", target)):
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"metrics: {name} must be a numpy array, got {type(arr).__name__}")
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(f"metrics: {name} must have shape (H, W, 3), got {arr.shape}")
        if arr.dtype != np.uint8 and not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(f"metrics: {name} must be uint8 or float on the 0..255 scale, got {arr.dtype}")
    if pred.shape != target.shape:
        raise ValueError(f"metrics: pred shape {pred.shape} differs from target shape {target.shape}")
    if hole is not None:
        _check_hole(hole, pred.shape[:2])


def _as_float(pred: np.ndarray, target: np.ndarray, hole: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Validate the inputs and return float64 versions of ``pred`` and ``target``."""
    _validate(pred, target, hole)
    return pred.astype(np.float64), target.astype(np.float64)


def _check_hole(hole: np.ndarray, size_hw: tuple[int, ...]) -> None:
    if not isinstance(hole, np.ndarray) or hole.dtype != np.bool_:
        raise ValueError("metrics: hole must be a numpy bool array (True = filled pixel)")
    if hole.shape != tuple(size_hw):
        raise ValueError(f"metrics: hole shape {hole.shape} differs from the image size {tuple(size_hw)}")


def _masked_mean(values: np.ndarray, hole: np.ndarray | None) -> float:
    """Mean of ``values`` (H, W, C) over all pixels, or over the pixels where ``hole`` is True."""
    if hole is None:
        return float(values.mean())
    if not hole.any():
        return math.nan
    return float(values[hole].mean())


def l1_percent(pred: np.ndarray, target: np.ndarray, hole: np.ndarray | None = None) -> float:
    """Mean absolute error in percent of the 0..255 range (0 = identical, 100 = black vs white).

    Averaged over all pixels and channels, or over the hole pixels when ``hole`` is given.
    """
    p, t = _as_float(pred, target, hole)
    return _masked_mean(np.abs(p - t), hole) / PEAK * 100.0


def psnr(pred: np.ndarray, target: np.ndarray, hole: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB with peak 255: ``10 * log10(255**2 / MSE)``; ``inf`` when identical.

    The MSE is over all pixels and channels, or over the hole pixels when ``hole`` is given.
    """
    p, t = _as_float(pred, target, hole)
    mse = _masked_mean((p - t) ** 2, hole)
    if math.isnan(mse):
        return math.nan
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(PEAK**2 / mse)


def _gaussian_kernel(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Normalised 1-D gaussian of ``size`` taps (float64); the 2-D window is its outer product."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    k = np.exp(-(x**2) / (2.0 * sigma**2))
    return k / k.sum()


def _filter_same(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable 2-D filtering of (H, W, C) with ``kernel`` on both axes, same size, mirror padding.

    Padding is numpy ``reflect`` (mirror without repeating the edge pixel, OpenCV's BORDER_REFLECT_101).
    """
    r = len(kernel) // 2
    padded = np.pad(img, ((r, r), (r, r), (0, 0)), mode="reflect")
    h, w = img.shape[:2]
    rows = np.zeros((h + 2 * r, w, img.shape[2]), dtype=np.float64)
    for i, k in enumerate(kernel):
        rows += k * padded[:, i : i + w]
    out = np.zeros(img.shape, dtype=np.float64)
    for i, k in enumerate(kernel):
        out += k * rows[i : i + h]
    return out


def ssim_map(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-pixel, per-channel SSIM (Wang et al. 2004) as float64 (H, W, 3).

    Gaussian window 11x11 with sigma 1.5, K1 = 0.01, K2 = 0.03, dynamic range 255, computed on each
    RGB channel separately. Borders are handled by mirror padding so the map has the image's size
    (the paper's reference code crops the border instead; interior values are identical).
    """
    p, t = _as_float(pred, target, None)
    c1 = (SSIM_K1 * PEAK) ** 2
    c2 = (SSIM_K2 * PEAK) ** 2
    k = _gaussian_kernel()
    mu_p = _filter_same(p, k)
    mu_t = _filter_same(t, k)
    var_p = _filter_same(p * p, k) - mu_p**2
    var_t = _filter_same(t * t, k) - mu_t**2
    cov = _filter_same(p * t, k) - mu_p * mu_t
    num = (2.0 * mu_p * mu_t + c1) * (2.0 * cov + c2)
    den = (mu_p**2 + mu_t**2 + c1) * (var_p + var_t + c2)
    return num / den


def ssim(pred: np.ndarray, target: np.ndarray, hole: np.ndarray | None = None) -> float:
    """Structural similarity in [-1, 1] (1 = identical): mean of :func:`ssim_map` over the three channels.

    Averaged over all pixels, or over the hole pixels when ``hole`` is given (the windows still
    read the pixels around the hole).
    """
    if hole is not None:
        _check_hole(hole, np.shape(pred)[:2])
    return _masked_mean(ssim_map(pred, target), hole)


def boundary_band(hole: np.ndarray, band_px: int = DEFAULT_BAND_PX) -> np.ndarray:
    """Bool (H, W) band of hole pixels whose euclidean distance to the nearest known pixel is <= ``band_px``.

    A hole pixel touching a known pixel (4-neighbour) has distance 1, so ``band_px = n`` keeps n rows of
    pixels along a straight edge. The image border is not a boundary: a hole reaching the border
    gets no band along it. An all-True hole has an empty band.
    """
    if not isinstance(hole, np.ndarray) or hole.dtype != np.bool_ or hole.ndim != 2:
        raise ValueError("metrics: hole must be a numpy bool array of shape (H, W)")
    if isinstance(band_px, bool) or not isinstance(band_px, (int, np.integer)) or band_px < 1:
        raise ValueError(f"metrics: band_px must be an integer >= 1, got {band_px!r}")
    if hole.all():
        return np.zeros_like(hole)
    dist = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return hole & (dist <= band_px)


def boundary_pixel_error(
    pred: np.ndarray, target: np.ndarray, hole: np.ndarray, band_px: int = DEFAULT_BAND_PX
) -> float:
    """Boundary Pixels Error in percent of 0..255: mean absolute error over :func:`boundary_band`.

    Same scale as :func:`l1_percent`; NaN when the band is empty.
    """
    p, t = _as_float(pred, target, hole)
    return _masked_mean(np.abs(p - t), boundary_band(hole, band_px)) / PEAK * 100.0


def laplacian_energy(image: np.ndarray, region: np.ndarray) -> float:
    """Mean squared Laplacian of the grey image over ``region``, in grey levels squared (>= 0; 0 = flat).

    ``image``: (H, W, 3) RGB, uint8 or float on the 0..255 scale; grey = `LUMA_WEIGHTS` . RGB. The Laplacian is the
    4-neighbour 3x3 kernel [[0, 1, 0], [1, -4, 1], [0, 1, 0]]. ``region`` (bool (H, W), True = counted) is first
    eroded by 1 px (3x3 square), so every counted pixel's kernel lies inside the region: a step at the region's
    border (between a fill and the photo around it) does not count. NaN when the eroded region is empty.
    """
    if region is None:
        raise ValueError("metrics: laplacian_energy needs a region mask")
    _validate(image, image, region)
    inner = cv2.erode(region.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    grey = image.astype(np.float64) @ np.asarray(LUMA_WEIGHTS)
    lap = cv2.Laplacian(grey, cv2.CV_64F, ksize=1, borderType=cv2.BORDER_REFLECT_101)
    return _masked_mean(lap[..., None] ** 2, inner)


def energy_ratio(energy: float, reference: float) -> float:
    """``energy / reference`` of two :func:`laplacian_energy` values: 1.0 when both are 0 (equally flat), inf when
    only ``reference`` is 0, NaN when either is NaN."""
    if math.isnan(energy) or math.isnan(reference):
        return math.nan
    if reference == 0.0:
        return 1.0 if energy == 0.0 else math.inf
    return energy / reference


def sharpness(pred: np.ndarray, target: np.ndarray, hole: np.ndarray) -> float:
    """Fine detail of the fill relative to the photo's: ``laplacian_energy(pred, hole) / laplacian_energy(target,
    hole)`` (see :func:`energy_ratio`); dimensionless, >= 0.

    1 = as sharp as the photo, far below 1 = blurred (a smooth average), above 1 = noisier than the photo. Measured on
    the result as composited (the hole holds the fill), over the hole eroded by 1 px. NaN for a hole with no pixel
    left after the erosion.
    """
    _validate(pred, target, hole)
    return energy_ratio(laplacian_energy(pred, hole), laplacian_energy(target, hole))


def all_metrics(
    pred: np.ndarray, target: np.ndarray, hole: np.ndarray, band_px: int = DEFAULT_BAND_PX
) -> dict[str, float]:
    """Every metric at once, whole image and hole only.

    Keys: ``l1_percent``, ``psnr``, ``ssim`` (whole image), ``l1_percent_hole``, ``psnr_hole``,
    ``ssim_hole`` (hole pixels only), ``bpe`` (percent, band of ``band_px`` pixels), ``sharpness`` and the two
    energies it is the ratio of, ``lap_energy`` (pred's) and ``lap_energy_true`` (target's) (:func:`sharpness`;
    averages over many pairs take the ratio of the mean energies, see `mean_sharpness`).
    """
    if hole is None:
        raise ValueError("metrics: all_metrics needs a hole mask")
    _validate(pred, target, hole)
    smap = ssim_map(pred, target)
    energy, reference = laplacian_energy(pred, hole), laplacian_energy(target, hole)
    return {
        "l1_percent": l1_percent(pred, target),
        "psnr": psnr(pred, target),
        "ssim": _masked_mean(smap, None),
        "l1_percent_hole": l1_percent(pred, target, hole),
        "psnr_hole": psnr(pred, target, hole),
        "ssim_hole": _masked_mean(smap, hole),
        "bpe": boundary_pixel_error(pred, target, hole, band_px),
        "sharpness": energy_ratio(energy, reference),
        "lap_energy": energy,
        "lap_energy_true": reference,
    }


def mean_sharpness(energies: list[tuple[float, float]]) -> float:
    """Sharpness of a set of pairs from their (``lap_energy``, ``lap_energy_true``): the ratio of the mean energies
    (`energy_ratio`), pairs with a NaN energy left out; NaN when none is left.

    A ratio of means rather than a mean of ratios: a nearly flat photo region (sky) has a tiny reference energy, and
    its per-pair ratio would swamp the average; this way each pair weighs by the detail its photo holds.
    """
    kept = [(e, r) for e, r in energies if not (math.isnan(e) or math.isnan(r))]
    if not kept:
        return math.nan
    return energy_ratio(float(np.mean([e for e, _ in kept])), float(np.mean([r for _, r in kept])))
