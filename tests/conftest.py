"""Shared test setup: headless Qt, per-test user folders, small thread counts."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _fresh_user_dirs(tmp_path_factory, monkeypatch):
    """Point settings, models and runs at a fresh temporary folder so tests never touch the user's."""
    home = tmp_path_factory.mktemp("fusionpaint_home")
    monkeypatch.setenv("FUSIONPAINT_HOME", str(home))
    return home


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture
def no_network_weights(tmp_path):
    """The built-in networks as on an installation without their weights files (what a user has who deleted them,
    or before weights ship): each network's weights file points into an empty folder."""
    from dataclasses import replace

    from engine.model_spec import temporarily_registered
    from engine.registry import trainable_specs

    missing = tmp_path / "no-weights"
    with temporarily_registered(*(replace(spec, weights_file=missing / f"{spec.name}.safetensors", sha256=None)
                                  for spec in trainable_specs())):
        yield
