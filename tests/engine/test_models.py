"""Generator networks: parameter counts, shapes, value ranges, composition, hole handling, gradients."""

import pytest
import torch
import torch.nn.functional as F

from engine.networks.dfnet import DFNet, DFNetOutput
from engine.networks.dmfn import DMFB, DMFNGenerator, DMFNOutput


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _inputs(n: int, h: int, w: int, low: float = 0.0, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(n, 3, h, w, generator=gen) * (1.0 - low) + low
    hole = torch.zeros(n, 1, h, w)
    hole[:, :, h // 4 : h // 2, w // 3 : w // 3 + w // 4] = 1.0
    hole[:, :, h - h // 8 :, : w // 8] = 1.0
    return image, hole


@pytest.fixture(scope="module")
def dfnet() -> DFNet:
    torch.manual_seed(0)
    return DFNet().eval()


@pytest.fixture(scope="module")
def dmfn() -> DMFNGenerator:
    torch.manual_seed(0)
    return DMFNGenerator().eval()


def test_parameter_counts(dfnet: DFNet, dmfn: DMFNGenerator) -> None:
    assert _count(dfnet) == 32_880_504
    assert _count(DMFB()) == 471_808
    blocks = [m for m in dmfn.modules() if isinstance(m, DMFB)]
    assert len(blocks) == 8
    assert all(_count(b) == 471_808 for b in blocks)
    assert abs(_count(dmfn) - 5_730_000) < 10_000


@pytest.mark.parametrize("size", [(256, 256), (256, 512)])
def test_dfnet_forward_shapes_ranges_and_composition(dfnet: DFNet, size: tuple[int, int]) -> None:
    h, w = size
    image, hole = _inputs(1, h, w)
    with torch.inference_mode():
        out = dfnet(image, hole)
    assert isinstance(out, DFNetOutput)
    assert len(out.results) == len(out.alphas) == len(out.raws) == 6
    zeroed = image * (1 - hole)
    for k in range(6):
        shape = (1, 3, h >> k, w >> k)
        for t in (out.results[k], out.alphas[k], out.raws[k]):
            assert t.shape == shape
            assert torch.isfinite(t).all()
        assert out.alphas[k].min() >= 0 and out.alphas[k].max() <= 1
        assert out.raws[k].min() >= 0 and out.raws[k].max() <= 1
        image_k = F.interpolate(zeroed, scale_factor=0.5**k, mode="area") if k else zeroed
        expected = out.alphas[k] * out.raws[k] + (1 - out.alphas[k]) * image_k
        torch.testing.assert_close(out.results[k], expected, atol=1e-6, rtol=1e-5)


def test_dfnet_finest_only_matches_full(dfnet: DFNet) -> None:
    image, hole = _inputs(1, 256, 512, seed=1)
    with torch.inference_mode():
        full = dfnet(image, hole)
        fast = dfnet(image, hole, finest_only=True)
    assert len(fast.results) == len(fast.alphas) == len(fast.raws) == 1
    torch.testing.assert_close(fast.results[0], full.results[0], atol=0, rtol=0)
    torch.testing.assert_close(fast.alphas[0], full.alphas[0], atol=0, rtol=0)
    torch.testing.assert_close(fast.raws[0], full.raws[0], atol=0, rtol=0)


def test_dfnet_ignores_pixels_inside_the_hole(dfnet: DFNet) -> None:
    image, hole = _inputs(1, 256, 256, seed=2)
    scrambled = torch.where(hole.bool(), torch.rand_like(image) * 50 - 10, image)
    with torch.inference_mode():
        a = dfnet(image, hole)
        b = dfnet(scrambled, hole)
    for k in range(6):
        assert torch.equal(a.results[k], b.results[k])


def test_dfnet_fill_replaces_the_zeros_in_the_hole_only(dfnet: DFNet) -> None:
    image, hole = _inputs(1, 256, 256, seed=3)
    fill = torch.rand_like(image)
    other_outside = torch.where(hole.bool(), fill, torch.rand_like(image))  # same fill inside, noise outside
    with torch.inference_mode():
        zeros = dfnet(image, hole)
        filled = dfnet(image, hole, fill=fill)
        same = dfnet(image, hole, fill=other_outside)
        explicit = dfnet(torch.where(hole.bool(), fill, image), hole, fill=fill)
    assert not torch.equal(zeros.results[0], filled.results[0])
    for k in range(6):
        assert torch.equal(filled.results[k], same.results[k])
        assert torch.equal(filled.results[k], explicit.results[k])
    # the fusion blends over the fill: result = alpha * raw + (1 - alpha) * fill inside the hole
    a, raw = filled.alphas[0], filled.raws[0]
    inside = hole.bool().expand_as(image)
    torch.testing.assert_close(filled.results[0][inside], (a * raw + (1 - a) * fill)[inside])
    with pytest.raises(ValueError, match="fill must have the image's shape"):
        dfnet(image, hole, fill=fill[:, :, :128])


def test_dfnet_rejects_bad_sizes(dfnet: DFNet) -> None:
    with pytest.raises(ValueError, match="DFNet: .*multiples of 256|DFNet: hole must be"):
        dfnet(torch.rand(1, 3, 256, 320), torch.zeros(1, 1, 256, 320))
    with pytest.raises(ValueError, match="DFNet: .*multiples of 256|DFNet: hole must be"):
        dfnet(torch.rand(1, 3, 256, 256), torch.zeros(1, 1, 256, 512))


def test_dfnet_channels_last_and_bf16_autocast(dfnet: DFNet) -> None:
    image, hole = _inputs(1, 256, 256, seed=3)
    with torch.inference_mode():
        ref = dfnet(image, hole, finest_only=True).results[0]
        model_cl = dfnet.to(memory_format=torch.channels_last)
        try:
            out_cl = model_cl(
                image.to(memory_format=torch.channels_last), hole.to(memory_format=torch.channels_last)
            ).results[0]
        finally:
            dfnet.to(memory_format=torch.contiguous_format)
        torch.testing.assert_close(out_cl, ref, atol=1e-4, rtol=1e-4)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out_bf = dfnet(image, hole, finest_only=True)
    assert torch.isfinite(out_bf.results[0]).all()
    assert (out_bf.results[0].float() - ref).abs().mean() < 0.05


def test_dfnet_backward_gives_finite_gradients_everywhere() -> None:
    torch.manual_seed(1)
    model = DFNet().train()
    image, hole = _inputs(1, 256, 512, seed=4)  # 1x2 at the bottleneck: BatchNorm needs > 1 value
    out = model(image, hole)
    loss = sum(r.mean() for r in out.results) + sum(a.mean() for a in out.alphas)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name


def test_dmfn_forward_shapes_ranges_and_known_pixels(dmfn: DMFNGenerator) -> None:
    image, hole = _inputs(2, 64, 64, low=-1.0, seed=5)
    with torch.inference_mode():
        out = dmfn(image, hole)
    assert isinstance(out, DMFNOutput)
    for t in out:
        assert t.shape == (2, 3, 64, 64)
        assert torch.isfinite(t).all()
        assert t.min() >= -1 and t.max() <= 1
    known = ~hole.bool().expand_as(image)
    assert torch.equal(out.output[known], image[known])
    inside = hole.bool().expand_as(image)
    assert torch.equal(out.output[inside], out.prediction[inside])


def test_dmfn_ignores_pixels_inside_the_hole(dmfn: DMFNGenerator) -> None:
    image, hole = _inputs(1, 64, 64, low=-1.0, seed=6)
    scrambled = torch.where(hole.bool(), torch.rand_like(image) * 50 - 10, image)
    with torch.inference_mode():
        a = dmfn(image, hole)
        b = dmfn(scrambled, hole)
    assert torch.equal(a.prediction, b.prediction)
    assert torch.equal(a.output, b.output)


def test_dmfn_fill_replaces_the_zeros_in_the_hole_only(dmfn: DMFNGenerator) -> None:
    image, hole = _inputs(1, 64, 64, low=-1.0, seed=7)
    fill = torch.rand_like(image) * 2 - 1
    other_outside = torch.where(hole.bool(), fill, torch.rand_like(image))  # same fill inside, noise outside
    with torch.inference_mode():
        zeros = dmfn(image, hole)
        filled = dmfn(image, hole, fill=fill)
        same = dmfn(image, hole, fill=other_outside)
    assert not torch.equal(zeros.prediction, filled.prediction)
    assert torch.equal(filled.prediction, same.prediction)
    known = ~hole.bool().expand_as(image)
    assert torch.equal(filled.output[known], image[known])  # the photo outside the hole, never the fill
    assert torch.equal(filled.output[~known], filled.prediction[~known])
    with pytest.raises(ValueError, match="fill must have the image's shape"):
        dmfn(image, hole, fill=fill[:, :, :32])


def test_dmfn_with_a_fill_predicts_a_correction_to_it() -> None:
    """With a pre-fill the prediction is the network input plus the last convolution, clipped to [-1, 1]: a zeroed
    output convolution returns the fill in the hole (the paper's tanh would give 0)."""
    torch.manual_seed(3)
    model = DMFNGenerator().eval()
    model.zero_output()
    image, hole = _inputs(1, 64, 64, low=-1.0, seed=9)
    fill = torch.rand_like(image) * 2 - 1
    with torch.inference_mode():
        filled = model(image, hole, fill=fill)
        paper = model(image, hole)
        with torch.no_grad():
            model.decoder[-1].bias.fill_(0.25)
        shifted = model(image, hole, fill=fill)
    inside = hole.bool().expand_as(image)
    torch.testing.assert_close(filled.output[inside], fill[inside])
    assert torch.equal(paper.output[inside], torch.zeros_like(fill[inside]))
    torch.testing.assert_close(shifted.output[inside], (fill[inside] + 0.25).clamp(-1, 1))
    assert shifted.output.max() == 1.0


def test_dmfn_rejects_bad_sizes(dmfn: DMFNGenerator) -> None:
    with pytest.raises(ValueError, match="DMFN: height and width must be multiples of 4"):
        dmfn(torch.rand(1, 3, 64, 66), torch.zeros(1, 1, 64, 66))


def test_dmfn_channels_last_and_bf16_autocast(dmfn: DMFNGenerator) -> None:
    image, hole = _inputs(1, 64, 64, low=-1.0, seed=7)
    with torch.inference_mode():
        ref = dmfn(image, hole).output
        out_cl = dmfn(image.to(memory_format=torch.channels_last), hole.to(memory_format=torch.channels_last))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out_bf = dmfn(image, hole).output
    torch.testing.assert_close(out_cl.output, ref, atol=1e-4, rtol=1e-4)
    assert torch.isfinite(out_bf).all()
    assert (out_bf.float() - ref).abs().mean() < 0.05


def test_dmfn_backward_gives_finite_gradients_everywhere() -> None:
    torch.manual_seed(2)
    model = DMFNGenerator().train()
    image, hole = _inputs(1, 32, 32, low=-1.0, seed=8)
    out = model(image, hole)
    out.output.mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name


def test_dfnet_decoder_layer_equals_upsample_concat_conv() -> None:
    from engine.networks.dfnet import _DecoderLayer

    torch.manual_seed(3)
    layer = _DecoderLayer(8, 5, 6).eval()
    x, skip = torch.randn(2, 8, 7, 9), torch.randn(2, 5, 14, 18)
    with torch.inference_mode():
        up = torch.cat((F.interpolate(x, scale_factor=2, mode="nearest"), skip), dim=1)
        expected = F.leaky_relu(layer.bn(layer.conv(up)), 0.2)
        torch.testing.assert_close(layer(x, skip), expected, atol=1e-5, rtol=1e-5)


def test_dfnet_folded_batchnorm_matches_the_original():
    import copy

    torch.manual_seed(3)
    model = DFNet().eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):  # non-trivial statistics, as after training
            module.running_mean.normal_(0, 0.2)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.normal_(0, 0.1)
    folded = copy.deepcopy(model).fold_batchnorm()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    image = torch.rand(1, 3, 256, 256)
    hole = torch.zeros(1, 1, 256, 256)
    hole[..., 64:160, 80:200] = 1
    with torch.inference_mode():
        expected = model(image, hole, finest_only=True)
        actual = folded(image.contiguous(memory_format=torch.channels_last),
                        hole.contiguous(memory_format=torch.channels_last), finest_only=True)
    torch.testing.assert_close(actual.raws[0], expected.raws[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(actual.alphas[0], expected.alphas[0], atol=1e-5, rtol=1e-4)
