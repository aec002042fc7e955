"""Training samples whose slow pre-fill is paid once: a fixed pool of (photo crop, hole, pre-fill) triples.

PatchMatch's pre-fill of a 256 px crop takes about 1 s on a 2-core CPU - more than the network's forward and
backward pass together - so a fine-tune with a time budget spent most of it pre-filling. `PrefilledPool` draws
``samples`` crops and holes from the run's photo and mask samplers once, pre-fills them, and then serves batches
from them: every sample once per epoch in a seeded order, each flipped left-right at random (crop, hole and fill
together; a mirrored fill is the fill of the mirrored crop). The pool is rebuilt identically from ``seed`` when a run
resumes; its position (`state_dict`) is in the checkpoint. A new pool of a run with a time budget takes at most
`POOL_SHARE` of it; an automatic pool holds what that share buys, timed on its first batch (`pool_size_for`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from trainer.arches import input_fill
from trainer.budget import POOL_SHARE
from trainer.data import BatchSource, TrainingBatch

MAX_POOL_SAMPLES = 512
"""Most samples a pool holds (at 256 px, float16 crops and fills: about 0.4 GB)."""


def pool_size_for(seconds: float, sample_s: float, batch: int) -> int:
    """Samples a pool of `POOL_SHARE` of a ``seconds`` budget holds when one takes ``sample_s`` seconds to make: at
    least one batch, at most `MAX_POOL_SAMPLES`, a whole number of batches."""
    affordable = int(POOL_SHARE * seconds / max(sample_s, 1e-9))
    return max(batch, min(MAX_POOL_SAMPLES, affordable) // batch * batch)


class PrefilledPool:
    """``samples`` samples (whole batches of the source's size) drawn from ``source`` and pre-filled with ``fill``
    (one of `engine.prefill.INPUT_FILLS`), stored float16 on the source's device; `next` gives `TrainingBatch` es
    of ``batch`` samples."""

    def __init__(self, images: Tensor, holes: Tensor, fills: Tensor, batch: int, seed: int) -> None:
        self.images, self.holes, self.fills = images, holes, fills
        self.batch = min(batch, len(images))
        self.seed = seed
        self.epoch = 0
        self.position = 0

    @classmethod
    def build(cls, source: BatchSource, fill: str, samples: int | None, seed: int, *, budget_s: float | None = None,
              progress: Callable[[int, int], None] | None = None) -> PrefilledPool:
        """Draw and pre-fill ``samples`` samples (rounded up to whole source batches) from ``source``.

        ``budget_s``: the run's time budget (seconds) when the pool gets its share of it: it stops growing, keeping
        the batches made so far (at least one), once `POOL_SHARE` of it has passed since the call (None: no limit,
        as for a pool rebuilt on resuming). ``samples`` None: as many as that share buys (`pool_size_for`), timed on
        the first batch; it needs ``budget_s``. ``progress(done, total)`` counts samples (after the timed batch).
        """
        started = time.perf_counter()
        deadline = None if budget_s is None else started + POOL_SHARE * budget_s
        parts: list[tuple[Tensor, Tensor, Tensor]] = []
        if samples is None:
            if budget_s is None:
                raise ValueError("a pool sized by its share of the time budget needs the budget (budget_s)")
            parts.append(_prefilled_batch(source, fill))
            batch = len(parts[0][0])
            samples = pool_size_for(budget_s, (time.perf_counter() - started) / batch, batch)
        done = sum(len(p[0]) for p in parts)
        while done < samples and not (parts and deadline is not None and time.perf_counter() > deadline):
            parts.append(_prefilled_batch(source, fill))
            done += len(parts[-1][0])
            if progress is not None:
                progress(min(done, samples), samples)
        images, holes, fills = (torch.cat([p[k] for p in parts]) for k in range(3))
        return cls(images.half(), holes.bool(), fills.half(), batch=len(parts[0][0]), seed=seed)

    def __len__(self) -> int:
        return len(self.images)

    def _epoch_order(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """(sample order, flip flags) of ``epoch``, fixed by the seed."""
        rng = np.random.default_rng([self.seed, epoch])
        return rng.permutation(len(self)), rng.random(len(self)) < 0.5

    def next(self) -> TrainingBatch:
        """The next ``batch`` samples of the epoch's order (an epoch's last batch is completed from the next's)."""
        picked: list[int] = []
        flips: list[bool] = []
        while len(picked) < self.batch:
            order, flip = self._epoch_order(self.epoch)
            take = min(self.batch - len(picked), len(self) - self.position)
            picked += order[self.position:self.position + take].tolist()
            flips += flip[self.position:self.position + take].tolist()
            self.position += take
            if self.position == len(self):
                self.epoch, self.position = self.epoch + 1, 0
        index = torch.tensor(picked)
        flip_mask = torch.tensor(flips).view(-1, 1, 1, 1)

        def take_flipped(stored: Tensor) -> Tensor:
            chosen = stored[index]
            return torch.where(flip_mask, chosen.flip(-1), chosen)

        return TrainingBatch(take_flipped(self.images).float(), take_flipped(self.holes).float(),
                             take_flipped(self.fills).float())

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position, "samples": len(self)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if int(state["samples"]) != len(self):
            raise ValueError(f"the checkpoint's pre-filled pool held {state['samples']} samples, this one {len(self)}")
        self.epoch, self.position = int(state["epoch"]), int(state["position"])


def _prefilled_batch(source: BatchSource, fill: str) -> tuple[Tensor, Tensor, Tensor]:
    """The source's next batch: (images, holes, their pre-fill with ``fill``)."""
    images, holes = source.next()
    filled = input_fill(fill, images, holes)
    assert filled is not None, "a pool is only built for a classical fill"
    return images, holes, filled
