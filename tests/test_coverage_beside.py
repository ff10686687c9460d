"""A large village's departed people's influence computed on a second thread beside the active people, the
summary and the listening plan (listening/coverage._coverage): the same tables as on one thread."""

import importlib
import threading

import pytest

from cxinfluence.listening.coverage import coverage, coverage_and_plan
from cxinfluence.listening.plan import listening_plan
from cxinfluence.village.synth import make_village

coverage_module = importlib.import_module("cxinfluence.listening.coverage")  # the package's `coverage` is the function
AT_DEPARTURE = coverage_module._influence_at_departure


@pytest.fixture(scope="module")
def village():
    return make_village(60, seed=4)[0]


def _tables(village, monkeypatch, beside, as_of="2025-06-30", **kw):
    monkeypatch.setattr(coverage_module, "_BESIDE_PEOPLE", 0 if beside else 10**12)
    monkeypatch.setattr(coverage_module, "_THREADS", 2)
    threads = []

    def spy(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return AT_DEPARTURE(*args, **kwargs)

    monkeypatch.setattr(coverage_module, "_influence_at_departure", spy)
    return coverage_and_plan(village, as_of, **kw), coverage(village, as_of, **kw), threads


def test_departures_beside_give_the_same_coverage_and_plan(village, monkeypatch):
    (cov, plan), alone, threads = _tables(village, monkeypatch, True)
    (cov0, plan0), alone0, threads0 = _tables(village, monkeypatch, False)
    assert cov["departed"].sum() > 0 and cov["departed_max_influence"].notna().any()  # departures to score
    assert cov.equals(cov0) and plan.equals(plan0) and alone.equals(alone0) and cov.equals(alone)
    assert plan.equals(listening_plan(village, "2025-06-30"))
    assert all(t.startswith("cx-departures") for t in threads) and len(threads) == 2
    assert threads0 == ["MainThread"] * 2
    assert not [t for t in threading.enumerate() if t.name.startswith("cx-departures")]


def test_a_callers_influence_function_stays_on_the_callers_thread(village, monkeypatch):
    from cxinfluence.network.influence import influence_weights

    (cov, _), _, threads = _tables(village, monkeypatch, True, influence_fn=lambda v, t: influence_weights(v, t))
    assert threads == ["MainThread"] * 2 and cov["departed"].sum() > 0


def test_an_error_on_the_thread_reaches_the_caller(village, monkeypatch):
    monkeypatch.setattr(coverage_module, "_BESIDE_PEOPLE", 0)
    monkeypatch.setattr(coverage_module, "_THREADS", 2)

    def failing(*args, **kwargs):
        raise RuntimeError("departures failed")

    monkeypatch.setattr(coverage_module, "_influence_at_departure", failing)
    with pytest.raises(RuntimeError, match="departures failed"):
        coverage_and_plan(village, "2025-06-30")
    assert not [t for t in threading.enumerate() if t.name.startswith("cx-departures")]
