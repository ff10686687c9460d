"""The one IRLS loop (cxinfluence.models.irls) against statsmodels' GLM."""

import numpy as np
import pytest
import statsmodels.api as sm

from cxinfluence.models import irls, irls_fit, irls_rows


def _data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    size = rng.normal(0, 1, n)  # centred: the intercept is not confounded with it
    X = sm.add_constant(np.column_stack([x, size]))
    renewed = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.4 + 1.5 * x - 0.5 * size)))).astype(float)
    mean = np.exp(5 + 0.8 * x + 0.3 * size)
    bookings = renewed * rng.gamma(2.0, mean / 2.0)
    positive = rng.gamma(3.0, mean / 3.0)
    return X, renewed, bookings, positive


FAMILIES = {
    "logit": (sm.families.Binomial(), 1),
    "tweedie": (sm.families.Tweedie(var_power=1.5, link=sm.families.links.Log()), 2),
    "gamma": (sm.families.Gamma(link=sm.families.links.Log()), 3),
}


@pytest.mark.parametrize("name", list(FAMILIES))
@pytest.mark.parametrize("from_start", [False, True])
def test_irls_equals_statsmodels_glm_to_1e8(name, from_start):
    family, col = FAMILIES[name]
    data = _data(seed=7)
    X, y = data[0], data[col]
    ref = sm.GLM(y, X, family=family).fit(tol=1e-14, maxiter=500)
    start = np.asarray(ref.params) + 0.2 if from_start else None
    r = irls_fit(X, y, family, start)
    assert r.converged and r.reason == "converged" and not r.singular
    np.testing.assert_allclose(r.params, ref.params, rtol=1e-8, atol=0)
    np.testing.assert_allclose(irls(X, y, family, start), r.params, rtol=0, atol=0)


def test_irls_gives_up_on_separation_with_a_finite_estimate():
    data = _data(n=300, seed=4)
    X = data[0][:, :2]
    y = (X[:, 1] > 0).astype(float)
    r = irls_fit(X, y, sm.families.Binomial())
    assert not r.converged and r.reason == "separation"
    assert np.isfinite(r.params).all() and r.params[1] > 5


def test_irls_stops_at_maxiter():
    family, col = FAMILIES["tweedie"]
    data = _data(seed=3)
    r = irls_fit(data[0], data[col], family, maxiter=2)
    assert (r.converged, r.reason, r.iterations) == (False, "maxiter", 2)
    assert np.isfinite(r.params).all()


def test_irls_singular_design_predicts_like_the_fit_without_the_empty_column():
    data = _data(seed=5)
    X, y = data[0], data[1]
    X0 = np.column_stack([X, np.zeros(len(X))])
    ref = sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-14)
    r = irls_fit(X0, y, sm.families.Binomial())
    assert r.converged and r.singular
    np.testing.assert_allclose(X0 @ r.params, X @ ref.params, rtol=1e-8)


def test_compare_measurement_and_warm_start_use_the_one_loop():
    import sys

    from cxinfluence.models import compare, glm, measurement

    assert compare.irls is irls and measurement.irls is irls and glm.irls_fit is irls_fit
    assert sys.modules["cxinfluence.models.irls"].irls is irls  # the function, whatever the import order


@pytest.mark.parametrize("name", list(FAMILIES))
def test_irls_on_rows_in_one_block_is_irls_on_those_rows_bit_for_bit(name):
    family, col = FAMILIES[name]
    data = _data(seed=11)
    X, y = np.asfortranarray(data[0]), data[col]
    rows = np.flatnonzero(np.arange(len(y)) % 3 != 0)
    start = irls(X, y, family)
    np.testing.assert_array_equal(irls_rows(X, y, rows, family, start), irls(X[rows], y[rows], family, start))


@pytest.mark.parametrize("name", list(FAMILIES))
@pytest.mark.parametrize("block", [1, 97, 500])
def test_irls_on_rows_in_blocks_equals_irls_on_those_rows(name, block):
    """The normal equations summed block by block: the same estimate but for the last bits."""
    family, col = FAMILIES[name]
    data = _data(seed=12)
    X, y = data[0], data[col]
    rows = np.flatnonzero(np.random.default_rng(0).uniform(size=len(y)) < 0.8)
    start = irls(X, y, family)
    ref = irls(X[rows], y[rows], family, start)
    got = irls_rows(X, y, rows, family, start, block=block)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
    assert not np.array_equal(irls_rows(X, y, rows, family, start * 0.5, block=block), start * 0.5)  # it moved


def test_irls_on_rows_with_an_empty_column_predicts_like_the_fit_without_it():
    """A fold without any account of a segment: the dummy is all zero on its rows, X'WX singular."""
    X, y = _data(seed=5)[:2]
    X0 = np.column_stack([X, (np.arange(len(y)) % 4 == 0).astype(float)])
    rows = np.flatnonzero(np.arange(len(y)) % 4 != 0)
    got = irls_rows(X0, y, rows, sm.families.Binomial(), np.zeros(4), block=300)
    ref = sm.GLM(y[rows], X[rows], family=sm.families.Binomial()).fit(tol=1e-14)
    np.testing.assert_allclose(X0[rows] @ got, X[rows] @ ref.params, rtol=1e-8)


@pytest.mark.parametrize("name", list(FAMILIES))
@pytest.mark.parametrize("copy_bytes,block", [(None, None), (0, None), (0, 97), (None, 300)])
def test_irls_folds_equals_irls_on_each_folds_training_rows(name, copy_bytes, block):
    """Every fold's refit (rows read in fold order, copied or gathered, in blocks or whole) is irls on the other
    folds' rows; one step (maxiter=1) checks the shared first sums, which later steps would otherwise correct."""
    from cxinfluence.models.irls import irls_folds

    family, col = FAMILIES[name]
    data = _data(seed=13)
    X, y = data[0], data[col]
    fold = np.random.default_rng(1).integers(0, 4, len(y))
    start = irls(X, y, family)
    got = irls_folds(X, y, fold, family, start, block=block, copy_bytes=copy_bytes)
    assert len(got) == 4
    for k in range(4):
        train = fold != k
        np.testing.assert_allclose(got[k], irls(X[train], y[train], family, start), rtol=1e-10, atol=1e-12)
        assert not np.array_equal(got[k], start)
    one = irls_folds(X, y, fold, family, start, maxiter=1, block=block, copy_bytes=copy_bytes)
    for k in range(4):
        ref = irls_rows(X, y, np.flatnonzero(fold != k), family, start, maxiter=1)
        np.testing.assert_allclose(one[k], ref, rtol=1e-12, atol=1e-13)
        assert not np.allclose(one[k], got[k], rtol=1e-9, atol=0)  # one step is not yet the estimate


def test_irls_folds_with_a_fold_that_leaves_a_column_empty():
    """A fold holding every row of a dummy: its training rows leave the column all zero (X'WX singular)."""
    from cxinfluence.models.irls import irls_folds

    X, y = _data(seed=5)[:2]
    dummy = (np.arange(len(y)) % 4 == 0).astype(float)
    fold = np.where(dummy == 1, 0, 1 + np.arange(len(y)) % 3)
    got = irls_folds(np.column_stack([X, dummy]), y, fold, sm.families.Binomial(), np.zeros(4))
    ref = sm.GLM(y[fold != 0], X[fold != 0], family=sm.families.Binomial()).fit(tol=1e-14)
    np.testing.assert_allclose(X[fold != 0] @ got[0][:3], X[fold != 0] @ ref.params, rtol=1e-8)


def test_weighted_cross_is_x_w_x_for_any_sign_of_weight():
    from cxinfluence.models.irls import weighted_cross

    rng = np.random.default_rng(3)
    X = np.asfortranarray(rng.normal(size=(500, 6)))
    for w in (rng.uniform(0, 2, 500), rng.normal(size=500), np.zeros(500)):
        ref = np.einsum("ij,i,ik->jk", X, w, X)
        got = weighted_cross(X, w, out=np.empty_like(X, order="F"))
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
        assert np.array_equal(got, got.T) or w.min() < 0  # syrk: exactly symmetric
