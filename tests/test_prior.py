"""The portfolio prior (cxinfluence/sentiment/prior.py): sufficient statistics of every quantity pooled across
accounts, combined exactly over hash buckets, reused on a subset to give the whole portfolio's rows."""

import json
import zlib

import numpy as np
import pandas as pd
import pytest

from cxinfluence.exceptions import MetricError, PriorError
from cxinfluence.village.subset import subset_village
from cxinfluence.sentiment.prior import PortfolioPrior, portfolio_prior
from cxinfluence.sentiment.schemes import account_sentiment, sentiment_tables

AS_OF = pd.Timestamp("2024-01-01")
DATES = [pd.Timestamp("2022-12-31"), pd.Timestamp("2023-12-31"), AS_OF]  # the outcome periods and a snapshot
K = 8


def _awkward_village(n=2000, seed=5):
    """A synthetic village with the awkward cases: one-person accounts, accounts nobody answered, veto
    holders who left after answering, blank segments and a segment of one account."""
    from cxinfluence.village.core import Village
    from cxinfluence.village.synth import make_village

    v, _ = make_village(n, seed=seed, years=2)
    acc, st, rel, resp = v.accounts.copy(), v.stakeholders, v.relationships, v.responses
    ids = acc["account_id"].astype(str).to_numpy()
    one_person = set(ids[0:n * 3 // 100])  # keep only one person in each, one still active (if any is)
    staying = st["active_to"].isna() & (st["active_from"].isna() | (st["active_from"] < "2022-06-30"))
    first = st.assign(_s=staying).sort_values("_s", ascending=False, kind="stable").groupby("account_id").head(1)
    drop_people = set(st.loc[st["account_id"].isin(one_person) & ~st.index.isin(first.index), "stakeholder_id"])
    unheard = set(ids[n * 3 // 100:n * 6 // 100])  # nobody answered
    st = st[~st["stakeholder_id"].isin(drop_people)].copy()
    rel = rel[~rel["source_id"].isin(drop_people) & ~rel["target_id"].isin(drop_people)]
    gone = set(st.loc[st["account_id"].isin(unheard), "stakeholder_id"]) | drop_people
    resp = resp[~resp["stakeholder_id"].isin(gone)]
    # veto holders of 4% of the accounts answered, then left before the snapshot and before the last period
    answered = set(resp["stakeholder_id"])
    joined = st["active_from"].isna() | (st["active_from"] < "2023-09-30")
    picked = st["account_id"].isin(ids[n // 10:n * 14 // 100])
    vh = st[st["veto"] & joined & st["stakeholder_id"].isin(answered) & picked]
    st.loc[vh.index, "active_to"] = pd.Timestamp("2023-09-30")
    acc["segment"] = acc["segment"].astype(object)
    acc.loc[acc.index[n * 15 // 100:n * 17 // 100], "segment"] = np.nan  # blank segment: a group of its own
    acc.loc[acc.index[n // 5], "segment"] = "A segment of one"
    out = Village(acc, st.reset_index(drop=True), rel.reset_index(drop=True), resp.reset_index(drop=True),
                  v.outcomes, source="awkward")
    return out


@pytest.fixture(scope="module")
def village():
    return _awkward_village()


@pytest.fixture(scope="module")
def buckets(village):
    """Each account's hash bucket (crc32 of the id, so the same in every process)."""
    ids = village.accounts["account_id"].astype(str)
    return ids, np.array([zlib.crc32(i.encode()) % K for i in ids])


@pytest.fixture(scope="module")
def whole(village):
    return account_sentiment(village, DATES)


def _rows(table, ids):
    keep = table[table["account_id"].astype(str).isin(set(ids))]
    return keep.sort_values(["as_of", "account_id"], kind="stable").reset_index(drop=True)


def _assert_same_rows(got, expected, atol=1e-9):
    assert list(got.columns) == list(expected.columns)
    assert got[["account_id", "as_of"]].equals(expected[["account_id", "as_of"]])
    for c in got.columns:
        a, b = got[c], expected[c]
        if a.dtype.kind == "f":
            assert (a.isna() == b.isna()).all(), c
            np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=0, atol=atol, equal_nan=True, err_msg=c)
        else:  # counts, flags, ids: exact
            assert a.equals(b), c


def test_the_village_has_the_awkward_cases(village, whole):
    snap = whole[whole["as_of"] == AS_OF]
    assert (snap["n_stakeholders"] == 1).sum() >= 50
    assert (snap["n_respondents"] == 0).sum() >= 60
    assert village.accounts["segment"].isna().sum() == 40
    departed = village.stakeholders["veto"] & (village.stakeholders["active_to"] < AS_OF)
    assert departed.sum() >= 40


def test_combine_of_hash_buckets_is_the_whole_prior(village, buckets, whole):
    ids, b = buckets
    parts = [portfolio_prior(subset_village(village, ids[b == k]), DATES) for k in range(K)]
    combined = PortfolioPrior.combine(parts)
    wp = PortfolioPrior.of(whole)
    assert [e.key for e in combined.entries] == [e.key for e in wp.entries]
    for c, w in zip(combined.entries, wp.entries):
        assert c.n_accounts == w.n_accounts == len(village.accounts)
        assert c.between_df == w.between_df
        assert [s.segment for s in c.segments] == [s.segment for s in w.segments]
        assert [s.n for s in c.segments] == [s.n for s in w.segments]
        for name in ("within_ss", "within_df", "between_ss"):
            assert getattr(c, name) == pytest.approx(getattr(w, name), rel=1e-12, abs=0)
        for s, t in zip(c.segments, w.segments):
            for name in ("total", "m2", "inv_n_eff"):
                assert getattr(s, name) == pytest.approx(getattr(t, name), rel=1e-12, abs=1e-300)
    assert combined.close_to(wp, rtol=1e-12)
    # the parts alone are not the whole: each bucket's own statistics differ
    assert not any(p.close_to(wp, rtol=1e-6) for p in parts)


def test_each_bucket_scored_with_the_whole_prior_equals_the_whole_run(village, buckets, whole):
    ids, b = buckets
    wp = PortfolioPrior.of(whole)
    worst_without = 0.0
    for k in range(K):
        part = subset_village(village, ids[b == k])
        got = account_sentiment(part, DATES, prior=wp)
        expected = _rows(whole, ids[b == k])
        _assert_same_rows(got.sort_values(["as_of", "account_id"], kind="stable").reset_index(drop=True), expected)
        assert PortfolioPrior.of(got) == wp
        if k > 1:
            continue
        own = _rows(account_sentiment(part, DATES), ids[b == k])
        worst_without = max(worst_without, float(np.nanmax(np.abs(own["influence_weighted"].to_numpy()
                                                                   - expected["influence_weighted"].to_numpy()))))
    assert worst_without > 1e-3  # without the prior the buckets do differ (the defect the prior removes)


def test_prior_none_is_the_village_itself(village, whole):
    """prior=None and the village's own prior give the same numbers (the K = 1 case)."""
    again = account_sentiment(village, DATES, prior=PortfolioPrior.of(whole))
    _assert_same_rows(again, whole, atol=0)


def test_parameters_match_an_independent_computation(village, whole):
    """The shrinkage from the prior's statistics equals eb_shrink's own moments estimate of mu and tau2
    from the whole table (how it was computed before the prior existed)."""
    from cxinfluence.sentiment.estimators import eb_shrink

    wp = PortfolioPrior.of(whole)
    snap = whole[whole["as_of"] == AS_OF].reset_index(drop=True)
    entry = wp.entry(AS_OF, window_days=365, lead_days=0, half_life_days=None)
    labels = [s.segment for s in entry.segments]
    p = wp.parameters(AS_OF, labels, window_days=365, lead_days=0, half_life_days=None)
    y = snap["influence_heard"].to_numpy()
    assert sum(s.n for s in entry.segments) == np.isfinite(y).sum()
    # each account's sampling variance sigma2 / n_eff, with Kish's n_eff from the heard mean's SE
    # (se^2 = sigma_w^2 / n_eff is not the same variance, so recover v from B = v / (v + tau2) instead)
    B = snap["shrinkage"].to_numpy()
    v = p["tau2"] * B / (1 - B)
    seg = village.accounts.set_index(village.accounts["account_id"].astype(str))["segment"]
    seg = snap["account_id"].map(seg).astype(object)
    codes = np.array([labels.index(None if pd.isna(s) else s) for s in seg])
    shr, _, _, mu, tau2 = eb_shrink(y, v, codes)
    assert tau2 == pytest.approx(p["tau2"], rel=1e-9)
    np.testing.assert_allclose(shr, snap["shrunk"], rtol=0, atol=1e-9)
    # mu by hand: the plain mean of the heard means in each segment
    by_hand = pd.Series(y).groupby(codes).mean()
    np.testing.assert_allclose(p["mu"][by_hand.index], by_hand.to_numpy(), rtol=1e-12)


def test_write_read_round_trip_is_exact(whole, tmp_path):
    wp = PortfolioPrior.of(whole)
    path = tmp_path / "portfolio_prior.json"
    wp.write(path)
    data = json.loads(path.read_text())
    assert data["format"] == "cxinfluence.portfolio_prior" and data["version"] == 1
    back = PortfolioPrior.read(path)
    assert back == wp  # every float exactly
    assert back.origin == str(path) and "portfolio_prior.json" in back.describe()
    # an account table keeps its prior as JSON in attrs, so it still saves to Parquet
    whole.to_parquet(tmp_path / "a.parquet")
    assert PortfolioPrior.of(pd.read_parquet(tmp_path / "a.parquet")) == wp


@pytest.mark.parametrize("text, words", [
    ("{not json", "is not JSON (line 1"),
    ('{"format": "something else"}', "is not a cxinfluence portfolio prior"),
    ('{"format": "cxinfluence.portfolio_prior", "version": 99, "entries": []}', "has version 99"),
    ('{"format": "cxinfluence.portfolio_prior", "version": 1, "entries": [{"as_of": "2024-01-01"}, 3]}',
     "2 malformed entries: entries[0]: 'missing window_days"),
])
def test_read_names_the_file_and_the_problem(tmp_path, text, words):
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(PriorError) as err:
        PortfolioPrior.read(path)
    assert str(path) in str(err.value) and words in str(err.value)


def test_read_a_missing_file(tmp_path):
    with pytest.raises(PriorError, match="does not exist"):
        PortfolioPrior.read(tmp_path / "nope.json")


def test_a_bad_number_is_named(whole, tmp_path):
    path = tmp_path / "p.json"
    PortfolioPrior.of(whole).write(path)
    data = json.loads(path.read_text())
    data["entries"][1]["segments"][2]["m2"] = "lots"
    data["entries"][0]["lead_days"] = 1.5
    path.write_text(json.dumps(data))
    with pytest.raises(PriorError) as err:
        PortfolioPrior.read(path)
    assert "entries[0]: lead_days=1.5 is not a whole number" in str(err.value)
    assert "entries[1]: segments[2].m2='lots' is not a finite number" in str(err.value)


def test_a_prior_with_other_options_or_dates_is_refused(village, whole):
    wp = PortfolioPrior.of(whole)
    with pytest.raises(PriorError) as err:
        account_sentiment(village, AS_OF, window_days=180, prior=wp)
    assert "window_days=365" in str(err.value) and "window_days=180" in str(err.value)
    with pytest.raises(PriorError, match="has no statistics for as_of=2024-02-01 .*its dates: 2022-12-31, "):
        account_sentiment(village, "2024-02-01", prior=wp)
    with pytest.raises(MetricError, match="prior is a dict; expected a PortfolioPrior"):
        account_sentiment(village, AS_OF, prior={})


def test_a_segment_the_prior_never_saw_is_refused(village, whole):
    from dataclasses import replace

    v = replace(village, accounts=village.accounts.assign(segment="Shipbuilding"))
    with pytest.raises(PriorError, match="has no segment 'Shipbuilding' at 2022-12-31"):
        account_sentiment(v, DATES, prior=PortfolioPrior.of(whole))


def test_combine_refuses_parts_at_other_dates(village, buckets):
    ids, b = buckets
    a = portfolio_prior(subset_village(village, ids[b == 0]), DATES)
    c = portfolio_prior(subset_village(village, ids[b == 1]), DATES[:2])
    with pytest.raises(PriorError, match=r"priors\[1\] lacks as_of=2024-01-01"):
        PortfolioPrior.combine([a, c])
    with pytest.raises(PriorError, match="is empty"):
        PortfolioPrior.combine([])


def test_merge_joins_dates_and_refuses_disagreement(village, buckets):
    ids, b = buckets
    p1 = portfolio_prior(village, DATES[:1])
    p2 = portfolio_prior(village, DATES[1:])
    assert PortfolioPrior.merge([p1, p2]) == portfolio_prior(village, DATES)
    other = portfolio_prior(subset_village(village, ids[b == 0]), DATES[:1])
    with pytest.raises(PriorError, match="disagree at as_of=2022-12-31"):
        PortfolioPrior.merge([p1, other])


def test_sentiment_tables_and_the_model_frame_take_the_prior(village, buckets, whole):
    from cxinfluence.models.frame import model_frame, outcome_periods

    ids, b = buckets
    wp = PortfolioPrior.of(whole)
    part = subset_village(village, ids[b == 3])
    acc, people = sentiment_tables(part, AS_OF, prior=wp)
    _assert_same_rows(acc, _rows(whole[whole["as_of"] == AS_OF], ids[b == 3]))
    mf_whole = model_frame(village, sentiment=account_sentiment(village, outcome_periods(village)), metrics=False)
    mf_part = model_frame(part, prior=wp, metrics=False)
    expected = mf_whole[mf_whole["account_id"].isin(set(ids[b == 3]))].reset_index(drop=True)
    pd.testing.assert_frame_equal(mf_part, expected, check_exact=False, rtol=0, atol=1e-9)


def test_the_kernel_with_given_parameters_equals_the_readable_reference(monkeypatch):
    """schemes_from_codes(portfolio=...) against schemes_reference(portfolio=...), written from the formulas."""
    import cxinfluence as cx
    from cxinfluence.sentiment import schemes
    from cxinfluence.sentiment.schemes_reference import schemes_reference

    v, _ = cx.make_village(15, seed=4, years=2)
    calls = []
    real = schemes.schemes_from_codes
    monkeypatch.setattr(schemes, "schemes_from_codes", lambda *a, **k: calls.append((a, k)) or real(*a, **k))
    schemes.account_sentiment(v, AS_OF)
    monkeypatch.setattr(schemes, "schemes_from_codes", real)
    (args, kwargs), = calls
    G = int(np.max(kwargs["account_segment"])) + 1
    given = {"sigma_within2": 0.05, "sigma_between2": 0.2, "mu": np.linspace(-0.3, 0.4, G), "tau2": 0.03}
    kwargs = dict(kwargs, portfolio=given, portfolio_stats={})
    got, _ = real(*args, **kwargs)
    ref, _ = schemes_reference(*args, **kwargs)
    for c in got:
        np.testing.assert_allclose(np.asarray(got[c], dtype=float), np.asarray(ref[c], dtype=float), rtol=1e-12,
                                   atol=1e-12, equal_nan=True, err_msg=c)
    own, _ = real(*args, **dict(kwargs, portfolio=None))
    assert not np.allclose(own["shrunk"], got["shrunk"], equal_nan=True)  # the parameters matter


def test_the_prior_rides_in_attrs_as_json_text_and_old_dicts_still_read(whole, tmp_path):
    """attrs['portfolio_prior'] is JSON text (pandas deep-copies attrs into every operation's result; a string by
    reference): the same prior comes back from the table, from a column read, from Parquet and from the earlier
    plain-dict form."""
    text = whole.attrs["portfolio_prior"]
    assert isinstance(text, str)
    prior = PortfolioPrior.of(whole)
    assert PortfolioPrior.of(whole[["account_id", "mean"]]) == prior
    whole.to_parquet(tmp_path / "t.parquet")
    assert PortfolioPrior.of(pd.read_parquet(tmp_path / "t.parquet")) == prior
    old = whole.iloc[:3].copy()
    old.attrs["portfolio_prior"] = json.loads(text)  # as cxinfluence wrote it before
    assert PortfolioPrior.of(old) == prior
    old.attrs["portfolio_prior"] = "{not json"
    with pytest.raises(PriorError, match="not the JSON text"):
        PortfolioPrior.of(old)
