"""The reference comparison tables of e3c6f55 (main before the lean fits of #18), large-fit path forced at 100 rows.

Run: ``python tests/reference/make_compare_schemes_reference.py ROOT OUT.csv`` with ROOT the root of
``git archive e3c6f55 cxinfluence | tar -x -C ROOT``; ``tests/test_models_lean.py`` checks today's tables
(``comparison_tables``, run on the checked-out package) against it.
"""

import sys
import warnings
from pathlib import Path


def comparison_tables():
    """The two comparison tables, with whichever ``cxinfluence`` is first on ``sys.path``."""
    import pandas as pd

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import bench_models

    from cxinfluence.models import glm
    from cxinfluence.models.compare import compare_schemes
    from cxinfluence.models.fit import fit_rebuy

    before = glm.WARM_START_MIN_ROWS
    glm.WARM_START_MIN_ROWS = 100
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = bench_models.make_frame(600, 3, seed=4)
            schemes = ["mean", "nps", "influence_weighted", "shrunk"]
            fits = {s: fit_rebuy(df, scheme=s) for s in schemes}
            c = compare_schemes(df, schemes=schemes, folds=5, seed=3, n_boot=60, fits=fits)
            b = compare_schemes(df, schemes=["mean", "influence_weighted"], outcome="bookings", folds=4, seed=1,
                                n_boot=40)
    finally:
        glm.WARM_START_MIN_ROWS = before
    return pd.concat([c.table.assign(outcome="renewed"), b.table.assign(outcome="bookings")], ignore_index=True)


if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    comparison_tables().to_csv(sys.argv[2], index=False, float_format="%.17g")
