"""Training throughput of DFNet and DMFN at 256x256: images per second and the share of time spent waiting for data.

    python bench/bench_train.py [--models dfnet dmfn] [--devices cpu cuda] [--steps 5] [--warmup 2]
                                [--batch B] [--workers N] [--json results.json]

Each case builds the real trainer (trainer.loop.Trainer: same data pipeline, losses, precision and optimiser as
``fusionpaint train``) on synthetic photos, runs ``--warmup`` steps, then times ``--steps`` steps. "data" is the
time spent in ``next_batch`` (photo crops + masks); on a GPU the queue is synchronised around it, so it is the
real wait. Prints a table and one JSON document (also written to ``--json``). CUDA cases run only when a GPU is
present.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.device import describe_device  # noqa: E402
from trainer.config import TrainConfig  # noqa: E402
from trainer.loop import Trainer  # noqa: E402


def _synthetic_photos(folder: Path, n: int = 24, size: int = 384) -> Path:
    """n smooth random RGB photos (uint8) of size x size with a few shapes, as PNG files."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        c = rng.uniform(0, 1, (3, 3))
        rgb = np.stack([c[k, 0] * x + c[k, 1] * y + c[k, 2] * np.sin(6 * x * (k + 1)) for k in range(3)], -1)
        rgb = (rgb - rgb.min()) / (np.ptp(rgb) + 1e-6)
        Image.fromarray((rgb * 255).astype(np.uint8)).save(folder / f"synthetic{i:03d}.png")
    return folder


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_case(arch: str, device: str, data: Path, *, steps: int, warmup: int, batch: int | None,
               workers: int | None, run_dir: Path) -> dict:
    """Throughput of one (architecture, device) case."""
    config = TrainConfig(model=arch, data=str(data), init="random", device=device, batch=batch, steps=10**9,
                         evaluate=False, workers=workers, preview_every=0, run_dir=str(run_dir / f"{arch}-{device}"))
    trainer = Trainer(config, export=False)
    trainer.setup()
    dev = trainer.device
    for _ in range(warmup):
        trainer.train_step(*trainer.next_batch())
    _sync(dev)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    data_s = 0.0
    t_start = time.perf_counter()
    for _ in range(steps):
        _sync(dev)
        t0 = time.perf_counter()
        images, holes = trainer.next_batch()
        _sync(dev)
        data_s += time.perf_counter() - t0
        trainer.train_step(images, holes)
    _sync(dev)
    total = time.perf_counter() - t_start
    trainer.batches.close()
    result = {
        "model": arch,
        "device": str(dev),
        "device_name": describe_device(dev),
        "precision": str(trainer.amp_dtype).replace("torch.", "") if trainer.amp_dtype else "float32",
        "batch": trainer.batch,
        "size": config.size,
        "steps": steps,
        "seconds_per_step": total / steps,
        "images_per_s": steps * trainer.batch / total,
        "data_wait_share": data_s / total,
    }
    if dev.type == "cuda":
        result["peak_memory_gib"] = torch.cuda.max_memory_allocated(dev) / 2**30
    return result


def format_table(rows: list[dict]) -> str:
    header = f"{'model':<6} {'device':<28} {'prec':<9} {'batch':>5} {'s/step':>8} {'img/s':>8} {'data %':>7}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['model']:<6} {r['device_name'][:28]:<28} {r['precision']:<9} {r['batch']:>5} "
            f"{r['seconds_per_step']:>8.3f} {r['images_per_s']:>8.2f} {100 * r['data_wait_share']:>6.1f}%"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["dfnet", "dmfn"], choices=["dfnet", "dmfn"])
    parser.add_argument("--devices", nargs="+", default=None, help="default: cpu, plus cuda when present")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=None, help="default: the trainer's default per device")
    parser.add_argument("--cpu-batch", type=int, default=None, help="batch for CPU cases (overrides --batch)")
    parser.add_argument("--workers", type=int, default=None, help="default: the trainer's (2 on a GPU, 0 on the CPU)")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    devices = args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = _synthetic_photos(Path(tmp) / "photos")
        for device in devices:
            if device.startswith("cuda") and not torch.cuda.is_available():
                print(f"skipping {device}: no CUDA GPU", file=sys.stderr)
                continue
            for arch in args.models:
                batch = args.cpu_batch if device == "cpu" and args.cpu_batch else args.batch
                row = bench_case(arch, device, data, steps=args.steps, warmup=args.warmup, batch=batch,
                                 workers=args.workers, run_dir=Path(tmp) / "runs")
                rows.append(row)
                print(format_table([row]).splitlines()[-1], file=sys.stderr, flush=True)
    print(format_table(rows))
    doc = {"torch": torch.__version__, "results": rows}
    print(json.dumps(doc, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
