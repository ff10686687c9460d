"""The breakdowns' join on matched rows and their one sort give the plain definitions' tables, bit for bit."""

import warnings

import numpy as np
import pandas as pd
import pytest

from cxinfluence.sentiment.metrics import (METRICS, metric_arrays, metric_table, response_frame,
                                           response_frame_reference)
from cxinfluence.village.asof import default_as_of
from cxinfluence.village.core import Village


def _odd_village(sample_village):
    """The sample village with what real exports bring: a response from someone not in the stakeholders table, a
    stakeholder of an account the accounts table does not list, a blank role and segment."""
    v = sample_village
    people = v.stakeholders.copy()
    people.loc[people.index[3], "account_id"] = "NOT-LISTED"
    people.loc[people.index[5], "role"] = None
    accounts = v.accounts.copy()
    accounts.loc[accounts.index[1], "segment"] = None
    responses = v.responses.copy()
    responses.loc[responses.index[7], "stakeholder_id"] = "NOBODY"
    return Village(accounts, people, v.relationships, responses, v.outcomes)


@pytest.mark.parametrize("as_of, window", [(None, None), ("default", 365), ("default", None), ("2024-06-01", 90)])
@pytest.mark.parametrize("columns", [None, ["date", "nps", "role", "segment"], ["journey_stage"]])
def test_response_frame_equals_merging_whole_tables(sample_village, as_of, window, columns):
    odd = _odd_village(sample_village)
    for v in (sample_village, odd):
        when = default_as_of(v) if as_of == "default" else as_of
        fast = response_frame(v, when, window_days=window, columns=columns)
        ref = response_frame_reference(v, when, window_days=window, columns=columns)
        pd.testing.assert_frame_equal(fast, ref)
        assert len(fast) > 0
    # the odd rows did what a merge does: the unknown respondent dropped, the unlisted account's segment blank
    full = response_frame(odd)
    assert "NOBODY" not in set(full["stakeholder_id"]) and full.loc[full["account_id"] == "NOT-LISTED", "segment"].isna().all()


def test_response_frame_with_repeated_ids_takes_the_merge_path(sample_village):
    v = sample_village
    people = pd.concat([v.stakeholders, v.stakeholders.iloc[:1]], ignore_index=True)
    twice = Village(v.accounts, people, v.relationships, v.responses, v.outcomes)
    with pytest.raises(pd.errors.MergeError):  # what pandas says of a repeated id: the same as before
        response_frame(twice)


def test_metric_table_on_a_village_reads_only_the_rows_and_columns_it_needs(sample_village):
    """The village path equals the table made from the whole merged frame (the definition)."""
    v = _odd_village(sample_village)
    as_of = default_as_of(v)
    whole = response_frame_reference(v)
    for by in ("role", ["role", "journey_stage"], "segment", None):
        for unit in ("respondent", "response"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                got = metric_table(v, by=by, metrics=list(METRICS), unit=unit, as_of=as_of, window_days=365)
                want = metric_table(whole[whole["active_from"].isna() | (whole["active_from"] <= as_of)]
                                    .loc[lambda d: d["active_to"].isna() | (d["active_to"] > as_of)]
                                    .reset_index(drop=True),
                                    by=by, metrics=list(METRICS), unit=unit, as_of=as_of, window_days=365)
            pd.testing.assert_frame_equal(got, want)


def test_the_people_rows_number_respondents_as_their_ids_do_bit_for_bit(sample_village):
    """On a village the respondents are numbered from their stakeholders' rows, not by hashing their ids: the
    same numbers (first seen first), so the same sums in the same order, to the last bit; responses shuffled so
    that the order of first appearance is not the stakeholders' order."""
    v = sample_village
    shuffled = v.responses.sample(frac=1.0, random_state=3).reset_index(drop=True)
    v = Village(v.accounts, v.stakeholders, v.relationships, shuffled, v.outcomes)
    whole = response_frame_reference(v)
    for by in (["role", "journey_stage"], "department", None):
        got = metric_table(v, by=by, metrics=list(METRICS), window_days=None)
        want = metric_table(whole, by=by, metrics=list(METRICS), window_days=None)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert len(whole) == len(v.responses) and got["n_respondents"].iloc[0] > 100


def _metric_arrays_per_metric(scores, group, person, n_groups, metrics):
    """The respondent unit as it was written first: one ``np.unique`` of (group, person) per metric."""
    out = {}
    for m in metrics:
        x = scores[METRICS[m][0]]
        ok = ~np.isnan(x)
        x, g, p = x[ok], group[ok], person[ok]
        key = g.astype(np.int64) * (p.max() + 1) + p
        last = len(key) - 1 - np.unique(key[::-1], return_index=True)[1]
        out[m] = metric_arrays({METRICS[m][0]: x[last]}, g[last], np.arange(len(last)), n_groups, [m],
                               unit="response")[m]
    return out


def test_one_sort_for_every_metric_equals_one_unique_per_metric():
    rng = np.random.default_rng(7)
    n, n_groups = 20_000, 13
    group, person = rng.integers(0, n_groups, n), rng.integers(0, 900, n)
    scores = {}
    for m in ("nps", "csat", "ces", "neteasy", "trust", "sentiment"):
        col = METRICS[m][0]
        low, high = {"nps": (0, 10), "neteasy": (1, 7), "sentiment": (-1, 1)}.get(m, (1, 5))
        x = rng.integers(low, high + 1, n).astype(float) if m != "sentiment" else rng.uniform(-1, 1, n)
        x[rng.random(n) < 0.4] = np.nan
        scores[col] = x
    metrics = ["nps", "csat", "csat_mean", "ces", "ces_low", "neteasy", "trust_high", "sentiment"]
    got = metric_arrays(scores, group, person, n_groups, metrics)
    want = _metric_arrays_per_metric(scores, group, person, n_groups, metrics)
    for m in metrics:
        for a, b in zip(got[m], want[m]):
            np.testing.assert_array_equal(a, b)  # the same answers summed in the same order: the same bits


@pytest.mark.parametrize("call", ["pain_points", "journey_view"])
def test_journey_joins_on_matched_rows_as_the_merge_does(sample_village, monkeypatch, call):
    """pain_points and journey_view join responses to people and accounts on the rows validation matched;
    the tables equal those of the left merges (the path taken for ids that are not plain text)."""
    from cxinfluence.sentiment import journey

    v = _odd_village(sample_village)
    as_of = default_as_of(v)
    options = [dict(by=["touchpoint"]), dict(by=["role", "journey_stage", "segment"], source="both"),
               dict(by=["department", "region"], window_days=None)]
    fn = getattr(journey, call)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = [fn(v, as_of, **o) for o in options]
        monkeypatch.setattr(journey, "_ids_are_plain", lambda frame, column: False)
        merged = [fn(v, as_of, **o) for o in options]
    for a, b in zip(fast, merged):
        pd.testing.assert_frame_equal(a, b)
        assert len(a) > 1


@pytest.mark.parametrize("call", ["pain_points", "journey_view"])
def test_journey_tables_on_codes_equal_the_groupby_reference(sample_village, monkeypatch, call):
    """pain_points and journey_view average each respondent within a group and summarise the groups on integer
    codes; the tables equal pandas groupby/merge's (the reference kernels) on real-shaped data: an unknown
    respondent (with and without influence), an unlisted account, blank roles and segments, people without
    influence, a repeated influence row, a blank influence, several keys, a period key, a one-day window."""
    from cxinfluence.network.influence import influence_weights
    from cxinfluence.sentiment import journey

    v = _odd_village(sample_village)
    as_of = default_as_of(v)
    infl = influence_weights(v, as_of)
    odd_infl = pd.concat([infl.iloc[5:], infl.iloc[[7]].assign(influence=0.9),  # 5 people missing, 1 twice,
                          pd.DataFrame({"stakeholder_id": ["NOBODY"], "influence": [0.5]})],  # the unlisted respondent
                         ignore_index=True)
    odd_infl.loc[odd_infl.index[2], "influence"] = np.nan
    options = [dict(by=["touchpoint"]), dict(by=["role", "journey_stage", "segment"], source="both"),
               dict(by=["department", "region"], window_days=None), dict(by=["role"], window_days=1)]
    if call == "pain_points":
        options = [dict(o, influence=i) for o in options for i in (infl, odd_infl)]
    else:
        options = [dict(o, freq=f) for o in options for f in ("Q", None)]
    fn = getattr(journey, call)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = [fn(v, as_of, **o) for o in options]
        monkeypatch.setattr(journey, "_pain_table", journey._pain_table_reference)
        monkeypatch.setattr(journey, "_journey_table", journey._journey_table_reference)
        reference = [fn(v, as_of, **o) for o in options]
    for a, b, o in zip(fast, reference, options):
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-14, obj=f"{call}({o})")
    assert sum(len(a) > 1 for a in fast) >= len(fast) - 2  # all but the one-day windows have several groups


def test_group_sums_of_large_groups_are_exact_to_rounding():
    """Sums per group as pandas' compensated groupby sum gives them: bincount's running sum drifts on large
    groups (it would fail this test), numpy's pairwise sum over the group's rows does not."""
    import math

    from cxinfluence.sentiment import journey

    rng = np.random.default_rng(0)
    group = rng.integers(0, 3, 1_500_000)
    group[:10] = 3                                            # three large groups and a small one
    values = rng.normal(0.3, 1, len(group))
    values[5] = np.nan                                        # a blank, skipped
    got = journey._group_sums(group, 4)(values)
    plain = np.bincount(group, np.nan_to_num(values), minlength=4)
    drift = []
    for g in range(4):
        exact = math.fsum(values[(group == g) & ~np.isnan(values)])
        assert got[g] == pytest.approx(exact, rel=2e-15)
        drift.append(abs(plain[g] - exact) / abs(exact))
    assert max(drift) > 2e-15                                 # the plain running sum is not that close
