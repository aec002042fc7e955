"""Command line of the trainer: ``fusionpaint train``, ``evaluate``, ``gallery`` and ``runs``.

`add_subcommands` registers them on the main program's subparsers; each sets ``func(args) -> exit code``.
Errors are one line "error: ..." on stderr (and an ``error`` event with ``--json-progress``) with exit code 2 for
bad arguments or unusable data and 1 for failures during training. A run stopped by SIGTERM / Ctrl+C exits
with 143 / 130 after writing its checkpoint.

Multi-GPU: ``torchrun --nproc_per_node N -m trainer.cli train ...`` (or ``-m main train``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import fields
from pathlib import Path

from engine.units import printable
from trainer.arches import check, network_arches
from trainer.budget import POOL_SHARE
from trainer.config import INIT_DEFAULT, INPUT_FILLS, PRECISIONS, STYLE_REGIONS, TrainConfig
from trainer.errors import ConfigError

_TRAIN_FIELDS = tuple(f.name for f in fields(TrainConfig))
"""The run settings read from the command line; an option left out (None) takes `TrainConfig`'s default."""
_DEFAULTS = TrainConfig(arch="", data="")
"""The defaults the help texts quote."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None


def _positive_float(text: str) -> float:
    value = _float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    value = _float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of 0 or more, got {value}")
    return value


def _model_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected model names separated by commas, got '{text}'")
    return names


def _add_pair_options(parser: argparse.ArgumentParser) -> None:
    """The options choosing the evaluation pairs (`trainer.evaluate.eval_set`), shared by evaluate and gallery."""
    parser.add_argument("--images", required=True, metavar="DIR")
    holes = parser.add_mutually_exclusive_group(required=True)
    holes.add_argument("--masks", metavar="DIR", help="folder of hole masks (white = hole), in folders like 20-30")
    holes.add_argument("--lasso", action="store_true",
                       help="instead of mask files, seeded lasso holes of 3-8, 8-15 and 15-25 %% of each photo "
                       "(the object-removal set)")
    parser.add_argument("--masks-per-photo", type=_positive_int, metavar="N",
                        help="with --lasso: holes per photo and area bin (default 1)")
    parser.add_argument("--size", type=_positive_int, help="evaluation size in pixels (default 256)")
    parser.add_argument("--device", default="auto")


def _pair_folder_error(args: argparse.Namespace) -> str | None:
    """The message for a missing --images / --masks folder or --masks-per-photo without --lasso, else None."""
    for label, folder in (("--images", args.images), ("--masks", args.masks)):
        if folder is not None and not Path(folder).is_dir():
            return f"{label} folder not found: {folder}"
    if args.masks_per_photo is not None and not args.lasso:
        return "--masks-per-photo applies to --lasso only"
    return None


def add_subcommands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``train``, ``evaluate``, ``gallery`` and ``runs`` on ``subparsers``."""
    train = subparsers.add_parser(
        "train",
        help=f"fine-tune a network ({', '.join(network_arches())}) on a folder of photos",
        description="Fine-tune (or train) an inpainting network on a folder of photos and export it as a model "
        "the editor can use. A few photos are held out to show whether fine-tuning helped.",
    )
    train.add_argument("--model", dest="arch", choices=network_arches(),
                       help="network to train (not needed with --resume)")
    train.add_argument("--data", metavar="DIR", help="folder of photos (searched recursively)")
    train.add_argument("--init", metavar="default|random|PATH",
                       help=f"start from the shipped weights ({INIT_DEFAULT}, the default), random "
                       "initialisation, or a weights file")
    train.add_argument("--size", type=_positive_int,
                       help=f"training crop size in pixels (default {_DEFAULTS.size})")
    train.add_argument("--batch", type=_positive_int, help="images per step and process (default: the network's "
                       "recipe's: 1 or 2 on the CPU, more on a GPU)")
    train.add_argument("--steps", type=_positive_int, help="stop after this many steps")
    train.add_argument("--minutes", type=_positive_float,
                       help="the whole run's time budget in minutes: reading the photos, training, the before/after "
                       "scoring and the export; a budget buying too few steps is refused, naming the one needed")
    train.add_argument("--name", help="name of the exported model (default: MODEL-FOLDER-DATE)")
    train.add_argument("--device", help=f"auto, cpu, cuda, cuda:N or mps (default {_DEFAULTS.device})")
    train.add_argument("--precision", choices=PRECISIONS,
                       help="auto (default): bf16/fp16 autocast on CUDA, bf16 on a CPU where it trains faster "
                       "(AMX, or AMD's AVX512-BF16), else float32; fp32; bf16 on any device")
    train.add_argument("--resume", metavar="PATH", help="continue from a checkpoint file or run folder")
    train.add_argument("--json-progress", action="store_true", help="JSON lines on stdout instead of a bar")
    train.add_argument("--checkpoint-every", type=_positive_int, metavar="N",
                       help=f"write a checkpoint every N steps (default {_DEFAULTS.checkpoint_every})")
    train.add_argument("--preview-every", type=int, metavar="N",
                       help=f"write a preview every N steps, 0 = none (default {_DEFAULTS.preview_every})")
    train.add_argument("--lr", type=_positive_float, help="learning rate (default 2e-4, as in the papers)")
    train.add_argument("--warmup-steps", type=int, metavar="N",
                       help=f"linear learning-rate warm-up (default {_DEFAULTS.warmup_steps} steps)")
    train.add_argument("--lr-decay-every", type=int, metavar="N",
                       help=f"multiply the learning rate by --lr-decay every N steps, 0 = never (default "
                       f"{_DEFAULTS.lr_decay_every})")
    train.add_argument("--lr-decay", type=_positive_float, help=f"(default {_DEFAULTS.lr_decay:g})")
    train.add_argument("--clip-grad", type=_positive_float, metavar="NORM", help="clip the gradient norm")
    train.add_argument("--texture-scales", type=int, metavar="K",
                       help="DFNet: VGG perceptual and style losses on the K finest scales (0-3, default 3 as in "
                       "the paper; fewer is faster)")
    train.add_argument("--texture-from-step", type=int, metavar="N",
                       help="DFNet: L1 and total variation only before step N, then the VGG losses too (default 0)")
    train.add_argument("--texture-weight", type=_non_negative_float, metavar="W",
                       help="multiply the VGG losses' weights by W (1 = the paper's): DFNet's perceptual and "
                       "style (0.1, 240), DMFN's self-guided regression and feature matching (25) and alignment (1); "
                       "0 = no VGG losses and no VGG pass (faster) (default: the network's own, docs/fine-tuning.md)")
    train.add_argument("--style-region", choices=STYLE_REGIONS,
                       help="DFNet: where the style loss compares texture statistics: the whole image (the paper) or "
                       "the hole only (Gram matrices over the hole's positions, as the evaluation's Gram distance) "
                       "(default: the network's own, docs/fine-tuning.md)")
    train.add_argument("--input-fill", choices=INPUT_FILLS,
                       help="DFNet: what the hole holds in the network's input: zeros (the paper) or that classical "
                       "fill (patchmatch costs about 0.7 s per 256 px image on a CPU) (default: as the starting "
                       "weights; zeros from random initialisation)")
    train.add_argument("--prefill-pool", type=int, metavar="N",
                       help="train on N samples (crop, hole and its pre-fill) made once and reused, instead of a new "
                       "one every batch; 0 = always new (default: with --minutes and the patchmatch fill, as many as "
                       f"{POOL_SHARE * 100:g} %% of the budget makes, else 0)")
    train.add_argument("--train-part", metavar="PART",
                       help="train only part of the network, the rest kept as it starts: DFNet 'decoder' (the "
                       "decoder and its fusion blocks) or 'fusion' (the fusion blocks alone: the learned alpha and "
                       "raw images), DMFN 'decoder'; faster steps, fewer weights to move (default: all)")
    train.add_argument("--adversarial-from-step", type=int, metavar="N",
                       help="DMFN: reconstruction and VGG losses only before step N (no discriminator), then the "
                       "adversarial and feature-matching losses too (default 0)")
    train.add_argument("--compile", action="store_true", default=None,
                       help="compile the generator with torch.compile: minutes of compiling first, then faster steps "
                       "(17 %% on a 2-core CPU); for runs of an hour or more")
    train.add_argument("--seed", type=int, help=f"(default {_DEFAULTS.seed})")
    train.add_argument("--masks", metavar="DIR", help="folder of hole masks (white = hole) instead of random ones")
    train.add_argument("--workers", type=int, metavar="N",
                       help="batches prepared ahead in a background thread (default: 2 on a GPU, 0 on the CPU)")
    train.add_argument("--run-dir", metavar="DIR", help="folder for checkpoints and previews "
                       "(default: the user's runs folder / NAME)")
    train.add_argument("--no-evaluate", dest="evaluate", action="store_false", default=None,
                       help="skip the before/after evaluation on held-out photos")
    train.add_argument("--keep-unhelpful", action="store_true", default=None,
                       help="export the model even when the before/after scoring says fine-tuning did not help "
                       "(by default such a model is not exported; the run folder stays)")
    train.set_defaults(func=run_train)

    ev = subparsers.add_parser(
        "evaluate",
        help="score models on photos and masks (L1, PSNR, SSIM, BPE, VGG, texture and sharpness per bin)",
        description="Score one or more models and the OpenCV baselines on photos with hole masks or lasso holes.",
    )
    ev.add_argument("--model", action="append", required=True, metavar="NAME|PATH",
                    help="model name or weights file (repeat to compare several)")
    _add_pair_options(ev)
    ev.add_argument("--limit", type=_positive_int, help="at most this many pairs per bin")
    ev.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    ev.set_defaults(func=run_evaluate)

    gal = subparsers.add_parser(
        "gallery",
        help="side-by-side pictures of models' fills on fixed evaluation pairs",
        description="For the first evaluation pairs (round-robin over the bins), write one PNG row per pair: the "
        "photo with its hole, each model's result and the original, labelled with the Gram distance and sharpness; "
        "and an index.md.",
    )
    gal.add_argument("--models", type=_model_list, default=[], metavar="A,B,...",
                     help="models to show, separated by commas (default: the default model and patchmatch)")
    _add_pair_options(gal)
    gal.add_argument("--pairs", type=_positive_int, default=8, metavar="N", help="number of pairs (default 8)")
    gal.add_argument("-o", "--out", required=True, metavar="DIR", help="folder for the rows and index.md")
    gal.set_defaults(func=run_gallery)

    runs = subparsers.add_parser(
        "runs",
        help="list, rename or delete training runs (with the disk each uses)",
        description="Training runs are kept in the user's runs folder so they can be resumed "
        "('fusionpaint train --resume FOLDER'). Without an action: list them.",
    )
    runs.add_argument("action", nargs="?", default="list", choices=("list", "rename", "delete"))
    runs.add_argument("names", nargs="*", metavar="NAME", help="rename: OLD NEW; delete: NAME")
    runs.add_argument("--json", action="store_true", help="list as JSON")
    runs.set_defaults(func=run_runs)


def _error(message: str, json_lines: bool = False, code: int = 2) -> int:
    message = " ".join(str(message).split())
    if json_lines:
        print(json.dumps({"event": "error", "message": message}), flush=True)
    print(f"error: {printable(message)}", file=sys.stderr, flush=True)
    return code


def run_train(args: argparse.Namespace) -> int:
    """``fusionpaint train``: returns 0 (done), 2 (bad input), 1 (failure), 130/143 (stopped, checkpoint kept)."""
    from trainer.budget import process_age_s
    from trainer.checkpoint import CheckpointError
    from trainer.progress import Progress

    json_lines = bool(getattr(args, "json_progress", False))
    values = {k: getattr(args, k, None) for k in _TRAIN_FIELDS}
    try:
        if args.resume:
            from trainer.loop import RESUME_OVERRIDES

            given = {k: values[k] for k in RESUME_OVERRIDES if values[k] is not None}
            given.setdefault("device", _DEFAULTS.device)  # the device found now, not the one the run started on
            config, overrides = None, given
        else:
            if not values["arch"]:
                raise ConfigError(f"--model is required ({' or '.join(network_arches())}) unless --resume is given")
            if not values["data"]:
                raise ConfigError("--data DIR is required unless --resume is given")
            config = TrainConfig(**{k: v for k, v in values.items() if v is not None})
            check(config)
            overrides = None
        progress = Progress(json_lines=json_lines)
        from trainer.distributed import dist_info_from_env
        from trainer.loop import Trainer

        started = time.perf_counter() - process_age_s()  # the time budget counts from the process's start
        trainer = Trainer(config, progress, resume=args.resume, overrides=overrides, started=started)
        if config is not None and not args.resume and dist_info_from_env().is_main:
            _refuse_existing_model(trainer.config)
        created = trainer.dist.enabled
        try:
            result = trainer.run()
        finally:
            progress.close()
            if created:
                import torch.distributed as dist

                if dist.is_initialized():
                    dist.destroy_process_group()
        return result.exit_code
    except (ConfigError, CheckpointError) as exc:
        return _error(str(exc), json_lines, 2)
    except KeyboardInterrupt:
        return _error("interrupted", json_lines, 130)
    except Exception as exc:  # reported as one line; the traceback would hide the message in the dialog
        return _error(f"training failed: {type(exc).__name__}: {exc}", json_lines, 1)


def _refuse_existing_model(config: TrainConfig) -> None:
    from trainer.export import model_paths

    weights, _ = model_paths(config.resolved_name())
    if weights.exists():
        raise ConfigError(f"a model named '{config.resolved_name()}' already exists ({weights}); choose another --name")


def run_evaluate(args: argparse.Namespace) -> int:
    """``fusionpaint evaluate``: prints the table (and writes --json); 2 for bad input (none of the models can be
    loaded included), 1 when --json cannot be written."""
    from engine.errors import FusionPaintError
    from engine.files import atomic_write, writable_target
    from trainer.evaluate import evaluate, format_table

    problem = _pair_folder_error(args)
    if problem:
        return _error(problem)
    try:
        if args.json:
            writable_target(args.json)  # a missing or read-only folder stops before any work
    except FusionPaintError as exc:
        return _error(str(exc))
    from tqdm import tqdm

    bar = None  # started by the first progress, so an early refusal is the only line on stderr

    def progress(fraction: float, message: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=1000, desc="evaluating", file=sys.stderr,
                       bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}")
        bar.n = round(1000 * fraction)
        bar.set_postfix_str(message)

    try:
        report = evaluate(args.model, args.images, args.masks, lasso=args.lasso,
                          masks_per_photo=args.masks_per_photo, device=args.device, size=args.size,
                          limit=args.limit, progress=progress)
    except (ValueError, FusionPaintError) as exc:
        return _error(str(exc))
    finally:
        if bar is not None:
            bar.close()
    if not any(name in report["models"] for name in args.model):
        reasons = "; ".join(f"{name}: {reason}" for name, reason in report["skipped_models"].items())
        return _error(f"no model could be evaluated: {reasons}")
    print(format_table(report))
    if args.json:
        text = json.dumps(report, indent=2, default=str) + "\n"
        try:
            atomic_write(args.json, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        except FusionPaintError as exc:
            return _error(str(exc), code=1)
        print(f"report written to {args.json}", file=sys.stderr)
    return 0


def run_gallery(args: argparse.Namespace) -> int:
    """``fusionpaint gallery``: writes the rows and index.md, prints the index's path; 2 for bad input."""
    from engine.errors import FusionPaintError
    from trainer.gallery import gallery

    problem = _pair_folder_error(args)
    if problem:
        return _error(problem)
    out = Path(args.out).expanduser().resolve()
    for label, folder in (("--images", args.images), ("--masks", args.masks)):
        if folder is not None and out.is_relative_to(Path(folder).expanduser().resolve()):
            return _error(f"-o {args.out} is inside the {label} folder; choose another folder")
    if out.exists() and not out.is_dir():
        return _error(f"-o {args.out} is a file, not a folder")
    try:
        written = gallery(args.models, args.images, args.masks, out_dir=out, lasso=args.lasso,
                          masks_per_photo=args.masks_per_photo, size=args.size, pairs=args.pairs,
                          device=args.device,
                          progress=lambda fraction, message: print(f"{fraction:4.0%} {message}", file=sys.stderr))
    except (ValueError, FusionPaintError, OSError) as exc:
        return _error(str(exc))
    print(f"{len(written) - 1} rows and {written[-1]} written")
    return 0


def run_runs(args: argparse.Namespace) -> int:
    """``fusionpaint runs``: list (table or --json), rename OLD NEW, delete NAME; 2 for a bad name."""
    from engine.paths import user_runs_dir
    from trainer.runs import delete_run, list_runs, rename_run

    root = user_runs_dir()
    expected = {"list": 0, "rename": 2, "delete": 1}[args.action]
    if len(args.names) != expected:
        return _error(f"'runs {args.action}' takes {expected} name{'s' if expected != 1 else ''}")
    try:
        if args.action == "rename":
            print(printable(f"renamed {args.names[0]} to {rename_run(root, *args.names).name}"))
        elif args.action == "delete":
            print(printable(f"deleted {args.names[0]}: {delete_run(root, args.names[0]) / 2**20:.1f} MB freed"))
        else:
            runs = list_runs(root)
            if args.json:
                print(json.dumps([{**vars(run), "path": str(run.path)} for run in runs]))
            else:
                for run in runs:
                    step = "-" if run.step is None else str(run.step)
                    print(printable(f"{run.name:<40} {run.arch or '?':<6} step {step:>8} {run.bytes / 2**20:9.1f} MB"))
                print(printable(f"{len(runs)} run(s), {sum(r.bytes for r in runs) / 2**20:.1f} MB in {root}"))
    except (ConfigError, OSError) as exc:
        return _error(str(exc))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """A stand-alone parser with the trainer's subcommands (``python -m trainer.cli``)."""
    parser = argparse.ArgumentParser(prog="fusionpaint", description="FusionPaint trainer")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_subcommands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
