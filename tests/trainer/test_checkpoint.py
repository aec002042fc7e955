"""Checkpoint files: atomic writes, safe loading, random states and numpy sampler states."""

import random

import numpy as np
import pytest
import torch

from trainer.checkpoint import (
    CHECKPOINT_VERSION,
    CheckpointError,
    from_plain,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
    to_plain,
)


def test_round_trip_is_weights_only_safe(tmp_path):
    state = {
        "step": 7,
        "config": {"model": "dmfn", "lr": 2e-4, "masks": None},
        "generator": {"w": torch.arange(6.0).reshape(2, 3)},
        "rng": rng_state(),
        "samplers": {"photos": {"seed": 1, "order": np.arange(5)}, "masks": {"seed": 2, "drawn": 3}},
    }
    path = save_checkpoint(tmp_path / "run" / "checkpoint.pt", state)
    assert [p.name for p in path.parent.iterdir()] == ["checkpoint.pt"]  # no temporary file left behind
    raw = torch.load(path, weights_only=True)
    assert raw["version"] == CHECKPOINT_VERSION
    loaded = load_checkpoint(path.parent)  # a run folder works too
    assert loaded["step"] == 7 and loaded["config"]["masks"] is None
    assert torch.equal(loaded["generator"]["w"], state["generator"]["w"])
    order = loaded["samplers"]["photos"]["order"]
    assert isinstance(order, np.ndarray) and order.tolist() == [0, 1, 2, 3, 4]


def test_rng_state_restores_every_generator():
    state = rng_state()
    a = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_state(to_plain(state))
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def test_plain_conversion_round_trip():
    obj = {"a": np.int64(3), "b": (np.ones(2, np.float32), [np.zeros(1)])}
    back = from_plain(to_plain(obj))
    assert back["a"] == 3 and isinstance(back["b"], tuple)
    assert np.array_equal(back["b"][0], np.ones(2, np.float32)) and back["b"][0].dtype == np.float32


def test_bad_files_give_one_line_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"w": torch.zeros(1)}, other)
    with pytest.raises(CheckpointError, match="not a FusionPaint"):
        load_checkpoint(other)
    old = tmp_path / "old.pt"
    torch.save({"version": CHECKPOINT_VERSION + 1}, old)
    with pytest.raises(CheckpointError, match="version"):
        load_checkpoint(old)


class _Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_checkpoint_with_code_is_refused_without_torch_advice(tmp_path, capsys):
    evil = tmp_path / "evil.pt"
    torch.save({"version": CHECKPOINT_VERSION, "payload": _Payload()}, evil)
    with pytest.raises(CheckpointError, match="holds Python objects besides tensors") as caught:
        load_checkpoint(evil)
    assert "weights_only" not in str(caught.value)
    assert "this must never run" not in capsys.readouterr().out


def test_a_full_disk_is_named_and_stale_temporary_files_go(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    import trainer.checkpoint as ckpt

    path = tmp_path / "checkpoint.pt"
    (tmp_path / ".checkpoint.pt.abc123.tmp").write_bytes(b"x" * 100)  # left by a killed save
    save_checkpoint(path, {"step": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]

    def short_write(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(ckpt.torch, "save", short_write)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 2**20, 2**20))
    with pytest.raises(CheckpointError, match=r"could not write checkpoint .*: the disk is full \(1 MB free\)"):
        save_checkpoint(path, {"step": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]
    assert load_checkpoint(path)["step"] == 1


def test_a_flipped_bit_in_a_tensor_is_refused(tmp_path):
    weights = torch.arange(4096, dtype=torch.float32) + 0.25
    path = save_checkpoint(tmp_path / "checkpoint.pt", {"step": 3, "generator": {"w": weights}})
    assert load_checkpoint(path)["step"] == 3
    data = bytearray(path.read_bytes())
    offset = bytes(data).index(weights[1000:1004].numpy().tobytes())  # the tensor's bytes inside the zip
    data[offset + 2] ^= 0x10
    path.write_bytes(bytes(data))
    assert torch.load(path, weights_only=True)["step"] == 3  # torch itself does not notice
    with pytest.raises(CheckpointError, match="is damaged"):
        load_checkpoint(path)


def test_non_finite_values_are_refused(tmp_path):
    path = save_checkpoint(tmp_path / "checkpoint.pt",
                           {"step": 3, "generator": {"w": torch.tensor([1.0, float("nan")])}})
    with pytest.raises(CheckpointError, match=r"NaN or infinite values \(in generator.w\)"):
        load_checkpoint(path)


def test_a_checkpoint_written_before_checksums_is_still_read(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"version": CHECKPOINT_VERSION, "step": 5, "generator": {"w": torch.ones(3)}}, path)
    assert load_checkpoint(path)["step"] == 5


def test_a_save_removes_what_a_killed_run_left_half_written_in_its_folder(tmp_path):
    (tmp_path / "previews").mkdir()
    stale = [tmp_path / ".run.json.k1ll3d.tmp", tmp_path / "previews" / ".step_0000100.png.k1ll3d.tmp"]
    for path in stale:
        path.write_bytes(b"x" * 10)
    (tmp_path / "previews" / "step_0000100.png").write_bytes(b"png")  # a finished preview stays
    save_checkpoint(tmp_path / "checkpoint.pt", {"step": 1})
    assert not any(path.exists() for path in stale)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["checkpoint.pt", "previews", "step_0000100.png"]
