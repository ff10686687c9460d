"""Tests of cxinfluence.models.compare: scores vs independent computations, grouped CV."""


import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from cxinfluence.models.compare import auc, compare_metrics, compare_schemes, grouped_folds
from cxinfluence.exceptions import ModelError


# Each test that expects a degeneracy asserts it explicitly with pytest.warns.
pytestmark = pytest.mark.usefixtures("quiet_degenerate_fits")


def _frame(n_acc=400, periods=2, noise=(0.2, 1.0), seed=0):
    rng = np.random.default_rng(seed)
    acc = np.repeat([f"A{i:04d}" for i in range(n_acc)], periods)
    truth = np.repeat(rng.uniform(-1, 1, n_acc), periods) + rng.normal(0, 0.3, n_acc * periods)
    df = pd.DataFrame({"account_id": acc,
                       "period_end": np.tile(pd.date_range("2023-12-31", periods=periods, freq="YE"), n_acc),
                       "influence_weighted": truth + rng.normal(0, noise[0], len(acc)),
                       "mean": truth + rng.normal(0, noise[1], len(acc)),
                       "log_revenue": rng.normal(12, 1, len(acc))})
    df["renewed"] = (rng.uniform(size=len(df)) < 1 / (1 + np.exp(-(0.5 + 2 * truth)))).astype(float)
    df["bookings"] = df["renewed"] * rng.gamma(2.0, np.exp(5 + 0.8 * truth) / 2.0)
    return df


def test_auc_equals_mann_whitney_with_ties():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300).astype(float)
    s = np.round(rng.normal(size=300) + y, 1)  # rounding makes ties
    u = stats.mannwhitneyu(s[y == 1], s[y == 0]).statistic
    assert auc(y, s) == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()), rel=1e-12)


def test_unweighted_auc_is_exact_whatever_the_order_of_ties():
    # the unweighted AUC sorts with numpy's unstable quicksort: ties come out in any order, which must not change a
    # bit (every partial sum is an integer or half of one); checked against the Mann-Whitney U in integers
    rng = np.random.default_rng(7)
    n = 200_000
    y = rng.integers(0, 2, n).astype(float)
    s = np.round(rng.normal(size=n) + 0.3 * y, 2)  # ~600 distinct scores: long runs of ties
    order = np.argsort(s, kind="stable")
    ranks = np.empty(n)
    sorted_s = s[order]
    starts = np.flatnonzero(np.r_[True, sorted_s[1:] != sorted_s[:-1]])
    ends = np.r_[starts[1:], n]
    twice_mid = (starts + ends + 1)  # twice the mid-rank (1-based) of each tie group
    ranks[order] = np.repeat(twice_mid, ends - starts)
    n1, n0 = int(y.sum()), n - int(y.sum())
    twice_u = int(ranks[y == 1].astype(np.int64).sum()) - n1 * (n1 + 1)  # 2 U, an integer
    assert auc(y, s) == (twice_u / 2) / (n1 * n0)
    assert auc(y, s) == auc(y, s, np.ones(n))  # the stable-order path, bit for bit
    shuffled = rng.permutation(n)
    assert auc(y[shuffled], s[shuffled]) == auc(y, s)


def test_weighted_auc_equals_repeated_rows():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 50).astype(float)
    s = np.round(rng.normal(size=50), 1)
    w = rng.integers(0, 4, 50)
    expected = auc(np.repeat(y, w), np.repeat(s, w))
    assert auc(y, s, w.astype(float)) == pytest.approx(expected, rel=1e-12)
    many = auc(y, s, np.vstack([w, np.ones(50)]))
    np.testing.assert_allclose(many, [expected, auc(y, s)])


def test_grouped_folds_keep_accounts_together():
    groups = np.repeat([f"g{i}" for i in range(23)], 3)
    f = grouped_folds(groups, folds=5, seed=4)
    per_group = pd.Series(f).groupby(groups).nunique()
    assert (per_group == 1).all()
    sizes = pd.Series(f).groupby(groups).first().value_counts()
    assert sizes.max() - sizes.min() <= 1 and len(sizes) == 5
    np.testing.assert_array_equal(f, grouped_folds(groups, folds=5, seed=4))
    with pytest.raises(ModelError, match="only 23 accounts"):
        grouped_folds(groups, folds=30)


def test_out_of_fold_predictions_come_from_models_without_the_test_accounts():
    df = _frame(n_acc=200, seed=5)
    c = compare_schemes(df, ["mean", "influence_weighted"], controls=["log_revenue"], n_boot=0)
    pred = c.predictions
    assert pred.groupby("account_id")["fold"].nunique().eq(1).all()
    k = 2
    train, test = pred["fold"] != k, pred["fold"] == k
    X = sm.add_constant(df[["influence_weighted", "log_revenue"]].to_numpy())
    ref = sm.GLM(df["renewed"].to_numpy()[train], X[train], family=sm.families.Binomial()).fit()
    np.testing.assert_allclose(pred.loc[test, "influence_weighted"], ref.predict(X[test]), rtol=1e-6)
    # pooled scores from the stored predictions, by hand
    t = c.table.set_index("scheme")
    p, y = pred["influence_weighted"].to_numpy(), pred["renewed"].to_numpy()
    assert t.loc["influence_weighted", "brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert t.loc["influence_weighted", "log_loss"] == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert t.loc["influence_weighted", "aic"] == pytest.approx(c.fits["influence_weighted"].result.aic)
    assert len(c.folds) == 10 and set(c.folds["fold"]) == set(range(5))


def test_better_scheme_wins_with_interval_excluding_zero():
    df = _frame(n_acc=800, noise=(0.1, 1.2), seed=6)
    c = compare_schemes(df, ["mean", "influence_weighted"], controls=[], n_boot=200)
    t = c.table.set_index("scheme")
    assert c.best() == "influence_weighted" and c.best("brier") == "influence_weighted"
    assert t.loc["influence_weighted", "auc_diff_low"] > 0
    assert t.loc["influence_weighted", "brier_diff_high"] < 0
    assert t.loc["mean", ["auc_diff", "auc_diff_low", "auc_diff_high"]].eq(0).all()
    assert t.loc["influence_weighted", "auc_diff"] == pytest.approx(t.loc["influence_weighted", "auc"] - t.loc["mean", "auc"])


def test_equally_informative_schemes_show_no_difference():
    df = _frame(n_acc=800, noise=(0.5, 0.5), seed=7)
    c = compare_schemes(df, ["mean", "influence_weighted"], controls=[], n_boot=300)
    t = c.table.set_index("scheme").loc["influence_weighted"]
    for m in ("auc", "brier", "log_loss"):
        assert t[f"{m}_diff_low"] < 0 < t[f"{m}_diff_high"]


def test_schemes_compared_on_common_rows():
    df = _frame(n_acc=300, seed=8)
    df.loc[df.index[:50], "mean"] = np.nan
    c = compare_schemes(df, ["mean", "influence_weighted"], controls=[], n_boot=0)
    assert (c.table["n"] == len(df) - 50).all()


def test_bookings_comparison_uses_family_deviance():
    df = _frame(n_acc=300, seed=9)
    c = compare_schemes(df, ["mean", "influence_weighted"], outcome="bookings", controls=[], n_boot=50)
    assert c.metrics == ["deviance", "rmse"]
    fam = sm.families.Tweedie(var_power=1.5, link=sm.families.links.Log())
    p, y = c.predictions["mean"].to_numpy(), c.predictions["bookings"].to_numpy()
    t = c.table.set_index("scheme")
    assert t.loc["mean", "deviance"] == pytest.approx(fam.deviance(y, p) / len(y), rel=1e-10)
    assert t.loc["mean", "rmse"] == pytest.approx(np.sqrt(np.mean((y - p) ** 2)))
    assert c.best() == "influence_weighted"
    g = compare_schemes(df, ["mean"], outcome="bookings", family="gamma", controls=[], n_boot=0)
    assert g.table["n"].iloc[0] == int((df["bookings"] > 0).sum())


def test_compare_metrics_baseline_is_nps():
    df = _frame(n_acc=300, seed=10)
    df["nps"] = 100 * np.clip(df["mean"], -1, 1)
    df["csat_mean"] = 3 + df["influence_weighted"]
    c = compare_metrics(df, metrics=["nps", "csat_mean"], controls=[], n_boot=20)
    assert c.baseline == "nps" and list(c.table["scheme"]) == ["nps", "csat_mean"]


def test_errors_name_the_problem():
    df = _frame(n_acc=50)
    with pytest.raises(ModelError, match="'nested'"):
        compare_schemes(df, ["mean", "nested"])
    with pytest.raises(ModelError, match="folds=1"):
        compare_schemes(df, ["mean"], folds=1)
    with pytest.raises(ModelError, match="non-empty"):
        compare_schemes(df.iloc[:0], ["mean"])


@pytest.mark.parametrize("family", [
    sm.families.Binomial(),
    sm.families.Tweedie(var_power=1.5, link=sm.families.links.Log()),
    sm.families.Gamma(link=sm.families.links.Log()),
    sm.families.Gaussian(),
])
def test_irls_equals_statsmodels(family):
    from cxinfluence.models.compare import irls

    df = _frame(n_acc=300, seed=11)
    X = sm.add_constant(df[["mean", "log_revenue"]].to_numpy())
    y = {"Binomial": df["renewed"], "Tweedie": df["bookings"], "Gamma": df["bookings"] + 1.0,
         "Gaussian": np.log1p(df["bookings"])}[type(family).__name__].to_numpy()
    ref = sm.GLM(y, X, family=family).fit(tol=1e-12)
    start = ref.params + 0.05  # not at the optimum
    b = irls(X, y, family, start, tol=1e-12)
    # same optimum: deviance to machine precision; coefficients to 1e-5 (the gamma
    # likelihood is flat along intercept vs log_revenue ~ N(12, 1))
    np.testing.assert_allclose(family.deviance(y, family.link.inverse(X @ b)), ref.deviance, rtol=1e-12)
    np.testing.assert_allclose(b, ref.params, rtol=1e-5, atol=1e-8)


def test_irls_with_an_all_zero_column_predicts_like_the_fit_without_it():
    # A training fold that lacks every account of one segment has an all-zero dummy.
    from cxinfluence.models.compare import irls

    df = _frame(n_acc=200, seed=3)
    X = sm.add_constant(df[["mean", "log_revenue"]].to_numpy())
    family = sm.families.Binomial()
    y = df["renewed"].to_numpy()
    ref = sm.GLM(y, X, family=family).fit(tol=1e-12)
    X0 = np.column_stack([X, np.zeros(len(X))])
    b = irls(X0, y, family, np.r_[ref.params + 0.05, 0.0], tol=1e-12)
    np.testing.assert_allclose(X0 @ b, X @ ref.params, rtol=1e-7, atol=1e-9)


def test_small_village_with_sparse_segments_compares_without_crashing():
    from cxinfluence.models.frame import model_frame
    from cxinfluence.village.synth import make_village

    village, _ = make_village(40, seed=11)
    c = compare_schemes(model_frame(village), ["mean", "influence_weighted"], n_boot=20)
    assert np.isfinite(c.table[["auc", "brier", "log_loss"]].to_numpy()).all()


def test_given_fits_are_reused_only_on_the_same_rows_and_formula():
    from cxinfluence.models.fit import fit_rebuy

    df = _frame(n_acc=300, seed=4)
    own = {s: fit_rebuy(df, scheme=s) for s in ("mean", "influence_weighted")}
    c = compare_schemes(df, ["mean", "influence_weighted"], n_boot=0, fits=own)
    assert c.fits["mean"] is own["mean"] and c.fits["influence_weighted"] is own["influence_weighted"]
    fresh = compare_schemes(df, ["mean", "influence_weighted"], n_boot=0)
    pd.testing.assert_frame_equal(c.table, fresh.table)
    # a fit on other rows (a scheme missing in some rows) is not reused
    gappy = df.assign(mean=df["mean"].mask(df.index % 7 == 0))
    c2 = compare_schemes(gappy, ["mean", "influence_weighted"], n_boot=0, fits=own)
    assert c2.fits["influence_weighted"] is not own["influence_weighted"]


# --------------------------------------------------------------------------
# Bootstrap AUC by prefix sums over accounts
# --------------------------------------------------------------------------
@pytest.mark.parametrize("event_rate, rounding", [(0.8, None), (0.2, None), (0.5, 1), (0.8, 2)])
def test_bootstrap_auc_is_bit_identical_to_weighted_auc(event_rate, rounding):
    from cxinfluence.models.compare import bootstrap_auc

    rng = np.random.default_rng(7)
    n_acc = 700
    groups = np.repeat(np.arange(n_acc), 3)[: 2000]
    y = (rng.uniform(size=len(groups)) < event_rate).astype(float)
    s = rng.normal(size=len(groups)) + y
    if rounding is not None:
        s = np.round(s, rounding)  # ties within and across classes
    y[groups == 0] = 1.0
    W = rng.multinomial(n_acc, np.full(n_acc, 1 / n_acc), size=60)
    W[0] = 0
    W[0, 0] = 5  # a replicate of events only: AUC undefined (NaN), as in auc()
    ref = np.concatenate([auc(y, s, W[i:i + 25][:, groups].astype(float)) for i in range(0, len(W), 25)])
    got = bootstrap_auc(y, s, groups, W)
    np.testing.assert_array_equal(got, ref)
    assert np.isnan(got[0])


def test_bootstrap_intervals_need_no_full_weight_matrix():
    """compare_schemes' intervals are the weighted AUCs of the replicates."""
    from cxinfluence.models.compare import _bootstrap_differences

    df = _frame(n_acc=300)
    c = compare_schemes(df, ["mean", "influence_weighted"], controls=[], n_boot=50)
    p = c.predictions
    acc = pd.factorize(p["account_id"])[0]
    preds = {s: p[s].to_numpy() for s in ("mean", "influence_weighted")}
    out = _bootstrap_differences(p["renewed"].to_numpy(), preds, ["mean", "influence_weighted"], "mean", acc,
                                 "rebuy", None, 50, 0, 0.95).set_index("scheme")
    rng = np.random.default_rng([0, 1])
    W = rng.multinomial(acc.max() + 1, np.full(acc.max() + 1, 1 / (acc.max() + 1)), size=50).astype(float)
    y = p["renewed"].to_numpy()
    d = auc(y, preds["influence_weighted"], W[:, acc]) - auc(y, preds["mean"], W[:, acc])
    a = (1 - 0.95) / 2
    lo, hi = np.nanquantile(d, [a, 1 - a])
    assert out.loc["influence_weighted", "auc_diff_low"] == lo and out.loc["influence_weighted", "auc_diff_high"] == hi
    t = c.table.set_index("scheme")
    assert t.loc["influence_weighted", "auc_diff_low"] == lo


def test_winner_by_log_loss_with_the_one_se_rule():
    rng = np.random.default_rng(0)
    n = 1200
    truth = rng.uniform(-1, 1, n)
    df = pd.DataFrame({"account_id": np.arange(n).astype(str), "mean": truth + rng.normal(0, 1.0, n),
                       "influence_weighted": truth + rng.normal(0, 0.2, n),
                       "role_weighted": truth + rng.normal(0, 0.21, n)})
    df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-2 * truth))).astype(float)
    c = compare_schemes(df, ["mean", "influence_weighted", "role_weighted"], controls=[], n_boot=100)
    t = c.table.set_index("scheme")
    assert {"auc", "brier", "log_loss", "log_loss_vs_best", "log_loss_vs_best_se", "selected"} <= set(t.columns)
    best = t["log_loss"].idxmin()
    assert t["selected"].sum() == 1 and t["selected"][c.winner]
    # the winner is within one SE of the best and no simpler scheme is
    assert t.loc[c.winner, "log_loss"] - t.loc[best, "log_loss"] <= t.loc[c.winner, "log_loss_vs_best_se"]
    assert t.loc["mean", "log_loss_vs_best"] > t.loc["mean", "log_loss_vs_best_se"]  # clearly worse: out
    assert c.winner != "mean" and "one-standard-error" in c.selection_rule
    # the SE is the bootstrap SD over accounts of the difference of mean row log losses (hand check)
    W = np.random.default_rng([0, 2]).multinomial(n, np.full(n, 1 / n), size=100).astype(float)
    y = c.predictions["renewed"].to_numpy()

    def ll(p):
        return -(y * np.log(p) + (1 - y) * np.log1p(-p))

    d = W @ (ll(c.predictions["mean"].to_numpy()) - ll(c.predictions[best].to_numpy())) / W.sum(1)
    assert t.loc["mean", "log_loss_vs_best_se"] == pytest.approx(np.std(d, ddof=1), rel=1e-8)
    c0 = compare_schemes(df, ["mean", "influence_weighted", "role_weighted"], controls=[], n_boot=0)
    assert c0.winner == c0.table.set_index("scheme")["log_loss"].idxmin()


def test_bootstrap_auc_in_chunks_float32_and_byte_counts_is_bit_identical():
    """The kernel scores a few replicates at a time from compact counts, in float32 where that is exact: every
    way gives the bits of the definition (auc with each replicate's weights per row)."""
    from cxinfluence.models.compare import _bootstrap_auc, _exact_in_float32, auc

    rng = np.random.default_rng(31)
    n_acc, per = 3000, 3
    g = np.repeat(np.arange(n_acc), per)
    s = np.round(rng.normal(size=g.size), 2)  # ties within and across the classes
    y = (rng.uniform(size=g.size) < 1 / (1 + np.exp(-s))).astype(float)
    W = rng.multinomial(n_acc, np.full(n_acc, 1 / n_acc), size=50)
    assert _exact_in_float32(W, len(y)) and not _exact_in_float32(W * 2**20, len(y))  # sums past 2**24: float64
    reference = auc(y, s, W[:, g].astype(float)).tolist()
    for weights in (W.astype(np.uint8), W.astype(float), W * 1.0):
        for chunk in (1, 7, 16, 64):
            assert _bootstrap_auc(y, s, g, weights, chunk=chunk).tolist() == reference
    big = W.astype(float) * 2**20  # float64 products (no longer exact in float32): the same AUCs, scaled weights
    assert _bootstrap_auc(y, s, g, big, chunk=5).tolist() == auc(y, s, big[:, g]).tolist()


def test_parallel_fold_refits_give_the_same_comparison(monkeypatch):
    from cxinfluence.models import compare

    df = _frame(n_acc=300, seed=9)
    serial = compare_schemes(df, ["mean", "influence_weighted"], controls=[], n_boot=30)
    monkeypatch.setattr(compare, "PARALLEL_FOLD_ROWS", 0)
    parallel = compare_schemes(df, ["mean", "influence_weighted"], controls=[], n_boot=30)
    pd.testing.assert_frame_equal(parallel.table, serial.table, check_exact=True)
    pd.testing.assert_frame_equal(parallel.predictions, serial.predictions, check_exact=True)


def test_threads_on_large_data_give_the_numbers_of_one_thread(monkeypatch):
    """Large data refits the folds on two threads while the next scheme is fitted on all rows, and scores the
    schemes' bootstrap AUCs on two threads (the class weights computed once): the same numbers as one thread."""
    import cxinfluence.models.compare as cmp

    df = _frame(n_acc=400)
    df["role_weighted"] = df["mean"] * 0.5 + df["influence_weighted"] * 0.5
    schemes = ["mean", "influence_weighted", "role_weighted"]
    monkeypatch.setattr(cmp, "PARALLEL_FOLD_ROWS", 10**9)
    seq = compare_schemes(df, schemes, controls=[], n_boot=40).table
    monkeypatch.setattr(cmp, "PARALLEL_FOLD_ROWS", 1)
    par = compare_schemes(df, schemes, controls=[], n_boot=40).table
    pd.testing.assert_frame_equal(seq, par, check_exact=True)
    assert seq["auc_diff_low"].notna().all() and (seq["auc_diff_high"] > seq["auc_diff_low"]).iloc[1:].all()


def test_bootstrap_weights_drawn_in_chunks_are_one_calls():
    """_boot_weights draws BOOT_CHUNK replicates at a time (bounded memory at a million accounts): the counts
    are those of one multinomial call for every replicate."""
    from cxinfluence.models.compare import BOOT_CHUNK, _boot_weights

    for n_acc, n_boot in ((500, 200), (7, BOOT_CHUNK), (40, BOOT_CHUNK + 1), (3, 1)):
        rng = np.random.default_rng([11, 2])
        whole = rng.multinomial(n_acc, np.full(n_acc, 1.0 / n_acc), size=n_boot).astype(float)
        assert np.array_equal(_boot_weights(11, 2, n_acc, n_boot), whole)


def test_release_lets_each_scheme_go_once_scored_and_changes_no_number(monkeypatch):
    """compare_schemes(release=True), as the run calls it: every scheme's fit lets go of its rows once its
    held-out predictions are made (at most two schemes' designs held at a time), on small data and on large data
    (fold refits on the other thread), and every table and prediction is the one of release=False."""
    from cxinfluence.models import compare

    df = _frame(n_acc=400, seed=5)
    df["role_weighted"] = df["mean"] + np.random.default_rng(2).normal(0, 0.3, len(df))
    schemes = ["mean", "influence_weighted", "role_weighted"]
    for large in (False, True):
        if large:
            monkeypatch.setattr(compare, "PARALLEL_FOLD_ROWS", 10)
        kept = compare_schemes(df, schemes, controls=[], n_boot=40)
        released = compare_schemes(df, schemes, controls=[], n_boot=40, release=True)
        assert all(f.data is not None for f in kept.fits.values())
        assert all(f.released and f.data is None for f in released.fits.values())
        pd.testing.assert_frame_equal(released.table, kept.table, check_exact=True)
        pd.testing.assert_frame_equal(released.folds, kept.folds, check_exact=True)
        pd.testing.assert_frame_equal(released.predictions, kept.predictions, check_exact=True)
        assert released.winner == kept.winner


def test_bootstrap_weights_drawn_ahead_are_used_and_give_the_same_comparison(monkeypatch):
    """cx.run draws the comparison's bootstrap weights while it fits the models (draw_ahead): compare_schemes uses
    them when they are for its seed, replicates and accounts, and draws its own otherwise; the same table."""
    import cxinfluence.models.compare as cmp

    df = _frame(n_acc=300, seed=4)
    schemes = ["mean", "influence_weighted"]
    ref = compare_schemes(df, schemes, controls=[], n_boot=40)
    ahead = cmp.draw_ahead(df, schemes, controls=[], n_boot=40)
    assert ahead.key == (0, 300, 40) and len(ahead.futures) == 2

    def not_here(*args):
        raise AssertionError("drawn again")

    monkeypatch.setattr(cmp, "_boot_weights", not_here)
    got = compare_schemes(df, schemes, controls=[], n_boot=40, draws=ahead)
    pd.testing.assert_frame_equal(got.table, ref.table, check_exact=True)
    with pytest.raises(AssertionError, match="drawn again"):  # other replicates: drawn by the comparison itself
        compare_schemes(df, schemes, controls=[], n_boot=30, draws=ahead)
    assert cmp.draw_ahead(df, schemes, controls=[], n_boot=0) is None
