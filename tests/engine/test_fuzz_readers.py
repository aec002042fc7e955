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

from engine.errors import ImageError, WeightsError
from engine.imageio import load_image
from engine.masks_io import load_mask
from engine.weights import load_weights, save_weights
from tests.data.hostile import FORMATS, damaged, photo_bytes

SEED = 20261122
CASES_PER_FILE = 40


def _cases(data: bytes, salt: int) -> list[bytes]:
    rng = np.random.default_rng([SEED, salt])
    return [damaged(data, rng) for _ in range(CASES_PER_FILE)]


def _damaged_files(tmp_path, data: bytes, salt: int, name: str):
    """(path, bytes) of each damaged copy of ``data``, alone in a folder of its own."""
    for i, broken in enumerate(_cases(data, salt)):
        folder = tmp_path / f"{salt}-{i}"
        folder.mkdir()
        path = folder / name
        path.write_bytes(broken)
        yield path, broken


def _check_untouched(path, data):
    assert path.read_bytes() == data
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary or partial files beside it


@pytest.mark.parametrize(("fmt", "ext"), FORMATS)
def test_damaged_photos_and_masks(tmp_path, fmt, ext):
    for path, data in _damaged_files(tmp_path, photo_bytes(fmt), FORMATS.index((fmt, ext)), f"photo.{ext}"):
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
