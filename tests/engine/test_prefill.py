"""The classical pre-fill a network may see in its hole: OpenCV's fills or PatchMatch, by name."""

import threading
from dataclasses import replace

import numpy as np
import pytest
import torch

from engine.errors import JobCancelled
from engine.inpainter import NetworkInpainter
from engine.models.opencv import classical_fill
from engine.models.patchmatch import patchmatch_fill
from engine.prefill import INPUT_FILLS, prefill
from engine.registry import build_network, get_spec


def _photo_with_hole():
    rng = np.random.default_rng(5)
    images = rng.random((2, 48, 64, 3), dtype=np.float32)
    holes = np.zeros((2, 48, 64), bool)
    holes[0, 10:30, 20:40] = True
    holes[1, 5:15, 5:50] = True
    return images, holes


def test_each_name_runs_its_fill():
    images, holes = _photo_with_hole()
    assert set(INPUT_FILLS) == {"telea", "ns", "patchmatch"}
    np.testing.assert_array_equal(prefill(images, holes, "patchmatch"), patchmatch_fill(images, holes))
    np.testing.assert_array_equal(prefill(images, holes, "ns"), classical_fill(images, holes, "ns"))
    telea = prefill(images, holes, "telea")
    np.testing.assert_array_equal(telea, classical_fill(images, holes, "telea"))
    assert not np.array_equal(telea, prefill(images, holes, "patchmatch"))
    with pytest.raises(ValueError, match="unknown input fill 'blur'"):
        prefill(images, holes, "blur")


def test_a_cancelled_removal_stops_in_the_pre_fill():
    model = NetworkInpainter(replace(get_spec("dfnet"), input_fill="patchmatch"), build_network("dfnet"),
                             torch.device("cpu"))
    images = np.random.default_rng(1).random((1, 256, 256, 3), dtype=np.float32)
    holes = np.zeros((1, 256, 256), bool)
    holes[0, 60:200, 60:200] = True
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(JobCancelled):
        model.predict(images, holes, cancel)


@pytest.mark.parametrize("method", ["patchmatch", "telea"])
def test_a_padded_window_is_pre_filled_from_its_real_pixels_only(method):
    """The padding beyond ``sizes`` holds a colour the real pixels lack (as a reflection can hold mirrored copies):
    it never reaches the hole, and the real part is filled as if the padding were not there."""
    rng = np.random.default_rng(3)
    real = rng.random((40, 30, 3), dtype=np.float32) * 0.5  # no channel reaches 0.5
    images = np.empty((1, 64, 64, 3), np.float32)
    images[:] = (1.0, 0.0, 1.0)
    images[0, :40, :30] = real
    holes = np.zeros((1, 64, 64), bool)
    holes[0, 10:30, 8:26] = True
    filled = prefill(images, holes, method, sizes=[(40, 30)])
    alone = prefill(real[None], holes[:, :40, :30], method)[0]
    np.testing.assert_array_equal(filled[0, :40, :30], alone)
    assert filled[0, :40, :30].max() < 0.9
    np.testing.assert_array_equal(filled[0, :40, 30:34], alone[:, [28, 27, 26, 25]])  # padded like the input
    unpadded = prefill(images, holes, method)[0, :40, :30]
    assert method == "telea" or unpadded.max() > 0.9  # what the fill did before: copies the padding's colour


def test_a_network_reports_progress_within_its_patchmatch_pre_fill():
    """On a large photo the pre-fill is most of a window's time: the bar moves while it runs."""
    from engine.inpainter import PATCHMATCH_SHARE

    model = NetworkInpainter(replace(get_spec("dfnet"), input_fill="patchmatch"), build_network("dfnet"),
                             torch.device("cpu"))
    images = np.random.default_rng(1).random((2, 256, 256, 3), dtype=np.float32)
    holes = np.zeros((2, 256, 256), bool)
    holes[:, 60:200, 60:200] = True
    seen = []
    model.predict(images, holes, progress=seen.append, sizes=[(256, 256), (200, 256)])
    assert len(seen) >= 4 and seen == sorted(seen)
    assert 0 <= seen[0] and seen[-1] <= PATCHMATCH_SHARE
    assert any(f > PATCHMATCH_SHARE / 2 for f in seen)  # the second window's fill reports past the first's share


def test_every_pre_fill_is_named_as_its_classical_model():
    from engine.prefill import INPUT_FILL_MODELS, INPUT_FILLS, input_fill_title
    from engine.registry import get_spec

    assert set(INPUT_FILL_MODELS) == set(INPUT_FILLS)
    assert input_fill_title("patchmatch") == "PatchMatch"
    for fill in INPUT_FILLS:
        assert get_spec(INPUT_FILL_MODELS[fill]).title.startswith(f"{input_fill_title(fill)} (")
