"""Two CPU processes with gloo (DistributedDataParallel) end with identical weights; only rank 0 writes."""

import socket

import pytest
import torch
import torch.multiprocessing as mp

from tests.helpers import write_photo_folder
from trainer.config import TrainConfig


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    import os

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from trainer.distributed import unwrap
    from trainer.loop import Trainer

    config = TrainConfig(arch="dfnet", data=data, init="random", batch=2, steps=2, device="cpu", warmup_steps=0,
                         evaluate=False, preview_every=0, run_dir=f"{out}/run")
    trainer = Trainer(config, export=False)
    result = trainer.run()
    torch.save({"generator": unwrap(trainer.generator).state_dict(), "step": result.step,
                "checkpoint": str(result.checkpoint)}, f"{out}/rank{rank}.pt")
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_processes_stay_identical(tmp_path):
    data = write_photo_folder(tmp_path / "photos")
    mp.spawn(_worker, args=(2, _free_port(), str(data), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert r0["step"] == r1["step"] == 2
    assert r0["checkpoint"].endswith("checkpoint.pt") and r1["checkpoint"] == "None"
    for key, value in r0["generator"].items():
        if key.endswith("num_batches_tracked") or "running_" in key:
            continue  # BatchNorm statistics are per process (each sees its own batches)
        assert torch.equal(value, r1["generator"][key]), key
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["checkpoint.pt", "run.json"]  # rank 0 only
