"""Per-user folders (platformdirs). ``FUSIONPAINT_HOME`` overrides all of them (tests, portable installs)."""

import os
from pathlib import Path

import platformdirs

APP_NAME = "FusionPaint"


def _home_override() -> Path | None:
    home = os.environ.get("FUSIONPAINT_HOME")
    return Path(home) if home else None


def user_config_dir() -> Path:
    """Folder for settings (settings.json, recent files)."""
    home = _home_override()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def user_data_dir() -> Path:
    """Folder for user data: fine-tuned models, training runs."""
    home = _home_override()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_models_dir() -> Path:
    """Folder the trainer exports fine-tuned models to and the registry scans (``*.safetensors`` + card)."""
    return user_data_dir() / "models"


def user_runs_dir() -> Path:
    """Folder for training runs (checkpoints, previews, logs)."""
    return user_data_dir() / "runs"
