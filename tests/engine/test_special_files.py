"""Special files on the command line: pipes, device nodes, loops of links, read-only files, folders that may not be
searched, names holding terminal escapes. Each ends in a result or one line, never a hang or a traceback."""

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.errors import WriteError
from engine.files import atomic_write
from engine.paths import user_models_dir
from main import main

ROOT = Path(__file__).resolve().parents[2]
ESC = "\x1b[2J\x1b[31m"
"""Clear the screen and turn the text red: what a hostile name would do to a terminal."""


def _photo_and_mask(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(exist_ok=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 32, 3), np.uint8)).save(folder / "in.png")
    mask = np.zeros((24, 32), np.uint8)
    mask[8:16, 8:24] = 255
    Image.fromarray(mask).save(folder / "mask.png")
    return folder / "in.png", folder / "mask.png"


def _remove(photo, mask, out, capsys) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["remove", str(photo), "--mask", str(mask), "-o", str(out), "--model", "opencv-telea"])
    return code, capsys.readouterr().err.splitlines()


def _one_error(code: int, err: list[str], *words: str) -> None:
    assert code in (1, 2) and len(err) == 1 and err[0].startswith("error: "), err
    assert all(word in err[0] for word in words), err


def _device_node(path: Path) -> Path:
    """A character device node (the null device's numbers) at ``path``; skips where nodes cannot be made."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (OSError, AttributeError) as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    return path


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["link to a device", "link to a pipe", "pipe", "read-only file"])
def test_an_output_that_is_not_a_writable_regular_file_is_refused_and_kept(tmp_path, capsys, kind):
    photo, mask = _photo_and_mask(tmp_path)
    out = tmp_path / "out.png"
    if kind == "link to a device":
        kept = _device_node(tmp_path / "node")
        out.symlink_to(kept)
    elif kind == "link to a pipe":
        kept = tmp_path / "pipe"
        os.mkfifo(kept)
        out.symlink_to(kept)
    elif kind == "pipe":
        kept = out
        os.mkfifo(out)
    else:
        kept = out
        out.write_bytes(b"an older result")
        out.chmod(0o444)
    before = os.stat(kept)
    code, err = _remove(photo, mask, out, capsys)
    _one_error(code, err, "out.png", "read-only" if kind == "read-only file" else "not a regular file")
    after = os.stat(kept)
    assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode) and after.st_ino == before.st_ino
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.timeout(60)
def test_the_atomic_writer_replaces_only_regular_files(tmp_path):
    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    read_only = tmp_path / "kept.png"
    read_only.write_bytes(b"old")
    read_only.chmod(0o444)
    for path, reason in ((pipe, "not a regular file"), (read_only, "read-only")):
        with pytest.raises(WriteError, match=reason):
            atomic_write(path, lambda temp: temp.write_bytes(b"new"))
    assert stat.S_ISFIFO(os.stat(pipe).st_mode) and read_only.read_bytes() == b"old"


def read_only_folder(folder: Path, monkeypatch) -> Path:
    """``folder``, created with mode 0o555; for root, whom modes do not stop, os.access answers for it as for
    anyone else (as a read-only file system would)."""
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:
        real_access = os.access

        def access(path, mode, *args, **kwargs):
            if mode & os.W_OK and os.path.realpath(path) == os.path.realpath(folder):
                return False
            return real_access(path, mode, *args, **kwargs)

        monkeypatch.setattr(os, "access", access)
    return folder


def _no_work(monkeypatch) -> None:
    """Fail the test if the photo is read: a refusal must come before any work."""
    import engine.cli

    def refuse(path):
        raise AssertionError(f"{path} was read before the outputs were checked")

    monkeypatch.setattr(engine.cli, "load_image", refuse)


@pytest.mark.parametrize("which", ["output", "alpha"])
def test_an_output_in_a_read_only_folder_is_refused_before_any_work(tmp_path, capsys, monkeypatch, which):
    photo, mask = _photo_and_mask(tmp_path)
    locked = read_only_folder(tmp_path / "locked", monkeypatch)
    out, alpha = tmp_path / "out.png", tmp_path / "alpha.png"
    if which == "output":
        out = locked / "out.png"
    else:
        alpha = locked / "alpha.png"
    _no_work(monkeypatch)
    capsys.readouterr()
    code = main(["remove", str(photo), "--mask", str(mask), "-o", str(out), "--alpha-out", str(alpha),
                 "--model", "opencv-telea"])
    _one_error(code, capsys.readouterr().err.splitlines(), f"{which}.png" if which == "alpha" else "out.png",
               "read-only")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "locked", "mask.png"]
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize("which", ["-o", "--alpha-out"])
def test_an_output_in_a_missing_folder_is_refused_before_any_work(tmp_path, capsys, monkeypatch, which):
    photo, mask = _photo_and_mask(tmp_path)
    names = {"-o": tmp_path / "out.png", "--alpha-out": tmp_path / "alpha.png", which: tmp_path / "no" / "x.png"}
    _no_work(monkeypatch)
    capsys.readouterr()
    code = main(["remove", str(photo), "--mask", str(mask), "-o", str(names["-o"]), "--alpha-out",
                 str(names["--alpha-out"]), "--model", "opencv-telea"])
    _one_error(code, capsys.readouterr().err.splitlines(), "x.png", "the folder does not exist")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "mask.png"]


@pytest.mark.parametrize("which", ["-o", "--alpha-out"])
def test_an_output_name_ending_in_a_separator_is_refused(tmp_path, capsys, which):
    photo, mask = _photo_and_mask(tmp_path)
    names = {"-o": str(tmp_path / "out.png"), "--alpha-out": str(tmp_path / "alpha.png")}
    names[which] += os.sep
    capsys.readouterr()
    code = main(["remove", str(photo), "--mask", str(mask), "-o", names["-o"], "--alpha-out", names["--alpha-out"],
                 "--model", "opencv-telea"])
    _one_error(code, capsys.readouterr().err.splitlines(), "png" + os.sep, "names a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "mask.png"]


def test_an_alpha_map_that_fails_after_the_result_says_the_result_is_kept(tmp_path, capsys, monkeypatch):
    import engine.cli

    photo, mask = _photo_and_mask(tmp_path)
    real_save = engine.cli.save_image

    def save_on_a_disk_that_fills_up(path, *args, **kwargs):
        if Path(path).name == "alpha.png":
            raise WriteError(f"could not save {path}: disk full")
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(engine.cli, "save_image", save_on_a_disk_that_fills_up)
    capsys.readouterr()
    code = main(["remove", str(photo), "--mask", str(mask), "-o", str(tmp_path / "out.png"), "--alpha-out",
                 str(tmp_path / "alpha.png"), "--model", "opencv-telea"])
    _one_error(code, capsys.readouterr().err.splitlines(), "alpha.png: disk full", "out.png", "kept")
    assert Image.open(tmp_path / "out.png").size == (32, 24)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "mask.png", "out.png"]


@pytest.mark.parametrize("which", ["photo", "mask", "output"])
def test_a_loop_of_links_is_one_line(tmp_path, capsys, which):
    photo, mask = _photo_and_mask(tmp_path)
    loop = tmp_path / f"loop-{which}.png"
    loop.symlink_to(tmp_path / "other.png")
    (tmp_path / "other.png").symlink_to(loop)
    paths = {"photo": photo, "mask": mask, "output": tmp_path / "out.png", which: loop}
    code, err = _remove(paths["photo"], paths["mask"], paths["output"], capsys)
    _one_error(code, err, loop.name, "loop of symbolic links")


def test_a_photo_in_a_folder_that_may_not_be_searched_is_one_line(tmp_path, capsys, monkeypatch):
    photo, mask = _photo_and_mask(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    real_stat = os.stat

    def stat_refusing(path, *args, **kwargs):  # as a folder without search (x) permission answers, even for root
        if str(os.fspath(path)).startswith(str(locked) + os.sep):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat_refusing)
    code, err = _remove(locked / "in.png", mask, tmp_path / "out.png", capsys)
    _one_error(code, err, "in.png", "permission denied")


@pytest.mark.timeout(60)
def test_special_entries_of_a_photo_folder_are_named_and_counted_as_skipped(tmp_path, capsys):
    photos = tmp_path / "photos"
    _photo_and_mask(photos)
    (photos / "mask.png").rename(tmp_path / "mask.png")
    os.mkfifo(photos / "pipe.png")
    (photos / "folder.png").mkdir()
    (photos / "loop.png").symlink_to(photos / "loop.png")
    capsys.readouterr()
    code = main(["remove", "--images", str(photos), "--masks", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out"), "--model", "opencv-telea"])
    captured = capsys.readouterr()
    assert code == 1 and "1 photo(s) written" in captured.out and "3 skipped" in captured.out
    for name in ("pipe.png", "folder.png", "loop.png"):
        assert name in captured.err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["in.png"]


@pytest.mark.timeout(60)
def test_a_pipe_in_the_models_folder_neither_blocks_the_list_nor_a_removal(tmp_path, capsys):
    user_models_dir().mkdir(parents=True)
    os.mkfifo(user_models_dir() / "x.safetensors")
    assert main(["models"]) == 0
    captured = capsys.readouterr()
    assert "skipped x.safetensors" in captured.err and "not a regular file" in captured.err
    photo, mask = _photo_and_mask(tmp_path)
    assert main(["remove", str(photo), "--mask", str(mask), "-o", str(tmp_path / "out.png"), "--model", "x"]) == 1
    assert "unknown model 'x'" in capsys.readouterr().err


def _user_model(name: str) -> None:
    """A fine-tuned model in the user's folder whose card gives it ``name`` (listed; its weights are a stub)."""
    import json

    import torch

    from engine.weights import save_weights

    user_models_dir().mkdir(parents=True, exist_ok=True)
    save_weights(user_models_dir() / "mine.safetensors", {"w": torch.zeros(1)}, arch="dfnet")
    (user_models_dir() / "mine.json").write_text(json.dumps({"name": name}), encoding="utf-8")


def test_escapes_in_a_model_card_s_name_never_reach_the_terminal(tmp_path, capsys):
    _user_model(f"{ESC}evil")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2J\\x1b[31mevil" in out
    photo, mask = _photo_and_mask(tmp_path)
    assert main(["remove", str(photo), "--mask", str(mask), "-o", str(tmp_path / "out.png"), "--model", "no"]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[2J" in err and len(err.splitlines()) == 1


def test_a_reader_that_goes_away_ends_the_output_quietly():
    read_end, write_end = os.pipe()
    process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "models", "--json"], cwd=ROOT,
                               stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    os.close(read_end)  # as `| head -c 100` does once it has read enough
    err = process.communicate(timeout=120)[1].decode()
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err
    assert process.returncode == 1
