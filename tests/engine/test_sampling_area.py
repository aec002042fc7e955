"""The sampling area: an exclude mask (True = never a source) keeps its texture and colours out of the fill."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

import engine.inpainter
from engine.errors import NothingToSample
from engine.inpainter import NetworkInpainter
from engine.pipeline import inpaint, padding_rule
from engine.prefill import prefill
from engine.regions import plan_windows
from engine.registry import build_network, get_spec, load_model
from engine.weights import save_weights
from engine.worker import InpaintJob
from main import main
from tests.helpers import emblem_scene, magenta_pixels

CLASSICAL = ("patchmatch", "opencv-telea", "opencv-ns")


@pytest.mark.parametrize("name", CLASSICAL)
def test_a_classical_fill_never_takes_colour_from_the_excluded_area(name):
    image, hole, exclude = emblem_scene()
    model = load_model(name)
    assert magenta_pixels(inpaint(image, hole, model).image[hole]) > 20  # without it, the emblem bleeds in
    before = exclude.copy()
    result = inpaint(image, hole, model, exclude=exclude)
    assert magenta_pixels(result.image[hole]) == 0
    np.testing.assert_array_equal(result.image[~hole & exclude], image[~hole & exclude])  # excluded pixels kept
    np.testing.assert_array_equal(exclude, before)
    assert result.notes == ()


def test_an_empty_exclude_mask_changes_nothing():
    image, hole, _ = emblem_scene()
    model = load_model("patchmatch")
    np.testing.assert_array_equal(inpaint(image, hole, model, exclude=np.zeros_like(hole)).image,
                                  inpaint(image, hole, model).image)


def _dfnet_on_patchmatch():
    torch.manual_seed(0)
    return NetworkInpainter(replace(get_spec("dfnet"), input_fill="patchmatch"), build_network("dfnet"),
                            torch.device("cpu"))


def test_the_network_pre_fill_never_takes_colour_from_the_excluded_area():
    image, hole, exclude = emblem_scene()
    images, holes = image[None].astype(np.float32) / 255.0, hole[None]
    assert magenta_pixels(prefill(images, holes, "patchmatch")[0][hole]) > 20
    for method in ("patchmatch", "telea"):
        assert magenta_pixels(prefill(images, holes, method, excludes=exclude[None])[0][hole]) == 0
    # a padded window: the exclude mask is cropped to its real pixels like the hole
    padded = np.pad(images, ((0, 0), (0, 32), (0, 0), (0, 0)), mode="reflect")
    padded_holes = np.pad(holes, ((0, 0), (0, 32), (0, 0)))
    padded_excludes = np.pad(exclude[None], ((0, 0), (0, 32), (0, 0)))
    filled = prefill(padded, padded_holes, "patchmatch", sizes=[hole.shape], excludes=padded_excludes)
    np.testing.assert_array_equal(filled[0, :96], prefill(images, holes, "patchmatch", excludes=exclude[None])[0])


def test_a_network_window_gets_the_exclude_mask_cropped_and_scaled_like_its_hole(monkeypatch):
    """A 1200 x 1600 photo: the hole's context window is a downscaled crop; its PatchMatch pre-fill (what DFNet's
    alpha blends over) sees the exclude mask cropped and scaled like the hole, and takes no magenta."""
    image, hole, exclude = emblem_scene(1200, 1600)
    seen = []

    def spy(images, holes, method, cancel=None, sizes=None, progress=None, excludes=None):
        base = prefill(images, holes, method, cancel, sizes, progress, excludes)
        seen.append((holes, excludes, base))
        return base

    monkeypatch.setattr(engine.inpainter, "prefill", spy)
    result = inpaint(image, hole, _dfnet_on_patchmatch(), exclude=exclude)
    (holes, excludes, base), = seen
    assert excludes is not None and excludes.shape == holes.shape
    (box, *_), = [(w.box,) for w in result.windows]
    assert box != (0, 0, 1200, 1600)  # a crop of the photo
    assert excludes[0].sum() > 0 and not (excludes[0] & ~holes[0]).all()
    assert magenta_pixels(base[0][holes[0]]) == 0
    assert result.notes == ("DFNet honours the exclude mask only in its pre-fill: PatchMatch keeps the area out "
                            "strictly",)


def test_excluding_everything_outside_the_hole_is_refused():
    image, hole, _ = emblem_scene()
    with pytest.raises(NothingToSample, match="nothing left to fill it from"):
        inpaint(image, hole, load_model("patchmatch"), exclude=~hole)


def test_a_window_with_nothing_left_to_sample_is_refused():
    image, hole, _ = emblem_scene(600, 2000)
    model = load_model("patchmatch")
    (y0, x0, y1, x1), = plan_windows(hole, model.spec.native_size, padding_rule(model.spec)[0])
    assert (y0, x0, y1, x1) != (0, 0, 600, 2000)
    exclude = np.zeros_like(hole)
    exclude[y0:y1, x0:x1] = True  # the hole's whole window; the rest of the photo is still free
    with pytest.raises(NothingToSample, match="around the hole"):
        inpaint(image, hole, model, exclude=exclude)


def test_an_exclude_mask_of_another_size_is_refused():
    image, hole, _ = emblem_scene()
    with pytest.raises(ValueError, match="exclude must be a bool array"):
        inpaint(image, hole, load_model("patchmatch"), exclude=np.zeros((4, 4), bool))


def test_a_job_keeps_a_read_only_copy_of_the_exclude_mask():
    image, hole, exclude = emblem_scene()
    job = InpaintJob.snapshot(image, hole, "patchmatch", exclude=exclude)
    exclude[:] = False
    assert job.exclude.any() and not job.exclude.flags.writeable
    with pytest.raises(ValueError, match="exclude must be None or bool"):
        InpaintJob.snapshot(image, hole, "patchmatch", exclude=exclude[:10])


def _write_scene(folder, name="photo"):
    image, hole, exclude = emblem_scene()
    paths = {kind: folder / f"{name}_{kind}.png" for kind in ("photo", "mask", "exclude")}
    Image.fromarray(image).save(paths["photo"])
    Image.fromarray(hole.astype(np.uint8) * 255).save(paths["mask"])
    Image.fromarray(exclude.astype(np.uint8) * 255).save(paths["exclude"])
    return paths, hole


def _remove(paths, out, *extra):
    return main(["remove", str(paths["photo"]), "--mask", str(paths["mask"]), "-o", str(out), "--model", "patchmatch",
                 *extra])


def test_the_command_line_keeps_the_excluded_area_out_of_the_fill(tmp_path, capsys):
    paths, hole = _write_scene(tmp_path)
    assert _remove(paths, tmp_path / "plain.png") == 0
    assert magenta_pixels(np.asarray(Image.open(tmp_path / "plain.png"))[hole]) > 20
    assert _remove(paths, tmp_path / "out.png", "--exclude", str(paths["exclude"])) == 0
    assert magenta_pixels(np.asarray(Image.open(tmp_path / "out.png"))[hole]) == 0
    assert "warning" not in capsys.readouterr().err


def test_the_command_line_says_when_a_network_only_partly_honours_the_exclude_mask(tmp_path, capsys):
    torch.manual_seed(0)
    weights = save_weights(tmp_path / "tiny.safetensors", build_network("dfnet").state_dict(), arch="dfnet",
                           dtype=torch.float16)
    paths, _ = _write_scene(tmp_path)
    code = main(["remove", str(paths["photo"]), "--mask", str(paths["mask"]), "-o", str(tmp_path / "out.png"),
                 "--model", str(weights), "--device", "cpu", "--exclude", str(paths["exclude"])])
    assert code == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "PatchMatch keeps the area out" in warnings[0]


def test_a_bad_exclude_mask_or_one_that_leaves_nothing_to_sample_is_one_line(tmp_path, capsys):
    paths, hole = _write_scene(tmp_path)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    everything = tmp_path / "everything.png"
    Image.fromarray((~hole).astype(np.uint8) * 255).save(everything)
    for mask, message in ((broken, "broken.png"), (tmp_path / "missing.png", "missing.png"),
                          (everything, "nothing left to fill it from")):
        assert _remove(paths, tmp_path / "out.png", "--exclude", str(mask)) != 0
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
        assert not (tmp_path / "out.png").exists()


def test_an_exclude_mask_of_another_size_is_resized_like_the_hole_mask(tmp_path, capsys):
    paths, hole = _write_scene(tmp_path)
    Image.open(paths["exclude"]).resize((64, 48), Image.Resampling.NEAREST).save(paths["exclude"])
    assert _remove(paths, tmp_path / "out.png", "--exclude", str(paths["exclude"])) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: ") and "64x48" in err[0] and "128x96" in err[0]
    assert magenta_pixels(np.asarray(Image.open(tmp_path / "out.png"))[hole]) == 0


def test_folder_mode_takes_one_exclude_mask_for_every_photo(tmp_path, capsys):
    photos, masks = tmp_path / "photos", tmp_path / "masks"
    photos.mkdir()
    masks.mkdir()
    paths, hole = _write_scene(tmp_path)
    for name in ("a", "b"):
        (photos / f"{name}.png").write_bytes(paths["photo"].read_bytes())
        (masks / f"{name}.png").write_bytes(paths["mask"].read_bytes())
    code = main(["remove", "--images", str(photos), "--masks", str(masks), "-o", str(tmp_path / "out"),
                 "--model", "patchmatch", "--exclude", str(paths["exclude"])])
    assert code == 0, capsys.readouterr().err
    for name in ("a", "b"):
        assert magenta_pixels(np.asarray(Image.open(tmp_path / "out" / f"{name}.png"))[hole]) == 0
