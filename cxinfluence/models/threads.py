"""BLAS threads for model fitting: one thread for the small and tall-narrow products of a fit.

The products of a GLM fit (``X'WX``, ``X b`` on ``n x k`` designs with ``k``
around 10) and the solves of ``k x k`` systems are memory-bound or tiny:
splitting them across threads saves little on an idle machine and costs
much on a busy one (a JupyterHub, a laptop running other work), where
OpenBLAS threads wait for each other. Measured on the shared 2-core machine
under load 3 (``benchmarks/README.md``, Models): ``X'WX`` on 320,000 x 9
took 25 ms with the default two threads and 14 ms with one; the demo's
models stage was 4-5x slower with the default threads than with
``OPENBLAS_NUM_THREADS=1``.

:func:`blas_threads` caps BLAS at one thread for work below
:data:`LARGE_WORK` floating-point operations per product and leaves the
default (all cores) above it, without the user setting any environment
variable. The cap is undone when the block ends.
"""

from __future__ import annotations

import contextlib

#: Floating-point operations per product above which BLAS keeps its default threads.
LARGE_WORK = 5e8

_CONTROLLER = None


def _controller():
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def blas_threads(work=0.0):
    """A context manager: one BLAS thread while ``work`` (flops per product) is below :data:`LARGE_WORK`.

    Examples
    --------
    >>> import numpy as np
    >>> with blas_threads(1e6):
    ...     b = np.linalg.solve(np.eye(3) * 2.0, np.ones(3))
    >>> b.tolist()
    [0.5, 0.5, 0.5]
    """
    if work >= LARGE_WORK:
        return contextlib.nullcontext()
    try:
        return _controller().limit(limits=1, user_api="blas")
    except Exception:  # noqa: BLE001 - no threadpoolctl view of BLAS: run with the default threads
        return contextlib.nullcontext()


def fit_work(n_rows, n_cols):
    """Flops of the largest product of a fit on ``n_rows x n_cols`` (``X'WX``: ``2 n k^2``)."""
    return 2.0 * n_rows * n_cols * n_cols
