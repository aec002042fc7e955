"""The object tool: a box dragged around an object becomes its mask, found by GrabCut off the GUI thread.

GrabCut (:func:`engine.grabcut.object_mask`) takes a second or two even on its downscaled crop, so each box runs on
a helper thread while the window stays live: painting, zooming, more boxes (they queue) and removals go on
meanwhile. The object is then added to the mask (subtracted with Alt) as one undo step, its undo record made on the
helper thread too (a large object's takes tens of ms); while a stroke, lasso or rectangle is being drawn it waits
for that gesture to end. Esc drops every box still pending; so does any change of the photo's pixels (a removal,
undo, another photo): a mask found on other pixels no longer fits them.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from app.qt_background import BackgroundTasks
from engine.errors import FusionPaintError
from engine.grabcut import GROW_PX, ITERATIONS, object_mask


def _find(image, box, stop: threading.Event):
    """``object_mask``'s (region, mask), or the exception it raised (helper thread)."""
    try:
        return object_mask(image, box, GROW_PX, ITERATIONS, cancelled=stop.is_set)
    except (FusionPaintError, MemoryError) as exc:
        return exc


def _undo_record(document, request: _Request) -> tuple:
    """(the document's mask patch of ``request``'s object, or None when it changes nothing) (helper thread)."""
    region, mask = request.found
    return (document.mask_patch(region, mask, request.subtract),)


@dataclass(eq=False)
class _Request:
    """One box: searched, then its undo record made, then applied."""

    subtract: bool
    pixel_changes: int  # ObjectSelection._pixel_changes when the box was drawn
    stop: threading.Event = field(default_factory=threading.Event)  # set: stop searching, the result will not fit
    found: tuple | None = None  # (region, bool mask) once GrabCut has found the object
    preparing: bool = False  # its undo record is being made


class ObjectSelection(QObject):
    """Turns the canvas's object boxes into mask edits of the current document.

    Signals: ``message(text)``, a one-line outcome for the status bar; ``busy_changed(busy)``, True while a box is
    being searched or applied."""

    message = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, canvas, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._canvas = canvas
        self._document = None
        self._pixel_changes = 0  # how often the document's pixels changed: an object found on older ones is dropped
        self._mask_changes = 0  # the same for its mask: an undo record made from an older mask is made again
        self._tasks = BackgroundTasks(self)
        self._pending: list[_Request] = []
        canvas.object_box_drawn.connect(self.select)
        canvas.gesture_finished.connect(self._prepare_found)

    @property
    def busy(self) -> bool:
        """True while a box is being searched or applied."""
        return bool(self._pending)

    def set_document(self, document) -> None:
        """The document boxes now apply to (None: no photo); boxes pending for the previous one are dropped."""
        if self._document is not None:
            self._document.remove_listener(self._on_document_changed)
        self._drop()
        self._document = document
        if document is not None:
            document.add_listener(self._on_document_changed)

    def select(self, x0: float, y0: float, x1: float, y1: float, subtract: bool) -> None:
        """Find the object in the box spanned by image points (x0, y0) and (x1, y1) on a helper thread, then add it to
        the mask (``subtract``: remove it)."""
        document = self._document
        if document is None:
            return
        box = document.rect_pixels(x0, y0, x1, y1) or (0, 0, 0, 0)  # a click: too small, said by the engine
        request = _Request(subtract, self._pixel_changes)
        self._pending.append(request)
        self._tasks.submit(lambda outcome: self._found(request, outcome), _find, document.image, box, request.stop)
        self.busy_changed.emit(True)

    def cancel(self) -> bool:
        """Esc: drop every box still pending. False when there was none."""
        if not self._pending:
            return False
        self._drop()
        self.message.emit("Object selection cancelled; the mask is unchanged.")
        return True

    def _drop(self) -> None:
        for request in self._pending:
            request.stop.set()
        self._pending = []
        self.busy_changed.emit(False)

    def _finish(self, request: _Request, text: str) -> None:
        self._pending.remove(request)
        if not self._pending:
            self.busy_changed.emit(False)
        self.message.emit(text)

    def _on_document_changed(self, kind: str, _box) -> None:
        if kind in ("mask", "exclude"):  # either may be the mask a prepared edit was made from
            self._mask_changes += 1
        elif kind == "image":
            self._pixel_changes += 1
            for request in self._pending:  # what they find no longer fits: said when they stop
                request.stop.set()

    def _stale(self, request: _Request) -> bool:
        """True, said in the status bar, when the photo's pixels changed since ``request``'s box was drawn."""
        if request.pixel_changes == self._pixel_changes:
            return False
        self._finish(request, "Object selection dropped: the photo changed while it was searched. Drag the box "
                     "again.")
        return True

    def _found(self, request: _Request, outcome) -> None:
        if request not in self._pending or self._stale(request):
            return  # cancelled, searched in another photo, or found on pixels that have changed since
        if outcome is None or isinstance(outcome, BaseException):
            text = ("not enough memory" if isinstance(outcome, MemoryError) else
                    str(outcome) if isinstance(outcome, FusionPaintError) else "the search failed")
            self._finish(request, f"No object selected: {text}.")
            return
        request.found = outcome
        self._prepare_found()

    def _prepare_found(self) -> None:
        """Make the undo record of every object found, on the helper thread, unless a gesture is being drawn (its
        end calls this again)."""
        if self._canvas.gesture_active:
            return
        for request in self._pending:
            if request.found is not None and not request.preparing:
                request.preparing = True
                self._tasks.submit(lambda made, r=request, c=self._mask_changes: self._prepared(r, c, made),
                                   _undo_record, self._document, request)

    def _prepared(self, request: _Request, mask_changes: int, made) -> None:
        if request not in self._pending or self._stale(request):
            return
        request.preparing = False
        if made is None:
            self._finish(request, "No object selected: not enough memory.")
        elif mask_changes != self._mask_changes or self._canvas.gesture_active:
            self._prepare_found()  # the mask changed meanwhile: made again from the current one (after a gesture)
        elif made[0] is None:
            self._finish(request, "The object was already " + ("outside" if request.subtract else "in") + " the mask.")
        else:
            self._document.apply_mask_patch(made[0], "object")
            self._finish(request, "Object " + ("removed from" if request.subtract else "added to") + " the mask.")
