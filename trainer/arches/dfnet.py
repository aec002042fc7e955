"""Training DFNet (Hong et al. 2019): L1 on the hole and the known pixels, total variation, and VGG19 perceptual and
style losses on the finest ``texture_scales`` fusion scales from ``texture_from_step`` on; Adam's default betas."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from engine.prefill import INPUT_FILLS
from trainer import losses
from trainer.arches import Preview, Recipe, RecipeOptions, StepContext, StepResult, input_fill, register_recipe
from trainer.config import TEXTURE_SCALES
from trainer.data import TrainingBatch


@dataclass(frozen=True)
class DFNetOptions(RecipeOptions):
    """DFNet's settings: the VGG losses on the ``texture_scales`` finest scales (0-3) from step ``texture_from_step``
    on, their weights times ``texture_weight`` (0 = none), the style loss over ``style_region`` ("image" or "hole").
    Its defaults (a fine-tune's): the style over the hole at 0.3 of the weights, which at equal time beat the
    paper's losses on L1, PSNR, VGG distance and sharpness for the same Gram distance (docs/fine-tuning.md)."""

    texture_scales: int = TEXTURE_SCALES
    texture_from_step: int = 0
    texture_weight: float = 0.3
    style_region: str = "hole"

    def describe(self) -> str:
        weight = f" x {self.texture_weight:g}" if self.texture_weight != 1 else ""
        text = f"VGG on {self.texture_scales} scale(s){weight} from step {self.texture_from_step}"
        if self.style_region == "hole":
            text += ", style on the hole"
        return f"{text}, fill {self.input_fill}"

    def loss_summary(self) -> str:
        if self.texture_scales:
            return "the paper's L1, total variation, VGG perceptual and style losses"
        return "the paper's L1 (x6, all six scales) and total variation (x0.1, three finest); VGG losses off"


@register_recipe
class DFNetRecipe(Recipe):
    arch = "dfnet"
    adam_betas = (0.9, 0.999)
    base_lr = 2e-4
    vgg_layers = losses.DFNET_VGG_LAYERS
    input_fills = ("zeros", *INPUT_FILLS)
    options_type = DFNetOptions
    card_settings = ("size", "batch", "precision", "lr", "texture_scales", "texture_weight", "input_fill", "compile")
    # the decoder with its fusion blocks, or the fusion blocks alone (11 k weights: the raw images and the learned
    # alpha that blends them over the pre-fill); no gradient flows back into the frozen encoder
    trainable_parts = {"decoder": ("decoder", "fusion"), "fusion": ("fusion",)}
    prefill_use = "the learned alpha blends the network's completion over that fill"
    bench_variants = {"paper": {"texture_scales": 3, "texture_weight": 1.0, "style_region": "image"},
                      "finest": {"texture_scales": 1, "texture_weight": 1.0, "style_region": "image"},
                      "l1-tv": {"texture_scales": 0}}
    # phase 2 (trainer/recipes/README.md): the job DFNet does in the editor - PatchMatch's pre-fill, lasso holes beside
    # strokes (trainer/masks.py), the paper's perceptual loss and a style loss over the hole only (the whole image's
    # style term was 97 % of the loss even at 0.3 of its weight and left white smears where the alpha rose) on all
    # three scales at 0.3 of their weights, bf16
    default_weights_args = ("--size", "256", "--batch", "8", "--precision", "auto", "--texture-scales", "3",
                            "--texture-weight", "0.3", "--style-region", "hole", "--input-fill", "patchmatch",
                            "--lr-decay-every", "0", "--checkpoint-every", "50", "--preview-every", "100", "--compile")

    def default_batch(self, device_type: str, size: int) -> int:
        if device_type == "cuda":
            return 8
        return 2 if size == 256 else 1

    def config_problem(self, config) -> str | None:
        if config.size < 256 or config.size % 256:
            return f"--size must be a multiple of 256 for dfnet, got {config.size}"
        if config.size == 256 and config.batch == 1:
            return ("--batch must be at least 2 for dfnet at --size 256 (its deepest BatchNorm layer sees a 1x1 "
                    "map), or use --size 512")
        return None

    @staticmethod
    def texture_scales(options: DFNetOptions, step: int) -> int:
        """Scales carrying the VGG losses at ``step`` (0 before ``texture_from_step`` and when ``texture_weight`` is
        0)."""
        return options.texture_scales if step >= options.texture_from_step and options.texture_weight > 0 else 0

    @staticmethod
    def loss_weights(options: DFNetOptions) -> losses.DFNetLossWeights:
        """The paper's loss weights with the VGG perceptual and style weights (either style term's) times
        ``texture_weight``."""
        paper = losses.DFNetLossWeights()
        weight = options.texture_weight
        return replace(paper, perceptual=paper.perceptual * weight, style=paper.style * weight,
                       style_hole=paper.style_hole * weight)

    def step(self, ctx: StepContext, batch: TrainingBatch) -> StepResult:
        options = ctx.options
        assert isinstance(options, DFNetOptions), "the loop passes the options of this recipe's options_type"
        assert ctx.vgg is not None, "the loop builds the VGG of a recipe with vgg_layers"
        images, holes = batch.images, batch.holes
        with ctx.autocast():
            with ctx.part("generator forward"):
                output = ctx.generator(images, holes, fill=batch.fill)
            with ctx.part("loss forward"):
                terms = losses.dfnet_losses(output, images, holes, ctx.vgg, weights=self.loss_weights(options),
                                            texture_scales=self.texture_scales(options, ctx.step),
                                            style_region=options.style_region)
        ctx.backward_step(terms["total"], ctx.optim_g, ctx.generator)
        preview = Preview(images, holes, output.results[0].detach(), output.alphas[0].detach())
        return StepResult({k: v.detach() for k, v in terms.items()}, preview)

    @torch.no_grad()
    def predict(self, network: nn.Module, image01: Tensor, hole: Tensor, fill: str | None) -> Tensor:
        return network(image01, hole, fill=input_fill(fill, image01, hole)).results[0].clamp(0, 1)
