"""Work started early in the run's kept picture worker, whose core is idle until the maps.

The kept worker (:func:`cxinfluence.present.workers.kept_worker`) is warm long before the first map is drawn, and
the analysis stages leave its core mostly idle. The influence sensitivity reads only a sample of the village (at
most 1,000 accounts, :func:`cxinfluence.models.sensitivity.sensitivity_sample`) and nothing the other stages make,
so it is started there when the analysis begins (started at the models stage, it competed with the comparison's
fold refits for the second core) and collected at its own stage: the same
table, computed on the sample the function would have drawn itself (tested equal). On a village small enough
to be used whole, or without a kept worker (one core, no process can start), the stage computes it itself, as
before. A large run starts its kept worker only at the maps (:func:`cxinfluence.pipeline.outputs.picture_worker`):
there the sensitivity takes a worker of its own, which ends when it is done, long before the run's memory peaks.
"""

from __future__ import annotations

import functools

from ..models.sensitivity import influence_sensitivity, sensitivity_sample
from ..present.workers import (MIN_SPARE_CORES, deferred_worker, finish_worker, has_kept_worker, spare_cores,
                               start_worker)
from ..village.subset import subset_village

__all__ = ["sensitivity_ahead"]


def sensitivity_ahead(sample, as_of, *, seed, **options):
    """:func:`~cxinfluence.models.sensitivity.influence_sensitivity` of ``sample`` (a Village) at ``as_of``,
    started now in the kept worker when there is one. Returns ``take(wanted=True)``: the table (computed here
    if no worker took it, or the worker broke), or None without waiting when ``wanted`` is False (the stage
    was skipped: the worker finishes it and moves on)."""
    sensitivity = functools.partial(influence_sensitivity, seed=seed, **options)
    pool = None
    # a large run's kept worker comes later (its memory beside the run's peak): a worker of its own, which ends
    # with the sensitivity, where a core is idle now
    own_worker = deferred_worker() and spare_cores() >= MIN_SPARE_CORES
    try:  # the sample as influence_sensitivity draws it: only those accounts are sent to the worker
        chosen = sensitivity_sample(sample.accounts, seed=seed) if has_kept_worker() or own_worker else None
        if chosen is not None:  # a small village (every account used: the demo's 300) is done here, at the stage:
            # its 0.7 s do not pay for the worker importing statsmodels
            pool, future = start_worker(sensitivity, subset_village(sample, chosen), as_of)
            if own_worker and pool is not None:
                pool.shutdown(wait=False)  # the process ends once the sensitivity is done; its result is kept
    except Exception:  # noqa: BLE001 - whatever fails here fails again at the stage, inside its guard
        pool = None

    def take(wanted=True):
        if pool is None:  # no process could take it
            return sensitivity(sample, as_of) if wanted else None
        if not wanted:
            pool.shutdown(wait=False)  # a borrowed kept worker is left running; one of its own ends with its work
            return None
        return finish_worker(pool, future, lambda: sensitivity(sample, as_of))

    return take
