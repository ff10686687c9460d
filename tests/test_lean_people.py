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
