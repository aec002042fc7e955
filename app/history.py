"""Bounded undo/redo history of compact steps (no Qt).

A step records only the rectangle an edit changed: the old and new values of that box of one mask, the hole or the
exclude mask (bit-packed, 1 bit per pixel), and/or the old and new uint8 RGB pixels of a box. The history is bounded
both by the number of steps and by the total bytes the steps hold (undo and redo branches together); the oldest steps
go first.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from engine.regions import Box


@dataclass(frozen=True)
class MaskPatch:
    """Old and new values of ``box`` of the ``layer`` mask ("hole" or "exclude"), each ``np.packbits`` of the bool
    (h, w) block in C order."""

    box: Box
    old: np.ndarray
    new: np.ndarray
    layer: str = "hole"

    @classmethod
    def from_arrays(cls, box: Box, old: np.ndarray, new: np.ndarray, layer: str = "hole") -> MaskPatch:
        """Pack bool (h, w) blocks ``old`` and ``new`` (values of the ``layer`` mask in ``box`` before and after)."""
        return cls(box, np.packbits(old, axis=None), np.packbits(new, axis=None), layer)

    @property
    def shape(self) -> tuple[int, int]:
        y0, x0, y1, x1 = self.box
        return (y1 - y0, x1 - x0)

    def unpack(self, which: str) -> np.ndarray:
        """The bool (h, w) block ``"old"`` or ``"new"``."""
        h, w = self.shape
        bits = self.old if which == "old" else self.new
        return np.unpackbits(bits, count=h * w).view(bool).reshape(h, w)

    @property
    def nbytes(self) -> int:
        return int(self.old.nbytes + self.new.nbytes)


@dataclass(frozen=True)
class ImagePatch:
    """Old and new uint8 RGB pixels (h, w, 3) of ``box``."""

    box: Box
    old: np.ndarray
    new: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.old.nbytes + self.new.nbytes)


@dataclass(frozen=True)
class Step:
    """One undoable edit: a mask patch, an image patch, or both (e.g. applying an inpainting result).

    ``image_version_before``/``image_version_after`` identify the pixel state before and after the step, so the
    document can tell whether undo/redo brought it back to the saved pixels.
    """

    label: str
    mask: MaskPatch | None = None
    image: ImagePatch | None = None
    image_version_before: int = 0
    image_version_after: int = 0

    @property
    def nbytes(self) -> int:
        return (self.mask.nbytes if self.mask else 0) + (self.image.nbytes if self.image else 0)


class History:
    """Undo and redo stacks of :class:`Step`, bounded by ``max_bytes`` (total held) and ``max_steps`` (undo side).

    ``push`` drops the redo branch, then drops the oldest steps until both limits hold; a single step larger than
    ``max_bytes`` is therefore not kept at all (the edit itself still happened, it just cannot be undone).
    """

    def __init__(self, max_bytes: int = 1 << 30, max_steps: int = 200) -> None:
        if max_bytes < 0 or max_steps < 0:
            raise ValueError("history limits must be >= 0")
        self.max_bytes = int(max_bytes)
        self.max_steps = int(max_steps)
        self._undo: deque[Step] = deque()
        self._redo: deque[Step] = deque()
        self._nbytes = 0

    @property
    def nbytes(self) -> int:
        """Bytes held by all steps (undo and redo)."""
        return self._nbytes

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_count(self) -> int:
        return len(self._undo)

    @property
    def redo_count(self) -> int:
        return len(self._redo)

    def push(self, step: Step) -> None:
        """Record a new step: the redo branch is dropped, then the oldest steps while a limit is exceeded."""
        while self._redo:
            self._nbytes -= self._redo.pop().nbytes
        self._undo.append(step)
        self._nbytes += step.nbytes
        self._trim()

    def set_max_bytes(self, max_bytes: int) -> None:
        """A new memory limit (bytes, >= 0); the oldest steps go at once if the history holds more (redo first)."""
        if max_bytes < 0:
            raise ValueError("history limits must be >= 0")
        self.max_bytes = int(max_bytes)
        while self._redo and self._nbytes > self.max_bytes:
            self._nbytes -= self._redo.popleft().nbytes
        self._trim()

    def _trim(self) -> None:
        while self._undo and (len(self._undo) > self.max_steps or self._nbytes > self.max_bytes):
            self._nbytes -= self._undo.popleft().nbytes

    def undo(self) -> Step | None:
        """Move the newest step to the redo side and return it (the caller restores its old values)."""
        if not self._undo:
            return None
        step = self._undo.pop()
        self._redo.append(step)
        return step

    def redo(self) -> Step | None:
        """Move the last undone step back to the undo side and return it (the caller applies its new values)."""
        if not self._redo:
            return None
        step = self._redo.pop()
        self._undo.append(step)
        return step
