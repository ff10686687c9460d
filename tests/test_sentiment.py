"""Account sentiment schemes: hand-computed worked examples, leakage, departed
stakeholders, NaN handling, and recovery of a known truth."""

import math

import numpy as np
import pandas as pd
import pytest

from cxinfluence.exceptions import MetricError
from cxinfluence.sentiment import base as sentiment_base
from cxinfluence.sentiment.schemes import (SCHEMES, account_sentiment, eb_shrink, role_sentiment, schemes_from_codes,
                                   stakeholder_sentiment, weighted_group_mean)
from cxinfluence.village.core import Village

AS_OF = "2024-06-30"
D = pd.Timestamp


def tiny_village(extra_responses=None):
    """Account A: unhappy veto-holding decider, two happy users, an unheard gatekeeper, a departed user.
    Account B: a buyer answering twice and a user. Account C: nobody heard."""
    st = pd.DataFrame({
        "stakeholder_id": ["d1", "u1", "u2", "g1", "x1", "b1", "b2", "c1"],
        "account_id": ["A", "A", "A", "A", "A", "B", "B", "C"],
        "role": ["decider", "user", "user", "gatekeeper", "user", "buyer", "user", "user"],
        "veto": [True, False, False, True, False, False, False, False],
        "active_from": pd.to_datetime([None] * 8),
        "active_to": pd.to_datetime([None, None, None, None, "2024-05-01", None, None, None]),
    })
    r = pd.DataFrame({
        "stakeholder_id": ["d1", "u1", "u2", "x1", "b1", "b1", "b2"],
        "date": pd.to_datetime(["2024-03-01", "2024-04-01", "2024-04-02", "2024-02-01",
                                "2024-01-01", "2024-05-01", "2024-02-01"]),
        "nps": [2, np.nan, np.nan, np.nan, 10, 8, 7],
        "csat": [np.nan, 5, 4, 1, 4, np.nan, np.nan],
    })
    if extra_responses is not None:
        r = pd.concat([r, extra_responses], ignore_index=True)
    return Village(
        accounts=pd.DataFrame({"account_id": ["A", "B", "C"], "segment": ["x", "x", "y"]}),
        stakeholders=st,
        relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
        responses=r,
        outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))


INFL = pd.DataFrame({"stakeholder_id": ["d1", "u1", "u2", "g1", "b1", "b2", "c1"],
                     "influence": [0.5, 0.2, 0.2, 0.1, 0.6, 0.4, 1.0]})


def table(v=None, **kw):
    kw.setdefault("influence", INFL)
    return account_sentiment(v or tiny_village(), AS_OF, **kw).set_index("account_id")


def test_hand_computed_schemes_account_a():
    a = table().loc["A"]
    # active: d1, u1, u2, g1 (x1 left 2024-05-01); heard d1 -0.6 (NPS 2), u1 1.0 (CSAT 5), u2 0.5 (CSAT 4)
    assert (a["n_stakeholders"], a["n_respondents"], a["n_responses"]) == (4, 3, 3)
    assert a["mean"] == pytest.approx(0.3)
    assert a["mean_se"] == pytest.approx(math.sqrt(0.67 / 3))  # s^2 = 1.34 / 2
    assert a["nps"] == -100.0 and a["nps_n"] == 1
    assert a["role_weighted"] == pytest.approx((3 * -0.6 + 1.0 + 0.5) / 5)
    assert a["heard_influence"] == pytest.approx(0.9)
    assert a["nested"] == pytest.approx((3 * -0.6 + 1 * 0.75) / 4)
    assert a["disagreement"] == pytest.approx(math.sqrt(0.43 / 0.9))
    # heard influence-weighted mean is 0; EB: tau^2 = 0 here, so the prior is the segment mean
    # (0 + 0.565) / 2 = 0.2825 and 10% of influence is imputed at it
    assert a["shrinkage"] == 1.0 and a["shrunk"] == pytest.approx(0.2825)
    assert a["influence_weighted"] == pytest.approx(0.1 * 0.2825)
    # the unhappy decider (veto) caps the account at -0.6 + 0.25
    assert a["veto_floor"] == pytest.approx(-0.35) and a["veto_binding"]


def test_hand_computed_schemes_account_b_and_unheard_account_c():
    t = table()
    b = t.loc["B"]
    s_b1 = (0.75 + 0.6) / 2  # (NPS 10 + CSAT 4)/2 -> 0.75, then NPS 8 -> 0.6
    assert b["mean"] == pytest.approx((s_b1 + 0.4) / 2)
    assert b["nps"] == 0.0 and b["nps_n"] == 2  # b1's latest NPS is 8: passive
    assert b["role_weighted"] == pytest.approx((2 * s_b1 + 0.4) / 3)
    assert b["influence_weighted"] == pytest.approx(0.6 * s_b1 + 0.4 * 0.4)
    assert b["veto_floor"] == b["influence_weighted"] and not b["veto_binding"]
    assert b["n_responses"] == 3
    c = t.loc["C"]
    assert c["n_stakeholders"] == 1 and c["n_respondents"] == 0 and c["heard_influence"] == 0.0
    for s in SCHEMES:
        assert np.isnan(c[s]), s


def test_renormalise_rule_reports_heard_mean():
    a = table(unheard="renormalise").loc["A"]
    assert a["influence_weighted"] == pytest.approx(0.0, abs=1e-12)
    assert a["heard_influence"] == pytest.approx(0.9)


def test_output_has_every_scheme_with_uncertainty_side_by_side():
    t = account_sentiment(tiny_village(), AS_OF, influence=INFL)
    assert list(t.columns[:6]) == ["account_id", "as_of", "n_stakeholders", "n_respondents", "n_responses",
                                   "heard_influence"]
    for s in SCHEMES:
        assert s in t.columns
    for s in ("mean", "role_weighted", "influence_weighted", "veto_floor", "nested", "shrunk"):
        for suffix in ("_se", "_ci_low", "_ci_high"):
            assert s + suffix in t.columns
        ok = t[s].notna() & t[s + "_se"].notna()
        assert ((t.loc[ok, s + "_ci_low"] <= t.loc[ok, s]) & (t.loc[ok, s] <= t.loc[ok, s + "_ci_high"])).all()
    assert (t["as_of"] == D(AS_OF)).all()


def augmented_ci(values, weights=None, z=1.959963984540054):
    """The bounded-scale interval on [-1, 1] written out from its formula: rescale to 0-1, Kish's
    n_eff, linearisation variance s2 = n_eff sum w^2 r^2 / (sum w)^2, then z^2/2 pseudo-people at
    each end of the scale and the normal interval of the augmented sample."""
    y = (np.asarray(values, float) + 1) / 2
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    n = w.sum() ** 2 / (w**2).sum()
    ybar = np.average(y, weights=w)
    s2 = n * np.sum((w * (y - ybar)) ** 2) / w.sum() ** 2
    k = z * z / 2
    nt = n + 2 * k
    pt = (n * ybar + k) / nt
    vt = (n * s2 + n * (ybar - pt) ** 2 + k * pt**2 + k * (1 - pt) ** 2) / nt
    half = z * math.sqrt(vt / nt)
    return 2 * max(pt - half, 0) - 1, 2 * min(pt + half, 1) - 1


def test_mean_ci_is_the_bounded_scale_interval():
    # heard d1 -0.6, u1 1.0, u2 0.5 (the t interval, 0.3 +/- 4.30 * 0.47, ran to the bounds)
    a = table().loc["A"]
    assert (a["mean_ci_low"], a["mean_ci_high"]) == pytest.approx(augmented_ci([-0.6, 1.0, 0.5]), rel=1e-9)
    # role weights decider 3, user 1, 1: Kish n_eff and the weighted variance
    assert (a["role_weighted_ci_low"], a["role_weighted_ci_high"]) == pytest.approx(
        augmented_ci([-0.6, 1.0, 0.5], [3, 1, 1]), rel=1e-9)


def test_agreeing_respondents_keep_an_interval():
    extra = pd.DataFrame({"stakeholder_id": ["d1", "u1", "u2"], "date": pd.to_datetime(["2024-06-01"] * 3),
                          "nps": [10, 10, 10], "csat": [np.nan] * 3})
    v = tiny_village()
    v = Village(v.accounts, v.stakeholders, v.relationships,
                pd.concat([v.responses[~v.responses["stakeholder_id"].isin(["d1", "u1", "u2"])], extra]),
                v.outcomes)
    a = table(v).loc["A"]
    assert a["mean"] == 1.0 and a["mean_ci_high"] == 1.0
    assert a["mean_ci_low"] == pytest.approx(augmented_ci([1.0, 1.0, 1.0])[0]) and a["mean_ci_low"] < 0.6


def test_leakage_responses_on_or_after_as_of_never_change_the_result():
    future = pd.DataFrame({"stakeholder_id": ["d1", "u1", "b2", "c1", "g1"],
                           "date": pd.to_datetime([AS_OF, "2024-06-30 12:00", "2024-07-01", "2025-01-01", AS_OF], format="ISO8601"),
                           "nps": [10, 0, 0, 10, 0], "csat": [5, 1, 1, 5, 1]})
    base = table()
    leaky = table(tiny_village(future))
    pd.testing.assert_frame_equal(base, leaky)
    st0 = stakeholder_sentiment(tiny_village(), AS_OF)
    st1 = stakeholder_sentiment(tiny_village(future), AS_OF)
    pd.testing.assert_frame_equal(st0, st1)


def test_lead_and_window_exclude_responses():
    t = table(window_days=100).loc["A"]  # window starts 2024-03-22: d1 (2024-03-01) drops out
    assert t["n_respondents"] == 2 and t["mean"] == pytest.approx(0.75)
    t = table(lead_days=89).loc["A"]  # responses must be before 2024-04-02: u2 drops out
    assert t["n_respondents"] == 2 and t["mean"] == pytest.approx(0.2)


def test_departed_stakeholder_excluded_and_influence_renormalised_over_active():
    a = table().loc["A"]
    assert a["n_stakeholders"] == 4  # x1 left before as_of, and their CSAT 1 is not used
    # influence that still lists x1 is renormalised over the active village: same result
    with_x1 = pd.concat([INFL.assign(influence=np.where(INFL["stakeholder_id"].isin(["d1", "u1", "u2", "g1"]),
                                                         INFL["influence"] / 2, INFL["influence"])),
                         pd.DataFrame({"stakeholder_id": ["x1"], "influence": [0.5]})])
    pd.testing.assert_frame_equal(table(influence=with_x1), table())
    # before x1 left (as of 2024-04-30) x1 counts
    early = account_sentiment(tiny_village(), "2024-04-30", influence=INFL).set_index("account_id").loc["A"]
    assert early["n_stakeholders"] == 5 and early["n_respondents"] == 4


def test_recency_decay_half_life():
    b = table(half_life_days=60).loc["B"]
    w1, w2 = 0.5 ** (181 / 60), 0.5 ** (60 / 60)  # 2024-01-01 and 2024-05-01 are 181 and 60 days old
    s_b1 = (w1 * 0.75 + w2 * 0.6) / (w1 + w2)
    assert b["mean"] == pytest.approx((s_b1 + 0.4) / 2)
    st = stakeholder_sentiment(tiny_village(), AS_OF, half_life_days=60).set_index("stakeholder_id")
    assert st.loc["b1", "sentiment"] == pytest.approx(s_b1)


def test_as_of_dataframe_several_dates_and_influence_per_date(monkeypatch):
    calls = []

    def fake_influence_weights(village, as_of=None, **kw):
        # the internal form: each row's position in village.stakeholders and its influence
        calls.append(pd.Timestamp(as_of))
        rows = pd.Index(village.stakeholders["stakeholder_id"]).get_indexer(INFL["stakeholder_id"])
        return rows, INFL["influence"].to_numpy(float)

    monkeypatch.setattr(sentiment_base, "influence_of_rows", fake_influence_weights)  # where the tables look it up
    pairs = pd.DataFrame({"account_id": ["A", "B", "B"], "as_of": pd.to_datetime([AS_OF, AS_OF, "2024-03-01"])})
    t = account_sentiment(tiny_village(), pairs)
    assert sorted(calls) == [D("2024-03-01"), D(AS_OF)]
    assert len(t) == 3 and set(zip(t["account_id"], t["as_of"])) == set(zip(pairs["account_id"], pairs["as_of"]))
    early_b = t[(t["account_id"] == "B") & (t["as_of"] == D("2024-03-01"))].iloc[0]
    assert early_b["mean"] == pytest.approx((0.75 + 0.4) / 2)  # b1's May answer is in the future
    assert early_b["nps"] == 50.0


def test_influence_with_as_of_column_is_matched_by_date():
    infl = pd.concat([INFL.assign(as_of=D(AS_OF)),
                      INFL.assign(as_of=D("2024-01-01"), influence=1.0)])
    pd.testing.assert_frame_equal(table(influence=infl), table())


def test_nested_ten_operators_do_not_outvote_the_plant_manager():
    st = pd.DataFrame({"stakeholder_id": [f"o{i}" for i in range(10)] + ["pm"], "account_id": "A",
                       "role": ["user"] * 10 + ["decider"], "veto": [False] * 10 + [True]})
    r = pd.DataFrame({"stakeholder_id": st["stakeholder_id"], "date": D("2024-01-01"),
                      "csat": [2.0] * 10 + [5.0]})
    v = Village(pd.DataFrame({"account_id": ["A"]}), st, pd.DataFrame(), r, pd.DataFrame())
    infl = pd.DataFrame({"stakeholder_id": st["stakeholder_id"], "influence": 1 / 11})
    a = account_sentiment(v, AS_OF, influence=infl).iloc[0]
    assert a["mean"] == pytest.approx((10 * -0.5 + 1.0) / 11)
    assert a["nested"] == pytest.approx((1 * -0.5 + 3 * 1.0) / 4)
    a2 = account_sentiment(v, AS_OF, influence=infl, role_weights={"decider": 1, "user": 1}).iloc[0]
    assert a2["nested"] == pytest.approx(0.25) and a2["role_weighted"] == pytest.approx(a["mean"])


def test_nest_by_department():
    v = tiny_village()
    v.stakeholders["department"] = ["operations", "operations", "it", "safety", "it", "procurement",
                                    "procurement", "it"]
    a = table(v, nest_by="department").loc["A"]
    assert a["nested"] == pytest.approx(((-0.6 + 1.0) / 2 + 0.5) / 2)


def test_nan_handling_blank_role_and_unanswered_response():
    v = tiny_village(pd.DataFrame({"stakeholder_id": ["g1"], "date": D("2024-05-05")}))  # no score at all
    v.stakeholders.loc[v.stakeholders["stakeholder_id"] == "u2", "role"] = np.nan
    a = table(v).loc["A"]
    assert a["n_respondents"] == 3 and a["n_responses"] == 3  # g1's empty response does not make g1 heard
    assert a["role_weighted"] == pytest.approx((3 * -0.6 + 1.0 + 0.5) / 5)  # blank role weighs 1
    assert a["nested"] == pytest.approx((3 * -0.6 + 1.0 + 0.5) / 5)  # blank role is its own group
    rs = role_sentiment(v, AS_OF)
    assert rs[rs["account_id"] == "A"]["role"].isna().sum() == 1


def test_inputs_not_modified():
    v = tiny_village()
    before = {k: t.copy(deep=True) for k, t in v.tables().items()}
    infl = INFL.copy()
    account_sentiment(v, AS_OF, influence=infl, half_life_days=30)
    for k, t in v.tables().items():
        pd.testing.assert_frame_equal(t, before[k])
    pd.testing.assert_frame_equal(infl, INFL)


def test_stakeholder_and_role_tables():
    st = stakeholder_sentiment(tiny_village(), AS_OF).set_index("stakeholder_id")
    assert "x1" not in st.index and st.loc["g1", "n_responses"] == 0 and np.isnan(st.loc["g1", "sentiment"])
    assert st.loc["b1", "nps"] == 8 and st.loc["b1", "last_heard"] == D("2024-05-01")
    assert st.loc["d1", "sentiment"] == pytest.approx(-0.6)
    rs = role_sentiment(tiny_village(), AS_OF)
    a = rs[rs["account_id"] == "A"].set_index("role")
    assert a.loc["user", "sentiment"] == pytest.approx(0.75) and a.loc["user", "n_respondents"] == 2
    assert "gatekeeper" not in a.index  # not heard


def test_veto_floor_interval_uses_pooled_within_person_noise():
    from cxinfluence.sentiment import veto_floor_interval

    t = table()
    assert t.loc["A", "veto_binding"]
    assert t.loc["A", "veto_floor_ci_low"] <= t.loc["A", "veto_floor"] <= t.loc["A", "veto_floor_ci_high"]
    # pooled within-person variance: only b1 answered twice: (0.75 - 0.675)^2 * 2 / 1; with the
    # base far above the cap, the bootstrap SD is the capping holder's own noise
    sd = math.sqrt(2 * 0.075**2 / 1)
    se, lo, hi = veto_floor_interval([-0.35], [0.9], [0.001], [-0.6], [sd], [0], [True], 1)
    assert se[0] == pytest.approx(sd, rel=1e-6)
    assert (lo[0], hi[0]) == pytest.approx((-0.35 - 1.959964 * sd, -0.35 + 1.959964 * sd), abs=1e-5)


def test_veto_floor_interval_is_the_exact_bootstrap_distribution():
    from cxinfluence.sentiment import veto_floor_interval

    # two holders near the threshold and a base nearby: brute-force Monte Carlo of the same bootstrap world
    rng = np.random.default_rng(1)
    x, sd, base, bsd, thr, m = np.array([0.1, 0.35]), np.array([0.2, 0.15]), 0.4, 0.1, 0.3, 0.25
    R = 400_000
    xs = x + sd * rng.standard_normal((R, 2))
    capped = np.where(xs < thr, xs + m, np.inf).min(1)
    reps = np.minimum(base + bsd * rng.standard_normal(R), capped)
    q_lo, q_hi = np.quantile(reps, [0.025, 0.975])
    f = min(base, x.min() + m)
    se, lo, hi = veto_floor_interval([f], [base], [bsd], x, sd, [0, 0], [True, True], 1, threshold=thr, margin=m)
    assert lo[0] == pytest.approx(min(2 * f - q_hi, f), abs=3e-3)
    assert hi[0] == pytest.approx(max(2 * f - q_lo, f), abs=3e-3)


def test_veto_floor_interval_covers_despite_the_minimum_of_two_noisy_holders():
    from cxinfluence.sentiment import veto_floor, veto_floor_interval

    # 400 simulated accounts, each with two veto holders truly at -0.3 (noise SD 0.2) and a base
    # truly at 0.5 (SD 0.05): the true floor is -0.05, the observed minimum is biased ~0.11 low
    rng = np.random.default_rng(7)
    A = 400
    g = np.repeat(np.arange(A), 2)
    x = -0.3 + 0.2 * rng.standard_normal(2 * A)
    base = 0.5 + 0.05 * rng.standard_normal(A)
    veto = np.ones(2 * A, bool)
    f, _, _ = veto_floor(base, x, g, veto, A)
    assert f.mean() < -0.05 - 0.08  # the bias of the minimum
    se, lo, hi = veto_floor_interval(f, base, np.full(A, 0.05), x, np.full(2 * A, 0.2), g, veto, A)
    boot = np.mean((lo <= -0.05) & (-0.05 <= hi))
    assert boot >= 0.92
    # the basic interval is centred nearer the truth than the biased minimum
    assert abs(np.mean((lo + hi) / 2) + 0.05) < abs(f.mean() + 0.05)


@pytest.mark.parametrize("kw, text", [
    (dict(unheard="drop"), "unheard='drop'"),
    (dict(nest_by="team"), "nest_by='team'"),
    (dict(half_life_days=0), "half_life_days=0"),
    (dict(role_weights={"user": -1}), "role_weights"),
    (dict(conf_level=2), "conf_level=2"),
])
def test_errors(kw, text):
    with pytest.raises(MetricError) as err:
        table(**kw)
    assert text in str(err.value)


def test_bad_as_of_and_influence_errors():
    with pytest.raises(MetricError, match="'account_id' and 'as_of'"):
        account_sentiment(tiny_village(), pd.DataFrame({"date": [D(AS_OF)]}), influence=INFL)
    with pytest.raises(MetricError, match="influence must be a DataFrame"):
        account_sentiment(tiny_village(), AS_OF, influence=pd.DataFrame({"id": ["d1"]}))
    with pytest.raises(ValueError, match="as_of='soon'"):
        account_sentiment(tiny_village(), "soon", influence=INFL)


def test_weighted_group_mean_equal_weights_matches_numpy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=50)
    m, se, n, ne = weighted_group_mean(x, 1.0, np.zeros(50, int), 1)
    assert m[0] == pytest.approx(x.mean()) and se[0] == pytest.approx(x.std(ddof=1) / math.sqrt(50))
    assert ne[0] == pytest.approx(50)


def test_eb_shrink_segments_and_degenerate():
    y = np.array([0.8, 0.0, -0.2, 0.4, 0.9, 0.7])
    v = np.array([0.05, 0.2, 0.05, 0.05, 0.1, 0.1])
    seg = np.array([0, 0, 0, 0, 1, 1])
    s, B, se, mu, tau2 = eb_shrink(y, v, seg)
    mu_hand = np.array([0.25] * 4 + [0.8] * 2)
    ss = np.sum((y - mu_hand) ** 2)
    tau2_hand = ss / (6 - 2) - v.mean()
    assert tau2 == pytest.approx(tau2_hand)
    assert B == pytest.approx(v / (v + tau2_hand))
    assert s == pytest.approx(B * mu_hand + (1 - B) * y)
    assert B[1] > B[0]  # the noisier account is shrunk more
    s, B, se, mu, tau2 = eb_shrink([0.3], [0.1], [0])
    assert np.isnan(s[0]) and np.isnan(tau2)


def test_schemes_from_codes_matches_account_sentiment():
    # same worked example fed as integer codes
    acc, st = schemes_from_codes(
        resp_stakeholder=[0, 1, 2], resp_sentiment=[-0.6, 1.0, 0.5],
        stakeholder_account=[0, 0, 0, 0], stakeholder_role=[0, 1, 1, 2],
        stakeholder_veto=[True, False, False, True], stakeholder_influence=[0.5, 0.2, 0.2, 0.1],
        n_accounts=1, resp_nps=[2, np.nan, np.nan], role_weights=[3.0, 1.0, 2.0], unheard="renormalise")
    assert acc["mean"][0] == pytest.approx(0.3) and acc["nps"][0] == -100
    assert acc["influence_weighted"][0] == pytest.approx(0.0, abs=1e-12)
    assert acc["veto_floor"][0] == pytest.approx(-0.35)
    assert st["n_responses"].tolist() == [1, 1, 1, 0]


def test_default_influence_is_graph_influence_weights():
    from cxinfluence.network.influence import influence_weights

    v = tiny_village()
    explicit = account_sentiment(v, AS_OF, influence=influence_weights(v, as_of=AS_OF))
    pd.testing.assert_frame_equal(account_sentiment(v, AS_OF), explicit)


# A world where influence can matter: people within an account genuinely differ (person_sd 0.8 against
# account_sd 0.2) and power is concentrated (power_sigma 1.0). With the generator's defaults people in an
# account mostly agree, so every scheme tracks the truth about equally well (corr ~0.9 for all).
TRUTH_WORLD = dict(person_sd=0.8, account_sd=0.2, power_sigma=1.0)


@pytest.mark.parametrize("world", ["influence", "mean"])
def test_influence_weighted_tracks_truth_only_where_influence_matters(world):
    import warnings

    from cxinfluence.village.synth import make_village

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v, truth = make_village(200, seed=1, truth=world, **TRUTH_WORLD)
        ta = truth.accounts.rename(columns={"period_end": "as_of", "sentiment": "truth"})
        a = account_sentiment(v, ta[["account_id", "as_of"]], window_days=365)  # graph influence per period_end
    m = a.merge(ta[["account_id", "as_of", "truth"]], on=["account_id", "as_of"], validate="one_to_one")
    m = m.dropna(subset=["mean", "influence_weighted"])
    assert len(m) > 700
    r_mean = np.corrcoef(m["mean"], m["truth"])[0, 1]
    r_infl = np.corrcoef(m["influence_weighted"], m["truth"])[0, 1]
    if world == "influence":
        assert r_infl > r_mean + 0.03, (r_infl, r_mean)
    else:
        assert r_mean > r_infl + 0.03, (r_mean, r_infl)


def test_single_respondent_and_empty_village_are_reported_not_filled():
    v = tiny_village()
    one = Village(v.accounts, v.stakeholders, v.relationships,
                  v.responses[v.responses["stakeholder_id"] == "d1"], v.outcomes)
    a = account_sentiment(one, AS_OF, influence=INFL).set_index("account_id").loc["A"]
    assert a["n_respondents"] == 1 and a["mean"] == pytest.approx(-0.6)
    assert np.isnan(a["mean_se"]) and np.isnan(a["disagreement"])
    # the bounded-scale interval is defined (and wide) for one respondent
    assert (a["mean_ci_low"], a["mean_ci_high"]) == pytest.approx(augmented_ci([-0.6]))
    assert a["nps"] == -100.0 and a["nps_ci_high"] == pytest.approx(51.011, abs=1e-3)  # Agresti-Min, n = 1
    # one account heard: no between-account variance can be estimated, so no shrinkage is claimed
    assert np.isnan(a["shrinkage"]) and np.isnan(a["shrunk"])
    assert a["influence_weighted"] == pytest.approx(-0.6)  # unheard influence imputed at the heard mean
    empty = Village(v.accounts.assign(account_id=["A", "B", "Z"]), v.stakeholders, v.relationships,
                    v.responses.iloc[:0], v.outcomes)
    t = account_sentiment(empty, AS_OF, influence=INFL).set_index("account_id")
    assert t["n_respondents"].tolist() == [0, 0, 0] and t.loc["Z", "n_stakeholders"] == 0
    assert t[list(SCHEMES)].isna().all().all()
    assert np.isnan(t.loc["Z", "heard_influence"])


def test_leakage_on_a_synthetic_village_scrambling_the_future_changes_nothing():
    import warnings

    from cxinfluence.village.synth import make_village

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v, truth = make_village(30, seed=2)
    as_of = pd.Timestamp("2024-01-01")
    infl = pd.DataFrame({"stakeholder_id": v.stakeholders["stakeholder_id"], "influence": 1.0})
    before = account_sentiment(v, as_of, influence=infl, half_life_days=90)
    r = v.responses.copy()
    future = r["date"] >= as_of
    assert future.sum() > 100
    rng = np.random.default_rng(0)
    for item, (lo, hi) in {"nps": (0, 10), "csat": (1, 5), "ces": (1, 5), "neteasy": (1, 7)}.items():
        r.loc[future, item] = rng.integers(lo, hi + 1, future.sum()).astype(float)
    scrambled = Village(v.accounts, v.stakeholders, v.relationships, r, v.outcomes)
    pd.testing.assert_frame_equal(before, account_sentiment(scrambled, as_of, influence=infl, half_life_days=90))
    # and the past does matter: scrambling it changes the table
    r2 = v.responses.copy()
    r2.loc[~future, "nps"] = 10.0 - r2.loc[~future, "nps"]
    changed = account_sentiment(Village(v.accounts, v.stakeholders, v.relationships, r2, v.outcomes), as_of,
                                influence=infl, half_life_days=90)
    assert not np.allclose(before["mean"], changed["mean"], equal_nan=True)


def test_several_dates_equal_one_date_at_a_time():
    pairs = pd.DataFrame({"account_id": ["A", "B", "A", "B"],
                          "as_of": pd.to_datetime(["2024-04-30", "2024-04-30", AS_OF, AS_OF])})
    both = account_sentiment(tiny_village(), pairs, influence=INFL)
    one = pd.concat([account_sentiment(tiny_village(), d, influence=INFL) for d in ("2024-04-30", AS_OF)])
    one = one[one["account_id"].isin(["A", "B"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(both.reset_index(drop=True), one, check_dtype=False)


def test_kernel_active_mask_and_presorted_layout_agree_with_plain_path():
    rng = np.random.default_rng(5)
    A, S, N = 40, 300, 3000
    s_acc = np.sort(rng.integers(0, A, S))
    role = rng.integers(0, 5, S)
    veto = rng.random(S) < 0.3
    active = rng.random(S) < 0.85
    infl = rng.gamma(1.0, size=S) * active
    infl = infl / np.maximum(np.bincount(s_acc, infl, A)[s_acc], 1e-300)
    r_sh = rng.integers(0, S, N)
    day = rng.integers(0, 400, N)
    x = np.where(rng.random(N) < 0.1, np.nan, rng.uniform(-1, 1, N))
    nps = np.where(rng.random(N) < 0.3, np.nan, rng.integers(0, 11, N).astype(float))
    w = 0.5 ** ((400 - day) / 90)
    kw = dict(resp_weight=w, resp_nps=nps, account_segment=np.arange(A) % 3, role_weights=[3, 2, 1, 1.5, 2])
    # plain path: drop the departed people's responses and re-code the active people 0..S'-1
    code = np.cumsum(active) - 1
    keep = active[r_sh]
    plain, _ = schemes_from_codes(code[r_sh[keep]], x[keep], s_acc[active], role[active], veto[active],
                                  infl[active], A, resp_time=day[keep], **{**kw, "resp_weight": w[keep],
                                                                           "resp_nps": nps[keep]})
    masked, _ = schemes_from_codes(r_sh, x, s_acc, role, veto, infl, A, resp_time=day, stakeholder_active=active, **kw)
    o = np.lexsort((np.arange(N), day, r_sh))
    presorted, _ = schemes_from_codes(r_sh[o], x[o], s_acc, role, veto, infl, A, stakeholder_active=active,
                                      sorted_by_stakeholder=True, **{**kw, "resp_weight": w[o], "resp_nps": nps[o]})
    for col, val in plain.items():
        np.testing.assert_allclose(np.asarray(masked[col], float), np.asarray(val, float), rtol=1e-12, atol=1e-12,
                                   err_msg=col)
        np.testing.assert_allclose(np.asarray(presorted[col], float), np.asarray(val, float), rtol=1e-12,
                                   atol=1e-12, err_msg=col)
    assert np.nansum(plain["nps_n"]) > 50 and np.isfinite(plain["shrunk"]).sum() > 30
