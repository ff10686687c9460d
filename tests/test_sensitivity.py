"""Influence sensitivity table: baseline reproduces the ordinary model, ranks against scipy."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from cxinfluence.models.sensitivity import (
    BASE_SHARES,
    VARIANTS,
    _spearman_by_account,
    influence_sensitivity,
    sensitivity_sentence,
)
from cxinfluence.village.synth import make_village


@pytest.fixture(scope="module")
def village():
    v, _ = make_village(40, seed=5, years=2)
    return v


def test_within_account_spearman_matches_scipy():
    rng = np.random.default_rng(0)
    acc = np.repeat(np.arange(30), 5)
    a, b = rng.normal(size=150), rng.normal(size=150)
    rho, changed = _spearman_by_account(acc, a, b)
    ref = np.mean([spearmanr(a[acc == k], b[acc == k])[0] for k in range(30)])
    top = np.mean([np.argmax(a[acc == k]) != np.argmax(b[acc == k]) for k in range(30)])
    assert rho == pytest.approx(ref) and changed == pytest.approx(top)


def test_baseline_row_is_the_ordinary_model_and_variants_move(village):
    from cxinfluence.models.frame import model_frame
    from cxinfluence.models.fit import fit_rebuy

    variants = [VARIANTS[0], ("same as baseline", dict(BASE_SHARES), None),
                ("graph only", {"graph_share": 1.0, "role_share": 0.0, "rating_share": 0.0}, None)]
    t = influence_sensitivity(village, "2024-01-01", variants=variants)
    b = t.iloc[0]
    assert (b["stakeholder_rank_corr"], b["top_changed"], b["account_rank_corr"], b["mean_abs_change"]) == (1, 0, 1, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = fit_rebuy(model_frame(village, schemes=["influence_weighted"], metrics=False),
                        scheme="influence_weighted")
    assert b["estimate"] == pytest.approx(ref.result.params["influence_weighted"], rel=1e-8)
    same = t.iloc[1].drop("variant")
    pd.testing.assert_series_equal(same, b.drop("variant"), check_names=False)
    assert t.iloc[2]["stakeholder_rank_corr"] < 1 and t.iloc[2]["mean_abs_change"] > 0
    assert t["same_conclusion"].iloc[0]
    assert "Spearman" in sensitivity_sentence(t)


def test_large_villages_are_sampled(village):
    t = influence_sensitivity(village, "2024-01-01", variants=VARIANTS[:2], max_accounts=15, seed=1)
    assert (t["n_accounts"] == 15).all() and len(t) == 2


def test_reblend_equals_influence_weights(village):
    from cxinfluence.network.influence import influence_weights
    from cxinfluence.models.sensitivity import reblend

    base = influence_weights(village, "2024-01-01")
    for shares, priors in [({"graph_share": 1.0, "role_share": 0.3, "rating_share": 0.2}, None),
                           ({"graph_share": 0.5, "role_share": 0.3, "rating_share": 0.2}, {"decider": 9.0, "user": 1.0}),
                           ({"graph_share": 0.0, "role_share": 1.0, "rating_share": 0.4}, {"buyer": 2.0})]:
        ref = influence_weights(village, "2024-01-01", **shares, role_priors=priors)
        got = reblend(base, **shares, role_priors=priors)
        assert got["stakeholder_id"].tolist() == ref["stakeholder_id"].astype(str).tolist()
        np.testing.assert_allclose(got["influence"], ref["influence"], rtol=1e-12, atol=1e-15)


def test_an_unfittable_model_still_gives_the_rank_table(village):
    from cxinfluence.village.core import Village

    out = village.outcomes.assign(renewed=1.0)  # nothing to explain
    v = Village(village.accounts, village.stakeholders, village.relationships, village.responses, out)
    t = influence_sensitivity(v, "2024-01-01", variants=VARIANTS[:2])
    assert t["estimate"].isna().all() and t["warning"].str.contains("not fitted").all()
    assert t["stakeholder_rank_corr"].iloc[0] == 1.0 and not t["same_conclusion"].any()
