"""EngineWorker with fake model loader and pipeline: ordering, supersede, cancel, errors, threads, snapshots."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError
from dataclasses import dataclass

import numpy as np
import pytest

from engine.errors import JobCancelled
from engine.worker import EngineWorker, InpaintJob, ModelLoaded, SwitchModelJob

pytestmark = pytest.mark.timeout(20)

WAIT = 5.0  # seconds; only an upper bound for events that normally fire in milliseconds
BLOCKER = -1  # request_id of a job whose fake run holds the worker until the test releases it


@dataclass(frozen=True)
class FakeSpec:
    name: str


@dataclass(frozen=True)
class FakeModel:
    spec: FakeSpec
    device: str


class Fakes:
    """Fake load_model/run that record what they saw and on which thread."""

    def __init__(self) -> None:
        self.loads: list[tuple[str, str]] = []
        self.runs: list[int] = []
        self.threads: set[int] = set()
        self.started = threading.Event()  # the blocker job is running
        self.release = threading.Event()  # let the blocker job finish
        self.seen_images: dict[int, np.ndarray] = {}
        self.fail_load: set[str] = set()

    def load_model(self, name: str, device: str) -> FakeModel:
        self.threads.add(threading.get_ident())
        self.loads.append((name, device))
        if name in self.fail_load:
            raise RuntimeError(f"cannot load {name}")
        return FakeModel(FakeSpec(name), "cpu" if device == "auto" else device)

    def run(self, image, hole, model, *, band_px, exclude, progress, cancel):
        self.threads.add(threading.get_ident())
        job_id = int(image[0, 0, 0])  # tests tag each job by its first pixel
        self.runs.append(job_id)
        self.seen_images[job_id] = image.copy()
        if progress is not None:
            progress(0.5, "half")
        if job_id == 255:
            raise ValueError("boom")
        if job_id == 254:  # cooperative cancel: loop checking the event like the real pipeline
            self.started.set()
            for _ in range(int(WAIT / 0.005)):
                if cancel.is_set():
                    raise JobCancelled("cancelled by the test")
                cancel.wait(0.005)
            return "not cancelled"
        if job_id == 252:  # ignores the cancel event and finishes normally once released
            self.started.set()
            assert self.release.wait(WAIT)
        if job_id == 253:  # blocker: hold the worker until released (or cancelled)
            self.started.set()
            while not self.release.is_set() and not cancel.is_set():
                self.release.wait(0.005)
            if cancel.is_set():
                raise JobCancelled("cancelled by the test")
        if progress is not None:
            progress(1.0, "done")
        return (job_id, model.spec.name, band_px, int(hole.sum()))


def make_job(tag: int, model: str = "a", **kwargs) -> InpaintJob:
    image = np.zeros((8, 8, 3), np.uint8)
    image[0, 0, 0] = tag
    hole = np.zeros((8, 8), bool)
    hole[2:5, 2:5] = True
    return InpaintJob.snapshot(image, hole, model, **kwargs)


def blocker(model: str = "a") -> InpaintJob:
    return make_job(253, model)


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.fixture
def worker(fakes: Fakes):
    w = EngineWorker(load_model=fakes.load_model, run=fakes.run)
    yield w
    fakes.release.set()
    w.shutdown(wait=True)


def start_blocker(worker: EngineWorker, fakes: Fakes):
    fut = worker.submit(blocker())
    assert fakes.started.wait(WAIT)
    return fut


def test_result_reaches_future(worker, fakes):
    fut = worker.submit(make_job(7, band_px=3))
    assert fut.result(timeout=WAIT) == (7, "a", 3, 9)
    assert fakes.loads == [("a", "auto")]


def test_jobs_run_in_order_on_one_worker_thread(worker, fakes):
    futures = [worker.submit(make_job(i), supersede=False) for i in range(1, 6)]
    assert [f.result(timeout=WAIT)[0] for f in futures] == [1, 2, 3, 4, 5]
    assert fakes.runs == [1, 2, 3, 4, 5]
    assert len(fakes.threads) == 1
    assert threading.get_ident() not in fakes.threads


def test_supersede_cancels_pending_inpaint_jobs_only(worker, fakes):
    running = start_blocker(worker, fakes)
    old = worker.submit(make_job(1))
    switch = worker.submit(SwitchModelJob("b"))
    also_pending = worker.submit(make_job(2), supersede=False)
    new = worker.submit(make_job(3))  # supersedes 1 and 2, not the switch nor the running job
    assert old.cancelled() and also_pending.cancelled()
    assert not running.done() and not switch.done() and not new.done()
    fakes.release.set()
    assert running.result(timeout=WAIT)[0] == 253
    assert switch.result(timeout=WAIT).spec.name == "b"
    assert new.result(timeout=WAIT) == (3, "a", None, 9)
    assert fakes.runs == [253, 3]
    with pytest.raises(CancelledError):
        old.result(timeout=0)


def test_supersede_false_keeps_pending(worker, fakes):
    start_blocker(worker, fakes)
    first = worker.submit(make_job(1))
    second = worker.submit(make_job(2), supersede=False)
    fakes.release.set()
    assert first.result(timeout=WAIT)[0] == 1
    assert second.result(timeout=WAIT)[0] == 2


def test_cancel_pending_job(worker, fakes):
    running = start_blocker(worker, fakes)
    pending = worker.submit(make_job(1))
    assert worker.cancel(pending) is True
    assert pending.cancelled()
    fakes.release.set()
    running.result(timeout=WAIT)
    after = worker.submit(make_job(2))
    assert after.result(timeout=WAIT)[0] == 2
    assert 1 not in fakes.runs


def test_cancelled_pending_futures_notify_wait_and_as_completed(worker, fakes):
    import concurrent.futures

    start_blocker(worker, fakes)
    cancelled = worker.submit(make_job(1))
    superseded = worker.submit(make_job(2), supersede=False)
    waiting = worker.submit(make_job(3), supersede=False)
    result: dict = {}
    waiter = threading.Thread(target=lambda: result.update(
        done=concurrent.futures.wait([cancelled, superseded], timeout=WAIT)[0]))
    waiter.start()  # already waiting when the futures are cancelled
    assert worker.cancel(cancelled) is True
    worker.submit(make_job(4))  # supersedes 2 and 3
    waiter.join(WAIT)
    assert result["done"] == {cancelled, superseded}
    assert list(concurrent.futures.as_completed([waiting], timeout=WAIT)) == [waiting]


def test_worker_survives_a_callback_raising_system_exit(worker, fakes):
    def progress(fraction: float, message: str) -> None:
        raise SystemExit("a callback gave up")

    failed = worker.submit(make_job(1), progress=progress)
    with pytest.raises(SystemExit):
        failed.result(timeout=WAIT)
    assert worker.submit(make_job(2)).result(timeout=WAIT)[0] == 2  # the next job still runs


def test_cancel_running_job_ends_with_job_cancelled(worker, fakes):
    fut = worker.submit(make_job(254))
    assert fakes.started.wait(WAIT)
    assert worker.cancel(fut) is True
    with pytest.raises(JobCancelled):
        fut.result(timeout=WAIT)
    assert not fut.cancelled()
    assert isinstance(fut.exception(timeout=0), JobCancelled)
    assert worker.submit(make_job(1)).result(timeout=WAIT)[0] == 1


def test_cancel_of_running_job_wins_even_if_run_finishes(worker, fakes):
    fut = worker.submit(make_job(252))
    assert fakes.started.wait(WAIT)
    assert worker.cancel(fut) is True
    fakes.release.set()
    with pytest.raises(JobCancelled):
        fut.result(timeout=WAIT)


def test_cancel_finished_or_unknown_future_returns_false(worker):
    fut = worker.submit(make_job(1))
    fut.result(timeout=WAIT)
    assert worker.cancel(fut) is False
    from concurrent.futures import Future

    assert worker.cancel(Future()) is False


def test_exception_reaches_future_and_worker_survives(worker, fakes):
    bad = worker.submit(make_job(255), supersede=False)
    good = worker.submit(make_job(1), supersede=False)
    with pytest.raises(ValueError, match="boom"):
        bad.result(timeout=WAIT)
    assert good.result(timeout=WAIT)[0] == 1


def test_load_failure_reaches_future_and_next_job_retries(worker, fakes):
    fakes.fail_load.add("broken")
    bad = worker.submit(SwitchModelJob("broken"))
    with pytest.raises(RuntimeError, match="cannot load broken"):
        bad.result(timeout=WAIT)
    assert worker.submit(make_job(1, "a")).result(timeout=WAIT)[1] == "a"
    assert fakes.loads == [("broken", "auto"), ("a", "auto")]


def test_switch_loads_once_and_later_jobs_reuse_it(worker, fakes):
    loaded = worker.submit(SwitchModelJob("b")).result(timeout=WAIT)
    assert loaded == ModelLoaded(spec=FakeSpec("b"), device="cpu")
    assert worker.submit(make_job(1, "b")).result(timeout=WAIT)[1] == "b"
    assert worker.submit(make_job(2, "b", device="cpu")).result(timeout=WAIT)[1] == "b"  # same device
    assert fakes.loads == [("b", "auto")]
    assert worker.submit(make_job(3, "c")).result(timeout=WAIT)[1] == "c"  # another model: reload
    assert worker.submit(make_job(4, "c", device="cuda")).result(timeout=WAIT)[1] == "c"  # another device
    assert fakes.loads == [("b", "auto"), ("c", "auto"), ("c", "cuda")]
    assert len(fakes.threads) == 1 and threading.get_ident() not in fakes.threads


def test_recently_used_models_stay_loaded_within_the_memory_bound(monkeypatch, fakes):
    """Switching back to a model used a moment ago does not load it again; the least recently used model goes once
    the weights would pass the bound."""
    import torch

    import engine.worker as worker_module

    sizes = {"a": 100, "b": 100, "c": 300}  # kB of float32 weights each

    @dataclass(frozen=True)
    class Network:
        spec: FakeSpec
        device: str
        network: torch.nn.Module

    def load(name, device):
        fakes.loads.append((name, device))
        return Network(FakeSpec(name), "cpu", torch.nn.Linear(sizes[name] * 256, 1, bias=False))

    monkeypatch.setattr(worker_module, "MODEL_CACHE_BYTES", 450 * 2**10)
    monkeypatch.setattr(worker_module, "LARGEST_MODEL_BYTES", 0)
    with EngineWorker(load_model=load, run=fakes.run) as w:
        for tag, name in enumerate("ababa"):
            assert w.submit(make_job(tag, name)).result(timeout=WAIT)[1] == name
        assert [n for n, _ in fakes.loads] == ["a", "b"]
        w.submit(make_job(5, "c")).result(timeout=WAIT)  # 500 kB with both: "b" (used before "a") goes
        w.submit(make_job(6, "a")).result(timeout=WAIT)
        w.submit(make_job(7, "b")).result(timeout=WAIT)
        assert [n for n, _ in fakes.loads] == ["a", "b", "c", "b"]
    assert worker_module.model_bytes(FakeModel(FakeSpec("telea"), "cpu")) == 0


def test_switch_job_is_never_superseded(worker, fakes):
    start_blocker(worker, fakes)
    switch = worker.submit(SwitchModelJob("b"))
    worker.submit(make_job(1, "b"))
    worker.submit(make_job(2, "b"))
    fakes.release.set()
    assert switch.result(timeout=WAIT).spec.name == "b"


def test_snapshot_copies_and_is_read_only(worker, fakes):
    image = np.full((8, 8, 3), 9, np.uint8)
    hole = np.zeros((8, 8), bool)
    hole[1, 1] = True
    job = InpaintJob.snapshot(image, hole, "a", request_id=42)
    assert job.request_id == 42
    assert not job.image.flags.writeable and not job.hole.flags.writeable
    assert not np.shares_memory(job.image, image) and not np.shares_memory(job.hole, hole)
    with pytest.raises(ValueError):
        job.image[0, 0, 0] = 1
    image[:] = 200  # the caller keeps editing the canvas after submitting
    hole[:] = True
    fut = worker.submit(job)
    assert fut.result(timeout=WAIT) == (9, "a", None, 1)  # None: the pipeline uses the model's own seam band
    assert (fakes.seen_images[9] == 9).all()


@pytest.mark.parametrize(
    ("image", "hole", "message"),
    [
        (np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), bool), "image must be uint8"),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), bool), "image must be uint8"),
        (np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8), bool), "image must be uint8"),
        (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8), "hole must be bool"),
        (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 7), bool), "differs from image size"),
        (np.zeros((0, 8, 3), np.uint8), np.zeros((0, 8), bool), "empty"),
    ],
)
def test_snapshot_validates(image, hole, message):
    with pytest.raises(ValueError, match=message):
        InpaintJob.snapshot(image, hole, "a")


@pytest.mark.parametrize("band", [-1, True, 2.5, "8"])
def test_snapshot_refuses_a_bad_seam_band(band):
    with pytest.raises(ValueError, match="band_px must be None or an integer >= 0"):
        make_job(1, band_px=band)


def test_submit_rejects_unknown_job(worker):
    with pytest.raises(TypeError):
        worker.submit("not a job")


def test_progress_called_on_worker_thread(worker, fakes):
    calls: list[tuple[float, str, int]] = []

    def progress(fraction: float, message: str) -> None:
        calls.append((fraction, message, threading.get_ident()))

    worker.submit(make_job(1), progress=progress).result(timeout=WAIT)
    assert [c[:2] for c in calls] == [(0.0, "Loading model a"), (0.5, "half"), (1.0, "done")]
    assert {c[2] for c in calls} == fakes.threads
    calls.clear()
    worker.submit(make_job(2), progress=progress).result(timeout=WAIT)  # model already loaded
    assert [c[:2] for c in calls] == [(0.5, "half"), (1.0, "done")]


def test_shutdown_cancels_pending_and_running(fakes):
    worker = EngineWorker(load_model=fakes.load_model, run=fakes.run)
    running = start_blocker(worker, fakes)
    pending = [worker.submit(make_job(1)), worker.submit(SwitchModelJob("b"))]
    worker.shutdown(wait=True)
    assert all(f.cancelled() for f in pending)
    with pytest.raises(JobCancelled):
        running.result(timeout=0)
    with pytest.raises(RuntimeError):
        worker.submit(make_job(2))
    worker.shutdown()  # a second call is harmless


def test_context_manager_shuts_down(fakes):
    with EngineWorker(load_model=fakes.load_model, run=fakes.run) as worker:
        assert worker.submit(make_job(1)).result(timeout=WAIT)[0] == 1
    with pytest.raises(RuntimeError):
        worker.submit(make_job(2))


def test_default_dependencies_are_imported_lazily():
    worker = EngineWorker()  # must not need engine.registry / engine.pipeline until a job runs
    worker.shutdown()


def test_a_shared_image_is_not_copied_and_must_be_read_only():
    image = np.zeros((8, 8, 3), np.uint8)
    hole = np.zeros((8, 8), bool)
    with pytest.raises(ValueError, match="read-only"):
        InpaintJob.snapshot(image, hole, "opencv-telea", share_image=True)
    image.flags.writeable = False
    job = InpaintJob.snapshot(image, hole, "opencv-telea", share_image=True)
    assert job.image is image and not np.shares_memory(job.hole, hole)  # the mask is still copied
    assert not np.shares_memory(InpaintJob.snapshot(image, hole, "opencv-telea").image, image)
