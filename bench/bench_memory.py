"""Memory of one removal from the command line: peak resident memory against the pipeline's own estimate.

Each case runs ``fusionpaint remove`` in a fresh process (decode, fill, encode, exactly as a user runs it) on a
synthetic PNG photo and prints that process's peak RSS, its RSS before the work (Python, libraries, model), and
:func:`engine.pipeline.estimate_peak_bytes` for the job, which the pipeline compares with the free memory before it
starts. DFNet runs with random weights (memory does not depend on their values).

    python bench/bench_memory.py                  # 24 MP and 89.5 MP (9450 x 9468), whole-photo and lasso holes
    python bench/bench_memory.py --sizes 6000x4000
"""

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memory import peak_rss_bytes  # noqa: E402  (bench/memory.py, beside this script)

TARGET_GB = 1.5
"""Peak resident memory of the whole process that a removal on the largest photo Pillow opens should stay under."""


def _write_case(folder: Path, width: int, height: int) -> tuple[Path, dict[str, Path]]:
    """A smooth synthetic photo and two masks: the whole photo but a corner, and a lasso of 13 % of the photo."""
    yy, xx = np.mgrid[0:height:32, 0:width:32]
    small = np.stack([(xx * 7) % 255, (yy * 5) % 255, ((xx + yy) * 3) % 255], axis=-1).astype(np.uint8)
    photo = folder / f"photo-{width}x{height}.png"
    cv2.imwrite(str(photo), cv2.resize(small, (width, height))[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    masks = {}
    whole = np.full((height, width), 255, np.uint8)
    whole[: height // 100, : width // 100] = 0
    masks["whole photo"] = folder / f"whole-{width}x{height}.png"
    cv2.imwrite(str(masks["whole photo"]), whole)
    lasso = np.zeros((height, width), np.uint8)
    axes = (int(width * 0.23), int(height * 0.18))  # an ellipse of pi * 0.23 * 0.18 = 13 % of the photo
    cv2.ellipse(lasso, (width // 2, height // 2), axes, 20, 0, 360, 255, -1)
    masks["lasso 13 %"] = folder / f"lasso-{width}x{height}.png"
    cv2.imwrite(str(masks["lasso 13 %"]), lasso)
    return photo, masks


def _estimate(mask_path: Path, model: str) -> int:
    from engine.masks_io import load_mask
    from engine.pipeline import estimate_peak_bytes, padding_rule
    from engine.regions import plan_windows
    from engine.registry import get_spec

    spec = get_spec(model)
    hole, _ = load_mask(mask_path, cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED).shape[:2])
    windows = plan_windows(hole, spec.native_size, padding_rule(spec)[0])
    return estimate_peak_bytes(hole.shape, windows, spec, in_place=True)  # as the CLI


def run_case() -> None:
    """Child process: ``fusionpaint remove ARGS``, then one JSON line with the peak RSS and the RSS before."""
    import main

    args = sys.argv[sys.argv.index("--case") + 1:]
    from engine.registry import load_model

    load_model(args[args.index("--model") + 1], "cpu")  # libraries and weights loaded: the baseline
    before = peak_rss_bytes()
    code = main.main(["remove", *args])
    print(json.dumps({"code": code, "before": before, "peak": peak_rss_bytes()}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="6000x4000,9450x9468", help="photo sizes WxH, comma-separated")
    parser.add_argument("--models", default="opencv-telea,dfnet", help="models, comma-separated")
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        weights = {}
        if "dfnet" in args.models.split(","):
            import torch

            from engine.registry import build_network
            from engine.weights import save_weights

            torch.manual_seed(0)
            weights["dfnet"] = save_weights(folder / "dfnet-random.safetensors", build_network("dfnet").state_dict(),
                                            arch="dfnet")
        for size in args.sizes.split(","):
            width, height = (int(v) for v in size.lower().split("x"))
            photo, masks = _write_case(folder, width, height)
            for hole_name, mask in masks.items():
                for model in args.models.split(","):
                    model_arg = str(weights.get(model, model))
                    command = [sys.executable, __file__, "--case", str(photo), "--mask", str(mask),
                               "-o", str(folder / "out.png"), "--model", model_arg, "--device", "cpu"]
                    done = subprocess.run(command, capture_output=True, text=True)
                    lines = done.stdout.strip().splitlines()
                    if done.returncode != 0 or not lines:
                        print(f"{size} {hole_name} {model}: failed: {done.stderr.strip()[-300:]}")
                        continue
                    figures = json.loads(lines[-1])
                    row = {"photo": size, "hole": hole_name, "model": model, "exit": figures["code"],
                           "estimate_gb": _estimate(mask, model) / 2**30,
                           "extra_gb": (figures["peak"] - figures["before"]) / 2**30,
                           "baseline_gb": figures["before"] / 2**30, "peak_gb": figures["peak"] / 2**30}
                    rows.append(row)
                    print(f"{size:>10} {hole_name:<12} {model:<13} exit {row['exit']}  "
                          f"estimate {row['estimate_gb']:.2f} GB  measured extra {row['extra_gb']:.2f} GB  "
                          f"(after loading {row['baseline_gb']:.2f}, peak {row['peak_gb']:.2f} GB; "
                          f"target {TARGET_GB} GB)", flush=True)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    if "--case" in sys.argv:
        run_case()
    else:
        sys.exit(main())
