"""Metrics against direct float64 computations written here, known values and BPE band geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.metrics import (
    all_metrics,
    boundary_band,
    boundary_pixel_error,
    energy_ratio,
    l1_percent,
    laplacian_energy,
    mean_sharpness,
    psnr,
    sharpness,
    ssim,
    ssim_map,
)

C1 = (0.01 * 255) ** 2
C2 = (0.03 * 255) ** 2


def pair(seed: int = 0, size: tuple[int, int] = (24, 20)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    noise = rng.integers(-40, 41, target.shape)
    pred = np.clip(target.astype(int) + noise, 0, 255).astype(np.uint8)
    return pred, target


def square_hole(size=(24, 20), box=(6, 5, 16, 13)) -> np.ndarray:
    hole = np.zeros(size, bool)
    y0, x0, y1, x1 = box
    hole[y0:y1, x0:x1] = True
    return hole


# ----------------------------------------------------------------------------- L1 and PSNR


def test_l1_percent_matches_direct_computation():
    pred, target = pair()
    hole = square_hole()
    diff = np.abs(pred.astype(np.float64) - target.astype(np.float64))
    assert l1_percent(pred, target) == pytest.approx(diff.sum() / diff.size / 255 * 100, rel=1e-12)
    in_hole = (diff * hole[:, :, None]).sum() / (hole.sum() * 3)
    assert l1_percent(pred, target, hole) == pytest.approx(in_hole / 255 * 100, rel=1e-12)


def test_l1_known_values_and_float_input():
    black = np.zeros((4, 5, 3), np.uint8)
    white = np.full((4, 5, 3), 255, np.uint8)
    assert l1_percent(black, white) == pytest.approx(100.0)
    assert l1_percent(black, black) == 0.0
    pred, target = pair(1)
    assert l1_percent(pred.astype(np.float32), target.astype(np.float64)) == pytest.approx(l1_percent(pred, target))


def test_hole_only_ignores_pixels_outside_the_hole():
    pred, target = pair(2)
    hole = square_hole()
    changed = pred.copy()
    changed[~hole] = 255 - changed[~hole]
    assert l1_percent(changed, target, hole) == pytest.approx(l1_percent(pred, target, hole))
    assert psnr(changed, target, hole) == pytest.approx(psnr(pred, target, hole))


def test_psnr_matches_direct_computation():
    pred, target = pair(3)
    hole = square_hole()
    sq = (pred.astype(np.float64) - target.astype(np.float64)) ** 2
    assert psnr(pred, target) == pytest.approx(10 * math.log10(255**2 / sq.mean()), rel=1e-12)
    mse_hole = (sq * hole[:, :, None]).sum() / (hole.sum() * 3)
    assert psnr(pred, target, hole) == pytest.approx(10 * math.log10(255**2 / mse_hole), rel=1e-12)


def test_psnr_known_values():
    image = np.full((6, 6, 3), 100, np.uint8)
    assert psnr(image, image) == math.inf
    assert psnr(image + 1, image) == pytest.approx(20 * math.log10(255))
    assert psnr(np.zeros_like(image), np.full_like(image, 255)) == pytest.approx(0.0)
    pred, target = pair(4)
    hole = square_hole()
    pred[hole] = target[hole]
    assert psnr(pred, target, hole) == math.inf
    assert psnr(pred, target) < math.inf


def test_empty_hole_gives_nan():
    pred, target = pair(5)
    empty = np.zeros(pred.shape[:2], bool)
    assert math.isnan(l1_percent(pred, target, empty))
    assert math.isnan(psnr(pred, target, empty))
    assert math.isnan(ssim(pred, target, empty))


# ----------------------------------------------------------------------------- SSIM


def gaussian_window() -> np.ndarray:
    x = np.arange(11) - 5.0
    g = np.exp(-(x**2) / (2 * 1.5**2))
    w = np.outer(g, g)
    return w / w.sum()


def reference_ssim_map(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Straightforward 11x11 window SSIM per channel, mirror ('reflect') padding, same-size map."""
    w = gaussian_window()
    out = np.empty(pred.shape, np.float64)
    for c in range(3):
        x = np.pad(pred[:, :, c].astype(np.float64), 5, mode="reflect")
        y = np.pad(target[:, :, c].astype(np.float64), 5, mode="reflect")
        wx = np.lib.stride_tricks.sliding_window_view(x, (11, 11))
        wy = np.lib.stride_tricks.sliding_window_view(y, (11, 11))
        mx = (wx * w).sum(axis=(2, 3))
        my = (wy * w).sum(axis=(2, 3))
        vx = (w * (wx - mx[..., None, None]) ** 2).sum(axis=(2, 3))
        vy = (w * (wy - my[..., None, None]) ** 2).sum(axis=(2, 3))
        cxy = (w * (wx - mx[..., None, None]) * (wy - my[..., None, None])).sum(axis=(2, 3))
        out[:, :, c] = ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx**2 + my**2 + C1) * (vx + vy + C2))
    return out


def test_ssim_identical_is_one():
    _, target = pair(6)
    assert ssim(target, target) == pytest.approx(1.0, abs=1e-12)
    assert ssim(target, target, square_hole()) == pytest.approx(1.0, abs=1e-12)


def test_ssim_map_matches_reference_implementation():
    pred, target = pair(7)
    np.testing.assert_allclose(ssim_map(pred, target), reference_ssim_map(pred, target), rtol=1e-9, atol=1e-12)
    ref = reference_ssim_map(pred, target)
    assert ssim(pred, target) == pytest.approx(ref.mean(), rel=1e-9)
    hole = square_hole()
    assert ssim(pred, target, hole) == pytest.approx(ref[hole].mean(), rel=1e-9)
    assert -1.0 <= ssim(pred, target) < 1.0


def test_ssim_constant_images_closed_form_per_channel_mean():
    # Flat images have zero variance, so SSIM = (2ab + C1) / (a^2 + b^2 + C1) for each channel.
    a = np.array([10.0, 100.0, 200.0])
    b = np.array([20.0, 100.0, 150.0])
    pred = np.broadcast_to(a, (16, 16, 3)).astype(np.uint8)
    target = np.broadcast_to(b, (16, 16, 3)).astype(np.uint8)
    expected = ((2 * a * b + C1) / (a**2 + b**2 + C1)).mean()
    assert ssim(pred, target) == pytest.approx(expected, rel=1e-12)


def test_ssim_one_interior_pixel_by_hand():
    pred, target = pair(8, (24, 24))
    w = gaussian_window()
    y, x, c = 12, 11, 1
    px = pred[y - 5 : y + 6, x - 5 : x + 6, c].astype(np.float64)
    tx = target[y - 5 : y + 6, x - 5 : x + 6, c].astype(np.float64)
    mu_p, mu_t = (w * px).sum(), (w * tx).sum()
    var_p, var_t = (w * (px - mu_p) ** 2).sum(), (w * (tx - mu_t) ** 2).sum()
    cov = (w * (px - mu_p) * (tx - mu_t)).sum()
    luminance = (2 * mu_p * mu_t + C1) / (mu_p**2 + mu_t**2 + C1)
    contrast_structure = (2 * cov + C2) / (var_p + var_t + C2)
    assert ssim_map(pred, target)[y, x, c] == pytest.approx(luminance * contrast_structure, rel=1e-9)


# ----------------------------------------------------------------------------- BPE


def test_band_on_square_hole_is_a_ring_of_band_px():
    hole = np.zeros((32, 32), bool)
    hole[8:24, 8:24] = True
    band = boundary_band(hole, 3)
    ring = hole.copy()
    ring[11:21, 11:21] = False
    np.testing.assert_array_equal(band, ring)
    assert band.sum() == 16 * 16 - 10 * 10
    assert boundary_band(hole, 1).sum() == 16 * 16 - 14 * 14
    np.testing.assert_array_equal(boundary_band(hole, 8), hole)  # band wider than half the side: whole hole


def test_band_ignores_the_image_border_and_full_hole():
    hole = np.zeros((20, 20), bool)
    hole[:10, :10] = True  # touches the top and left image border
    expected = hole.copy()
    expected[:8, :8] = False
    np.testing.assert_array_equal(boundary_band(hole, 2), expected)
    assert not boundary_band(np.ones((8, 8), bool), 2).any()


def test_bpe_counts_only_the_band():
    target = np.full((32, 32, 3), 100, np.uint8)
    hole = np.zeros((32, 32), bool)
    hole[8:24, 8:24] = True
    ring = boundary_band(hole, 2)
    core = hole & ~ring
    in_ring = target.copy()
    in_ring[ring] = 151  # error 51 = 20 %
    assert boundary_pixel_error(in_ring, target, hole, band_px=2) == pytest.approx(20.0)
    in_core = target.copy()
    in_core[core] = 0
    assert boundary_pixel_error(in_core, target, hole, band_px=2) == 0.0
    outside = target.copy()
    outside[~hole] = 0
    assert boundary_pixel_error(outside, target, hole, band_px=2) == 0.0
    assert math.isnan(boundary_pixel_error(target, target, np.ones((32, 32), bool)))


def test_bpe_matches_direct_computation():
    pred, target = pair(9, (32, 32))
    hole = np.zeros((32, 32), bool)
    hole[5:25, 7:27] = True
    band = np.zeros_like(hole)
    band[5:25, 7:27] = True
    band[9:21, 11:23] = False  # 4-pixel ring of the 20x20 square
    diff = np.abs(pred.astype(np.float64) - target.astype(np.float64))
    expected = (diff * band[:, :, None]).sum() / (band.sum() * 3) / 255 * 100
    assert boundary_pixel_error(pred, target, hole, band_px=4) == pytest.approx(expected, rel=1e-12)


# ----------------------------------------------------------------------------- sharpness


def texture(size: int = 64, seed: int = 3) -> np.ndarray:
    """A photo-like texture: smooth gradient plus fine seeded noise, uint8 (size, size, 3)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    base = np.stack([xx * 2, yy * 2, (xx + yy)], axis=2).astype(np.float64)
    return np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)


def test_laplacian_energy_matches_direct_computation_inside_the_eroded_region():
    img = np.ascontiguousarray(texture(24)[:, :20])
    hole = square_hole()
    grey = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    y0, x0, y1, x1 = 7, 6, 15, 12  # the 1-px erosion of square_hole's box
    lap = (grey[y0 - 1 : y1 - 1, x0:x1] + grey[y0 + 1 : y1 + 1, x0:x1] + grey[y0:y1, x0 - 1 : x1 - 1]
           + grey[y0:y1, x0 + 1 : x1 + 1] - 4 * grey[y0:y1, x0:x1])
    assert laplacian_energy(img, hole) == pytest.approx((lap**2).mean(), rel=1e-9)


def test_sharpness_identical_is_one_and_a_blurred_copy_far_below():
    import cv2

    photo = texture()
    hole = np.zeros(photo.shape[:2], bool)
    hole[16:48, 12:52] = True
    assert sharpness(photo, photo, hole) == 1.0
    blurred = np.where(hole[..., None], cv2.GaussianBlur(photo, (0, 0), 2.0), photo)
    assert sharpness(blurred, photo, hole) < 0.1
    noisier = np.clip(photo + np.random.default_rng(0).normal(0, 40, photo.shape), 0, 255).astype(np.uint8)
    assert sharpness(noisier, photo, hole) > 1.5


def test_sharpness_ignores_the_step_at_the_hole_border():
    photo = np.full((32, 32, 3), 200, np.uint8)
    fill = photo.copy()
    hole = np.zeros((32, 32), bool)
    hole[8:24, 8:24] = True
    fill[hole] = 50  # flat, but far from the photo around it: a strong edge along the border
    assert laplacian_energy(fill, hole) == 0.0
    assert sharpness(fill, photo, hole) == 1.0  # both flat inside


def test_sharpness_edge_cases_and_the_mean_over_pairs():
    photo = texture(16)
    thin = np.zeros((16, 16), bool)
    thin[4:12, 7:9] = True  # 2 px wide: nothing left after the erosion
    assert math.isnan(sharpness(photo, photo, thin)) and math.isnan(sharpness(photo, photo, np.zeros_like(thin)))
    assert energy_ratio(3.0, 0.0) == math.inf and energy_ratio(0.0, 0.0) == 1.0
    assert math.isnan(energy_ratio(math.nan, 1.0))
    # ratio of the mean energies: a nearly flat photo (tiny reference) does not swamp the average
    assert mean_sharpness([(1.0, 0.01), (50.0, 100.0), (math.nan, 5.0)]) == pytest.approx(51.0 / 100.01)
    assert math.isnan(mean_sharpness([(math.nan, 1.0)]))


# ----------------------------------------------------------------------------- all_metrics and validation


def test_all_metrics_agrees_with_individual_functions():
    pred, target = pair(10)
    hole = square_hole()
    result = all_metrics(pred, target, hole, band_px=2)
    assert set(result) == {"l1_percent", "psnr", "ssim", "l1_percent_hole", "psnr_hole", "ssim_hole", "bpe",
                           "sharpness", "lap_energy", "lap_energy_true"}
    assert result["sharpness"] == pytest.approx(sharpness(pred, target, hole))
    assert result["lap_energy"] == pytest.approx(laplacian_energy(pred, hole))
    assert result["lap_energy_true"] == pytest.approx(laplacian_energy(target, hole))
    assert result["l1_percent"] == pytest.approx(l1_percent(pred, target))
    assert result["psnr"] == pytest.approx(psnr(pred, target))
    assert result["ssim"] == pytest.approx(ssim(pred, target))
    assert result["l1_percent_hole"] == pytest.approx(l1_percent(pred, target, hole))
    assert result["psnr_hole"] == pytest.approx(psnr(pred, target, hole))
    assert result["ssim_hole"] == pytest.approx(ssim(pred, target, hole))
    assert result["bpe"] == pytest.approx(boundary_pixel_error(pred, target, hole, band_px=2))


def test_inputs_are_not_modified():
    pred, target = pair(11)
    hole = square_hole()
    copies = pred.copy(), target.copy(), hole.copy()
    all_metrics(pred, target, hole, band_px=3)
    for before, after in zip(copies, (pred, target, hole), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize(
    ("pred", "target", "hole", "message"),
    [
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8), None, "differs from target"),
        (np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8), None, r"shape \(H, W, 3\)"),
        (np.zeros((4, 4, 3), np.int32), np.zeros((4, 4, 3), np.int32), None, "uint8 or float"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), "bool"),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8), np.zeros((3, 4), bool), "hole shape"),
    ],
)
def test_validation_errors(pred, target, hole, message):
    with pytest.raises(ValueError, match=message):
        l1_percent(pred, target, hole)


def test_band_px_must_be_positive():
    with pytest.raises(ValueError, match="band_px"):
        boundary_band(np.zeros((4, 4), bool), 0)
