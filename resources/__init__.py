"""Files shipped with FusionPaint: sample photos, icons and default weights."""

from pathlib import Path

RESOURCES_DIR = Path(__file__).resolve().parent
SAMPLES_DIR = RESOURCES_DIR / "samples"
WEIGHTS_DIR = RESOURCES_DIR / "weights"
ICONS_DIR = RESOURCES_DIR / "icons"
