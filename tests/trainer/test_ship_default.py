"""tools/ship_default.py: kept weights that met the bar are copied with a model card; others are refused."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from engine.weights import save_weights, sha256_of

TOOL = Path(__file__).resolve().parents[2] / "tools" / "ship_default.py"
BINS = ("00-10", "20-30")


def _tool():
    spec = importlib.util.spec_from_file_location("ship_default", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _scores(l1, psnr, ssim, vgg):
    return {"count": 3, "l1_percent": l1, "psnr": psnr, "ssim": ssim, "vgg_dist": vgg}


def _write_run(tmp_path: Path, *, misses=(), limit=None, arch="dfnet", recipe=None):
    kept = tmp_path / "runs" / f"{arch}-default.safetensors"
    save_weights(kept, {"w": torch.arange(6, dtype=torch.float16)}, arch=arch)
    network = _scores(1.5, 26.0, 0.88, 0.20)
    card = {"arch": arch, "input_fill": "telea", "total_steps": 9000, "total_images": 72000,
            "total_cpu_s": 36000.0, "device": "CPU: test", "recipe": recipe or {"batch": 8, "input_fill": "telea"},
            "val": {"all": network, "bins": {b: network for b in BINS}}, "val_limit": limit,
            "bar_misses": list(misses)}
    kept.with_suffix(".json").write_text(json.dumps(card))
    baselines = {name: {"all": row, "bins": {b: row for b in BINS}}
                 for name, row in (("opencv-telea", _scores(1.8, 25.4, 0.869, 0.228)),
                                   ("opencv-ns", _scores(1.7, 25.5, 0.871, 0.222)))}
    baselines_path = tmp_path / "baselines.json"
    baselines_path.write_text(json.dumps({"key": {"photos": 2, "size": 256, "bins": dict.fromkeys(BINS, 3)},
                                          "models": baselines}))
    log = tmp_path / "progress.md"
    log.write_text("| date | CPU | steps |\n|---|---|---|\n| 2026-11-22 | CPU: AMD EPYC | 10 |\n"
                   "| 2026-11-22 | CPU: Intel Xeon | 20 |\n| 2026-11-23 | CPU: AMD EPYC | 30 |\n")
    return kept, baselines_path, log


def test_ships_weights_unchanged_with_a_card(tmp_path, capsys):
    tool = _tool()
    kept, baselines, log = _write_run(tmp_path)
    out = tmp_path / "weights"
    assert tool.main(["dfnet", "--kept", str(kept), "--baselines", str(baselines), "--log", str(log),
                      "--out", str(out)]) == 0
    shipped = out / "dfnet.safetensors"
    assert shipped.read_bytes() == kept.read_bytes()
    sha = sha256_of(shipped)
    assert sha in capsys.readouterr().out
    card = (out / "dfnet.md").read_text()
    assert sha in card and "9,000 steps" in card and "72,000 images" in card and "10.0 CPU" in card
    assert "CPUs (AMD EPYC; Intel Xeon)" in card  # each CPU once, in order
    row = "| 20-30 | 1.50 / 1.80 / 1.70 | 26.00 / 25.40 / 25.50 | 0.880 / 0.869 / 0.871 | 0.2000 / 0.2280 / 0.2220 |"
    assert row in card
    assert "non-commercial" in card and "telea" in card
    assert "3 pairs of 2 validation photos" in card and "256 px" in card  # from the scores, not fixed text
    assert "across a seam band of 8 px" in card
    # the totals the next default-weights run continues from ship beside the weights
    totals = json.loads((out / "dfnet.training.json").read_text())
    assert totals == json.loads(kept.with_suffix(".json").read_text())


def test_a_dmfn_card_names_its_own_losses_and_output(tmp_path, capsys):
    tool = _tool()
    recipe = {"size": 128, "batch": 4, "input_fill": "telea", "adversarial_from_step": 10**9, "texture_scales": 3,
              "texture_weight": 0.01}
    kept, baselines, log = _write_run(tmp_path, arch="dmfn", recipe=recipe)
    out = tmp_path / "weights"
    assert tool.main(["dmfn", "--kept", str(kept), "--baselines", str(baselines), "--log", str(log),
                      "--out", str(out)]) == 0
    card = (out / "dmfn.md").read_text()
    assert "predicts a correction to" in card and "learned alpha" not in card
    assert "self-guided regression" in card and "no discriminator" in card and "texture_scales" not in card
    assert "size 128, batch 4" in card and "texture_weight 0.01" in card
    assert "Composition: hard" in card and "seam band" not in card  # DMFN's spec: seam band 0
    recipe["adversarial_from_step"] = 5000
    kept, baselines, log = _write_run(tmp_path, arch="dmfn", recipe=recipe)
    assert tool.main(["dmfn", "--kept", str(kept), "--baselines", str(baselines), "--log", str(log),
                      "--out", str(out)]) == 0
    assert "discriminator's (relativistic average GAN and feature matching) from step 5,000" in (
        out / "dmfn.md").read_text()


def test_the_card_tells_the_pre_fill_the_editor_gives_the_weights(tmp_path, capsys):
    tool = _tool()
    kept, baselines, log = _write_run(tmp_path)
    report = {"bins": dict.fromkeys(BINS, 3), "models": {
        name: {"all": row, "bins": {b: row for b in BINS}}
        for name, row in (("dfnet", _scores(1.6, 25.9, 0.87, 0.19)), ("patchmatch", _scores(1.9, 25.1, 0.85, 0.21)))}}
    inference = tmp_path / "inference.json"
    inference.write_text(json.dumps({"input_fill": "patchmatch", "command": "fusionpaint evaluate ...",
                                     "report": report}))
    out = tmp_path / "weights"
    args = ["dfnet", "--kept", str(kept), "--baselines", str(baselines), "--log", str(log), "--out", str(out)]
    assert tool.main([*args, "--inference", str(inference)]) == 0
    assert 'input_fill="patchmatch"' in capsys.readouterr().out
    card = (out / "dfnet.md").read_text()
    assert "trained with the hole pre-filled by the classical `telea` fill" in card
    assert "## In the editor: on `patchmatch`'s pre-fill" in card
    assert "| 20-30 | 1.60 / 1.90 | 25.90 / 25.10 | 0.870 / 0.850 | 0.1900 / 0.2100 |" in card
    report["bins"] = {"00-10": 3}  # scored on other pairs: refused
    inference.write_text(json.dumps({"input_fill": "patchmatch", "command": "-", "report": report}))
    assert tool.main([*args, "--out", str(tmp_path / "w2"), "--inference", str(inference)]) == 1
    assert "other validation pairs" in capsys.readouterr().err


@pytest.mark.parametrize(("misses", "limit", "reason"), [
    (["00-10 vgg_dist 0.05 vs 0.046 (+0.004)"], None, "misses the bar"),
    ((), 20, "not scored on the whole validation set"),
])
def test_refuses_weights_that_miss_the_bar_or_were_scored_on_part(tmp_path, capsys, misses, limit, reason):
    tool = _tool()
    kept, baselines, log = _write_run(tmp_path, misses=misses, limit=limit)
    out = tmp_path / "weights"
    assert tool.main(["dfnet", "--kept", str(kept), "--baselines", str(baselines), "--log", str(log),
                      "--out", str(out)]) == 1
    assert reason in capsys.readouterr().err
    assert not out.exists()


def test_refuses_weights_of_another_architecture(tmp_path, capsys):
    tool = _tool()
    kept, baselines, log = _write_run(tmp_path)
    save_weights(kept, {"w": torch.zeros(2)}, arch="dmfn")
    assert tool.main(["dfnet", "--kept", str(kept), "--baselines", str(baselines), "--log", str(log),
                      "--out", str(tmp_path / "weights")]) == 1
    assert "holds dmfn weights" in capsys.readouterr().err


def test_the_card_adds_the_texture_columns_where_the_scores_have_them(tmp_path):
    tool = _tool()
    network = {**_scores(1.5, 26.0, 0.88, 0.20), "gram_dist": 0.31, "sharpness": 0.874}
    val = {"all": network, "bins": {b: network for b in BINS}}
    old = _scores(1.8, 25.4, 0.869, 0.228)  # baselines scored before the texture columns
    textured = {**_scores(1.7, 25.5, 0.871, 0.222), "gram_dist": 0.52, "sharpness": 0.41}
    baselines = {"opencv-telea": {"all": old, "bins": {b: old for b in BINS}},
                 "opencv-ns": {"all": textured, "bins": {b: textured for b in BINS}}}
    table = tool.evaluation_table("dfnet", val, baselines)
    assert "Gram-d (dfnet / Telea / NS)" in table and "Sharpness (dfnet / Telea / NS)" in table
    assert "| 0.3100 / - / 0.5200 | 0.874 / - / 0.410 |" in table
    old_val = {"all": _scores(1.5, 26.0, 0.88, 0.20), "bins": {b: _scores(1.5, 26.0, 0.88, 0.20) for b in BINS}}
    assert "Gram-d" not in tool.evaluation_table("dfnet", old_val, baselines)  # an old card renders as before
