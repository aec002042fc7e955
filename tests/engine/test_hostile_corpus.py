"""Every hostile input of the corpus (tests/data/hostile.py) through ``fusionpaint remove``: success, or exactly one
``error:`` line; the inputs unchanged, nothing left beside them, no pickled code run."""

import hashlib

import pytest

from main import main
from tests.data.hostile import Case, random_cases, regression_cases

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
