"""Procedural and folder hole masks: ratios, variety, reproducibility, resume."""

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from trainer.masks import FolderMaskSampler, MaskSampler, hole_ratio, lasso_mask, random_mask


def test_ratios_within_range_and_spread():
    masks = MaskSampler(64, seed=3).next(200)
    assert masks.shape == (200, 1, 64, 64) and masks.dtype == torch.float32
    assert set(masks.unique().tolist()) <= {0.0, 1.0}
    ratios = np.array([hole_ratio(m) for m in masks])
    assert ratios.min() >= 0.0 and ratios.max() <= 0.6
    counts, _ = np.histogram(ratios, bins=6, range=(0.0, 0.6))
    assert (counts >= 10).all(), counts  # every 10 % bin is well represented


def test_narrow_range_is_respected():
    sampler = MaskSampler(48, ratio_range=(0.3, 0.35), seed=1)
    ratios = [hole_ratio(m) for m in sampler.next(40)]
    assert min(ratios) >= 0.3 and max(ratios) <= 0.35


def test_reproducible_by_seed_and_varied():
    a = MaskSampler(32, seed=5).next(6)
    b = MaskSampler(32, seed=5).next(6)
    c = MaskSampler(32, seed=6).next(6)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert len({m.numpy().tobytes() for m in a}) == 6


def test_state_dict_resume_gives_the_same_next_batch():
    s = MaskSampler(32, seed=2)
    s.next(5)
    state = s.state_dict()
    expected = s.next(4)
    resumed = MaskSampler(32, seed=2)
    resumed.load_state_dict(state)
    assert torch.equal(resumed.next(4), expected)
    with pytest.raises(ValueError):
        MaskSampler(32, seed=9).load_state_dict(state)


def test_random_mask_is_bool():
    m = random_mask(40, np.random.default_rng(0), (0.1, 0.2))
    assert m.dtype == bool and m.shape == (40, 40) and 0.1 <= m.mean() <= 0.2


def test_hole_ratio_accepts_arrays_and_tensors():
    m = np.zeros((4, 4), bool)
    m[:2] = True
    assert hole_ratio(m) == 0.5
    assert hole_ratio(torch.from_numpy(m).float()) == 0.5
    assert hole_ratio(m.astype(np.uint8) * 255) == 0.5


def test_folder_masks(tmp_path):
    for i in range(3):
        a = np.zeros((40, 40), np.uint8)
        a[: 10 * (i + 1)] = 255
        Image.fromarray(a).save(tmp_path / f"m{i}.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    s = FolderMaskSampler(tmp_path, 20, seed=1)
    assert len(s) == 3 and len(s.skipped) == 1
    batch = s.next(6)
    assert batch.shape == (6, 1, 20, 20)
    # Each epoch uses every mask once (ratio preserved by flips and 90-degree rotations).
    assert sorted(round(hole_ratio(m), 2) for m in batch[:3]) == [0.25, 0.5, 0.75]
    state = s.state_dict()
    nxt = s.next(2)
    r = FolderMaskSampler(tmp_path, 20, seed=1)
    r.load_state_dict(state)
    assert torch.equal(r.next(2), nxt)


def test_empty_mask_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no readable mask"):
        FolderMaskSampler(tmp_path, 16)


def test_lasso_mask_is_one_smooth_region_of_the_asked_area():
    for seed in range(20):
        rng = np.random.default_rng(seed)
        area = rng.uniform(0.03, 0.25)
        m = lasso_mask(120, 160, rng, area)
        assert m.dtype == bool and m.shape == (120, 160)
        assert abs(m.mean() - area) < 0.01 + 0.1 * area  # rounding of the outline, clipping at the border
        count, _ = cv2.connectedComponents(m.astype(np.uint8), connectivity=8)
        assert count == 2  # background + one region
    assert not lasso_mask(32, 32, np.random.default_rng(0), 0.0).any()


def test_procedural_masks_draw_lasso_holes(monkeypatch):
    import trainer.masks as masks

    assert masks._STYLE_WEIGHTS[masks.STYLES.index("lasso")] >= 0.25  # object removal is a main use
    monkeypatch.setattr(masks, "_STYLE_WEIGHTS", tuple(float(s == "lasso") for s in masks.STYLES))
    for i in range(10):
        m = random_mask(64, np.random.default_rng([7, i]), (0.05, 0.3))
        count, _ = cv2.connectedComponents(m.astype(np.uint8), connectivity=8)
        assert count == 2 and 0.05 <= m.mean() <= 0.3
    wide = random_mask(64, np.random.default_rng(1), (0.45, 0.5))  # beyond one lasso's size: several shapes
    assert 0.45 <= wide.mean() <= 0.5
