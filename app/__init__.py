"""FusionPaint desktop editor: the Qt-free document and settings, and the PySide6 windows (``qt_*`` modules)."""
