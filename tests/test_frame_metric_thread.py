"""The model frame's metric columns computed on a second thread on a large village (models/frame.py): the same
frame, the thread gone afterwards, and an error on the thread reaching the caller."""

import threading

import pytest

import cxinfluence.models.frame as frame_module
from cxinfluence.models.frame import model_frame
from cxinfluence.village.synth import make_village

METRIC_COLUMNS = frame_module._metric_columns


@pytest.fixture(scope="module")
def village():
    return make_village(40, seed=4)[0]


def _frame(village, monkeypatch, threaded, **kw):
    monkeypatch.setattr(frame_module, "_METRIC_THREAD_RESPONSES", 0 if threaded else 10**12)
    monkeypatch.setattr(frame_module, "_THREADS", 2)
    names = []

    def spy(*args):
        names.append(threading.current_thread().name)
        return METRIC_COLUMNS(*args)

    monkeypatch.setattr(frame_module, "_metric_columns", spy)
    return model_frame(village, **kw), names


@pytest.mark.parametrize("options", [{}, {"window_days": 200, "lead_days": 30}])
def test_the_metric_columns_on_a_thread_give_the_same_frame(village, monkeypatch, options):
    threaded, names = _frame(village, monkeypatch, True, **options)
    plain, plain_names = _frame(village, monkeypatch, False, **options)
    assert threaded.equals(plain) and {"csat_mean", "ces_mean", "neteasy", "multi_index"} <= set(threaded.columns)
    assert len(names) == 1 and names[0].startswith("cx-metric-columns") and plain_names == ["MainThread"]
    assert not [t for t in threading.enumerate() if t.name.startswith("cx-metric-columns")]


def test_an_error_on_the_metric_thread_reaches_the_caller(village, monkeypatch):
    monkeypatch.setattr(frame_module, "_METRIC_THREAD_RESPONSES", 0)
    monkeypatch.setattr(frame_module, "_THREADS", 2)

    def failing(*args):
        raise RuntimeError("metric columns failed")

    monkeypatch.setattr(frame_module, "_metric_columns", failing)
    with pytest.raises(RuntimeError, match="metric columns failed"):
        model_frame(village)
    assert not [t for t in threading.enumerate() if t.name.startswith("cx-metric-columns")]
