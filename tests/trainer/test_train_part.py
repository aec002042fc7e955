"""``--train-part``: only the named part of a network trains; the rest keeps its weights and BatchNorm statistics,
through scoring and across a resume."""

import pytest
import torch
from torch import nn

from tests.helpers import smallest_run, write_photo_folder
from trainer.arches import check, recipe_for, trainable_arches
from trainer.checkpoint import load_checkpoint
from trainer.config import TrainConfig
from trainer.errors import ConfigError
from trainer.evaluate import compare_on_pairs, held_out_pairs
from trainer.loop import Trainer

PARTS = [(arch, part) for arch in trainable_arches() for part in recipe_for(arch).trainable_parts]


def _config(tmp_path, arch, part, steps=1, run="run"):
    return TrainConfig(arch=arch, data=str(write_photo_folder(tmp_path / "photos")), init="random", device="cpu",
                       precision="fp32", **smallest_run(arch), steps=steps, warmup_steps=0, evaluate=False,
                       preview_every=0, checkpoint_every=100, train_part=part, run_dir=str(tmp_path / run))


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_dfnet_and_dmfn_name_their_parts():
    assert set(recipe_for("dfnet").trainable_parts) == {"decoder", "fusion"}
    assert set(recipe_for("dmfn").trainable_parts) == {"decoder"}


@pytest.mark.parametrize(("arch", "part"), PARTS)
def test_only_the_part_trains(tmp_path, arch, part):
    trainer = Trainer(_config(tmp_path, arch, part), export=False)
    trainer.setup()
    trained = recipe_for(arch).trainable_parts[part]
    before = {name: _state(child) for name, child in trainer.generator.named_children()}
    optimised = {id(p) for group in trainer.optim_g.param_groups for p in group["params"]}
    trainer.train_step(trainer.next_batch())
    for name, child in trainer.generator.named_children():
        after = _state(child)
        changed = [k for k in after if not torch.equal(after[k], before[name][k])]
        if name in trained:
            assert changed, f"{name} should train"
            assert all(id(p) in optimised for p in child.parameters())
        else:  # weights and BatchNorm running statistics alike
            assert not changed, f"{name} is frozen but changed: {changed[:3]}"
            assert not child.training and not any(p.requires_grad for p in child.parameters())
            assert not any(id(p) in optimised for p in child.parameters())


def test_scoring_leaves_the_frozen_part_in_eval_mode(tmp_path):
    trainer = Trainer(_config(tmp_path, "dfnet", "fusion"), export=False)
    trainer.setup()
    modes = {name: module.training for name, module in trainer.generator.named_modules()}
    image = torch.rand(256, 256, 3).mul(255).byte().numpy()
    compare_on_pairs({"after": trainer.generator}, "dfnet", held_out_pairs([image], 1))
    assert {name: module.training for name, module in trainer.generator.named_modules()} == modes
    assert not trainer.generator.encoder.training and trainer.generator.fusion.training


@pytest.mark.slow
def test_a_resumed_part_run_continues_exactly(tmp_path):
    Trainer(_config(tmp_path, "dfnet", "fusion", steps=2, run="a"), export=False).run()
    Trainer(_config(tmp_path, "dfnet", "fusion", steps=1, run="b"), export=False).run()
    resumed = Trainer(None, resume=tmp_path / "b", overrides={"steps": 2}, export=False)
    resumed.run()
    assert resumed.config.train_part == "fusion"
    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    assert a["step"] == b["step"] == 2
    for key, value in a["generator"].items():
        assert torch.equal(value, b["generator"][key]), key


@pytest.mark.parametrize(("arch", "part"), [("dfnet", "encoder"), ("dmfn", "fusion")])
def test_a_part_the_network_does_not_have_is_refused_with_its_parts(tmp_path, arch, part):
    with pytest.raises(ConfigError, match="--train-part must be one of all, "):
        check(_config(tmp_path, arch, part))
