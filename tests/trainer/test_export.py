"""Exported models: safetensors + card in the user's models folder, found by the registry."""

import json

import torch

from engine.registry import build_network, get_spec, list_models, load_model
from engine.weights import read_arch
from trainer.export import export_model


def test_export_is_listed_and_loadable():
    torch.manual_seed(0)
    net = build_network("dmfn")
    card = {"base_model": "dmfn", "data": "/photos", "photo_count": 4, "steps": 2, "time_s": 1.5,
            "device": "CPU", "metrics_before": {"overall": {"l1_percent": 9.0}},
            "metrics_after": {"overall": {"l1_percent": 8.0}}, "helped": True}
    weights, card_path = export_model(net.state_dict(), name="my-dmfn", arch="dmfn", card=card)
    assert weights.name == "my-dmfn.safetensors" and card_path.name == "my-dmfn.json"
    assert read_arch(weights) == "dmfn"
    saved = json.loads(card_path.read_text())
    assert saved["name"] == "my-dmfn" and saved["photo_count"] == 4 and saved["helped"] is True
    names = [spec.name for spec in list_models()]
    assert "my-dmfn" in names
    spec = get_spec("my-dmfn")
    assert spec.arch == "dmfn" and spec.card["metrics_after"]["overall"]["l1_percent"] == 8.0
    model = load_model("my-dmfn", device="cpu")
    assert model.spec.name == "my-dmfn"
