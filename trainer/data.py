"""Training photos: folder scan and held-out split, decode-once cache, on-device augmentation.

- `split_folder` lists every supported photo under a folder (recursive) and holds a few out, chosen by a
  seeded hash of each file's relative path, so the split is fixed by the seed and stays stable when
  photos are added.
- `PhotoCache` decodes each file once (EXIF orientation applied, via engine.imageio.load_image) into
  uint8 RGB arrays, downscaled to a maximum short side; unreadable and tiny files are skipped and listed.
- `BatchSampler` uploads the cache to the training device once (or keeps it in pinned host memory when
  it is too large for the device budget) and builds batches with torch ops on the device: random square
  window (random rescale), resize to the training size, random horizontal flip. No decoding per batch.
"""

from __future__ import annotations

import hashlib
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from engine.errors import ImageError
from engine.formats import image_files
from engine.imageio import load_image

if TYPE_CHECKING:
    from trainer.masks import FolderMaskSampler, MaskSampler

SCALE_RANGE = (0.75, 1.25)
"""Random rescale factors, relative to the scale at which the photo's short side just covers the crop."""

DEVICE_BYTES_BUDGET = 4 * 1024**3
"""A cache larger than this stays in (pinned) host memory and only the crop windows are copied per batch."""


@dataclass(frozen=True)
class PhotoSplit:
    """Photo files of a folder: ``train`` and ``held_out`` (disjoint, each sorted)."""

    train: tuple[Path, ...]
    held_out: tuple[Path, ...]


@dataclass
class TrainingBatch:
    """One batch on the training device: images (B,3,S,S) RGB [0,1], holes (B,1,S,S) 1 = hole, and fill: the
    hole's classical pre-fill (B,3,S,S) RGB [0,1], pixels outside the hole = the image's, or None (zeros)."""

    images: Tensor
    holes: Tensor
    fill: Tensor | None


def list_photos(root: str | Path) -> list[Path]:
    """Every file under ``root`` (recursive) with a supported photo extension, sorted by path."""
    folder = Path(root)
    if not folder.is_dir():
        raise ValueError(f"photo folder not found: {folder}")
    return image_files(folder, recursive=True)


def split_folder(
    root: str | Path, *, held_out_fraction: float = 0.03, min_held_out: int = 5, seed: int = 0
) -> PhotoSplit:
    """Scan ``root`` and split its photos into train and held-out sets.

    The held-out count is ``max(min(min_held_out, n // 4), round(held_out_fraction * n))``, capped so that at
    least one photo is left for training: a small folder keeps three quarters of its photos for training (a folder
    of 1-3 photos has no held-out set), a large one holds out ``held_out_fraction``. The held-out photos are those
    with the smallest sha256 of "seed:relative/path", so the split depends only on the seed and the names,
    not on the scan order. Raises ValueError("no photos in DIR") when the folder has none.
    """
    if not 0.0 <= held_out_fraction < 1.0:
        raise ValueError(f"held_out_fraction must be in [0, 1), got {held_out_fraction}")
    folder = Path(root)
    paths = list_photos(folder)
    if not paths:
        raise ValueError(f"no photos in {folder}")
    n = len(paths)
    n_held = min(max(min(int(min_held_out), n // 4), round(held_out_fraction * n)), n - 1)

    def key(p: Path) -> str:
        return hashlib.sha256(f"{seed}:{p.relative_to(folder).as_posix()}".encode()).hexdigest()

    held = set(sorted(paths, key=key)[:n_held])
    return PhotoSplit(
        train=tuple(p for p in paths if p not in held),
        held_out=tuple(p for p in paths if p in held),
    )


def _decode_one(path: Path, min_side: int, max_side: int) -> tuple[np.ndarray | None, str]:
    """(uint8 RGB image with short side <= max_side, "") or (None, reason to skip)."""
    try:
        rgb = load_image(path).rgb
    except (ImageError, OSError, ValueError) as exc:
        return None, f"unreadable: {exc}"
    h, w = rgb.shape[:2]
    if min(h, w) < min_side:
        return None, f"too small: {w}x{h} px (short side < {min_side} px)"
    if min(h, w) > max_side:
        f = max_side / min(h, w)
        size = (max(1, round(w * f)), max(1, round(h * f)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb), ""


class PhotoCache:
    """Decoded training photos held in memory.

    ``images``: list of uint8 (H, W, 3) RGB arrays, short side in [min_side, max_side].
    ``paths``: the file of each image. ``skipped``: (path, reason) for every file left out.
    """

    def __init__(self, images: list[np.ndarray], paths: list[Path], skipped: list[tuple[Path, str]]) -> None:
        self.images = images
        self.paths = paths
        self.skipped = skipped

    def __len__(self) -> int:
        return len(self.images)

    @property
    def nbytes(self) -> int:
        """Total size of the decoded pixels in bytes."""
        return sum(int(im.nbytes) for im in self.images)

    @classmethod
    def decode(
        cls,
        paths: Sequence[str | Path],
        *,
        min_side: int,
        max_side: int,
        log: Callable[[str], None] | None = None,
        deadline: float | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> PhotoCache:
        """Decode every file once (in a few threads), skipping unreadable files and short sides < ``min_side``.

        Photos with a short side above ``max_side`` are downscaled (area filter) to short side ``max_side``.
        ``deadline`` (``time.perf_counter()`` seconds): stop reading then, keeping the photos read so far (always a
        leading part of ``paths``, at least one usable photo). ``progress(done, total)`` after each file.
        ``log`` gets one line per skipped file and a summary line. Raises ValueError if nothing is usable.
        """
        if min_side < 1 or max_side < min_side:
            raise ValueError(f"need 1 <= min_side <= max_side, got min_side={min_side}, max_side={max_side}")
        files = [Path(p) for p in paths]
        workers = max(1, min(8, os.cpu_count() or 1))
        images, kept, skipped = [], [], []
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            futures = [pool.submit(_decode_one, p, min_side, max_side) for p in files]
            for done, (path, future) in enumerate(zip(files, futures, strict=True), start=1):
                rgb, reason = future.result()
                if rgb is None:
                    skipped.append((path, reason))
                    if log is not None:
                        log(f"skipped {path}: {reason}")
                else:
                    images.append(rgb)
                    kept.append(path)
                if progress is not None:
                    progress(done, len(files))
                if deadline is not None and images and done < len(files) and time.perf_counter() >= deadline:
                    if log is not None:
                        log(f"read {done} of {len(files)} photos within the time budget; training on those")
                    break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if log is not None:
            log(f"decoded {len(images)} photos, skipped {len(skipped)}")
        if not images:
            raise ValueError(f"none of the {len(files)} photo files is usable (all unreadable or too small)")
        return cls(images, kept, skipped)


class BatchSampler:
    """Random training crops: ``next()`` -> float32 (batch, 3, size, size) RGB in [0, 1] on ``device``.

    For each sample: a photo from a seeded per-epoch permutation of the cache; a scale
    ``s = max(1, size / short_side) * r`` with r log-uniform in `SCALE_RANGE`; a square window of side
    ``min(short_side, round(size / s))`` at a random position; the window resized to size x size
    (bilinear, antialiased when shrinking); a horizontal flip with probability 1/2. Batch number i depends
    only on (seed, i), so `state_dict` (the batch counter) resumes the exact sequence.

    The photos are copied to ``device`` once as uint8 tensors; a cache larger than
    `DEVICE_BYTES_BUDGET` stays in pinned host memory (when the device is a GPU) and only each window is
    copied. All augmentation runs on ``device``.
    """

    def __init__(self, cache: PhotoCache, *, size: int, batch: int, device: str | torch.device, seed: int) -> None:
        if len(cache) == 0:
            raise ValueError("BatchSampler: the photo cache is empty")
        if size < 1 or batch < 1:
            raise ValueError(f"BatchSampler: size and batch must be >= 1, got size={size}, batch={batch}")
        self.size = int(size)
        self.batch = int(batch)
        self.device = torch.device(device)
        self.seed = int(seed)
        self.batches = 0
        on_device = self.device.type == "cpu" or cache.nbytes <= DEVICE_BYTES_BUDGET
        pin = not on_device and self.device.type == "cuda"
        self._photos: list[Tensor] = []
        for im in cache.images:
            t = torch.from_numpy(im if im.flags.writeable else im.copy()).permute(2, 0, 1)  # uint8 (3, H, W)
            if on_device:
                t = t.to(self.device, non_blocking=False).contiguous()
            elif pin:
                t = t.contiguous().pin_memory()
            self._photos.append(t)
        self._shapes = [(int(im.shape[0]), int(im.shape[1])) for im in cache.images]
        self._perm_epoch = -1
        self._perm = np.arange(len(self._photos))

    def __len__(self) -> int:
        """Number of photos."""
        return len(self._photos)

    def _photo_index(self, k: int) -> int:
        epoch, pos = divmod(k, len(self._photos))
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(len(self._photos))
            self._perm_epoch = epoch
        return int(self._perm[pos])

    def _window(self, rng: np.random.Generator, h: int, w: int) -> tuple[int, int, int, bool]:
        """(y0, x0, side, flip) of the square source window for one sample."""
        short = min(h, w)
        lo, hi = SCALE_RANGE
        scale = max(1.0, self.size / short) * math.exp(rng.uniform(math.log(lo), math.log(hi)))
        side = max(1, min(short, round(self.size / scale)))
        y0 = int(rng.integers(0, h - side + 1))
        x0 = int(rng.integers(0, w - side + 1))
        return y0, x0, side, bool(rng.random() < 0.5)

    def next(self) -> Tensor:
        """The next batch: float32 (batch, 3, size, size), RGB, values in [0, 1], on ``device``."""
        rng = np.random.default_rng([self.seed, self.batches, 7])
        out = torch.empty((self.batch, 3, self.size, self.size), dtype=torch.float32, device=self.device)
        for j in range(self.batch):
            idx = self._photo_index(self.batches * self.batch + j)
            h, w = self._shapes[idx]
            y0, x0, side, flip = self._window(rng, h, w)
            window = self._photos[idx][:, y0 : y0 + side, x0 : x0 + side]
            window = window.to(self.device, non_blocking=True).unsqueeze(0).float().div_(255.0)
            if side != self.size:
                window = F.interpolate(
                    window, size=(self.size, self.size), mode="bilinear", align_corners=False,
                    antialias=side > self.size,
                )
            if flip:
                window = window.flip(3)
            out[j] = window[0].clamp_(0.0, 1.0)
        self.batches += 1
        return out

    def state_dict(self) -> dict[str, int]:
        """{"seed", "batches"}: enough to continue the same sequence."""
        return {"seed": self.seed, "batches": self.batches}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue from a `state_dict` (the seed must match the one given at construction)."""
        if int(state["seed"]) != self.seed:
            raise ValueError(f"BatchSampler: state was saved with seed {state['seed']}, this sampler has {self.seed}")
        self.batches = int(state["batches"])


class BatchSource:
    """Pairs of (images (B,3,S,S) [0,1], holes (B,1,S,S) {0,1}) from the photo and mask samplers.

    With ``prefetch`` > 0 one background thread fills a queue of that many batches; the samplers' states
    recorded with each batch make a checkpoint resume after the last *consumed* batch.
    """

    def __init__(self, photos: BatchSampler, masks: MaskSampler | FolderMaskSampler, prefetch: int) -> None:
        self.photos = photos
        self.masks = masks
        self.prefetch = prefetch
        self._state = self._sampler_state()
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _sampler_state(self) -> dict:
        return {"photos": self.photos.state_dict(), "masks": self.masks.state_dict()}

    def _make(self) -> tuple[Tensor, Tensor, dict]:
        images = self.photos.next()
        holes = self.masks.next(images.shape[0])
        return images, holes, self._sampler_state()

    def _worker(self) -> None:
        assert self._queue is not None
        try:
            while not self._stop.is_set():
                item = self._make()
                while not self._stop.is_set():
                    try:
                        self._queue.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # handed to the training thread
            self._queue.put(exc)

    def next(self) -> tuple[Tensor, Tensor]:
        if self.prefetch <= 0:
            images, holes, self._state = self._make()
            return images, holes
        if self._thread is None:
            self._queue = queue.Queue(maxsize=self.prefetch)
            self._thread = threading.Thread(target=self._worker, name="batch-prefetch", daemon=True)
            self._thread.start()
        assert self._queue is not None, "the queue is made with the prefetch thread"
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        images, holes, self._state = item
        return images, holes

    def state_dict(self) -> dict:
        """Sampler states right after the last batch returned by :meth:`next`."""
        return {"photos": dict(self._state["photos"]), "masks": dict(self._state["masks"])}

    def load_state_dict(self, state: dict) -> None:
        self.photos.load_state_dict(state["photos"])
        self.masks.load_state_dict(state["masks"])
        self._state = self._sampler_state()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
