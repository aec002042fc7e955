"""Training DFNet (Hong et al. 2019): L1 on the hole and the known pixels, total variation, and VGG19 perceptual and
style losses on the finest ``texture_scales`` fusion scales from ``texture_from_step`` on; Adam's default betas."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor, nn

from engine.prefill import INPUT_FILLS
from trainer import losses
from trainer.arches import Recipe, input_fill
from trainer.config import TrainConfig


class DFNetRecipe(Recipe):
    arch = "dfnet"
    adam_betas = (0.9, 0.999)
    base_lr = 2e-4
    vgg_layers = losses.DFNET_VGG_LAYERS
    input_fills = ("zeros", *INPUT_FILLS)

    def default_batch(self, device_type: str, size: int) -> int:
        if device_type == "cuda":
            return 8
        return 2 if size == 256 else 1

    def config_problem(self, config: TrainConfig) -> str | None:
        if config.size < 256 or config.size % 256:
            return f"--size must be a multiple of 256 for dfnet, got {config.size}"
        if config.size == 256 and config.batch == 1:
            return ("--batch must be at least 2 for dfnet at --size 256 (its deepest BatchNorm layer sees a 1x1 "
                    "map), or use --size 512")
        return None

    @staticmethod
    def texture_scales(config: TrainConfig, step: int) -> int:
        """Scales carrying the VGG losses at ``step`` (0 before ``texture_from_step`` and when ``texture_weight`` is
        0)."""
        return config.texture_scales if step >= config.texture_from_step and config.texture_weight > 0 else 0

    @staticmethod
    def loss_weights(config: TrainConfig) -> losses.DFNetLossWeights:
        """The paper's loss weights with the VGG perceptual and style weights (either style term's) times
        ``texture_weight``."""
        paper = losses.DFNetLossWeights()
        return replace(paper, perceptual=paper.perceptual * config.texture_weight,
                       style=paper.style * config.texture_weight, style_hole=paper.style_hole * config.texture_weight)

    def step(self, trainer, images: Tensor, holes: Tensor) -> dict[str, Tensor]:
        with trainer.part("input fill"):
            fill = input_fill(trainer.config.input_fill, images, holes)
        with trainer.autocast():
            with trainer.part("generator forward"):
                output = trainer.generator(images, holes, fill=fill)
            with trainer.part("loss forward"):
                terms = losses.dfnet_losses(output, images, holes, trainer.vgg,
                                            weights=self.loss_weights(trainer.config),
                                            texture_scales=self.texture_scales(trainer.config, trainer.step),
                                            style_region=trainer.config.style_region)
        trainer.backward_step(terms["total"], trainer.optim_g, trainer.generator)
        trainer.last_preview = (images, holes, output.results[0].detach(), output.alphas[0].detach())
        return {k: v.detach() for k, v in terms.items()}

    @torch.no_grad()
    def predict(self, network: nn.Module, image01: Tensor, hole: Tensor, fill: str | None) -> Tensor:
        return network(image01, hole, fill=input_fill(fill, image01, hole)).results[0].clamp(0, 1)


RECIPE = DFNetRecipe()
