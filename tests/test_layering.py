"""engine/ and trainer/ stay free of Qt and the GUI; the GUI runs the trainer only as a separate process."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout


def test_engine_imports_without_qt():
    code = ("import sys, engine.pipeline, engine.worker, engine.registry, engine.cli; "
            "sys.exit(1 if any(m.startswith(('PySide6', 'app')) for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
