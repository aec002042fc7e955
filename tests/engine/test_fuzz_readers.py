"""Seeded fuzzing of every reader: damaged photos, masks and weights files give one clean error or a valid result.

Each case starts from a small valid file (every photo format, a mask, a safetensors and a .pt weights file) and
damages it: truncation at a random offset, random bit flips, a zeroed or garbage span. The reader must either
succeed with a well-formed result or raise the project's own error (ImageError / WeightsError) - never another
exception - and the damaged input file must be unchanged afterwards, with nothing left beside it.
"""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from engine.errors import ImageError, WeightsError
from engine.imageio import load_image, load_mask
from engine.weights import load_weights, save_weights

SEED = 20261122
CASES_PER_FILE = 40


def _photo_bytes(fmt: str) -> bytes:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "fuzz camera"
    buffer = io.BytesIO()
    options = {"exif": exif.tobytes()} if fmt in ("JPEG", "PNG", "WEBP", "TIFF") else {}
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _damaged(data: bytes, rng: np.random.Generator) -> bytes:
    """One random damage of ``data``: truncation, bit flips, a zeroed span or a garbage span."""
    buf = bytearray(data)
    kind = rng.integers(4)
    if kind == 0:
        return bytes(buf[: int(rng.integers(0, len(buf)))])
    if kind == 1:
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(len(buf)))
            buf[i] ^= 1 << int(rng.integers(8))
        return bytes(buf)
    start = int(rng.integers(len(buf)))
    end = min(len(buf), start + int(rng.integers(1, 64)))
    buf[start:end] = bytes(end - start) if kind == 2 else rng.integers(0, 256, end - start, dtype=np.uint8).tobytes()
    return bytes(buf)


def _cases(data: bytes, salt: int) -> list[bytes]:
    rng = np.random.default_rng([SEED, salt])
    return [_damaged(data, rng) for _ in range(CASES_PER_FILE)]


def _damaged_files(tmp_path, data: bytes, salt: int, name: str):
    """(path, bytes) of each damaged copy of ``data``, alone in a folder of its own."""
    for i, damaged in enumerate(_cases(data, salt)):
        folder = tmp_path / f"{salt}-{i}"
        folder.mkdir()
        path = folder / name
        path.write_bytes(damaged)
        yield path, damaged


def _check_untouched(path, data):
    assert path.read_bytes() == data
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary or partial files beside it


FORMATS = [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("TIFF", "tif"), ("BMP", "bmp")]


@pytest.mark.parametrize(("fmt", "ext"), FORMATS)
def test_damaged_photos_and_masks(tmp_path, fmt, ext):
    for path, data in _damaged_files(tmp_path, _photo_bytes(fmt), FORMATS.index((fmt, ext)), f"photo.{ext}"):
        try:
            photo = load_image(path)
        except ImageError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)
        else:
            assert photo.rgb.dtype == np.uint8 and photo.rgb.ndim == 3 and photo.rgb.shape[2] == 3
            assert photo.rgb.flags.c_contiguous and all(isinstance(n, str) for n in photo.notes)
        try:
            hole, warnings = load_mask(path, (24, 32))
        except ImageError:
            pass
        else:
            assert hole.dtype == bool and hole.shape == (24, 32)
        _check_untouched(path, data)


def test_damaged_weights_files(tmp_path):
    state = {"conv.weight": torch.randn(4, 3, 3, 3), "conv.bias": torch.randn(4), "count": torch.tensor(3)}
    safetensors = save_weights(tmp_path / "w.safetensors", state, arch="dmfn").read_bytes()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    for suffix, original in ((".safetensors", safetensors), (".pt", buffer.getvalue())):
        for path, data in _damaged_files(tmp_path, original, 100 + len(suffix), f"weights{suffix}"):
            try:
                loaded = load_weights(path)
            except WeightsError as exc:
                assert "\n" not in str(exc) and "weights_only" not in str(exc)
            else:
                assert all(isinstance(v, torch.Tensor) for v in loaded.values())
            _check_untouched(path, data)
