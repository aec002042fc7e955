"""The editor's removal bookkeeping, tested without Qt."""

import numpy as np

from app.document import Document
from app.removal_session import RemovalSession
from engine.imageio import Photo
from tests.helpers import synthetic_rgb


def _document():
    document = Document(Photo(rgb=synthetic_rgb(40, 60), alpha=None, source_mode="RGB", format="PNG", exif=None,
                              icc_profile=None, dpi=None, path=None, notes=()))
    document.fill_rect(5, 5, 20, 15)
    return document


def test_only_the_running_request_is_current_and_its_mask_becomes_the_last_hole():
    session, document = RemovalSession(), _document()
    first = session.start(document, "opencv-telea", "cpu")
    assert session.busy and session.is_current(first.request_id)
    session.end()  # cancelled
    assert not session.busy and not session.is_current(first.request_id) and session.last_hole is None
    second = session.start(document, "opencv-telea", "cpu")
    assert second.request_id != first.request_id and not session.is_current(first.request_id)
    document.clear_mask()  # painting goes on while the removal runs: the job keeps the mask it was started with
    finished = session.finish("result", "patch")
    assert (finished.result, finished.patch) == ("result", "patch") and finished.hole[10, 10]
    assert not session.busy and not session.is_current(second.request_id)
    np.testing.assert_array_equal(session.last_hole, finished.hole)
    session.forget_last_hole()
    assert session.last_hole is None


def test_a_result_waits_for_the_gesture_and_a_cancel_drops_it():
    session, document = RemovalSession(), _document()
    assert session.finish_deferred() is None
    session.start(document, "opencv-telea", "cpu")
    session.defer("result", None)
    assert session.busy  # still running until applied
    finished = session.finish_deferred()
    assert finished.result == "result" and not session.busy and session.finish_deferred() is None
    session.start(document, "opencv-telea", "cpu")
    session.defer("late", None)
    session.end()
    assert session.finish_deferred() is None


def test_time_left_follows_the_progress_once_there_is_enough_to_go_on():
    session, document = RemovalSession(), _document()
    assert session.time_left_s(0.5) is None  # nothing runs
    session.start(document, "patchmatch", "cpu")
    started = session._started
    assert session.time_left_s(0.5, now=started + 0.5) is None  # too early to say
    assert session.time_left_s(0.01, now=started + 3.0) is None  # too little progress to say
    assert session.time_left_s(0.25, now=started + 4.0) == 12.0
    assert session.time_left_s(1.0, now=started + 9.0) == 0.0


def test_a_run_begun_before_its_job_is_made_is_current_and_takes_the_attached_jobs_hole():
    session, document = RemovalSession(), _document()
    request_id = session.begin()
    assert session.busy and session.is_current(request_id) and session.running_hole is None
    job = session.start(document, "opencv-telea", "cpu")  # a job made elsewhere, attached to the begun run
    session.begin()
    session.attach(job)
    session.defer("result", "patch")
    assert session.take_deferred() == ("result", "patch") and session.busy  # still running until finished
    assert session.take_deferred() is None
    finished = session.finish("result", "patch")
    assert finished.hole is job.hole and session.last_hole is job.hole and not session.busy
