"""The model frame from a stakeholder table built with only the columns it reads (PEOPLE_COLUMNS) equals the
frame from the whole table: what the run's sentiment stage relies on to hold less."""

import pandas as pd

from cxinfluence.models.frame import PEOPLE_COLUMNS, model_frame, outcome_periods
from cxinfluence.sentiment.schemes import sentiment_tables
from cxinfluence.village.synth import make_village


def test_frame_from_lean_people_equals_frame_from_all_columns():
    v, _ = make_village(40, seed=5)
    periods = outcome_periods(v)
    history, people = sentiment_tables(v, periods, lead_days=30)
    _, lean = sentiment_tables(v, periods, lead_days=30, people_columns=PEOPLE_COLUMNS)
    assert list(lean.columns) == [c for c in people.columns if c in PEOPLE_COLUMNS]
    pd.testing.assert_frame_equal(lean, people[list(lean.columns)])
    full = model_frame(v, lead_days=30, sentiment=history, stakeholders=people)
    got = model_frame(v, lead_days=30, sentiment=history, stakeholders=lean)
    pd.testing.assert_frame_equal(got, full)
    assert full["heard_decider"].gt(0).any()  # the role groups are exercised


def test_the_frame_from_categorical_people_is_the_frame_from_text(small_synthetic):
    """``people_categoricals=True`` (the run's outcome-period table: codes, not a text per row) gives the same
    model frame as the text columns; the lean table's values are the text table's."""
    _, v, _ = small_synthetic
    periods = outcome_periods(v)
    history, text = sentiment_tables(v, periods, lead_days=90, people_columns=PEOPLE_COLUMNS)
    _, coded = sentiment_tables(v, periods, lead_days=90, people_columns=PEOPLE_COLUMNS, people_categoricals=True)
    assert coded["account_id"].dtype.name == "category" and coded["role"].dtype.name == "category"
    assert coded["role"].isna().equals(text["role"].isna())
    assert coded.astype(str).equals(text.astype(str))
    a = model_frame(v, lead_days=90, sentiment=history, stakeholders=text)
    b = model_frame(v, lead_days=90, sentiment=history, stakeholders=coded)
    pd.testing.assert_frame_equal(a, b)
    # a blank role and people of two accounts interleaved: runs split at every change
    mixed = coded.iloc[[0, 1, 0, 1]].reset_index(drop=True)
    mixed.loc[1, "role"] = None
    pd.testing.assert_frame_equal(model_frame(v, lead_days=90, sentiment=history, stakeholders=mixed),
                                  model_frame(v, lead_days=90, sentiment=history, stakeholders=mixed.astype(
                                      {"account_id": "str", "role": "str"})))
