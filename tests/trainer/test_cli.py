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


@pytest.mark.parametrize("argv", [["--model", "unet"], ["--steps", "0"], ["--minutes", "-1"], ["--batch", "x"]])
def test_argparse_rejects(argv, capsys):
    with pytest.raises(SystemExit) as info:
        _run(["train", *argv])
    assert info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_evaluate_missing_folder(tmp_path, capsys):
    assert _run(["evaluate", "--model", "dmfn", "--images", str(tmp_path), "--masks", str(tmp_path / "x")]) == 2
    assert "--masks" in _one_error_line(capsys)
