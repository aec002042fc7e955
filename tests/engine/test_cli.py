"""The command line end to end on small synthetic photos."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from engine.registry import build_network
from engine.weights import save_weights
from main import main


def _write_photo(path, size=(120, 90), exif_orientation=None):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    kwargs = {}
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        exif[0x010F] = "FusionPaint test camera"
        kwargs["exif"] = exif.tobytes()
    image.save(path, **kwargs)
    return pixels


def _write_mask(path, size=(120, 90), box=(30, 20, 60, 50)):
    mask = np.zeros((size[1], size[0]), np.uint8)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = 255
    Image.fromarray(mask).save(path)
    return mask > 127


def test_remove_with_a_classical_model(tmp_path, capsys):
    pixels = _write_photo(tmp_path / "in.png")
    hole = _write_mask(tmp_path / "mask.png")
    code = main(["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.png"), "--model", "opencv-ns", "--alpha-out", str(tmp_path / "alpha.png")])
    assert code == 0
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert (out[hole] != pixels[hole]).any()
    assert (out[:5, :5] == pixels[:5, :5]).all()
    alpha = np.asarray(Image.open(tmp_path / "alpha.png"))
    assert alpha.shape == (90, 120, 3) and alpha[hole].min() == 255 and alpha[0, 0].max() == 0
    assert "opencv-ns" in capsys.readouterr().out


def test_remove_with_dfnet_weights_written_by_the_test(tmp_path):
    torch.manual_seed(0)
    weights = save_weights(tmp_path / "tiny-dfnet.safetensors", build_network("dfnet").state_dict(), arch="dfnet",
                           dtype=torch.float16)
    _write_photo(tmp_path / "in.jpg", size=(300, 200))
    hole = _write_mask(tmp_path / "mask.png", size=(300, 200), box=(100, 50, 180, 120))
    code = main(["remove", str(tmp_path / "in.jpg"), "--mask", str(tmp_path / "mask.png"),
                 "-o", str(tmp_path / "o.jpg"), "--model", str(weights), "--device", "cpu"])
    assert code == 0
    out = Image.open(tmp_path / "o.jpg")
    assert out.format == "JPEG" and out.size == (300, 200)
    assert hole.any()


def test_jpeg_output_keeps_exif_with_orientation_reset(tmp_path):
    _write_photo(tmp_path / "in.jpg", exif_orientation=6)
    _write_mask(tmp_path / "mask.png", size=(90, 120), box=(10, 10, 40, 40))  # the upright photo is 90 x 120
    assert main(["remove", str(tmp_path / "in.jpg"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.jpg"), "--model", "opencv-telea"]) == 0
    out = Image.open(tmp_path / "out.jpg")
    assert out.size == (90, 120)
    exif = out.getexif()
    assert exif.get(0x0112, 1) == 1 and exif.get(0x010F) == "FusionPaint test camera"


def test_empty_mask_copies_the_image_with_a_warning(tmp_path, capsys):
    pixels = _write_photo(tmp_path / "in.png")
    Image.fromarray(np.zeros((90, 120), np.uint8)).save(tmp_path / "mask.png")
    assert main(["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.png")]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.png")), pixels)
    assert "empty" in capsys.readouterr().err


def test_mask_of_another_size_is_resized_with_a_warning(tmp_path, capsys):
    _write_photo(tmp_path / "in.png")
    _write_mask(tmp_path / "mask.png", size=(60, 45), box=(10, 10, 30, 30))
    assert main(["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.png")]) == 0
    assert "warning" in capsys.readouterr().err


@pytest.mark.parametrize("problem", ["missing", "corrupt", "truncated"])
def test_bad_input_ends_with_one_line_and_no_output(tmp_path, capsys, problem):
    photo = tmp_path / "in.png"
    if problem != "missing":
        _write_photo(photo)
        data = photo.read_bytes()
        photo.write_bytes(b"garbage" * 20 if problem == "corrupt" else data[: len(data) // 2])
    _write_mask(tmp_path / "mask.png")
    code = main(["remove", str(photo), "--mask", str(tmp_path / "mask.png"), "-o", str(tmp_path / "out.png")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert len(err) == 1 and err[0].startswith("error:") and "in.png" in err[0]
    expected = ["mask.png"] + (["in.png"] if problem != "missing" else [])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(expected)


def test_input_is_never_overwritten_without_the_flag(tmp_path, capsys):
    pixels = _write_photo(tmp_path / "in.png")
    _write_mask(tmp_path / "mask.png")
    args = ["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o", str(tmp_path / "in.png")]
    assert main(args) == 2
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "in.png")), pixels)
    assert main(args + ["--overwrite"]) == 0
    assert (np.asarray(Image.open(tmp_path / "in.png")) != pixels).any()


@pytest.mark.parametrize("target", ["in.png", "mask.png", "out.png"])
def test_alpha_out_never_replaces_an_input_or_the_result(tmp_path, capsys, target):
    _write_photo(tmp_path / "in.png")
    _write_mask(tmp_path / "mask.png")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    code = main(["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.png"), "--alpha-out", str(tmp_path / target)])
    assert code == 2 and "--alpha-out" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing written, nothing changed


def test_folder_mode_never_replaces_a_mask(tmp_path, capsys):
    for folder in ("photos", "masks"):
        (tmp_path / folder).mkdir()
    _write_photo(tmp_path / "photos" / "a.png")
    _write_mask(tmp_path / "masks" / "a.png")
    mask_bytes = (tmp_path / "masks" / "a.png").read_bytes()
    code = main(["remove", "--images", str(tmp_path / "photos"), "--masks", str(tmp_path / "masks"), "-o",
                 str(tmp_path / "masks")])
    assert code == 2 and "is the mask folder" in capsys.readouterr().err
    # one mask file for every photo, lying in the output folder under a photo's name
    (tmp_path / "out").mkdir()
    _write_mask(tmp_path / "out" / "a.png")
    _write_photo(tmp_path / "photos" / "b.png")
    code = main(["remove", "--images", str(tmp_path / "photos"), "--masks", str(tmp_path / "out" / "a.png"), "-o",
                 str(tmp_path / "out")])
    assert code == 1 and "a.png skipped" in capsys.readouterr().err
    assert (tmp_path / "masks" / "a.png").read_bytes() == mask_bytes
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]
    assert np.asarray(Image.open(tmp_path / "out" / "a.png")).ndim == 2  # still the mask


@pytest.mark.parametrize(("extra", "message"), [
    (["--band", "-100000"], "--band must be 0 to 256"),
    (["--band", "257"], "--band must be 0 to 256"),
    (["--device", "cuda"], "no CUDA GPU"),
])
def test_bad_band_and_absent_device_are_refused(tmp_path, capsys, extra, message):
    if extra[0] == "--device" and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    _write_photo(tmp_path / "in.png")
    _write_mask(tmp_path / "mask.png")
    code = main(["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.png"), "--model", "opencv-telea", *extra])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


def test_model_without_weights_is_a_clear_error(tmp_path, capsys):
    _write_photo(tmp_path / "in.png")
    _write_mask(tmp_path / "mask.png")
    code = main(["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.png"), "--model", "nonexistent-model"])
    assert code == 1 and "unknown model" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


def test_folder_mode_matches_masks_by_stem_and_accepts_one_mask(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    (tmp_path / "masks").mkdir()
    for name in ("a", "b"):
        _write_photo(tmp_path / "photos" / f"{name}.png")
        _write_mask(tmp_path / "masks" / f"{name}.png")
    _write_photo(tmp_path / "photos" / "c.jpg")
    code = main(["remove", "--images", str(tmp_path / "photos"), "--masks", str(tmp_path / "masks"), "-o",
                 str(tmp_path / "out")])
    assert code == 1  # c.jpg has no mask: reported and skipped
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]
    assert "c.jpg" in capsys.readouterr().err
    code = main(["remove", "--images", str(tmp_path / "photos"), "--masks", str(tmp_path / "masks" / "a.png"), "-o",
                 str(tmp_path / "out2")])
    assert code == 0 and sorted(p.name for p in (tmp_path / "out2").iterdir()) == ["a.png", "b.png", "c.jpg"]


def test_models_lists_every_model_as_json(capsys):
    assert main(["models", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["dfnet"]["parameters"] == 32_880_504
    assert rows["opencv-telea"]["status"] == "built-in"
    assert {"weights_file", "license", "status"} <= set(rows["dmfn"])
    assert rows["dmfn"]["seam_band_px"] == 0 and rows["opencv-telea"]["seam_band_px"] == 8


def test_bad_arguments(tmp_path, capsys):
    assert main(["remove", "--images", str(tmp_path), "-o", str(tmp_path / "o")]) == 2
    assert main(["remove", str(tmp_path / "x.png"), "-o", str(tmp_path / "o.png")]) == 2
    assert "error:" in capsys.readouterr().err


def test_rgba_photo_keeps_its_alpha_channel_untouched(tmp_path):
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 255, (90, 120, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "in.png")
    hole = _write_mask(tmp_path / "mask.png")
    assert main(["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.png")]) == 0
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert out.shape == (90, 120, 4)
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    assert (out[..., :3][hole] != rgba[..., :3][hole]).any()


def test_ctrl_c_during_start_up_is_one_line(monkeypatch, capsys):
    import main as entry

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(entry, "build_parser", interrupted)
    assert entry.main(["models"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_an_unknown_output_type_stops_before_any_output(tmp_path, capsys):
    _write_photo(tmp_path / "in.png")
    _write_mask(tmp_path / "mask.png")
    code = main(["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.png"), "--alpha-out", str(tmp_path / "alpha.xyz")])
    assert code == 1 and "unknown file type '.xyz'" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "mask.png"]


def test_sigterm_during_a_save_leaves_no_temporary_file(tmp_path, monkeypatch, capsys):
    """SIGTERM unwinds the command like Ctrl+C: the half-written temporary file is removed, the old output kept."""
    import os
    import signal

    _write_photo(tmp_path / "in.png")
    _write_mask(tmp_path / "mask.png")
    (tmp_path / "out.png").write_bytes(b"the previous result")
    real_save = Image.Image.save

    def save_then_sigterm(self, fp, *args, **kwargs):
        real_save(self, fp, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the temporary file exists

    monkeypatch.setattr(Image.Image, "save", save_then_sigterm)
    code = main(["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.png"), "--model", "opencv-telea", "--overwrite"])
    assert code == 143 and capsys.readouterr().err.endswith("terminated\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "mask.png", "out.png"]
    assert (tmp_path / "out.png").read_bytes() == b"the previous result"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is put back


def test_keep_gps_flag(tmp_path):
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}
    exif[0x010F] = "FusionPaint test camera"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(tmp_path / "in.jpg", exif=exif.tobytes())
    _write_mask(tmp_path / "mask.png")
    base = ["remove", str(tmp_path / "in.jpg"), "--mask", str(tmp_path / "mask.png"), "--model", "opencv-telea"]
    assert main([*base, "-o", str(tmp_path / "plain.jpg")]) == 0
    assert main([*base, "-o", str(tmp_path / "kept.jpg"), "--keep-gps"]) == 0
    assert 0x8825 not in Image.open(tmp_path / "plain.jpg").getexif()
    assert Image.open(tmp_path / "kept.jpg").getexif().get_ifd(0x8825).get(1) == "N"


def test_a_removal_too_large_for_the_free_memory_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    import engine.pipeline as pipeline

    _write_photo(tmp_path / "in.png")
    _write_mask(tmp_path / "mask.png")
    monkeypatch.setattr(pipeline, "available_memory_bytes", lambda: 1000)
    code = main(["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.png"), "--alpha-out", str(tmp_path / "alpha.png")])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: This removal needs about") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "mask.png"]


def test_transparency_lost_to_a_jpeg_output_is_warned_about(tmp_path, capsys):
    rgba = np.dstack([np.asarray(Image.new("RGB", (120, 90), (40, 90, 160))), np.full((90, 120), 255, np.uint8)])
    rgba[:10, :10, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "in.png")
    _write_mask(tmp_path / "mask.png")
    code = main(["remove", str(tmp_path / "in.png"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.jpg"), "--model", "opencv-telea"])
    assert code == 0 and (tmp_path / "out.jpg").is_file()
    err = capsys.readouterr().err
    assert "warning" in err and "transparen" in err and "out.jpg" in err
