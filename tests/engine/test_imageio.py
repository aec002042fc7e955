"""Tests for engine.imageio and engine.masks_io: loading and saving photos and masks, on tiny synthetic files
written to tmp_path."""

import dataclasses
import errno
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from engine.errors import ImageError, WriteError
from engine.files import atomic_write
from engine.formats import SUPPORTED_EXTENSIONS
from engine.imageio import Photo, load_image, save_image
from engine.masks_io import load_mask, save_mask

ORIENTATION = 0x0112


def _pattern(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Deterministic uint8 (h, w, 3) image where nearly every pixel differs."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _smooth(h: int, w: int) -> np.ndarray:
    """uint8 (h, w, 3) gradient that JPEG compresses well."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) % 256], axis=2).astype(np.uint8)


def _exif(**tags: object) -> Image.Exif:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[int(tag.lstrip("t"), 16)] = value
    return exif


# ----------------------------------------------------------------------------------------------- orientation


def test_jpeg_orientation_6_is_applied_and_reset(tmp_path):
    stored = np.zeros((16, 32, 3), np.uint8)
    stored[:, :] = (0, 0, 255)
    stored[:8, :8] = (255, 0, 0)  # red block in the stored top-left corner
    path = tmp_path / "portrait.jpg"
    exif = _exif(t0112=6, t010F="TestCam")
    sub = exif.get_ifd(0x8769)
    sub[0xA002], sub[0xA003] = 32, 16  # PixelXDimension, PixelYDimension as stored
    Image.fromarray(stored).save(path, quality=95, exif=exif.tobytes(), dpi=(100, 200))

    photo = load_image(path)

    # Orientation 6: the camera was turned, the stored image is shown rotated 90 degrees clockwise.
    assert photo.rgb.shape == (32, 16, 3)
    assert photo.source_mode == "RGB" and photo.format == "JPEG"
    red = photo.rgb[1:7, 9:15].reshape(-1, 3).mean(axis=0)
    blue = photo.rgb[20:30, 2:14].reshape(-1, 3).mean(axis=0)
    assert red[0] > 200 and red[2] < 60
    assert blue[2] > 200 and blue[0] < 60
    kept = Image.Exif()
    kept.load(photo.exif)
    assert kept[ORIENTATION] == 1
    assert kept[0x010F] == "TestCam"
    assert kept.get_ifd(0x8769)[0xA002] == 16 and kept.get_ifd(0x8769)[0xA003] == 32
    assert photo.dpi == (200.0, 100.0)  # swapped with the width and height

    # Writing the upright pixels back with this EXIF must not rotate them a second time.
    out = tmp_path / "out.jpg"
    save_image(out, photo.rgb, like=photo)
    again = load_image(out)
    assert again.rgb.shape == (32, 16, 3)


def test_png_orientation_pixels_land_exactly(tmp_path):
    stored = _pattern(3, 5)
    path = tmp_path / "o.png"
    Image.fromarray(stored).save(path, exif=_exif(t0112=6).tobytes())
    photo = load_image(path)
    # Rotating 90 degrees clockwise: displayed[r, c] = stored[H - 1 - c, r].
    assert photo.rgb.shape == (5, 3, 3)
    np.testing.assert_array_equal(photo.rgb, np.rot90(stored, k=-1))
    assert photo.rgb[0, -1].tolist() == stored[0, 0].tolist()


def test_mask_orientation_is_applied(tmp_path):
    stored = np.zeros((4, 6), np.uint8)
    stored[0, 0] = 255
    path = tmp_path / "m.png"
    Image.fromarray(stored).save(path, exif=_exif(t0112=6).tobytes())
    hole, warns = load_mask(path, (6, 4))
    assert warns == []
    assert hole.shape == (6, 4)
    assert hole[0, 3] and hole.sum() == 1


# ----------------------------------------------------------------------------------------------- alpha


@pytest.mark.parametrize("ext", [".png", ".tif", ".webp"])
def test_rgba_alpha_bit_exact_through_load_and_save(tmp_path, ext):
    rgb = _pattern(8, 12, seed=1)
    alpha = np.arange(96, dtype=np.uint8).reshape(8, 12) * 2 + 1
    alpha[0, :4] = 0
    alpha[1, :4] = 255
    src = tmp_path / "src.png"
    Image.fromarray(np.dstack([rgb, alpha])).save(src)

    photo = load_image(src)
    assert photo.source_mode == "RGBA"
    np.testing.assert_array_equal(photo.alpha, alpha)
    np.testing.assert_array_equal(photo.rgb, rgb)  # colour under alpha 0 kept as stored
    assert photo.alpha.flags.c_contiguous and photo.rgb.flags.c_contiguous

    out = tmp_path / f"out{ext}"
    save_image(out, photo.rgb, alpha=photo.alpha, like=photo)
    back = load_image(out)
    np.testing.assert_array_equal(back.alpha, alpha)
    if ext != ".webp":  # lossy colour
        np.testing.assert_array_equal(back.rgb, rgb)


@pytest.mark.parametrize("ext", [".jpg", ".bmp"])
def test_alpha_is_dropped_for_formats_without_it_with_a_warning(tmp_path, ext):
    rgb = _smooth(8, 8)
    out = tmp_path / f"out{ext}"
    warnings = save_image(out, rgb, alpha=np.full((8, 8), 7, np.uint8))
    back = load_image(out)
    assert back.alpha is None and back.source_mode == "RGB"
    assert len(warnings) == 1 and "transparen" in warnings[0] and out.name in warnings[0]
    assert save_image(tmp_path / f"opaque{ext}", rgb, alpha=np.full((8, 8), 255, np.uint8)) == ()
    assert save_image(tmp_path / "kept.png", rgb, alpha=np.full((8, 8), 7, np.uint8)) == ()


def test_lossless_webp_stays_lossless_and_keeps_colour_under_transparency(tmp_path):
    rgb = _pattern(16, 20, seed=3)
    alpha = np.full((16, 20), 255, np.uint8)
    alpha[:4] = 0  # colour hidden under alpha 0 must survive too
    alpha[4:8] = 90
    src = tmp_path / "src.webp"
    Image.fromarray(np.dstack([rgb, alpha])).save(src, lossless=True, exact=True)
    photo = load_image(src)
    assert photo.lossless
    np.testing.assert_array_equal(photo.rgb, rgb)

    out = tmp_path / "out.webp"
    save_image(out, photo.rgb, alpha=photo.alpha, like=photo, quality=100)
    back = load_image(out)
    assert back.lossless
    np.testing.assert_array_equal(back.rgb, rgb)
    np.testing.assert_array_equal(back.alpha, alpha)


def test_lossy_webp_is_not_taken_for_lossless(tmp_path):
    src = tmp_path / "lossy.webp"
    Image.fromarray(_smooth(16, 16)).save(src, quality=80)
    assert not load_image(src).lossless
    assert not load_image(_write_png(tmp_path / "a.png")).lossless


def _write_png(path: Path) -> Path:
    Image.fromarray(_smooth(8, 8)).save(path)
    return path


def test_multi_page_tiff_uses_its_largest_page_and_says_so(tmp_path):
    thumbnail = Image.fromarray(_smooth(30, 40))
    full = _pattern(120, 160, seed=4)
    src = tmp_path / "pages.tif"
    thumbnail.save(src, save_all=True, append_images=[Image.fromarray(full), Image.fromarray(_smooth(60, 80))])
    photo = load_image(src)
    np.testing.assert_array_equal(photo.rgb, full)
    assert len(photo.notes) == 1
    assert "3 pages" in photo.notes[0] and "page 2" in photo.notes[0] and "160 x 120" in photo.notes[0]


def test_single_page_tiff_has_no_note(tmp_path):
    src = tmp_path / "one.tif"
    Image.fromarray(_pattern(20, 30)).save(src)
    assert load_image(src).notes == ()


def _with_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    """The JPEG `data` with its baseline frame header (SOF0) claiming width x height."""
    data = bytearray(data)
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 7] = height.to_bytes(2, "big")
    data[sof + 7:sof + 9] = width.to_bytes(2, "big")
    return bytes(data)


def test_jpeg_whose_data_ends_far_short_of_its_declared_size_is_flagged(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(_smooth(240, 320)).save(buffer, "JPEG", quality=90)
    honest, inflated = tmp_path / "honest.jpg", tmp_path / "inflated.jpg"
    honest.write_bytes(buffer.getvalue())
    inflated.write_bytes(_with_jpeg_size(buffer.getvalue(), 6000, 1400))
    assert load_image(honest).notes == ()
    photo = load_image(inflated)
    assert photo.rgb.shape == (1400, 6000, 3)
    assert len(photo.notes) == 1 and "6000 x 1400" in photo.notes[0] and "missing" in photo.notes[0]


def test_a_large_smooth_jpeg_is_not_flagged(tmp_path):
    src = tmp_path / "flat.jpg"
    Image.new("L", (2000, 1500), 128).save(src, quality=50, optimize=True, progressive=True)
    assert load_image(src).notes == ()


def test_la_image_keeps_alpha_and_writes_gray_back(tmp_path):
    gray = np.arange(24, dtype=np.uint8).reshape(4, 6) * 10
    alpha = np.arange(24, dtype=np.uint8).reshape(4, 6)[::-1] * 9
    src = tmp_path / "la.png"
    Image.fromarray(np.dstack([gray, alpha])).save(src)
    photo = load_image(src)
    assert photo.source_mode == "LA"
    np.testing.assert_array_equal(photo.rgb, np.repeat(gray[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(photo.alpha, alpha)
    out = tmp_path / "out.png"
    save_image(out, photo.rgb, alpha=photo.alpha, like=photo)
    with Image.open(out) as im:
        assert im.mode == "LA"
        np.testing.assert_array_equal(np.asarray(im), np.dstack([gray, alpha]))


def test_palette_with_transparency_gives_alpha(tmp_path):
    im = Image.new("P", (4, 2))
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0])
    im.putdata([0, 1, 2, 1, 1, 2, 0, 0])
    im.info["transparency"] = 0
    path = tmp_path / "p.png"
    im.save(path, transparency=0)
    photo = load_image(path)
    assert photo.source_mode == "P"
    assert photo.alpha.tolist() == [[0, 255, 255, 255], [255, 255, 0, 0]]
    assert photo.rgb[0, 1].tolist() == [255, 0, 0] and photo.rgb[0, 2].tolist() == [0, 255, 0]


# ----------------------------------------------------------------------------------------------- modes


def test_palette_without_transparency_becomes_rgb(tmp_path):
    im = Image.new("P", (3, 1))
    im.putpalette([10, 20, 30, 200, 100, 50, 1, 2, 3])
    im.putdata([2, 0, 1])
    path = tmp_path / "p.bmp"
    im.save(path)
    photo = load_image(path)
    assert photo.source_mode == "P" and photo.alpha is None and photo.format == "BMP"
    assert photo.rgb.tolist() == [[[1, 2, 3], [10, 20, 30], [200, 100, 50]]]


def test_grayscale_8bit_replicated_and_written_back_as_gray(tmp_path):
    gray = np.array([[0, 1, 127], [128, 200, 255]], np.uint8)
    path = tmp_path / "g.png"
    Image.fromarray(gray).save(path)
    photo = load_image(path)
    assert photo.source_mode == "L" and photo.alpha is None
    assert photo.rgb.shape == (2, 3, 3)
    for c in range(3):
        np.testing.assert_array_equal(photo.rgb[:, :, c], gray)

    edited = photo.rgb.copy()
    edited[0, 0] = (30, 60, 90)  # a coloured pixel is written as its luma
    out = tmp_path / "out.png"
    save_image(out, edited, like=photo)
    with Image.open(out) as im:
        assert im.mode == "L"
        values = np.asarray(im)
    expected = gray.copy()
    expected[0, 0] = round(30 * 0.299 + 60 * 0.587 + 90 * 0.114)
    np.testing.assert_array_equal(values, expected)

    jpg = tmp_path / "out.jpg"
    save_image(jpg, photo.rgb, like=photo)
    with Image.open(jpg) as im:
        assert im.mode == "L"


@pytest.mark.parametrize("ext, mode", [(".png", "I;16"), (".tif", "I;16"), (".tif", "I;16B")])
def test_grayscale_16bit_rounded_to_8bit(tmp_path, ext, mode):
    values = np.array([[0, 128, 129, 257], [385, 32767, 65280, 65535]], np.uint16)
    expected = np.array([[0, 0, 1, 1], [1, 127, 254, 255]], np.uint8)  # round(v / 257)
    dtype = ">u2" if mode == "I;16B" else "<u2"
    im = Image.frombytes(mode, (4, 2), values.astype(dtype).tobytes())
    path = tmp_path / f"g16{ext}"
    im.save(path)
    photo = load_image(path)
    assert photo.source_mode == mode
    assert photo.rgb.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(photo.rgb[:, :, c], expected)
    out = tmp_path / "out.png"
    save_image(out, photo.rgb, like=photo)
    with Image.open(out) as back:
        assert back.mode == "L"  # written back 8-bit grayscale
        np.testing.assert_array_equal(np.asarray(back), expected)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    im = Image.new("CMYK", (16, 8), (0, 0, 0, 0))  # no ink: white
    im.paste((0, 255, 255, 0), (0, 0, 8, 8))  # magenta + yellow: red
    im.save(path, quality=95)
    photo = load_image(path)
    assert photo.source_mode == "CMYK" and photo.icc_profile is None
    assert photo.rgb.shape == (8, 16, 3)
    assert photo.rgb[4, 12].min() > 240
    r, g, b = photo.rgb[4, 3].tolist()
    assert r > 200 and g < 60 and b < 60


@pytest.mark.parametrize("ext", SUPPORTED_EXTENSIONS)
def test_every_supported_extension_round_trips(tmp_path, ext):
    rgb = _smooth(16, 24)
    out = tmp_path / f"x{ext}"
    save_image(out, rgb)
    photo = load_image(out)
    assert photo.rgb.shape == (16, 24, 3)
    assert photo.format == {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}.get(ext, ext[1:].upper())
    assert photo.path == out
    error = np.abs(photo.rgb.astype(int) - rgb)
    if photo.format in ("JPEG", "WEBP"):  # lossy
        assert error.mean() < 4
    else:
        assert error.max() == 0


def test_multi_picture_jpeg_loads_first_frame_as_jpeg(tmp_path):
    path = tmp_path / "camera.jpg"
    first, second = Image.new("RGB", (8, 8), (255, 0, 0)), Image.new("RGB", (8, 8), (0, 255, 0))
    first.save(path, "MPO", save_all=True, append_images=[second])
    photo = load_image(path)
    assert photo.format == "JPEG"
    r, g, b = photo.rgb[4, 4].tolist()
    assert r > 240 and g < 20 and b < 20


def test_photo_is_frozen(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(_smooth(4, 4)).save(path)
    photo = load_image(path)
    assert isinstance(photo, Photo)
    with pytest.raises(dataclasses.FrozenInstanceError):
        photo.format = "PNG"  # type: ignore[misc]


# ----------------------------------------------------------------------------------------------- quality, metadata


def test_jpeg_and_webp_quality_change_file_size(tmp_path):
    rgb = _pattern(64, 64, seed=3)
    sizes = {}
    for ext in (".jpg", ".webp"):
        for q in (20, 95):
            out = tmp_path / f"q{q}{ext}"
            save_image(out, rgb, quality=q)
            sizes[ext, q] = out.stat().st_size
        assert sizes[ext, 20] < sizes[ext, 95] * 0.8


def test_quality_out_of_range_is_refused(tmp_path):
    for q in (0, 101, 50.5):
        with pytest.raises(ValueError):
            save_image(tmp_path / "x.jpg", _smooth(4, 4), quality=q)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("ext", [".jpg", ".png", ".tif", ".webp", ".bmp"])
def test_exif_icc_dpi_round_trip_through_like(tmp_path, ext):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "src.jpg"
    exif = _exif(t0112=1, t010F="TestCam", t0110="Model X")
    Image.fromarray(_smooth(16, 16)).save(src, exif=exif.tobytes(), icc_profile=icc, dpi=(300, 300))
    photo = load_image(src)
    assert photo.icc_profile == icc
    assert photo.dpi == (300.0, 300.0)

    out = tmp_path / f"out{ext}"
    save_image(out, photo.rgb, like=photo)
    with Image.open(out) as im:
        im.load()
        if ext != ".bmp":
            assert im.info.get("icc_profile") == icc
            assert im.getexif().get(0x010F) == "TestCam"
            assert im.getexif().get(0x0110) == "Model X"
        if ext != ".webp":
            assert im.info["dpi"] == pytest.approx((300, 300), abs=0.01)


def test_tiff_exif_keeps_only_descriptive_tags(tmp_path):
    src = tmp_path / "src.tif"
    Image.fromarray(_smooth(8, 8)).save(src, exif=_exif(t010F="TestCam").tobytes())
    photo = load_image(src)
    kept = Image.Exif()
    kept.load(photo.exif)
    assert kept[0x010F] == "TestCam"
    assert 0x0111 not in kept and 0x0100 not in kept  # strip offsets, width
    out = tmp_path / "out.jpg"
    save_image(out, photo.rgb, like=photo)
    with Image.open(out) as im:
        assert im.getexif()[0x010F] == "TestCam"


def test_gray_icc_is_not_put_on_colour_output(tmp_path):
    fake_gray_icc = bytes(16) + b"GRAY" + bytes(108)
    like = Photo(
        rgb=np.zeros((4, 4, 3), np.uint8),
        alpha=None,
        source_mode="L",
        format="PNG",
        exif=None,
        icc_profile=fake_gray_icc,
        dpi=None,
        path=None,
    )
    gray_out = tmp_path / "g.png"
    save_image(gray_out, like.rgb, like=like)
    with Image.open(gray_out) as im:
        assert im.info.get("icc_profile") == fake_gray_icc
    webp_out = tmp_path / "g.webp"  # WebP stores the gray levels as RGB
    save_image(webp_out, like.rgb, like=like)
    with Image.open(webp_out) as im:
        assert im.info.get("icc_profile") is None


# ----------------------------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match=r"nope\.png.*not found"):
        load_image(tmp_path / "nope.png")


def test_directory(tmp_path):
    folder = tmp_path / "folder.png"
    folder.mkdir()
    with pytest.raises(ImageError, match="folder"):
        load_image(folder)
    with pytest.raises(ImageError, match="folder"):
        load_mask(folder, (4, 4))
    with pytest.raises(WriteError, match="folder"):
        save_image(folder, _smooth(4, 4))


def test_corrupt_file(tmp_path):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"this is not an image at all" * 10)
    with pytest.raises(ImageError, match=r"junk\.jpg") as info:
        load_image(junk)
    assert "\n" not in str(info.value)
    damaged = tmp_path / "damaged.png"
    good = io.BytesIO()
    Image.fromarray(_pattern(32, 32)).save(good, format="PNG")
    data = bytearray(good.getvalue())
    data[60:200] = bytes(140)  # zero the compressed pixel data
    damaged.write_bytes(bytes(data))
    with pytest.raises(ImageError, match=r"damaged\.png"):
        load_image(damaged)


@pytest.mark.parametrize("fmt, ext", [("JPEG", ".jpg"), ("PNG", ".png")])
def test_truncated_file(tmp_path, fmt, ext):
    buffer = io.BytesIO()
    Image.fromarray(_pattern(64, 64)).save(buffer, format=fmt)
    path = tmp_path / f"cut{ext}"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match=rf"cut\{ext}.*(corrupt or truncated)"):
        load_image(path)
    with pytest.raises(ImageError):
        load_mask(path, (64, 64))


def test_unsupported_format(tmp_path):
    gif = tmp_path / "anim.gif"
    Image.new("P", (4, 4)).save(gif)
    with pytest.raises(ImageError, match=r"anim\.gif.*GIF.*not supported"):
        load_image(gif)


def test_unknown_extension_on_save(tmp_path):
    with pytest.raises(ImageError, match=r"x\.gif.*unknown file type"):
        save_image(tmp_path / "x.gif", _smooth(4, 4))
    with pytest.raises(ImageError, match="unknown file type"):
        save_image(tmp_path / "noext", _smooth(4, 4))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("side", [11, 20])  # 121 px: Pillow warns; 400 px: over twice the limit, Pillow errors
def test_decompression_bomb_is_refused(tmp_path, monkeypatch, side):
    path = tmp_path / "bomb.png"
    Image.new("RGB", (side, side)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ImageError, match=r"bomb\.png.*too large"):
        load_image(path)
    with pytest.raises(ImageError, match="too large"):
        load_mask(path, (side, side))
    assert Image.MAX_IMAGE_PIXELS == 100  # the limit itself is left alone


def test_limit_is_respected_not_disabled():
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS > 0


# ----------------------------------------------------------------------------------------------- masks


def test_mask_threshold_grayscale_and_rgb(tmp_path):
    gray = np.array([[0, 127, 128, 255]], np.uint8)
    path = tmp_path / "m.png"
    Image.fromarray(gray).save(path)
    hole, warns = load_mask(path, (1, 4))
    assert hole.dtype == bool and hole.flags.c_contiguous
    assert hole.tolist() == [[False, False, True, True]] and warns == []

    rgb = np.array([[[0, 0, 0], [255, 255, 255], [200, 200, 200], [90, 90, 90]]], np.uint8)
    path_rgb = tmp_path / "m.bmp"
    Image.fromarray(rgb).save(path_rgb)
    hole, _ = load_mask(path_rgb, (1, 4))
    assert hole.tolist() == [[False, True, True, False]]


def test_mask_rgba_uses_alpha_when_not_opaque(tmp_path):
    rgba = np.zeros((1, 4, 4), np.uint8)
    rgba[0, :, :3] = 255  # all white, so only alpha can tell the hole
    rgba[0, :, 3] = [0, 127, 128, 255]
    path = tmp_path / "a.png"
    Image.fromarray(rgba).save(path)
    hole, _ = load_mask(path, (1, 4))
    assert hole.tolist() == [[False, False, True, True]]

    opaque = rgba.copy()
    opaque[0, :, 3] = 255
    opaque[0, :, :3] = np.array([0, 255, 0, 255], np.uint8)[:, None]
    path2 = tmp_path / "b.png"
    Image.fromarray(opaque).save(path2)
    hole, _ = load_mask(path2, (1, 4))
    assert hole.tolist() == [[False, True, False, True]]  # fully opaque: the gray level decides


def test_mask_resize_warns_with_both_sizes(tmp_path):
    small = np.zeros((4, 8), np.uint8)
    small[:, 4:] = 255
    path = tmp_path / "small.png"
    Image.fromarray(small).save(path)
    hole, warns = load_mask(path, (8, 16))
    assert hole.shape == (8, 16)
    assert not hole[:, :8].any() and hole[:, 8:].all()
    assert len(warns) == 1
    assert "8x4" in warns[0] and "16x8" in warns[0] and "small.png" in warns[0]


def test_empty_mask_returned_as_is(tmp_path):
    path = tmp_path / "empty.png"
    Image.new("L", (5, 3)).save(path)
    hole, warns = load_mask(path, (3, 5))
    assert hole.shape == (3, 5) and not hole.any() and warns == []


def test_mask_bad_size_argument(tmp_path):
    path = tmp_path / "m.png"
    Image.new("L", (5, 3)).save(path)
    with pytest.raises(ValueError):
        load_mask(path, (0, 5))


def test_save_mask_round_trip(tmp_path):
    hole = np.zeros((6, 9), bool)
    hole[2:4, 3:7] = True
    before = hole.copy()
    path = tmp_path / "hole.png"
    save_mask(path, hole)
    np.testing.assert_array_equal(hole, before)
    with Image.open(path) as im:
        assert im.mode == "L" and set(np.unique(np.asarray(im)).tolist()) == {0, 255}
    back, warns = load_mask(path, (6, 9))
    np.testing.assert_array_equal(back, hole)
    assert warns == []
    with pytest.raises(ImageError, match="PNG"):
        save_mask(tmp_path / "hole.jpg", hole)


# ----------------------------------------------------------------------------------------------- atomic saving


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_save_replaces_and_leaves_no_temp_files(tmp_path):
    out = tmp_path / "result.png"
    out.write_bytes(b"old contents")
    out.chmod(0o640)
    save_image(out, _smooth(8, 8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.png"]
    assert load_image(out).rgb.shape == (8, 8, 3)
    assert out.stat().st_mode & 0o777 == 0o640  # permissions of the replaced file kept

    fresh = tmp_path / "fresh.jpg"
    save_image(fresh, _smooth(8, 8))
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~_current_umask()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.jpg", "result.png"]


def test_atomic_write_disk_full_keeps_old_file(tmp_path):
    out = tmp_path / "result.png"
    out.write_bytes(b"old contents")

    def write(temp: Path) -> None:
        temp.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError, match=r"could not save .*result\.png: disk full"):
        atomic_write(out, write)
    assert out.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["result.png"]


def test_save_image_disk_full_during_encoding(tmp_path, monkeypatch):
    out = tmp_path / "photo.jpg"
    out.write_bytes(b"old contents")

    def failing_save(self, fp, format=None, **params):
        fp.write(b"\xff\xd8 half a jpeg")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(WriteError, match="disk full") as info:
        save_image(out, _smooth(8, 8))
    assert "photo.jpg" in str(info.value)
    assert out.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["photo.jpg"]
    with pytest.raises(WriteError, match="disk full"):
        save_mask(tmp_path / "mask.png", np.ones((2, 2), bool))
    assert [p.name for p in tmp_path.iterdir()] == ["photo.jpg"]


def test_atomic_write_other_errors(tmp_path):
    with pytest.raises(WriteError, match="could not save .*folder does not exist"):
        save_image(tmp_path / "missing" / "x.png", _smooth(4, 4))

    def boom(temp: Path) -> None:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):  # programming errors pass through, but the temporary file goes
        atomic_write(tmp_path / "y.png", boom)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_through_symlink_replaces_target(tmp_path):
    target = tmp_path / "real.png"
    target.write_bytes(b"old")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    save_image(link, _smooth(4, 4))
    assert link.is_symlink()
    assert load_image(target).rgb.shape == (4, 4, 3)


# ----------------------------------------------------------------------------------------------- inputs untouched


def test_inputs_are_not_mutated_and_outputs_contiguous(tmp_path):
    rgb = _pattern(10, 14, seed=5)
    alpha = np.linspace(0, 255, 140).astype(np.uint8).reshape(10, 14)
    rgb_before, alpha_before = rgb.copy(), alpha.copy()
    rgb.setflags(write=False)
    alpha.setflags(write=False)
    gray_like = Photo(rgb, None, "L", "PNG", None, None, None, None)
    for name in ("a.png", "a.tif", "a.webp", "a.jpg"):
        save_image(tmp_path / name, rgb, alpha=alpha, like=gray_like)
        save_image(tmp_path / f"c{name}", rgb, alpha=alpha)
    np.testing.assert_array_equal(rgb, rgb_before)
    np.testing.assert_array_equal(alpha, alpha_before)

    flipped = rgb_before[:, ::-1]  # not C-contiguous
    save_image(tmp_path / "flip.png", flipped)
    photo = load_image(tmp_path / "flip.png")
    np.testing.assert_array_equal(photo.rgb, flipped)
    assert photo.rgb.flags.c_contiguous


def test_bad_array_arguments(tmp_path):
    with pytest.raises(ValueError):
        save_image(tmp_path / "x.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        save_image(tmp_path / "x.png", np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError):
        save_image(tmp_path / "x.png", np.zeros((4, 4, 3), np.uint8), alpha=np.zeros((3, 4), np.uint8))
    with pytest.raises(ValueError):
        save_mask(tmp_path / "m.png", np.zeros((4, 4), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_decoder_warnings_become_notes_and_never_reach_stderr(tmp_path, monkeypatch, capsys):
    import warnings

    from engine import imageio

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "p.png")
    decode = imageio._photo_from

    def noisy(path, image):
        warnings.warn("Corrupt EXIF data.  Expecting 2 bytes", UserWarning, stacklevel=1)
        warnings.warn("a library detail", DeprecationWarning, stacklevel=1)
        return decode(path, image)

    monkeypatch.setattr(imageio, "_photo_from", noisy)
    photo = imageio.load_image(tmp_path / "p.png")
    assert photo.notes == ("p.png: Corrupt EXIF data. Expecting 2 bytes",)
    assert capsys.readouterr().err == ""


def test_an_interrupted_save_closes_its_file_and_removes_it(tmp_path, monkeypatch):
    import warnings

    opened = []

    def interrupted_save(self, fp, format=None, **params):
        opened.append(fp)
        fp.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", interrupted_save)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        with pytest.raises(KeyboardInterrupt):
            save_image(tmp_path / "out.png", _smooth(8, 8))
    assert opened and opened[0].closed
    assert list(tmp_path.iterdir()) == []


def test_a_truncated_tiff_is_one_error_line(tmp_path, capsys):
    from main import main

    Image.fromarray(np.zeros((40, 60, 3), np.uint8)).save(tmp_path / "t.tif")
    (tmp_path / "cut.tif").write_bytes((tmp_path / "t.tif").read_bytes()[:8])
    Image.fromarray(np.zeros((40, 60), np.uint8)).save(tmp_path / "mask.png")
    code = main(["remove", str(tmp_path / "cut.tif"), "--mask", str(tmp_path / "mask.png"), "-o",
                 str(tmp_path / "out.tif"), "--model", "opencv-telea"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: cannot open") and err.count("\n") == 1, err


@pytest.mark.parametrize(("peak", "expected_peak"), [(255, 255), (65535, 255), (2**31 - 1, 255), (200, 200)])
def test_32_bit_integer_gray_is_scaled_by_its_range(tmp_path, peak, expected_peak):
    values = np.linspace(0, peak, 64).astype(np.int64).astype(np.int32).reshape(8, 8)
    Image.fromarray(values).save(tmp_path / "g.tif")
    assert Image.open(tmp_path / "g.tif").mode == "I"
    rgb = load_image(tmp_path / "g.tif").rgb
    assert rgb[..., 0].max() == expected_peak and rgb[..., 0].min() == 0
    assert (rgb[..., 0] == rgb[..., 2]).all()


def test_a_pipe_is_refused_at_once(tmp_path):
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        load_image(fifo)


@pytest.mark.parametrize("ext", ["jpg", "png", "webp", "tif"])
def test_location_is_dropped_unless_asked_for_and_camera_settings_kept(tmp_path, ext):
    exif = Image.Exif()
    exif[0x010F] = "FusionPaint test camera"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)}  # GPS IFD: Paris
    exif[0x8769] = {0x829A: (1, 125)}  # Exif IFD: exposure time, as every camera writes
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(tmp_path / f"in.{ext}", exif=exif.tobytes())
    photo = load_image(tmp_path / f"in.{ext}")
    assert 0x8825 in Image.open(tmp_path / f"in.{ext}").getexif()
    save_image(tmp_path / f"plain.{ext}", photo.rgb, like=photo)
    save_image(tmp_path / f"located.{ext}", photo.rgb, like=photo, keep_gps=True)
    plain = Image.open(tmp_path / f"plain.{ext}").getexif()
    located = Image.open(tmp_path / f"located.{ext}").getexif()
    assert 0x8825 not in plain and plain.get(0x010F) == "FusionPaint test camera"
    assert located.get_ifd(0x8825).get(1) == "N" and located.get(0x010F) == "FusionPaint test camera"
    for saved in (plain, located):  # the camera settings survive either way, TIFF included
        exposure = saved.get_ifd(0x8769)[0x829A]
        assert float(exposure[0] / exposure[1] if isinstance(exposure, tuple) else exposure) == pytest.approx(1 / 125)


@pytest.mark.parametrize("size", [(20_000, 1), (1, 150), (70_000, 1_000)])
def test_extreme_shapes_are_refused_up_front(tmp_path, size):
    Image.new("L", size).save(tmp_path / "strip.png")
    with pytest.raises(ImageError, match=r"outside what FusionPaint handles \(sides up to 65535 px, at most 100:1\)"):
        load_image(tmp_path / "strip.png")


def _repeat_last_scan(data: bytes, times: int) -> bytes:
    """A progressive JPEG whose last scan is written `times` more times before the end marker."""
    last = data.rindex(b"\xff\xda")
    end = data.rindex(b"\xff\xd9")
    return data[:end] + data[last:end] * times + data[end:]


def test_a_jpeg_of_thousands_of_repeated_scans_is_refused_before_decoding(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(_smooth(64, 64)).save(buffer, "JPEG", progressive=True)
    normal, bomb = tmp_path / "normal.jpg", tmp_path / "bomb.jpg"
    normal.write_bytes(buffer.getvalue())
    bomb.write_bytes(_repeat_last_scan(buffer.getvalue(), 2000))
    assert load_image(normal).rgb.shape == (64, 64, 3)
    with pytest.raises(ImageError, match="scans"):
        load_image(bomb)


def test_a_colour_profile_too_large_to_read_is_named_as_such(tmp_path):
    src = tmp_path / "big_profile.png"
    Image.fromarray(_smooth(16, 16)).save(src, icc_profile=np.random.default_rng(0).bytes(3 * 2**20))
    with pytest.raises(ImageError, match="colour profile") as caught:
        load_image(src)
    assert "corrupt" not in str(caught.value)


def test_an_absurd_pixel_density_is_not_kept(tmp_path):
    src = tmp_path / "dense.png"
    Image.fromarray(_smooth(16, 16)).save(src, dpi=(1e8, 1e8))  # 3.9e9 pixels per metre: the field's maximum
    assert load_image(src).dpi is None
    sane = tmp_path / "sane.png"
    Image.fromarray(_smooth(16, 16)).save(sane, dpi=(300, 300))
    assert load_image(sane).dpi == pytest.approx((300, 300), abs=0.01)


def _temporary_files_on_a_full_disk(monkeypatch) -> None:
    """Make every temporary file of atomic_write a link to /dev/full, whose writes fail with ENOSPC as on a full disk
    (for writes Python makes and for those a C library such as libtiff makes on the file descriptor alike)."""
    import tempfile

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    real_mkstemp = tempfile.mkstemp

    def mkstemp_on_full_disk(*args, **kwargs):
        fd, name = real_mkstemp(*args, **kwargs)
        os.close(fd)
        os.unlink(name)
        os.symlink("/dev/full", name)
        return os.open(name, os.O_WRONLY), name

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp_on_full_disk)


@pytest.mark.parametrize("name", ["out.tif", "out.tiff", "out.png", "out.jpg", "out.webp", "out.bmp"])
def test_a_full_disk_is_one_disk_full_error_in_every_format(tmp_path, monkeypatch, capfd, name):
    _temporary_files_on_a_full_disk(monkeypatch)
    out = tmp_path / name
    out.write_bytes(b"old contents")
    with pytest.raises(WriteError) as info:
        save_image(out, _pattern(300, 400), alpha=np.full((300, 400), 200, np.uint8))
    assert str(info.value) == f"could not save {out}: disk full"
    assert capfd.readouterr().err == ""  # nothing from the encoder's own library on the terminal
    assert out.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == [name]


@pytest.mark.parametrize("length", [241, 242, 250, 255])
def test_names_up_to_the_longest_a_folder_holds_can_be_saved(tmp_path, length):
    out = tmp_path / ("x" * (length - 4) + ".png")
    save_image(out, _smooth(8, 8))
    assert load_image(out).rgb.shape == (8, 8, 3)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
    accented = tmp_path / ("é" * ((length - 4) // 2) + "x" * ((length - 4) % 2) + ".png")  # 2 bytes a letter
    save_image(accented, _smooth(8, 8))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, accented.name])


def test_a_name_ending_in_a_separator_names_a_folder_and_is_refused(tmp_path):
    with pytest.raises(WriteError, match="names a folder"):
        save_image(str(tmp_path / "out.png") + os.sep, _smooth(8, 8))
    assert list(tmp_path.iterdir()) == []
