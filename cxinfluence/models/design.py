"""Preparing a fit: formula columns, argument checks, controls, complete rows, design rank, VIF,
separation checks, the statsmodels family and formula model. Part of :mod:`cxinfluence.models.fit`."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from ..exceptions import DegenerateFitWarning, ModelError
from ..village.ids import arrow_text, run_heads

#: Controls used when ``controls=None`` (those present in the frame are used).
DEFAULT_CONTROLS = ("log_revenue", "segment")

#: Rows up to which the exact linear-programming separation check runs.
SEPARATION_LP_MAX_ROWS = 50_000

# MIN_EPV, MAX_VIF, MIN_CLUSTERS: the thresholds of cxinfluence.diagnostics (imported above).



_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def formula_columns(formula: str, data: pd.DataFrame) -> list[str]:
    """Column names of ``data`` that a formula refers to (in formula order).

    >>> formula_columns("renewed ~ mean + np.log(x) + C(segment)",
    ...                 pd.DataFrame(columns=["renewed", "mean", "x", "segment"]))
    ['renewed', 'mean', 'x', 'segment']
    """
    cols = set(map(str, data.columns))
    seen = []
    for tok in _NAME.findall(formula):
        if tok in cols and tok not in seen:
            seen.append(tok)
    return seen


def _check_frame(frame, name="frame"):
    if not isinstance(frame, pd.DataFrame):
        raise ModelError(f"{name} is a {type(frame).__name__}; expected a pandas DataFrame "
                         "(e.g. cxinfluence.model_frame(village))")
    if len(frame) == 0:
        raise ModelError(f"{name} has no rows; a model needs data (check the village has outcomes "
                         "and responses before period_end)")


def _require(frame, columns, arg):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ModelError(f"{arg}={missing if len(missing) > 1 else missing[0]!r} is not a column of the frame; "
                         f"available columns: {sorted(map(str, frame.columns))}")


def varies(values: pd.Series, rows=None) -> bool:
    """Whether ``values`` holds two or more distinct values besides blanks: ``values.nunique() > 1`` without
    hashing every value (the models stage asks it of the same controls some twenty times). ``rows``: a boolean
    mask, for ``values[rows]`` (Arrow text is filtered without a pandas copy).

    >>> varies(pd.Series([1.0, None, 1.0])), varies(pd.Series(["a", None, "b"], dtype="str"))
    (False, True)
    >>> varies(pd.Series(["a", None, "b"], dtype="str"), rows=np.array([True, True, False]))
    False
    """
    if rows is not None:
        text = _text_rows(values, rows)
        return varies(values[np.asarray(rows, dtype=bool)]) if text is None else _text_varies(text)
    dtype = values.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        x = values.to_numpy(dtype=float, na_value=np.nan)
        x = x[~np.isnan(x)]
        return bool(len(x)) and bool(x.min() != x.max())  # -0.0 and 0.0 are one value, as nunique counts them
    if isinstance(dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        codes = codes[codes >= 0]
        return bool(len(codes)) and bool(codes.min() != codes.max())
    text = arrow_text(values) if isinstance(dtype, pd.StringDtype) else None
    if text is not None:
        return _text_varies(text)
    return values.nunique(dropna=True) > 1


def distinct_count(values: pd.Series, rows) -> int:
    """``values[rows].nunique()`` (blanks dropped; ``rows`` a boolean mask), Arrow text counted by Arrow.

    >>> distinct_count(pd.Series(["a", "", None, "b"], dtype="str"), np.array([True, True, True, False]))
    2
    """
    text = _text_rows(values, rows)
    if text is None:
        return int(values[np.asarray(rows, dtype=bool)].nunique())
    import pyarrow.compute as pc

    return pc.count_distinct(text, mode="only_valid").as_py()


def _text_rows(values, rows):
    """The Arrow text behind ``values`` at ``rows`` (a boolean mask), filtered without a pandas copy; None unless
    ``values`` is Arrow-backed text."""
    text = arrow_text(values) if isinstance(values.dtype, pd.StringDtype) else None
    if text is None:
        return None
    import pyarrow as pa

    return text.filter(pa.array(np.asarray(rows, dtype=bool)))


def _text_varies(text) -> bool:
    """:func:`varies` of an Arrow text array: any value differs from the first one present (byte for byte;
    blanks compare as null and are skipped), one comparison pass instead of a minimum and a maximum."""
    import pyarrow.compute as pc

    present = text if text.null_count == 0 else text.drop_null()
    if len(present) == 0:
        return False
    return bool(pc.any(pc.not_equal(present, present[0])).as_py())


def default_controls(frame) -> list:
    """The :data:`DEFAULT_CONTROLS` in ``frame`` that vary (:func:`varies`): the controls of ``controls=None``."""
    return [c for c in DEFAULT_CONTROLS if c in frame.columns and varies(frame[c])]


def _resolve_controls(frame, controls, notes):
    if controls is None:
        used = default_controls(frame)
        notes.append(f"controls: {', '.join(used) if used else 'none'} (default)")
        return used
    controls = [controls] if isinstance(controls, str) else list(controls)
    _require(frame, [c for c in controls if _NAME.fullmatch(c)], "controls")
    return controls


# --------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------
def design_rank(X: np.ndarray, tol=1e-6):
    """Rank of a design matrix and the columns aliased with earlier ones.

    Columns are normalised to unit length and taken left to right; column
    ``j`` is aliased when the part of it not spanned by the columns kept
    before it is shorter than ``tol`` (the ``|R_jj|`` of a QR decomposition,
    computed here from the small Gram matrix so that 300k rows cost
    milliseconds). This is R's ``glm`` rule of reporting ``NA`` for the later of
    collinear columns, so an intercept survives and a constant column after it
    is the one aliased. Returns ``(rank, aliased_indices)``.

    >>> X = np.c_[np.ones(4), [1., 2, 3, 4], [2., 4, 6, 8], [5., 5, 5, 5]]
    >>> design_rank(X)
    (2, [2, 3])
    """
    X = np.asarray(X, dtype=float)
    if X.shape[1] == 0:
        return 0, []
    G = X.T @ X  # normalised below: no scaled copy of a tall X
    norm = np.sqrt(np.diag(G))
    zero = norm == 0
    unit = np.where(zero, 1.0, norm)
    G = G / np.outer(unit, unit)
    keep, aliased = [], []
    for j in range(X.shape[1]):
        if zero[j]:
            aliased.append(j)
            continue
        if keep:
            g = G[np.ix_(keep, [j])]
            resid = G[j, j] - (g.T @ np.linalg.solve(G[np.ix_(keep, keep)], g)).item()
        else:
            resid = G[j, j]
        (keep if resid > tol ** 2 else aliased).append(j)
    return len(keep), aliased


def vif(X: np.ndarray, names) -> pd.Series:
    """Variance inflation factors of the non-constant columns of ``X``
    (diagonal of the inverse correlation matrix).

    >>> rng = np.random.default_rng(0); a = rng.normal(size=200)
    >>> X = np.c_[np.ones(200), a, a + 0.05 * rng.normal(size=200), rng.normal(size=200)]
    >>> (vif(X, ["Intercept", "a", "b", "c"]) > 10).tolist()
    [True, True, False]
    """
    X = np.asarray(X, dtype=float)
    n = len(X)
    idx = np.flatnonzero(~(X == X[:1]).all(0)) if n else np.arange(0)
    if idx.size < 2:
        return pd.Series(np.ones(idx.size), index=[names[i] for i in idx])
    # correlations from the cross-products (one pass over a tall X, no centred copy)
    total = X.sum(0)[idx]
    C = (X.T @ X)[np.ix_(idx, idx)] - np.outer(total, total) / n
    sd = np.sqrt(np.diag(C))
    R = C / np.outer(sd, sd)
    try:
        v = np.diag(np.linalg.inv(R))
    except np.linalg.LinAlgError:
        v = np.full(idx.size, np.inf)
    return pd.Series(v, index=[names[i] for i in idx])


def separation(X: np.ndarray, y: np.ndarray, names=None, tol=1e-6):
    """Detect complete or quasi-complete separation in a logistic model.

    Solves the linear programme of Konis (2007, DPhil thesis, Oxford; R package
    ``detectseparation``): maximise ``sum_i z_i x_i'b`` subject to
    ``z_i x_i'b >= 0`` for all rows and ``-1 <= b <= 1``, with ``z = 2y - 1``.
    The maximum is 0 exactly when the classes overlap (the MLE exists, Albert &
    Anderson 1984); otherwise ``b`` is a direction along which the likelihood
    keeps increasing, so the estimates along it diverge.

    Returns
    -------
    dict or None
        ``None`` when there is no separation; otherwise
        ``{"terms": [...], "n_separated": int}``: the terms with a non-zero
        component of the separating direction and the number of rows whose
        outcome it predicts perfectly.

    Examples
    --------
    >>> x = np.array([1., 2, 3, 4, 5, 6]); X = np.c_[np.ones(6), x]
    >>> separation(X, np.array([0, 0, 0, 1, 1, 1]), ["Intercept", "x"])["terms"]
    ['Intercept', 'x']
    >>> separation(X, np.array([0, 1, 0, 1, 0, 1]), ["Intercept", "x"]) is None
    True
    """
    from scipy.optimize import linprog

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    names = list(names) if names is not None else [f"x{j}" for j in range(X.shape[1])]
    z = 2.0 * y - 1.0
    A = z[:, None] * X
    scale = np.abs(A).max(0)
    scale[scale == 0] = 1.0
    A = A / scale
    res = linprog(-A.sum(0), A_ub=-A, b_ub=np.zeros(len(A)), bounds=[(-1, 1)] * A.shape[1], method="highs")
    if res.status != 0 or -res.fun <= tol:
        return None
    b = res.x
    margin = A @ b
    if margin.min() < -1e-7:  # numerical noise, not a separating direction
        return None
    return {"terms": [n for n, bj in zip(names, b) if abs(bj) > 1e-6],
            "n_separated": int((margin > 1e-7).sum())}


def _binary_columns(X, head=1000):
    """Indices of the columns of ``X`` that take both values 0 and 1 and no other.

    The first ``head`` rows rule out continuous columns, so that only
    candidate 0/1 columns are scanned in full.
    """
    X = np.asarray(X)
    top = X[:head]
    candidates = np.flatnonzero(((top == 0) | (top == 1)).all(0))
    out = []
    for j in candidates:
        col = X[:, j]
        if ((col == 0) | (col == 1)).all() and col.min() != col.max():
            out.append(int(j))
    return out


def _cheap_separation(X, y, mu, names):
    """Large-sample separation checks that need no LP (see module docstring)."""
    reasons = []
    for j in _binary_columns(X):
        on = X[:, j] == 1
        if on.sum() and (np.all(y[on] == 1) or np.all(y[on] == 0)):
            reasons.append(names[j])
    extreme = int(((mu < 1e-8) | (mu > 1 - 1e-8)).sum())
    return reasons, extreme


def _diagnose_binary(X, y, mu, names, fit_warnings, term_warnings, lp=None):
    n = len(y)
    lp = n <= SEPARATION_LP_MAX_ROWS if lp is None else lp
    if lp:
        sep = separation(X, y, names)
        if sep is not None:
            fit_warnings.append(
                f"separation: {sep['n_separated']} of {n} rows are predicted perfectly by "
                f"{', '.join(sep['terms'])}; their coefficients diverge (complete or quasi-complete separation)")
            for t in sep["terms"]:
                if t != "Intercept":
                    term_warnings.setdefault(t, "involved in separation: estimate not finite in truth")
            return
    cols, extreme = _cheap_separation(X, y, mu, names)
    if cols:
        fit_warnings.append(f"separation: every row with {', '.join(cols)} = 1 has the same outcome "
                            "(quasi-complete separation)")
        for t in cols:
            term_warnings.setdefault(t, "involved in separation: estimate not finite in truth")
    elif extreme:
        fit_warnings.append(f"separation suspected: {extreme} fitted probabilities are within 1e-8 of 0 or 1")


def _degenerate(fit_warnings, name):
    for w in fit_warnings:
        warnings.warn(f"{name}: {w}", DegenerateFitWarning, stacklevel=4)


# --------------------------------------------------------------------------
# The common fitting engine
# --------------------------------------------------------------------------
_FAMILIES = ("binomial", "gaussian", "poisson", "gamma", "tweedie")


def _family(family, var_power=1.5):
    from statsmodels.genmod import families

    if not isinstance(family, str):
        return family
    fam = family.lower()
    links = families.links
    if fam in ("binomial", "logit", "logistic"):
        return families.Binomial()
    if fam in ("gaussian", "ols", "normal"):
        return families.Gaussian()
    if fam == "poisson":
        return families.Poisson()
    if fam == "gamma":
        return families.Gamma(link=links.Log())
    if fam == "tweedie":
        return families.Tweedie(var_power=var_power, link=links.Log())
    raise ModelError(f"family={family!r} is not supported; expected one of {list(_FAMILIES)} "
                     "or a statsmodels family instance")


def _prepare_rows(frame, columns, scheme_cols, notes, fit_warnings):
    """Complete cases of ``columns``; report what was dropped and periods
    where the sentiment columns are missing for every account."""
    data = frame[list(dict.fromkeys(columns))]
    numeric = data.select_dtypes(include="number")
    bad = (~np.isfinite(numeric.to_numpy(dtype=float, na_value=np.nan)).all(1) if numeric.shape[1]
           else np.zeros(len(data), bool))
    keep = ~(data.isna().any(axis=1).to_numpy() | bad)
    if scheme_cols and "period_end" in frame.columns:
        present = frame[scheme_cols].notna().all(axis=1)
        by_period = present.groupby(frame["period_end"]).any()
        empty = by_period.index[~by_period.to_numpy()]
        if len(empty) and len(empty) < len(by_period):
            dates = ", ".join(str(pd.Timestamp(d).date()) for d in empty)
            fit_warnings.append(f"no sentiment ({', '.join(scheme_cols)}) in outcome period(s) {dates}: "
                                "those periods are excluded, so the estimate describes the other periods only "
                                "(widen window_days or check the responses)")
    dropped = int((~keep).sum())
    if dropped:
        notes.append(f"{dropped} of {len(frame)} rows dropped for missing values "
                     f"(complete cases of {', '.join(dict.fromkeys(columns))})")
    # only the columns the fit uses (and the account id): each Fit keeps its rows,
    # and a dozen copies of a 50-column, 400k-row frame cost gigabytes
    out = frame.loc[keep, list(dict.fromkeys([*columns, *(c for c in ("account_id",) if c in frame.columns)]))]
    if len(out) == 0:
        # name the columns that are blank in every row: the real cause (e.g. blank bookings), not a guess
        blank = [c for c in dict.fromkeys(columns) if frame[c].isna().all()]
        if not blank:
            raise ModelError(f"no complete rows to fit: every row misses one of {', '.join(dict.fromkeys(columns))} "
                             "(never all in one row); choose another scheme or drop a control")
        hint = ("no responses in the look-back window before period_end? widen window_days or choose another scheme"
                if any(c in scheme_cols for c in blank) else "fill the column or leave it out of the model")
        raise ModelError(f"no complete rows to fit: {', '.join(blank)} missing in every row ({hint})")
    return out


def _groups(data, cluster):
    if cluster is None or cluster not in data.columns:
        return None
    return group_codes(data[cluster])


def group_codes(values) -> np.ndarray:
    """``pd.factorize(values)[0]``, hashing one id per run of equal ids.

    A model frame lists an account's periods together, so only the first id
    of each run is factorised (a quarter of the rows with four periods) and
    its code repeated; codes in order of first appearance, -1 for missing,
    exactly as ``pd.factorize`` gives them, whatever the row order.

    >>> group_codes(pd.Series(["b", "b", "a", None, "b", "c", "c"] * 200, dtype="str"))[:7].tolist()
    [0, 0, 1, -1, 0, 2, 2]
    """
    values = pd.Series(values) if not isinstance(values, pd.Series) else values
    arr = arrow_text(values) if len(values) > 1000 else None
    if arr is None:
        return pd.factorize(values)[0]
    heads = run_heads(arr)
    if len(heads) > len(arr) // 2:  # few repeats: nothing to save
        return pd.factorize(values)[0]
    change = np.zeros(len(arr), dtype=bool)
    change[heads] = True
    run = np.cumsum(change) - 1
    if arr.null_count == 0 and _increasing(arr.take(heads)):  # ids sorted (a model frame): each run a new id
        return run
    return pd.factorize(values.iloc[heads])[0][run]


def _increasing(text) -> bool:
    """Whether each value of an Arrow text array is greater (byte for byte) than the one before it, so no
    value repeats: their first-appearance codes are 0, 1, 2, ..."""
    import pyarrow.compute as pc

    n = len(text)
    return n < 2 or bool(pc.all(pc.less(text.slice(0, n - 1), text.slice(1))).as_py())


def _formula_model(build, formula, data, **kwargs):
    """A statsmodels formula model on ``data``, patsy reading only the formula's columns.

    Handing patsy the whole frame makes statsmodels copy every text column
    (e.g. 400k account ids) before patsy ignores them; the design matrices
    are the same either way, and ``model.data.frame`` is still the whole
    frame, as :meth:`from_formula` leaves it. A formula naming a column in a
    way :func:`formula_columns` does not see (``Q("a b")``) gets the whole
    frame.
    """
    full = _categorical_text(data, formula)
    cols = formula_columns(formula, full)
    try:
        try:
            model = build(formula, full[cols], **kwargs)
        except Exception:
            model = build(formula, full, **kwargs)
    except Exception as exc:  # patsy/formula errors: say which formula
        raise ModelError(f"formula={formula!r} could not be built on the frame: {exc}") from exc
    model.data.frame = full
    return model


def _n_groups(codes):
    """Distinct values of factorised codes (``pd.factorize``: 0..G-1, -1 for missing)."""
    if len(codes) == 0:
        return 0
    return int(codes.max()) + 1 if codes.min() >= 0 else len(np.unique(codes))


def _categorical_text(data, formula):
    """``data`` with the formula's text columns as pandas Categoricals.

    patsy inspects a text column value by value (seconds on a portfolio's
    frame) but reads a Categorical at once; the levels (sorted), the terms and
    the design matrix are the same, and predictions on plain text still work.
    """
    text = [c for c in formula_columns(formula, data) if c in data.columns
            and (data[c].dtype == object or pd.api.types.is_string_dtype(data[c]))]
    return data.assign(**{c: pd.Categorical(data[c]) for c in text}) if text else data


def _n_accounts(data):
    return int(data["account_id"].nunique()) if "account_id" in data.columns else len(data)


def _rhs(terms):
    return " + ".join(terms) if terms else "1"
