"""The trainer's error for a bad setting and its rule for run and model names (shared by the settings, the runs
folder and the loop)."""

from __future__ import annotations

import re

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
"""A valid run or model name, matched with ``fullmatch`` (``$`` would let a trailing newline through)."""


class ConfigError(ValueError):
    """A bad setting or unusable input data; the message is one line naming the setting or folder."""
