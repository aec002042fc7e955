"""The pool of pre-filled training samples: every sample once per epoch, crop, hole and fill flipped together, the
same pool and order after a resume, and a time-budgeted PatchMatch run that pre-fills once instead of every step."""

from dataclasses import replace

import pytest
import torch

import trainer.loop as loop_module
import trainer.prefill_pool as prefill_pool_module
from tests.helpers import write_photo_folder
from trainer.arches import input_fill
from trainer.budget import POOL_SHARE
from trainer.checkpoint import load_checkpoint
from trainer.config import TrainConfig
from trainer.errors import ConfigError
from trainer.loop import Trainer
from trainer.prefill_pool import MAX_POOL_SAMPLES, PrefilledPool, pool_size_for


class _Source:
    """Batches of 2 distinct left-right asymmetric images (a ramp plus the sample's number) with a hole on the left."""

    def __init__(self) -> None:
        self.made = 0

    def next(self):
        images = torch.linspace(0, 0.5, 16).expand(2, 3, 16, 16).clone()
        images += torch.tensor([self.made, self.made + 1]).view(2, 1, 1, 1) / 100
        self.made += 2
        holes = torch.zeros(2, 1, 16, 16)
        holes[:, :, 4:10, 2:6] = 1
        return images, holes


def _pool(samples=6, seed=3):
    return PrefilledPool.build(_Source(), "telea", samples, seed=seed)


def test_pool_size_is_its_share_of_the_budget_in_whole_batches():
    assert pool_size_for(600, 1.0, 2) == int(POOL_SHARE * 600) // 2 * 2
    assert pool_size_for(10, 100.0, 2) == 2  # at least one batch
    assert pool_size_for(10**6, 0.01, 4) == MAX_POOL_SAMPLES


def test_every_sample_once_per_epoch_with_crop_hole_and_fill_flipped_together():
    pool = _pool()
    assert len(pool) == 6
    stored = {round(float(image[0, 0, -1]) * 100): k for k, image in enumerate(pool.images.float())}
    seen = []
    for _ in range(3):  # one epoch: 3 batches of 2
        batch = pool.next()
        for image, hole, fill in zip(batch.images, batch.holes, batch.fill, strict=True):
            flipped = bool(image[0, 0, 0] > image[0, 0, -1])  # the ramp rises to the right unless flipped
            k = stored[round(float(image[0, 0, 0 if flipped else -1]) * 100)]
            seen.append(k)
            expect = [pool.images[k].float(), pool.holes[k].float(), pool.fills[k].float()]
            if flipped:
                expect = [t.flip(-1) for t in expect]
            for got, want in zip((image, hole, fill), expect, strict=True):
                torch.testing.assert_close(got, want)
    assert sorted(seen) == list(range(6))
    assert pool.state_dict() == {"epoch": 1, "position": 0, "samples": 6}


def test_the_fill_is_the_pre_fill_of_the_pooled_crop():
    source = _Source()
    images, holes = source.next()
    pool = PrefilledPool.build(_Source(), "telea", 2, seed=0)
    torch.testing.assert_close(pool.fills.float(), input_fill("telea", images, holes).half().float())


def test_a_restored_pool_continues_the_same_order():
    a, b = _pool(), _pool()
    for _ in range(4):
        a.next()
    b.load_state_dict(a.state_dict())
    torch.testing.assert_close(a.next().images, b.next().images)
    with pytest.raises(ValueError, match="held 6 samples"):
        _pool(samples=4).load_state_dict(a.state_dict())


def test_a_pool_out_of_its_share_of_the_budget_keeps_at_least_one_batch():
    assert len(PrefilledPool.build(_Source(), "telea", 100, seed=0, budget_s=0.0)) == 2


def test_an_automatic_pool_is_sized_on_its_first_batch_and_keeps_it(monkeypatch):
    sized = []
    monkeypatch.setattr(prefill_pool_module, "pool_size_for",
                        lambda seconds, sample_s, batch: sized.append((seconds, batch)) or 3 * batch)
    source = _Source()
    pool = PrefilledPool.build(source, "telea", None, seed=0, budget_s=600.0)
    assert sized == [(600.0, 2)]
    assert len(pool) == 6 and source.made == 6  # the timed batch is one of the three
    with pytest.raises(ValueError, match="needs the budget"):
        PrefilledPool.build(_Source(), "telea", None, seed=0)


def _config(data, run_dir, steps, **changes):
    return TrainConfig(arch="dfnet", data=str(data), init="random", batch=2, steps=steps, device="cpu",
                       precision="fp32", warmup_steps=1, evaluate=False, preview_every=0, checkpoint_every=100,
                       texture_scales=0, input_fill="telea", prefill_pool=4, run_dir=str(run_dir), **changes)


def test_a_run_with_a_pool_pre_fills_only_while_making_it(tmp_path, monkeypatch):
    seen = []
    real_fill = loop_module.input_fill
    monkeypatch.setattr(loop_module, "input_fill", lambda kind, *a: seen.append(kind) or real_fill(kind, *a))
    trainer = Trainer(_config(write_photo_folder(tmp_path / "photos"), tmp_path / "run", 3), export=False)
    result = trainer.run()
    assert result.step == 3 and len(trainer.pool) == 4 and trainer.config.prefill_pool == 4
    assert seen == []  # the pool made its fills itself; the three steps made none


@pytest.mark.slow
def test_a_resumed_run_rebuilds_the_same_pool_and_continues_exactly(tmp_path):
    data = write_photo_folder(tmp_path / "photos")
    straight = Trainer(_config(data, tmp_path / "a", 4), export=False)
    straight.run()
    Trainer(_config(data, tmp_path / "b", 2), export=False).run()
    resumed = Trainer(None, resume=tmp_path / "b", overrides={"steps": 4}, export=False)
    resumed.run()
    torch.testing.assert_close(resumed.pool.images, straight.pool.images, rtol=0, atol=0)
    a, b = load_checkpoint(tmp_path / "a"), load_checkpoint(tmp_path / "b")
    assert a["pool"] == b["pool"] == {"epoch": 2, "position": 0, "samples": 4}
    for key, value in a["generator"].items():
        assert torch.equal(value, b["generator"][key]), key


def test_the_automatic_pool_is_made_for_patchmatch_with_a_time_budget_only(tmp_path, monkeypatch):
    data = write_photo_folder(tmp_path / "photos")
    sized = []
    monkeypatch.setattr(prefill_pool_module, "pool_size_for",
                        lambda seconds, sample_s, batch: sized.append(seconds) or batch)
    automatic = {"prefill_pool": None, "input_fill": "patchmatch"}
    budgeted = Trainer(replace(_config(data, tmp_path / "a", None, minutes=30), **automatic), export=False)
    budgeted.setup()
    budgeted._build_pool()
    assert sized == [30 * 60] and len(budgeted.pool) == 2 and budgeted.config.prefill_pool == 2
    by_steps = Trainer(replace(_config(data, tmp_path / "b", 2), **automatic), export=False)
    by_steps.setup()
    by_steps._build_pool()
    assert by_steps.pool is None and by_steps.config.prefill_pool == 0


def test_a_pool_needs_a_pre_fill(tmp_path):
    trainer = Trainer(replace(_config(write_photo_folder(tmp_path / "photos"), tmp_path / "run", 1),
                              input_fill="zeros"), export=False)
    trainer.setup()
    with pytest.raises(ConfigError, match="--prefill-pool needs a pre-fill"):
        trainer._build_pool()
