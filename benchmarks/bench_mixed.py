"""Benchmark: ``fit_mixed`` started at the exact optimum (models/lmm.py) against statsmodels' own search.

Takes the model frame of a village (default: the cached 100k benchmark village's, ``model_frame(village,
window_days=365)`` as notebook 04 builds it; made once and cached as Parquet beside the village), then
in the same run, alternating A B A B (``--repeat`` pairs):

* **baseline** ``fit_mixed(frame, scheme="influence_weighted", outcome="bookings", groups="segment")``
  with the start switched off (``mixedlm_start`` returning ``None``): statsmodels' ``MixedLM.fit`` from
  its default start, BFGS then L-BFGS, for the REML fit and the ML refit of the likelihood-ratio test
  (the code before this change);
* **this tree**: the same call, statsmodels started at the exact optimum.

Each call: wall and CPU seconds, the process's peak RSS during the call (MiB), the 1-minute load average
before it. Then accuracy: each fit's REML criterion (lower is better; from statsmodels' ``llf``), its
distance from the exact optimum found by an independent optimiser (scipy's Powell on the deviance written
with statsmodels' own ``loglike``, no per-group sums), the variance components and the LRT statistic.

Run: ``python benchmarks/bench_mixed.py [--village PATH] [--repeat 2]`` (with ``PYTHONPATH`` at the
repository root). The machine may be shared: read the ratios and CPU beside the load column.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bench_api import PeakRSS

HERE = Path(__file__).resolve().parent
CALL = dict(scheme="influence_weighted", outcome="bookings", groups="segment")


def frame_of(village, window):
    """The village's model frame, cached as Parquet beside it."""
    cache = Path(village).with_name(Path(village).name + f"_frame_{window}.parquet")
    if cache.exists():
        return pd.read_parquet(cache)
    import cxinfluence as cx

    t0 = time.perf_counter()
    frame = cx.model_frame(cx.load_village(village, warn=False), window_days=window)
    frame.to_parquet(cache)
    print(f"model frame built in {time.perf_counter() - t0:.1f} s and cached: {cache}")
    return frame


def timed(fn):
    load = os.getloadavg()[0]
    w0, c0 = time.perf_counter(), time.process_time()
    with PeakRSS() as mem:
        out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0, mem.peak, load


def independent_optimum(fit):
    """The REML optimum by Powell on statsmodels' own profiled log-likelihood (no per-group sums)."""
    from scipy import optimize
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    model = fit.result.model
    model.reml = True

    def dev(s):
        p = MixedLMParams.from_packed(np.abs(s), model.k_fe, model.k_re, use_sqrt=True, has_fe=False)
        return -2 * model.loglike(p, profile_fe=True)

    best = optimize.minimize(dev, np.full(model.k_re, 0.1), method="Powell", options={"xtol": 1e-10, "ftol": 1e-14})
    return float(best.x[0] ** 2), float(best.fun)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--village", default=str(HERE / ".cache" / "village_100000_1"))
    parser.add_argument("--window", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    import cxinfluence as cx
    from cxinfluence.models import lmm, mixed_fit

    warnings.simplefilter("ignore")
    frame = frame_of(args.village, args.window)
    print(f"frame: {len(frame):,} rows x {frame.shape[1]} columns; {frame['segment'].nunique()} segments; "
          f"{os.cpu_count()} cores")
    cx.fit_mixed(frame.head(2000), **CALL)  # imports (statsmodels, patsy, scipy) are no call's time
    real = lmm.mixedlm_start
    runs = {"baseline": [], "this tree": []}
    for _ in range(args.repeat):
        for name in runs:
            # both places it is looked up: fit_mixed's import and the LRT's refits (lmm.mixedlm_start)
            lmm.mixedlm_start = mixed_fit.mixedlm_start = (lambda model, reml=True: None) if name == "baseline" else real
            runs[name].append(timed(lambda: cx.fit_mixed(frame, **CALL)))
            fit, wall, cpu, peak, load = runs[name][-1]
            print(f"{name:<10} {wall:7.2f} s wall {cpu:7.2f} s CPU {peak:8,.0f} MiB  load {load:.1f}", flush=True)
    lmm.mixedlm_start = mixed_fit.mixedlm_start = real
    best = {k: (min(r[1] for r in v), min(r[2] for r in v)) for k, v in runs.items()}
    print(f"\nbest wall / CPU: baseline {best['baseline'][0]:.2f} / {best['baseline'][1]:.2f} s, this tree "
          f"{best['this tree'][0]:.2f} / {best['this tree'][1]:.2f} s: "
          f"{best['baseline'][0] / best['this tree'][0]:.1f}x wall, {best['baseline'][1] / best['this tree'][1]:.1f}x CPU")
    ref_var, ref_dev = independent_optimum(runs["this tree"][-1][0])
    print(f"independent optimum (Powell on statsmodels' loglike): relative variance {ref_var:.6g}, "
          f"REML criterion {ref_dev:.6f}")
    for name, rs in runs.items():
        fit = rs[-1][0]
        vc = fit.variance_components.set_index(["component", "group"])["estimate"]
        ratio = float(np.asarray(fit.result.cov_re_unscaled)[0, 0])
        test = fit.variance_test or {}
        print(f"{name:<10} REML criterion {-2 * fit.result.llf:.6f} ({-2 * fit.result.llf - ref_dev:+.2e} from the "
              f"optimum); var(segment) {vc[('var', 'segment')]:.6g}, var(Residual) {vc[('var', 'Residual')]:.6g}, "
              f"relative {ratio:.6g} ({ratio / ref_var - 1:+.1e}); LRT {test.get('statistic', float('nan')):.4g} "
              f"p {test.get('p_value', float('nan')):.3g}; converged {fit.result.converged}; flags "
              f"{sorted(k for k, v in fit.flags.items() if v)}")


if __name__ == "__main__":
    main()
