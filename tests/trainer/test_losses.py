"""Each loss term against a direct computation on tiny tensors, zero for identical inputs, gradients flow."""

import math

import pytest
import torch
import torch.nn.functional as F

from engine.networks.dfnet import DFNetOutput, image_pyramid
from trainer import losses as L
from trainer.vgg import VGG19Features


@pytest.fixture(scope="module")
def vgg_dfnet():
    return VGG19Features(L.DFNET_VGG_LAYERS)


@pytest.fixture(scope="module")
def vgg_dmfn():
    return VGG19Features(L.DMFN_VGG_LAYERS)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_l1_loss_direct():
    a, b = torch.rand(2, 3, 4, 4, generator=gen(1)), torch.rand(2, 3, 4, 4, generator=gen(2))
    assert torch.isclose(L.l1_loss(a, b), (a - b).abs().sum() / a.numel())
    assert L.l1_loss(a, a) == 0


def test_gram_matrix_normalisation():
    f = torch.rand(2, 3, 4, 5, generator=gen(3))
    g = L.gram_matrix(f)
    assert g.shape == (2, 3, 3)
    direct = torch.einsum("nchw,ndhw->ncd", f, f) / (3 * 4 * 5)
    assert torch.allclose(g, direct)
    # Normalised by C*H*W: a constant map of ones gives 1 / C everywhere.
    assert torch.allclose(L.gram_matrix(torch.ones(1, 4, 6, 6)), torch.full((1, 4, 4), 1 / 4))


def test_perceptual_and_style_direct():
    fa = {"x": torch.rand(1, 2, 3, 3, generator=gen(4)), "y": torch.rand(1, 4, 2, 2, generator=gen(5))}
    fb = {"x": torch.rand(1, 2, 3, 3, generator=gen(6)), "y": torch.rand(1, 4, 2, 2, generator=gen(7))}
    p = L.perceptual_loss(fa, fb, ("x", "y"))
    assert torch.isclose(p, (fa["x"] - fb["x"]).abs().mean() + (fa["y"] - fb["y"]).abs().mean())
    s = L.style_loss(fa, fb, ("x", "y"))
    expected = sum((L.gram_matrix(fa[k]) - L.gram_matrix(fb[k])).abs().mean() for k in ("x", "y"))
    assert torch.isclose(s, expected)
    assert L.perceptual_loss(fa, fa, ("x", "y")) == 0 and L.style_loss(fa, fa, ("x", "y")) == 0


def test_tv_only_inside_the_hole():
    hole = torch.zeros(1, 1, 8, 8)
    hole[:, :, 3:5, 3:5] = 1
    img = torch.rand(1, 3, 8, 8, generator=gen(8))
    base = L.tv_loss_in_hole(img, hole)
    # Pixels outside the 1-px dilated hole (rows/cols 2..5) do not matter.
    changed = img.clone()
    changed[:, :, :2] = torch.rand(1, 3, 2, 8, generator=gen(9))
    changed[:, :, :, 7] = 0.5
    assert torch.isclose(L.tv_loss_in_hole(changed, hole), base)
    # A pixel inside the hole does.
    inside = img.clone()
    inside[:, :, 3, 3] += 0.5
    assert not torch.isclose(L.tv_loss_in_hole(inside, hole), base)
    # Direct: pairs with both ends in rows/cols 2..5, mean over all pair positions.
    r = torch.zeros(1, 1, 8, 8)
    r[:, :, 2:6, 2:6] = 1
    dh = ((img[..., 1:] - img[..., :-1]).abs() * r[..., 1:] * r[..., :-1]).sum() / (3 * 8 * 7)
    dv = ((img[:, :, 1:] - img[:, :, :-1]).abs() * r[:, :, 1:] * r[:, :, :-1]).sum() / (3 * 7 * 8)
    assert torch.isclose(base, dh + dv)
    # Constant image: zero; no hole: zero.
    assert L.tv_loss_in_hole(torch.full((1, 3, 8, 8), 0.3), hole) == 0
    assert L.tv_loss_in_hole(img, torch.zeros(1, 1, 8, 8)) == 0


def _fake_dfnet_output(target, hole, noise, requires_grad=False):
    results = [t + noise * torch.randn(t.shape, generator=gen(10 + k)) for k, t in enumerate(image_pyramid(target, 6))]
    results = [r.clamp(0, 1).requires_grad_(requires_grad) for r in results]
    return DFNetOutput(results=results, alphas=[torch.ones_like(r) for r in results], raws=list(results))


def test_dfnet_losses(vgg_dfnet):
    target = torch.rand(2, 3, 32, 32, generator=gen(11))
    hole = torch.zeros(2, 1, 32, 32)
    hole[:, :, 8:20, 10:22] = 1
    same = L.dfnet_losses(_fake_dfnet_output(target, hole, 0.0), target, hole, vgg_dfnet)
    assert set(same) == {"total", "l1", "perceptual", "style", "tv"}
    for key in ("l1", "perceptual", "style"):
        assert same[key].item() == pytest.approx(0.0, abs=1e-6)
    assert same["tv"] > 0  # TV measures the prediction only, not a difference
    assert torch.isclose(same["total"], 0.1 * same["tv"])

    out = _fake_dfnet_output(target, hole, 0.1, requires_grad=True)
    terms = L.dfnet_losses(out, target, hole, vgg_dfnet)
    targets = image_pyramid(target, 6)
    l1 = torch.stack([(out.results[k] - targets[k]).abs().mean() for k in range(6)]).mean()
    assert torch.isclose(terms["l1"], l1)
    feats = [(vgg_dfnet(out.results[k]), vgg_dfnet(targets[k])) for k in range(3)]
    perc = sum(L.perceptual_loss(a, b, L.DFNET_VGG_LAYERS) for a, b in feats) / 3
    style = sum(L.style_loss(a, b, L.DFNET_VGG_LAYERS) for a, b in feats) / 3
    assert torch.isclose(terms["perceptual"], perc, rtol=1e-4)
    assert torch.isclose(terms["style"], style, rtol=1e-4)
    holes = L.hole_pyramid(hole, 6)
    tv = sum(L.tv_loss_in_hole(out.results[k], holes[k]) for k in range(3)) / 3
    assert torch.isclose(terms["tv"], tv)
    total = 6 * terms["l1"] + 0.1 * terms["perceptual"] + 240 * terms["style"] + 0.1 * terms["tv"]
    assert torch.isclose(terms["total"], total)
    terms["total"].backward()
    assert all(r.grad is not None and r.grad.abs().sum() > 0 for r in out.results)
    assert out.results[5].grad.abs().sum() > 0  # structure loss reaches the coarsest scale


def test_dfnet_texture_losses_on_fewer_scales(vgg_dfnet):
    target = torch.rand(2, 3, 32, 32, generator=gen(12))
    hole = torch.zeros(2, 1, 32, 32)
    hole[:, :, 4:20, 6:22] = 1
    out = _fake_dfnet_output(target, hole, 0.1)
    paper = L.dfnet_losses(out, target, hole, vgg_dfnet)
    finest = L.dfnet_losses(out, target, hole, vgg_dfnet, texture_scales=1)
    feats = vgg_dfnet(out.results[0]), vgg_dfnet(target)
    assert torch.isclose(finest["perceptual"], L.perceptual_loss(*feats, L.DFNET_VGG_LAYERS), rtol=1e-4)
    assert torch.isclose(finest["style"], L.style_loss(*feats, L.DFNET_VGG_LAYERS), rtol=1e-4)
    assert not torch.isclose(finest["perceptual"], paper["perceptual"])
    # no VGG terms at all: a feature extractor without DFNet's layers is never called
    plain = L.dfnet_losses(out, target, hole, VGG19Features(("relu1_1",)), texture_scales=0)
    assert plain["perceptual"] == 0 and plain["style"] == 0
    assert torch.isclose(plain["l1"], paper["l1"]) and torch.isclose(plain["tv"], paper["tv"])
    assert torch.isclose(plain["total"], 6 * plain["l1"] + 0.1 * plain["tv"])
    with pytest.raises(ValueError, match="texture_scales must be 0 to 3"):
        L.dfnet_losses(out, target, hole, vgg_dfnet, texture_scales=4)


def test_hole_pyramid_sizes_and_any_rule():
    hole = torch.zeros(1, 1, 8, 8)
    hole[0, 0, 5, 2] = 1
    p = L.hole_pyramid(hole, 4)
    assert [tuple(h.shape[2:]) for h in p] == [(8, 8), (4, 4), (2, 2), (1, 1)]
    assert p[1][0, 0, 2, 1] == 1 and p[1].sum() == 1 and p[3].item() == 1


def test_weighted_feature_l1_direct():
    a = [torch.rand(1, 4, 3, 3, generator=gen(12)), torch.rand(1, 8, 2, 2, generator=gen(13))]
    b = [torch.rand(1, 4, 3, 3, generator=gen(14)), torch.rand(1, 8, 2, 2, generator=gen(15))]
    expected = 1e3 / 16 * (a[0] - b[0]).abs().mean() + 1e3 / 64 * (a[1] - b[1]).abs().mean()
    assert torch.isclose(L.weighted_feature_l1(a, b), expected)
    assert L.weighted_feature_l1(a, a) == 0


def test_guidance_map_normalised():
    out = torch.rand(2, 3, 6, 6, generator=gen(16))
    tgt = torch.rand(2, 3, 6, 6, generator=gen(17))
    m = L.guidance_map(out, tgt)
    assert m.shape == (2, 1, 6, 6) and not m.requires_grad
    err = ((out - tgt) ** 2).mean(1, keepdim=True)
    for i in range(2):
        e = err[i]
        assert torch.allclose(m[i], (e - e.min()) / (e.max() - e.min()), atol=1e-6)
        assert m[i].min() == 0 and torch.isclose(m[i].max(), torch.tensor(1.0))
    assert L.guidance_map(out, out).abs().max() == 0


def test_self_guided_direct():
    g = torch.rand(1, 1, 8, 8, generator=gen(18))
    pf = {"relu1_1": torch.rand(1, 4, 8, 8, generator=gen(19)), "relu2_1": torch.rand(1, 8, 4, 4, generator=gen(20))}
    tf = {"relu1_1": torch.rand(1, 4, 8, 8, generator=gen(21)), "relu2_1": torch.rand(1, 8, 4, 4, generator=gen(22))}
    g2 = F.avg_pool2d(g, 2)
    expected = (1e3 / 16 * (g * (pf["relu1_1"] - tf["relu1_1"]).abs()).mean()
                + 1e3 / 64 * (g2 * (pf["relu2_1"] - tf["relu2_1"]).abs()).mean())
    assert torch.isclose(L.self_guided_loss(pf, tf, g), expected)
    assert L.self_guided_loss(pf, pf, g) == 0


def test_feature_centers_direct():
    r = torch.zeros(1, 2, 5, 9)
    r[0, 0, 1, 2] = 1.0
    r[0, 0, 3, 6] = 3.0
    centers, mass = L.feature_centers(r)
    assert torch.allclose(centers[0, 0], torch.tensor([(1 * 1 + 3 * 3) / 4 / 4, (2 * 1 + 6 * 3) / 4 / 8]))
    assert mass[0, 1] == 0


def test_geometric_alignment_shifted_blob(vgg_dmfn):
    img = torch.zeros(1, 3, 64, 64)
    img[:, :, 20:36, 12:28] = 1.0
    shifted = torch.roll(img, shifts=(6, 14), dims=(2, 3))
    ra, rb = vgg_dmfn(img)["relu4_1"], vgg_dmfn(shifted)["relu4_1"]
    assert L.geometric_alignment_loss(ra, ra).item() == pytest.approx(0.0, abs=1e-10)
    moved = L.geometric_alignment_loss(rb, ra)
    assert moved > 0
    # Direct check on a tiny map: one channel moved by (1, 2) cells on a 3x5 grid.
    a = torch.zeros(1, 1, 3, 5)
    a[0, 0, 0, 0] = 2.0
    b = torch.zeros(1, 1, 3, 5)
    b[0, 0, 1, 2] = 5.0
    # centres span [-1, 1]: moves of 2 * (1/2) and 2 * (2/4); mean over the one channel and two axes
    expected = ((2 * 1 / 2) ** 2 + (2 * 2 / 4) ** 2) / 2
    assert L.geometric_alignment_loss(b, a).item() == pytest.approx(expected)
    x = rb.detach().clone().requires_grad_(True)
    L.geometric_alignment_loss(x, ra).backward()
    assert x.grad.abs().sum() > 0


def test_ragan_formulas():
    real = torch.tensor([[1.5], [-0.3], [0.7]])
    fake = torch.tensor([[0.2], [-1.0], [0.4]], requires_grad=True)
    sig = torch.sigmoid
    g_expected = (-torch.log(1 - sig(real - fake.mean())).mean() - torch.log(sig(fake - real.mean())).mean())
    d_expected = (-torch.log(sig(real - fake.mean())).mean() - torch.log(1 - sig(fake - real.mean())).mean())
    g = L.ragan_generator_loss(real, fake)
    d = L.dmfn_discriminator_loss(real, fake.detach())
    assert torch.isclose(g, g_expected) and torch.isclose(d, d_expected)
    # Indistinguishable: both are 2 log 2.
    same = torch.zeros(4, 1)
    assert L.dmfn_discriminator_loss(same, same).item() == pytest.approx(2 * math.log(2))
    assert L.ragan_generator_loss(same, same).item() == pytest.approx(2 * math.log(2))
    g.backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0


def test_dmfn_generator_losses(vgg_dmfn):
    target = torch.rand(2, 3, 32, 32, generator=gen(23)) * 2 - 1
    hole = torch.zeros(2, 1, 32, 32)
    hole[:, :, 8:20, 8:24] = 1
    feats = [torch.rand(2, c, s, s, generator=gen(30 + i)) for i, (c, s) in enumerate(
        [(64, 16), (128, 8), (256, 4), (512, 2), (512, 1)])]
    logits = torch.zeros(2, 1)
    same = L.dmfn_generator_losses(target, target, target, hole, vgg_dmfn, (logits, logits, feats, feats))
    for key in ("mae", "fm_vgg", "self_guided", "align", "fm_dis"):
        assert same[key].item() == pytest.approx(0.0, abs=1e-6), key
    assert same["adv"].item() == pytest.approx(2 * math.log(2))
    assert same["total"].item() == pytest.approx(0.03 * 2 * math.log(2), rel=1e-5)

    pred = (target + 0.3 * torch.randn(target.shape, generator=gen(24))).clamp(-1, 1).requires_grad_(True)
    output = target * (1 - hole) + pred * hole
    fake_feats = [f + 0.1 for f in feats]
    fake_logits = torch.tensor([[0.5], [-0.2]], requires_grad=True)
    real_logits = torch.tensor([[1.0], [0.3]])
    terms = L.dmfn_generator_losses(output, pred, target, hole, vgg_dmfn, (real_logits, fake_logits, feats,
                                    fake_feats), {"mu": 0.003})
    assert set(terms) == {"total", "mae", "self_guided", "fm_vgg", "fm_dis", "adv", "align"}
    assert torch.isclose(terms["mae"], (output - target).abs().mean())
    pf, tf = vgg_dmfn((output + 1) / 2), vgg_dmfn((target + 1) / 2)
    fm = sum(1e3 / pf[k].shape[1] ** 2 * (pf[k] - tf[k]).abs().mean() for k in L.DMFN_VGG_LAYERS)
    assert torch.isclose(terms["fm_vgg"], fm, rtol=1e-4)
    assert torch.isclose(terms["fm_dis"], L.weighted_feature_l1(fake_feats, feats))
    assert torch.isclose(terms["adv"], L.ragan_generator_loss(real_logits, fake_logits))
    total = (terms["mae"] + 25 * (terms["self_guided"] + terms["fm_vgg"]) + 5 * terms["fm_dis"]
             + 0.003 * terms["adv"] + terms["align"])
    assert torch.isclose(terms["total"], total)
    terms["total"].backward()
    assert pred.grad is not None and pred.grad[:, :, 8:20, 8:24].abs().sum() > 0
    assert fake_logits.grad is not None

    warm_up = L.dmfn_generator_losses(output.detach(), pred.detach(), target, hole, vgg_dmfn, None, {"mu": 0.003})
    assert warm_up["fm_dis"].item() == 0 and warm_up["adv"].item() == 0
    assert torch.isclose(warm_up["total"], total - 5 * terms["fm_dis"] - 0.003 * terms["adv"], rtol=1e-5)
    # no VGG terms: a feature extractor without DMFN's layers is never called
    plain = L.dmfn_generator_losses(output.detach(), pred.detach(), target, hole, VGG19Features(("relu1_1",)), None,
                                    {"lam": 0.0, "gamma": 0.0})
    assert plain["fm_vgg"] == 0 and plain["self_guided"] == 0 and plain["align"] == 0
    assert torch.isclose(plain["total"], terms["mae"])
    with pytest.raises(ValueError, match="the VGG must provide"):
        L.dmfn_generator_losses(output, pred, target, hole, VGG19Features(("relu1_1",)), None, {"gamma": 0.0})


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        L.l1_loss(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5))
    with pytest.raises(ValueError):
        L.tv_loss_in_hole(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="unknown DMFN"):
        L._dmfn_weights({"lambda": 1.0})


def test_hole_style_loss_is_the_evaluations_gram_distance_over_the_hole():
    from trainer.evaluate import masked_gram_distance

    pred = {"a": torch.rand(2, 4, 8, 8, generator=gen(30)), "b": torch.rand(2, 6, 4, 4, generator=gen(31))}
    true = {"a": torch.rand(2, 4, 8, 8, generator=gen(32)), "b": torch.rand(2, 6, 4, 4, generator=gen(33))}
    hole = torch.zeros(2, 1, 16, 16)
    hole[0, :, 0:8, 4:12] = 1  # whole cells at both grids: the area weights are 0 or 1
    hole[1, :, 8:16, 0:16] = 1
    loss = L.hole_style_loss(pred, true, hole, ("a", "b"))
    expected = sum(masked_gram_distance({k: v[i] for k, v in pred.items()}, {k: v[i] for k, v in true.items()},
                                        hole[i, 0] > 0.5, ("a", "b")) for i in range(2)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert L.hole_style_loss(true, true, hole, ("a", "b")).item() == pytest.approx(0.0, abs=1e-6)
    # features outside the hole do not count
    changed = {k: v.clone() for k, v in pred.items()}
    changed["a"][0, :, 6:8, :] += 5.0  # rows 6-7 of the 8x8 grid are outside image 0's hole (rows 0-3)
    changed["a"][1, :, 0:2, :] += 5.0
    assert L.hole_style_loss(changed, true, hole, ("a", "b")).item() == pytest.approx(loss.item(), rel=1e-6)


def test_hole_style_loss_gradient_float64():
    hole = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
    hole[:, :, 2:7, 1:5] = 1  # partial cells at the 4x4 grid: fractional weights
    true = {"a": torch.rand(1, 3, 4, 4, generator=gen(34), dtype=torch.float64)}
    pred = torch.rand(1, 3, 4, 4, generator=gen(35), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: L.hole_style_loss({"a": p}, true, hole, ("a",)), (pred,))


def test_dfnet_style_on_the_hole(vgg_dfnet):
    target = torch.rand(2, 3, 32, 32, generator=gen(13))
    hole = torch.zeros(2, 1, 32, 32)
    hole[:, :, 8:24, 8:24] = 1
    out = _fake_dfnet_output(target, hole, 0.1, requires_grad=True)
    terms = L.dfnet_losses(out, target, hole, vgg_dfnet, style_region="hole")
    holes = L.hole_pyramid(hole, 6)
    targets = image_pyramid(target, 6)
    style = sum(L.hole_style_loss(vgg_dfnet(out.results[k]), vgg_dfnet(targets[k]), holes[k], L.DFNET_VGG_LAYERS)
                for k in range(3)) / 3
    assert torch.isclose(terms["style"], style, rtol=1e-4)
    total = 6 * terms["l1"] + 0.1 * terms["perceptual"] + 1.0 * terms["style"] + 0.1 * terms["tv"]
    assert torch.isclose(terms["total"], total)
    terms["total"].backward()
    assert out.results[0].grad.abs().sum() > 0
    with pytest.raises(ValueError, match="style_region must be one of"):
        L.dfnet_losses(out, target, hole, vgg_dfnet, style_region="everywhere")
