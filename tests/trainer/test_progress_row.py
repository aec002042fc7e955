"""tools/progress_row.py: the recipe cell names each architecture's own loss schedule."""

import importlib.util
import json
from pathlib import Path

from trainer.config import TrainConfig

TOOL = Path(__file__).resolve().parents[2] / "tools" / "progress_row.py"


def _tool():
    spec = importlib.util.spec_from_file_location("progress_row", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_recipe_cell_describes_each_architecture():
    recipe = _tool()._recipe
    warm_up = TrainConfig(arch="dmfn", data="x", size=128, adversarial_from_step=10**9, input_fill="telea")
    assert recipe(warm_up, 4) == "batch 4, auto, 128 px, warm-up (no discriminator), correction to the telea fill"
    full = TrainConfig(arch="dmfn", data="x", size=256, adversarial_from_step=5000, input_fill="zeros")
    assert "discriminator from step 5,000" in recipe(full, 4) and "VGG" not in recipe(full, 4)
    assert recipe(full, 4).endswith(", fill zeros")
    light = TrainConfig(arch="dmfn", data="x", size=128, adversarial_from_step=10**9, input_fill="telea",
                        texture_weight=0.01)
    assert "warm-up (no discriminator), VGG terms x 0.01, correction" in recipe(light, 4)
    dfnet = TrainConfig(arch="dfnet", data="x", texture_scales=1, texture_from_step=200, input_fill="patchmatch",
                        texture_weight=1.0, style_region="image")
    assert recipe(dfnet, 8) == "batch 8, auto, 256 px, VGG on 1 scale(s) from step 200, fill patchmatch"
    hole_style = TrainConfig(arch="dfnet", data="x", input_fill="patchmatch")  # DFNet's defaults: style on the hole
    assert recipe(hole_style, 8) == ("batch 8, auto, 256 px, VGG on 3 scale(s) x 0.3 from step 0, style on the hole, "
                                     "fill patchmatch")


def test_cells_add_the_texture_columns_where_the_report_has_them():
    tool = _tool()
    old = {"l1_percent": 2.3, "psnr": 26.31, "ssim": 0.8412, "vgg_dist": 0.2731}
    assert tool._cell(old) == "2.30 / 26.31 / 0.841 / 0.273"  # rows scored before them read as they did
    assert tool._cell({**old, "gram_dist": None, "sharpness": None}) == "2.30 / 26.31 / 0.841 / 0.273"
    texture = tool._cell({**old, "gram_dist": 0.4123, "sharpness": 0.756})
    assert texture == "2.30 / 26.31 / 0.841 / 0.273 / G 0.412 / S 0.756"


def test_a_baselines_cache_without_the_texture_columns_is_scored_again():
    tool = _tool()
    old = {"all": {"count": 2, "l1_percent": 2.0, "vgg_dist": 0.2}}
    new = {"all": {**old["all"], "gram_dist": 0.3, "sharpness": 0.8}}
    report = {"models": {"net": new}}
    rivals = ["opencv-telea", "opencv-ns"]
    assert not tool._has_every_metric({"models": {"opencv-telea": old, "opencv-ns": old}}, report, rivals)
    assert tool._has_every_metric({"models": {"opencv-telea": new, "opencv-ns": new}}, report, rivals)
    assert not tool._has_every_metric({"models": {"opencv-telea": new, "opencv-ns": new}}, report, ["patchmatch"])


def test_keep_compares_the_chosen_distance_and_replaces_a_card_scored_without_it(tmp_path, monkeypatch):
    tool = _tool()
    written = []
    monkeypatch.setattr(tool, "export_model", lambda *a, **k: written.append(k["card"]))
    path = tmp_path / "dfnet-default.safetensors"
    path.with_suffix(".json").write_text(json.dumps({"val": {"all": {"vgg_dist": 0.2}}, "val_limit": None}))
    state = {"generator": {}, "arch": "dfnet"}
    assert tool._keep(path, state, {"n": 1}, "vgg_dist", 0.25, None).startswith("not kept")
    assert tool._keep(path, state, {"n": 2}, "gram_dist", 0.5, None).startswith("kept")  # no Gram-d on the card
    path.with_suffix(".json").write_text(json.dumps({"val": {"all": {"gram_dist": 0.4}}, "val_limit": None}))
    assert tool._keep(path, state, {"n": 3}, "gram_dist", 0.5, None).startswith("not kept")
    assert [card.extra for card in written] == [{"n": 2}]


def test_better_weights_are_kept_with_their_card_and_worse_ones_are_not(tmp_path):
    import torch

    keep = _tool()._keep
    state = {"generator": {"w": torch.ones(2)}, "arch": "dfnet"}
    path = tmp_path / "default-dfnet-kept.safetensors"
    card = {"total_steps": 3, "val": {"all": {"gram_dist": 0.5}}, "val_limit": None, "input_fill": "patchmatch"}
    assert keep(path, state, card, "gram_dist", 0.5, None).startswith("kept:")
    written = json.loads(path.with_suffix(".json").read_text())
    assert written["total_steps"] == 3 and written["val"]["all"]["gram_dist"] == 0.5 and written["arch"] == "dfnet"
    worse = {**card, "val": {"all": {"gram_dist": 0.6}}}
    assert keep(path, state, worse, "gram_dist", 0.6, None).startswith("not kept")
