"""Resuming continues exactly (2 + 2 steps == 4 steps, bit for bit on the CPU); SIGTERM writes a checkpoint."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import write_photo_folder
from trainer.checkpoint import load_checkpoint
from trainer.config import TrainConfig
from trainer.loop import EXIT_STOPPED, Trainer

ROOT = Path(__file__).resolve().parents[2]



def _config(data, run_dir, steps):
    return TrainConfig(arch="dfnet", data=str(data), init="random", batch=2, steps=steps, device="cpu",
                       warmup_steps=1, lr_decay_every=3, evaluate=False, preview_every=0, checkpoint_every=100,
                       run_dir=str(run_dir))


@pytest.mark.slow
def test_two_plus_two_equals_four(tmp_path):
    data = write_photo_folder(tmp_path / "photos")
    straight = Trainer(_config(data, tmp_path / "a", 4), export=False).run()
    assert straight.status == "done" and straight.step == 4
    first_trainer = Trainer(_config(data, tmp_path / "b", 2), export=False)
    first = first_trainer.run()
    assert first.step == 2 and "random initialisation" in first_trainer.base_note
    resumed_trainer = Trainer(None, resume=tmp_path / "b", overrides={"steps": 4}, export=False)
    resumed_trainer.setup()
    assert resumed_trainer.base_note == ""  # the log must not claim a fresh start
    resumed = resumed_trainer.run()
    assert resumed.step == 4
    a = load_checkpoint(tmp_path / "a")
    b = load_checkpoint(tmp_path / "b")
    assert a["step"] == b["step"] == 4
    assert a["samplers"] == b["samplers"]
    for key, value in a["generator"].items():
        assert torch.equal(value, b["generator"][key]), key
    for pa, pb in zip(a["optim_g"]["state"].values(), b["optim_g"]["state"].values(), strict=True):
        assert all(torch.equal(pa[k], pb[k]) for k in pa)


@pytest.mark.slow
def test_sigterm_writes_checkpoint(tmp_path):
    data = write_photo_folder(tmp_path / "photos")
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "trainer.cli", "train", "--model", "dfnet", "--data", str(data), "--init", "random",
           "--steps", "1000", "--batch", "2", "--device", "cpu", "--json-progress", "--no-evaluate",
           "--preview-every", "0", "--run-dir", str(run_dir)]
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    events = []
    try:
        for line in proc.stdout:
            events.append(json.loads(line))
            if events[-1]["event"] == "step":
                proc.send_signal(signal.SIGTERM)
                break
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    events += [json.loads(line) for line in rest.splitlines()]
    assert proc.returncode == EXIT_STOPPED["SIGTERM"], err
    kinds = [e["event"] for e in events if e["event"] not in ("log", "phase")]
    assert kinds[0] == "start" and "stopped" in kinds and "done" not in kinds
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert 1 <= checkpoint["step"] < 1000
    assert checkpoint["config"]["arch"] == "dfnet"
    summary = json.loads((run_dir / "run.json").read_text())  # what the runs list shows without the checkpoint
    assert summary["step"] == checkpoint["step"] and summary["arch"] == "dfnet"


def test_a_checkpoint_cannot_choose_where_a_resumed_run_writes(tmp_path):
    from trainer.checkpoint import save_checkpoint
    from trainer.errors import ConfigError

    data = write_photo_folder(tmp_path / "photos")
    config = _config(data, tmp_path / "elsewhere", 4).to_dict()
    for folder in ("run", "run folder"):
        save_checkpoint(tmp_path / folder / "checkpoint.pt", {"config": config, "run_name": "../../escaped", "step": 0})
    trainer = Trainer(None, resume=tmp_path / "run", export=False)
    assert trainer.config.run_dir == str(tmp_path / "run")  # not the folder the checkpoint names
    assert trainer._run_name() == "run"  # the folder's name (a renamed run keeps its new name), not the checkpoint's
    unnamed = Trainer(None, resume=tmp_path / "run folder", export=False)  # no valid name: the checkpoint's is checked
    with pytest.raises(ConfigError, match="run name '../../escaped' is not a valid model name"):
        unnamed.setup()


def test_an_export_never_replaces_an_existing_model(tmp_path):
    from trainer.export import free_model_name, model_paths

    assert free_model_name("mine", tmp_path) == "mine"
    for name in ("mine", "mine-2"):
        model_paths(name, tmp_path)[0].write_bytes(b"weights")
    assert free_model_name("mine", tmp_path) == "mine-3"


@pytest.mark.parametrize("by", ["--run-dir", "--name"])
def test_a_new_run_never_overwrites_a_kept_one(tmp_path, capsys, by):
    """A run stopped before it exported keeps its checkpoint: a new run of that name or folder is refused with one
    line that names --resume, and the kept checkpoint stays as it was."""
    from engine.paths import user_runs_dir
    from trainer.cli import main

    data = write_photo_folder(tmp_path / "photos")
    run_dir = tmp_path / "kept" if by == "--run-dir" else user_runs_dir() / "kept-run"
    Trainer(_config(data, run_dir, 1), export=False).run()
    before = (run_dir / "checkpoint.pt").read_bytes()
    target = [by, str(run_dir) if by == "--run-dir" else "kept-run"]
    code = main(["train", "--model", "dfnet", "--data", str(data), "--init", "random", "--steps", "2", "--batch", "2",
                 "--device", "cpu", "--no-evaluate", "--preview-every", "0", *target])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--resume" in err[0] and str(run_dir) in err[0]
    assert (run_dir / "checkpoint.pt").read_bytes() == before
