"""Engine benchmark: latency of every model per size and device, 12-megapixel end-to-end removals, peak memory.

Prints a table and a JSON object. Weights are random (latency does not depend on their values).

    python bench/bench_engine.py                     # everything (CPU, and CUDA when present)
    python bench/bench_engine.py --quick             # fewer repeats
    python bench/bench_engine.py --models dfnet      # only these models' latency and bf16 error (no 12 MP removals)
    python bench/bench_engine.py --e2e-only dfnet    # only one model's 12 MP removal (run in a subprocess per model
                                                     # for its peak RSS)
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memory import peak_rss_bytes  # noqa: E402  (bench/memory.py, beside this script)

from engine.inpainter import NetworkInpainter  # noqa: E402
from engine.model_spec import ClassicalSpec, NetworkSpec  # noqa: E402
from engine.pipeline import inpaint  # noqa: E402
from engine.registry import build_network, builtin_model_names, get_spec, load_model  # noqa: E402

SIZES = (256, 512, 1024)
TARGETS_CPU = {("dfnet", 512): 0.25, ("dmfn", 256): 0.15}
TARGETS_GPU = {("dfnet", 512): 0.002, ("dmfn", 256): 0.002}
E2E_TARGETS_S = {"dfnet": 3.0, "patchmatch": 3.0}
"""Seconds for the 12 MP removal with a 400 x 300 hole, per model (on a 2-core CPU). DFNet runs on PatchMatch's
pre-fill, so it has PatchMatch's target (1.0 s while it ran on Telea's)."""
RSS_TARGET_GB = 1.5
SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"
SAMPLE_PHOTO, SAMPLE_MASK = SAMPLES / "coffee.png", SAMPLES / "coffee_mask.png"


def _median_time(fn, repeats: int, warmup: int, sync=None) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if sync:
            sync()
        start = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _inputs(size: int, batch: int = 1):
    rng = np.random.default_rng(0)
    images = rng.random((batch, size, size, 3), dtype=np.float32)
    holes = np.zeros((batch, size, size), bool)
    holes[:, size // 4: 3 * size // 4, size // 4: 3 * size // 4] = True  # 25 % hole
    return images, holes


def _model(name: str, device: torch.device, dtype=None):
    """The installed model when it has weights, else the same architecture with random weights."""
    spec = get_spec(name)
    if not isinstance(spec, NetworkSpec) or spec.has_weights:
        return load_model(name, device=device.type, dtype=dtype)
    torch.manual_seed(0)
    return NetworkInpainter(spec, build_network(spec.arch), device, dtype=dtype)


def _sample_inputs(size: int):
    """The bundled sample photo and its mask, resized to size x size: float32 (1, size, size, 3) RGB in [0, 1] and
    bool (1, size, size), True = hole."""
    image = cv2.cvtColor(cv2.imread(str(SAMPLE_PHOTO), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    mask = cv2.imread(str(SAMPLE_MASK), cv2.IMREAD_GRAYSCALE)
    image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    hole = cv2.resize(mask, (size, size), interpolation=cv2.INTER_NEAREST) > 127
    return image[None], hole[None]


def bf16_error(model, size: int) -> dict:
    """Difference between float32 and bf16-autocast raw outputs inside the hole on the 0..255 scale, on the bundled
    sample photo (a real photo: with trained weights, random pixels would exaggerate or hide the error)."""
    images, holes = _sample_inputs(size)
    reference = model.predict(images, holes).raw
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = model.predict(images, holes).raw
    diff = np.abs(reference - low)[holes[..., None].repeat(3, -1)] * 255.0
    return {"mean_abs_255": float(diff.mean()), "max_abs_255": float(diff.max()),
            "weights": "trained" if model.spec.has_weights else "random"}


def bench_latency(device: torch.device, repeats: int, models: list[str]) -> list[dict]:
    rows = []
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    variants = [("fp32", torch.float32, False)]  # a given dtype: no automatic bf16 autocast inside predict
    if device.type == "cpu":
        variants.append(("bf16-autocast", torch.float32, True))
    else:
        variants = [("fp16", torch.float16, False)]
    for name in models:
        for size in SIZES:
            images, holes = _inputs(size)
            for label, dtype, autocast in variants:
                if isinstance(get_spec(name), ClassicalSpec) and (label != "fp32" or device.type != "cpu"):
                    continue
                model = _model(name, device, dtype)

                def run(model=model, images=images, holes=holes, autocast=autocast):
                    if autocast:
                        with torch.autocast("cpu", dtype=torch.bfloat16):
                            model.predict(images, holes)
                    else:
                        model.predict(images, holes)

                slow = device.type == "cpu" and size >= 1024
                median = _median_time(run, repeats=max(3, repeats // 3) if slow else repeats,
                                      warmup=1 if slow else 2, sync=sync)
                target = (TARGETS_CPU if device.type == "cpu" else TARGETS_GPU).get((name, size))
                row = {"model": name, "size": size, "device": device.type, "precision": label,
                       "median_s": median, "target_s": target}
                if autocast and size == model.spec.native_size:
                    row["bf16_error"] = bf16_error(model, size)
                rows.append(row)
                del model
    return rows


def bench_e2e(repeats: int, model_name: str) -> dict:
    """Remove a 400 x 300 hole from a 4000 x 3000 photo (arrays in, array out) on the CPU, in the precision the
    engine picks (a spec's ``cpu_bf16`` on a CPU with fast bf16, else float32)."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
    hole = np.zeros((3000, 4000), bool)
    hole[1200:1500, 1800:2200] = True
    model = _model(model_name, torch.device("cpu"))
    timings = []
    for _ in range(repeats + 1):
        result = inpaint(image, hole, model)
        timings.append(result.timings)
    timings = timings[1:]
    total = statistics.median(t["total"] for t in timings)
    stages = {k: statistics.median(t.get(k, 0.0) for t in timings) for k in ("plan", "prepare", "model", "composite")}
    peak_gb = peak_rss_bytes() / 1024**3
    return {"model": model_name, "photo": "4000x3000", "hole": "400x300", "median_s": total, "stages_s": stages,
            "peak_rss_gb": peak_gb, "target_s": E2E_TARGETS_S[model_name], "target_rss_gb": RSS_TARGET_GB}


def _e2e_in_subprocess(repeats: int, model_name: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--e2e-only", model_name, "--repeats", str(repeats)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    parser.add_argument("--models", nargs="+", choices=builtin_model_names(), metavar="MODEL",
                        help="only these models' latency and bf16 error, without the 12 MP removals")
    parser.add_argument("--e2e-only", metavar="MODEL", choices=sorted(E2E_TARGETS_S))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = 3 if args.quick else args.repeats
    if args.e2e_only:
        print(json.dumps(bench_e2e(repeats, args.e2e_only)))
        return 0

    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    latency = []
    for device in devices:
        latency += bench_latency(device, repeats, args.models or list(builtin_model_names()))
    e2e = [] if args.models else [_e2e_in_subprocess(repeats, name) for name in E2E_TARGETS_S]
    machine = {"cpu_threads": torch.get_num_threads(), "cpus": os.cpu_count(), "torch": torch.__version__,
               "platform": platform.platform(),
               "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}

    print(f"FusionPaint engine benchmark  (torch {torch.__version__}, {torch.get_num_threads()} CPU threads)")
    print(f"{'model':<13} {'size':>5} {'device':<6} {'precision':<14} {'median':>10} {'target':>9}  met")
    for row in latency:
        target = row["target_s"]
        met = "" if target is None else ("yes" if row["median_s"] <= target else "NO")
        target_text = "" if target is None else f"{target * 1000:.0f} ms"
        print(f"{row['model']:<13} {row['size']:>5} {row['device']:<6} {row['precision']:<14} "
              f"{row['median_s'] * 1000:>7.1f} ms {target_text:>9}  {met}")
    for row in latency:
        if "bf16_error" in row:
            err = row["bf16_error"]
            print(f"bf16 autocast error, {row['model']} {row['size']} ({err['weights']} weights), inside the hole "
                  f"of the sample photo: mean {err['mean_abs_255']:.2f} / max {err['max_abs_255']:.1f} (0..255 scale)")
    for row in e2e:
        time_met = "yes" if row["median_s"] <= row["target_s"] else "NO"
        rss_met = "yes" if row["peak_rss_gb"] <= RSS_TARGET_GB else "NO"
        stages = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in row["stages_s"].items())
        print(f"12 MP end-to-end, 400 x 300 hole, {row['model']} (CPU, engine's precision): {row['median_s']:.3f} s "
              f"(target {row['target_s']} s: {time_met}) [{stages}]; peak RSS of that process "
              f"{row['peak_rss_gb']:.2f} GB (target {RSS_TARGET_GB} GB: {rss_met})")
    print(json.dumps({"machine": machine, "latency": latency, "end_to_end": e2e}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
