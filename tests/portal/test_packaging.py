"""Installing the project prints no warning from its own pyproject.toml: setuptools'
deprecations (the license as a table) were the first lines a new operator read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_editable_install_is_prepared_without_a_build_backend_warning() -> None:
    # --dry-run: pip builds the metadata in an isolated environment (where setuptools reads
    # pyproject.toml and would warn) and installs nothing.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "-e", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Would install custodian-0.1.0" in output
    assert "BuildBackendWarning" not in output, output[-3000:]
    assert "deprecated" not in output.lower(), output[-3000:]
