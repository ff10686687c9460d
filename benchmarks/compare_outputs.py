"""Compare two output folders of ``cxinfluence run``: every CSV, text exactly and numbers to a tolerance.

Used to check that a change meant to be invisible (memory, speed) leaves every output table as it
was: the same files, the same columns in the same order, the same rows in the same order; in each
column the same text where a value is not a number, and numbers equal to ``--tol`` (absolute and
relative, default 1e-12). ``portfolio_prior.json`` is compared the same way, value by value.

    python benchmarks/compare_outputs.py BEFORE AFTER [--tol 1e-12]

Exit 0 when everything agrees, 1 (listing the differences) otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def _numbers(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)


def compare_csv(a: Path, b: Path, tol: float) -> list[str]:
    """The differences between two CSV files (empty when they agree)."""
    x = pd.read_csv(a, dtype=str, keep_default_na=False)
    y = pd.read_csv(b, dtype=str, keep_default_na=False)
    if list(x.columns) != list(y.columns):
        return [f"{a.name}: columns differ: {list(x.columns)} vs {list(y.columns)}"]
    if len(x) != len(y):
        return [f"{a.name}: {len(x)} rows vs {len(y)}"]
    out = []
    for c in x.columns:
        same = (x[c] == y[c]).to_numpy()
        if same.all():
            continue
        u, v = _numbers(x[c]), _numbers(y[c])
        close = np.isclose(u, v, rtol=tol, atol=tol, equal_nan=False)
        bad = ~same & ~close
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            out.append(f"{a.name}: column {c!r} differs on {int(bad.sum()):,} row(s), first row {i}: "
                       f"{x[c].iloc[i]!r} vs {y[c].iloc[i]!r}")
        else:
            diff = np.nanmax(np.abs(u - v)[~same])
            print(f"  {a.name}: column {c!r}: {int((~same).sum()):,} value(s) differ as text, at most {diff:.2e}")
    return out


def _walk(x, y, where, tol, out):
    if isinstance(x, dict) and isinstance(y, dict):
        if list(x) != list(y):
            out.append(f"{where}: keys differ")
        for k in x:
            if k in y:
                _walk(x[k], y[k], f"{where}.{k}", tol, out)
    elif isinstance(x, list) and isinstance(y, list):
        if len(x) != len(y):
            out.append(f"{where}: {len(x)} items vs {len(y)}")
        for i, (u, v) in enumerate(zip(x, y)):
            _walk(u, v, f"{where}[{i}]", tol, out)
    elif isinstance(x, float) and isinstance(y, float):
        if not (math.isclose(x, y, rel_tol=tol, abs_tol=tol) or (math.isnan(x) and math.isnan(y))):
            out.append(f"{where}: {x!r} vs {y!r}")
    elif x != y:
        out.append(f"{where}: {x!r} vs {y!r}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--tol", type=float, default=1e-12)
    args = ap.parse_args(argv)
    a = sorted(p.relative_to(args.before) for p in args.before.rglob("*.csv"))
    b = sorted(p.relative_to(args.after) for p in args.after.rglob("*.csv"))
    problems = [f"files differ: {sorted(set(map(str, a)) ^ set(map(str, b)))}"] if a != b else []
    for rel in a:
        if rel in b:
            problems += compare_csv(args.before / rel, args.after / rel, args.tol)
    prior = Path("portfolio_prior.json")
    if (args.before / prior).is_file() and (args.after / prior).is_file():
        _walk(json.loads((args.before / prior).read_text()), json.loads((args.after / prior).read_text()),
              "portfolio_prior.json", args.tol, problems)
    print(f"compared {len(a)} CSV file(s) (numbers to {args.tol:g})")
    print("\n".join(problems) if problems else "all equal")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
