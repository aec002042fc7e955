"""Every registered model keeps the contract the pipeline, the trainer and the editor rely on: a new file in
engine/models/ is tested here (and by the pipeline tests) by being registered."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from engine.model_spec import ClassicalSpec, NetworkSpec
from engine.registry import builtin_model_names, get_spec, trainable_specs

SPECS = [get_spec(name) for name in builtin_model_names()]
NETWORKS = trainable_specs()
CLASSICAL = [spec for spec in SPECS if isinstance(spec, ClassicalSpec)]


def _name(spec):
    return spec.name


@pytest.mark.parametrize("spec", SPECS, ids=_name)
def test_every_spec_says_what_the_user_and_the_pipeline_need(spec):
    assert spec.title and spec.license and spec.training_data and spec.alpha_meaning and spec.paper
    assert ":" in spec.alpha_meaning  # "short name: what its values mean"
    assert spec.max_batch >= 1
    if isinstance(spec, NetworkSpec):
        lo, hi = spec.value_range
        assert lo < hi and spec.native_size % spec.size_multiple == 0
        assert spec.weights_file is not None and spec.working_bytes_per_pixel > 0 and spec.name == spec.arch
    else:
        assert isinstance(spec, ClassicalSpec) and spec.software


@pytest.mark.parametrize("spec", NETWORKS, ids=_name)
def test_every_network_builds_and_runs_in_its_value_range(spec):
    torch.manual_seed(0)
    network = spec.build().eval()
    side = max(spec.size_multiple, 32)
    lo, hi = spec.value_range
    image = torch.rand(2, 3, side, side) * (hi - lo) + lo
    hole = torch.zeros(2, 1, side, side)
    hole[:, :, side // 4:side // 2, side // 4:3 * side // 4] = 1.0
    with torch.no_grad():
        raw, alpha = spec.forward(network, image, hole, None)
    assert raw.shape == image.shape and torch.isfinite(raw).all()
    assert raw.min() >= lo - 1e-4 and raw.max() <= hi + 1e-4
    assert (alpha is not None) == spec.alpha_learned
    if alpha is not None:
        assert alpha.shape == image.shape and alpha.min() >= 0.0 and alpha.max() <= 1.0


@pytest.mark.parametrize("spec", CLASSICAL, ids=_name)
def test_every_classical_fill_fills_the_hole_and_keeps_the_rest(spec):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 40, 56, 3)).astype(np.float32) / 255.0
    holes = np.zeros((2, 40, 56), bool)
    holes[0, 10:20, 12:30] = True
    holes[1, 25:38, 40:52] = True
    before = images.copy()
    filled = spec.fill(images, holes, None, None)
    np.testing.assert_array_equal(images, before)  # the input is not modified
    assert filled.shape == images.shape and filled.dtype == np.float32
    assert filled.min() >= 0.0 and filled.max() <= 1.0
    np.testing.assert_allclose(filled[~holes], images[~holes], atol=0.5 / 255.0)
    assert np.abs(filled[holes] - images[holes]).mean() > 0.01  # the random hole content was replaced


def test_listing_the_models_imports_no_pytorch():
    code = ("import sys; from engine.registry import list_models, default_model_name; list_models(); "
            "default_model_name(); sys.exit(1 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
