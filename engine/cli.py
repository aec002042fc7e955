"""Command-line subcommands of the engine: ``remove`` (one photo or a folder) and ``models``.

Every expected failure ends with one line ``error: ...`` on stderr and a non-zero exit code; outputs are written
atomically, so a failed run never leaves a partial file behind.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from engine.device import DEVICE_CHOICES, resolve_device
from engine.errors import FusionPaintError, ImageError, NothingToSample, WriteError
from engine.files import writable_target
from engine.formats import SUPPORTED_EXTENSIONS, image_files, save_format
from engine.imageio import Photo, load_image, save_image
from engine.masks_io import load_mask
from engine.model_spec import NetworkSpec
from engine.pipeline import InpaintResult, inpaint
from engine.registry import default_model_name, list_models, load_model, parameter_count, skipped_user_models
from engine.units import printable

EXIT_ERROR = 1
EXIT_USAGE = 2
MAX_BAND_PX = 256
"""Widest seam band ``--band`` accepts, in pixels."""


def add_subcommands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``remove`` and ``models`` on the main parser's subparsers."""
    remove = subparsers.add_parser(
        "remove",
        help="remove the masked objects from a photo or a folder of photos",
        description="Fill the white part of MASK in IMAGE. Folder mode: --images DIR --masks DIR|FILE -o DIR "
        "(masks matched by file stem, or one mask file for every photo).",
    )
    remove.add_argument("image", nargs="?", help="photo to clean (single-photo mode)")
    remove.add_argument("--mask", help="mask image: white (> 127) or an RGBA alpha marks what to remove")
    remove.add_argument("--images", help="folder of photos (folder mode)")
    remove.add_argument("--masks", help="folder of masks matched by file stem, or one mask for all photos")
    remove.add_argument("--exclude", help="mask of what the fill must never copy from (the sampling area's excluded "
                        "part), read like --mask; folder mode: a folder matched by file stem or one mask for all "
                        "photos. Honoured by PatchMatch, OpenCV's fills and a network's pre-fill")
    remove.add_argument("-o", "--output", required=True, help="output file (single) or folder (folder mode)")
    remove.add_argument("--model", default=None, help="model name or path to a .safetensors file (see 'models')")
    remove.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="compute device (default: auto)")
    remove.add_argument("--alpha-out", help="also save the composition alpha map as a PNG (single-photo mode)")
    remove.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality 1-100 (default 95)")
    remove.add_argument("--band", type=int, default=None,
                        help="seam band blended outside the hole, in pixels (default: the model's own; "
                        "see 'models --json')")
    remove.add_argument("--overwrite", action="store_true", help="allow the output to replace an input file")
    remove.add_argument("--keep-gps", action="store_true",
                        help="keep the photo's GPS location in the output's EXIF (removed by default)")
    remove.set_defaults(func=run_remove)

    models = subparsers.add_parser("models", help="list the available models")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.set_defaults(func=run_models)


def _fail(message: str, code: int = EXIT_ERROR) -> int:
    print(f"error: {printable(message)}", file=sys.stderr)
    return code


def _warn(message: str) -> None:
    print(f"warning: {printable(message)}", file=sys.stderr)


def _same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` name the same file: the same existing file, or the same path where one cannot be
    looked at (missing, a loop of links, in a folder that may not be searched)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _output_conflict(outputs: dict[str, Path], inputs: dict[str, Path], overwrite: bool) -> str | None:
    """Why writing ``outputs`` ({label: path}) is refused, or None: two outputs on one file, or (without
    ``--overwrite``) an output on an input file."""
    items = list(outputs.items())
    for i, (label, path) in enumerate(items):
        for other_label, other in items[i + 1:]:
            if _same_file(path, other):
                return f"{label} and {other_label} are the same file ({path}); choose two names"
        for input_label, source in inputs.items():
            if not overwrite and _same_file(path, source):
                return f"{label} {path} is the {input_label}; choose another name or pass --overwrite"
    return None


def run_remove(args: argparse.Namespace) -> int:
    """Entry point of ``fusionpaint remove``."""
    if not 1 <= args.quality <= 100:
        return _fail(f"--quality must be between 1 and 100, got {args.quality}", EXIT_USAGE)
    folder_mode = args.images is not None
    if folder_mode and (args.image or args.mask):
        return _fail("give either IMAGE --mask MASK or --images DIR --masks DIR, not both", EXIT_USAGE)
    if not folder_mode and not (args.image and args.mask):
        return _fail("give IMAGE --mask MASK -o OUT, or --images DIR --masks DIR|FILE -o DIR", EXIT_USAGE)
    if folder_mode and not args.masks:
        return _fail("--images needs --masks DIR|FILE", EXIT_USAGE)
    if args.alpha_out and folder_mode:
        return _fail("--alpha-out works with a single photo only", EXIT_USAGE)
    if args.band is not None and not 0 <= args.band <= MAX_BAND_PX:
        return _fail(f"--band must be 0 to {MAX_BAND_PX} pixels, got {args.band}", EXIT_USAGE)
    try:
        resolve_device(args.device)  # an absent GPU is an error even for a classical model
    except FusionPaintError as exc:
        return _fail(str(exc), EXIT_USAGE)
    try:
        model = load_model(args.model or default_model_name(), args.device)
        if folder_mode:
            return _remove_folder(args, model)
        return _remove_one(args, model)
    except FusionPaintError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("cancelled", 130)


def _clean_one(image_path: Path, mask_path: Path, model, band_px: int | None,
               exclude_path: Path | None = None) -> tuple[Photo, InpaintResult]:
    photo = load_image(image_path)
    hole, warnings = load_mask(mask_path, photo.rgb.shape[:2])
    exclude = None
    if exclude_path is not None:
        exclude, exclude_warnings = load_mask(exclude_path, photo.rgb.shape[:2])
        warnings += exclude_warnings
    for warning in (*photo.notes, *warnings):
        _warn(warning)
    if not hole.any():
        _warn(f"mask {mask_path} is empty: {image_path.name} is copied unchanged")
    # the original pixels are not needed after the fill: writing the result over them saves a copy of the photo
    result = inpaint(photo.rgb, hole, model, band_px=band_px, in_place=True, exclude=exclude)
    for note in result.notes:
        _warn(note)
    return photo, result


def _remove_one(args: argparse.Namespace, model) -> int:
    image_path, mask_path, out_path = Path(args.image), Path(args.mask), Path(args.output)
    outputs = {"output": out_path, **({"--alpha-out": Path(args.alpha_out)} if args.alpha_out else {})}
    exclude_path = Path(args.exclude) if args.exclude else None
    inputs = {"photo": image_path, "mask": mask_path, **({"exclude mask": exclude_path} if exclude_path else {})}
    conflict = _output_conflict(outputs, inputs, args.overwrite)
    if conflict:
        return _fail(conflict, EXIT_USAGE)
    for name in (args.output, args.alpha_out):
        if name:  # an unknown file type, a pipe, a read-only file or folder stops before any work
            save_format(Path(name))
            writable_target(name)  # the name as given: one ending in a separator names a folder
    photo, result = _clean_one(image_path, mask_path, model, args.band, exclude_path)
    summary = (f"{len(result.windows)} region(s) filled with {result.model} on {result.device} in "
               f"{result.timings.get('total', 0.0):.2f} s")
    cleaned, alpha_map = result.image, (result.alpha_map() if args.alpha_out else None)
    del result  # its per-window maps (6 bytes per window pixel) are not needed to encode the outputs
    for warning in save_image(out_path, cleaned, alpha=photo.alpha, like=photo, quality=args.quality,
                              keep_gps=args.keep_gps):
        _warn(warning)
    if alpha_map is not None:
        try:
            save_image(Path(args.alpha_out), alpha_map)
        except FusionPaintError as exc:
            return _fail(f"{exc}; the result {out_path} was saved and is kept")
    print(printable(f"{out_path}: {summary}"))
    return 0


def _remove_folder(args: argparse.Namespace, model) -> int:
    from tqdm import tqdm

    images_dir, masks_arg, out_dir = Path(args.images), Path(args.masks), Path(args.output)
    if not images_dir.is_dir():
        return _fail(f"photo folder not found: {images_dir}")
    if not masks_arg.exists():
        return _fail(f"mask folder or file not found: {masks_arg}")
    if out_dir.exists() and not out_dir.is_dir():
        return _fail(f"output {out_dir} exists and is not a folder")
    for label, folder in (("photo", images_dir), ("mask", masks_arg)):
        if folder.is_dir() and _same_file(out_dir, folder) and not args.overwrite:
            return _fail(f"output folder {out_dir} is the {label} folder; choose another or pass --overwrite",
                         EXIT_USAGE)
    photos = image_files(images_dir, recursive=False, special=True)  # a pipe or a folder is named as skipped
    if not photos:
        return _fail(f"no photos ({', '.join(SUPPORTED_EXTENSIONS)}) in {images_dir}")
    masks_by_stem = {p.stem: p for p in image_files(masks_arg, recursive=False)} if masks_arg.is_dir() else None
    exclude_arg = Path(args.exclude) if args.exclude else None
    if exclude_arg is not None and not exclude_arg.exists():
        return _fail(f"exclude mask folder or file not found: {exclude_arg}")
    excludes_by_stem = ({p.stem: p for p in image_files(exclude_arg, recursive=False)}
                        if exclude_arg is not None and exclude_arg.is_dir() else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    done = 0
    for image_path in tqdm(photos, desc="removing", unit="photo", file=sys.stderr):
        mask_path = masks_arg if masks_by_stem is None else masks_by_stem.get(image_path.stem)
        if mask_path is None:
            _warn(f"no mask named {image_path.stem}.* in {masks_arg}: {image_path.name} skipped")
            failures += 1
            continue
        conflict = _output_conflict({"output": out_dir / image_path.name}, {"photo": image_path, "mask": mask_path},
                                    args.overwrite)
        if conflict:
            _warn(f"{conflict}: {image_path.name} skipped")
            failures += 1
            continue
        exclude_path = exclude_arg if excludes_by_stem is None else excludes_by_stem.get(image_path.stem)
        try:
            photo, result = _clean_one(image_path, mask_path, model, args.band, exclude_path)
            cleaned = result.image
            del result  # as in single-photo mode: the per-window maps are not needed to encode the output
            for warning in save_image(out_dir / image_path.name, cleaned, alpha=photo.alpha, like=photo,
                                      quality=args.quality, keep_gps=args.keep_gps):
                _warn(warning)
            done += 1
        except (ImageError, WriteError, NothingToSample) as exc:
            _warn(str(exc))
            failures += 1
    print(printable(f"{done} photo(s) written to {out_dir}, {failures} skipped"))
    return 0 if failures == 0 else EXIT_ERROR


def run_models(args: argparse.Namespace) -> int:
    """Entry point of ``fusionpaint models``."""
    rows = []
    specs = list_models()
    for path, reason in skipped_user_models().items():
        _warn(f"skipped {path.name}: {reason}")
    for spec in specs:
        weights_file = spec.weights_file if isinstance(spec, NetworkSpec) else None
        rows.append({
            "name": spec.name,
            "title": spec.title,
            "kind": "network" if isinstance(spec, NetworkSpec) else "classical",
            "status": spec.status,
            "parameters": parameter_count(spec),
            "weights_file": str(weights_file) if weights_file else None,
            "native_size": spec.native_size,
            "alpha": spec.alpha_meaning,
            "seam_band_px": spec.seam_band_px,
            "license": spec.license,
            "training_data": spec.training_data,
            "default": spec.name == default_model_name(),
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = f"{'name':<16} {'status':<11} {'parameters':>11}  {'weights file':<44} license"
    print(header)
    print("-" * len(header))
    for row in rows:
        name = f"{row['name']}{' *' if row['default'] else ''}"
        weights = row["weights_file"] or "-"
        params = f"{row['parameters']:,}" if row["parameters"] else "-"
        print(printable(f"{name:<16} {row['status']:<11} {params:>11}  {weights:<44} {row['license']}"))
    print("* default model")
    return 0
