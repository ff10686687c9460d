"""The problems found on a set of broken villages are exactly those found before validation was
split and sped up (same messages, rows, columns, severities and order).

``tests/reference/validate_problems.json`` was written by the validation code as it stood before
the change (``python tests/test_validate_unchanged.py --write`` regenerates it: do that only for a
deliberate change of a message, and say so in the commit).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxinfluence.village.core import load_village
from cxinfluence.village.synth import make_village
from cxinfluence.village.validate import validate_village
from cxinfluence.exceptions import VillageError

REFERENCE = Path(__file__).parent / "reference" / "validate_problems.json"
DERIVED = ("role_source", "veto_source")


def _base(seed=3, n=12):
    v, _ = make_village(n, seed=seed)
    tables = {k: t.copy() for k, t in v.tables().items()}
    tables["stakeholders"] = tables["stakeholders"].drop(columns=list(DERIVED))
    return tables


def _text(t: dict) -> dict:
    """Every table as text columns (what a CSV holds)."""
    return {k: df.astype(object).where(df.notna(), None) for k, df in t.items()}


def _corrupt_keys(t):
    s, r, o, a = t["stakeholders"], t["relationships"], t["outcomes"], t["accounts"]
    a.loc[3, "account_id"] = a.loc[2, "account_id"]  # duplicate account id
    s.loc[[7, 40], "stakeholder_id"] = s.loc[[6, 5], "stakeholder_id"].to_numpy()  # duplicate people
    s.loc[[40], "account_id"] = s.loc[s.index[-1], "account_id"]  # ...the second in another account
    s.loc[9, "account_id"] = "A999"  # unknown account
    s.loc[11, "stakeholder_id"] = None  # blank id
    r.loc[len(r)] = r.loc[0]  # duplicate tie
    r.loc[len(r)] = ["SX1", "SX2", "influences", 1.0]  # unknown endpoints...
    r.loc[len(r)] = ["SX1", "SX2", "influences", 2.0]  # ...twice (a duplicate key of unknown ids)
    r.loc[4, "target_id"] = r.loc[4, "source_id"]  # self-loop
    last = s["stakeholder_id"].iloc[-1]
    r.loc[len(r)] = [s["stakeholder_id"].iloc[0], last, "influences", 1.0]  # crosses accounts
    r.loc[len(r)] = [s.loc[40, "stakeholder_id"], s["stakeholder_id"].iloc[1], "influences", 1.0]  # via a repeated id
    o.loc[5, "period_end"] = o.loc[4, "period_end"]
    o.loc[5, "account_id"] = o.loc[4, "account_id"]  # duplicate outcome key
    o.loc[7, "account_id"] = "A404"  # unknown account
    resp = t["responses"]
    resp.loc[2, "stakeholder_id"] = "S-none"  # unknown respondent
    resp.loc[3, "stakeholder_id"] = None  # blank respondent
    resp.loc[10:14, ["nps", "csat", "ces", "neteasy", "trust", "cared_for", "comment"]] = np.nan  # empty
    return t


def _corrupt_values(t):
    s, r, resp, o, a = (t[k] for k in ("stakeholders", "relationships", "responses", "outcomes", "accounts"))
    a.loc[1, "annual_revenue"] = -5.0
    s.loc[2, "influence_rating"] = 7.0
    s.loc[3, ["active_from", "active_to"]] = [pd.Timestamp("2024-05-01"), pd.Timestamp("2023-01-01")]
    s.loc[4, "role"] = "boss"
    s.loc[5, "role"] = " Decider "
    r.loc[1, "kind"] = "likes"
    r.loc[2, "weight"] = 0.0
    resp.loc[resp.index[:150], "nps"] = 11.0  # many rows: listed, then counted
    resp.loc[200, "csat"] = 2.5
    resp.loc[201, "channel"] = "Carrier Pigeon"
    resp.loc[202, "journey_stage"] = "Retention"
    resp.loc[203, "date"] = pd.Timestamp("2001-01-01")  # before the respondent joined
    o.loc[1, "renewed"] = 2.0
    o.loc[2, "bookings"] = -1.0
    o.loc[3, "renewed"] = np.nan
    return t


def _text_only(t):
    """Damage only text can carry."""
    t["stakeholders"].loc[1, "veto"] = "maybe"
    t["stakeholders"].loc[2, "active_from"] = "31/12/2023"
    t["responses"].loc[5, "date"] = "yesterday"
    t["responses"].loc[6, "date"] = "2023-02-30"
    t["responses"].loc[7, "nps"] = "nine"
    t["responses"].loc[8, "date"] = "2024-06-01T10:30:00+02:00"
    t["outcomes"].loc[0, "period_end"] = None
    return t


def _villages():
    """name -> (tables, format)."""
    out = {
        "keys": (_corrupt_keys(_base()), "parquet"),
        "values": (_corrupt_values(_base(seed=5)), "parquet"),
        "keys_csv": (_text(_corrupt_keys(_base())), "csv"),
        "values_csv": (_text_only(_text(_corrupt_values(_base(seed=5)))), "csv"),
    }
    # unused accounts and stakeholders (warnings only), on a larger village
    t = _base(seed=7, n=40)
    t["accounts"] = pd.concat([t["accounts"], t["accounts"].iloc[:3].assign(account_id=["A900", "A901", "A902"])],
                              ignore_index=True)
    keep = ~t["responses"]["stakeholder_id"].isin(t["stakeholders"]["stakeholder_id"].iloc[::5])
    t["responses"] = t["responses"][keep].reset_index(drop=True)
    out["warnings"] = (t, "parquet")
    # numeric ids stored as numbers
    t = _base(seed=11)
    for name, cols in {"accounts": ["account_id"], "stakeholders": ["stakeholder_id", "account_id"],
                       "relationships": ["source_id", "target_id"], "responses": ["stakeholder_id"],
                       "outcomes": ["account_id"]}.items():
        for c in cols:
            t[name][c] = t[name][c].str.slice(1).astype("int64")
    t["relationships"].loc[0, "target_id"] = 999
    t["stakeholders"].loc[1, "stakeholder_id"] = t["stakeholders"].loc[0, "stakeholder_id"]
    out["numeric_ids"] = (t, "parquet")
    return out


def _write(folder: Path, tables, fmt):
    folder.mkdir(parents=True)
    for name, df in tables.items():
        if fmt == "parquet":
            df.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            df.to_csv(folder / f"{name}.csv", index=False)
    return folder


def _found(folder):
    return [[p.table, p.file, p.row, p.column, p.message, p.severity] for p in validate_village(folder)]


def _all(tmp):
    return {name: _found(_write(Path(tmp) / name, tables, fmt)) for name, (tables, fmt) in _villages().items()}


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return _all(tmp_path_factory.mktemp("broken"))


def test_reference_covers_every_kind_of_check():
    ref = json.loads(REFERENCE.read_text())
    messages = " ".join(p[4] for probs in ref.values() for p in probs)
    for phrase in ("duplicate id", "duplicate key", "is not in accounts", "is not in stakeholders", "self-loop",
                   "tie crosses accounts", "is out of range", "is not a whole number", "is not a date",
                   "unknown role", "is not a yes/no value", "is before active_from", "more row(s)",
                   "have no responses", "have no outcomes", "neither a score nor a comment",
                   "outside the respondent's active period", "is blank; every row needs one"):
        assert phrase in messages, phrase


@pytest.mark.parametrize("name", sorted(_villages()))
def test_problems_unchanged(found, name):
    ref = json.loads(REFERENCE.read_text())
    assert found[name] == ref[name]


def test_load_raises_with_the_same_errors(tmp_path):
    tables, fmt = _villages()["keys"]
    folder = _write(tmp_path / "keys", tables, fmt)
    with pytest.raises(VillageError) as err:
        load_village(folder, warn=False)
    ref = json.loads(REFERENCE.read_text())["keys"]
    got = [[p.table, p.file, p.row, p.column, p.message, p.severity] for p in err.value.problems]
    assert got == [p for p in ref if p[5] == "error"]


if __name__ == "__main__" and "--write" in sys.argv:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        REFERENCE.write_text(json.dumps(_all(tmp), indent=1) + "\n")
    print(f"wrote {REFERENCE}")
