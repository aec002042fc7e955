"""Errors the engine raises. Each message is one line a user can act on and names the file involved."""


class FusionPaintError(Exception):
    """Base class: an expected failure with a message fit to show the user."""


class ImageError(FusionPaintError):
    """An image or mask file is missing, corrupt, unsupported or too large."""


class WriteError(FusionPaintError):
    """A file could not be written (disk full, permission denied, missing folder, ...); nothing was replaced."""


class ModelUnavailable(FusionPaintError):
    """A model cannot be used: unknown name, or a network with no weights installed."""


class WeightsError(FusionPaintError):
    """A weights file is truncated, has the wrong architecture or fails its sha256 check."""


class JobCancelled(FusionPaintError):
    """A job was cancelled before it finished."""


class JobTooLarge(FusionPaintError):
    """A removal would need more memory than the system has free; refused before any work."""


class NothingToSample(FusionPaintError):
    """The sampling area's exclusion leaves a hole nothing to be filled from; refused before any work."""
