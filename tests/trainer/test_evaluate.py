"""evaluate: synthetic photos + binned masks -> per-bin table with the OpenCV baselines."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.helpers import write_photo_folder
from trainer.evaluate import BASELINES, evaluate, format_table, prepare_photo, ratio_bin


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
        assert entry["all"]["count"] == 5
    assert calls[-1] == pytest.approx(1.0)
    table = format_table(report)
    assert "opencv-telea" in table and "20-30" in table and "LPIPS" in table
    limited = evaluate(["opencv-ns"], tmp_path / "photos", tmp_path / "masks", device="cpu", size=32, limit=1)
    assert limited["bins"] == {"00-10": 1, "20-30": 1, "50-60": 1}


def test_unknown_model_is_reported_not_fatal(tmp_path):
    write_photo_folder(tmp_path / "photos", n=1)
    _masks(tmp_path / "masks")
    report = evaluate(["no-such-model"], tmp_path / "photos", tmp_path / "masks", device="cpu", size=32, limit=1)
    assert "no-such-model" in report["skipped_models"]
    assert "skipped no-such-model" in format_table(report)


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
