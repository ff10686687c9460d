"""A large village's influence computed one date ahead on a second thread (sentiment/base._Ahead): the same
tables and the same warnings, in the same order, as computing each date's influence in turn."""

import threading
import warnings

import pytest

import cxinfluence.sentiment.base as base_module
import cxinfluence.sentiment.schemes as schemes_module
from cxinfluence.exceptions import VillageWarning
from cxinfluence.sentiment.schemes import sentiment_tables
from cxinfluence.village.synth import make_village

INFLUENCE_OF_ROWS = base_module.influence_of_rows
# the first date is before anyone joined: every account warns that it has nobody active
DATES = ["2000-01-01", "2023-06-30", "2024-06-30", "2025-01-01"]


@pytest.fixture(scope="module")
def village():
    return make_village(40, seed=8)[0]


def _tables_and_warnings(village, ahead, monkeypatch, dates=DATES, **kw):
    monkeypatch.setattr(schemes_module, "_AHEAD_PEOPLE", 0 if ahead else 10**12)
    monkeypatch.setattr(schemes_module, "_THREADS", 2)
    threads = []
    original = INFLUENCE_OF_ROWS

    def spy(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(base_module, "influence_of_rows", spy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = sentiment_tables(village, dates, **kw)
    return out, [(w.category, str(w.message)) for w in caught], threads


def test_influence_ahead_gives_the_same_tables_and_warnings(village, monkeypatch):
    (acc, people), warned, threads = _tables_and_warnings(village, True, monkeypatch)
    (acc0, people0), warned0, threads0 = _tables_and_warnings(village, False, monkeypatch)
    assert acc.equals(acc0) and people.equals(people0)
    assert warned == warned0 and any(c is VillageWarning and "2000-01-01" in m for c, m in warned)
    assert len(threads) == len(DATES) and all(t.startswith("cx-influence-ahead") for t in threads)
    assert threads0 == ["MainThread"] * len(DATES)
    assert not [t for t in threading.enumerate() if t.name.startswith("cx-influence-ahead")]  # the thread is gone


def test_one_date_has_its_influence_computed_beside_the_responses_steps(village, monkeypatch):
    (acc, _), warned, threads = _tables_and_warnings(village, True, monkeypatch, dates="2024-06-30")
    (acc0, _), warned0, threads0 = _tables_and_warnings(village, False, monkeypatch, dates="2024-06-30")
    assert acc.equals(acc0) and warned == warned0
    assert len(threads) == 1 and threads[0].startswith("cx-influence-ahead") and threads0 == ["MainThread"]


def test_the_kernel_takes_the_influence_as_a_function_called_once():
    import numpy as np

    from cxinfluence.sentiment.kernel import schemes_from_codes

    rng = np.random.default_rng(2)
    S, A = 300, 40
    s_acc = np.sort(rng.integers(0, A, S))
    infl = rng.random(S)
    infl /= np.bincount(s_acc, infl, A)[s_acc]
    r_sh = rng.integers(0, S, 2_000)
    x = rng.uniform(-1, 1, 2_000)
    args = (r_sh, x, s_acc, rng.integers(0, 3, S), rng.random(S) < 0.2)
    nps, calls = rng.integers(0, 11, 2_000) * 1.0, []
    lazy = schemes_from_codes(*args, lambda: calls.append(1) or infl, A, resp_nps=nps)
    eager = schemes_from_codes(*args, infl, A, resp_nps=nps)
    assert calls == [1] and list(lazy[0]) == list(eager[0])  # the same columns in the same order
    for name in eager[0]:
        assert np.array_equal(lazy[0][name], eager[0][name], equal_nan=True), name


def test_an_error_on_the_thread_reaches_the_caller_and_the_thread_ends(village, monkeypatch):
    monkeypatch.setattr(schemes_module, "_AHEAD_PEOPLE", 0)
    monkeypatch.setattr(schemes_module, "_THREADS", 2)
    original, calls = INFLUENCE_OF_ROWS, []

    def failing(v, ts, **kw):
        calls.append(ts)
        if len(calls) == 3:
            raise RuntimeError("influence failed at the third date")
        return original(v, ts, **kw)

    monkeypatch.setattr(base_module, "influence_of_rows", failing)
    with pytest.raises(RuntimeError, match="third date"), warnings.catch_warnings():
        warnings.simplefilter("ignore", VillageWarning)
        sentiment_tables(village, DATES)
    assert not [t for t in threading.enumerate() if t.name.startswith("cx-influence-ahead")]
