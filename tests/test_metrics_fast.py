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
