"""Training throughput: images per second per precision, loss recipe and crop size, and time per part of a step.

    python bench/bench_train.py [--models dfnet dmfn] [--devices cpu cuda] [--precisions fp32 bf16 auto]
                                [--recipes paper finest l1-tv warm-up]
                                [--input-fills zeros telea] [--batches 4 8] [--sizes 128 256] [--compile]
                                [--steps 5] [--warmup 2] [--workers N] [--json results.json]

Each case builds the real trainer (trainer.loop.Trainer: same data pipeline, losses, precision and optimiser as
``fusionpaint train``) on synthetic photos, runs ``--warmup`` steps, then times ``--steps`` steps. The networks are
those the trainer can train (`trainer.arches.trainable_arches`); each runs the loss recipes of ``--recipes`` that its
training recipe names (`trainer.arches.Recipe.bench_variants`; every one has "paper"): DFNet's "paper" = VGG
perceptual + style losses on the 3 finest scales, "finest" = on the finest scale only, "l1-tv" = L1 + total
variation only (`--texture-scales` 3 / 1 / 0); DMFN's "paper" = all its losses with the discriminator, "warm-up" =
the reconstruction warm-up without it (`--adversarial-from-step`). Crop sizes in pixels (default 256).
Parts of a step, as shares of its wall time: data (photo crops + masks), input fill (classical pre-fill of the
hole), generator forward, loss forward (VGG features included), backward (generator and VGG together; the VGG's
share is the difference between recipes), optimiser (Adam), other. On a GPU each part is synchronised, so the
parts are real waits. Prints a table and one JSON document (also written to ``--json``); the CPU's model and its
bf16 instruction set are in the device name. CUDA cases run only when a GPU is present. ``--compile`` runs every case
twice, eager and with the generator compiled (``fusionpaint train --compile``); "warm-up s" (the warm-up steps' wall
time) then shows what compiling costs.
"""

from __future__ import annotations

import argparse
import itertools
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
from trainer.arches import recipe_for, trainable_arches  # noqa: E402
from trainer.config import INPUT_FILLS, TrainConfig  # noqa: E402
from trainer.loop import Trainer  # noqa: E402
from trainer.precision import precision_name  # noqa: E402

PARTS = ("data", "input fill", "generator forward", "loss forward", "backward", "optimiser")


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


def bench_case(arch: str, device: str, data: Path, *, precision: str, recipe: str, fill: str, steps: int,
               warmup: int, batch: int | None, workers: int | None, run_dir: Path, size: int = 256,
               compiled: bool = False) -> dict:
    """Throughput and per-part times of one case; ``recipe``: one of the network's recipe's ``bench_variants``."""
    extra = recipe_for(arch).bench_variants[recipe]
    config = TrainConfig(arch=arch, data=str(data), init="random", device=device, batch=batch, steps=10**9, size=size,
                         evaluate=False, workers=workers, preview_every=0, precision=precision, input_fill=fill,
                         compile=compiled, run_dir=str(run_dir / f"{arch}-{device}"), **extra)
    trainer = Trainer(config, export=False)
    trainer.setup()
    t0 = time.perf_counter()
    for _ in range(warmup):
        trainer.train_step(trainer.next_batch())
    warmup_s = time.perf_counter() - t0
    trainer.part_times = {}
    step_times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        trainer.train_step(trainer.next_batch())
        step_times.append(time.perf_counter() - t0)
    trainer.batches.close()
    total = sum(step_times)
    parts = {name: trainer.part_times.get(name, 0.0) / total for name in PARTS}
    parts["other"] = max(0.0, 1.0 - sum(parts.values()))
    return {
        "model": arch,
        "device": str(trainer.device),
        "device_name": describe_device(trainer.device),
        "precision": precision_name(trainer.amp_dtype),
        "recipe": recipe,
        "input_fill": fill,
        "compiled": compiled,
        "batch": trainer.batch,
        "size": config.size,
        "warmup_s": warmup_s,
        "steps": steps,
        "seconds_per_step_median": float(np.median(step_times)),
        "images_per_s": steps * trainer.batch / total,
        "part_shares": parts,
    }


def format_table(rows: list[dict]) -> str:
    short = {"data": "data", "input fill": "fill", "generator forward": "G fwd", "loss forward": "loss fwd",
             "backward": "bwd", "optimiser": "optim", "other": "other"}
    header = (f"{'model':<6} {'prec':<8} {'recipe':<7} {'fill':<6} {'compiled':<8} {'size':>4} {'batch':>5} "
              f"{'warm-up s':>9} {'s/step':>7} {'img/s':>6}  "
              + " ".join(f"{v:>8}" for v in short.values()))
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['model']:<6} {r['precision']:<8} {r['recipe']:<7} {r['input_fill']:<6} {str(r['compiled']):<8} "
            f"{r['size']:>4} {r['batch']:>5} {r['warmup_s']:>9.1f} {r['seconds_per_step_median']:>7.2f} "
            f"{r['images_per_s']:>6.2f}  "
            + " ".join(f"{100 * r['part_shares'][k]:>7.1f}%" for k in short)
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    arches = trainable_arches()
    variants_known = sorted({name for arch in arches for name in recipe_for(arch).bench_variants})
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(arches), choices=arches)
    parser.add_argument("--devices", nargs="+", default=None, help="default: cpu, plus cuda when present")
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["auto", "fp32", "bf16"])
    parser.add_argument("--recipes", nargs="+", default=["paper"], choices=variants_known,
                        help="loss recipes; each network runs those its training recipe names (default: paper)")
    parser.add_argument("--sizes", nargs="+", type=int, default=[256], help="crop sizes in pixels (default 256)")
    parser.add_argument("--input-fills", nargs="+", default=["zeros"], choices=INPUT_FILLS,
                        help="hole pre-fills the networks see (default: zeros)")
    parser.add_argument("--batches", nargs="+", type=int, default=[None],
                        help="images per step (default: the trainer's default per device)")
    parser.add_argument("--compile", action="store_true", help="each case eager and with the generator compiled")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None, help="default: the trainer's (2 on a GPU, 0 on the CPU)")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    devices = args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = _synthetic_photos(Path(tmp) / "photos")
        for device, arch in itertools.product(devices, args.models):
            if device.startswith("cuda") and not torch.cuda.is_available():
                print(f"skipping {device}: no CUDA GPU", file=sys.stderr)
                continue
            recipes = [name for name in args.recipes if name in recipe_for(arch).bench_variants]
            compiles = (False, True) if args.compile else (False,)
            variants = itertools.product(args.precisions, recipes, args.input_fills, args.batches, args.sizes, compiles)
            for precision, recipe, fill, batch, size, compiled in variants:
                row = bench_case(arch, device, data, precision=precision, recipe=recipe, fill=fill,
                                 steps=args.steps, warmup=args.warmup, batch=batch, workers=args.workers,
                                 run_dir=Path(tmp) / "runs", size=size, compiled=compiled)
                rows.append(row)
                if len(rows) == 1:
                    print(row["device_name"], file=sys.stderr)
                print(format_table([row]).splitlines()[-1], file=sys.stderr, flush=True)
    print(f"device: {rows[0]['device_name'] if rows else '-'}, torch {torch.__version__}")
    print(format_table(rows))
    doc = {"torch": torch.__version__, "results": rows}
    print(json.dumps(doc, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
