"""The editor's removal bookkeeping, without Qt: which request is running, which results are stale, a result held
back while the user is painting, and the last removal's mask (Reuse last mask).

The window submits the job this makes and routes every worker signal through :meth:`RemovalSession.is_current`, so a
result of a superseded or cancelled request never touches the document.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine.worker import InpaintJob

if TYPE_CHECKING:
    from app.document import Document
    from app.history import ImagePatch
    from engine.pipeline import InpaintResult


@dataclass(frozen=True)
class FinishedRemoval:
    """What applying a finished removal needs. hole: bool (H, W), the mask it was computed from; started: the
    ``time.perf_counter()`` of the request, for the time from Enter to the result on screen."""

    result: InpaintResult
    patch: ImagePatch | None
    hole: np.ndarray
    started: float


class RemovalSession:
    """One removal at a time: request ids, the running job's mask and start time, a deferred result, the last hole."""

    def __init__(self) -> None:
        self._last_id = 0
        self._running_id: int | None = None
        self._running_hole: np.ndarray | None = None
        self._started = 0.0
        self._deferred: tuple[InpaintResult, ImagePatch | None] | None = None
        self.last_hole: np.ndarray | None = None
        """bool (H, W): the mask of the last applied removal, None before one (or after another photo opens)."""

    @property
    def busy(self) -> bool:
        """True from :meth:`start` until the run ends (applied, failed, cancelled or abandoned)."""
        return self._running_id is not None

    def start(self, document: Document, model: str, device: str) -> InpaintJob:
        """A job for the document's image, hole and exclude mask (left out when empty) with a new request id, which
        becomes the running one (:meth:`begin` and :meth:`attach` in one, the job made on the calling thread).

        The photo's pixels change only when a removal is applied, undone or redone, or another photo opens, and the
        editor allows none of these while a removal runs (:attr:`busy`): the job reads them without a copy.
        """
        request_id = self.begin()
        exclude = document.exclude if document.exclude.any() else None
        job = InpaintJob.snapshot(document.image, document.mask, model, device, request_id=request_id,
                                  share_image=True, exclude=exclude)
        self.attach(job)
        return job

    def begin(self) -> int:
        """Start a run whose job is made elsewhere (on a helper thread): a new request id, which becomes the running
        one; :meth:`attach` its job once made."""
        self._last_id += 1
        self._running_id = self._last_id
        self._running_hole = None
        self._started = time.perf_counter()
        self._deferred = None
        return self._last_id

    def attach(self, job: InpaintJob) -> None:
        """The running request's job, once made: its hole is the mask the run is computed from."""
        self._running_hole = job.hole

    @property
    def running_hole(self) -> np.ndarray | None:
        """bool (H, W): the running job's mask (None before its job is attached or when nothing runs)."""
        return self._running_hole

    def time_left_s(self, fraction: float, now: float | None = None) -> float | None:
        """Seconds the running removal should still take, from its progress ``fraction`` (0..1) and the time spent
        so far; None before there is enough to go on (under 1 s or 5 % in) or when nothing runs."""
        if self._running_id is None:
            return None
        elapsed = (time.perf_counter() if now is None else now) - self._started
        if elapsed < 1.0 or fraction < 0.05:
            return None
        return elapsed * (1.0 - min(fraction, 1.0)) / fraction

    def is_current(self, request_id: int) -> bool:
        """True when a worker signal about ``request_id`` belongs to the running removal (else it is stale)."""
        return self._running_id is not None and request_id == self._running_id

    def defer(self, result: InpaintResult, patch: ImagePatch | None) -> None:
        """Hold a finished result back until the user's brush stroke or lasso ends."""
        self._deferred = (result, patch)

    def finish(self, result: InpaintResult, patch: ImagePatch | None = None) -> FinishedRemoval:
        """End the run with its result: what to apply; its mask becomes :attr:`last_hole`."""
        assert self._running_hole is not None, "a result comes from the running job, attached before it ran"
        finished = FinishedRemoval(result, patch, self._running_hole, self._started)
        self.last_hole = self._running_hole
        self.end()
        return finished

    def take_deferred(self) -> tuple[InpaintResult, ImagePatch | None] | None:
        """The deferred (result, patch), no longer deferred, the run still going (it ends with :meth:`finish`); None
        when none waits."""
        deferred, self._deferred = self._deferred, None
        return deferred

    def finish_deferred(self) -> FinishedRemoval | None:
        """:meth:`finish` with the deferred result, or None when none waits."""
        if self._deferred is None:
            return None
        return self.finish(*self._deferred)

    def end(self) -> None:
        """End the run without a result (failed, cancelled, or the window closes); later signals are stale."""
        self._running_id = None
        self._running_hole = None
        self._deferred = None

    def forget_last_hole(self) -> None:
        """Another photo was opened: the last mask means nothing there."""
        self.last_hole = None
