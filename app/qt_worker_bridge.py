"""Carries engine results from the worker thread to the GUI thread as Qt signals.

``engine.worker.EngineWorker`` runs every job on its own thread and calls progress callbacks and future
done-callbacks there. :class:`QtWorkerBridge` lives on the GUI thread; it emits its signals from those
callbacks, and because the receiving slots live on the GUI thread Qt delivers them queued (connect with
``Qt.QueuedConnection`` to get queued delivery even when a future is already finished at submit time).
The GUI thread therefore only submits snapshots and receives results: it never runs a model.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

from PySide6.QtCore import QObject, Signal

from engine.errors import FusionPaintError, JobCancelled
from engine.worker import EngineWorker, InpaintJob, SwitchModelJob


class QtWorkerBridge(QObject):
    """Submits jobs to one :class:`EngineWorker` and re-emits their outcome as signals.

    Signals (all carry the job's ``request_id`` first; a :class:`SwitchModelJob` uses -1):
    ``progress(request_id, fraction 0..1, message)``, ``finished(request_id, InpaintResult)``,
    ``failed(request_id, message)``, ``cancelled(request_id)``, ``model_loaded(ModelLoaded)``,
    ``model_failed(message)``.
    """

    progress = Signal(int, float, str)
    finished = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    model_loaded = Signal(object)
    model_failed = Signal(str)

    def __init__(self, worker: EngineWorker | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker = worker if worker is not None else EngineWorker()
        self._lock = threading.Lock()
        self._closed = False
        self._future: Future | None = None

    @property
    def worker(self) -> EngineWorker:
        """The engine worker behind this bridge."""
        return self._worker

    def submit(self, job: InpaintJob) -> Future:
        """Queue an inpaint job (superseding pending ones) and return its future."""
        request_id = job.request_id
        future = self._worker.submit(job, progress=lambda f, m: self._emit(self.progress, request_id, f, m))
        self._future = future
        future.add_done_callback(lambda fut: self._on_done(request_id, fut))
        return future

    def switch_model(self, model: str, device: str = "auto") -> Future:
        """Load ``model`` on ``device`` ahead of use; the outcome arrives as model_loaded / model_failed."""
        future = self._worker.submit(SwitchModelJob(model=model, device=device))
        future.add_done_callback(self._on_switch_done)
        return future

    def cancel(self) -> bool:
        """Ask the running (or pending) inpaint job to stop; ``cancelled`` follows. False if none runs."""
        future = self._future
        if future is None or future.done():
            return False
        return self._worker.cancel(future)

    def shutdown(self, wait: bool = True) -> None:
        """Stop emitting and shut the worker down (the running job is asked to cancel)."""
        with self._lock:
            self._closed = True
        self._worker.shutdown(wait=wait)

    # ------------------------------------------------------------ worker-thread side

    def _emit(self, signal, *args) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                signal.emit(*args)
            except RuntimeError:  # the C++ object is gone (window closed while a job ran)
                self._closed = True

    def _on_done(self, request_id: int, future: Future) -> None:
        if future.cancelled():
            self._emit(self.cancelled, request_id)
            return
        exc = future.exception()
        if isinstance(exc, JobCancelled):
            self._emit(self.cancelled, request_id)
        elif isinstance(exc, FusionPaintError):
            self._emit(self.failed, request_id, str(exc))
        elif exc is not None:
            self._emit(self.failed, request_id, f"{type(exc).__name__}: {exc}")
        else:
            self._emit(self.finished, request_id, future.result())

    def _on_switch_done(self, future: Future) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if isinstance(exc, JobCancelled):
            return
        if exc is not None:
            message = str(exc) if isinstance(exc, FusionPaintError) else f"{type(exc).__name__}: {exc}"
            self._emit(self.model_failed, message)
        else:
            self._emit(self.model_loaded, future.result())
