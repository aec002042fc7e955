"""The before/after comparison a training run ends with: what "before" is, which held-out pairs are scored on which
crop size, and the scoring itself.

"Before" is the weights the run started from or, for a run from random initialisation (a random network is no
baseline), the best classical fill. The pairs are the held-out photos with fixed seeded lasso holes
(`trainer.evaluate.held_out_pairs`). With a time budget the scoring keeps at most `SCORING_SHARE` of it, on smaller
crops (where the network takes them) when fewer than `MIN_SCORED_PAIRS` pairs would fit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor, nn

from engine.model_spec import ClassicalSpec, registered_specs
from engine.registry import network_spec
from trainer.arches import Recipe
from trainer.budget import MIN_SCORED_PAIRS, SCORING_SHARE, Budget
from trainer.config import INIT_DEFAULT, INIT_RANDOM, TrainConfig
from trainer.evaluate import compare_on_pairs, held_out_pairs, prepare_photo


@dataclass
class ScoringPlan:
    """What a run scores at its end. ``pairs``: (photo number, uint8 (S,S,3) RGB photo, float (1,S,S) hole with
    1 = hole), none when nothing is scored; ``pair_s``: seconds one pair takes (measured on the first);
    ``before``: the model "before" measures, ``before_label`` its description."""

    pairs: list[tuple[int, np.ndarray, Tensor]] = field(default_factory=list)
    pair_s: float = 0.0
    before: nn.Module | ClassicalSpec | None = None
    before_label: str | None = None


def plan_scoring(
    held_out: list[np.ndarray],
    config: TrainConfig,
    recipe: Recipe,
    budget: Budget,
    after: nn.Module,
    device: torch.device,
    base: Callable[[], tuple[nn.Module, str]],
) -> ScoringPlan:
    """The held-out pairs of ``held_out`` (uint8 RGB photos), the "before" model (`before_model`) and the seconds
    one pair takes (the first pair, scored now against ``after``); sets ``budget.scoring_s`` to the seconds kept for
    the scoring: at most `SCORING_SHARE` of a time budget, without one the time all pairs take."""
    if not held_out:
        return ScoringPlan()
    before, before_label = before_model(config, base)
    size = config.size
    while True:
        images = [prepare_photo(image, size) for image in held_out]
        pairs = held_out_pairs(images, config.eval_masks_per_photo)
        probe = compare_on_pairs({"before": before, "after": after}, config.arch, pairs[:1], device=device,
                                 fill=config.input_fill)
        pair_s = probe["pair_s"]
        budget.scoring_s = len(pairs) * pair_s
        if budget.seconds is None:
            break
        budget.scoring_s = min(budget.scoring_s, SCORING_SHARE * budget.seconds)
        smaller = smallest_size(recipe, config, size)
        if budget.scoring_s >= MIN_SCORED_PAIRS * pair_s or smaller == size:
            break
        size = smaller
    return ScoringPlan(pairs, pair_s, before, before_label)


def score_before_after(
    plan: ScoringPlan,
    after: nn.Module,
    config: TrainConfig,
    device: torch.device,
    deadline: float | None,
    progress: Callable[[int, int], None],
) -> dict:
    """Score ``plan.before`` and ``after`` on the plan's pairs, stopping before a pair that would pass ``deadline``
    (``time.perf_counter()`` time; None: all pairs); `trainer.evaluate.compare_on_pairs`'s report.
    ``progress(done, total)`` counts pairs."""
    assert plan.before is not None, "a plan with pairs has a before model"
    return compare_on_pairs(
        {"before": plan.before, "after": after}, config.arch, plan.pairs, device=device, fill=config.input_fill,
        deadline=deadline, pair_s=plan.pair_s, progress=progress,
    )


def before_model(
    config: TrainConfig, base: Callable[[], tuple[nn.Module, str]]
) -> tuple[nn.Module | ClassicalSpec, str]:
    """(model, description) of what "before" measures: ``base()``, the weights the run started from and their
    description; for a run from random initialisation, the best classical fill (its spec)."""
    classical = classical_before(config)
    if classical is not None:
        label = f"{classical.name} (the best classical fill; training started from random initialisation)"
        return classical, label
    return base()


def classical_before(config: TrainConfig) -> ClassicalSpec | None:
    """The best-ranked classical fill when "before" is one (a run from random initialisation), else None."""
    from_scratch = config.init == INIT_RANDOM or (
        config.init == INIT_DEFAULT and not network_spec(config.arch).has_weights)
    return next(spec for spec in registered_specs() if isinstance(spec, ClassicalSpec)) if from_scratch else None


def smallest_size(recipe: Recipe, config: TrainConfig, size: int) -> int:
    """The smallest crop size (pixels), halving ``size``, the network takes."""
    while size % 2 == 0 and recipe.config_problem(replace(config, size=size // 2, batch=None)) is None:
        size //= 2
    return size
