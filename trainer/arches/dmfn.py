"""Training DMFN (Hui et al. 2020): a relativistic average GAN with a global + local discriminator, self-guided
regression, geometric alignment and feature matching losses; Adam betas (0.5, 0.9) for both networks.

Crops of any multiple of 64 px from 128 (the paper: 256; a first phase at 128 px costs a quarter per image),
``adversarial_from_step``: before it a reconstruction warm-up without the discriminator (its losses and updates), and
the hole pre-filled by a classical fill instead of zeros (``input_fill``, a departure from the paper: the generator
then predicts a correction to the fill, starting from zero)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from engine.prefill import INPUT_FILLS
from trainer import losses
from trainer.arches import Preview, Recipe, RecipeOptions, StepContext, StepResult, input_fill, register_recipe
from trainer.data import TrainingBatch

ADVERSARIAL_NEVER = 10**9
"""An ``adversarial_from_step`` no run reaches: a reconstruction-only run, without the discriminator."""


@dataclass(frozen=True)
class DMFNOptions(RecipeOptions):
    """DMFN's settings: the discriminator from step ``adversarial_from_step`` on (a reconstruction warm-up before
    it), the VGG terms' weights times ``texture_weight``."""

    adversarial_from_step: int = 0
    texture_weight: float = 1.0

    def describe(self) -> str:
        text = (f"discriminator from step {self.adversarial_from_step:,}"
                if self.adversarial_from_step < ADVERSARIAL_NEVER else "warm-up (no discriminator)")
        if self.texture_weight != 1:
            text += f", VGG terms x {self.texture_weight:g}"
        # on a pre-fill DMFN predicts a correction to it
        fill = "fill zeros" if self.input_fill == "zeros" else f"correction to the {self.input_fill} fill"
        return f"{text}, {fill}"

    def loss_summary(self) -> str:
        if self.adversarial_from_step >= ADVERSARIAL_NEVER:
            return ("the paper's reconstruction losses (L1, VGG19 feature matching, self-guided regression, geometric "
                    "alignment); no discriminator")
        return (f"the paper's losses, the discriminator's (relativistic average GAN and feature matching) from step "
                f"{self.adversarial_from_step:,}")


@register_recipe
class DMFNRecipe(Recipe):
    arch = "dmfn"
    adam_betas = (0.5, 0.9)
    base_lr = 2e-4
    vgg_layers = losses.DMFN_VGG_LAYERS
    input_fills = ("zeros", *INPUT_FILLS)
    options_type = DMFNOptions
    card_settings = ("size", "batch", "precision", "lr", "texture_weight", "input_fill", "compile")
    trainable_parts = {"decoder": ("decoder",)}  # after the dense multi-scale fusion blocks
    prefill_use = ("the network predicts a correction to that fill (its output is its input plus its last "
                   "convolution, clipped, instead of the paper's tanh)")
    bench_variants = {"paper": {"adversarial_from_step": 0}, "warm-up": {"adversarial_from_step": ADVERSARIAL_NEVER}}
    # phase 1 (trainer/recipes/README.md): 128 px crops, reconstruction warm-up without the discriminator, a
    # correction to the Telea pre-fill, the VGG terms at 1/100 of the paper's weights
    default_weights_args = ("--size", "128", "--batch", "4", "--precision", "auto", "--adversarial-from-step",
                            str(ADVERSARIAL_NEVER), "--input-fill", "telea", "--texture-weight", "0.01",
                            "--lr-decay-every", "0", "--checkpoint-every", "200", "--preview-every", "400", "--compile")

    def default_batch(self, device_type: str, size: int) -> int:
        return 16 if device_type == "cuda" else 1

    def config_problem(self, config) -> str | None:
        from trainer.discriminator import SIZE_MULTIPLE

        if config.size < 2 * SIZE_MULTIPLE or config.size % SIZE_MULTIPLE:
            return (f"--size must be a multiple of {SIZE_MULTIPLE} from {2 * SIZE_MULTIPLE} for dmfn (its "
                    f"discriminator halves it six times), got {config.size}")
        return None

    def build_discriminator(self, device, memory_format) -> nn.Module:
        from trainer.discriminator import DMFNDiscriminator

        # Module.to takes memory_format (documented) but PyTorch's annotations of its overloads leave it out
        return DMFNDiscriminator().to(device, memory_format=memory_format).train()  # type: ignore[call-overload]

    def start_random(self, generator: nn.Module, input_fill: str) -> None:
        """With a pre-fill the generator predicts a correction to it: a zeroed output convolution makes the untrained
        network return the classical fill, so training starts at its quality."""
        from engine.networks.dmfn import DMFNGenerator

        if input_fill != "zeros":
            assert isinstance(generator, DMFNGenerator), "the engine builds a DMFNGenerator for arch dmfn"
            generator.zero_output()

    @staticmethod
    def loss_weights(options: DMFNOptions) -> losses.DMFNLossWeights:
        """The paper's loss weights with the VGG terms' (lam: self-guided regression and feature matching; gamma:
        geometric alignment) times ``texture_weight``."""
        paper = losses.DMFNLossWeights()
        return replace(paper, lam=paper.lam * options.texture_weight, gamma=paper.gamma * options.texture_weight)

    def step(self, ctx: StepContext, batch: TrainingBatch) -> StepResult:
        """Discriminator step (RaGAN), then generator step; real and completed images go through the
        discriminator in separate calls so its BatchNorm never mixes them. Before ``adversarial_from_step`` only
        the generator steps, on the losses that need no discriminator."""
        options = ctx.options
        assert isinstance(options, DMFNOptions), "the loop passes the options of this recipe's options_type"
        assert ctx.vgg is not None, "the loop builds the VGG of a recipe with vgg_layers"
        images, holes = batch.images, batch.holes
        real = images * 2.0 - 1.0
        fill = _to_signed(batch.fill)
        with ctx.autocast(), ctx.part("generator forward"):
            out = ctx.generator(real, holes, fill=fill)
        weights = self.loss_weights(options)
        if ctx.step < options.adversarial_from_step:
            with ctx.autocast(), ctx.part("loss forward"):
                terms = losses.dmfn_generator_losses(out.output, out.prediction, real, holes, ctx.vgg,
                                                     weights=weights)
            d_loss = torch.zeros(())
        else:
            terms, d_loss = self._adversarial_losses(ctx, real, holes, out, weights)
        ctx.backward_step(terms["total"], ctx.optim_g, ctx.generator)
        preview = Preview(images, holes, (out.output.detach() + 1.0) / 2.0, holes.expand(-1, 3, -1, -1))
        result = {k: v.detach() for k, v in terms.items()}
        result["d"] = d_loss.detach()
        return StepResult(result, preview)

    @staticmethod
    def _adversarial_losses(ctx: StepContext, real: Tensor, holes: Tensor, out,
                            weights: losses.DMFNLossWeights) -> tuple[dict[str, Tensor], Tensor]:
        """Update the discriminator once, then the generator's full loss terms (paper eq. 11) and the
        discriminator's loss."""
        from trainer.discriminator import local_patches

        disc = ctx.discriminator
        assert disc is not None, "DMFN's recipe builds a discriminator"
        assert ctx.vgg is not None, "the loop builds the VGG of a recipe with vgg_layers"
        local_side = real.shape[-1] // 2
        with ctx.autocast():
            fake = out.output
            real_local = local_patches(real, holes, local_side)
            fake_local = local_patches(fake, holes, local_side)
            real_logits, _ = disc(real, real_local)
            fake_logits, _ = disc(fake.detach(), fake_local.detach())
            d_loss = losses.dmfn_discriminator_loss(real_logits.float(), fake_logits.float())
        ctx.backward_step(d_loss, ctx.optim_d, disc, average=True)

        disc.requires_grad_(False)
        try:
            with ctx.autocast():
                with torch.no_grad():
                    real_logits, real_feats = disc(real, real_local)
                fake_logits, fake_feats = disc(fake, fake_local)
                terms = losses.dmfn_generator_losses(
                    out.output, out.prediction, real, holes, ctx.vgg,
                    (real_logits.float(), fake_logits.float(), real_feats, fake_feats),
                    weights=weights,
                )
        finally:
            disc.requires_grad_(True)
        return terms, d_loss

    @torch.no_grad()
    def predict(self, network: nn.Module, image01: Tensor, hole: Tensor, fill: str | None) -> Tensor:
        prefill = _to_signed(input_fill(fill, image01, hole))
        return ((network(image01 * 2 - 1, hole, fill=prefill).output + 1) / 2).clamp(0, 1)


def _to_signed(fill: Tensor | None) -> Tensor | None:
    """A pre-fill in [0, 1] -> DMFN's range [-1, 1] (None stays None)."""
    return None if fill is None else fill * 2.0 - 1.0

