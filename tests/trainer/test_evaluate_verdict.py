"""The fine-tune's own verdict: compare_on_pairs reports the texture measures, judge weighs them with L1 and PSNR."""

import time
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from engine.model_spec import ClassicalSpec, registered_specs
from trainer.evaluate import (
    GRAM_TOLERANCE,
    LASSO_BINS,
    MIN_GAIN,
    PSNR_TOLERANCE_DB,
    FeatureScores,
    compare_on_pairs,
    held_out_pairs,
    judge,
)
from trainer.masks import hole_ratio


def _report(l1, psnr, gram=None, sharp=None):
    row = {"count": 4, "l1_percent_hole": l1, "psnr_hole": psnr, "ssim": 0.8, "bpe": 2.0}
    if gram is not None:
        row["gram_dist"] = gram
    if sharp is not None:
        row["sharpness"] = sharp
    return {"overall": row}


def test_a_smaller_l1_with_a_worse_texture_did_not_help():
    helped, text = judge(_report(2.0, 24.0, 0.50, 0.9), _report(1.8, 24.5, 0.56, 0.6), 3)
    assert helped is False and text.startswith("Fine-tuning did not help")
    assert "a smaller L1 error but texture further from the photo's" in text
    assert "Gram-d 0.5000 -> 0.5600" in text and "sharpness 0.90 -> 0.60" in text


def test_a_closer_texture_with_a_larger_l1_did_not_help_and_says_so():
    helped, text = judge(_report(2.02, 23.98, 0.556, 0.88), _report(2.18, 23.19, 0.497, 1.18), 12)
    assert helped is False and "did not help (texture closer to the photo's but a larger L1 error)" in text


def test_smaller_l1_and_closer_texture_helped():
    helped, text = judge(_report(2.0, 24.0, 0.50, 0.9), _report(1.8, 24.5, 0.45, 1.0), 3)
    assert helped is True and text.startswith("Fine-tuning helped:")
    for part in ("hole L1 2.00% -> 1.80%", "hole PSNR 24.00 -> 24.50 dB", "Gram-d 0.5000 -> 0.4500",
                 "sharpness 0.90 -> 1.00", "SSIM 0.800 -> 0.800", "BPE 2.00% -> 2.00%", "3 held-out photos"):
        assert part in text


def test_a_texture_within_the_tolerance_does_not_stop_a_gain():
    within = 0.5 * (1 + GRAM_TOLERANCE / 2)
    assert judge(_report(2.0, 24.0, 0.5), _report(1.8, 24.5, within), 3)[0] is True
    beyond = 0.5 * (1 + 2 * GRAM_TOLERANCE)
    helped, text = judge(_report(2.0, 24.0, 0.5), _report(1.8, 24.5, beyond), 3)
    assert helped is False and "did not help" in text


def test_only_the_texture_getting_worse_did_not_help():
    helped, text = judge(_report(2.0, 24.0, 0.5), _report(2.0, 24.0, 0.6), 3)
    assert helped is False and text.startswith("Fine-tuning did not help")


def test_an_l1_gain_with_a_psnr_drop_or_a_gain_below_min_gain_is_no_measurable_difference():
    helped, text = judge(_report(2.0, 24.0, 0.5), _report(1.9, 23.5, 0.5), 3)
    assert helped is False and "no measurable difference (a smaller L1 error but a lower PSNR)" in text
    helped, text = judge(_report(2.0, 24.0, 0.5), _report(2.0 * (1 - MIN_GAIN / 2), 24.0, 0.45), 3)
    assert helped is False and "no measurable difference" in text


def test_a_psnr_fall_within_the_tolerance_does_not_stop_a_gain_in_l1_and_texture():
    # the 30-minute fine-tune of docs/fine-tuning.md: L1 and texture better, PSNR 0.08 dB lower
    helped, text = judge(_report(10.03, 18.42, 0.459), _report(9.52, 18.34, 0.414), 5)
    assert PSNR_TOLERANCE_DB > 0.08 and helped is True and text.startswith("Fine-tuning helped")
    helped, text = judge(_report(2.0, 24.0, 0.5), _report(1.8, 24.0 - 2 * PSNR_TOLERANCE_DB, 0.45), 3)
    assert helped is False and "a smaller L1 error but a lower PSNR" in text


def test_a_report_without_the_gram_distance_is_judged_by_l1_and_psnr():
    helped, text = judge(_report(2.0, 24.0), _report(1.8, 24.5), 3)
    assert helped is True and "Gram-d not measured" in text and "sharpness" not in text
    helped, text = judge(_report(2.0, 24.0), _report(2.2, 23.0), 3)
    assert helped is False and "did not help" in text
    # a metric with no finite value is None in a report
    assert judge(_report(2.0, 24.0, None), _report(1.8, 24.5, None, None), 1)[0] is True
    old = {"overall": {"count": 2, "l1_percent_hole": 2.0, "psnr_hole": None}}  # no SSIM, BPE either
    assert judge(old, {"overall": {"count": 2, "l1_percent_hole": 1.5, "psnr_hole": None}}, 1)[0] is True


class _TinyNet(nn.Module):
    """A random-weight stand-in with DFNet's calling convention (results[0]: the fill, RGB [0, 1])."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.conv = nn.Conv2d(4, 3, 3, padding=1)

    def forward(self, image, hole, fill=None):
        return SimpleNamespace(results=[torch.sigmoid(self.conv(torch.cat([image * (1 - hole), hole], 1)))])


def _photos(n=2, size=64):
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]


@pytest.fixture(scope="module")
def features():
    return FeatureScores(torch.device("cpu"))


def test_compare_on_pairs_reports_the_texture_measures(features):
    classical = next(spec for spec in registered_specs() if isinstance(spec, ClassicalSpec))
    pairs = held_out_pairs(_photos(), 2)
    report = compare_on_pairs({"before": classical, "after": _TinyNet(0)}, "dfnet", pairs, features=features)
    assert report["samples"] == 4
    for name in ("before", "after"):
        overall = report[name]["overall"]
        assert overall["count"] == 4
        assert overall["gram_dist"] is not None and overall["gram_dist"] >= 0
        assert overall["sharpness"] is not None and overall["sharpness"] >= 0
        assert "vgg_dist" in overall and "l1_percent_hole" in overall
        for row in report[name]["bins"].values():
            assert {"gram_dist", "sharpness", "count"} <= set(row)
    helped, text = judge(report["before"], report["after"], report["photos"])
    assert helped in (True, False) and "Gram-d" in text and "sharpness" in text


def test_compare_on_pairs_builds_the_vgg_itself():
    pairs = held_out_pairs(_photos(1), 1)
    report = compare_on_pairs({"after": _TinyNet(1)}, "dfnet", pairs)
    assert report["after"]["overall"]["gram_dist"] is not None


def test_the_time_per_pair_includes_the_texture_measures(features):
    class Slow:
        def __call__(self, pred, target, hole):
            time.sleep(0.05)
            return features(pred, target, hole)

    pairs = held_out_pairs(_photos(), 1)
    report = compare_on_pairs({"before": _TinyNet(0), "after": _TinyNet(1)}, "dfnet", pairs, features=Slow())
    assert report["samples"] == 2 and report["pair_s"] >= 2 * 0.05


def test_the_held_out_holes_are_the_editors_lasso_holes_one_per_area_bin():
    images = [np.zeros((64, 64, 3), np.uint8) for _ in range(2)]
    pairs = held_out_pairs(images, 3)
    assert [number for number, _, _ in pairs] == [0, 1, 0, 1, 0, 1]
    for index, (_, _, hole) in enumerate(pairs):
        _, lo, hi = LASSO_BINS[index // 2]
        assert hole.shape == (1, 64, 64) and hole.dtype == torch.float32
        assert lo * 0.8 <= hole_ratio(hole) <= hi * 1.2  # rasterising a small shape adds a few % to its area
        shapes = cv2.connectedComponents((hole[0].numpy() > 0.5).astype(np.uint8))[0] - 1
        assert shapes == 1, "a lasso hole is one closed shape"
    assert held_out_pairs(images, 3)[2][2].equal(pairs[2][2]), "seeded: the same holes every run"

