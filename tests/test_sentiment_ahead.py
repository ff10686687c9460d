"""A large village's influence computed one date ahead on a second thread (sentiment/base._Ahead): the same
tables and the same warnings, in the same order, as computing each date's influence in turn."""

import threading
import warnings

import pytest

import cxinfluence.sentiment.base as base_module
import cxinfluence.sentiment.schemes as schemes_module
from cxinfluence.exceptions import VillageWarning
from cxinfluence.sentiment.schemes import account_sentiment, sentiment_tables
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


def test_one_date_and_a_given_influence(village, monkeypatch):
    monkeypatch.setattr(schemes_module, "_AHEAD_PEOPLE", 0)
    monkeypatch.setattr(schemes_module, "_THREADS", 2)
    one = account_sentiment(village, "2024-06-30")
    monkeypatch.setattr(schemes_module, "_AHEAD_PEOPLE", 10**12)
    assert one.equals(account_sentiment(village, "2024-06-30"))


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
