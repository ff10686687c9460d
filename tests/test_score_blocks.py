"""The public account_sentiment call's own work (issue 18 item 4): item scores in blocks, the normal and t
quantiles without scipy.stats, and an influence table's ids not hashed again."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import cxinfluence as cx
from cxinfluence.sentiment import base as sentiment_base
from cxinfluence.sentiment.estimators import item_sentiment
from cxinfluence.sentiment.intervals import normal_quantile, t_quantile
from cxinfluence.village.ids import positions, rows_for, seed_rows_for
from cxinfluence.village.scale import ITEMS


def _items(n, seed=3):
    rng = np.random.default_rng(seed)
    out = {}
    for name, (lo, hi, _) in ITEMS.items():
        x = rng.integers(lo, hi + 1, n).astype(float)
        x[rng.random(n) < 0.4] = np.nan  # blanks, and some responses with no item at all
        out[name] = x
    return out


@pytest.mark.parametrize("block", [1, 7, 1000])
def test_scores_in_blocks_equal_one_call(monkeypatch, block):
    items = _items(5_000)
    monkeypatch.setattr(sentiment_base, "_SCORE_BLOCK", block)
    monkeypatch.setattr(sentiment_base, "_THREADS", 2)
    whole = item_sentiment(items)
    assert np.isnan(whole).any()
    assert np.array_equal(sentiment_base._score_rows(items, None, 5_000), whole, equal_nan=True)
    rows = np.random.default_rng(4).permutation(5_000)[:3_001]  # any order, a subset
    assert np.array_equal(sentiment_base._score_rows(items, rows), whole[rows], equal_nan=True)
    assert len(sentiment_base._score_rows(items, np.zeros(0, dtype=np.intp))) == 0


def test_quantiles_are_scipy_stats_bit_for_bit():
    for p in (0.5, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995):
        assert normal_quantile(p) == float(stats.norm.ppf(p))
        df = np.r_[np.arange(1.0, 500.0), 1e6, np.nan]
        assert np.array_equal(t_quantile(p, df), stats.t.ppf(p, df), equal_nan=True)


def test_account_sentiment_does_not_import_scipy_stats(sample_path):
    # scipy.stats takes about a second to import: an analyst's first call paid it for two quantiles
    code = ("import sys, warnings; warnings.simplefilter('ignore'); import cxinfluence as cx; "
            "v = cx.load_village(sys.argv[1]); t = cx.account_sentiment(v, '2025-12-31'); "
            "assert t['nps_ci_low'].notna().any() and t['influence_weighted_ci_low'].notna().any(); "
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(sample_path)], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_influence_table_ids_are_not_hashed_again(monkeypatch, sample_path):
    v = cx.load_village(sample_path, warn=False)  # its own: the cache is on the village
    infl = cx.influence_weights(v, "2025-12-31")
    expected = positions(infl["stakeholder_id"], v.stakeholders["stakeholder_id"])
    import cxinfluence.village.ids as ids

    def no_hashing(*args, **kwargs):
        raise AssertionError("the influence table's ids were hashed again")

    monkeypatch.setattr(ids, "positions", no_hashing)
    assert np.array_equal(rows_for(v, infl["stakeholder_id"]), expected)
    a = cx.account_sentiment(v, "2025-12-31", influence=infl)  # the analyst's call: no hash pass either
    monkeypatch.undo()
    assert a.equals(cx.account_sentiment(v, "2025-12-31", influence=infl.sort_values("influence")))


def test_rows_are_seeded_only_for_unique_ids():
    # a hand-built village has not been validated: its ids may repeat, and rows_for's answer is the first row
    v = cx.Village(pd.DataFrame({"account_id": pd.array(["A"], dtype="str")}),
                   pd.DataFrame({"stakeholder_id": pd.array(["s", "s"], dtype="str"), "account_id": ["A", "A"]}),
                   pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    keys = pd.Series(pd.array(["s"], dtype="str"))
    seed_rows_for(v, keys, [1])
    assert rows_for(v, keys).tolist() == [0]


def test_response_sentiment_is_the_kernels_item_sentiment_to_the_bit():
    """Maps, pages and breakdowns (response_sentiment) and the account sentiment kernel (item_sentiment) give a
    response the same sentiment, bit for bit; the POMP formula written out (scale each item, mean of the answered
    ones) agrees to 1 ulp. Text that is not a number is a blank, as before."""
    from cxinfluence.village.scale import response_sentiment, to_common_scale

    items = _items(300_000)   # more than one block of response_sentiment
    df = pd.DataFrame(items)
    got = response_sentiment(df).to_numpy()
    assert np.array_equal(got, item_sentiment(items), equal_nan=True)
    scaled = to_common_scale(df).to_numpy()
    with np.errstate(invalid="ignore"):
        plain = np.nanmean(scaled, axis=1)
    np.testing.assert_allclose(got, plain, rtol=0, atol=4.5e-16)
    text = pd.DataFrame({"nps": ["10", "n/a", None, "0"], "ces": [1.0, 5.0, np.nan, np.nan]})
    assert response_sentiment(text).tolist()[:2] == [1.0, -1.0] and np.isnan(response_sentiment(text)[2])
    assert response_sentiment(pd.DataFrame({"other": [1, 2]})).isna().all()
