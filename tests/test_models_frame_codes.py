"""model_frame on integer codes equals the frame built by pandas groupby on the text keys."""

import numpy as np
import pandas as pd
import pytest

from cxinfluence.models import frame as F
from cxinfluence.models.frame import model_frame, outcome_periods
from cxinfluence.sentiment.schemes import stakeholder_sentiment
from cxinfluence.village.schema import ROLES
from cxinfluence.village.synth import make_village


@pytest.fixture(scope="module")
def village():
    v, _ = make_village(60, seed=11, years=3)
    return v


def _text_frame(monkeypatch, village, **kw):
    """The frame as built before: groupby on (account_id, period_end) text keys, lags by groupby shift."""
    with monkeypatch.context() as m:
        m.setattr(F, "_group_sentiment_codes", lambda st, roles: F._group_sentiment(F._key(st), roles))
        out = model_frame(village, **kw)
    prev = out.groupby("account_id", sort=False)
    lagged = {"prior_bookings": prev["bookings"].shift(1), "prior_renewed": prev["renewed"].shift(1)}
    lagged["log_prior_bookings"] = np.log1p(lagged["prior_bookings"])
    return out.assign(**lagged)


def test_frame_on_codes_equals_the_groupby_frame(monkeypatch, village):
    new = model_frame(village)
    old = _text_frame(monkeypatch, village)
    pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-13, atol=0)
    assert new["heard_veto"].sum() > 0 and new["veto_detractor"].notna().any() and new["prior_renewed"].notna().any()


def test_group_sentiment_on_codes_in_any_row_order(village):
    st = stakeholder_sentiment(village, outcome_periods(village))
    st = st.assign(veto=st["veto"].astype(object).where(np.arange(len(st)) % 17 != 0))  # some unknown veto
    shuffled = st.sample(frac=1.0, random_state=3).reset_index(drop=True)  # people of an account apart
    keys = ["account_id", "period_end"]
    ref = F._group_sentiment(F._key(st), ROLES).sort_values(keys).reset_index(drop=True)
    for table in (st, shuffled):
        got = F._group_sentiment_codes(table, ROLES).sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, ref[got.columns], check_exact=False, rtol=1e-13, atol=0,
                                      check_dtype=False)
        assert list(got.columns) == list(ref.columns)
        # the key columns themselves: the same values
        assert got["account_id"].astype(str).tolist() == ref["account_id"].astype(str).tolist()


def test_group_sentiment_without_anyone_heard_or_roles(village):
    st = stakeholder_sentiment(village, outcome_periods(village))
    silent = st.assign(sentiment=np.nan)
    got = F._group_sentiment_codes(silent, ROLES)  # as before (the text path), whatever that gives
    pd.testing.assert_frame_equal(got, F._group_sentiment(F._key(silent), ROLES))
    assert got[[f"sent_{g}" for g in ROLES]].isna().all().all()
    no_roles = st.drop(columns=["role"])
    got = F._group_sentiment_codes(no_roles, ROLES)
    assert got[[f"sent_{r}" for r in ROLES]].isna().all().all() and got["sent_veto"].notna().any()


def test_first_of_account_marks_each_accounts_first_row():
    ids = pd.Series(["a", "a", "b", "c", "c", "c"], dtype="str")
    assert F._first_of_account(ids).tolist() == [True, False, True, True, False, False]


@pytest.mark.parametrize("window_days, lead_days", [(365, 0), (None, 0), (200, 45)])
def test_metric_windows_by_binary_search_equal_the_date_masks(village, window_days, lead_days):
    from types import SimpleNamespace

    pairs = outcome_periods(village)
    new = F._metric_columns(village, pairs, window_days, lead_days)
    # dates as Python objects: the same windows by comparing every date (_asof.window_mask)
    resp = village.responses.assign(date=village.responses["date"].astype(object))
    masked = SimpleNamespace(accounts=village.accounts, stakeholders=village.stakeholders, responses=resp)
    old = F._metric_columns(masked, pairs, window_days, lead_days)
    assert len(new) > 0
    pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-13, atol=0)
