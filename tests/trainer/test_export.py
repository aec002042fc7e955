"""Exported models: safetensors + card in the user's models folder, found by the registry."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from engine.model_card import ModelCard
from engine.registry import build_network, get_spec, list_models, load_model
from engine.weights import read_arch
from trainer.config import TrainConfig
from trainer.export import export_model
from trainer.loop import train


def test_export_is_listed_and_loadable():
    torch.manual_seed(0)
    net = build_network("dmfn")
    card = ModelCard(base_model="dmfn", data="/photos", photo_count=4, steps=2, time_s=1.5, device="CPU",
                     metrics_before={"overall": {"l1_percent": 9.0}}, metrics_after={"overall": {"l1_percent": 8.0}},
                     helped=True)
    weights, card_path = export_model(net.state_dict(), name="my-dmfn", arch="dmfn", card=card)
    assert weights.name == "my-dmfn.safetensors" and card_path.name == "my-dmfn.json"
    assert read_arch(weights) == "dmfn"
    saved = json.loads(card_path.read_text())
    assert saved["name"] == "my-dmfn" and saved["photo_count"] == 4 and saved["helped"] is True
    names = [spec.name for spec in list_models()]
    assert "my-dmfn" in names
    spec = get_spec("my-dmfn")
    assert spec.arch == "dmfn" and spec.card.metrics_after["overall"]["l1_percent"] == 8.0
    model = load_model("my-dmfn", device="cpu")
    assert model.spec.name == "my-dmfn"


def test_half_precision_export_and_its_range_check(tmp_path):
    from engine.weights import load_weights

    state = {"w": torch.tensor([1.0, -2.5]), "n": torch.tensor(3)}
    weights, _ = export_model(state, name="half", arch="dmfn", card=ModelCard(), folder=tmp_path, dtype=torch.float16)
    loaded = load_weights(weights)
    assert loaded["w"].dtype == torch.float16 and loaded["n"].dtype == torch.int64
    with pytest.raises(ValueError, match="not finite as torch.float16, e.g. w"):
        export_model({"w": torch.tensor([1e6])}, name="big", arch="dmfn", card=ModelCard(), folder=tmp_path,
                     dtype=torch.float16)
    assert not (tmp_path / "big.safetensors").exists()


@pytest.mark.slow
def test_training_run_exports_a_listed_model(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    y, x = np.mgrid[0:64, 0:64]
    for i in range(5):
        rgb = np.stack([(x * 4 + 40 * i) % 256, (y * 4) % 256, ((x + y) * 2 + 60 * i) % 256], -1)
        Image.fromarray(rgb.astype(np.uint8)).save(folder / f"photo{i}.png")
    config = TrainConfig(arch="dmfn", data=str(folder), init="random", steps=1, device="cpu", name="from-run",
                         preview_every=0, eval_masks_per_photo=2, run_dir=str(tmp_path / "run"))
    # from random initialisation "before" is the best classical fill: one step of a random DMFN cannot beat it,
    # so by default nothing is exported and the run folder stays
    unhelpful = train(config)
    assert unhelpful.status == "done" and unhelpful.helped is False and unhelpful.model_name is None
    assert unhelpful.weights is None and "from-run" not in [spec.name for spec in list_models()]
    assert (tmp_path / "run" / "checkpoint.pt").is_file()

    config.keep_unhelpful = True
    config.run_dir = str(tmp_path / "kept")
    result = train(config)
    assert result.status == "done" and result.model_name == "from-run"
    assert result.weights.is_file() and result.card.is_file()
    card = json.loads(result.card.read_text())
    assert card["photo_count"] == 4 and card["held_out_count"] == 1 and card["steps"] == 1
    assert card["metrics_before"]["overall"]["count"] == 2 and isinstance(card["helped"], bool)
    assert card["summary"].startswith("Fine-tuning ")
    assert "from-run" in [spec.name for spec in list_models()]
    assert card["before_model"].startswith("patchmatch (the best classical fill")
    assert card["helped"] is False and card["metrics_before"]["overall"]["psnr_hole"] > 15
