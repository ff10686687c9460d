"""Can a stage of :func:`cxinfluence.run` work on this data? Checked before it runs.

Each function looks at the data one stage (or one model) needs and returns
``None`` when it can run, or a one-line reason naming what is missing and what
is needed, e.g. ``"1 account; at least 2 accounts with both renewals and
non-renewals are needed"``. The pipeline skips the stage with that reason
(shown in the console, ``warnings.csv`` and the report) and runs the rest.

Checking first gives the user the real cause: a model fitted on bookings that
are 0 in every row would otherwise fail deep inside statsmodels ("The first
guess on the deviance function returned a nan"), and blank bookings would
surface as "no complete rows to fit".

The thresholds are the least a fit can be computed from, not what makes it
trustworthy: a fit that runs on little data is still flagged unreliable by
:mod:`cxinfluence.models.fit` (too few events, few clusters, separation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import CxInfluenceError
from ..models.design import default_controls, distinct_count, varies
from ..village.asof import to_timestamp
from ..village.schema import ROLES

#: Accounts a model needs: cluster-robust errors by account need at least two clusters.
MIN_MODEL_ACCOUNTS = 2
#: Account-periods a model needs: an intercept and a slope leave one degree of freedom.
MIN_MODEL_ROWS = 3
#: Accounts the held-out comparison needs (folds are cut down to the accounts, never below this).
MIN_COMPARISON_ACCOUNTS = 3


def _plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def _no_responses(frame):
    return "n_responses" in frame.columns and not (pd.to_numeric(frame["n_responses"], errors="coerce") > 0).any()


def model_frame_reason(village) -> str | None:
    """Why no model frame can be built (``None`` if it can).

    >>> from types import SimpleNamespace
    >>> model_frame_reason(SimpleNamespace(outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"])))
    'no outcomes rows; outcomes needs at least one row per account and period (account_id, period_end, renewed) to fit any model'
    """
    if len(village.outcomes) == 0:
        return ("no outcomes rows; outcomes needs at least one row per account and period "
                "(account_id, period_end, renewed) to fit any model")
    return None


def _n_coefficients(frame, rows, terms):
    """Coefficients of a model with an intercept and ``terms`` on ``rows`` (a text column: levels - 1)."""
    k = 1
    for c in terms:  # a number is one coefficient whatever its rows: only text columns' rows are read
        k += 1 if pd.api.types.is_numeric_dtype(frame[c]) else max(distinct_count(frame[c], rows) - 1, 0)
    return k


def _outcome_reason(frame, usable, what, outcome="renewed", terms=()):
    """Shared checks of a renewal model on the rows ``usable`` (mask) with ``terms`` besides the controls."""
    if frame is None or len(frame) == 0:
        return "no account-periods to model (the outcomes table has no rows)"
    y = pd.to_numeric(frame[outcome], errors="coerce") if outcome in frame.columns else pd.Series(np.nan, index=frame.index)
    if y.isna().all():
        return f"'{outcome}' is blank in every outcome row; a renewal model needs 0/1 outcomes"
    rows = usable & y.notna()
    if not rows.any():
        if _no_responses(frame):
            return ("no responses in the look-back window before any period_end, so no account-period has "
                    "sentiment; responses dated within window_days before period_end are needed")
        why = (" (empirical-Bayes shrinkage needs more heard accounts than segments in an outcome period)"
               if what.startswith("shrunk ") else "")
        return f"{what} is blank in every account-period with an outcome{why}"
    accounts = frame["account_id"]
    # counted only when there may be too few (two accounts or more: varies, no hashing of every id)
    n_accounts = (MIN_MODEL_ACCOUNTS if MIN_MODEL_ACCOUNTS <= 2 and varies(accounts, rows)
                  else distinct_count(accounts, rows))
    classes = y[rows].value_counts()
    if n_accounts < MIN_MODEL_ACCOUNTS:
        return (f"{_plural(n_accounts, 'account')} with an outcome and {what}; at least {MIN_MODEL_ACCOUNTS} "
                "accounts with both renewals and non-renewals are needed")
    if len(classes) < 2:
        value = int(classes.index[0])
        return (f"'{outcome}' is {value} in all {int(rows.sum())} account-periods with {what} "
                f"({'every account renewed' if value == 1 else 'no account renewed'}); "
                "both renewals and non-renewals are needed")
    if int(rows.sum()) < MIN_MODEL_ROWS:
        return (f"{_plural(int(rows.sum()), 'account-period')} with an outcome and {what}; "
                f"at least {MIN_MODEL_ROWS} are needed")
    return _saturated(frame, rows, [*terms, *default_controls(frame)], what)


def _saturated(frame, rows, terms, what):
    """A model with as many coefficients as rows fits every row exactly and has no standard errors."""
    n, k = int(rows.sum()), _n_coefficients(frame, rows, terms)
    if n <= k:
        return (f"{_plural(n, 'account-period')} with an outcome and {what} for {k} coefficients "
                f"({', '.join(['intercept', *terms])}); more account-periods than coefficients are needed")
    return None


def _complete(frame, columns):
    present = [c for c in columns if c in frame.columns]
    if len(present) < len(columns):
        return pd.Series(False, index=frame.index)
    return frame[present].notna().all(axis=1)


def rebuy_reason(frame, scheme, outcome="renewed") -> str | None:
    """Why the renewal logit on ``scheme`` cannot be fitted (``None`` if it can).

    >>> f = pd.DataFrame({"account_id": ["a", "a"], "renewed": [1.0, 0.0], "mean": [0.2, -0.1]})
    >>> rebuy_reason(f, "mean")
    '1 account with an outcome and mean sentiment; at least 2 accounts with both renewals and non-renewals are needed'
    """
    if frame is not None and scheme not in frame.columns:
        return f"the model frame has no '{scheme}' column"
    usable = _complete(frame, [scheme, *default_controls(frame)]) if frame is not None else None
    return _outcome_reason(frame, usable, f"{scheme} sentiment", outcome, terms=[scheme])


def decision_reason(frame, roles=None, outcome="renewed") -> str | None:
    """Why the buying decision equation (``sent_<role>`` terms) cannot be fitted.

    ``roles`` default to the buying-center roles with a column in the frame.

    >>> f = pd.DataFrame({"account_id": ["a", "b", "c"], "renewed": [1.0, 0.0, 1.0],
    ...                   "sent_decider": [np.nan] * 3, "heard_decider": [0.0] * 3})
    >>> decision_reason(f)
    'no role is ever heard in an account-period with an outcome (decider); the equation needs some role sentiment'
    """
    if frame is None or len(frame) == 0:
        return "no account-periods to model (the outcomes table has no rows)"
    roles = [r for r in ROLES if f"sent_{r}" in frame.columns] if roles is None else list(roles)
    if not roles:
        return "the model frame has no sent_<role> columns"
    heard = pd.Series(False, index=frame.index)
    for r in roles:
        heard |= frame[f"sent_{r}"].notna()
    usable = _complete(frame, default_controls(frame))
    y = pd.to_numeric(frame.get(outcome), errors="coerce") if outcome in frame.columns else None
    if y is not None and not (heard & usable & y.notna()).any() and not _no_responses(frame):
        return (f"no role is ever heard in an account-period with an outcome ({', '.join(roles)}); "
                "the equation needs some role sentiment")
    terms = []
    rows = usable & heard & (y.notna() if y is not None else True)
    for r in roles:
        h = frame.loc[rows, f"sent_{r}"].notna()
        terms += [f"sent_{r}"] * bool(h.any()) + [f"unheard_{r}"] * bool(h.any() and not h.all())
    numeric = frame.assign(**{t: 0.0 for t in terms if t not in frame.columns})
    return _outcome_reason(numeric, usable & heard, "role sentiment", outcome, terms=terms)


def bookings_reason(frame, scheme, outcome="bookings") -> str | None:
    """Why the bookings model on ``scheme`` cannot be fitted (``None`` if it can).

    Bookings are optional: blank in every row, 0 in every row or one value in
    every row leave nothing to explain, and a log-link GLM on them fails.

    >>> f = pd.DataFrame({"account_id": list("abc"), "mean": [0.1, 0.2, 0.3], "bookings": [0.0, 0.0, 0.0]})
    >>> bookings_reason(f, "mean")
    'bookings are 0 in every account-period (3 of 3); varying bookings are needed to model them'
    """
    if frame is None or len(frame) == 0:
        return "no account-periods to model (the outcomes table has no rows)"
    if outcome not in frame.columns or frame[outcome].isna().all():
        return (f"no bookings: the optional '{outcome}' column of outcomes is blank in every row; "
                "fill it with the amount booked per account and period to model bookings")
    if scheme not in frame.columns:
        return f"the model frame has no '{scheme}' column"
    y = pd.to_numeric(frame[outcome], errors="coerce")
    rows = y.notna() & _complete(frame, [scheme, *default_controls(frame)])
    if not rows.any():
        if _no_responses(frame):
            return ("no responses in the look-back window before any period_end, so no account-period has "
                    "sentiment; responses dated within window_days before period_end are needed")
        return f"{scheme} sentiment is blank in every account-period with bookings"
    b = y[rows]
    if (b == 0).all():
        return (f"bookings are 0 in every account-period ({int(rows.sum())} of {len(frame)}); "
                "varying bookings are needed to model them")
    if b.nunique() == 1:
        return (f"bookings are {b.iloc[0]:,.2f} in every account-period with sentiment (constant); "
                "varying bookings are needed to model them")
    n_accounts = int(frame.loc[rows, "account_id"].nunique())
    if n_accounts < MIN_MODEL_ACCOUNTS:
        return (f"{_plural(n_accounts, 'account')} with bookings and {scheme} sentiment; "
                f"at least {MIN_MODEL_ACCOUNTS} accounts are needed")
    if int(rows.sum()) < MIN_MODEL_ROWS:
        return (f"{_plural(int(rows.sum()), 'account-period')} with bookings and {scheme} sentiment; "
                f"at least {MIN_MODEL_ROWS} are needed")
    return _saturated(frame, rows, [scheme, *default_controls(frame)], f"bookings and {scheme} sentiment")


def comparison_reason(frame, schemes, folds, outcome="renewed") -> str | None:
    """Why the cross-validated scheme comparison cannot run (``None`` if it can).

    It needs rows where every compared scheme is present, from at least
    :data:`MIN_COMPARISON_ACCOUNTS` accounts (fewer accounts than ``folds`` is
    handled by :func:`comparison_folds`), and both outcomes.

    >>> f = pd.DataFrame({"account_id": list("aabb"), "renewed": [1.0, 0.0, 0.0, 1.0], "mean": [0.1, 0.2, 0.3, 0.0]})
    >>> comparison_reason(f, ["mean"], 5)
    '2 accounts with every compared scheme (mean); at least 3 are needed for a held-out comparison'
    """
    if not schemes:
        return "no scheme's renewal model could be fitted, so there is nothing to compare"
    usable = _complete(frame, [*schemes, *default_controls(frame)]) if frame is not None else None
    what = "every compared scheme (" + ", ".join(schemes) + ")"
    reason = _outcome_reason(frame, usable, what, outcome)
    if reason:
        return reason
    rows = usable & frame[outcome].notna()
    n_accounts = int(frame.loc[rows, "account_id"].nunique())
    if n_accounts < MIN_COMPARISON_ACCOUNTS:
        return (f"{_plural(n_accounts, 'account')} with {what}; at least {MIN_COMPARISON_ACCOUNTS} are needed "
                "for a held-out comparison")
    return None


def comparison_folds(frame, schemes, folds, outcome="renewed") -> tuple[int, str | None]:
    """Folds to use: ``folds``, or the number of accounts when fewer (with a note).

    >>> f = pd.DataFrame({"account_id": list("abc"), "renewed": [1.0, 0.0, 1.0], "mean": [0.1, 0.2, 0.3]})
    >>> comparison_folds(f, ["mean"], 5)
    (3, 'folds reduced from 5 to 3: only 3 accounts have every compared scheme (leave-one-account-out)')
    """
    rows = _complete(frame, [*schemes, *default_controls(frame), outcome])
    n_accounts = int(frame.loc[rows, "account_id"].nunique())
    if n_accounts >= folds:
        return folds, None
    return n_accounts, (f"folds reduced from {folds} to {n_accounts}: only {n_accounts} accounts have every "
                        "compared scheme (leave-one-account-out)")


def sentiment_note(snapshot, window_days) -> str | None:
    """A note when no account was heard in the window before the as-of date.

    >>> sentiment_note(pd.DataFrame({"account_id": ["a"], "n_respondents": [0]}), 365)
    'no responses in the 365 days before the as-of date: account sentiment is blank; widen --window-days or add responses'
    """
    if snapshot is None or len(snapshot) == 0:
        return None
    heard = pd.to_numeric(snapshot.get("n_respondents", pd.Series(dtype=float)), errors="coerce")
    if not (heard > 0).any():
        return (f"no responses in the {window_days} days before the as-of date: account sentiment is blank; "
                "widen --window-days or add responses")
    return None


def renewal_models_reason(frame, schemes, outcome="renewed") -> str | None:
    """Why no renewal model (per scheme, decision equations, comparison) can be fitted.

    Checks the rows where at least one of ``schemes`` is present; each
    scheme is checked again on its own by :func:`rebuy_reason`.

    >>> f = pd.DataFrame({"account_id": ["a"], "renewed": [1.0], "mean": [0.3]})
    >>> renewal_models_reason(f, ["mean"])
    '1 account with an outcome and sentiment; at least 2 accounts with both renewals and non-renewals are needed'
    """
    if frame is None or len(frame) == 0:
        return "no account-periods to model (the outcomes table has no rows)"
    present = [s for s in schemes if s in frame.columns]
    if not present:
        return f"the model frame has none of the schemes {list(schemes)}"
    usable = frame[present].notna().any(axis=1) & _complete(frame, default_controls(frame))
    return _outcome_reason(frame, usable, "sentiment", outcome)


def _compare_date(compare_to, as_of):
    """``compare_to`` as a date before ``as_of``, or a usage error naming the option and the fix."""
    try:
        compare_to = to_timestamp(compare_to)
    except (ValueError, TypeError):
        raise CxInfluenceError(f"compare_to={compare_to!r} is not a date; expected e.g. '2024-06-30' "
                               "(--compare-to DATE)") from None
    if not compare_to < as_of:
        raise CxInfluenceError(f"compare_to={compare_to:%Y-%m-%d} is not before the as-of date {as_of:%Y-%m-%d}; "
                               "give an earlier date to compare with (--compare-to DATE)")
    return compare_to
