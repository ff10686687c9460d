"""schemes_from_codes (the fast kernel) equals schemes_reference (the formulas written plainly) to 1e-12."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

import cxinfluence as cx
from cxinfluence.sentiment import schemes
from cxinfluence.sentiment.schemes_reference import schemes_reference


def _assert_same(fast, slow):
    (fa, fs), (sa, ss) = fast, slow
    assert set(fa) == set(sa) and set(fs) == set(ss)
    for out, ref in ((fa, sa), (fs, ss)):
        for k in out:
            a, b = np.asarray(out[k]), np.asarray(ref[k])
            assert a.shape == b.shape, k
            if a.dtype == bool or np.issubdtype(a.dtype, np.integer):
                np.testing.assert_array_equal(a, b, err_msg=k)
            else:
                np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=1e-12, atol=1e-12, err_msg=k)


def _both(*args, sorted_by_stakeholder=False, **kwargs):
    fast = schemes.schemes_from_codes(*args, sorted_by_stakeholder=sorted_by_stakeholder, **kwargs)
    return fast, schemes_reference(*args, **kwargs)


def test_hand_made_codes():
    # account 0: a veto-holding decider at -0.6 answering twice (NPS 2 then 9), two users; account 1: one buyer;
    # account 2: nobody heard; a departed user (code 6) whose answer must not count
    r_sh = np.array([0, 0, 1, 2, 4, 6])
    x = np.array([-0.8, -0.4, 1.0, 0.5, 0.6, -1.0])
    nps = np.array([2.0, 9.0, np.nan, np.nan, 10.0, 0.0])
    acc = np.array([0, 0, 0, 0, 1, 2, 0])
    role = np.array([0, 1, 1, 2, 3, 1, 1])
    veto = np.array([True, False, False, True, False, False, False])
    infl = np.array([0.5, 0.2, 0.2, 0.1, 1.0, 1.0, 0.0])
    active = np.array([True, True, True, True, True, True, False])
    fast, slow = _both(r_sh, x, acc, role, veto, infl, 3, resp_nps=nps, stakeholder_active=active,
                       role_weights=np.array([3.0, 1.0, 2.5, 2.0]))
    _assert_same(fast, slow)
    a = slow[0]
    assert a["n_respondents"].tolist() == [3, 1, 0] and a["n_responses"].tolist() == [4, 1, 0]
    assert a["mean"][0] == pytest.approx((-0.6 + 1.0 + 0.5) / 3, abs=1e-15)
    assert a["role_weighted"][0] == pytest.approx((3 * -0.6 + 1.0 + 0.5) / 5, abs=1e-15)
    assert a["nps"][0] == pytest.approx(100.0)  # one NPS answerer, the decider, whose latest answer (9) promotes
    assert a["veto_floor"][0] == pytest.approx(-0.6 + 0.25)  # the decider caps the account


def test_weights_times_and_unsorted_responses():
    rng = np.random.default_rng(3)
    n, S, A = 400, 60, 9
    r_sh = rng.integers(0, S, n)
    x = np.where(rng.uniform(size=n) < 0.1, np.nan, rng.uniform(-1, 1, n))
    w = np.where(rng.uniform(size=n) < 0.1, 0.0, rng.uniform(0.1, 1, n))
    t = rng.integers(0, 50, n)  # ties in time: the later position wins
    nps = np.where(rng.uniform(size=n) < 0.5, rng.integers(0, 11, n), np.nan)
    acc = np.sort(rng.integers(0, A - 1, S))  # the last account has nobody
    infl = rng.dirichlet(np.ones(S))
    infl[acc == 2] = np.nan  # an account without influence weights
    args = (r_sh, x, acc, rng.integers(0, 4, S), rng.uniform(size=S) < 0.3, infl, A)
    kw = dict(resp_weight=w, resp_nps=nps, resp_time=t, stakeholder_active=rng.uniform(size=S) < 0.9,
              account_segment=rng.integers(0, 2, A), role_weights=np.array([3.0, 0.0, 1.5, 1.0]))
    for unheard in ("impute", "renormalise"):
        _assert_same(*_both(*args, unheard=unheard, **kw))
    # sorted by (stakeholder, time): the fast path reads the latest NPS answer from the order
    order = np.lexsort((np.arange(n), t, r_sh))
    sorted_args = (r_sh[order], x[order]) + args[2:]
    kw_sorted = {**kw, "resp_weight": w[order], "resp_nps": nps[order], "resp_time": None}
    _assert_same(*_both(*sorted_args, sorted_by_stakeholder=True, **kw_sorted))


def _captured_codes(village, as_of, monkeypatch, **options):
    calls = []
    real = schemes.schemes_from_codes

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(schemes, "schemes_from_codes", spy)
    schemes.account_sentiment(village, as_of, **options)
    monkeypatch.setattr(schemes, "schemes_from_codes", real)
    return calls


def _fuzzed(seed):
    rng = np.random.default_rng(seed)
    v, _ = cx.make_village(int(rng.integers(3, 25)), seed=int(rng.integers(0, 10_000)), years=2)
    st = v.stakeholders.copy()
    st.loc[rng.uniform(size=len(st)) < 0.2, "role"] = None  # blank roles
    silent = v.accounts["account_id"].sample(frac=0.3, random_state=seed)  # accounts with no responses
    quiet = st.loc[st["account_id"].isin(silent), "stakeholder_id"]
    r = v.responses[~v.responses["stakeholder_id"].isin(quiet)]
    return dataclasses.replace(v, stakeholders=st, responses=r)


@pytest.mark.parametrize("seed", range(6))
def test_fuzzed_villages(seed, monkeypatch):
    v = _fuzzed(seed)
    as_of = pd.Timestamp(v.responses["date"].max()) if len(v.responses) else pd.Timestamp("2024-01-01")
    options = [{}, {"half_life_days": 90, "window_days": 200}, {"unheard": "renormalise", "nest_by": "department"}]
    for opts in options[seed % 3:seed % 3 + 1] + [{}]:
        calls = _captured_codes(v, as_of, monkeypatch, **opts)
        assert calls
        for args, kwargs in calls:
            kwargs = {k: val for k, val in kwargs.items() if k != "sorted_by_stakeholder"}
            _assert_same(schemes.schemes_from_codes(*args, **kwargs), schemes_reference(*args, **kwargs))


@pytest.mark.parametrize("threshold, margin, split, conf", [(0.3, 0.25, 10**9, 0.95), (0.3, 0.25, 50, 0.95),
                                                            (0.0, 0.1, 50, 0.8), (-0.5, 0.0, 10**9, 0.999),
                                                            (1.5, 0.25, 50, 0.95)])
def test_veto_floor_interval_equals_its_plain_form_bitwise(threshold, margin, split, conf, monkeypatch):
    # the kernel decides most bisection steps from a few certified evaluations (sentiment/floorsolve.py) and
    # may split the accounts over two threads; every number must be the plain bisection's, bit for bit (SDs of
    # 0 included: clamped to 1e-12, each term a step function)
    from cxinfluence.sentiment import estimators
    from cxinfluence.sentiment.schemes_reference import veto_floor_interval_reference

    monkeypatch.setattr(estimators, "_SPLIT_HOLDERS", split)
    monkeypatch.setattr(estimators, "_THREADS", 2)
    rng = np.random.default_rng(11)
    A, S = 400, 3000
    g = rng.integers(0, A, S)
    x = np.where(rng.random(S) < 0.3, np.nan, rng.uniform(-1, 1, S))
    x_sd = np.where(rng.random(S) < 0.05, 0.0, rng.uniform(0.0, 0.5, S))
    veto = rng.random(S) < 0.4
    base = np.where(rng.random(A) < 0.05, np.nan, rng.uniform(-1, 1, A))
    base_sd = rng.uniform(0.0, 0.3, A)
    value, _, _ = estimators.veto_floor(np.nan_to_num(base), x, g, veto, A, threshold, margin)
    got = estimators.veto_floor_interval(value, base, base_sd, x, x_sd, g, veto, A, threshold, margin, conf)
    want = veto_floor_interval_reference(value, base, base_sd, x, x_sd, g, veto, A, threshold, margin, conf)
    assert np.isfinite(got[0]).sum() > 100
    for a, b in zip(got, want):
        assert np.array_equal(a, b, equal_nan=True)
