"""Command line: clear one-line errors with exit code 2; evaluate prints a table."""

import argparse
import json

import numpy as np
import pytest
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
