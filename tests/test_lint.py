"""The tree stays clean under the project's linter (ruff, configured in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff():
    exe = shutil.which("ruff")
    if exe:
        return [exe]
    try:
        import ruff  # noqa: F401 - the PyPI package ships the binary
    except ImportError:
        return None
    return [sys.executable, "-m", "ruff"]


def test_ruff_is_clean():
    cmd = _ruff()
    if cmd is None:
        if __import__("os").environ.get("CI"):
            pytest.fail("ruff is not installed; `pip install -e .[dev]` installs it")
        pytest.skip("ruff is not installed (pip install -e .[dev])")
    res = subprocess.run(cmd + ["check", "cxinfluence", "tests", "benchmarks", "data"], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
