"""Tests of the synthetic village generator (cxinfluence.village.synth)."""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from cxinfluence.village.schema import ROLES
from cxinfluence.village.scale import response_sentiment, to_common_scale
from cxinfluence.village.synth import (
    COMMENT_TEMPLATES,
    TITLE_CATALOG,
    Truth,
    TruthParams,
    make_village,
    raw_stakeholders,
    read_truth,
    write_synthetic,
)


@pytest.fixture(scope="module")
def world():
    return make_village(300, seed=7)


def _active(df, t):
    t = pd.Timestamp(t)
    return (df["active_from"].isna() | (df["active_from"] <= t)) & (df["active_to"].isna() | (df["active_to"] > t))


# --------------------------------------------------------------------------- accounts and buying centers


def test_revenue_is_heavy_tailed(world):
    village, _ = world
    rev = np.sort(village.accounts["annual_revenue"].to_numpy())[::-1]
    top = rev[: len(rev) // 5].sum() / rev.sum()
    assert 0.7 <= top <= 0.9, top
    assert (rev >= 0).all()
    # the lognormal sigma is chosen so the population share is ~80%: 1 - Phi(Phi^-1(0.8) - sigma)
    from scipy.stats import norm

    assert 1 - norm.cdf(norm.ppf(0.8) - TruthParams().revenue_sigma) == pytest.approx(0.8, abs=0.01)


def test_buying_center_sizes(world):
    village, truth = world
    seats = truth.stakeholders.groupby("account_id")["position_id"].nunique()
    assert seats.min() >= 3 and seats.max() <= 40
    assert seats.mean() > seats.median()  # right-skewed
    assert seats.max() >= 25
    rev = village.accounts.set_index("account_id")["annual_revenue"]
    rho = pd.Series(np.log(rev)).corr(seats.reindex(rev.index), method="spearman")
    assert rho > 0.3, rho  # bigger accounts have bigger villages
    # every account has the core roles: a decider, a buyer and a user
    roles = truth.stakeholders.groupby("account_id")["role"].agg(set)
    assert roles.map(lambda r: {"decider", "buyer", "user"} <= r).all()


def test_account_managers_have_realistic_books(world):
    village, _ = world
    books = village.accounts.groupby("owner").size()
    assert 5 <= len(books) <= 30
    assert books.median() >= 10 and books.max() <= 120
    assert village.accounts["segment"].nunique() >= 5 and village.accounts["region"].nunique() == 4


def test_titles_agree_with_the_role_rule_table():
    from cxinfluence.village.roles import classify_titles

    got = classify_titles([t[0] for t in TITLE_CATALOG])
    expected = pd.DataFrame([(t[1], t[2]) for t in TITLE_CATALOG], columns=["role", "department"])
    mismatch = got.loc[(got["role"] != expected["role"]) | (got["department"] != expected["department"]), "title"]
    assert mismatch.empty, list(mismatch)


def test_blank_roles_and_veto_are_exercised(world):
    village, _ = world
    raw = raw_stakeholders(village.stakeholders)
    assert raw["role"].isna().mean() == pytest.approx(0.3, abs=0.04)
    assert raw["veto"].isna().mean() == pytest.approx(0.4, abs=0.04)
    assert raw["title"].notna().all()
    assert village.stakeholders["role"].notna().all()  # the returned village is completed
    assert village.stakeholders["influence_rating"].isna().mean() == pytest.approx(0.25, abs=0.05)
    assert set(village.stakeholders["role"]) == set(ROLES)
    assert village.stakeholders["title"].nunique() >= 40


# --------------------------------------------------------------------------- ids, ties, hierarchy, influence


def test_ids_unique_and_ties_inside_accounts(world):
    village, _ = world
    st, rel = village.stakeholders, village.relationships
    assert village.accounts["account_id"].is_unique
    assert st["stakeholder_id"].is_unique
    assert village.responses["response_id"].is_unique
    assert not rel.duplicated(["source_id", "target_id", "kind"]).any()
    acc = st.set_index("stakeholder_id")["account_id"]
    assert (acc.reindex(rel["source_id"]).to_numpy() == acc.reindex(rel["target_id"]).to_numpy()).all()
    assert (rel["source_id"] != rel["target_id"]).all()
    assert set(rel["kind"]) == {"reports_to", "influences"}
    assert (rel["weight"] > 0).all()
    assert set(village.responses["stakeholder_id"]) <= set(st["stakeholder_id"])


def test_reports_to_is_acyclic_with_one_manager_at_a_time(world):
    village, _ = world
    rel, st = village.relationships, village.stakeholders
    rt = rel[rel["kind"] == "reports_to"]
    assert nx.is_directed_acyclic_graph(nx.DiGraph(list(zip(rt["source_id"], rt["target_id"]))))
    for t in ("2022-06-30", "2024-03-15", "2025-12-31"):
        active = set(st.loc[_active(st, t), "stakeholder_id"])
        now = rt[rt["source_id"].isin(active) & rt["target_id"].isin(active)]
        assert now["source_id"].is_unique
        # every active person except one top decider per account has a manager
        n_acc = st.loc[_active(st, t), "account_id"].nunique()
        assert len(now) == len(active) - n_acc


def test_true_influence_sums_to_one_among_active(world):
    _, truth = world
    st = truth.stakeholders
    for t in ("2022-01-01", "2023-07-01", "2025-12-31"):
        sums = st.loc[_active(st, t)].groupby("account_id")["true_influence"].sum()
        np.testing.assert_allclose(sums.to_numpy(), 1.0, rtol=1e-9)
        # exactly one person per seat at any date
        assert st.loc[_active(st, t), "position_id"].is_unique
        assert st.loc[_active(st, t), "position_id"].nunique() == st["position_id"].nunique()


def test_graph_and_ratings_carry_signal_about_true_influence(world):
    village, truth = world
    rel = village.relationships
    inf = rel[rel["kind"] == "influences"]
    rt = rel[rel["kind"] == "reports_to"]
    t = truth.stakeholders.set_index("stakeholder_id")
    score = inf["source_id"].value_counts().add(rt["target_id"].value_counts(), fill_value=0)
    score = score.reindex(t.index, fill_value=0)
    within = lambda s: s.groupby(t["account_id"]).rank(pct=True)  # noqa: E731
    assert within(score).corr(within(t["power"]), method="spearman") > 0.3
    rating = village.stakeholders.set_index("stakeholder_id")["influence_rating"]
    ok = rating.notna()
    assert rating[ok].corr(within(t["power"])[ok], method="spearman") > 0.6


# --------------------------------------------------------------------------- turnover


def test_turnover_replaces_people_in_the_same_seat(world):
    village, truth = world
    st = village.stakeholders.merge(truth.stakeholders[["stakeholder_id", "position_id", "generation"]], on="stakeholder_id")
    left = st["active_to"].notna()
    assert 0.2 < left.mean() < 0.6
    repl = st[st["generation"] > 0]
    assert len(repl) == left.sum()
    prev = st.set_index(["position_id", "generation"])
    before = prev.loc[list(zip(repl["position_id"], repl["generation"] - 1))]
    assert (before["active_to"].to_numpy() == repl["active_from"].to_numpy()).all()
    assert (before["title"].to_numpy() == repl["title"].to_numpy()).all()
    # replacements inherit their seat's manager (the seat, whoever holds it)
    rt = village.relationships[village.relationships["kind"] == "reports_to"]
    seat = st.set_index("stakeholder_id")["position_id"]
    mgr_seats = rt.assign(src=seat.reindex(rt["source_id"]).to_numpy(), dst=seat.reindex(rt["target_id"]).to_numpy())
    assert mgr_seats.groupby("src")["dst"].nunique().max() == 1


def test_no_turnover_when_rate_is_zero():
    village, truth = make_village(20, seed=3, turnover_rate=0.0)
    assert village.stakeholders["active_to"].isna().all()
    assert (truth.stakeholders["generation"] == 0).all()


def test_champion_left_comments(world):
    village, _ = world
    champ = village.responses["comment"].str.contains("champion|sponsor|gone, the people", regex=True, na=False)
    assert champ.sum() >= 5


# --------------------------------------------------------------------------- responses


def test_response_sentiment_is_unbiased_for_latent_sentiment(world):
    village, truth = world
    r = village.responses.merge(truth.responses[["response_id", "latent_sentiment"]], on="response_id")
    sent = response_sentiment(r)
    ok = sent.notna()
    diff = (sent - r["latent_sentiment"])[ok]
    assert abs(diff.mean()) < 3 * diff.std() / np.sqrt(len(diff)) + 1e-3
    assert sent[ok].corr(r.loc[ok, "latent_sentiment"]) > 0.7
    scaled = to_common_scale(r)
    for item in scaled.columns:  # every item separately
        d = (scaled[item] - r["latent_sentiment"]).dropna()
        assert abs(d.mean()) < 4 * d.std() / np.sqrt(len(d)) + 1e-3, item


def test_scores_in_range_and_some_missing(world):
    village, _ = world
    r = village.responses
    for item, (lo, hi) in {"nps": (0, 10), "csat": (1, 5), "ces": (1, 5), "neteasy": (1, 7),
                           "trust": (1, 5), "cared_for": (1, 5)}.items():
        v = r[item].dropna()
        assert v.between(lo, hi).all() and (v == v.round()).all()
        assert v.nunique() == hi - lo + 1, item  # the whole scale is used
        assert r[item].isna().any()
    surveys = r[r["channel"] == "survey"]
    items = ["nps", "csat", "ces", "neteasy", "trust", "cared_for"]
    assert surveys[items].notna().any(axis=1).all()  # a survey answer has at least one score
    assert surveys["nps"].notna().mean() > 0.9
    assert set(r["channel"]) == {"survey", "informal", "interview"}
    assert r["journey_stage"].dropna().nunique() == 6
    assert r["touchpoint"].nunique() >= 8
    assert (r["date"] >= "2022-01-01").all() and (r["date"] < "2026-01-01").all()


def test_responses_fall_inside_tenure(world):
    village, _ = world
    r = village.responses.merge(village.stakeholders[["stakeholder_id", "active_from", "active_to"]], on="stakeholder_id")
    assert (r["active_from"].isna() | (r["date"] >= r["active_from"])).all()
    assert (r["active_to"].isna() | (r["date"] < r["active_to"])).all()


def test_response_rates_differ_by_role_deciders_lowest(world):
    village, truth = world
    st = truth.stakeholders
    start, end = pd.Timestamp("2022-01-01"), pd.Timestamp("2026-01-01")
    years = ((st["active_to"].fillna(end).clip(upper=end) - st["active_from"].fillna(start).clip(lower=start))
             .dt.days.clip(lower=0) / 365.25)
    exposure = years.groupby(st["role"]).sum()
    surveys = village.responses[village.responses["channel"] == "survey"]
    counts = surveys.merge(st[["stakeholder_id", "role"]], on="stakeholder_id").groupby("role").size()
    rate = counts / exposure
    assert rate.idxmin() == "decider"
    assert rate["decider"] < 0.75 * rate.drop("decider").min()
    # deciders give interviews more often than users
    interviews = village.responses[village.responses["channel"] == "interview"]
    irate = interviews.merge(st[["stakeholder_id", "role"]], on="stakeholder_id").groupby("role").size() / exposure
    assert irate["decider"] > irate["user"]


def test_comment_tone_follows_the_score(world):
    village, _ = world
    tone = {txt: k for th in COMMENT_TEMPLATES.values() for k, group in enumerate(th) for txt in group}
    r = village.responses.assign(tone=village.responses["comment"].map(tone), sentiment=response_sentiment(village.responses))
    means = r.dropna(subset=["tone", "sentiment"]).groupby("tone")["sentiment"].mean()
    assert means[0] > means[1] > means[2]
    assert r["comment"].notna().mean() > 0.3


def test_comment_templates_carry_their_theme_and_tone():
    """The theme tagger finds each template's theme; a lexicon sentiment agrees with its tone."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from cxinfluence.comments.themes import tag_themes
    from cxinfluence.village.synth import _CHAMPION

    rows = [(th, k, txt) for th, group in COMMENT_TEMPLATES.items() for k, texts in enumerate(group) for txt in texts]
    rows += [("people", 2, pre + title + post) for pre, post in _CHAMPION for title in ("Plant Manager", "EHS Manager")]
    df = pd.DataFrame(rows, columns=["theme", "tone", "comment"])
    tagged = tag_themes(df)
    assert all(tagged[f"theme_{th}"].iloc[i] for i, th in enumerate(df["theme"]))
    vader = SentimentIntensityAnalyzer()
    compound = df["comment"].map(lambda t: vader.polarity_scores(t)["compound"])
    assert (compound[df["tone"] == 0] > 0).all()
    assert (compound[df["tone"] == 2] < 0).all()


# --------------------------------------------------------------------------- outcomes and the truth


def _expit(x):
    return 1 / (1 + np.exp(-x))


def test_outcome_model_matches_documented_formula(world):
    village, truth = world
    p, a = truth.params, truth.accounts
    lin = p.intercept + p.sentiment_effect * a["sentiment"] + p.veto_effect * a["veto_triggered"] + p.size_effect * a["size_z"]
    np.testing.assert_allclose(a["renewal_probability"], _expit(lin), rtol=1e-12)
    np.testing.assert_allclose(a["sentiment"], a["influence_sentiment"])
    assert (a["veto_triggered"] == (a["veto_min"] < p.veto_threshold)).all()
    rev = village.accounts.set_index("account_id")["annual_revenue"].reindex(a["account_id"]).to_numpy()
    np.testing.assert_allclose(a["size_z"], np.log(rev / p.revenue_median) / p.revenue_sigma, rtol=1e-12)
    eb = rev * np.exp(p.bookings_intercept + p.bookings_sentiment * a["sentiment"] + p.bookings_sigma**2 / 2)
    np.testing.assert_allclose(a["expected_bookings_if_renewed"], eb, rtol=1e-9)
    out = village.outcomes
    assert set(out["renewed"]) == {0.0, 1.0}
    assert (out.loc[out["renewed"] == 0, "bookings"] == 0).all()
    assert (out.loc[out["renewed"] == 1, "bookings"] > 0).all()
    assert out["period_end"].dt.strftime("%m-%d").eq("12-31").all()
    assert 0.6 < out["renewed"].mean() < 0.95


def test_mean_and_roles_worlds():
    _, t_mean = make_village(40, seed=5, truth="mean")
    np.testing.assert_allclose(t_mean.accounts["sentiment"], t_mean.accounts["mean_sentiment"])
    assert t_mean.params.veto_effect == 0
    _, t_roles = make_village(40, seed=5, truth="roles")
    a, eff = t_roles.accounts, t_roles.params.role_effects
    cols = [f"sent_{r}" for r in ROLES]
    w = np.array([eff[r] for r in ROLES]) * a[cols].notna().to_numpy()
    expected = (w * a[cols].fillna(0).to_numpy()).sum(1) / w.sum(1)
    np.testing.assert_allclose(a["sentiment"], expected)
    # the mean world's account sentiment is a different number than the influence world's
    assert not np.allclose(t_mean.accounts["mean_sentiment"], t_mean.accounts["influence_sentiment"])


def test_truth_latent_year_sentiment_is_consistent_with_responses(world):
    """Accounts whose true mean sentiment is high get higher survey scores."""
    village, truth = world
    r = village.responses.assign(sentiment=response_sentiment(village.responses))
    r = r.merge(village.stakeholders[["stakeholder_id", "account_id"]], on="stakeholder_id")
    r = r[(r["date"] >= "2024-01-01") & (r["date"] < "2024-12-31")]
    observed = r.groupby("account_id")["sentiment"].mean()
    true = truth.accounts[truth.accounts["period_end"] == "2024-12-31"].set_index("account_id")["mean_sentiment"]
    assert observed.corr(true.reindex(observed.index)) > 0.6


def test_renewal_effect_is_recovered_from_the_truth():
    """A logit on the true S, veto flag and size recovers the generating coefficients."""
    import statsmodels.api as sm

    village, truth = make_village(1500, seed=11)
    a = truth.accounts.merge(village.outcomes, on=["account_id", "period_end"])
    X = sm.add_constant(a[["sentiment", "veto_triggered", "size_z"]].astype(float))
    fit = sm.Logit(a["renewed"], X).fit(disp=0)
    ci = fit.conf_int()
    p = truth.params
    for name, value in [("const", p.intercept), ("sentiment", p.sentiment_effect),
                        ("veto_triggered", p.veto_effect), ("size_z", p.size_effect)]:
        assert ci.loc[name, 0] < value < ci.loc[name, 1], (name, value, ci.loc[name].tolist())


def _observed_schemes(village, truth):
    """Per account and period_end: plain mean and true-influence-weighted mean of the
    observed sentiment of people active at period_end, over the preceding year."""
    r = village.responses.assign(sent=response_sentiment(village.responses)).dropna(subset=["sent"])
    r = r.merge(truth.stakeholders[["stakeholder_id", "account_id", "true_influence", "active_to"]], on="stakeholder_id")
    frames = []
    for T in village.outcomes["period_end"].unique():
        w = r[(r["date"] < T) & (r["date"] >= T - pd.Timedelta(days=365)) & (r["active_to"].isna() | (r["active_to"] > T))]
        per = w.groupby(["account_id", "stakeholder_id"]).agg(s=("sent", "mean"), w=("true_influence", "first"))
        per["ws"] = per["s"] * per["w"]
        g = per.groupby("account_id")
        frames.append(pd.DataFrame({"mean": g["s"].mean(), "infl": g["ws"].sum() / g["w"].sum(), "period_end": T}))
    return pd.concat(frames).reset_index().merge(village.outcomes, on=["account_id", "period_end"])


@pytest.mark.parametrize("world,better", [("influence", "infl"), ("mean", "mean")])
def test_the_world_shows_in_observed_data(world, better):
    """With enough accounts, the scheme matching the world predicts renewals better."""
    import statsmodels.api as sm

    village, truth = make_village(1500, seed=3, truth=world)
    f = _observed_schemes(village, truth)
    llf = {c: sm.Logit(f["renewed"], sm.add_constant(f[[c]])).fit(disp=0).llf for c in ("mean", "infl")}
    worse = ({"mean", "infl"} - {better}).pop()
    assert llf[better] > llf[worse] + 5, llf


# --------------------------------------------------------------------------- determinism, parameters, files


def test_deterministic_per_seed():
    v1, t1 = make_village(30, seed=42)
    v2, t2 = make_village(30, seed=42)
    for name, df in v1.tables().items():
        pd.testing.assert_frame_equal(df, v2.tables()[name])
    pd.testing.assert_frame_equal(t1.accounts, t2.accounts)
    pd.testing.assert_frame_equal(t1.stakeholders, t2.stakeholders)
    v3, _ = make_village(30, seed=43)
    assert not v3.responses.equals(v1.responses)


def test_parameters_and_errors():
    p = TruthParams.for_world("roles", turnover_rate=0.3)
    assert p.world == "roles" and p.turnover_rate == 0.3
    assert sum(p.role_coefficients().values()) == pytest.approx(p.sentiment_effect)
    assert TruthParams.from_dict(p.to_dict()) == p
    _, t = make_village(10, seed=1, truth=p, years=2)
    assert t.params == p and t.accounts["period_end"].nunique() == 2
    _, t2 = make_village(10, seed=1, truth=t)  # a Truth is accepted too
    assert t2.params == p
    with pytest.raises(ValueError, match=r"truth='median'.*expected one of \['influence', 'mean', 'roles'\]"):
        make_village(10, truth="median")
    with pytest.raises(ValueError, match="n_accounts=0"):
        make_village(0)
    with pytest.raises(ValueError, match="role_effects is missing role"):
        TruthParams(role_effects={"decider": 1.0})
    with pytest.raises(TypeError, match="expected a world name"):
        make_village(5, truth=3)


def test_write_load_and_truth_round_trip(tmp_path, world):
    from cxinfluence.village.core import load_village

    village, truth = world
    out = write_synthetic(village, truth, tmp_path / "v")
    raw = pd.read_csv(out / "stakeholders.csv", dtype=str)
    assert raw["role"].isna().mean() == pytest.approx(0.3, abs=0.04)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = load_village(out)
    assert not [p for p in loaded.problems if p.severity == "error"]
    for name, df in village.tables().items():
        pd.testing.assert_frame_equal(df.reset_index(drop=True), loaded.tables()[name].reset_index(drop=True),
                                      check_dtype=False)
    back = read_truth(out)
    assert back.params == truth.params and back.meta == truth.meta
    pd.testing.assert_frame_equal(back.accounts, truth.accounts, check_dtype=False, rtol=1e-5)
    pd.testing.assert_frame_equal(back.stakeholders, truth.stakeholders, check_dtype=False, rtol=1e-5)
    with pytest.raises(FileExistsError):
        write_synthetic(village, truth, out)
    write_synthetic(village, truth, out, overwrite=True)


@pytest.mark.parametrize("fmt,table", [("parquet", "responses.parquet"), ("xlsx", "village.xlsx")])
def test_write_other_formats(tmp_path, fmt, table):
    from cxinfluence.village.core import load_village

    village, truth = make_village(5, seed=2)
    out = write_synthetic(village, truth, tmp_path / fmt, format=fmt)
    assert (out / table).exists() and (out / "truth" / "parameters.json").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = load_village(out / "village.xlsx" if fmt == "xlsx" else out)
    for name, df in village.tables().items():
        pd.testing.assert_frame_equal(df, loaded.tables()[name], check_dtype=False)
    assert isinstance(read_truth(out / "truth"), Truth)
    with pytest.raises(ValueError, match="format='json'"):
        write_synthetic(village, truth, tmp_path / "j", format="json")
