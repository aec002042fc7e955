"""DMFN global + local discriminator shapes and hole-centred local patches."""

import pytest
import torch

from trainer.discriminator import DMFNDiscriminator, hole_centers, local_patches


def test_shapes_and_five_local_features():
    d = DMFNDiscriminator()
    image = torch.rand(2, 3, 256, 256) * 2 - 1
    local = torch.rand(2, 3, 128, 128) * 2 - 1
    logits, feats = d(image, local)
    assert logits.shape == (2, 1)
    assert [tuple(f.shape) for f in feats] == [
        (2, 64, 64, 64), (2, 128, 32, 32), (2, 256, 16, 16), (2, 512, 8, 8), (2, 512, 4, 4)
    ]
    logits.sum().backward()
    assert all(p.grad is not None for p in d.parameters())
    assert len(d.global_branch.layers) == 6 and len(d.local_branch.layers) == 5


def test_the_same_weights_judge_128_px_crops():
    d = DMFNDiscriminator().eval()
    logits, feats = d(torch.rand(2, 3, 128, 128) * 2 - 1, torch.rand(2, 3, 64, 64) * 2 - 1)
    assert logits.shape == (2, 1) and torch.isfinite(logits).all()
    assert tuple(feats[-1].shape) == (2, 512, 2, 2)
    with pytest.raises(ValueError, match="multiple of 64"):
        d(torch.rand(1, 3, 160, 160), torch.rand(1, 3, 80, 80))
    with pytest.raises(ValueError, match=r"\(N, 3, 64, 64\)"):
        d(torch.rand(1, 3, 128, 128), torch.rand(1, 3, 128, 128))


def test_paper_size_pooling_is_an_identity():
    """At 256 px the 4x4 pooling changes nothing: the linear layer reads the last activation as in the paper."""
    d = DMFNDiscriminator().eval()
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    branch = d.global_branch
    last = x
    for layer in branch.layers:
        last = layer(last)
    assert torch.equal(branch.pool(last), last)


def test_local_patches_follow_the_hole_and_clamp():
    images = torch.arange(2 * 1 * 256 * 256, dtype=torch.float32).view(2, 1, 256, 256)
    hole = torch.zeros(2, 1, 256, 256)
    hole[0, :, 100:140, 60:80] = 1  # centre (120, 70)
    hole[1, :, 240:256, 0:10] = 1  # near a corner: clamped
    assert hole_centers(hole).tolist() == [[120, 70], [248, 5]]
    patches = local_patches(images, hole, size=128)
    assert patches.shape == (2, 1, 128, 128)
    assert torch.equal(patches[0], images[0, :, 56:184, 6:134])
    assert torch.equal(patches[1], images[1, :, 128:256, 0:128])


def test_empty_hole_uses_the_centre():
    hole = torch.zeros(1, 1, 64, 64)
    assert hole_centers(hole).tolist() == [[32, 32]]
    assert local_patches(torch.rand(1, 3, 64, 64), hole, size=32).shape == (1, 3, 32, 32)
