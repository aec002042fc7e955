"""Evaluate the latest checkpoint of a default-weights run, append one row to its progress log, keep the weights.

    python tools/progress_row.py RUN_DIR --images VAL_PHOTOS (--masks MASKS_BY_RATIO | --lasso) \
        --log trainer/recipes/dfnet-progress.md [--keep trainer/recipes/runs/dfnet-default.safetensors]
        [--rival NAME ...] [--limit N] [--json report.json] [--note TEXT]

The checkpoint's generator is exported to a temporary model (with its input fill on the card), scored with
`trainer.evaluate.evaluate` beside its rivals (``--rival``, default the OpenCV baselines; PatchMatch for the editor's
default; the path users get, 256 px) on the stroke masks or the lasso object-removal set (``--lasso``, its own log), and
checked against the bar for default weights (`trainer.evaluate.bar_misses`). The row holds the date, the CPU, the run's
totals (steps, images seen, CPU core-hours with paused time not counted; a run started from kept weights adds the totals
in its ``base.json``), the training speed (median images/s of the last step reports in the run's train.log), then L1 % /
PSNR / SSIM / VGG distance per hole-ratio bin (and, where the report has them, the texture columns "G" Gram distance and
"S" sharpness, labelled in the cell so rows written before them still read the same) and the misses. The full table is
printed.

``--keep PATH``: when the checkpoint's mean VGG distance (``--keep-by gram_dist``: Gram distance) over all pairs is
lower than that on the card beside PATH (or there is none, or that card was scored without it), write its generator
there in float16 with a card (totals, recipe, evaluation), so that a run on a new machine continues from it
(tools/train_default.sh). Commit PATH at most once per sitting.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import torch  # noqa: E402

from engine.device import describe_device  # noqa: E402
from engine.model_card import ModelCard  # noqa: E402
from engine.models.opencv import CLASSICAL_RADIUS_PX  # noqa: E402
from trainer.arches import recipe_for  # noqa: E402
from trainer.checkpoint import load_checkpoint  # noqa: E402
from trainer.config import TrainConfig  # noqa: E402
from trainer.evaluate import BASELINES, bar_misses, evaluate, format_miss, format_table  # noqa: E402
from trainer.export import export_model  # noqa: E402

LOG_HEADER = """# {arch} default weights: training progress{set_title}

One row per sitting of the background run (`tools/train_default.sh {arch}`), appended by `tools/progress_row.py`:
the latest checkpoint scored on the research validation photos (100 BSDS500 val photos, 256 px, {holes})
through the same pipeline users get. Each bin shows L1 % / PSNR dB / SSIM / VGG-d (lower, higher, higher, lower is
better), then, labelled, G: Gram distance of VGG19 texture statistics in the hole (lower is better) and S: sharpness
(Laplacian energy in the hole over the photo's, 1 = as sharp). CPU h: process CPU time over all threads, pauses not
counted. img/s: median training speed of the last step reports. Misses: bins and metrics where the network is not
yet better than every rival below (the bar: VGG-d, Gram-d and sharpness in every bin where they were scored; L1,
PSNR and SSIM from 20 % up), with the gap to the best one.

Rivals on the same pairs ({pairs}):

{baselines}

"""


def _pairs_key(report: dict, limit: int | None) -> dict:
    """What makes two evaluations score the same pairs the same way (the baselines are deterministic)."""
    return {"size": report["size"], "pairing": report["pairing"], "photos": report["photos"], "bins": report["bins"],
            "limit": limit, "opencv": cv2.__version__, "radius_px": CLASSICAL_RADIUS_PX}


def _has_every_metric(cached: dict, report: dict, rivals: list[str]) -> bool:
    """Whether the cache scored every rival, with every metric the new report's rows hold (an older cache lacks the
    texture columns and is scored again)."""
    new = next((set(e["all"]) for e in report["models"].values()), set())
    return all(b in cached["models"] and new <= set(cached["models"][b]["all"]) for b in rivals)


def _cached_baselines(path: Path | None, limit: int | None) -> dict | None:
    """The cached rival scores at ``path`` ({"key", "models"}), or None."""
    if path is None or not path.is_file():
        return None
    cached = json.loads(path.read_text(encoding="utf-8"))
    return cached if cached.get("key", {}).get("limit") == limit else None


def _base_totals(run_dir: Path) -> dict:
    """Totals of the weights a run started from (its ``base.json``, a copy of their card), else zeros."""
    path = run_dir / "base.json"
    card = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return {key: card.get(key, 0) for key in ("total_steps", "total_images", "total_cpu_s")}


def _keep(path: Path, state: dict, card: dict, metric: str, score: float, limit: int | None) -> str:
    """Write the generator to ``path`` (float16) with ``card`` when ``score`` (the mean of ``metric`` over all pairs,
    lower is better) beats the kept one's. A kept card scored without ``metric`` (an older yardstick) cannot be
    compared, and is replaced."""
    card_path = path.with_suffix(".json")
    if card_path.is_file():
        kept = json.loads(card_path.read_text(encoding="utf-8"))
        kept_score = kept.get("val", {}).get("all", {}).get(metric)
        if kept.get("val_limit") == limit and kept_score is not None and kept_score <= score:
            return f"not kept: mean {metric} {score:.4f} does not beat the kept {kept_score:.4f} ({path})"
    path.parent.mkdir(parents=True, exist_ok=True)
    export_model(state["generator"], name=path.stem, arch=state["arch"], card=ModelCard.from_dict(card),
                 folder=path.parent,
                 dtype=torch.float16)
    return f"kept: {path} (mean {metric} {score:.4f})"


def _cell(row: dict) -> str:
    """One bin's cell: "L1 / PSNR / SSIM / VGG-d", then " / G gram / S sharpness" where the row has them."""
    cell = f"{row['l1_percent']:.2f} / {row['psnr']:.2f} / {row['ssim']:.3f} / {row['vgg_dist']:.3f}"
    for key, label, digits in (("gram_dist", "G", 3), ("sharpness", "S", 3)):
        if row.get(key) is not None:
            cell += f" / {label} {row[key]:.{digits}f}"
    return cell


def _table_head(bins: list[str]) -> str:
    head = "| date | CPU | steps | images | CPU h | img/s | recipe | " + " | ".join(bins) + " | misses |"
    return head + "\n|" + "---|" * (head.count("|") - 1)


def _train_speed(run_dir: Path, last: int = 200) -> float | None:
    """Median images/s over the last ``last`` step reports of the run's train.log (JSON lines), or None."""
    log = run_dir / "train.log"
    if not log.is_file():
        return None
    rates = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith('{"event": "step"'):
            try:
                rates.append(float(json.loads(line)["images_per_s"]))
            except (ValueError, KeyError):
                continue
    return statistics.median(rates[-last:]) if rates else None


SHORT_METRICS = {"l1_percent": "L1", "psnr": "PSNR", "ssim": "SSIM", "vgg_dist": "VGG-d", "gram_dist": "Gram-d",
                 "sharpness": "Sharp"}


def _misses_cell(misses: list) -> str:
    """"none: bar met" or "N: 00-10 VGG-d +0.025, 20-30 PSNR -0.61, ..." (gap to the better baseline)."""
    if not misses:
        return "none: bar met"
    parts = [f"{b} {SHORT_METRICS.get(k, k)} " + ("-" if v is None else f"{v - best:+.3g}") for b, k, v, best in misses]
    return f"{len(misses)}: " + ", ".join(parts)


def _recipe(config: TrainConfig, batch: int) -> str:
    """The progress row's recipe cell: batch, precision, crop size, then the architecture's own loss schedule and
    input fill (its recipe's options, `trainer.arches.RecipeOptions.describe`)."""
    options = recipe_for(config.arch).options(config)
    return f"batch {batch}, {config.precision}, {config.size} px, {options.describe()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--images", required=True, help="validation photos")
    holes = parser.add_mutually_exclusive_group(required=True)
    holes.add_argument("--masks", help="hole masks in folders named by ratio (00-10 ...)")
    holes.add_argument("--lasso", action="store_true", help="the seeded lasso object-removal set instead")
    parser.add_argument("--rival", action="append", metavar="NAME",
                        help="a model the weights must beat (repeat; default: the OpenCV baselines)")
    parser.add_argument("--log", required=True, type=Path, help="markdown progress log to append to")
    parser.add_argument("--limit", type=int, help="at most this many masks per bin (default: all)")
    parser.add_argument("--json", type=Path, help="also write the full evaluation report")
    parser.add_argument("--note", default="", help="appended to the misses cell (e.g. 'recipe changed')")
    parser.add_argument("--keep", type=Path, metavar="PATH", help="keep the weights here when they beat the kept ones")
    parser.add_argument("--keep-by", choices=("vgg_dist", "gram_dist"), default="vgg_dist",
                        help="the mean distance --keep compares (default vgg_dist)")
    parser.add_argument("--baselines-cache", type=Path, metavar="JSON",
                        help="reuse the classical baselines' scores from this file when the pairs are the same "
                        "(they are deterministic), else score them and write it")
    args = parser.parse_args(argv)
    rivals = list(args.rival or BASELINES)

    state = load_checkpoint(args.run_dir)
    config = TrainConfig.from_dict(state["config"])
    step = int(state["step"])
    batch = recipe_for(config.arch).batch_for(config, "cpu")
    base = _base_totals(args.run_dir)
    totals = {
        "total_steps": base["total_steps"] + step,
        "total_images": base["total_images"] + step * batch * int(state.get("world_size", 1)),
        "total_cpu_s": base["total_cpu_s"] + float(state.get("cpu_s", 0.0)),
    }
    with tempfile.TemporaryDirectory() as tmp:
        name = f"{state.get('run_name', config.arch)}-step{step}"
        weights, _ = export_model(state["generator"], name=name, arch=state["arch"], folder=Path(tmp),
                                  card=ModelCard(input_fill=config.input_fill, steps=step))
        cached = _cached_baselines(args.baselines_cache, args.limit)
        report = evaluate([str(weights)], args.images, args.masks, lasso=args.lasso, device="cpu", limit=args.limit,
                          baselines=() if cached else rivals)
    model = str(weights)
    if cached and _pairs_key(report, args.limit) == cached["key"] and _has_every_metric(cached, report, rivals):
        report["models"].update({b: cached["models"][b] for b in rivals})
    elif cached:  # the pairs or the rivals changed: score the rivals again
        baseline_report = evaluate([], args.images, args.masks, lasso=args.lasso, device="cpu", limit=args.limit,
                                   baselines=rivals)
        report["models"].update(baseline_report["models"])
        cached = None
    if args.baselines_cache and not cached:
        text = json.dumps({"key": _pairs_key(report, args.limit),
                           "models": {b: report["models"][b] for b in rivals}}, indent=2, default=str)
        args.baselines_cache.write_text(text + "\n", encoding="utf-8")
    if model not in report["models"]:
        print(f"error: the checkpoint could not be evaluated: {report['skipped_models']}", file=sys.stderr)
        return 1
    report["models"] = {config.arch: report["models"].pop(model), **report["models"]}
    print(format_table(report))
    misses = bar_misses(report, config.arch, rivals)
    print("bar met" if not misses else "misses the bar:\n  " + "\n  ".join(format_miss(m) for m in misses))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")

    bins = list(report["bins"])
    if not args.log.exists():
        baselines = "\n".join(
            f"- {b}: " + "; ".join(f"{k} {_cell(report['models'][b]['bins'][k])}" for k in bins) for b in rivals
        )
        pairs = f"{sum(report['bins'].values())} pairs, {report['photos']} photos"
        set_title = ", object-removal set" if args.lasso else ""
        holes = ("one seeded lasso hole per photo and area bin (`fusionpaint evaluate --lasso`)" if args.lasso
                 else "the masks binned by hole ratio")
        args.log.write_text(LOG_HEADER.format(arch=config.arch, baselines=baselines, pairs=pairs, set_title=set_title,
                                              holes=holes)
                            + _table_head(bins) + "\n", encoding="utf-8")
    speed = _train_speed(args.run_dir)
    cells = [
        dt.date.today().isoformat(),
        describe_device(torch.device("cpu")),
        str(totals["total_steps"]),
        f"{totals['total_images']:,}",
        f"{totals['total_cpu_s'] / 3600:.2f}",
        "-" if speed is None else f"{speed:.2f}",
        _recipe(config, batch),
        *(_cell(report["models"][config.arch]["bins"][b]) for b in bins),
        _misses_cell(misses) + (f" ({args.note})" if args.note else ""),
    ]
    with args.log.open("a", encoding="utf-8") as log:
        log.write("| " + " | ".join(cells) + " |\n")
    print(f"row appended to {args.log}")
    if args.keep:
        entry = report["models"][config.arch]
        card = {
            "title": f"{config.arch} default-weights run (not shipped: see the progress log)",
            "input_fill": config.input_fill,
            **totals,
            "device": describe_device(torch.device("cpu")),
            "recipe": config.to_dict(),
            "val": {"all": entry["all"], "bins": entry["bins"]},
            "val_limit": args.limit,
            "bar_misses": [format_miss(m) for m in misses],
            "data": "research photo set (BSDS500, ImageNet samples, Urban100, Sun-Hays80, Set14; research licenses)",
        }
        print(_keep(args.keep, state, card, args.keep_by, float(entry["all"][args.keep_by]), args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
