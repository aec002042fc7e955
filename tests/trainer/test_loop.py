"""The training step of every network with a recipe: forward and backward; a few steps on one fixed batch lower the
loss of the shipped networks; previews; schedule; each recipe's own settings."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from tests.helpers import smallest_run, write_photo_folder
from trainer.arches import check, recipe_for, trainable_arches
from trainer.config import TrainConfig
from trainer.errors import ConfigError
from trainer.loop import Trainer, preview_grid


@pytest.mark.parametrize("arch", trainable_arches())
@pytest.mark.parametrize("precision", ["fp32", pytest.param("bf16", marks=pytest.mark.slow)])
def test_every_registered_network_steps_forward_and_backward(tmp_path, arch, precision):
    """One step of each network's recipe (bf16: the autocast path a GPU run takes, on the CPU): finite losses with a
    total, float32 weights that changed, and a preview of the batch's shapes."""
    config = TrainConfig(arch=arch, data=str(write_photo_folder(tmp_path / "photos")), init="random", device="cpu",
                         precision=precision, warmup_steps=0, evaluate=False, run_dir=str(tmp_path / "run"),
                         **smallest_run(arch))
    trainer = Trainer(config, export=False)
    trainer.setup()
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    batch = trainer.next_batch()
    losses = trainer.train_step(batch)
    assert "total" in losses and all(torch.isfinite(value).all() for value in losses.values())
    assert all(p.dtype == torch.float32 for p in trainer.generator.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters(), strict=True))
    preview = trainer.last_preview
    assert preview.completed.shape == batch.images.shape and preview.alpha.shape == batch.images.shape
    assert trainer.step == 1


@pytest.mark.slow
@pytest.mark.parametrize(("model", "batch", "steps"), [("dfnet", 2, 3), ("dmfn", 1, 3)])
def test_overfit_lowers_loss(tmp_path, model, batch, steps):
    config = TrainConfig(arch=model, data=str(write_photo_folder(tmp_path / "photos")), init="random", batch=batch,
                         device="cpu", precision="fp32", warmup_steps=0, evaluate=False,
                         run_dir=str(tmp_path / "run"))
    trainer = Trainer(config, export=False)
    trainer.setup()
    assert trainer.amp_dtype is None
    fixed = trainer.next_batch()
    assert fixed.images.shape == (batch, 3, 256, 256) and fixed.holes.shape == (batch, 1, 256, 256)
    losses = [trainer.train_step(fixed) for _ in range(steps)]
    totals = [float(step["total"]) for step in losses]
    assert all(np.isfinite(totals))
    assert totals[-1] < totals[0], totals
    assert trainer.step == steps


def test_preview_grid_layout():
    images = torch.rand(3, 3, 8, 8)
    holes = torch.zeros(3, 1, 8, 8)
    holes[:, :, 2:5, 2:5] = 1
    grid = preview_grid(images, holes, images, holes.expand(-1, 3, -1, -1))
    assert grid.shape == (24, 32, 3) and grid.dtype == np.uint8
    assert (grid[3, 3] == 128).all()  # the hole is shown grey in the input column
    assert (grid[3, 16 + 3] == 255).all()  # alpha column


def test_schedule_depends_only_on_the_step():
    config = TrainConfig(arch="dmfn", data=".", lr=1e-3, warmup_steps=4, lr_decay_every=10, lr_decay=0.5)
    base = recipe_for("dmfn").lr(config)
    assert base == 1e-3 and recipe_for("dmfn").lr(replace(config, lr=None)) == recipe_for("dmfn").base_lr
    assert config.lr_at(0, base) == pytest.approx(2.5e-4)
    assert config.lr_at(3, base) == pytest.approx(1e-3)
    assert config.lr_at(10, base) == pytest.approx(5e-4)
    assert config.lr_at(25, base) == pytest.approx(2.5e-4)


def test_a_config_written_before_arch_had_its_name_still_loads():
    old = {"model": "dmfn", "data": "photos", "lr": 1e-3, "some_newer_setting": 1}
    config = TrainConfig.from_dict(old)
    assert (config.arch, config.lr) == ("dmfn", 1e-3) and "model" in old
    assert TrainConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(("changes", "message"), [
    ({"arch": "dfnet", "size": 300}, "multiple of 256"),
    ({"arch": "dfnet", "batch": 1}, "at least 2"),
    ({"arch": "dmfn", "size": 96}, "multiple of 64"),
    ({"arch": "dmfn", "size": 64}, "multiple of 64 from 128"),
    ({"arch": "dmfn", "adversarial_from_step": -1}, "--adversarial-from-step"),
    ({"arch": "dmfn", "name": "../evil"}, "--name"),
    ({"arch": "dmfn", "data": "/no/such/folder"}, "not found"),
    ({"arch": "dfnet", "name": "opencv-telea"}, "built-in model's name"),
    ({"arch": "dfnet", "texture_scales": 4}, "--texture-scales must be 0 to 3"),
    ({"arch": "dfnet", "texture_from_step": -1}, "--texture-from-step"),
    ({"arch": "dfnet", "texture_weight": -0.5}, "--texture-weight must be 0 or more"),
    ({"arch": "dfnet", "style_region": "sky"}, "--style-region must be one of image, hole"),
    ({"arch": "dfnet", "input_fill": "blur"}, "--input-fill must be one of zeros, telea"),
    ({"arch": "dmfn", "input_fill": "blur"}, "--input-fill must be one of zeros, telea"),
    ({"arch": "nonet"}, "--model must be one of dfnet, dmfn"),
])
def test_bad_settings(tmp_path, changes, message):
    values = {"data": str(tmp_path), **changes}
    with pytest.raises(ConfigError, match=message):
        check(TrainConfig(**values))


def test_judge_needs_a_measurable_gain():
    from trainer.evaluate import judge

    def report(l1, psnr):
        return {"overall": {"count": 3, "l1_percent_hole": l1, "psnr_hole": psnr, "ssim": 0.5, "bpe": 1.0}}

    helped, text = judge(report(20.0, 15.0), report(18.0, 16.0), 3)
    assert helped is True and text.startswith("Fine-tuning helped")
    helped, text = judge(report(20.0, 15.0), report(19.99, 15.0), 3)
    assert helped is False and "no measurable difference" in text
    helped, text = judge(report(20.0, 15.0), report(22.0, 14.0), 3)
    assert helped is False and "did not help" in text
    assert judge({"overall": {}}, report(1.0, 1.0), 0)[0] is None


def test_precision_auto_uses_bf16_only_on_a_cpu_where_it_trains_faster(monkeypatch):
    import trainer.precision as precision

    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "cpu_bf16_faster", lambda: True)
    assert precision.resolve_amp_dtype("auto", cpu) == torch.bfloat16
    assert precision.resolve_amp_dtype("fp32", cpu) is None
    monkeypatch.setattr(precision, "cpu_bf16_faster", lambda: False)
    assert precision.resolve_amp_dtype("auto", cpu) is None
    assert precision.resolve_amp_dtype("bf16", cpu) == torch.bfloat16


def test_telea_input_fill_fills_the_hole_only():
    from trainer.arches import input_fill

    images = torch.zeros(2, 3, 32, 32)
    images[:, 0] = 0.8  # a red photo
    holes = torch.zeros(2, 1, 32, 32)
    holes[:, :, 8:20, 10:24] = 1
    assert input_fill("zeros", images, holes) is None and input_fill(None, images, holes) is None
    fill = input_fill("telea", images, holes)
    assert fill.shape == images.shape and fill.dtype == images.dtype
    inside = holes.bool().expand_as(images)
    torch.testing.assert_close(fill[inside], images[inside], atol=3 / 255, rtol=0)  # the hole takes the red
    torch.testing.assert_close(fill[~inside], images[~inside], atol=0.5 / 255, rtol=0)


@pytest.mark.slow
def test_recipe_texture_schedule_and_telea_fill(tmp_path, monkeypatch):
    """L1 + TV only before ``texture_from_step``, then VGG on the finest scale; the generator sees the Telea fill;
    a run from random initialisation resolves its input fill to zeros unless told otherwise."""
    import trainer.loop as loop_module

    photos = str(write_photo_folder(tmp_path / "photos"))
    config = TrainConfig(arch="dfnet", data=photos, init="random", batch=2, device="cpu", warmup_steps=0,
                         evaluate=False, texture_scales=1, texture_from_step=1, input_fill="telea",
                         run_dir=str(tmp_path / "run"))
    trainer = Trainer(config, export=False)
    trainer.setup()
    seen = []
    real_fill = loop_module.input_fill
    monkeypatch.setattr(loop_module, "input_fill", lambda kind, *a: seen.append(kind) or real_fill(kind, *a))
    first = trainer.train_step(trainer.next_batch())
    second = trainer.train_step(trainer.next_batch())
    assert first["perceptual"] == 0 and first["style"] == 0
    assert second["perceptual"] > 0 and second["style"] > 0
    assert seen == ["telea", "telea"]
    plain = Trainer(TrainConfig(arch="dfnet", data=photos, init="random", run_dir=str(tmp_path / "r2")),
                    export=False)
    plain.setup()
    assert plain.config.input_fill == "zeros"


def test_dmfn_trains_and_predicts_on_the_telea_fill(tmp_path, monkeypatch):
    """DMFN's generator sees the Telea fill of the hole, in its own range [-1, 1], in training and in prediction."""
    import trainer.arches.dmfn as recipe_module

    config = TrainConfig(arch="dmfn", data=str(write_photo_folder(tmp_path / "photos")), init="random", size=128,
                         batch=1, device="cpu", precision="fp32", warmup_steps=0, evaluate=False,
                         adversarial_from_step=10, input_fill="telea", run_dir=str(tmp_path / "run"))
    trainer = Trainer(config, export=False)
    trainer.setup()
    fills = []
    real_forward = trainer.generator.forward
    monkeypatch.setattr(trainer.generator, "forward", lambda *a, fill=None: fills.append(fill) or real_forward(
        *a, fill=fill))
    batch = trainer.next_batch()
    trainer.train_step(batch)
    images, holes = batch.images, batch.holes
    telea = recipe_module.input_fill("telea", images, holes)
    torch.testing.assert_close(fills[0], telea * 2 - 1)
    recipe_for("dmfn").predict(trainer.generator, images, holes, "telea")
    torch.testing.assert_close(fills[1], telea * 2 - 1)
    recipe_for("dmfn").predict(trainer.generator, images, holes, "zeros")
    assert fills[2] is None


def test_dmfn_from_random_initialisation_starts_at_its_pre_fill(tmp_path):
    """A DMFN run from random initialisation on a pre-fill predicts a correction to it that starts at zero: before
    any step the generator returns the classical fill in the hole; on zeros (the paper) it keeps its random init."""
    from trainer.arches import input_fill

    recipe = recipe_for("dmfn")
    photos = str(write_photo_folder(tmp_path / "photos"))
    runs = {}
    for fill in ("telea", "zeros"):
        config = TrainConfig(arch="dmfn", data=photos, init="random", size=128, batch=1, device="cpu",
                             precision="fp32", evaluate=False, input_fill=fill, run_dir=str(tmp_path / fill))
        runs[fill] = Trainer(config, export=False)
        runs[fill].setup()
    batch = runs["telea"].next_batch()
    images, holes = batch.images, batch.holes
    inside = holes.bool().expand_as(images)
    completed = recipe.predict(runs["telea"].generator, images, holes, "telea")
    torch.testing.assert_close(completed[inside], input_fill("telea", images, holes)[inside], atol=1e-6, rtol=0)
    assert runs["zeros"].generator.decoder[-1].weight.abs().sum() > 0


@pytest.mark.slow
def test_dmfn_warm_up_then_adversarial_at_128_px(tmp_path):
    """Before ``adversarial_from_step`` the discriminator neither learns nor judges; from it on, both, on 128 px
    crops with 64 px local patches."""
    config = TrainConfig(arch="dmfn", data=str(write_photo_folder(tmp_path / "photos")), init="random", size=128,
                         batch=1, device="cpu", precision="fp32", warmup_steps=0, evaluate=False,
                         adversarial_from_step=1, run_dir=str(tmp_path / "run"))
    trainer = Trainer(config, export=False)
    trainer.setup()
    batch = trainer.next_batch()
    assert batch.images.shape == (1, 3, 128, 128)
    before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    warm_up = trainer.train_step(batch)
    assert warm_up["adv"] == 0 and warm_up["fm_dis"] == 0 and warm_up["d"] == 0 and warm_up["mae"] > 0
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.discriminator.parameters(), strict=True))
    full = trainer.train_step(batch)
    assert full["adv"] > 0 and full["fm_dis"] > 0 and full["d"] > 0
    assert not all(torch.equal(a, b) for a, b in zip(before, trainer.discriminator.parameters(), strict=True))


def _options(arch: str, **settings):
    return recipe_for(arch).options(TrainConfig(arch=arch, data="photos", **settings))


def test_texture_weight_scales_the_vgg_losses_only():
    from trainer.losses import DFNetLossWeights

    recipe = recipe_for("dfnet")
    paper = DFNetLossWeights()
    assert recipe.loss_weights(_options("dfnet", texture_weight=1.0)) == paper
    light = recipe.loss_weights(_options("dfnet", texture_weight=0.01))
    assert light.perceptual == pytest.approx(paper.perceptual * 0.01) and light.style == pytest.approx(2.4)
    assert (light.l1, light.tv) == (paper.l1, paper.tv)


def test_texture_weight_scales_dmfns_vgg_terms_only():
    from trainer.losses import DMFNLossWeights

    recipe = recipe_for("dmfn")
    paper = DMFNLossWeights()
    assert recipe.loss_weights(_options("dmfn")) == paper
    light = recipe.loss_weights(_options("dmfn", texture_weight=0.1))
    assert light.lam == pytest.approx(2.5) and light.gamma == pytest.approx(0.1)
    assert (light.mae, light.eta, light.mu) == (paper.mae, paper.eta, paper.mu)


def test_texture_weight_zero_turns_the_vgg_losses_off():
    dfnet, dmfn = recipe_for("dfnet"), recipe_for("dmfn")
    off = _options("dfnet", texture_weight=0)
    assert dfnet.texture_scales(off, 10) == 0 and dfnet.texture_scales(replace(off, texture_weight=0.5), 10) == 3
    weights = dmfn.loss_weights(_options("dmfn", texture_weight=0))
    assert (weights.lam, weights.gamma, weights.mae) == (0, 0, 1)


def test_a_dmfn_step_minimises_the_weighted_total(tmp_path):
    config = TrainConfig(arch="dmfn", data=str(write_photo_folder(tmp_path / "photos")), init="random", size=128,
                         batch=1, device="cpu", precision="fp32", evaluate=False, input_fill="telea",
                         texture_weight=0.1, run_dir=str(tmp_path / "run"))
    trainer = Trainer(config, export=False)
    trainer.setup()
    terms = trainer.train_step(trainer.next_batch())
    assert terms["adv"] > 0  # the paper's schedule: the discriminator from the first step
    expected = (terms["mae"] + 2.5 * (terms["self_guided"] + terms["fm_vgg"]) + 0.1 * terms["align"]
                + 5 * terms["fm_dis"] + 0.03 * terms["adv"])
    assert float(terms["total"]) == pytest.approx(float(expected), rel=1e-5)


def test_compile_compiles_the_generator_in_place(tmp_path, monkeypatch):
    compiled = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *a, **k: compiled.append(type(self).__name__))
    photos = str(write_photo_folder(tmp_path / "photos"))
    for flag, expected in ((False, []), (True, ["DFNet"])):
        compiled.clear()
        trainer = Trainer(TrainConfig(arch="dfnet", data=photos, init="random", compile=flag, evaluate=False,
                                      run_dir=str(tmp_path / f"run{flag}")), export=False)
        trainer.setup()
        assert compiled == expected


@pytest.mark.parametrize("arch", [a for a in trainable_arches() if recipe_for(a).default_weights_args])
def test_the_default_weights_arguments_are_valid_train_settings(tmp_path, arch):
    """What tools/train_default.sh passes to ``fusionpaint train`` for each network (its recipe's
    ``default_weights_args``) parses and passes every check."""
    import argparse

    from trainer.cli import _TRAIN_FIELDS, add_subcommands

    parser = argparse.ArgumentParser()
    add_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", "--model", arch, *recipe_for(arch).default_weights_args, "--data",
                              str(tmp_path)])
    values = {k: getattr(args, k) for k in _TRAIN_FIELDS if getattr(args, k, None) is not None}
    assert check(TrainConfig(**values)) is recipe_for(arch)
