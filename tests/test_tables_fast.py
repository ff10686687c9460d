"""The tables-fast round (#18): cached endorsement ends give the same influence and follow edits; the
response window as one comparison equals the plain masks."""

import numpy as np
import pandas as pd
import pytest

from cxinfluence.listening import people as P
from cxinfluence.listening.coverage import coverage
from cxinfluence.network.edges import tie_weights
from cxinfluence.network.blend import _text_positions
from cxinfluence.network.influence import influence_weights
from cxinfluence.sentiment.base import _usable
from cxinfluence.village.ids import _arrow_join, arrow_identity, join_ids, remembered
from cxinfluence.village.synth import make_village


def test_endorsement_ends_cached_and_refreshed_when_ties_change():
    v, _ = make_village(30, seed=3)
    as_of = "2025-01-01"
    first = influence_weights(v, as_of)
    rel = v.relationships
    key_cols = (rel["source_id"], rel["target_id"], rel["kind"], v.stakeholders["stakeholder_id"])
    key = tuple(arrow_identity(c) for c in key_cols)
    if all(k is not None for k in key):  # Arrow text columns: the ends are kept for the next call
        assert remembered(v, "endorsement ends", key) is not None
    again = influence_weights(v, as_of)
    pd.testing.assert_frame_equal(first, again)
    # flip every tie's kind: a new column, so the cache must miss and the graph follow the data
    flipped = rel["kind"].map({"reports_to": "influences", "influences": "reports_to"}).astype(rel["kind"].dtype)
    v.relationships = rel.assign(kind=flipped)
    after = influence_weights(v, as_of)
    fresh, _ = make_village(30, seed=3)
    fresh.relationships = fresh.relationships.assign(kind=flipped.to_numpy())
    want = influence_weights(fresh, as_of)
    np.testing.assert_array_equal(after["pagerank"].to_numpy(), want["pagerank"].to_numpy())
    assert not np.array_equal(after["pagerank"].to_numpy(), first["pagerank"].to_numpy())


@pytest.mark.parametrize("window_days, lead_days", [(365, 0), (30, 7), (None, 0), (1, 0)])
def test_usable_responses_equal_the_plain_masks(window_days, lead_days):
    # the window test is one unsigned comparison of nanoseconds; unknown people read a never-active slot
    rng = np.random.default_rng(4)
    n, S = 5000, 300
    date = pd.Timestamp("2024-01-01").to_datetime64() + rng.integers(-900, 900, n) * np.timedelta64(1, "D") \
        + rng.integers(0, 86_400, n) * np.timedelta64(1, "s")
    date = date.astype("datetime64[ns]")
    date[rng.random(n) < 0.05] = np.datetime64("NaT")
    r_st = rng.integers(-1, S, n)
    active = rng.random(S) < 0.8
    ts = pd.Timestamp("2024-01-01")
    got, end = _usable({"r_st": r_st, "r_date": date}, ts, window_days=window_days, lead_days=lead_days, active=active)
    stop = (ts - pd.Timedelta(days=lead_days)).to_datetime64()
    want = (date < stop) & (r_st >= 0) & active[np.maximum(r_st, 0)]
    if window_days is not None:
        want &= date >= stop - np.timedelta64(pd.Timedelta(days=window_days))
    np.testing.assert_array_equal(got, want)
    assert 0 < want.sum() < n and end == stop


def test_coverage_coded_kinds_equal_the_copied_text_kinds():
    # the default influence gets the stand-in ties' kinds as a categorical; a wrapped influence (any
    # other function) gets the copied text: same departures' influence, also for odd spellings
    v, _ = make_village(80, seed=2)
    kind = v.relationships["kind"].astype(object)
    odd = np.where(np.arange(len(kind)) % 3 == 0, kind.str.upper() + " ", kind)
    v.relationships = v.relationships.assign(kind=pd.array(odd, dtype="str"))
    as_of = "2025-06-01"
    default = coverage(v, as_of)
    wrapped = coverage(v, as_of, influence_fn=lambda village, t: influence_weights(village, t))
    assert default["departed"].sum() > 0 and default["key_influencer_departed"].any()
    pd.testing.assert_frame_equal(default, wrapped)


@pytest.mark.parametrize("window_days", [365, 30.5, None])
def test_coverage_heard_equals_the_plain_masks(window_days):
    # responses in the window and the latest response before as_of, against the pandas masks
    v, _ = make_village(40, seed=6)
    r = v.responses.copy()
    r.loc[r.index[::17], "date"] = pd.NaT
    v.responses = r
    as_of = pd.Timestamp("2025-03-01")
    rows = P._rows(v)
    act = np.flatnonzero(np.arange(len(v.stakeholders)) % 4 != 0)
    n, last = P._heard(v, as_of, window_days, rows, act)
    date = pd.to_datetime(r["date"]).reset_index(drop=True)
    mask = (date < as_of) & (True if window_days is None else date >= as_of - pd.Timedelta(days=window_days))
    st = pd.Series(rows.resp)
    want_n = np.bincount(st[mask.to_numpy() & (rows.resp >= 0)], minlength=len(v.stakeholders))[act]
    latest = date[(date < as_of).to_numpy() & (rows.resp >= 0)].groupby(st).max()
    want_last = latest.reindex(act).to_numpy(dtype="datetime64[ns]")
    np.testing.assert_array_equal(n, want_n)
    np.testing.assert_array_equal(last.view("datetime64[ns]"), want_last)
    assert 0 < (n > 0).sum() < len(act)


def test_join_ids_by_arrow_equals_the_pandas_sort():
    # code-point order of text (Arrow's) is Python's: accents, case, digits, repeats
    rng = np.random.default_rng(8)
    alphabet = np.array(list("aAbZ09_éÉß-ü"))
    ids = np.array(["".join(rng.choice(alphabet, rng.integers(1, 6))) for _ in range(3000)], dtype=object)
    codes = rng.integers(0, 400, len(ids))
    got = join_ids(codes, ids, 450)
    frame = pd.DataFrame({"c": codes, "i": ids}).sort_values(["c", "i"], kind="stable")
    want = np.full(450, "", dtype=object)
    for c, group in frame.groupby("c"):
        want[c] = ";".join(group["i"])
    np.testing.assert_array_equal(got, want)
    assert _arrow_join(codes, ids) is not None and _arrow_join(codes, codes) is None  # not text: the old path


def test_role_weights_from_an_object_role_column_equal_the_arrow_lookup():
    # a role column of Python strings (with blanks and unlisted roles) is factorised, not converted to Arrow
    roles = pd.Series(np.array(["user", None, "decider", "Decider", "gatekeeper ", "buyer", np.nan] * 50, dtype=object))
    listed = ["decider", "buyer", "user", "influencer", "gatekeeper"]
    got = _text_positions(roles, listed)
    want = np.array([listed.index(r) if isinstance(r, str) and r in listed else -1 for r in roles])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(_text_positions(roles.astype("str"), listed), want)


def test_tie_weights_of_a_float_column_equal_the_numeric_conversion():
    w = pd.DataFrame({"weight": [0.5, np.nan, 2.0, np.nan, 1e-3]})
    want = pd.to_numeric(w["weight"], errors="coerce").fillna(1.0).to_numpy(float)
    got = tie_weights(w)
    np.testing.assert_array_equal(got, want)
    assert np.isnan(w["weight"]).sum() == 2  # the table is not changed
    np.testing.assert_array_equal(tie_weights(w.astype({"weight": object})), want)
