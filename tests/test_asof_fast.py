"""``active_mask``'s integer comparisons against the definition written with pandas' own datetime comparisons."""

import numpy as np
import pandas as pd
import pytest

from cxinfluence.village.asof import active_mask


def _by_definition(people, as_of):
    as_of = pd.Timestamp(as_of)
    mask = pd.Series(True, index=people.index)
    if "active_from" in people:
        mask &= people["active_from"].isna() | (people["active_from"] <= as_of)
    if "active_to" in people:
        mask &= people["active_to"].isna() | (people["active_to"] > as_of)
    return mask


def _people(n=5_000, seed=3):
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2024-01-01")
    start = pd.Series(day + pd.to_timedelta(rng.integers(-400, 400, n), unit="D"))
    end = start + pd.to_timedelta(rng.integers(0, 500, n), unit="D")
    start[rng.random(n) < 0.3] = pd.NaT
    end[rng.random(n) < 0.5] = pd.NaT
    end.iloc[:50] = day  # departed on the day itself: not active
    start.iloc[50:100] = day  # joined on the day itself: active
    return pd.DataFrame({"active_from": start, "active_to": end}, index=np.arange(n) * 7)


@pytest.mark.parametrize("as_of", ["2024-01-01", "2023-06-30 12:00:00.5", "2030-01-01", "1990-01-01"])
@pytest.mark.parametrize("columns", [["active_from", "active_to"], ["active_from"], ["active_to"]])
def test_active_mask_equals_its_definition(as_of, columns):
    people = _people()[columns]
    got = active_mask(people, as_of)
    assert got.index.equals(people.index) and got.dtype == bool
    assert got.equals(_by_definition(people, as_of))


def test_active_mask_falls_back_for_other_units_text_and_far_dates():
    people = _people(500)
    seconds = people.astype("datetime64[s]")
    assert active_mask(seconds, "2024-01-01").equals(_by_definition(seconds, "2024-01-01"))
    text = people.astype(object)
    assert active_mask(text, "2024-01-01").equals(_by_definition(people, "2024-01-01"))
    far = pd.Timestamp("1500-01-01").as_unit("s")  # outside nanoseconds' range: pandas compares
    assert active_mask(people, far).equals(_by_definition(people, far))
    assert not active_mask(people, far)[people["active_from"].notna()].any()
