"""Training losses of DFNet (Hong et al., ACM MM 2019, section 3.3) and DMFN (Hui et al. 2020, eq. 11).

Pure functions on NCHW float tensors; each validates its inputs and states shapes and ranges. Holes are
(N, 1, H, W) with 1 = hole. DFNet images are RGB in [0, 1]; DMFN images are RGB in [-1, 1] (converted to
[0, 1] before the VGG). "mean" below is the mean over every element (batch included), which is how the
official weights were calibrated (PyTorch's default reduction), not the papers' unnormalised sums.

Every loss dict holds the *unweighted* terms (for logging) and "total", the weighted sum to minimise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor

from engine.networks.dfnet import DFNetOutput, image_pyramid
from trainer.config import STYLE_REGIONS
from trainer.vgg import VGG19Features

DFNET_VGG_LAYERS = ("pool1", "pool2", "pool3")
"""DFNet texture features. The paper used VGG16 pool1..pool3; VGG16 and VGG19 share blocks 1-2 and VGG19
has one more conv in block 3, so VGG19 pool1..pool3 is used here (no VGG16 weights are available offline)."""

DMFN_VGG_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
"""DMFN VGG19 feature matching layers; self-guided regression uses the first two, alignment relu4_1."""

DFNET_STRUCTURE_SCALES = 6
DFNET_TEXTURE_SCALES = 3


@dataclass(frozen=True)
class DFNetLossWeights:
    """Official DFNet weights: L1 6, perceptual 0.1, style 240, total variation 0.1. ``style_hole``: the weight of
    `hole_style_loss` when the style term is taken over the hole only (a FusionPaint departure: that loss is a
    relative distance, about 0.5 for a plausible fill, where the paper's is about 1e-3 of a Gram's scale)."""

    l1: float = 6.0
    perceptual: float = 0.1
    style: float = 240.0
    tv: float = 0.1
    style_hole: float = 1.0


@dataclass(frozen=True)
class DMFNLossWeights:
    """DMFN eq. 11: total = mae + lam (self_guided + fm_vgg) + eta fm_dis + mu adv + gamma align.

    Paper values lam 25, eta 5, mu 0.03, gamma 1 (the authors' public config uses mu 0.003).
    """

    mae: float = 1.0
    lam: float = 25.0
    eta: float = 5.0
    mu: float = 0.03
    gamma: float = 1.0


def _check_image(name: str, x: Tensor) -> None:
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ValueError(f"{name} must be a (N, C, H, W) tensor, got {getattr(x, 'shape', type(x))}")


def _check_pair(a: Tensor, b: Tensor) -> None:
    _check_image("prediction", a)
    _check_image("target", b)
    if a.shape != b.shape:
        raise ValueError(f"prediction shape {tuple(a.shape)} differs from target shape {tuple(b.shape)}")


def _check_hole(hole: Tensor, image: Tensor) -> None:
    _check_image("hole", hole)
    if hole.shape[1] != 1 or hole.shape[0] != image.shape[0] or hole.shape[2:] != image.shape[2:]:
        raise ValueError(f"hole must be (N, 1, H, W) matching {tuple(image.shape)}, got {tuple(hole.shape)}")


# ---------------------------------------------------------------------------------------------- generic


def l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error over all elements; (N, C, H, W) each, any range -> scalar >= 0."""
    _check_pair(pred, target)
    return (pred - target).abs().mean()


def gram_matrix(features: Tensor) -> Tensor:
    """Gram matrix normalised by C*H*W (DFNet section 3.3): (N, C, H, W) -> (N, C, C).

    G[n, c, c'] = sum_{h,w} F[n,c,h,w] F[n,c',h,w] / (C H W). Computed in float32 at least, with autocast
    disabled (half-precision sums of VGG activations overflow).
    """
    _check_image("features", features)
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    if f.dtype in (torch.float16, torch.bfloat16):
        f = f.float()
    with torch.autocast(device_type=f.device.type, enabled=False):
        return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def perceptual_loss(
    pred_feats: Mapping[str, Tensor], target_feats: Mapping[str, Tensor], layers: Sequence[str]
) -> Tensor:
    """Sum over ``layers`` of the mean absolute difference of the features -> scalar >= 0."""
    return sum((pred_feats[k] - target_feats[k]).abs().mean() for k in layers)  # type: ignore[return-value]


def style_loss(
    pred_feats: Mapping[str, Tensor], target_feats: Mapping[str, Tensor], layers: Sequence[str]
) -> Tensor:
    """Sum over ``layers`` of the mean absolute difference of the `gram_matrix` es -> scalar >= 0."""
    return sum(  # type: ignore[return-value]
        (gram_matrix(pred_feats[k]) - gram_matrix(target_feats[k])).abs().mean() for k in layers
    )


def hole_style_loss(
    pred_feats: Mapping[str, Tensor], target_feats: Mapping[str, Tensor], hole: Tensor, layers: Sequence[str]
) -> Tensor:
    """Texture statistics over the hole only: the mean over ``layers`` and images of the relative Frobenius distance
    ||G_pred - G_true|| / ||G_true|| of Gram matrices taken over the hole's positions -> scalar >= 0 (0 = the same
    statistics; about 0.5 for a plausible fill, 1 for all-zero features).

    hole (N, 1, H, W) {0, 1} at the image's resolution; at each layer it is area-downsampled to the feature grid and
    weights the positions (G = sum_p w_p F_p F_p^T / sum_p w_p), the training counterpart of the evaluation's
    ``gram_dist``. An image whose hole covers no position adds 0. Computed in float32 at least, autocast disabled.
    """
    _check_image("hole", hole)
    values = []
    for name in layers:
        f = pred_feats[name]
        t = target_feats[name]
        if f.dtype in (torch.float16, torch.bfloat16):
            f, t = f.float(), t.float()
        with torch.autocast(device_type=f.device.type, enabled=False):
            w = F.interpolate(hole.to(f.dtype), size=f.shape[-2:], mode="area").flatten(1)  # (N, P)
            n = w.sum(dim=1).clamp_min(1e-6)[:, None, None]
            fw, tw = f.flatten(2) * w[:, None], t.flatten(2) * w[:, None]  # (N, C, P)
            g_pred = torch.bmm(fw, f.flatten(2).transpose(1, 2)) / n
            g_true = torch.bmm(tw, t.flatten(2).transpose(1, 2)) / n
            reference = torch.linalg.matrix_norm(g_true).clamp_min(1e-6)
            values.append((torch.linalg.matrix_norm(g_pred - g_true) / reference).mean())
    return torch.stack(values).mean()


def dilate(hole: Tensor, px: int = 1) -> Tensor:
    """Binary dilation of a (N, 1, H, W) {0,1} hole by a (2 px + 1) square; same shape and dtype."""
    _check_image("hole", hole)
    if px <= 0:
        return hole
    return F.max_pool2d(hole, 2 * px + 1, stride=1, padding=px)


def hole_pyramid(hole: Tensor, levels: int) -> list[Tensor]:
    """(N, 1, H, W) {0,1} hole at ``levels`` scales, finest first; a coarse pixel is hole if any of its
    2**k x 2**k source pixels is (max pooling), matching `engine.networks.dfnet.image_pyramid` sizes."""
    pyramid = [hole]
    for _ in range(levels - 1):
        pyramid.append(F.max_pool2d(pyramid[-1], 2))
    return pyramid


def tv_loss_in_hole(image: Tensor, hole: Tensor) -> Tensor:
    """Total variation restricted to the hole (DFNet section 3.3; region as in Liu et al. 2018).

    image (N, C, H, W) any range; hole (N, 1, H, W) {0, 1}, 1 = hole. The region P is the hole dilated by
    one pixel, so differences across the hole boundary count too; a horizontal (vertical) pair counts when
    both of its pixels are in P. Loss = sum |x[.., w+1] - x[.., w]| over counted pairs / (N C H (W-1))
    + the same for vertical pairs / (N C (H-1) W), i.e. the mean over all pair positions with the pairs
    outside P set to zero. Scalar >= 0; pixels outside P have no effect.
    """
    _check_image("image", image)
    _check_hole(hole, image)
    region = dilate((hole > 0.5).to(image.dtype), 1)
    pair_h = region[:, :, :, 1:] * region[:, :, :, :-1]
    pair_v = region[:, :, 1:, :] * region[:, :, :-1, :]
    dh = (image[:, :, :, 1:] - image[:, :, :, :-1]).abs() * pair_h
    dv = (image[:, :, 1:, :] - image[:, :, :-1, :]).abs() * pair_v
    return dh.mean() + dv.mean()


# ---------------------------------------------------------------------------------------------- DFNet


def dfnet_losses(
    out: DFNetOutput,
    target: Tensor,
    hole: Tensor,
    vgg: VGG19Features,
    *,
    weights: DFNetLossWeights | None = None,
    texture_scales: int = DFNET_TEXTURE_SCALES,
    style_region: str = "image",
) -> dict[str, Tensor]:
    """DFNet training loss, the paper's (6, 3) setting (``texture_scales`` < 3: fewer VGG scales, 0 = none).

    out: `DFNetOutput` with 6 results, finest first (scale k is 1/2**k), RGB in [0, 1].
    target: (N, 3, H, W) RGB ground truth in [0, 1]; hole: (N, 1, H, W), 1 = hole.
    vgg: `VGG19Features` providing pool1, pool2, pool3.

    Per scale k the target is ``image_pyramid(target)[k]`` (2x2 box averages, the generator's own
    resizing) and the hole is ``hole_pyramid(hole)[k]``.
    - "l1": mean over the 6 scales of `l1_loss`(result_k, target_k) (structure loss);
    - "perceptual", "style": means over the ``texture_scales`` finest scales of `perceptual_loss`, `style_loss`
      on VGG19 pool1..pool3 (Gram normalised by C*H*W); zero (and no VGG pass) when ``texture_scales`` is 0;
      ``style_region="hole"``: "style" is `hole_style_loss` on the scale's hole instead, weighted ``style_hole``;
    - "tv": mean over the 3 finest scales of `tv_loss_in_hole` of result_k (texture loss);
    - "total" = 6 l1 + 0.1 perceptual + 240 style + 0.1 tv (``weights`` overrides the official values).
    All values are scalars; the target's VGG features are computed without gradient.
    """
    w = weights or DFNetLossWeights()
    results = list(out.results)
    if len(results) < DFNET_STRUCTURE_SCALES:
        raise ValueError(f"dfnet_losses: need {DFNET_STRUCTURE_SCALES} results, got {len(results)}")
    _check_pair(results[0], target)
    _check_hole(hole, target)
    if not 0 <= texture_scales <= DFNET_TEXTURE_SCALES:
        raise ValueError(f"dfnet_losses: texture_scales must be 0 to {DFNET_TEXTURE_SCALES}, got {texture_scales}")
    if style_region not in STYLE_REGIONS:
        raise ValueError(f"dfnet_losses: style_region must be one of {STYLE_REGIONS}, got {style_region!r}")
    missing = [k for k in DFNET_VGG_LAYERS if k not in vgg.layers]
    if texture_scales and missing:
        raise ValueError(f"dfnet_losses: the VGG must provide {DFNET_VGG_LAYERS}, it lacks {missing}")
    targets = image_pyramid(target, DFNET_STRUCTURE_SCALES)
    holes = hole_pyramid((hole > 0.5).to(target.dtype), DFNET_STRUCTURE_SCALES)
    l1 = torch.stack([l1_loss(results[k], targets[k]) for k in range(DFNET_STRUCTURE_SCALES)]).mean()
    perceptual, style = [], []
    for k in range(texture_scales):
        pred_feats = vgg(results[k])
        with torch.no_grad():
            target_feats = vgg(targets[k])
        perceptual.append(perceptual_loss(pred_feats, target_feats, DFNET_VGG_LAYERS))
        if style_region == "hole":
            style.append(hole_style_loss(pred_feats, target_feats, holes[k], DFNET_VGG_LAYERS))
        else:
            style.append(style_loss(pred_feats, target_feats, DFNET_VGG_LAYERS))
    tv = [tv_loss_in_hole(results[k], holes[k]) for k in range(DFNET_TEXTURE_SCALES)]
    zero = l1.new_zeros(())
    terms = {
        "l1": l1,
        "perceptual": torch.stack(perceptual).mean() if perceptual else zero,
        "style": torch.stack(style).mean() if style else zero,
        "tv": torch.stack(tv).mean(),
    }
    terms["total"] = (
        w.l1 * terms["l1"] + w.perceptual * terms["perceptual"]
        + (w.style_hole if style_region == "hole" else w.style) * terms["style"] + w.tv * terms["tv"]
    )
    return terms


# ---------------------------------------------------------------------------------------------- DMFN


def layer_weight(channels: int) -> float:
    """DMFN's per-layer weight 1e3 / C**2 (from its eq. 5, after Zhang et al.)."""
    return 1e3 / float(channels) ** 2


def weighted_feature_l1(pred_feats: Sequence[Tensor], target_feats: Sequence[Tensor]) -> Tensor:
    """DMFN feature matching (eq. 8 and 9): sum_l 1e3 / C_l**2 * mean |target_l - pred_l| -> scalar >= 0.

    Lists of (N, C_l, H_l, W_l) activations in matching order; the targets are detached.
    """
    if len(pred_feats) != len(target_feats) or not pred_feats:
        raise ValueError(f"need equally many features, got {len(pred_feats)} and {len(target_feats)}")
    total = pred_feats[0].new_zeros(())
    for p, t in zip(pred_feats, target_feats, strict=True):
        _check_pair(p, t)
        total = total + layer_weight(p.shape[1]) * (p - t.detach()).abs().mean()
    return total


def guidance_map(output: Tensor, target: Tensor, eps: float = 1e-8) -> Tensor:
    """DMFN eq. 2-3: per-pixel mean over the 3 channels of (output - target)**2, min-max normalised per
    image to [0, 1]. (N, 3, H, W) each -> (N, 1, H, W) in [0, 1], detached (a weight, not a target).

    The authors' public code weights by 1 + guidance and normalises by the maximum only; this follows
    the paper. An image with a constant error map gets an all-zero map.
    """
    _check_pair(output, target)
    err = (output.detach() - target.detach()).pow(2).mean(dim=1, keepdim=True)
    flat = err.flatten(1)
    lo = flat.min(dim=1).values.view(-1, 1, 1, 1)
    hi = flat.max(dim=1).values.view(-1, 1, 1, 1)
    return (err - lo) / (hi - lo).clamp_min(eps)


def self_guided_loss(
    pred_feats: Mapping[str, Tensor], target_feats: Mapping[str, Tensor], guidance: Tensor
) -> Tensor:
    """DMFN eq. 5: sum over relu1_1, relu2_1 of 1e3 / C**2 * mean(M_l * |target_l - pred_l|).

    ``guidance`` (N, 1, H, W) in [0, 1] (`guidance_map`) at relu1_1's resolution; M for relu2_1 is its 2x2
    average pooling (eq. 4). The mean is over all N*C*H*W elements. Scalar >= 0.
    """
    total = guidance.new_zeros(())
    m = guidance
    for i, name in enumerate(("relu1_1", "relu2_1")):
        if i > 0:
            m = F.avg_pool2d(m, 2)
        p, t = pred_feats[name], target_feats[name].detach()
        _check_pair(p, t)
        if m.shape[2:] != p.shape[2:]:
            raise ValueError(f"guidance {tuple(m.shape[2:])} does not match {name} {tuple(p.shape[2:])}")
        total = total + layer_weight(p.shape[1]) * (m * (p - t).abs()).mean()
    return total


def feature_centers(response: Tensor, eps: float = 1e-6) -> tuple[Tensor, Tensor]:
    """Expected (row, column) of each channel of a non-negative response map (DMFN eq. 6).

    response (N, K, H, W) >= 0 -> (centers (N, K, 2) with coordinates normalised to [0, 1] (row / (H-1),
    column / (W-1)), mass (N, K) = the channel's sum). A channel with zero mass has centre (0, 0).
    """
    _check_image("response", response)
    n, k, h, w = response.shape
    r = response.float()
    mass = r.sum(dim=(2, 3))
    rows = torch.linspace(0.0, 1.0, h, device=r.device) if h > 1 else torch.zeros(1, device=r.device)
    cols = torch.linspace(0.0, 1.0, w, device=r.device) if w > 1 else torch.zeros(1, device=r.device)
    cy = (r.sum(dim=3) * rows).sum(dim=2) / mass.clamp_min(eps)
    cx = (r.sum(dim=2) * cols).sum(dim=2) / mass.clamp_min(eps)
    return torch.stack([cy, cx], dim=2), mass


def geometric_alignment_loss(pred_response: Tensor, target_response: Tensor, eps: float = 1e-6) -> Tensor:
    """DMFN eq. 7 on relu4_1: squared distance between the channel centres of output and target.

    (N, K, H, W) >= 0 each. Centres from `feature_centers`, rescaled to span [-1, 1] on each axis (so the value
    does not depend on the image size). Normalised as in the authors' public code, which fixed gamma = 1: the
    mean squared coordinate difference over batch, channels and both axes (eq. 7 as printed sums over the
    channels instead, 2 K / 4 = 256 times larger at relu4_1). Channels with (almost) no response in either
    image count as zero (their centre is undefined). Scalar >= 0; zero for identical inputs.
    """
    _check_pair(pred_response, target_response)
    cp, mp = feature_centers(pred_response, eps)
    ct, mt = feature_centers(target_response.detach(), eps)
    valid = ((mp > eps) & (mt > eps)).to(cp.dtype)
    sq = (2.0 * (cp - ct)).pow(2) * valid.unsqueeze(2)
    return sq.mean()


def _relativistic(a: Tensor, b: Tensor) -> Tensor:
    """C(a) - E[C(b)]: logits (N, 1) or (N,) -> same shape."""
    return a - b.mean()


def ragan_generator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Relativistic average GAN generator loss, DMFN eq. 10 (as in ESRGAN), from raw logits C(x).

    L = -E_r[log(1 - sigmoid(C(x_r) - E_f C(x_f)))] - E_f[log sigmoid(C(x_f) - E_r C(x_r))]
    = BCE(C(x_r) - E C(x_f), 0) + BCE(C(x_f) - E C(x_r), 1), computed stably with logits. Real logits are
    detached. Freeze the discriminator's parameters during the generator step. Scalar >= 0.
    """
    real = real_logits.detach()
    a = _relativistic(real, fake_logits)
    b = _relativistic(fake_logits, real)
    return F.binary_cross_entropy_with_logits(a, torch.zeros_like(a)) + F.binary_cross_entropy_with_logits(
        b, torch.ones_like(b)
    )


def dmfn_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Relativistic average GAN discriminator loss (RaGAN, BCE), from raw logits (N, 1).

    L_D = -E_r[log sigmoid(C(x_r) - E_f C(x_f))] - E_f[log(1 - sigmoid(C(x_f) - E_r C(x_r)))]
    = BCE(C(x_r) - E C(x_f), 1) + BCE(C(x_f) - E C(x_r), 0). Pass the generator's output detached.
    Scalar >= 0 (2 log 2 when the discriminator cannot tell them apart).
    """
    a = _relativistic(real_logits, fake_logits)
    b = _relativistic(fake_logits, real_logits)
    return F.binary_cross_entropy_with_logits(a, torch.ones_like(a)) + F.binary_cross_entropy_with_logits(
        b, torch.zeros_like(b)
    )


def _dmfn_weights(weights: DMFNLossWeights | Mapping[str, float] | None) -> DMFNLossWeights:
    if weights is None:
        return DMFNLossWeights()
    if isinstance(weights, DMFNLossWeights):
        return weights
    known = {f.name for f in fields(DMFNLossWeights)}
    unknown = set(weights) - known
    if unknown:
        raise ValueError(f"unknown DMFN loss weight(s) {sorted(unknown)}; known: {sorted(known)}")
    return DMFNLossWeights(**{k: float(v) for k, v in weights.items()})


def dmfn_generator_losses(
    output: Tensor,
    prediction: Tensor,
    target: Tensor,
    hole: Tensor,
    vgg: VGG19Features,
    discriminator: tuple[Tensor, Tensor, Sequence[Tensor], Sequence[Tensor]] | None = None,
    weights: DMFNLossWeights | Mapping[str, float] | None = None,
) -> dict[str, Tensor]:
    """DMFN generator loss, paper eq. 11.

    output: (N, 3, H, W) I_out in [-1, 1] (input outside the hole, prediction inside); prediction: the raw
    tanh output (N, 3, H, W) in [-1, 1] (shape-checked; every term is defined on I_out as in the paper);
    target: ground truth (N, 3, H, W) in [-1, 1]; hole (N, 1, H, W), 1 = hole.
    vgg: `VGG19Features` with relu1_1..relu5_1. discriminator: (real logits, fake logits, real feats, fake feats):
    its logits (N, 1) of the real and completed images and its 5 local-branch activations for the real and
    completed local patches; None (a reconstruction warm-up) makes "fm_dis" and "adv" zero and leaves them out of
    the total. weights: `DMFNLossWeights` or a mapping of its field names (default: the paper's).

    Terms: "mae" `l1_loss`; "fm_vgg" `weighted_feature_l1` on relu1_1..relu5_1; "self_guided"
    `self_guided_loss` with `guidance_map`; "align" `geometric_alignment_loss` on relu4_1; "fm_dis"
    `weighted_feature_l1` on the discriminator features; "adv" `ragan_generator_loss`. With lam and gamma both 0
    the VGG terms are zero and the VGG is not run.
    "total" = mae + lam (self_guided + fm_vgg) + eta fm_dis + mu adv + gamma align.
    """
    w = _dmfn_weights(weights)
    _check_pair(output, target)
    _check_pair(prediction, target)
    _check_hole(hole, target)
    uses_vgg = w.lam != 0 or w.gamma != 0
    missing = [k for k in DMFN_VGG_LAYERS if k not in vgg.layers]
    if uses_vgg and missing:
        raise ValueError(f"dmfn_generator_losses: the VGG must provide {DMFN_VGG_LAYERS}, it lacks {missing}")
    terms = {"mae": l1_loss(output, target)}
    if not uses_vgg:
        terms["fm_vgg"] = terms["self_guided"] = terms["align"] = output.new_zeros(())
    else:
        pred_feats = vgg((output + 1.0) * 0.5)
        with torch.no_grad():
            target_feats = vgg((target + 1.0) * 0.5)
        terms["fm_vgg"] = weighted_feature_l1(
            [pred_feats[k] for k in DMFN_VGG_LAYERS], [target_feats[k] for k in DMFN_VGG_LAYERS]
        )
        terms["self_guided"] = self_guided_loss(pred_feats, target_feats, guidance_map(output, target))
        terms["align"] = geometric_alignment_loss(pred_feats["relu4_1"], target_feats["relu4_1"])
    terms["total"] = (
        w.mae * terms["mae"] + w.lam * (terms["self_guided"] + terms["fm_vgg"]) + w.gamma * terms["align"]
    )
    if discriminator is None:
        terms["fm_dis"] = terms["adv"] = torch.zeros((), device=output.device)
        return terms
    d_real_logits, d_fake_logits, d_real_feats, d_fake_feats = discriminator
    terms["fm_dis"] = weighted_feature_l1(list(d_fake_feats), [f.detach() for f in d_real_feats])
    terms["adv"] = ragan_generator_loss(d_real_logits, d_fake_logits)
    terms["total"] = terms["total"] + w.eta * terms["fm_dis"] + w.mu * terms["adv"]
    return terms
