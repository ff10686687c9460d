"""Packaging checks: dependency lists agree, and the package imports fast."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _normalise(req):
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req).groups()
    spec = spec.replace(" ", "")
    # conda writes an exact pin as name=1.2.3, pip as name==1.2.3
    spec = re.sub(r"^=(?!=)", "==", spec)
    return name.lower().replace("_", "-"), spec


def _yaml_dependencies():
    deps, in_deps = [], False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"^  - (\S.*)$", line)
        if in_deps and m:
            deps.append(m.group(1).strip())
    return [d for d in deps if d not in ("pip", "pip:") and not d.startswith("python=")]


def test_environment_yml_matches_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = dict(_normalise(r) for r in pyproject["project"]["dependencies"])
    conda = dict(_normalise(r) for r in _yaml_dependencies())
    assert conda == declared


def test_environment_yml_installs_the_project_with_pip():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^  - pip:\n      - -e \.\s*$", text, re.M)
    assert "conda-forge" in text and re.search(r"python=3\.\d+", text)


def test_import_is_light():
    """`import cxinfluence` must not pull in the heavy libraries."""
    code = (
        "import sys, cxinfluence, cxinfluence.village, cxinfluence.schema;"
        "heavy = [m for m in ('statsmodels', 'pyvis', 'seaborn', 'matplotlib', 'networkx') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_required_top_level_layout():
    for name in ("notebooks", "cxinfluence", "data", "tests", "environment.yml", "README.md"):
        assert (ROOT / name).exists(), name
