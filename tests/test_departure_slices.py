"""Coverage scores the departures' stand-in village in slices of whole stand-in accounts: any slice size
gives the same table, bit for bit, as one slice (the default influence treats each account alone)."""

import numpy as np
import pandas as pd
import pytest

from cxinfluence.listening import departures
from cxinfluence.listening.coverage import coverage
from cxinfluence.village.synth import make_village


@pytest.fixture(scope="module")
def village():
    v, _ = make_village(120, seed=11)
    return v


def test_slices_cover_whole_runs_of_keys():
    key = np.array([0, 0, 0, 1, 2, 2, 5, 5, 5, 5, 7])
    for size in (1, 2, 3, 4, 100):
        cuts = list(departures._slices(key, size))
        assert cuts[0][0] == 0 and cuts[-1][1] == len(key)
        assert all(a[1] == b[0] for a, b in zip(cuts, cuts[1:]))
        assert all(stop == len(key) or key[stop - 1] != key[stop] for _, stop in cuts)  # no account cut
    assert list(departures._slices(key[:0], 3)) == []


@pytest.mark.parametrize("size", [1, 7, 60])
def test_coverage_in_slices_equals_one_slice(village, monkeypatch, size):
    as_of = pd.Timestamp("2025-06-30")
    monkeypatch.setattr(departures, "STAND_IN_SLICE", 10**9)
    whole = coverage(village, as_of, window_days=None)
    calls = []
    real = departures._stand_in_influence
    monkeypatch.setattr(departures, "STAND_IN_SLICE", size)
    monkeypatch.setattr(departures, "_stand_in_influence", lambda *a, **k: calls.append(1) or real(*a, **k))
    sliced = coverage(village, as_of, window_days=None)
    pd.testing.assert_frame_equal(sliced, whole, check_exact=True)
    assert len(calls) > 1  # it was sliced
    assert whole["key_influencer_departed"].any()  # departures with influence are exercised


@pytest.mark.parametrize("window", [None, 365])
def test_influence_from_arrays_equals_the_stand_in_village(village, monkeypatch, window):
    """The default influence at each departure comes from the members' rows and ties as positions
    (network.blend.influence_of_blocks); it equals influence_weights on the stand-in village, bit for bit."""
    as_of = pd.Timestamp("2025-06-30")
    from_arrays = coverage(village, as_of, window_days=window)
    real = departures._stand_in_influence
    seen = []

    def through_a_village(*args):
        seen.append(args[-1] is not None)
        return real(*args[:-1], None)  # the stand-in village, scored by influence_weights

    monkeypatch.setattr(departures, "_stand_in_influence", through_a_village)
    from_village = coverage(village, as_of, window_days=window)
    pd.testing.assert_frame_equal(from_arrays, from_village, check_exact=True)
    assert seen and all(seen)  # the default influence takes the arrays
    assert from_arrays["key_influencer_departed"].any()
