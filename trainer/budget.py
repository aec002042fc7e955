"""A run's time budget (``--minutes``): the whole run - reading the photos, training, the before/after scoring and
the export - ends within it. Times are ``time.perf_counter()`` seconds.

How the budget is shared: reading stops after `READING_SHARE` of it; pre-filling a pool of training samples takes at
most `POOL_SHARE`; the scoring keeps at most `SCORING_SHARE` (fewer held-out pairs, or smaller crops, are scored to
fit); the final checkpoint and the export keep what a measured checkpoint write costs; training gets the rest and
stops when the next step would not fit.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

MIN_USEFUL_STEPS = 20
"""Fewest training steps worth a run: a budget that buys fewer is refused, naming the budget that would do, instead
of training a step or two that cannot change the model measurably."""
TIMING_STEPS = 2
"""Steps timed before the estimate (the first one carries one-off costs; the second is the rate)."""
READING_SHARE = 0.25
"""Reading the photos stops after this share of the budget; training uses the photos read by then."""
POOL_SHARE = 0.15
"""With a slow pre-fill (PatchMatch), making the pool of pre-filled training samples gets at most this share of the
budget (`trainer.prefill_pool`); training then reuses them."""
SCORING_SHARE = 0.15
"""At most this share of the budget is kept for the before/after scoring."""
MIN_SCORED_PAIRS = 6
"""When fewer pairs than this fit the scoring share, they are scored on smaller crops where the network allows."""


def process_age_s() -> float:
    """Seconds since this process started (Linux, from /proc; 0 elsewhere), so the budget counts Python's start."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime_s = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime_s - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


class Budget:
    """``seconds`` of wall time from ``t0`` (None: no time budget), less what is kept for the end of the run:
    ``scoring_s`` (the before/after scoring) and ``end_s`` (final checkpoint and export)."""

    def __init__(self, seconds: float | None, t0: float | None = None) -> None:
        self.seconds = seconds
        self.t0 = time.perf_counter() if t0 is None else t0
        self.scoring_s = 0.0
        self.end_s = 0.0

    def spent_s(self) -> float:
        return time.perf_counter() - self.t0

    def left_s(self) -> float | None:
        """Seconds left of the whole run (None without a budget)."""
        return None if self.seconds is None else self.seconds - self.spent_s()

    def training_left_s(self) -> float | None:
        """Seconds left for training: the whole run's less the scoring and the end."""
        left = self.left_s()
        return None if left is None else left - self.scoring_s - self.end_s

    def deadline(self, share: float = 1.0, keep_s: float = 0.0) -> float | None:
        """The time by which ``share`` of the budget, less ``keep_s``, is spent (None without a budget)."""
        return None if self.seconds is None else self.t0 + share * self.seconds - keep_s

    def affordable_steps(self, step_s: float) -> int | None:
        """Training steps of ``step_s`` seconds that still fit (None without a budget)."""
        left = self.training_left_s()
        return None if left is None else max(0, math.floor(left / max(step_s, 1e-9)))


def needed_minutes(before_training_s: float, steps: int, step_s: float, end_s: float) -> int:
    """Whole minutes of budget that buy ``steps`` steps of ``step_s`` after ``before_training_s`` of reading and
    setting up, with ``end_s`` for scoring and export, plus 10 % to spare."""
    return max(1, math.ceil(1.1 * (before_training_s + steps * step_s + end_s) / 60))
