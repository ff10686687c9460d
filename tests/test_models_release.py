"""Releasing the fitted rows after a run (cxinfluence.models.release): the fits keep no array of the rows, and
every table, sentence and prediction read from them afterwards is the one read before."""

import gc
import pickle
import types

import numpy as np
import pandas as pd
import pytest

from cxinfluence.exceptions import ModelError
from cxinfluence.models import glm
from cxinfluence.models.decision import decision_equation, scenario_effect
from cxinfluence.models.findings import bookings_findings, decision_findings, rebuy_findings
from cxinfluence.models.fit import fit_bookings, fit_rebuy, models_table
from cxinfluence.models.lean import LeanGLMResults
from cxinfluence.models.predict import predict_renewal, renewal_curve_table
from cxinfluence.models.release import column_summary, release_fits

pytestmark = pytest.mark.usefixtures("quiet_degenerate_fits")


def _frame(n=500, periods=2, seed=3):
    rng = np.random.default_rng(seed)
    m = n * periods
    latent = np.repeat(rng.normal(0.2, 0.4, n), periods) + rng.normal(0, 0.1, m)
    df = pd.DataFrame({
        "account_id": np.repeat([f"A{i:04d}" for i in range(n)], periods),
        "period_end": np.tile(pd.date_range("2023-12-31", periods=periods, freq="YE"), n),
        "mean": latent + rng.normal(0, 0.2, m),
        "log_revenue": np.repeat(rng.normal(12, 1, n), periods),
        "segment": np.repeat(rng.choice(["energy", "food", "water"], n), periods),
    })
    df["renewed"] = (rng.uniform(size=m) < 1 / (1 + np.exp(-(0.8 + 2.0 * latent)))).astype(float)
    df["bookings"] = df["renewed"] * rng.gamma(2.0, np.exp(df["log_revenue"] - 8 + 0.6 * latent) / 2.0)
    df["mean_copy"] = 2 * df["mean"]  # aliased with mean: the reduced-design path
    for r in ("decider", "user"):
        heard = rng.uniform(size=m) < 0.7
        df[f"sent_{r}"] = np.where(heard, latent + rng.normal(0, 0.3, m), np.nan)
        df[f"heard_{r}"] = heard.astype(float)
    return df


@pytest.fixture(params=["statsmodels", "lean"])
def path(request, monkeypatch):
    """Both fitting paths: statsmodels' own results, or (every fit of 100 rows or more) the lean ones."""
    if request.param == "lean":
        monkeypatch.setattr(glm, "WARM_START_MIN_ROWS", 100)
    return request.param


def _fits(df):
    return {"rebuy:mean": fit_rebuy(df, scheme="mean", controls=["log_revenue", "segment"]),
            "rebuy:aliased": fit_rebuy(df, scheme="mean", controls=["mean_copy", "log_revenue"]),
            "bookings:tweedie": fit_bookings(df, scheme="mean"),
            "decision_equation": decision_equation(df, controls=["log_revenue"])}


def _row_arrays(root, rows):
    """Paths of the numpy arrays with ``rows`` rows or more reachable from ``root`` (attributes, containers and
    every other reference)."""
    seen, found, queue = set(), [], [(root, "fit")]
    while queue:
        obj, where = queue.pop()
        if id(obj) in seen or isinstance(obj, (type, types.ModuleType, types.FunctionType, str, bytes)):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            if obj.ndim and obj.shape[0] >= rows:
                found.append(f"{where} {obj.shape}")
            continue
        attrs = obj if isinstance(obj, dict) else getattr(obj, "__dict__", None)
        if isinstance(attrs, dict):
            queue += [(v, f"{where}.{k}") for k, v in attrs.items()]
        queue += [(r, f"{where}<ref>") for r in gc.get_referents(obj) if r is not attrs]
    return found


def test_released_fits_hold_no_array_of_the_rows(path):
    df = _frame()
    fits = _fits(df)
    assert all(_row_arrays(f, len(df) // 2) for f in fits.values())  # the walk finds them before the release
    release_fits(fits, statsmodels=["rebuy:mean", "rebuy:aliased"])
    for name, f in fits.items():
        assert f.released and f.data is None
        assert _row_arrays(f, len(df) // 2) == [], name
        if path == "lean" and name != "rebuy:aliased":  # (the aliased model is refitted by statsmodels)
            assert isinstance(f.result, LeanGLMResults)


def test_everything_read_from_released_fits_is_unchanged(path):
    df = _frame()
    new = df.iloc[::7].drop(columns=["renewed"]).assign(mean=lambda d: d["mean"] - 0.3)
    kept, released = _fits(df), _fits(df)
    release_fits(released, statsmodels=["rebuy:mean", "rebuy:aliased"])

    def reads(fits):
        return {"models": models_table(fits), "rebuy": rebuy_findings(fits["rebuy:mean"]),
                "aliased": rebuy_findings(fits["rebuy:aliased"]),
                "bookings": bookings_findings(fits["bookings:tweedie"]),
                "decision": decision_findings(fits["decision_equation"]),
                "predict": predict_renewal(fits["rebuy:mean"], new),
                "predict_aliased": predict_renewal(fits["rebuy:aliased"], new),
                "curve": renewal_curve_table(fits["rebuy:mean"], "mean"),
                "stats": pd.DataFrame([f.stats() for f in fits.values()])}

    before, after = reads(kept), reads(released)
    for what in before:  # exactly equal: the same numbers, not close ones
        pd.testing.assert_frame_equal(after[what], before[what], check_exact=True, obj=what)
    for name in kept:
        assert released[name].tidy().equals(kept[name].tidy())
        assert released[name].se_type == kept[name].se_type


def test_a_released_fit_says_what_needs_its_rows(path):
    df = _frame()
    fits = _fits(df)
    release_fits(fits, statsmodels=["rebuy:mean"])
    eq, rebuy = fits["decision_equation"], fits["rebuy:mean"]
    with pytest.raises(ModelError, match="released"):
        eq.marginal_effects()
    with pytest.raises(ModelError, match="released"):
        scenario_effect(eq, {"sent_decider": -0.5}, {"sent_decider": 0.5})
    assert eq.effects is not None and len(decision_findings(eq))  # computed when it was fitted
    assert rebuy.marginal_effects().margeff.shape == (4,)  # kept: the report's sentence
    assert "Generalized Linear Model Regression Results" in rebuy.summary()
    if path == "lean":
        with pytest.raises(ModelError, match="released"):
            eq.result.statsmodels()
        with pytest.raises(ModelError, match="released"):
            eq.result.fittedvalues  # noqa: B018 - the read is the test
        assert rebuy.result.statsmodels().model.exog is None  # kept, without its data
    again = pickle.loads(pickle.dumps(fits))
    assert again["rebuy:mean"].tidy().equals(rebuy.tidy())
    new = df.iloc[::5]
    pd.testing.assert_frame_equal(predict_renewal(again["rebuy:mean"], new), predict_renewal(rebuy, new),
                                  check_exact=True)
    release_fits(fits)  # a second release leaves them as they are
    assert fits["rebuy:mean"].marginal_effects() is rebuy.margins


def test_column_summary_reads_as_the_sentences_did():
    s = column_summary(pd.Series([0.0, 1.0, np.nan, 1.0]))
    assert s["binary"] and not s["empty"]
    assert column_summary(pd.Series([np.nan, np.nan]))["empty"]
    assert column_summary(pd.Series(["b", "a", "b"]))["empty"]  # no number in a text column
    numbers_as_text = column_summary(pd.Series(["1", "3", "x"], dtype="str"))  # converted value by value
    assert not numbers_as_text["empty"] and numbers_as_text["max"] == 3.0 and numbers_as_text["typical"] == "1"


def _pandas_summary(values):
    """column_summary as pandas computes it (the reference of its numpy path for float64 columns)."""
    present = values.dropna()
    return {"empty": present.empty, "binary": (not present.empty) and bool(((present == 0) | (present == 1)).all()),
            "std": float(values.std()), "min": values.min(), "max": values.max(), "typical": values.median()}


@pytest.mark.filterwarnings("ignore:invalid value encountered", "ignore:overflow encountered")
def test_column_summary_of_floats_is_pandas_to_the_bit():
    rng = np.random.default_rng(7)
    x = rng.normal(3.0, 1e3, 100_003)
    cases = [x, np.where(rng.uniform(size=x.size) < 0.3, np.nan, x), np.round(rng.uniform(size=999)),
             np.r_[np.nan, 0.0, 1.0, 1.0], [np.nan, np.nan], [], [2.5], [2.0, 2.0], [np.inf, 1.0, np.nan],
             [-np.inf, np.inf], rng.normal(size=4) * 1e300]
    for values in cases:
        series = pd.Series(values, dtype=float, index=rng.permutation(len(values)))  # a fit's rows: any index
        got, ref = column_summary(series), _pandas_summary(series)
        assert got.keys() == ref.keys()
        for key in ref:
            assert type(got[key]) is type(ref[key]), (values, key)
            assert got[key] == ref[key] or (pd.isna(got[key]) and pd.isna(ref[key])), (values, key)


def test_a_finished_run_holds_no_array_of_the_model_frame(small_synthetic, tmp_path):
    from cxinfluence.pipeline.runner import run

    result = run(small_synthetic[1], tmp_path / "out", maps=0, quiet=True, n_boot=20)
    frame = result.tables["model_frame"]
    assert result.fits and min(f.n for f in result.fits.values()) > len(frame) // 2
    for name, f in result.fits.items():
        assert _row_arrays(f, len(frame) // 2) == [], name
    comparison = result.tables.get("comparison_object")
    if comparison is not None:
        assert _row_arrays(comparison.fits, len(frame) // 2) == []


@pytest.mark.parametrize("kept", ["statsmodels", "predict"])
def test_fits_released_to_predict_read_as_before(path, kept):
    # predict=: a lean fit keeps a few rows to build the design of new rows and predicts from its own estimates
    # (no statsmodels refit on every row); everything read afterwards is what the unreleased fits give
    df = _frame()
    new = df.iloc[::7].drop(columns=["renewed"]).assign(mean=lambda d: d["mean"] - 0.3)
    fits = _fits(df)
    before = {"predict": predict_renewal(fits["rebuy:mean"], new), "curve": renewal_curve_table(fits["rebuy:mean"], "mean"),
              "aliased": predict_renewal(fits["rebuy:aliased"], new), "findings": rebuy_findings(fits["rebuy:mean"])}
    release_fits(fits, **{kept: ["rebuy:mean", "rebuy:aliased"]})
    assert _row_arrays(fits["rebuy:mean"], len(df) // 2) == []
    again = pickle.loads(pickle.dumps(fits))  # patsy's design is not pickled: rebuilt from the kept rows
    for f in (fits, again):
        after = {"predict": predict_renewal(f["rebuy:mean"], new), "curve": renewal_curve_table(f["rebuy:mean"], "mean"),
                 "findings": rebuy_findings(f["rebuy:mean"])}
        if f is fits:  # (an unpickled reduced model cannot predict: patsy's design of its rows is not pickled)
            after["aliased"] = predict_renewal(f["rebuy:aliased"], new)
        for what in after:
            pd.testing.assert_frame_equal(after[what], before[what], check_exact=True, obj=what)
    lean = isinstance(fits["rebuy:mean"].result, LeanGLMResults)
    assert lean == (path == "lean")
    if lean and kept == "predict":
        assert fits["rebuy:mean"].result._sm is None  # statsmodels was never fitted
        with pytest.raises(ModelError, match="released"):
            fits["rebuy:mean"].summary()
        assert len(fits["rebuy:mean"].result.model.design_rows) <= 4  # a row per segment, and the first
    else:
        assert "Generalized Linear Model Regression Results" in fits["rebuy:mean"].summary()


def test_lean_predictions_are_statsmodels_get_prediction(monkeypatch):
    # LeanGLMResults.get_prediction against statsmodels' on the same fit (its one-step refit from the lean
    # estimate moves the estimates in the last bits only): logit and Tweedie, intervals at two levels, text
    # categories given as text in the new rows
    monkeypatch.setattr(glm, "WARM_START_MIN_ROWS", 100)
    df = _frame(n=800)
    new = df.iloc[::3].drop(columns=["renewed", "bookings"]).assign(mean=lambda d: d["mean"] * 1.5)
    new["segment"] = new["segment"].astype(object)
    for fit in (fit_rebuy(df, scheme="mean", controls=["log_revenue", "segment"]), fit_bookings(df, scheme="mean")):
        assert isinstance(fit.result, LeanGLMResults)
        for alpha in (0.05, 0.2):
            got = fit.result.get_prediction(new).summary_frame(alpha=alpha)
            ref = fit.result.statsmodels().get_prediction(new).summary_frame(alpha=alpha)
            assert list(got.columns) == list(ref.columns) and got.index.equals(ref.index)
            np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-10, atol=0)
        # the lean arithmetic is statsmodels' own: given statsmodels' estimates and covariance, the same bits
        sm = fit.result.statsmodels()
        fit.result.params, fit.result._cov = sm.params, sm.cov_params().to_numpy()
        pd.testing.assert_frame_equal(fit.result.get_prediction(new).summary_frame(),
                                      sm.get_prediction(new).summary_frame(), check_exact=True)
