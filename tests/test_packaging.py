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
        "import sys, cxinfluence, cxinfluence.village.core, cxinfluence.village.schema;"
        "heavy = [m for m in ('statsmodels', 'pyvis', 'seaborn', 'matplotlib', 'networkx') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_fits_import_only_the_statsmodels_they_use():
    """The models import statsmodels' GLM, OLS, families and formulas, not ``statsmodels.api`` (which adds time
    series, multivariate and more: ~0.45 s of every run's and demo's imports). Both fit paths: statsmodels' own
    (small data) and the lean one (from 50,000 rows), with the results' statsmodels objects built."""
    code = (
        "import sys, numpy as np, pandas as pd, cxinfluence as cx;"
        "rng = np.random.default_rng(0);"
        "n = 60000; x = rng.normal(size=n);"
        "f = pd.DataFrame({'account_id': np.arange(n).astype(str), 'influence_weighted': x,"
        " 'renewed': (rng.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(float)});"
        "big = cx.fit_rebuy(f, controls=[]); small = cx.fit_rebuy(f.iloc[:500], controls=[]);"
        "big.result.statsmodels(); small.tidy(); big.marginal_effects();"
        "print('statsmodels.api' in sys.modules, 'statsmodels.genmod.generalized_linear_model' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"], out.stdout + out.stderr


def test_required_top_level_layout():
    for name in ("notebooks", "cxinfluence", "data", "tests", "environment.yml", "README.md"):
        assert (ROOT / name).exists(), name


STAGES = ["village", "network", "listening", "sentiment", "comments", "models", "present", "pipeline"]


def _run(code):
    return subprocess.run([sys.executable, "-W", "always::DeprecationWarning", "-c", code],
                          capture_output=True, text=True, check=True)


def test_public_names_are_never_module_names():
    """`cx.coverage` is the function whatever was imported before (it used to depend on order)."""
    out = _run(
        "import cxinfluence as cx, cxinfluence.listening.coverage, cxinfluence.models.findings;"
        "import types; print(type(cx.coverage).__name__, type(cx.findings).__name__,"
        " type(cx.models.findings).__name__, type(cx.listening.coverage).__name__)")
    assert out.stdout.split() == ["function"] * 4
    import cxinfluence as cx

    for name in cx.__all__:
        assert not (ROOT / "cxinfluence" / f"{name}.py").exists(), name
        assert not (ROOT / "cxinfluence" / name).is_dir(), name


def test_every_stage_namespace_resolves_its_exports():
    import importlib

    for stage in STAGES:
        pkg = importlib.import_module(f"cxinfluence.{stage}")
        for name in pkg.__all__:
            assert getattr(pkg, name) is not None, (stage, name)


def test_old_module_paths_still_import_with_a_deprecation_warning():
    out = _run("from cxinfluence.coverage import coverage, manager_books;"
               "from cxinfluence.metrics import metric_table; import cxinfluence as cx;"
               "print(type(cx.coverage).__name__, metric_table.__module__)")
    assert out.stdout.split() == ["function", "cxinfluence.sentiment.metrics"]
    assert "cxinfluence.coverage moved to cxinfluence.listening" in out.stderr


def test_data_flows_one_way():
    """No module imports from a stage further down the flow (village -> ... -> pipeline)."""
    order = {s: i for i, s in enumerate(STAGES)}
    bad = []
    for path in (ROOT / "cxinfluence").rglob("*.py"):
        parts = path.relative_to(ROOT / "cxinfluence").parts
        if len(parts) < 2 or parts[0] not in order:
            continue
        here = order[parts[0]]
        for m in re.finditer(r"^\s*from \.\.(\w+)", path.read_text(), re.M):
            if m[1] in order and order[m[1]] > here:
                bad.append(f"{'/'.join(parts)} imports {m[1]}")
    assert not bad, bad
