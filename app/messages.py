"""Engine messages worded for the editor's dialogs."""

from __future__ import annotations

from engine.model_spec import ModelSpec
from engine.registry import default_model_name, get_spec


def sentence(text: str) -> str:
    """An engine message as a sentence for a dialog: capital first letter, final full stop (the command line prints
    the same messages after "error: ")."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if not text or text.endswith((".", "!", "?", ")")) else text + "."


def no_weights_text(spec: ModelSpec) -> str:
    """Why a network without weights cannot be used, and what to do (no file paths: they mean nothing here)."""
    return (f"{spec.title} has no trained weights yet, so it cannot remove objects. FusionPaint ships weights once "
            f"they fill better than the classical fills. Meanwhile use {get_spec(default_model_name()).title}, or "
            "train it on your own photos with File > Fine-tune on a folder...")
