"""Every hostile input of the corpus (tests/data/hostile.py) through ``fusionpaint remove``: success, or exactly one
``error:`` line; the inputs unchanged, nothing left beside them, no pickled code run. Every scenario of the corpus
(links, pipes, settings files, names, scan bombs, many holes) through its command: its expected outcome, in one line,
nothing the user had lost."""

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pytest

from main import main
from tests.data.hostile import (
    BIG_MANY_HOLES_SIZE,
    CLEAN,
    Case,
    Scenario,
    judge,
    many_holes_mask,
    prepare,
    random_cases,
    regression_cases,
    restore_permissions,
    scenario_cases,
    settings_command,
)

ROOT = Path(__file__).resolve().parents[2]

SEED = 20261122


def run_case(case: Case, folder, capsys) -> tuple[int, str]:
    """Write the case into ``folder``, run ``fusionpaint remove`` on it in this process; (exit code, stderr)."""
    folder.mkdir()
    files = [case.photo, case.mask] + ([case.weights] if case.weights else [])
    for name, data in files:
        (folder / name).write_bytes(data)
    args = ["remove", str(folder / case.photo[0]), "--mask", str(folder / case.mask[0]), "-o",
            str(folder / case.output), "--device", "cpu"]
    if case.weights:
        args += ["--model", str(folder / case.weights[0])]
    capsys.readouterr()
    code = main(args)
    return code, capsys.readouterr().err


def check_outcome(case: Case, folder, code: int, err: str) -> None:
    lines = err.splitlines()
    assert all(line.startswith(("warning: ", "error: ")) for line in lines), err
    if code == 0:
        assert not any(line.startswith("error: ") for line in lines), err
        expected = {case.photo[0], case.mask[0], case.output} | ({case.weights[0]} if case.weights else set())
    else:
        assert code in (1, 2) and len(lines) >= 1 and lines[-1].startswith("error: "), err
        assert sum(line.startswith("error: ") for line in lines) == 1, err
        expected = {case.photo[0], case.mask[0]} | ({case.weights[0]} if case.weights else set())
    assert {p.name for p in folder.iterdir()} == expected  # no partial output, no temporary file
    for name, data in [case.photo, case.mask] + ([case.weights] if case.weights else []):
        assert hashlib.sha256((folder / name).read_bytes()).digest() == hashlib.sha256(data).digest(), name


@pytest.mark.slow
def test_every_case_that_once_failed_now_ends_cleanly(tmp_path, capsys):
    marker = tmp_path / "pickle-ran"
    outcomes = {}
    for i, case in enumerate(regression_cases(str(marker))):
        folder = tmp_path / f"case{i}"
        code, err = run_case(case, folder, capsys)
        check_outcome(case, folder, code, err)
        outcomes[case.name] = (code, err)
    assert not marker.exists()
    # the outcomes that once were wrong, checked one by one
    assert outcomes["TIFF truncated to 8 bytes"][0] == 1
    assert outcomes["JPEG with camera sub-IFDs saved as TIFF"][0] == 0
    assert outcomes["TIFF with an Exif sub-IFD"][0] == 0
    assert "outside what FusionPaint handles" in outcomes["1 x 80,000,000 gray PNG"][1]
    assert outcomes["empty mask"][0] == 0 and "is empty" in outcomes["empty mask"][1]
    for name in ("header metadata is a list", "header metadata is a number", "pickle that runs code"):
        assert outcomes[name][0] == 1 and "weights_only" not in outcomes[name][1]


@pytest.mark.slow
def test_seeded_random_damage_ends_cleanly(tmp_path, capsys):
    for i, case in enumerate(random_cases(SEED, per_kind=3)):
        folder = tmp_path / f"case{i}"
        code, err = run_case(case, folder, capsys)
        check_outcome(case, folder, code, err)


def _run_scenario(scenario: Scenario, folder, capsys, monkeypatch) -> dict:
    """Build ``scenario`` in ``folder`` and run it: a command line in this process (with the user folders under
    ``folder / "home"``), settings in a child process (a hang there is a timeout, not a stuck test run)."""
    run, before, listed = prepare(scenario, folder)
    try:
        if run.entry == "settings":
            try:
                done = subprocess.run(settings_command(run.argv[0]), cwd=ROOT, capture_output=True, text=True,
                                      timeout=120)
                code, out, err = done.returncode, done.stdout, done.stderr
            except subprocess.TimeoutExpired:
                code, out, err = None, "", ""
        else:
            monkeypatch.setenv("FUSIONPAINT_HOME", str(folder / "home"))
            capsys.readouterr()
            code = main(list(run.argv))
            captured = capsys.readouterr()
            out, err = captured.out, captured.err
        return judge(run, folder, before, listed, code, out, err)
    finally:
        restore_permissions(folder)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("scenario", scenario_cases(), ids=lambda s: f"{s.category}: {s.name}")
def test_every_scenario_ends_cleanly_and_loses_nothing(scenario, tmp_path, capsys, monkeypatch):
    """Links, pipes, read-only and over-long outputs, hostile settings files and names, scan bombs and many holes:
    the expected outcome in one line (no traceback, no hang), what the user had kept, nothing left behind."""
    result = _run_scenario(scenario, tmp_path / "case", capsys, monkeypatch)
    assert result["outcome"] in CLEAN, result
    assert not result["wrong"] and not result["lost"] and not result["left"], result


def test_the_memory_estimate_counts_every_window_of_many_holes():
    """300 separate small holes keep windows of their own (not one window over the photo), and the estimate of a
    removal counts each window's maps, and a network's batch of them."""
    import engine.pipeline as pipeline
    from engine.model_spec import NetworkSpec
    from engine.regions import plan_windows
    from engine.registry import get_spec

    width, height = BIG_MANY_HOLES_SIZE
    hole = many_holes_mask(300, 3, BIG_MANY_HOLES_SIZE)
    for name in ("opencv-telea", "dfnet"):
        spec = get_spec(name)
        windows = plan_windows(hole, spec.native_size, pipeline.padding_rule(spec)[0])
        assert len(windows) > 100
        covered = np.zeros_like(hole)
        for y0, x0, y1, x1 in windows:
            covered[y0:y1, x0:x1] = True
        assert covered[hole].all()
        window_pixels = sum((y1 - y0) * (x1 - x0) for y0, x0, y1, x1 in windows)
        needed = pipeline.estimate_peak_bytes((height, width), windows, spec)
        assert needed >= 3 * width * height + pipeline.WINDOW_BYTES_PER_PIXEL * window_pixels
        one = pipeline.estimate_peak_bytes((height, width), windows[:1], spec)
        assert needed - one >= pipeline.WINDOW_BYTES_PER_PIXEL * (window_pixels - _pixels(windows[0]))
        if isinstance(spec, NetworkSpec):
            side = pipeline.round_up(max(spec.native_size, pipeline.MIN_NETWORK_SIDE), spec.size_multiple)
            batch = min(len(windows), spec.max_batch)
            assert needed - one >= spec.working_bytes_per_pixel * (batch - 1) * side * side


def _pixels(box) -> int:
    y0, x0, y1, x1 = box
    return (y1 - y0) * (x1 - x0)
