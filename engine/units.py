"""Quantities and names written for people (shared by the editor and the trainer, which may not import each other)."""

import math


def format_duration(seconds: float | None) -> str:
    """A duration in seconds as '1:02:03' or '4:05'; '?' when unknown (None, NaN or infinite)."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def printable(text: str) -> str:
    """``text`` with its control and other unprintable characters escaped as in ``repr`` (``\\x1b``, ``\\n``), so a
    name read from a file cannot move the cursor, recolour or clear a terminal."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
