"""Training DMFN (Hui et al. 2020): a relativistic average GAN with a global + local discriminator, self-guided
regression, geometric alignment and feature matching losses; Adam betas (0.5, 0.9) for both networks.

Crops of any multiple of 64 px from 128 (the paper: 256; a first phase at 128 px costs a quarter per image),
``adversarial_from_step``: before it a reconstruction warm-up without the discriminator (its losses and updates), and
the hole pre-filled by a classical fill instead of zeros (``input_fill``, a departure from the paper: the generator
then predicts a correction to the fill, starting from zero)."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor, nn

from engine.prefill import INPUT_FILLS
from trainer import losses
from trainer.arches import Recipe, input_fill
from trainer.config import TrainConfig


class DMFNRecipe(Recipe):
    arch = "dmfn"
    adam_betas = (0.5, 0.9)
    base_lr = 2e-4
    vgg_layers = losses.DMFN_VGG_LAYERS
    input_fills = ("zeros", *INPUT_FILLS)

    def default_batch(self, device_type: str, size: int) -> int:
        return 16 if device_type == "cuda" else 1

    def config_problem(self, config: TrainConfig) -> str | None:
        from trainer.discriminator import SIZE_MULTIPLE

        if config.size < 2 * SIZE_MULTIPLE or config.size % SIZE_MULTIPLE:
            return (f"--size must be a multiple of {SIZE_MULTIPLE} from {2 * SIZE_MULTIPLE} for dmfn (its "
                    f"discriminator halves it six times), got {config.size}")
        return None

    def build_discriminator(self, device, memory_format) -> nn.Module:
        from trainer.discriminator import DMFNDiscriminator

        return DMFNDiscriminator().to(device, memory_format=memory_format).train()

    def start_random(self, generator: nn.Module, input_fill: str) -> None:
        """With a pre-fill the generator predicts a correction to it: a zeroed output convolution makes the untrained
        network return the classical fill, so training starts at its quality."""
        if input_fill != "zeros":
            generator.zero_output()

    @staticmethod
    def loss_weights(config: TrainConfig) -> losses.DMFNLossWeights:
        """The paper's loss weights with the VGG terms' (lam: self-guided regression and feature matching; gamma:
        geometric alignment) times ``texture_weight``."""
        paper = losses.DMFNLossWeights()
        return replace(paper, lam=paper.lam * config.texture_weight, gamma=paper.gamma * config.texture_weight)

    def step(self, trainer, images: Tensor, holes: Tensor) -> dict[str, Tensor]:
        """Discriminator step (RaGAN), then generator step; real and completed images go through the
        discriminator in separate calls so its BatchNorm never mixes them. Before ``adversarial_from_step`` only
        the generator steps, on the losses that need no discriminator."""
        real = images * 2.0 - 1.0
        with trainer.part("input fill"):
            fill = _to_signed(input_fill(trainer.config.input_fill, images, holes))
        with trainer.autocast(), trainer.part("generator forward"):
            out = trainer.generator(real, holes, fill=fill)
        weights = self.loss_weights(trainer.config)
        if trainer.step < trainer.config.adversarial_from_step:
            with trainer.autocast(), trainer.part("loss forward"):
                terms = losses.dmfn_generator_losses(out.output, out.prediction, real, holes, trainer.vgg,
                                                     weights=weights)
            d_loss = torch.zeros(())
        else:
            terms, d_loss = self._adversarial_losses(trainer, real, holes, out, weights)
        trainer.backward_step(terms["total"], trainer.optim_g, trainer.generator)
        trainer.last_preview = (images, holes, (out.output.detach() + 1.0) / 2.0, holes.expand(-1, 3, -1, -1))
        result = {k: v.detach() for k, v in terms.items()}
        result["d"] = d_loss.detach()
        return result

    @staticmethod
    def _adversarial_losses(trainer, real: Tensor, holes: Tensor, out,
                            weights: losses.DMFNLossWeights) -> tuple[dict[str, Tensor], Tensor]:
        """Update the discriminator once, then the generator's full loss terms (paper eq. 11) and the
        discriminator's loss."""
        from trainer.discriminator import local_patches

        disc = trainer.discriminator
        local_side = real.shape[-1] // 2
        with trainer.autocast():
            fake = out.output
            real_local = local_patches(real, holes, local_side)
            fake_local = local_patches(fake, holes, local_side)
            real_logits, _ = disc(real, real_local)
            fake_logits, _ = disc(fake.detach(), fake_local.detach())
            d_loss = losses.dmfn_discriminator_loss(real_logits.float(), fake_logits.float())
        trainer.backward_step(d_loss, trainer.optim_d, disc, average=True)

        disc.requires_grad_(False)
        try:
            with trainer.autocast():
                with torch.no_grad():
                    real_logits, real_feats = disc(real, real_local)
                fake_logits, fake_feats = disc(fake, fake_local)
                terms = losses.dmfn_generator_losses(
                    out.output, out.prediction, real, holes, trainer.vgg,
                    (real_logits.float(), fake_logits.float(), real_feats, fake_feats),
                    weights=weights,
                )
        finally:
            disc.requires_grad_(True)
        return terms, d_loss

    @torch.no_grad()
    def predict(self, network: nn.Module, image01: Tensor, hole: Tensor, fill: str | None) -> Tensor:
        fill = _to_signed(input_fill(fill, image01, hole))
        return ((network(image01 * 2 - 1, hole, fill=fill).output + 1) / 2).clamp(0, 1)


def _to_signed(fill: Tensor | None) -> Tensor | None:
    """A pre-fill in [0, 1] -> DMFN's range [-1, 1] (None stays None)."""
    return None if fill is None else fill * 2.0 - 1.0


RECIPE = DMFNRecipe()
