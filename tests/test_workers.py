"""A second process for the picture stages only where a core is idle beside this one (present/workers.py)."""

import time

import pytest

from cxinfluence.present import workers


def test_others_busy_is_the_machines_cpu_less_this_process_per_second():
    # 10 s: the machine busy 14 CPU seconds, 9.5 of them this process's -> others kept 0.45 of a core busy
    assert workers.others_busy([(0.0, 0.0, 100.0), (10.0, 9.5, 114.0)]) == pytest.approx(0.45)
    # read over the latest sample at least MIN_WINDOW_S old: the 1 s-old sample is too recent, the 5 s-old one is used
    samples = [(0.0, 0.0, 0.0), (5.0, 5.0, 10.0), (9.0, 8.0, 15.0), (10.0, 9.0, 16.0)]
    assert workers.others_busy(samples) == pytest.approx(((16 - 10) - (9 - 5)) / 5)
    # every sample recent: since the first
    assert workers.others_busy([(0.0, 0.0, 0.0), (1.0, 1.0, 1.5)]) == pytest.approx(0.5)
    # this process's CPU can run ahead of the machine's ticks (rounding): never below zero
    assert workers.others_busy([(0.0, 0.0, 0.0), (4.0, 4.2, 4.0)]) == 0.0


def test_others_busy_is_none_without_the_machines_cpu_time():
    assert workers.others_busy([(0.0, 0.0, None), (5.0, 1.0, None)]) is None
    assert workers.others_busy([(5.0, 1.0, 3.0)]) is None  # one sample: nothing measured yet


@pytest.mark.parametrize("others, load, cores, spare", [
    (0.05, 1.3, 2, 0.95),  # the run's own two threads made the load average: the second core is free
    (1.0, 2.3, 2, 0.0),    # another process keeps a core busy
    (0.3, 0.1, 4, 2.7),
    (None, 1.2, 2, 0.8),   # no /proc/stat: the load average, less one for this process
    (None, 0.4, 2, 1.0),
])
def test_spare_cores(monkeypatch, others, load, cores, spare):
    monkeypatch.setattr(workers.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(workers.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(workers, "others_busy", lambda: others)
    assert workers.spare_cores() == pytest.approx(spare)


def test_no_cpu_time_and_no_load_average_means_no_spare_core(monkeypatch):
    def unavailable():
        raise OSError("no load average here")

    monkeypatch.setattr(workers.os, "getloadavg", unavailable)
    monkeypatch.setattr(workers, "others_busy", lambda: None)
    assert workers.spare_cores() == 0.0


def test_this_process_busy_is_not_counted_as_others():
    if workers._machine_busy() is None:
        pytest.skip("no /proc/stat here")
    start = workers._sample()
    end = time.process_time() + 0.5
    while time.process_time() < end:  # this process keeps a core busy for half a second
        pass
    now = workers._sample()
    machine, own = now[2] - start[2], now[1] - start[1]
    assert own >= 0.5 and machine >= 0.9 * own - 0.02  # the machine saw this process's CPU (clock ticks of 10 ms)
    assert workers.others_busy([start, now]) == pytest.approx(max(machine - own, 0) / (now[0] - start[0]))


def test_note_cpu_keeps_the_start_and_the_last_samples(monkeypatch):
    monkeypatch.setattr(workers, "_SAMPLES", [(0.0, 0.0, 0.0)])
    for _ in range(40):
        workers.note_cpu()
    assert len(workers._SAMPLES) == 17 and workers._SAMPLES[0] == (0.0, 0.0, 0.0)
    times = [t for t, _, _ in workers._SAMPLES]
    assert times == sorted(times)


def _double(x):
    return 2 * x


def _warns(x):
    import warnings

    warnings.warn(f"careful with {x}", UserWarning)
    return x


def _broken(x):
    raise ValueError(f"broken worker: {x}")


@pytest.mark.slow  # spawns a process
def test_a_worker_returns_its_result_and_a_broken_one_falls_back():
    pool, future = workers.start_worker(_double, 21)
    assert pool is not None and workers.finish_worker(pool, future, lambda: -1) == 42
    pool, future = workers.start_worker(_broken, 1)
    assert workers.finish_worker(pool, future, lambda: "done here") == "done here"


@pytest.mark.slow  # spawns a process
def test_a_workers_warnings_are_raised_again_here():
    import warnings

    pool, future = workers.start_worker(_warns, "the legend")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert workers.finish_worker(pool, future, lambda: None) == "the legend"
    assert [(w.category, str(w.message)) for w in caught] == [(UserWarning, "careful with the legend")]


@pytest.mark.parametrize("n, spare, used", [(8, 1.0, True), (7, 1.0, False), (50, 0.5, False), (50, 0.8, True)])
def test_a_stage_uses_a_worker_from_enough_pictures_and_a_spare_core(monkeypatch, n, spare, used):
    monkeypatch.setattr(workers, "spare_cores", lambda: spare)
    assert workers.use_worker(n, 8) is used


def _pid(_):
    import os

    return os.getpid()


@pytest.mark.slow  # spawns processes
def test_a_kept_worker_serves_every_stage_and_ends_with_the_block():
    """cx.run keeps one warmed-up worker for the maps and the pages: both stages' halves go to the same process,
    its CPU counts as this process's (not as another's keeping the machine busy), it takes the larger half
    (warm), and it is gone when the block ends; outside it each stage starts its own."""
    import multiprocessing
    import os

    with workers.kept_worker() as pool:
        assert pool is not None
        pids = []
        for _ in range(2):
            p, f = workers.start_worker(_pid, 0)
            pids.append(workers.finish_worker(p, f, lambda: None))
        assert pids[0] == pids[1] != os.getpid()
        assert pids[0] in [c.pid for c in multiprocessing.active_children()]
        assert workers._live_children_cpu() > 0  # its warm-up (imports, a first picture) done, and counted
        assert workers.in_two(list(range(5)), 2, lambda part: part, lambda part: (_pid, part)) == [0, 1]
    assert pids[0] not in [c.pid for c in multiprocessing.active_children()]
    assert workers.in_two(list(range(5)), 2, lambda part: part, lambda part: (_pid, part)) == [0, 1, 2]
    p, f = workers.start_worker(_pid, 0)
    assert workers.finish_worker(p, f, lambda: None) not in pids
    with workers.kept_worker(start=False) as pool:  # no worker kept: the stages start their own
        assert pool is None and workers._KEPT is None



@pytest.mark.slow  # spawns a kept worker
def test_a_deferred_worker_starts_when_asked_and_ends_with_the_block():
    """kept_worker(defer=True) starts no process until start_deferred_worker (a large run calls it at the maps);
    from then on it is the kept worker, and it is gone when the block ends. Outside such a block, or with no
    worker to keep, start_deferred_worker starts nothing."""
    import multiprocessing
    import os

    assert workers.start_deferred_worker() is False and not workers.deferred_worker()
    before = {c.pid for c in multiprocessing.active_children()}
    with workers.kept_worker(defer=True) as pool:
        assert pool is None and workers.deferred_worker() and not workers.has_kept_worker()
        assert {c.pid for c in multiprocessing.active_children()} == before  # nothing started yet
        assert workers.start_deferred_worker() is True
        assert workers.has_kept_worker() and not workers.deferred_worker()
        kept = workers._KEPT
        assert workers.start_deferred_worker() is True and workers._KEPT is kept  # started once
        p, f = workers.start_worker(_pid, 0)
        pid = workers.finish_worker(p, f, lambda: None)
        assert pid != os.getpid() and pid in [c.pid for c in multiprocessing.active_children()]
    assert pid not in [c.pid for c in multiprocessing.active_children()]
    assert workers._KEPT is None and not workers.deferred_worker()
    with workers.kept_worker(start=False, defer=True):
        assert not workers.deferred_worker() and workers.start_deferred_worker() is False


def _pids(part):
    import os

    time.sleep(0.05 * len(part))  # a chunk takes a while: this process, back at once, surely takes the last one
    return [(job, os.getpid()) for job in part]


@pytest.mark.slow  # spawns a kept worker
@pytest.mark.parametrize("busy_s", [0.0, 3.0])
def test_jobs_shared_with_the_kept_worker_are_each_done_once_in_order(busy_s):
    """The kept worker is fed chunks from the front, this process takes them from the back once its own work
    (alongside) is done: every job once, the chunks' results in order; back at once, this process does some; busy
    long enough, the worker does them all."""
    import os

    jobs = list(range(11))
    here = lambda part: [(job, os.getpid()) for job in part]  # noqa: E731
    calls = []
    alone = workers.shared_with_kept_worker(jobs, here, lambda part: (_pids, part), chunk=3,
                                            alongside=lambda: calls.append(1))
    assert [p for p, _ in alone] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10]] and calls == [1]
    assert {pid for _, r in alone for _, pid in r} == {os.getpid()}  # no kept worker: all here
    with workers.kept_worker():
        time.sleep(2.0)  # warm
        done = workers.shared_with_kept_worker(jobs, here, lambda part: (_pids, part), chunk=3,
                                               alongside=lambda: (calls.append(1), time.sleep(busy_s)))
    assert calls == [1, 1]
    assert [job for _, r in done for job, _ in r] == jobs and [p for p, _ in done] == [p for p, _ in alone]
    by_worker = [all(pid != os.getpid() for _, pid in r) for _, r in done]
    assert by_worker[0] and all(by_worker[i] or not any(by_worker[i:]) for i in range(len(done)))
    if busy_s == 0:
        assert not all(by_worker)  # this process took chunks from the back
    else:
        assert all(by_worker)

@pytest.mark.slow  # spawns processes
def test_a_kept_worker_ends_when_its_run_is_killed(tmp_path):
    """A run killed outright (SIGKILL) cannot stop its worker: the worker watches its parent and ends, so it
    does not hold the run's pipes open (a caller reading the run's output would wait forever)."""
    import subprocess
    import sys

    script = tmp_path / "killed.py"
    script.write_text(
        "import multiprocessing, os, signal, time\n"
        "from cxinfluence.present import workers\n"
        "if __name__ == '__main__':\n"
        "    with workers.kept_worker():\n"
        "        time.sleep(1.0)\n"
        "        print(multiprocessing.active_children()[0].pid, flush=True)\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n")
    start = time.monotonic()
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert res.returncode == -9 and time.monotonic() - start < 30  # the pipes closed: the worker is gone too
    pid = int(res.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":  # ended, not yet reaped by its new parent
                    break
        except FileNotFoundError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"worker {pid} still running after its parent was killed")


def test_a_run_keeps_a_worker_only_for_enough_maps(monkeypatch):
    """cx.run keeps a picture worker only where the maps (and their pages) are enough to share: PARALLEL_MIN_MAPS
    or more of the village's accounts, and more than one core."""
    import contextlib
    from types import SimpleNamespace

    import pandas as pd

    from cxinfluence.pipeline import outputs

    started, deferred = [], []
    monkeypatch.setattr(outputs, "kept_worker", lambda start, defer: started.append(start) or deferred.append(defer)
                        or contextlib.nullcontext())
    monkeypatch.setattr(outputs.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(outputs, "_resident_bytes", lambda: 300 * 2**20)
    village = SimpleNamespace(accounts=pd.DataFrame({"account_id": [f"A{i}" for i in range(20)]}))
    few = SimpleNamespace(accounts=village.accounts.head(3))
    cases = [(village, 25, None), (village, 5, None), (village, -1, None), (village, 0, None), (few, 25, None),
             (few, -1, None), (village, 0, [f"A{i}" for i in range(8)]), (village, 25, ["A1"])]
    for v, maps, chosen in cases:
        with outputs.picture_worker(v, maps, chosen):
            pass
    assert started == [True, False, True, False, False, False, True, False]
    assert not any(deferred)  # a small run: the worker warms up while the analysis runs
    monkeypatch.setattr(outputs, "_resident_bytes", lambda: outputs.TRIM_FROM_BYTES)
    with outputs.picture_worker(village, 25, None):  # a large run: started once its memory has peaked (the maps)
        pass
    assert started[-1] is True and deferred[-1] is True
    monkeypatch.setattr(outputs.os, "cpu_count", lambda: 1)
    with outputs.picture_worker(village, 25, None):
        pass
    assert started[-1] is False


@pytest.mark.slow  # spawns a process
def test_the_reports_charts_of_every_account_drawn_in_the_kept_worker_are_the_same_bytes(small_synthetic, tmp_path,
                                                                                       monkeypatch):
    """Inside a run with a kept worker the report's charts of every account (HEAVY_FIGURES) are drawn there while
    the run draws the others: the same report, byte for byte."""
    from cxinfluence.pipeline.runner import run
    from cxinfluence.present import content

    result = run(small_synthetic[1], tmp_path / "out", maps=0, quiet=True, n_boot=20)
    here = content.build_report(small_synthetic[1], result, [])
    sent = []
    monkeypatch.setattr(content, "spare_cores", lambda: 1.0)
    monkeypatch.setattr(content, "start_worker", lambda func, specs: sent.append([s[0] for s in specs])
                        or workers.start_worker(func, specs))
    with workers.kept_worker():
        there = content.build_report(small_synthetic[1], result, [])
    assert sent == [["money", "scatter"]] and there == here


def test_the_reports_charts_are_drawn_here_when_no_worker_can_take_them(small_synthetic, tmp_path, monkeypatch):
    """A kept worker that broke and no process to start in its place (start_worker gives (None, None)): the
    report draws every chart itself, the same report."""
    from cxinfluence.pipeline.runner import run
    from cxinfluence.present import content

    result = run(small_synthetic[1], tmp_path / "out", maps=0, quiet=True, n_boot=20)
    here = content.build_report(small_synthetic[1], result, [])
    monkeypatch.setattr(content, "has_kept_worker", lambda: True)
    monkeypatch.setattr(content, "spare_cores", lambda: 1.0)
    monkeypatch.setattr(content, "start_worker", lambda func, specs: (None, None))
    assert content.build_report(small_synthetic[1], result, []) == here


@pytest.mark.slow  # spawns a process
def test_the_sensitivity_started_in_the_kept_worker_is_the_stages_own(small_synthetic, monkeypatch):
    """cx.run starts the influence sensitivity of a large village in the kept worker (idle until the maps), on the
    sample influence_sensitivity draws itself: the same table as computed here; a village used whole, no kept
    worker, or a skipped stage compute nothing there."""
    import multiprocessing

    import pandas as pd

    from cxinfluence.models import sensitivity
    from cxinfluence.pipeline import ahead

    _, v, _ = small_synthetic
    as_of, opts = pd.Timestamp("2025-01-01"), dict(window_days=365, lead_days=0, half_life_days=None)
    want = ahead.influence_sensitivity(v, as_of, max_accounts=25, seed=3, **opts)
    sampled = ahead.functools.partial(ahead.influence_sensitivity, max_accounts=25)
    monkeypatch.setattr(ahead, "influence_sensitivity", sampled)  # a "large" village: 40 accounts, 25 sampled
    monkeypatch.setattr(ahead, "sensitivity_sample", lambda acc, seed: sensitivity.sensitivity_sample(
        acc, max_accounts=25, seed=seed))
    started = []

    def start(*args):
        started.append((args, workers.start_worker(*args)))
        return started[-1][1]

    monkeypatch.setattr(ahead, "start_worker", start)
    with workers.kept_worker():
        take = ahead.sensitivity_ahead(v, as_of, seed=3, **opts)
        (args, (_, future)), = started
        assert len(args[1].accounts) == 25  # only the sample is sent
        pd.testing.assert_frame_equal(take(), want)
        assert future.exception() is None  # the worker's table, not the fallback's
        assert ahead.sensitivity_ahead(v, as_of, seed=3, **opts)(wanted=False) is None
    started.clear()
    pd.testing.assert_frame_equal(ahead.sensitivity_ahead(v, as_of, seed=3, **opts)(), want)  # no kept worker
    monkeypatch.setattr(ahead, "spare_cores", lambda: 1.0)
    before = {c.pid for c in multiprocessing.active_children()}
    with workers.kept_worker(defer=True):  # a large run's worker comes at the maps: one of the sensitivity's own
        take = ahead.sensitivity_ahead(v, as_of, seed=3, **opts)
        (args, (_, future)), = started
        future.result(timeout=120)
        deadline = time.monotonic() + 60  # shut down as it was handed the work: its process ends once it is done
        while {c.pid for c in multiprocessing.active_children()} - before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not {c.pid for c in multiprocessing.active_children()} - before
        pd.testing.assert_frame_equal(take(), want)  # its table, kept after it ended
        assert not workers.has_kept_worker() and workers.deferred_worker()  # the kept worker still to come
    started.clear()
    monkeypatch.setattr(ahead, "spare_cores", lambda: 0.0)
    with workers.kept_worker(defer=True):  # ... not on a busy machine: done at the stage
        pd.testing.assert_frame_equal(ahead.sensitivity_ahead(v, as_of, seed=3, **opts)(), want)
    monkeypatch.setattr(ahead, "sensitivity_sample", lambda acc, seed: None)  # used whole: done at the stage
    with workers.kept_worker():
        ahead.sensitivity_ahead(v, as_of, seed=3, **opts)
    assert started == []


@pytest.mark.slow  # two runs, and a worker process
def test_a_large_runs_worker_starts_at_the_maps_after_the_comments_are_let_go(small_synthetic, tmp_path, monkeypatch):
    """A run holding TRIM_FROM_BYTES or more as its analysis begins keeps its picture worker from the maps on, not
    from the start (beside the run's peak it took the 100k run's processes from 3.9 to 4.2 GiB): the run's own
    village lets go of its comments first, and the outputs are the bytes a run with the worker from the start
    writes."""
    import cxinfluence as cx
    from cxinfluence.pipeline import outputs, runner

    path = small_synthetic[0]
    options = dict(maps=outputs.PARALLEL_MIN_MAPS, quiet=True, folds=3, n_boot=20)
    early = cx.run(path, tmp_path / "early", **options)
    events = []
    drop, start = outputs.drop_comments, runner.start_deferred_worker
    monkeypatch.setattr(outputs, "drop_comments",
                        lambda v: events.append(("comments let go", workers.deferred_worker())) or drop(v))
    monkeypatch.setattr(runner, "start_deferred_worker",
                        lambda: events.append(("worker started", start(), workers.has_kept_worker())))
    monkeypatch.setattr(outputs, "TRIM_FROM_BYTES", 0)  # this small run counts as large
    late = cx.run(path, tmp_path / "late", **options)
    assert events == [("comments let go", True), ("worker started", True, True)]  # no worker until then
    assert not workers.has_kept_worker() and not workers.deferred_worker()  # gone with the run
    assert late.exit_code == early.exit_code
    files = sorted(p.relative_to(tmp_path / "early") for p in (tmp_path / "early").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "late") for p in (tmp_path / "late").rglob("*") if p.is_file())
    assert len(files) > 3 * outputs.PARALLEL_MIN_MAPS
    assert not [str(f) for f in files if (tmp_path / "early" / f).read_bytes() != (tmp_path / "late" / f).read_bytes()]
