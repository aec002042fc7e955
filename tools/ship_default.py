"""Ship the kept default weights of a background run: copy them into ``resources/weights/`` with a model card.

    python tools/ship_default.py dfnet --kept RUNS/default-dfnet-kept.safetensors
        [--baselines trainer/recipes/val-baselines.json] [--log trainer/recipes/dfnet-progress.md]
        [--inference FILE] [--out resources/weights]

Refuses unless the kept weights' card (written by `tools/progress_row.py --keep`) was scored on the whole validation
set and misses no part of the bar. Then copies the float16 weights unchanged to ``OUT/ARCH.safetensors`` and writes
``OUT/ARCH.md``: architecture, training data and its licenses, recipe and departures from the paper, totals,
hardware (the CPUs of the progress log's rows) and the evaluation table beside the classical fills. Prints the
sha256 to set in the model's spec (``engine/models/ARCH.py``) with ``input_fill``, license and training data.

``--inference FILE`` (DFNet: ``trainer/recipes/dfnet-inference.json``): the weights run on another pre-fill than they
were trained on, as ``{"input_fill", "command", "report"}`` - an `fusionpaint evaluate` report on the same
validation pairs whose models are ``ARCH`` (the kept weights on that pre-fill) and the pre-fill itself. The card then
says so and adds that table; set the spec's ``input_fill`` to it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.files import atomic_write  # noqa: E402
from engine.registry import network_spec  # noqa: E402
from engine.weights import load_weights, read_arch, sha256_of  # noqa: E402
from trainer.arches import recipe_for, trainable_arches  # noqa: E402
from trainer.config import TrainConfig  # noqa: E402
from trainer.evaluate import BASELINES  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DATA = (
    "1,400 research photos (never the validation photos): BSDS500 (train and part "
    "of test), ImageNet sample images (one per class), Urban100, Sun-Hays80 and Set14, short side 256, with "
    "procedural free-form, box and blob holes covering 0-60 % of the image"
)
DATA_LICENSE = (
    "The training photos are research / non-commercial data sets, and the evaluation masks (NVIDIA irregular masks, "
    "Liu et al. 2018) are CC BY-NC-SA 4.0: use these weights for research and non-commercial purposes only."
)
METRIC_CELLS = (("l1_percent", "L1 %", "{:.2f}"), ("psnr", "PSNR dB", "{:.2f}"), ("ssim", "SSIM", "{:.3f}"),
                ("vgg_dist", "VGG-d", "{:.4f}"), ("gram_dist", "Gram-d", "{:.4f}"),
                ("sharpness", "Sharpness", "{:.3f}"))
"""The evaluation table's columns; the texture columns (Gram-d, sharpness) only where the network's scores have them
(weights scored before they existed have not)."""
TEXTURE_NOTE = ("Gram-d: distance of VGG19 texture statistics (Gram matrices) in the hole, 0 = the photo's, lower is "
                "better; sharpness: Laplacian energy in the hole over the photo's, 1 = as sharp, below 1 blurred.")


class ShipError(Exception):
    """The kept weights cannot be shipped (missing, not scored on the whole set, or missing the bar)."""


def read_kept(weights: Path, arch: str) -> dict:
    """The card beside the kept ``weights``; ShipError unless they are ``arch`` weights that met the whole bar."""
    card_path = weights.with_suffix(".json")
    if not weights.is_file() or not card_path.is_file():
        raise ShipError(f"no kept weights with a card at {weights}")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    if read_arch(weights) != arch or card.get("arch") != arch:
        raise ShipError(f"{weights} holds {read_arch(weights)} weights, not {arch}")
    if card.get("val_limit") is not None or "val" not in card:
        raise ShipError(f"{card_path}: not scored on the whole validation set (limit {card.get('val_limit')})")
    if card.get("bar_misses"):
        raise ShipError(f"{card_path}: misses the bar: " + "; ".join(card["bar_misses"]))
    return card


def cpus_from_log(log: Path) -> list[str]:
    """The distinct CPU cells (second column) of a progress log's rows, in order of first appearance."""
    cpus: list[str] = []
    if log.is_file():
        for line in log.read_text(encoding="utf-8").splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            cpu = cells[1].removeprefix("CPU: ") if len(cells) > 2 and cells[0][:4].isdigit() else None
            if cpu and cpu not in cpus:
                cpus.append(cpu)
    return cpus


def metric_cells(scores: dict) -> tuple[tuple[str, str, str], ...]:
    """The `METRIC_CELLS` a network's scores (``{"all": {...}, "bins": ...}``) have a value for."""
    return tuple(cell for cell in METRIC_CELLS if scores["all"].get(cell[0]) is not None)


def _table(first: dict, others: Sequence[dict], header: str) -> str:
    """Markdown table: one row per bin of ``first`` and "all", each metric as first / others ("-" where missing)."""
    columns = metric_cells(first)
    head = "| hole bin | " + " | ".join(f"{label} ({header})" for _, label, _ in columns) + " |"
    lines = [head, "|---" * (len(columns) + 1) + "|"]
    for bin_name in [*first["bins"], "all"]:
        rows = [m["all"] if bin_name == "all" else m["bins"][bin_name] for m in (first, *others)]
        cells = [" / ".join("-" if row.get(key) is None else fmt.format(row[key]) for row in rows)
                 for key, _, fmt in columns]
        lines.append(f"| {bin_name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def evaluation_table(network: str, val: dict, baselines: dict) -> str:
    """Markdown table: one row per hole-ratio bin and "all", each metric as network / Telea / NS."""
    return _table(val, [baselines[b] for b in BASELINES], f"{network} / Telea / NS")


def inference_table(arch: str, inference: dict) -> str:
    """Markdown table of an ``--inference`` file: per bin and "all", each metric as network / the pre-fill alone."""
    fill, models = inference["input_fill"], inference["report"]["models"]
    return _table(models[arch], [models[fill]], f"{arch} / {fill}")


def model_card(arch: str, card: dict, baselines: dict, cpus: list[str], sha256: str, size_bytes: int,
               inference: dict | None = None) -> str:
    """The shipped model card (markdown). ``baselines``: the baselines file (its ``key`` describes the validation
    pairs, its ``models`` the classical fills' scores). ``inference``: see ``--inference``, or None."""
    spec, key = network_spec(arch), baselines["key"]
    recipe = card.get("recipe", {})
    trainer_recipe = recipe_for(arch)  # the settings a card lists (the rest of the run's config: its progress log)
    options = ", ".join(f"{k} {recipe[k]}" for k in trainer_recipe.card_settings if recipe.get(k) is not None)
    loss = _loss_text(arch, recipe)
    hardware = "; ".join(cpus) or card.get("device", "?")
    facts = [
        f"File: `{arch}.safetensors`, float16, {size_bytes / 1e6:.1f} MB, sha256 `{sha256}`.",
        f"Architecture: {spec.paper}; FusionPaint's own implementation of the paper's configuration "
        f"(`engine/networks/{arch}.py`), trained by FusionPaint from random initialisation (no upstream weights).",
        f"Input: RGB in [{spec.value_range[0]:g}, {spec.value_range[1]:g}] and a hole mask (1 = hole), sides a "
        f"multiple of {spec.size_multiple} px; the editor runs it on context windows of at most {spec.native_size} px.",
        _departure(arch, card.get("input_fill"), inference),
        _composition(spec.seam_band_px),
        f"Loss: {loss} (`trainer/recipes/README.md`).",
        f"Training data: {DATA}.",
        f"License: {DATA_LICENSE}",
        f"Training: {card['total_steps']:,} steps, {card['total_images']:,} images seen, "
        f"{card['total_cpu_s'] / 3600:.1f} CPU core-hours on 2-core CPUs ({hardware}), a few hours at a time in the "
        f"background; Adam at a constant learning rate; recipe: {options}. Progress per sitting: "
        f"`trainer/recipes/{arch}-progress.md`.",
    ]
    return "\n".join([
        f"# {spec.title}: the weights FusionPaint ships", "", *(f"- {fact}" for fact in facts), "",
        "## Evaluation", "",
        f"{card['val']['all']['count']} pairs of {key['photos']} validation photos (BSDS500 val) and irregular masks "
        f"binned by hole ratio, {key['size']} px, through the editor's own pipeline (`fusionpaint evaluate`); lower "
        "is better for L1 and VGG-d (VGG19 feature distance, an offline stand-in for LPIPS), higher for PSNR and SSIM. "
        "The weights beat both OpenCV fills in VGG-d in every bin and in L1, PSNR and SSIM in every bin from 20 % up."
        + (f" {TEXTURE_NOTE}" if any(k in ("gram_dist", "sharpness") for k, _, _ in metric_cells(card["val"])) else ""),
        "",
        evaluation_table(arch, card["val"], baselines["models"]), "",
        *(_inference_section(arch, inference, card.get("input_fill")) if inference else []),
    ])


def _loss_text(arch: str, recipe: dict) -> str:
    """The card's loss phrase for the recipe the weights were trained with (the run's config as a dict)."""
    config = TrainConfig.from_dict({"arch": arch, "data": "", **recipe})
    return recipe_for(arch).options(config).loss_summary()


def _composition(seam_band_px: int) -> str:
    """The card's line on how the output is composited into the photo (the spec's seam band)."""
    if seam_band_px == 0:
        return ("Composition: hard, as in training - the network's output replaces the hole's pixels only; every "
                "pixel outside the hole is the photo's own.")
    return (f"Composition: the output fades into the photo across a seam band of {seam_band_px} px outside the hole; "
            "pixels farther out are the photo's own.")


def _departure(arch: str, trained_fill: str | None, inference: dict | None) -> str:
    """The card's line on the hole's input: zeros (the paper) or a classical pre-fill, in training and inference."""
    if trained_fill in (None, "zeros"):
        return "Input as in the paper: the hole holds zeros."
    use = recipe_for(arch).prefill_use
    if inference is None:
        return (f"**Departure from the paper:** the hole is pre-filled with the classical `{trained_fill}` fill "
                f"(`engine/prefill.py`) instead of zeros, in training and inference alike, and {use}.")
    return (f"**Departures from the paper:** trained with the hole pre-filled by the classical `{trained_fill}` fill "
            f"(`engine/prefill.py`) instead of zeros; the editor runs it on `{inference['input_fill']}`'s pre-fill "
            f"instead, and {use} (see In the editor).")


def _inference_section(arch: str, inference: dict, trained_fill: str | None) -> list[str]:
    report, fill = inference["report"], inference["input_fill"]
    return [
        f"## In the editor: on `{fill}`'s pre-fill", "",
        f"The editor feeds these weights `{fill}`'s fill of the hole, not the `{trained_fill}` fill they were trained "
        "on: "
        f"the same {report['models'][arch]['all']['count']} validation pairs, scored beside `{fill}` alone "
        f"(`{inference['command']}`):", "",
        inference_table(arch, inference), "",
    ]


def ship(arch: str, kept: Path, baselines_path: Path, log: Path, out: Path,
         inference_path: Path | None = None) -> tuple[Path, str, dict]:
    """Copy the kept weights to ``out`` with their card; return (weights path, sha256, kept card). ShipError when not
    shippable."""
    card = read_kept(kept, arch)
    baselines = json.loads(baselines_path.read_text(encoding="utf-8"))
    inference = json.loads(inference_path.read_text(encoding="utf-8")) if inference_path else None
    if inference and inference["report"]["bins"] != baselines["key"]["bins"]:
        raise ShipError(f"{inference_path}: scored on other validation pairs than {baselines_path}")
    load_weights(kept)  # refuse a truncated or unreadable file before it is copied
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{arch}.safetensors"
    atomic_write(target, lambda tmp: shutil.copyfile(kept, tmp))
    sha256 = sha256_of(target)
    text = model_card(arch, card, baselines, cpus_from_log(log), sha256, target.stat().st_size, inference)
    atomic_write(out / f"{arch}.md", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    # the training totals and recipe, from which the next default-weights run continues
    card_text = json.dumps(card, indent=2) + "\n"
    atomic_write(out / f"{arch}.training.json", lambda tmp: Path(tmp).write_text(card_text, encoding="utf-8"))
    return target, sha256, card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("arch", choices=trainable_arches())
    parser.add_argument("--kept", type=Path, required=True,
                        help="the kept weights of a default-weights run (tools/train_default.sh: RUN-kept.safetensors)")
    parser.add_argument("--baselines", type=Path, default=REPO / "trainer/recipes/val-baselines.json")
    parser.add_argument("--log", type=Path, help="default: trainer/recipes/ARCH-progress.md")
    parser.add_argument("--inference", type=Path, help="the weights scored on the pre-fill the editor gives them")
    parser.add_argument("--out", type=Path, default=REPO / "resources/weights")
    args = parser.parse_args(argv)
    kept = args.kept
    log = args.log or REPO / f"trainer/recipes/{args.arch}-progress.md"
    try:
        target, sha256, card = ship(args.arch, kept, args.baselines, log, args.out, args.inference)
    except ShipError as exc:
        print(f"not shipped: {exc}", file=sys.stderr)
        return 1
    print(f"shipped {target} and {target.with_suffix('.md')}")
    fill = json.loads(args.inference.read_text(encoding="utf-8"))["input_fill"] if args.inference else card.get(
        "input_fill")
    print(f"set in engine/models/{args.arch}.py: sha256=\"{sha256}\", input_fill=\"{fill}\", "
          "license and training_data from the card, and its rank from the validation table in docs/models.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
