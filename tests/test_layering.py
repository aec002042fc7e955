"""engine/ and trainer/ stay free of Qt and the GUI; the GUI runs the trainer only as a separate process; the
trainer's modules import in layers, without a cycle. Every contract of pyproject.toml is checked and kept."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = settings["tool"]["importlinter"]["contracts"]
    assert any(contract["type"] == "layers" and "trainer.loop" in str(contract["layers"]) for contract in contracts)
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(contracts)} kept, 0 broken." in result.stdout, result.stdout


def test_engine_imports_without_qt():
    code = ("import sys, engine.pipeline, engine.worker, engine.registry, engine.cli; "
            "sys.exit(1 if any(m.startswith(('PySide6', 'app')) for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
