"""evaluate: synthetic photos + binned masks -> per-bin table with the OpenCV baselines."""

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import write_photo_folder
from trainer.evaluate import (
    BASELINES,
    LASSO_BINS,
    MAX_SIZE,
    eval_set,
    evaluate,
    format_table,
    masked_gram_distance,
    mean_metrics,
    prepare_photo,
    ratio_bin,
)


def _masks(folder):
    for name, box in (("00-10", (10, 18)), ("20-30", (4, 26))):
        (folder / name).mkdir(parents=True)
        for j in range(2):
            m = np.zeros((128, 128), np.uint8)
            lo, hi = box[0] * 4, box[1] * 4
            m[lo:hi, 40 + j * 4 : 40 + j * 4 + (hi - lo)] = 255
            Image.fromarray(m).save(folder / name / f"m{j}.png")
    extra = np.zeros((128, 128), np.uint8)
    extra[:64] = 255  # 50 % -> measured bin "50-60"
    Image.fromarray(extra).save(folder / "loose.png")


def test_prepare_photo_and_bins():
    img = np.zeros((30, 50, 3), np.uint8)
    img[:, 10:40] = 200
    out = prepare_photo(img, 30)
    assert out.shape == (30, 30, 3) and (out == 200).all()
    assert prepare_photo(img, 16).shape == (16, 16, 3)
    assert ratio_bin(0.0) == "00-10" and ratio_bin(0.23) == "20-30" and ratio_bin(1.0) == "90-100"


@pytest.mark.slow
def test_evaluate_classical_models(tmp_path):
    write_photo_folder(tmp_path / "photos", n=3)
    _masks(tmp_path / "masks")
    calls = []
    report = evaluate([], tmp_path / "photos", tmp_path / "masks", device="cpu", size=32,
                      progress=lambda f, m: calls.append(f))
    json.dumps(report, allow_nan=False)
    assert list(report["models"]) == list(BASELINES)
    assert report["bins"] == {"00-10": 2, "20-30": 2, "50-60": 1}
    assert report["photos"] == 2
    for entry in report["models"].values():
        row = entry["bins"]["20-30"]
        assert row["count"] == 2
        assert 0 < row["l1_percent"] < 100 and 0 < row["ssim"] <= 1 and row["psnr"] > 5
        assert row["vgg_dist"] > 0 and row["bpe"] > 0
        assert row["gram_dist"] > 0 and 0 < row["sharpness"] < 10
        assert entry["all"]["count"] == 5
    assert calls[-1] == pytest.approx(1.0)
    table = format_table(report)
    assert "opencv-telea" in table and "20-30" in table and "LPIPS" in table and "Gram-d" in table
    limited = evaluate(["opencv-ns"], tmp_path / "photos", tmp_path / "masks", device="cpu", size=32, limit=1)
    assert limited["bins"] == {"00-10": 1, "20-30": 1, "50-60": 1}


def test_unknown_model_is_reported_not_fatal(tmp_path):
    write_photo_folder(tmp_path / "photos", n=1)
    _masks(tmp_path / "masks")
    report = evaluate(["no-such-model", "opencv-ns"], tmp_path / "photos", tmp_path / "masks", device="cpu", size=32,
                      limit=1)
    assert "no-such-model" in report["skipped_models"] and "opencv-ns" in report["models"]
    assert "skipped no-such-model" in format_table(report)


def test_the_baselines_are_not_scored_when_no_model_asked_for_can_be_loaded(tmp_path):
    write_photo_folder(tmp_path / "photos", n=1)
    _masks(tmp_path / "masks")
    calls = []
    report = evaluate(["no-such-model"], tmp_path / "photos", tmp_path / "masks", device="cpu", size=32, limit=1,
                      progress=lambda f, m: calls.append(m))
    assert report["models"] == {} and list(report["skipped_models"]) == ["no-such-model"] and calls == []
    assert "skipped no-such-model" in format_table(report)


@pytest.mark.parametrize("size", [15, MAX_SIZE + 1])
def test_an_evaluation_size_out_of_range_is_refused_before_reading(tmp_path, size):
    with pytest.raises(ValueError, match=f"16 to {MAX_SIZE} px, got {size}"):
        eval_set(tmp_path / "no-photos", lasso=True, size=size)


@pytest.mark.slow
def test_evaluate_random_dfnet_from_weights_file(tmp_path):
    weights = pytest.importorskip("engine.weights")
    registry = pytest.importorskip("engine.registry")
    write_photo_folder(tmp_path / "photos", n=1)
    _masks(tmp_path / "masks")
    path = tmp_path / "random-dfnet.safetensors"
    weights.save_weights(path, registry.build_network("dfnet").state_dict(), arch="dfnet")
    report = evaluate([str(path)], tmp_path / "photos", tmp_path / "masks", device="cpu", size=64, limit=1)
    assert str(path) in report["models"], report["skipped_models"]
    assert report["models"][str(path)]["all"]["count"] == 3
    json.dumps(report, allow_nan=False)
    assert str(path) in format_table(report)


def test_bar_misses_names_each_bin_and_metric_that_falls_short():
    from trainer.evaluate import bar_misses, format_miss

    def row(l1, psnr, ssim, vgg):
        return {"count": 5, "l1_percent": l1, "psnr": psnr, "ssim": ssim, "vgg_dist": vgg}

    baselines = {"00-10": row(0.4, 34.0, 0.97, 0.05), "20-30": row(1.8, 25.4, 0.87, 0.22)}
    report = {"models": {name: {"bins": dict(baselines)} for name in BASELINES}}
    report["models"]["opencv-ns"]["bins"]["20-30"] = row(1.7, 25.5, 0.88, 0.21)  # the better baseline there
    report["models"]["net"] = {"bins": {"00-10": row(0.5, 33.0, 0.96, 0.04), "20-30": row(1.6, 25.6, 0.89, 0.20)}}
    assert bar_misses(report, "net") == []  # small holes: only the VGG distance counts
    report["models"]["net"]["bins"]["20-30"] = row(1.6, 25.5, 0.89, 0.23)
    misses = bar_misses(report, "net")
    assert misses == [("20-30", "vgg_dist", 0.23, 0.21), ("20-30", "psnr", 25.5, 25.5)]
    assert format_miss(misses[0]) == "20-30 vgg_dist 0.2300 vs 0.2100 (+0.0200)"


def test_the_bar_sees_texture_and_blur_against_a_chosen_rival():
    """Gram distance and sharpness count in every bin where the report has them; the rival can be PatchMatch."""
    from trainer.evaluate import bar_misses

    def row(vgg, gram, sharp):
        return {"count": 5, "vgg_dist": vgg, "gram_dist": gram, "sharpness": sharp}

    report = {"models": {"patchmatch": {"bins": {"03-08": row(0.07, 0.50, 0.90)}},
                         "smooth": {"bins": {"03-08": row(0.06, 0.70, 0.02)}},
                         "sharp": {"bins": {"03-08": row(0.06, 0.45, 0.95)}}}}
    assert bar_misses(report, "sharp", rivals=("patchmatch",)) == []
    assert bar_misses(report, "smooth", rivals=("patchmatch",)) == [("03-08", "gram_dist", 0.70, 0.50),
                                                                    ("03-08", "sharpness", 0.02, 0.90)]
    old = {"models": {"patchmatch": {"bins": {"03-08": {"vgg_dist": 0.07}}}, "net": {"bins": {"03-08": row(0.06, 0.9,
                                                                                                           0.1)}}}}
    assert bar_misses(old, "net", rivals=("patchmatch",)) == []  # a rival scored before the texture columns


def _features(seed, shape=(8, 16, 16)):
    return torch.from_numpy(np.random.default_rng(seed).random(shape))


def test_masked_gram_distance_reads_the_hole_only():
    hole = torch.zeros(16, 16, dtype=torch.bool)
    hole[4:12, 2:10] = True
    a = {"f": _features(0)}
    assert masked_gram_distance(a, a, hole, ("f",)) == 0.0
    b = {"f": a["f"].clone()}
    b["f"][:, ~hole] = 5.0  # outside the hole: no effect
    assert masked_gram_distance(b, a, hole, ("f",)) == pytest.approx(0.0, abs=1e-12)
    b["f"][:, hole] *= 2.0  # G scales by 4: ||4G - G|| / ||G|| = 3
    assert masked_gram_distance(b, a, hole, ("f",)) == pytest.approx(3.0)
    zero = {"f": torch.zeros(8, 16, 16, dtype=torch.float64)}
    assert masked_gram_distance(zero, a, hole, ("f",)) == pytest.approx(1.0)
    # a coarser layer: the hole is area-downsampled and positions at least half in it are kept
    coarse = {"f": _features(1, (8, 4, 4)), "g": _features(2)}
    other = {"f": _features(3, (8, 4, 4)), "g": coarse["g"]}
    assert masked_gram_distance(coarse, other, hole, ("f", "g")) > 0
    assert math.isnan(masked_gram_distance(a, a, torch.zeros(16, 16, dtype=torch.bool), ("f",)))


@pytest.fixture(scope="module")
def feature_scores():
    from trainer.evaluate import FeatureScores

    return FeatureScores(torch.device("cpu"))


def _texture(size=64, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    stripes = 128 + 90 * np.sin(xx * 0.9 + 0.3 * yy)
    rgb = np.stack([stripes, stripes * 0.7, 255 - stripes], axis=2) + rng.normal(0, 10, (size, size, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def test_gram_distance_prefers_the_texture_to_a_flat_fill(feature_scores):
    photo = _texture()
    hole = np.zeros((64, 64), bool)
    hole[16:48, 16:48] = True
    same = feature_scores(photo, photo, hole)
    assert same["gram_dist"] == pytest.approx(0.0, abs=1e-9) and same["vgg_dist"] == pytest.approx(0.0, abs=1e-9)
    shifted = np.where(hole[..., None], np.roll(photo, (5, 7), axis=(0, 1)), photo)
    grey = np.where(hole[..., None], photo[hole].mean(axis=0).astype(np.uint8), photo)
    textured, flat = feature_scores(shifted, photo, hole)["gram_dist"], feature_scores(grey, photo, hole)["gram_dist"]
    assert 0 < textured < 0.5 * flat


def test_lasso_set_is_seeded_per_photo_and_binned_by_area(tmp_path):
    write_photo_folder(tmp_path / "photos", n=3)
    cases = eval_set(tmp_path / "photos", lasso=True, size=64, masks_per_photo=2)
    assert cases.bins == {name: 6 for name, _, _ in LASSO_BINS}
    assert len(cases.photos) == 3 and [p.photo for p in cases.pairs[:6]] == [0, 0, 1, 1, 2, 2]
    for pair in cases.pairs:
        _, lo, hi = next(b for b in LASSO_BINS if b[0] == pair.bin)
        assert pair.hole.dtype == np.bool_ and lo * 0.9 <= pair.hole.mean() <= hi * 1.2, (pair.bin, pair.hole.mean())
    again = eval_set(tmp_path / "photos", lasso=True, size=64, masks_per_photo=2, limit=3)
    assert again.bins == {name: 3 for name, _, _ in LASSO_BINS} and len(again.photos) == 2
    for a, b in zip(again.pairs[:3], cases.pairs[:3], strict=True):  # the limit takes the first, same holes
        np.testing.assert_array_equal(a.hole, b.hole)
    assert not np.array_equal(cases.pairs[0].hole, cases.pairs[1].hole)
    with pytest.raises(ValueError, match="not both"):
        eval_set(tmp_path / "photos", tmp_path, lasso=True)
    with pytest.raises(ValueError, match="lasso set only"):
        eval_set(tmp_path / "photos", tmp_path, masks_per_photo=2)


@pytest.mark.slow
def test_evaluate_on_the_lasso_set_reports_texture_columns(tmp_path):
    write_photo_folder(tmp_path / "photos", n=2)
    report = evaluate([], tmp_path / "photos", lasso=True, device="cpu", size=48, baselines=("opencv-telea",))
    json.dumps(report, allow_nan=False)
    assert report["bins"] == {"03-08": 2, "08-15": 2, "15-25": 2} and "lasso" in report["pairing"]
    row = report["models"]["opencv-telea"]["all"]
    assert row["count"] == 6 and row["gram_dist"] > 0
    assert row["sharpness"] > 0
    assert row["sharpness"] == pytest.approx(row["lap_energy"] / row["lap_energy_true"])
    assert "15-25" in format_table(report)


def test_old_reports_without_texture_columns_still_render():
    row = {"count": 2, "l1_percent": 1.0, "psnr": 30.0, "ssim": 0.9, "bpe": 2.0, "vgg_dist": 0.1}
    report = {"size": 256, "photos": 1, "device": "cpu", "bins": {"00-10": 2},
              "models": {"opencv-ns": {"bins": {"00-10": row}, "all": row}}}
    line = next(x for x in format_table(report).splitlines() if x.startswith("00-10"))
    assert line.split()[-2:] == ["-", "-"]
    assert mean_metrics([])["count"] == 0
