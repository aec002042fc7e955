"""The time budget is the whole run's: reading, training, scoring and export end within it; a budget that buys too
few steps is refused with the budget needed; the scoring shrinks to the time left."""

import time
from dataclasses import replace

import numpy as np
import pytest

import trainer.loop as loop
from tests.helpers import write_photo_folder
from trainer.config import TrainConfig
from trainer.data import PhotoCache
from trainer.errors import ConfigError
from trainer.evaluate import compare_on_pairs, held_out_pairs
from trainer.loop import Trainer
from trainer.progress import Progress


class _Events(Progress):
    def __init__(self):
        super().__init__(enabled=True, json_lines=True)
        self.events = []

    def emit(self, event, **fields):
        self.events.append({"event": event, "t": time.perf_counter(), **fields})


def _config(tmp_path, **changes):
    photos = str(write_photo_folder(tmp_path / "photos", n=8))
    return TrainConfig(arch="dfnet", data=photos, init="random", batch=2, device="cpu", warmup_steps=0,
                       eval_masks_per_photo=1, preview_every=0, run_dir=str(tmp_path / "run"), **changes)


def test_a_budget_that_buys_too_few_steps_is_refused_with_the_budget_needed(tmp_path):
    progress = _Events()
    trainer = Trainer(_config(tmp_path, minutes=0.05), progress)
    with pytest.raises(ConfigError, match=r"needs at least 20: give --minutes \d+ or more") as info:
        trainer.run()
    assert "Nothing was trained or exported" in str(info.value)
    estimate = next(e for e in progress.events if e["event"] == "estimate")
    assert not estimate["enough"] and estimate["needed_minutes"] >= 1 and estimate["step_s"] > 0
    assert 1 <= trainer.step <= loop.TIMING_STEPS  # timed, not trained on: nothing was kept
    assert not (tmp_path / "run").exists()
    assert not any(e["event"] == "done" for e in progress.events)


@pytest.mark.slow
def test_a_timed_run_reports_its_phases_and_progress(tmp_path, monkeypatch):
    # whether the run ends within its minutes is measured by bench/bench_finetune.py, not timed here; no minimum
    # of steps, so that a loaded machine, whose steps are slow, still runs it
    monkeypatch.setattr(loop, "MIN_USEFUL_STEPS", 0)
    progress = _Events()
    result = Trainer(_config(tmp_path, minutes=0.75, texture_weight=0.0), progress, export=False).run()
    assert result.status == "done" and result.step >= 1 and result.after is not None
    steps = [e for e in progress.events if e["event"] == "step"]
    assert all(e["steps_expected"] >= e["step"] and e["time_left_s"] is not None for e in steps)
    phases = [e["name"] for e in progress.events if e["event"] == "phase"]
    assert phases[0] == "reading" and "training" in phases and phases[-1] == "scoring"
    done = progress.events[-1]
    assert done["event"] == "done" and done["run_bytes"] > 0


def test_the_scoring_stops_before_a_pair_that_would_pass_the_deadline(tmp_path):
    from engine.model_spec import ClassicalSpec, registered_specs

    classical = next(spec for spec in registered_specs() if isinstance(spec, ClassicalSpec))
    slow = replace(classical, fill=lambda images, holes, cancel, progress: time.sleep(0.1) or images.copy())
    images = [np.full((64, 64, 3), 40 * i, np.uint8) for i in range(4)]
    pairs = held_out_pairs(images, 3)
    assert [number for number, _, _ in pairs[:4]] == [0, 1, 2, 3]  # round robin: every photo's first mask first
    full = compare_on_pairs({"before": slow}, "dfnet", pairs)
    assert full["samples"] == 12 and full["photos"] == 4
    cut = compare_on_pairs({"before": slow}, "dfnet", pairs, deadline=time.perf_counter() + 0.35, pair_s=0.1)
    assert 1 <= cut["samples"] <= 4 and cut["pairs"] == 12 and cut["pair_s"] >= 0.1


def test_reading_stops_at_its_deadline_with_the_photos_read(tmp_path):
    folder = write_photo_folder(tmp_path / "photos", n=6)
    paths = sorted(folder.iterdir())
    seen = []
    cache = PhotoCache.decode(paths, min_side=32, max_side=128, deadline=time.perf_counter(),
                              progress=lambda done, total: seen.append((done, total)))
    assert cache.paths == paths[:1] and seen[0] == (1, 6)


def test_a_new_phase_is_reported_at_once_even_within_half_a_second_of_the_last_event(tmp_path):
    progress = _Events()
    trainer = Trainer(_config(tmp_path, minutes=0.75, texture_weight=0.0), progress, export=False)
    trainer._phase("training", 0, 0)
    trainer._phase("scoring", 1, 12)  # mid-way through its pairs, right after the training event
    trainer._phase("scoring", 2, 12)  # the same phase within half a second: left out
    phases = [(e["name"], e["done"]) for e in progress.events if e["event"] == "phase"]
    assert phases == [("training", 0), ("scoring", 1)]
