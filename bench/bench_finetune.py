"""Does fine-tuning on a folder of one kind of photo pay off? Held-out scores before and after, per time budget.

    python bench/bench_finetune.py --photos DIR [--minutes 10,30] [--held-out N] [--size PX] [--pairs-per-bin N]
                                   [--seed S] [--threads N] [--arm LABEL=ARGS ...] [--json OUT]
                                   [--keep-models DIR]

DIR holds photos of one kind (one street's buildings, one beach). Their names, sorted (subfolders included), are
split into the user's photos and held-out photos: every third name is held out (at least 6), or ``--held-out N``
names spread evenly over the sorted list. For each budget of ``--minutes`` the default model (DFNet, its shipped
weights) is fine-tuned on the user's photos with the trainer's own command, in a fresh process:

    fusionpaint train --model dfnet --init default --data USER-PHOTOS --minutes M --size PX --seed S --name ...
                      --json-progress --keep-unhelpful

(``--keep-unhelpful`` so that every budget's model is scored here, whatever the run's own verdict.) ``--arm
LABEL=ARGS`` (repeatable) compares recipes at equal time: every budget is run once per arm, with ARGS added to that
command, and each arm's models are scored beside the others. Then the
default model, every fine-tuned model and the classical fills (patchmatch, opencv-telea, opencv-ns) are scored on
the held-out photos with ``fusionpaint evaluate --lasso``'s scoring (`trainer.evaluate.evaluate`: seeded lasso
object-removal holes in the 03-08, 08-15 and 15-25 % area bins, ``--pairs-per-bin`` per bin; default one per
held-out photo): L1 %, PSNR, SSIM, BPE %, the VGG feature distance, the Gram (texture statistics) distance and
sharpness, per bin.

Printed, as Markdown ready to paste into a README: the CPU (lscpu's model name, its CPU count and torch's threads),
one row per budget (wall time against the budget - a run must end within 10 % of its minutes -, training steps
done, images/s and the run's own before/after verdict), and the held-out table. ``--json OUT`` also writes
everything as JSON. The exit code is 1 when a run failed or overran its budget by more than 10 %.

The photos are never copied anywhere and the user's folders are not touched: the user's and the held-out photos
are folders of symbolic links to them in a temporary folder, which also holds the runs and the fine-tuned models
(``FUSIONPAINT_HOME`` points there) and is removed at the end; ``--keep-models DIR`` copies the fine-tuned models
out first, to look at them side by side (``fusionpaint gallery``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer.config import TrainConfig  # noqa: E402
from trainer.data import list_photos  # noqa: E402
from trainer.evaluate import BASELINES, LASSO_BINS, TABLE_COLUMNS  # noqa: E402

CLASSICAL = ("patchmatch", *BASELINES)
"""The classical fills scored beside the networks."""
MIN_HELD_OUT = 6
HELD_OUT_EVERY = 3
"""By default every third photo name (sorted) is held out."""
OVERRUN = 0.10
"""A run must end within this share of its budget."""
ARCH = "dfnet"
"""The default model, fine-tuned from its shipped weights."""


def split_photos(paths: list[Path], held_out: int | None = None) -> tuple[list[Path], list[Path]]:
    """(user's photos, held-out photos) of ``paths`` (sorted by name): ``held_out`` names spread evenly over the
    sorted list (default: every third, at least `MIN_HELD_OUT`). ValueError when fewer than `MIN_HELD_OUT` would be
    held out or fewer than `MIN_HELD_OUT` would be left for training."""
    paths = sorted(paths)
    n = len(paths)
    count = max(MIN_HELD_OUT, n // HELD_OUT_EVERY) if held_out is None else held_out
    if count < MIN_HELD_OUT:
        raise ValueError(f"hold out at least {MIN_HELD_OUT} photos, not {count}")
    if n - count < MIN_HELD_OUT:
        raise ValueError(f"{n} photos: holding out {count} leaves fewer than {MIN_HELD_OUT} to fine-tune on")
    picked = {math.floor(i * n / count) for i in range(count)}
    return [p for i, p in enumerate(paths) if i not in picked], [p for i, p in enumerate(paths) if i in picked]


def link_photos(paths: list[Path], root: Path, folder: Path) -> Path:
    """A folder of symbolic links to ``paths`` (under ``root``), named by their path relative to it (subfolders
    flattened), so the photos are read in place."""
    folder.mkdir(parents=True)
    for path in paths:
        name = "__".join(path.relative_to(root).parts)
        (folder / name).symlink_to(path.resolve())
    return folder


def cpu_description() -> dict:
    """{"model": lscpu's model name, "cpus": its CPU count, "torch_threads": torch's intra-op threads}."""
    import torch

    fields = {}
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in text.splitlines())}
    except (OSError, subprocess.CalledProcessError):
        pass
    return {"model": fields.get("Model name", "?"), "cpus": fields.get("CPU(s)", str(os.cpu_count())),
            "torch_threads": torch.get_num_threads()}


def fine_tune(photos: Path, minutes: float, *, size: int, seed: int, home: Path, threads: int | None,
              arm: str = "", extra: tuple[str, ...] = ()) -> dict:
    """Run ``fusionpaint train`` (with the ``extra`` arguments of the ``arm``, a label) on ``photos`` for ``minutes``
    in a fresh process with ``FUSIONPAINT_HOME`` = ``home``; returns the run's figures (its run folder is deleted,
    its exported model kept)."""
    name = f"bench-{arm + '-' if arm else ''}{minutes:g}min"
    command = [sys.executable, str(ROOT / "main.py"), "train", "--model", ARCH, "--init", "default",
               "--data", str(photos), "--minutes", f"{minutes:g}", "--size", str(size), "--seed", str(seed),
               "--name", name, "--json-progress", "--keep-unhelpful", *extra]
    env = {**os.environ, "FUSIONPAINT_HOME": str(home)}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    events: dict[str, dict] = {}
    print(f"fine-tuning for {minutes:g} min: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        for line in process.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            events[event.get("event")] = event
            if event.get("event") == "log":  # an error is on the run's stderr already
                print(f"  {event.get('message')}", file=sys.stderr, flush=True)
            elif event.get("event") == "estimate":
                print(f"  expected to reach step {event.get('steps_expected')} "
                      f"({event.get('step_s', 0):.2f} s per step)", file=sys.stderr, flush=True)
    wall_s = time.perf_counter() - t0
    done, start = events.get("done", {}), events.get("start", {})
    steps, train_s, batch = done.get("steps"), done.get("time_s"), start.get("batch")
    card = json.loads(Path(done["card"]).read_text(encoding="utf-8")) if done.get("card") else {}
    if done.get("run_dir"):
        shutil.rmtree(done["run_dir"], ignore_errors=True)  # its checkpoint is not needed here
    return {
        "minutes": minutes,
        "arm": arm,
        "train_args": " ".join(extra),
        "name": name,
        "exit_code": process.returncode,
        "error": events.get("error", {}).get("message"),
        "wall_s": wall_s,
        "within_budget": wall_s <= (1 + OVERRUN) * 60 * minutes,
        "steps": steps,
        "batch": batch,
        "training_s": train_s,
        "images_per_s": steps * batch / train_s if steps and batch and train_s else None,
        "prefilled_samples": start.get("prefilled_samples"),
        "helped": done.get("helped"),
        "verdict": done.get("summary"),
        "weights": done.get("weights"),
        "device": card.get("device"),
        "precision": card.get("precision"),
    }


def keep_models(runs: list[dict], folder: Path) -> None:
    """Copy every run's exported weights and model card into ``folder`` (made if missing) before the scratch folder
    goes."""
    folder.mkdir(parents=True, exist_ok=True)
    for run in runs:
        if run["weights"]:
            weights = Path(run["weights"])
            for source in (weights, weights.with_suffix(".json")):
                shutil.copy2(source, folder / source.name)
            print(f"kept {folder / weights.name}", file=sys.stderr, flush=True)


def _cell(value: float | int | None, key: str) -> str:
    if value is None:
        return "-"
    digits = {"ssim": 4, "vgg_dist": 4, "gram_dist": 4, "sharpness": 3}.get(key, 2)
    return f"{value:.{digits}f}"


def runs_table(runs: list[dict]) -> str:
    """Markdown: one row per budget with its wall time, steps, images/s and the run's own verdict."""
    lines = ["| budget | arm | wall time | within 10 % | steps | images/s | pre-filled samples | run's verdict |",
             "|---|---|---|---|---:|---:|---:|---|"]
    for run in runs:
        verdict = run["verdict"] or (f"failed (exit {run['exit_code']}): {run['error']}" if run["error"]
                                     else f"exit {run['exit_code']}")
        rate = "-" if run["images_per_s"] is None else f"{run['images_per_s']:.2f}"
        arm = f"{run['arm']}: `{run['train_args']}`" if run["train_args"] else (run["arm"] or "defaults")
        lines.append(f"| {run['minutes']:g} min | {arm} | {run['wall_s'] / 60:.1f} min | "
                     f"{'yes' if run['within_budget'] else '**no**'} | {run['steps'] or '-'} | {rate} | "
                     f"{run.get('prefilled_samples') or 0} | {verdict.replace('|', '/')} |")
    return "\n".join(lines)


def metrics_table(report: dict) -> str:
    """Markdown: for each area bin and then all of them, one row per model of an `evaluate` report."""
    header = "| bin | model | n | " + " | ".join(label for _, label in TABLE_COLUMNS) + " |"
    lines = [header, "|---|---|---:|" + "---:|" * len(TABLE_COLUMNS)]
    for bin_name in [*report["bins"], "all"]:
        for name, entry in report["models"].items():
            row = entry["all"] if bin_name == "all" else entry["bins"].get(bin_name)
            if row is None:
                continue
            cells = " | ".join(_cell(row.get(key), key) for key, _ in TABLE_COLUMNS)
            lines.append(f"| {bin_name}{' %' if bin_name != 'all' else ''} | {name} | {row['count']} | {cells} |")
    return "\n".join(lines)


NOTES = (
    "L1 % and BPE %: lower is better; PSNR (dB), SSIM: higher is better; VGG-d*: VGG19 feature distance (an offline "
    "stand-in for LPIPS, lower is better); Gram-d: VGG19 texture statistics in the hole against the photo's (0 = the "
    "same, lower is better); Sharp: Laplacian energy in the hole over the photo's (1 = as sharp, < 1 blurred)."
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", required=True, metavar="DIR", help="folder of photos of one kind (read in place)")
    parser.add_argument("--minutes", default="10,30", metavar="M,M,...", help="time budgets (default 10,30)")
    parser.add_argument("--held-out", type=int, metavar="N",
                        help=f"photos held out, spread over the sorted names (default: every {HELD_OUT_EVERY}rd, "
                        f"at least {MIN_HELD_OUT})")
    parser.add_argument("--size", type=int, default=TrainConfig.size,
                        help=f"training and scoring size in pixels (default {TrainConfig.size}, the trainer's)")
    parser.add_argument("--pairs-per-bin", type=int, metavar="N",
                        help="lasso holes scored per area bin (default: one per held-out photo)")
    parser.add_argument("--seed", type=int, default=0, help="the training runs' seed (default 0)")
    parser.add_argument("--threads", type=int, metavar="N", help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--arm", action="append", metavar="LABEL=ARGS",
                        help="a recipe to compare: LABEL and extra `fusionpaint train` arguments, e.g. "
                        "'hole=--style-region hole --texture-weight 0.3'; repeat for several (each runs every budget; "
                        "default: one run per budget with the trainer's defaults)")
    parser.add_argument("--json", metavar="OUT", help="also write everything as JSON")
    parser.add_argument("--keep-models", metavar="DIR",
                        help="copy each fine-tuned model (NAME.safetensors and its card NAME.json) into DIR, to look "
                        "at with `fusionpaint gallery --models dfnet,DIR/NAME.safetensors ...`")
    args = parser.parse_args(argv)
    arms: list[tuple[str, tuple[str, ...]]] = []
    for text in args.arm or []:
        label, _, extra = text.partition("=")
        if not label or not label.replace("-", "").isalnum():
            parser.error(f"--arm: expected LABEL=ARGS with a label of letters, digits and '-', got '{text}'")
        arms.append((label, tuple(shlex.split(extra))))
    arms = arms or [("", ())]
    try:
        budgets = [float(m) for m in args.minutes.split(",") if m.strip()]
    except ValueError:
        parser.error(f"--minutes: expected numbers separated by commas, got '{args.minutes}'")
    if not budgets or min(budgets) <= 0:
        parser.error("--minutes: expected positive numbers")
    root = Path(args.photos).expanduser().resolve()
    try:
        user, held = split_photos(list_photos(root), args.held_out)
    except ValueError as exc:
        parser.error(str(exc))
    pairs = args.pairs_per_bin or len(held)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    cpu = cpu_description()
    from trainer.evaluate import evaluate

    with tempfile.TemporaryDirectory(prefix="fusionpaint-bench-finetune-") as tmp:
        scratch = Path(tmp)
        user_dir = link_photos(user, root, scratch / "user")
        held_dir = link_photos(held, root, scratch / "held-out")
        runs = [fine_tune(user_dir, m, size=args.size, seed=args.seed, home=scratch / "home", threads=args.threads,
                          arm=label, extra=extra) for label, extra in arms for m in budgets]
        labels = {ARCH: f"{ARCH} (default, before)"}
        labels.update({run["weights"]: f"{ARCH} + {run['minutes']:g} min{' ' + run['arm'] if run['arm'] else ''}"
                       for run in runs if run["weights"]})
        print(f"scoring {len(labels) + len(CLASSICAL)} models on {len(held)} held-out photos, {pairs} lasso holes "
              f"per bin", file=sys.stderr, flush=True)
        report = evaluate([*labels, "patchmatch"], held_dir, lasso=True, masks_per_photo=math.ceil(pairs / len(held)),
                          size=args.size, limit=pairs)
        if args.keep_models:
            keep_models(runs, Path(args.keep_models))
    report["models"] = {labels.get(name, name): entry for name, entry in report["models"].items()}

    bins = ", ".join(f"{name} %" for name, _, _ in LASSO_BINS)
    print(f"## Fine-tuning DFNet on {len(user)} photos of one kind, scored on {len(held)} held-out ones\n")
    print(f"CPU: {cpu['model']}, {cpu['cpus']} CPUs, {cpu['torch_threads']} torch threads; size {args.size} px, "
          f"seed {args.seed}; training runs: `fusionpaint train --model dfnet --init default --minutes M`.\n")
    print(runs_table(runs) + "\n")
    print(f"Held-out photos, {pairs} seeded lasso holes per area bin ({bins} of the photo):\n")
    print(metrics_table(report) + "\n")
    print(NOTES)
    for name, reason in report["skipped_models"].items():
        print(f"\nskipped {name}: {reason}")
    if args.json:
        doc = {"photos": str(root), "user_photos": [str(p) for p in user], "held_out_photos": [str(p) for p in held],
               "size": args.size, "seed": args.seed, "cpu": cpu, "runs": runs, "report": report}
        Path(args.json).write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"written to {args.json}", file=sys.stderr)
    return 0 if all(run["exit_code"] == 0 and run["within_budget"] for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
