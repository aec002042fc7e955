"""Command line: clear one-line errors with exit code 2; evaluate prints a table."""

import argparse
import json

import numpy as np
import pytest
import torch
from PIL import Image

from trainer.cli import add_subcommands


def _run(argv):
    parser = argparse.ArgumentParser(prog="fusionpaint")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_empty_folder(tmp_path, capsys):
    assert _run(["train", "--model", "dmfn", "--data", str(tmp_path), "--device", "cpu"]) == 2
    assert "no photos" in _one_error_line(capsys)


def test_folder_without_usable_photos(tmp_path, capsys):
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "tiny.png")
    code = _run(["train", "--model", "dmfn", "--data", str(tmp_path), "--device", "cpu", "--json-progress"])
    assert code == 2
    out = capsys.readouterr()
    assert "usable" in out.err
    assert json.loads(out.out.strip().splitlines()[-1])["event"] == "error"


@pytest.mark.parametrize(("argv", "message"), [
    (["--model", "dfnet", "--size", "300"], "multiple of 256"),
    (["--model", "dmfn", "--data", "/no/such/folder"], "not found"),
    (["--data", "."], "--model is required"),
    (["--model", "dmfn", "--init", "/no/weights.safetensors"], "--init"),
    (["--resume", "/no/run"], "checkpoint not found"),
    (["--model", "dmfn", "--device", "tpu"], "unknown device"),
])
def test_bad_arguments(tmp_path, capsys, argv, message):
    if "--data" not in argv and "--resume" not in argv:
        argv = [*argv, "--data", str(tmp_path)]
    if "--device" not in argv:
        argv = [*argv, "--device", "cpu"]
    if message == "unknown device":
        Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "a.png")
    assert _run(["train", *argv]) == 2
    assert message in _one_error_line(capsys)


@pytest.mark.parametrize("argv", [["--model", "unet"], ["--steps", "0"], ["--minutes", "-1"], ["--batch", "x"],
                                  ["--texture-weight", "-1"]])
def test_argparse_rejects(argv, capsys):
    with pytest.raises(SystemExit) as info:
        _run(["train", *argv])
    assert info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_evaluate_missing_folder(tmp_path, capsys):
    assert _run(["evaluate", "--model", "dmfn", "--images", str(tmp_path), "--masks", str(tmp_path / "x")]) == 2
    assert "--masks" in _one_error_line(capsys)


def test_runs_subcommand_lists_renames_and_deletes(capsys):
    import json as json_module

    from engine.paths import user_runs_dir
    from main import main

    folder = user_runs_dir() / "first"
    folder.mkdir(parents=True)
    (folder / "checkpoint.pt").write_bytes(b"x" * 2048)
    assert main(["runs", "--json"]) == 0
    listed = json_module.loads(capsys.readouterr().out)
    assert [(r["name"], r["bytes"], r["resumable"]) for r in listed] == [("first", 2048, True)]
    assert main(["runs", "rename", "first", "second"]) == 0
    assert main(["runs", "rename", "second", "../out"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["runs"]) == 0 and "second" in capsys.readouterr().out
    assert main(["runs", "delete", "second"]) == 0 and not (user_runs_dir() / "second").exists()
    assert main(["runs", "delete"]) == 2


def test_evaluate_on_the_lasso_set_writes_the_texture_columns(tmp_path, capsys):
    from tests.helpers import write_photo_folder

    write_photo_folder(tmp_path / "photos", n=2)
    report_path = tmp_path / "report.json"
    assert _run(["evaluate", "--model", "opencv-ns", "--images", str(tmp_path / "photos"), "--lasso", "--size", "32",
                 "--limit", "1", "--device", "cpu", "--json", str(report_path)]) == 0
    table = capsys.readouterr().out
    assert "Gram-d" in table and "Sharp" in table and "08-15" in table
    report = json.loads(report_path.read_text())
    assert report["bins"] == {"03-08": 1, "08-15": 1, "15-25": 1}
    assert report["models"]["opencv-ns"]["all"]["gram_dist"] > 0


@pytest.mark.parametrize(("argv", "message"), [
    (["--masks", "MASKS", "--masks-per-photo", "2"], "--lasso only"),
    (["--masks", "/no/such/masks"], "--masks folder not found"),
])
def test_evaluate_and_gallery_refuse_bad_hole_options(tmp_path, capsys, argv, message):
    argv = [a.replace("MASKS", str(tmp_path)) for a in argv]
    assert _run(["evaluate", "--model", "opencv-ns", "--images", str(tmp_path), *argv]) == 2
    assert message in _one_error_line(capsys)
    assert _run(["gallery", "--images", str(tmp_path), *argv, "-o", str(tmp_path / "g")]) == 2
    assert message in _one_error_line(capsys)
    assert not (tmp_path / "g").exists()


def test_gallery_writes_one_labelled_row_per_pair_and_an_index(tmp_path, capsys):
    from main import main
    from tests.helpers import write_photo_folder

    write_photo_folder(tmp_path / "photos", n=2)
    out = tmp_path / "gallery"
    assert main(["gallery", "--models", "opencv-telea,opencv-ns", "--images", str(tmp_path / "photos"), "--lasso",
                 "--size", "48", "--pairs", "4", "--device", "cpu", "-o", str(out)]) == 0
    rows = sorted(out.glob("pair_*.png"))
    assert [p.name for p in rows] == ["pair_01.png", "pair_02.png", "pair_03.png", "pair_04.png"]
    row = np.asarray(Image.open(rows[0]).convert("RGB"))
    assert row.shape[1] == 4 * 48 + 3 * 4 and row.shape[0] > 48  # input, two results, original; captions above
    from trainer.evaluate import prepare_photo

    original = prepare_photo(np.asarray(Image.open(tmp_path / "photos" / "photo0.png").convert("RGB")), 48)
    np.testing.assert_array_equal(row[-48:, -48:], original)  # the last tile: the photo as evaluated
    assert not np.array_equal(row[-48:, :48], row[-48:, -48:])  # the hole is tinted on the first tile
    index = (out / "index.md").read_text()
    bins = [line.split(" | ")[1] for line in index.splitlines() if line.startswith("| [pair_")]
    assert bins == ["03-08", "08-15", "15-25", "03-08"]  # round-robin over the bins
    assert "opencv-telea G / S" in index and "lasso " in index
    assert not list(out.glob(".*.tmp"))


@pytest.mark.parametrize(("argv", "message"), [
    (["--models", "no-such-model"], "unknown model"),
    (["-o", "PHOTOS/inside"], "inside the --images folder"),
])
def test_gallery_bad_input_is_one_line(tmp_path, capsys, argv, message):
    from tests.helpers import write_photo_folder

    photos = write_photo_folder(tmp_path / "photos", n=1)
    argv = [a.replace("PHOTOS", str(photos)) for a in argv]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "g")]
    assert _run(["gallery", "--images", str(photos), "--lasso", "--size", "32", "--device", "cpu", *argv]) == 2
    assert message in _one_error_line(capsys)
    assert not (tmp_path / "g").exists() and not (photos / "inside").exists()


def test_runs_list_escapes_a_folder_name_holding_terminal_codes(capsys):
    from engine.paths import user_runs_dir
    from main import main

    (user_runs_dir() / "\x1b[2Jred").mkdir(parents=True)
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2Jred" in out


def _evaluate_argv(tmp_path, *extra):
    from tests.helpers import write_photo_folder

    photos = write_photo_folder(tmp_path / "photos", n=1)
    return ["evaluate", "--model", "opencv-ns", "--images", str(photos), "--lasso", "--size", "32", "--limit", "1",
            "--device", "cpu", *extra]


def _no_evaluation(monkeypatch):
    import trainer.evaluate

    def refuse(*args, **kwargs):
        raise AssertionError("the evaluation ran before its output was checked")

    monkeypatch.setattr(trainer.evaluate, "evaluate", refuse)


@pytest.mark.parametrize("folder", ["missing", "read-only"])
def test_evaluate_checks_its_json_report_can_be_written_before_any_work(tmp_path, capsys, monkeypatch, folder):
    from tests.engine.test_special_files import read_only_folder

    target = tmp_path / "missing" / "report.json"
    if folder == "read-only":
        target = read_only_folder(tmp_path / "locked", monkeypatch) / "report.json"
    argv = _evaluate_argv(tmp_path, "--json", str(target))
    _no_evaluation(monkeypatch)
    assert _run(argv) == 2
    line = _one_error_line(capsys)
    assert "report.json" in line and ("does not exist" if folder == "missing" else "read-only") in line
    assert not target.exists()


@pytest.mark.parametrize(("device", "message"), [("cuda", "no CUDA GPU"), ("tpu", "unknown device 'tpu'")])
def test_evaluate_on_a_device_that_is_absent_or_unknown_is_one_line(tmp_path, capsys, monkeypatch, device, message):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = _evaluate_argv(tmp_path)
    argv[argv.index("--device") + 1] = device
    assert _run(argv) == 2
    assert message in _one_error_line(capsys)


def test_evaluate_refuses_a_size_too_large_in_one_line(tmp_path, capsys):
    argv = _evaluate_argv(tmp_path)
    argv[argv.index("--size") + 1] = "30000"
    assert _run(argv) == 2
    assert "30000" in _one_error_line(capsys)


def test_evaluate_fails_in_one_line_when_its_only_model_cannot_be_loaded(tmp_path, capsys):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a weights file")
    argv = _evaluate_argv(tmp_path, "--json", str(tmp_path / "report.json"))
    argv[argv.index("--model") + 1] = str(broken)
    assert _run(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "broken.safetensors" in err[0], err
    assert not (tmp_path / "report.json").exists()


class _RecordingTrainer:
    """Stands in for trainer.loop.Trainer: records what the command line asked for and trains nothing."""

    seen: dict = {}

    def __init__(self, config, progress=None, *, resume=None, overrides=None, started=None):
        _RecordingTrainer.seen = {"config": config, "resume": resume, "overrides": overrides}
        self.config = config
        self.dist = argparse.Namespace(enabled=False)

    def run(self):
        return argparse.Namespace(exit_code=0)


def test_options_left_out_take_the_train_configs_defaults(tmp_path, monkeypatch):
    from trainer import loop
    from trainer.config import TrainConfig

    monkeypatch.setattr(loop, "Trainer", _RecordingTrainer)
    (tmp_path / "photos").mkdir()
    data = str(tmp_path / "photos")
    assert _run(["train", "--model", "dfnet", "--data", data, "--name", "cli-defaults"]) == 0
    assert _RecordingTrainer.seen["config"] == TrainConfig(arch="dfnet", data=data, name="cli-defaults")
    assert _run(["train", "--model", "dfnet", "--data", data, "--name", "cli-given", "--seed", "3",
                 "--checkpoint-every", "7", "--no-evaluate"]) == 0
    given = _RecordingTrainer.seen["config"]
    assert (given.seed, given.checkpoint_every, given.evaluate) == (3, 7, False)


def test_a_resume_overrides_only_what_is_given(tmp_path, monkeypatch):
    from trainer import loop

    monkeypatch.setattr(loop, "Trainer", _RecordingTrainer)
    assert _run(["train", "--resume", str(tmp_path), "--minutes", "5", "--checkpoint-every", "9"]) == 0
    assert _RecordingTrainer.seen["overrides"] == {"minutes": 5.0, "checkpoint_every": 9, "device": "auto"}
