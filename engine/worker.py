"""The engine's single background worker: one thread owns the loaded model and runs every job.

Callers submit immutable jobs and get a :class:`concurrent.futures.Future` back:

- :class:`InpaintJob` -> ``Future`` whose result is an ``engine.pipeline.InpaintResult``;
- :class:`SwitchModelJob` -> ``Future`` whose result is a :class:`ModelLoaded`.

Only the worker thread calls the model loader or runs the pipeline, so a model switch can never
race an inpaint: a switch is just another queued job. Jobs run one at a time in submission order.
A newer :class:`InpaintJob` supersedes the pending (not yet started) ones by default; a running
job is only stopped through :meth:`EngineWorker.cancel`, which is cooperative (the pipeline checks
a ``threading.Event`` and raises :class:`engine.errors.JobCancelled`).

Threading contract: progress callbacks and future done-callbacks run on the worker thread. A GUI
must marshal them to its own thread (for example with a queued Qt signal) and must not touch
widgets from them. This module imports no Qt.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.errors import JobCancelled

if TYPE_CHECKING:
    from engine.inpainter import Inpainter
    from engine.model_spec import ModelSpec
    from engine.pipeline import InpaintResult, ProgressCallback

LoadModel = Callable[[str, str], "Inpainter"]
"""``load_model(name_or_path, device) -> Inpainter`` (``engine.registry.load_model``)."""

RunPipeline = Callable[..., "InpaintResult"]
"""``run(image, hole, model, *, band_px, exclude, progress, cancel) -> InpaintResult`` (``engine.pipeline.inpaint``)."""


def _readonly_copy(arr: np.ndarray) -> np.ndarray:
    out = np.array(arr, copy=True, order="C")
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class InpaintJob:
    """An immutable request to fill ``hole`` in ``image`` with ``model``.

    image: uint8 (H, W, 3) RGB; hole: bool (H, W), True = pixel to fill; exclude: None or bool (H, W), True = never a
    source for the fill (the sampling area's excluded part). Construction (directly or via
    :meth:`snapshot`) validates them and stores private read-only C-contiguous copies, so later edits
    of the caller's arrays never reach the job. With ``share_image`` the image is not copied (a 24 MP copy costs
    tens of ms, hundreds when its memory is touched for the first time): it must then be a read-only C-contiguous
    array that the caller promises not to change until the job's future is done. ``request_id`` is the caller's tag
    for dropping stale results; ``band_px`` (None = the model's own seam band) is passed to the pipeline. Jobs compare
    by identity.
    """

    image: np.ndarray
    hole: np.ndarray
    model: str
    device: str = "auto"
    request_id: int = 0
    band_px: int | None = None
    share_image: bool = False
    exclude: np.ndarray | None = None

    def __post_init__(self) -> None:
        image, hole = self.image, self.hole
        if not isinstance(image, np.ndarray):
            raise ValueError(f"InpaintJob: image must be a numpy array, got {type(image).__name__}")
        if not isinstance(hole, np.ndarray):
            raise ValueError(f"InpaintJob: hole must be a numpy array, got {type(hole).__name__}")
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"InpaintJob: image must be uint8 of shape (H, W, 3) RGB, got {image.dtype} {image.shape}")
        if image.shape[0] == 0 or image.shape[1] == 0:
            raise ValueError(f"InpaintJob: image is empty, shape {image.shape}")
        if hole.dtype != np.bool_ or hole.ndim != 2:
            raise ValueError(
                f"InpaintJob: hole must be bool of shape (H, W) (True = fill), got {hole.dtype} {hole.shape}"
            )
        if hole.shape != image.shape[:2]:
            raise ValueError(f"InpaintJob: hole size {hole.shape} differs from image size {image.shape[:2]}")
        exclude = self.exclude
        if exclude is not None and (not isinstance(exclude, np.ndarray) or exclude.dtype != np.bool_
                                    or exclude.shape != image.shape[:2]):
            raise ValueError(f"InpaintJob: exclude must be None or bool of shape {image.shape[:2]} (True = never a "
                             f"source), got {getattr(exclude, 'dtype', type(exclude).__name__)} "
                             f"{getattr(exclude, 'shape', '')}")
        if not isinstance(self.model, str) or not self.model:
            raise ValueError(f"InpaintJob: model must be a non-empty name or path, got {self.model!r}")
        if not isinstance(self.device, str) or not self.device:
            raise ValueError(f"InpaintJob: device must be a non-empty string, got {self.device!r}")
        band = self.band_px
        if band is not None and (isinstance(band, bool) or not isinstance(band, int) or band < 0):
            raise ValueError(f"InpaintJob: band_px must be None or an integer >= 0, got {band!r}")
        if self.share_image:
            if image.flags.writeable or not image.flags.c_contiguous:
                raise ValueError("InpaintJob: a shared image must be read-only and C-contiguous")
        else:
            object.__setattr__(self, "image", _readonly_copy(image))
        object.__setattr__(self, "hole", _readonly_copy(hole))
        if exclude is not None:
            object.__setattr__(self, "exclude", _readonly_copy(exclude))

    @classmethod
    def snapshot(
        cls,
        image: np.ndarray,
        hole: np.ndarray,
        model: str,
        device: str = "auto",
        request_id: int = 0,
        band_px: int | None = None,
        share_image: bool = False,
        exclude: np.ndarray | None = None,
    ) -> InpaintJob:
        """Capture the caller's current image, hole and exclude mask as a job (validated read-only copies; see
        ``share_image``)."""
        return cls(image=image, hole=hole, model=model, device=device, request_id=request_id, band_px=band_px,
                   share_image=share_image, exclude=exclude)


@dataclass(frozen=True)
class SwitchModelJob:
    """Load ``model`` (registry name or weights path) on ``device`` ("auto", "cpu", "cuda", ...) ahead of use."""

    model: str
    device: str = "auto"


@dataclass(frozen=True)
class ModelLoaded:
    """Result of a :class:`SwitchModelJob`: the loaded model's spec and the device it runs on (e.g. "cuda:0")."""

    spec: ModelSpec
    device: str


Job = InpaintJob | SwitchModelJob


@dataclass(eq=False)
class _Item:
    job: Job
    future: Future
    progress: ProgressCallback | None
    cancel: threading.Event = field(default_factory=threading.Event)


def _default_load_model(name_or_path: str, device: str) -> Inpainter:
    from engine.registry import load_model

    return load_model(name_or_path, device)


def _default_run(image: np.ndarray, hole: np.ndarray, model: Inpainter, **kwargs: Any) -> InpaintResult:
    from engine.pipeline import inpaint

    return inpaint(image, hole, model, **kwargs)


class EngineWorker:
    """One daemon thread that owns the loaded model and runs queued jobs in order.

    ``load_model`` and ``run`` default to ``engine.registry.load_model`` and ``engine.pipeline.inpaint``
    (imported on first use); tests pass fakes. The thread and the model are created lazily, on the
    first submitted job. Use as a context manager or call :meth:`shutdown`.
    """

    def __init__(self, load_model: LoadModel | None = None, run: RunPipeline | None = None) -> None:
        self._load_model: LoadModel = load_model or _default_load_model
        self._run: RunPipeline = run or _default_run
        self._cond = threading.Condition()
        self._pending: collections.deque[_Item] = collections.deque()
        self._current: _Item | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        # Touched only by the worker thread: the loaded models, least recently used first.
        self._models: collections.OrderedDict[tuple[str, str], Inpainter] = collections.OrderedDict()

    # ----------------------------------------------------------------- public API

    def submit(self, job: Job, progress: ProgressCallback | None = None, supersede: bool = True) -> Future:
        """Queue ``job`` and return its future.

        progress: optional ``progress(fraction 0..1, message)``, called on the worker thread.
        supersede: for an :class:`InpaintJob`, first cancel every pending (not started) InpaintJob;
        their futures end cancelled. The running job and pending SwitchModelJobs are untouched.
        Ignored for a :class:`SwitchModelJob`, which never cancels other work.
        Raises RuntimeError after :meth:`shutdown`, TypeError for an unknown job type.
        """
        if not isinstance(job, (InpaintJob, SwitchModelJob)):
            raise TypeError(f"EngineWorker.submit: expected InpaintJob or SwitchModelJob, got {type(job).__name__}")
        item = _Item(job=job, future=Future(), progress=progress)
        superseded: list[_Item] = []
        with self._cond:
            if self._stopping:
                raise RuntimeError("EngineWorker.submit: the worker has been shut down")
            if supersede and isinstance(job, InpaintJob):
                superseded = [it for it in self._pending if isinstance(it.job, InpaintJob)]
                self._pending = collections.deque(it for it in self._pending if not isinstance(it.job, InpaintJob))
            self._pending.append(item)
            self._ensure_thread()
            self._cond.notify()
        for it in superseded:
            _cancel_pending(it.future)
        return item.future

    def cancel(self, future: Future) -> bool:
        """Cancel the job behind ``future``.

        A pending job is removed and its future cancelled at once. A running job has its cancel event
        set; its future later ends with :class:`JobCancelled` as exception. Returns False when the
        future is finished or unknown to this worker.
        """
        with self._cond:
            item = next((it for it in self._pending if it.future is future), None)
            if item is not None:
                self._pending.remove(item)
            elif self._current is not None and self._current.future is future and not future.done():
                self._current.cancel.set()
                return True
        if item is not None:
            return _cancel_pending(future)
        return False

    def shutdown(self, wait: bool = True) -> None:
        """Stop the worker: cancel pending futures, ask the running job to cancel, end the thread.

        With ``wait`` the call blocks until the thread has ended and the model is released.
        Calling it again is harmless.
        """
        with self._cond:
            self._stopping = True
            pending = list(self._pending)
            self._pending.clear()
            if self._current is not None:
                self._current.cancel.set()
            thread = self._thread
            self._cond.notify_all()
        for it in pending:
            _cancel_pending(it.future)
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join()

    def __enter__(self) -> EngineWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown(wait=True)

    # ----------------------------------------------------------------- worker thread

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="fusionpaint-engine", daemon=True)
            self._thread.start()

    def _next_item(self) -> _Item | None:
        with self._cond:
            while True:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if not self._pending:
                    return None
                item = self._pending.popleft()
                if item.future.set_running_or_notify_cancel():
                    self._current = item
                    return item

    def _loop(self) -> None:
        while True:
            item = self._next_item()
            if item is None:
                self._models.clear()
                return
            result: InpaintResult | ModelLoaded | None = None
            error: BaseException | None = None
            try:
                result = self._execute(item)
            except BaseException as exc:  # every failure belongs to the job, never to the thread
                error = exc
            with self._cond:  # after this, cancel() sees the job as finished
                self._current = None
                if error is None and item.cancel.is_set():
                    error = JobCancelled(f"Cancelled: {item.job.model}")
            # even SystemExit from a job's callback ends only that job: the worker keeps serving later jobs
            if error is None:
                item.future.set_result(result)
            else:
                item.future.set_exception(error)
            item = result = error = None  # do not keep the last job's arrays alive while idle

    def _execute(self, item: _Item) -> InpaintResult | ModelLoaded:
        job = item.job
        if item.cancel.is_set():
            raise JobCancelled(f"Cancelled: {job.model}")
        model = self._ensure_model(job.model, job.device, item.progress)
        if item.cancel.is_set():
            raise JobCancelled(f"Cancelled: {job.model}")
        if isinstance(job, SwitchModelJob):
            return ModelLoaded(spec=model.spec, device=str(model.device))
        return self._run(job.image, job.hole, model, band_px=job.band_px, exclude=job.exclude, progress=item.progress,
                         cancel=item.cancel)

    def _ensure_model(self, name: str, device: str, progress: ProgressCallback | None) -> Inpainter:
        """Return the loaded model for (name, device), loading it if needed. Recently used models stay loaded while
        their weights fit in `MODEL_CACHE_BYTES`: switching back to one costs nothing; the least recently used go
        first, before a new one is loaded, so the bound holds while it loads."""
        for key, model in self._models.items():
            if _matches(key, model, name, device):
                self._models.move_to_end(key)
                return model
        if progress is not None:
            progress(0.0, f"Loading model {name}")
        while self._models and sum(map(model_bytes, self._models.values())) > MODEL_CACHE_BYTES - LARGEST_MODEL_BYTES:
            self._models.popitem(last=False)
        model = self._load_model(name, device)
        self._models[(name, device)] = model
        while len(self._models) > 1 and sum(map(model_bytes, self._models.values())) > MODEL_CACHE_BYTES:
            self._models.popitem(last=False)
        return model


MODEL_CACHE_BYTES = 512 * 2**20
"""Most bytes of weights the worker keeps loaded across model switches (DFNet: 132 MB in float32, DMFN 23 MB)."""
LARGEST_MODEL_BYTES = 160 * 2**20
"""Room kept free for the model being loaded (a little above DFNet's float32 weights)."""


def model_bytes(model: Inpainter) -> int:
    """Bytes of a loaded model's weights and buffers (0 for a classical fill)."""
    network = getattr(model, "network", None)
    if network is None:
        return 0
    tensors = [*network.parameters(), *network.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def _matches(key: tuple[str, str], model: Inpainter, name: str, device: str) -> bool:
    """Whether the model loaded as ``key`` = (name, device) is the one asked for by ``name`` and ``device``."""
    loaded_name, loaded_device = key
    spec = getattr(model, "spec", None)
    name_ok = name == loaded_name or name == getattr(spec, "name", None)
    device_ok = device == loaded_device or device == str(getattr(model, "device", ""))
    return name_ok and device_ok


def _cancel_pending(future: Future) -> bool:
    """Cancel a future that never started and notify its waiters, so ``concurrent.futures.wait`` and
    ``as_completed`` see it done (``Future.cancel`` alone leaves that to an executor). Returns ``cancel()``'s answer."""
    cancelled = future.cancel()
    if cancelled:
        future.set_running_or_notify_cancel()
    return cancelled
