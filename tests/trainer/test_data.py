"""Photo folder split, decode-once cache (corrupt/tiny files skipped), on-device batch sampling."""

import numpy as np
import pytest
import torch
from PIL import Image

from trainer.data import BatchSampler, PhotoCache, split_folder


def _photo(path, w, h, seed, fmt=None, exif_orientation=None):
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    im = Image.fromarray(arr)
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    im.save(path, format=fmt, **kwargs)
    return arr


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    exts = [".jpg", ".png", ".webp", ".tiff", ".bmp"]
    for i in range(20):
        sub = tmp_path if i % 3 == 0 else tmp_path / "sub" if i % 3 == 1 else tmp_path / "sub" / "deeper"
        _photo(sub / f"p{i:02d}{exts[i % 5]}", 40 + i, 36, i)
    (tmp_path / "notes.txt").write_text("not a photo")
    return tmp_path


def test_split_is_recursive_disjoint_and_fixed_by_seed(folder):
    s = split_folder(folder, held_out_fraction=0.1, min_held_out=3, seed=0)
    assert len(s.train) + len(s.held_out) == 20
    assert len(s.held_out) == 3
    assert not set(s.train) & set(s.held_out)
    assert {p.suffix for p in s.train + s.held_out} == {".jpg", ".png", ".webp", ".tiff", ".bmp"}
    assert s == split_folder(folder, held_out_fraction=0.1, min_held_out=3, seed=0)
    others = {split_folder(folder, held_out_fraction=0.1, min_held_out=3, seed=k).held_out for k in range(1, 6)}
    assert any(h != s.held_out for h in others)
    assert len(split_folder(folder, held_out_fraction=0.5, min_held_out=1).held_out) == 10


def test_split_stable_when_photos_are_added(folder):
    before = split_folder(folder, held_out_fraction=0.0, min_held_out=4, seed=1)
    _photo(folder / "zz_new.png", 40, 40, 99)
    after = split_folder(folder, held_out_fraction=0.0, min_held_out=4, seed=1)
    assert len(set(before.held_out) & set(after.held_out)) >= 3


def test_split_errors_and_tiny_folders(tmp_path):
    with pytest.raises(ValueError, match="no photos in"):
        split_folder(tmp_path)
    _photo(tmp_path / "only.png", 20, 20, 0)
    s = split_folder(tmp_path)
    assert len(s.train) == 1 and s.held_out == ()


def test_cache_skips_corrupt_and_tiny_files(tmp_path):
    good = [tmp_path / f"g{i}.png" for i in range(3)]
    for i, p in enumerate(good):
        _photo(p, 50, 40, i)
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (tmp_path / "truncated.png").write_bytes((tmp_path / "g0.png").read_bytes()[:60])
    _photo(tmp_path / "tiny.png", 10, 8, 5)
    lines = []
    cache = PhotoCache.decode(
        good + [tmp_path / "corrupt.jpg", tmp_path / "truncated.png", tmp_path / "tiny.png"],
        min_side=32, max_side=64, log=lines.append,
    )
    assert len(cache) == 3 and len(cache.skipped) == 3
    assert {p.name for p, _ in cache.skipped} == {"corrupt.jpg", "truncated.png", "tiny.png"}
    assert any("too small" in r for _, r in cache.skipped)
    assert lines[-1] == "decoded 3 photos, skipped 3"
    assert all(im.dtype == np.uint8 and im.shape[2] == 3 for im in cache.images)
    with pytest.raises(ValueError):
        PhotoCache.decode([tmp_path / "corrupt.jpg"], min_side=8, max_side=64)


def test_cache_downscales_and_applies_exif(tmp_path):
    _photo(tmp_path / "big.jpg", 120, 60, 0, exif_orientation=6)  # rotate 90: stored 120x60 -> 60x120
    cache = PhotoCache.decode([tmp_path / "big.jpg"], min_side=16, max_side=30)
    h, w = cache.images[0].shape[:2]
    assert (h, w) == (60, 30)  # EXIF rotation applied, then short side 60 -> 30


def _cache(tmp_path, n=4):
    paths = []
    for i in range(n):
        p = tmp_path / f"c{i}.png"
        _photo(p, 48 + 8 * i, 40, i)
        paths.append(p)
    return PhotoCache.decode(paths, min_side=16, max_side=128)


def test_batch_sampler_shapes_range_and_reproducibility(tmp_path):
    cache = _cache(tmp_path)
    s = BatchSampler(cache, size=32, batch=5, device="cpu", seed=3)
    b = s.next()
    assert b.shape == (5, 3, 32, 32) and b.dtype == torch.float32 and b.device.type == "cpu"
    assert b.min() >= 0.0 and b.max() <= 1.0
    assert not torch.equal(b[0], b[1])
    again = BatchSampler(cache, size=32, batch=5, device="cpu", seed=3)
    assert torch.equal(again.next(), b)
    assert not torch.equal(BatchSampler(cache, size=32, batch=5, device="cpu", seed=4).next(), b)


def test_batch_sampler_resume(tmp_path):
    cache = _cache(tmp_path)
    s = BatchSampler(cache, size=24, batch=3, device="cpu", seed=0)
    s.next()
    s.next()
    state = s.state_dict()
    expected = s.next()
    resumed = BatchSampler(cache, size=24, batch=3, device="cpu", seed=0)
    resumed.load_state_dict(state)
    assert torch.equal(resumed.next(), expected)


def test_batch_sampler_visits_every_photo_once_per_epoch(tmp_path):
    cache = _cache(tmp_path, n=5)
    s = BatchSampler(cache, size=16, batch=5, device="cpu", seed=0)
    first = [s._photo_index(k) for k in range(5)]
    second = [s._photo_index(k) for k in range(5, 10)]
    assert sorted(first) == sorted(second) == list(range(5))


def test_batch_sampler_crop_keeps_content(tmp_path):
    """A crop of a flat-colour photo has exactly that colour (resizing does not shift values)."""
    p = tmp_path / "flat.png"
    Image.fromarray(np.full((40, 60, 3), (10, 128, 250), np.uint8)).save(p)
    cache = PhotoCache.decode([p], min_side=16, max_side=64)
    b = BatchSampler(cache, size=24, batch=4, device="cpu", seed=1).next()
    expected = torch.tensor([10, 128, 250]).view(1, 3, 1, 1) / 255.0
    assert torch.allclose(b, expected.expand_as(b), atol=1e-5)


def test_small_folders_keep_three_quarters_for_training(tmp_path):
    for i in range(3):
        _photo(tmp_path / f"p{i}.png", 20, 20, i)
    assert split_folder(tmp_path, min_held_out=5).held_out == ()
    for i in range(3, 8):
        _photo(tmp_path / f"p{i}.png", 20, 20, i)
    s = split_folder(tmp_path, min_held_out=5)
    assert (len(s.train), len(s.held_out)) == (6, 2)
