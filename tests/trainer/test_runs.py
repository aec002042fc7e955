"""The user's training runs: listed with their disk use, renamed, deleted, resumed under the new name."""

import os

import pytest

from trainer.config import TrainConfig
from trainer.errors import ConfigError
from trainer.runs import delete_run, list_runs, rename_run, write_summary


def _run(root, name, size, step=None, saved=0.0):
    folder = root / name
    (folder / "previews").mkdir(parents=True)
    (folder / "checkpoint.pt").write_bytes(b"c" * size)
    (folder / "previews" / "step_1.png").write_bytes(b"p" * 100)
    if step is not None:
        write_summary(folder, arch="dmfn", step=step, data="/photos", saved=saved)
    return folder


def test_runs_are_listed_newest_first_with_their_disk_use(tmp_path):
    _run(tmp_path, "old", 1000, step=5, saved=100.0)
    _run(tmp_path, "new", 2000, step=9, saved=200.0)
    legacy = _run(tmp_path, "legacy", 10)  # written before summaries existed
    os.utime(legacy / "checkpoint.pt", (50.0, 50.0))
    (tmp_path / "stray.txt").write_text("not a run")
    os.symlink(tmp_path / "new", tmp_path / "link")
    runs = list_runs(tmp_path)
    assert [r.name for r in runs] == ["new", "old", "legacy"]
    new = runs[0]
    assert new.bytes == 2000 + 100 + len((tmp_path / "new" / "run.json").read_bytes())
    assert (new.arch, new.step, new.data, new.resumable) == ("dmfn", 9, "/photos", True)
    assert runs[2].step is None and runs[2].arch is None and runs[2].saved == 50.0
    assert list_runs(tmp_path / "missing") == []


def test_rename_and_delete(tmp_path):
    _run(tmp_path, "first", 1000, step=1)
    _run(tmp_path, "second", 10, step=1)
    assert rename_run(tmp_path, "first", "holiday-2026") == tmp_path / "holiday-2026"
    assert sorted(r.name for r in list_runs(tmp_path)) == ["holiday-2026", "second"]
    for bad in ("second", "../escape", "with space", ""):
        with pytest.raises(ConfigError):
            rename_run(tmp_path, "holiday-2026", bad)
    with pytest.raises(ConfigError, match="no run named"):
        rename_run(tmp_path, "..", "x")
    freed = delete_run(tmp_path, "holiday-2026")
    assert freed >= 1100 and [r.name for r in list_runs(tmp_path)] == ["second"]
    with pytest.raises(ConfigError, match="no run named"):
        delete_run(tmp_path, "holiday-2026")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("summary", ['{"saved": "yesterday", "step": 3}', "[" * 100_000 + "]" * 100_000, None])
def test_a_summary_that_is_wrong_nested_too_deeply_or_a_pipe_is_ignored(tmp_path, summary):
    folder = _run(tmp_path, "run", 10)
    os.utime(folder / "checkpoint.pt", (70.0, 70.0))
    if summary is None:
        os.mkfifo(folder / "run.json")
    else:
        (folder / "run.json").write_text(summary, encoding="utf-8")
    [run] = list_runs(tmp_path)
    assert run.saved == 70.0 and run.step == (3 if summary and "yesterday" in summary else None)


def test_a_name_with_a_trailing_newline_is_refused(tmp_path):
    _run(tmp_path, "first", 10)
    with pytest.raises(ConfigError, match="not a valid name"):
        rename_run(tmp_path, "first", "abc\n")
    with pytest.raises(ConfigError, match="no run named"):
        rename_run(tmp_path, "first\n", "second")
    with pytest.raises(ConfigError):
        TrainConfig(arch="dfnet", data=str(tmp_path), name="abc\n").validate()
    assert [r.name for r in list_runs(tmp_path)] == ["first"]
