"""The model frame: one row per account and outcome period, with nothing from
the future.

Each row joins an outcome (``renewed``, ``bookings`` at ``period_end``) to what
was known **before** it: every sentiment scheme of
:func:`cxinfluence.sentiment.schemes.account_sentiment` measured with ``as_of =
period_end`` (responses dated in ``[period_end - lead - window, period_end -
lead)`` from stakeholders active at ``period_end``, :mod:`cxinfluence.village.asof`),
the role and veto-group sentiment for the decision equation, plain survey
metrics for the "one number" comparison, and controls.

Columns
-------
``account_id, period_end, renewed, bookings``
    The outcome.
scheme columns (``mean, nps, role_weighted, influence_weighted, veto_floor,
nested, shrunk, disagreement``) and their ``*_se``
    :func:`~cxinfluence.sentiment.schemes.account_sentiment`; NaN when nobody was heard.
``sent_<role>, heard_<role>``
    Plain mean sentiment of the role's heard stakeholders (as
    :func:`~cxinfluence.sentiment.schemes.role_sentiment`) and 1/0 whether the role was
    heard; also for the groups ``veto`` and ``nonveto`` (people with and
    without veto power). ``veto_min`` is the lowest heard veto holder's
    sentiment; ``veto_detractor`` is 1 when a heard veto holder's latest NPS is
    0-6, 0 when veto holders gave NPS answers and none is a detractor, NaN when
    no veto holder answered NPS.
``csat_mean, ces_mean, neteasy, multi_index``
    Account metrics exactly as in :mod:`cxinfluence.sentiment.metrics` (each respondent's
    latest answer), and a multi-metric index: the mean of the available
    z-scores of ``nps``, ``csat_mean``, ``-ces_mean`` and ``neteasy`` (signed
    so higher is better; z over the frame's rows). NPS alone versus mean
    satisfaction versus several metrics is the comparison of Keiningham et al.
    (2007, *Journal of Marketing* 71(3), 39-51) and Morgan & Rego (2006,
    *Marketing Science* 25(5), 426-439); see
    :func:`cxinfluence.models.compare.compare_schemes`.
``log_revenue, segment, region``
    ``log1p(annual_revenue)`` and the account's labels (time-invariant).
``prior_bookings, log_prior_bookings, prior_renewed``
    The account's **previous** period's outcome (NaN in its first period):
    lagged, never the current period.
``n_stakeholders, n_respondents, n_responses, heard_influence``
    Coverage at ``period_end``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import ModelError, ParameterError
from ..sentiment.metrics import metric_arrays
from ..sentiment.schemes import SCHEMES, account_sentiment, sentiment_tables, stakeholder_sentiment
from ..village import asof as _asof
from ..village.ids import arrow_strings, positions, rows_of, run_heads
from ..village.schema import ROLES

#: Groups of the decision equation besides the roles.
VETO_GROUPS = ("veto", "nonveto")
#: the stakeholder-table columns :func:`model_frame` reads from ``stakeholders=`` (a caller building that
#: table only for the frame builds just these: ``sentiment_tables(..., people_columns=PEOPLE_COLUMNS)``)
PEOPLE_COLUMNS = ("account_id", "as_of", "role", "veto", "sentiment", "nps")

_METRICS = {"csat_mean": "csat_mean", "ces": "ces_mean", "neteasy": "neteasy"}


def outcome_periods(village) -> pd.DataFrame:
    """The distinct ``account_id, as_of`` pairs of the outcomes (``as_of`` =
    ``period_end``), sorted: the dates at which a model frame measures sentiment.

    >>> from cxinfluence.village.synth import make_village
    >>> village, _ = make_village(3, seed=1, years=2)
    >>> outcome_periods(village).shape
    (6, 2)
    """
    pairs = pd.DataFrame({"account_id": village.outcomes["account_id"].astype(str),
                          "as_of": pd.to_datetime(village.outcomes["period_end"])})
    return pairs.drop_duplicates().sort_values(["account_id", "as_of"], kind="stable").reset_index(drop=True)


def model_frame(village, *, window_days=_asof.DEFAULT_WINDOW_DAYS, lead_days=0, schemes=None, half_life_days=None,
                influence=None, role_weights=None, metrics=True, sentiment=None, stakeholders=None, prior=None,
                **sentiment_options) -> pd.DataFrame:
    """One row per account and outcome period, joined to what was known before it.

    Parameters
    ----------
    village : Village
    window_days : int or None, default 365
        Look-back window before ``period_end - lead_days`` (``None``: all history).
    lead_days : int, default 0
        Gap between the last usable response and ``period_end`` (e.g. 90 to
        model renewals a quarter ahead).
    schemes : list of str, optional
        Scheme columns to keep (default every one of
        :data:`cxinfluence.sentiment.schemes.SCHEMES`).
    half_life_days, influence, role_weights, **sentiment_options
        Passed to :func:`cxinfluence.sentiment.schemes.account_sentiment` (computed with the
        stakeholder table in one pass: :func:`~cxinfluence.sentiment.schemes.sentiment_tables`).
    metrics : bool, default True
        Add ``csat_mean, ces_mean, neteasy, multi_index``.
    sentiment : DataFrame, optional
        :func:`cxinfluence.sentiment.schemes.account_sentiment` already computed at
        :func:`outcome_periods` with these options (the pipeline reports it
        too, so it is computed once); the window, lead and scheme options
        above must be the ones it was computed with.
    stakeholders : DataFrame, optional
        :func:`cxinfluence.sentiment.schemes.stakeholder_sentiment` already computed
        at :func:`outcome_periods` with the same options (rows of other
        accounts or dates are ignored).
    prior : PortfolioPrior, optional
        Score the sentiment against this portfolio prior (e.g. the whole
        portfolio's, :class:`cxinfluence.sentiment.prior.PortfolioPrior`) instead
        of against this village's own accounts; passed to
        :func:`~cxinfluence.sentiment.schemes.account_sentiment` (unused when
        ``sentiment`` is given).

    Returns
    -------
    DataFrame
        Sorted by ``account_id, period_end``; see the module docstring.

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> village, truth = make_village(30, seed=2, years=2)
    >>> mf = model_frame(village)
    >>> len(mf) == len(village.outcomes), int(mf["prior_bookings"].isna().sum())
    (True, 30)
    >>> bool(((mf["heard_decider"] == 1) == mf["sent_decider"].notna()).all())
    True
    """
    window_days = _asof.check_window(window_days, error=ModelError)
    lead_days = _asof.check_lead(lead_days, error=ModelError)
    half_life_days = _asof.check_half_life(half_life_days, error=ModelError)
    if sentiment is not None:
        _asof.check_options(sentiment, "sentiment", error=ParameterError, window_days=window_days,
                            lead_days=lead_days, half_life_days=half_life_days)
    if stakeholders is not None:
        _asof.check_options(stakeholders, "stakeholders", error=ParameterError, window_days=window_days,
                            lead_days=lead_days, half_life_days=half_life_days)
    outcomes = getattr(village, "outcomes", None)
    if outcomes is None:
        raise ModelError(f"village is a {type(village).__name__}; expected a cxinfluence Village")
    if len(outcomes) == 0:
        raise ModelError("village.outcomes has no rows: a model frame needs outcomes "
                         "(account_id, period_end, renewed) to explain")
    schemes = list(SCHEMES) if schemes is None else ([schemes] if isinstance(schemes, str) else list(schemes))
    unknown = [s for s in schemes if s not in SCHEMES]
    if unknown:
        raise ModelError(f"schemes={unknown!r} are not sentiment schemes; expected some of {list(SCHEMES)}")

    cols = [c for c in ("account_id", "period_end", "renewed", "bookings") if c in outcomes.columns]
    frame = outcomes[cols].copy()
    frame["account_id"] = frame["account_id"].astype(str)
    frame["period_end"] = pd.to_datetime(frame["period_end"])
    if "bookings" not in frame.columns:
        frame["bookings"] = np.nan
    frame = frame.sort_values(["account_id", "period_end"], kind="stable").reset_index(drop=True)
    pairs = outcome_periods(village)

    st = stakeholders
    if sentiment is None and stakeholders is None:
        # both tables from one pass over the responses, as the run's sentiment stage builds them (two calls each
        # matched, windowed and scored every date's responses: 10.4 -> 7.6 s at 100k accounts); the stakeholder
        # table with only the columns read below, its ids and roles as codes
        acc, st = sentiment_tables(village, pairs, window_days=window_days, lead_days=lead_days,
                                   half_life_days=half_life_days, influence=influence, role_weights=role_weights,
                                   prior=prior, people_columns=PEOPLE_COLUMNS, people_categoricals=True,
                                   **sentiment_options)
    elif sentiment is None:
        acc = account_sentiment(village, pairs, window_days=window_days, lead_days=lead_days,
                                half_life_days=half_life_days, influence=influence, role_weights=role_weights,
                                prior=prior, **sentiment_options)
    else:
        acc = sentiment  # only the columns kept below are copied (_key), not all of a 100-column table
        dates = acc[["account_id", "as_of"]].drop_duplicates()
        missing = pairs.merge(dates.assign(account_id=dates["account_id"].astype(str)), how="left", indicator=True)
        if (missing["_merge"] == "left_only").any():
            raise ModelError("sentiment lacks some outcome periods; compute it with "
                             "account_sentiment(village, outcome_periods(village), ...)")
    keep = ["account_id", "as_of", "n_stakeholders", "n_respondents", "n_responses", "heard_influence"]
    keep += schemes + [f"{s}_se" for s in schemes if f"{s}_se" in acc.columns]
    keep += [c for c in ("influence_heard", "influence_heard_se") if c in acc.columns]  # for measurement error
    frame = frame.merge(_key(acc[keep]), on=["account_id", "period_end"], how="left", validate="many_to_one")

    if st is None:
        st = stakeholder_sentiment(village, pairs, window_days=window_days, lead_days=lead_days,
                                   half_life_days=half_life_days)
    # (a given table's rows of other accounts or dates find no outcome row below and drop out)
    frame = frame.merge(_group_sentiment_codes(st, ROLES), on=["account_id", "period_end"], how="left")
    for g in list(ROLES) + list(VETO_GROUPS):
        frame[f"heard_{g}"] = frame[f"heard_{g}"].fillna(0.0)

    if metrics:
        frame = frame.merge(_metric_columns(village, pairs, window_days, lead_days),
                            on=["account_id", "period_end"], how="left")
        frame["multi_index"] = _multi_index(frame)

    frame = frame.merge(_controls(village), on="account_id", how="left")
    # Lagged outcomes: the previous period's result is known at this period_end. The frame is sorted by
    # account and date, so an account's previous period is the row above when it is the same account.
    first = _first_of_account(frame["account_id"])
    frame["prior_bookings"] = frame["bookings"].shift(1).mask(first)
    frame["log_prior_bookings"] = np.log1p(frame["prior_bookings"])
    frame["prior_renewed"] = frame["renewed"].shift(1).mask(first)
    for c in ("n_stakeholders", "n_respondents", "n_responses"):
        frame[c] = frame[c].fillna(0).astype("int64")
    return frame


def _key(df):
    return df.rename(columns={"as_of": "period_end"}).assign(account_id=lambda d: d["account_id"].astype(str))


def _group_sentiment(st, roles):
    """sent_/heard_ per role and veto group, veto_min and veto_detractor."""
    heard = st[st["sentiment"].notna()]
    keys = ["account_id", "period_end"]
    parts = []
    role = heard["role"] if "role" in heard.columns else pd.Series(np.nan, index=heard.index)
    veto = heard["veto"].fillna(False).astype(bool) if "veto" in heard.columns else pd.Series(False, index=heard.index)
    groups = {"role": role.where(role.isin(roles))}
    groups["vetogroup"] = veto.map({True: "veto", False: "nonveto"})
    for label in groups.values():
        g = heard.assign(_g=label.to_numpy()).dropna(subset=["_g"])
        m = g.groupby(keys + ["_g"], sort=False)["sentiment"].mean().unstack("_g")
        m.columns = [f"sent_{c}" for c in m.columns]
        parts.append(m)
    wide = pd.concat(parts, axis=1)
    for g in list(roles) + list(VETO_GROUPS):
        if f"sent_{g}" not in wide.columns:
            wide[f"sent_{g}"] = np.nan
        wide[f"heard_{g}"] = wide[f"sent_{g}"].notna().astype(float)
    vh = heard[veto.to_numpy()]
    wide["veto_min"] = vh.groupby(keys)["sentiment"].min()
    answered = st[st["veto"].fillna(False).astype(bool) & st["nps"].notna()] if "veto" in st.columns else st.iloc[:0]
    wide["veto_detractor"] = (answered["nps"] <= 6).groupby([answered[k] for k in keys]).any().astype(float)
    order = [f"{p}_{g}" for g in list(roles) + list(VETO_GROUPS) for p in ("sent", "heard")]
    return wide[order + ["veto_min", "veto_detractor"]].reset_index()


def _account_heads(ids) -> np.ndarray:
    """Rows where the account id differs from the row above (``run_heads``), also for a categorical column
    (``sentiment_tables(..., people_categoricals=True)``): its codes compared, no text made per row."""
    if not isinstance(ids.dtype, pd.CategoricalDtype):
        return run_heads(arrow_strings(ids))
    codes = ids.cat.codes.to_numpy()
    change = np.ones(len(codes), dtype=bool)
    change[1:] = (codes[1:] != codes[:-1]) | (codes[1:] < 0) | (codes[:-1] < 0)  # either side of a blank counts
    return np.flatnonzero(change)


def _role_positions(role, roles) -> np.ndarray:
    """Position of each row's role in ``roles`` (-1: another role or blank); a categorical's categories are
    looked up once."""
    listed = pd.Series(list(roles), dtype=object)
    if not isinstance(role.dtype, pd.CategoricalDtype):
        return positions(role, listed).astype(np.int64)
    found = np.append(positions(pd.Series(role.cat.categories, dtype=object), listed).astype(np.int64), -1)
    return found[role.cat.codes.to_numpy()]  # code -1 (blank) reads the last slot


def _first_of_account(ids):
    """Per row of a frame sorted by account: whether it is its account's first row (no earlier period)."""
    first = np.zeros(len(ids), dtype=bool)
    first[run_heads(arrow_strings(ids))] = True
    return first


def _group_sentiment_codes(st, roles):
    """:func:`_group_sentiment` of ``_key(st)`` on integer codes: the same table, rows in another order.

    The stakeholder-level table lists each account's people together at each
    date, so the (account, date) pairs are found from where the account id
    or the date changes (no hashing of every row's id), and the means,
    minima and counts are sums by integer pair code (``np.bincount``).
    """
    n = len(st)
    need = {"account_id", "as_of", "sentiment"}
    if n == 0 or not need <= set(st.columns) or not st["sentiment"].notna().any():
        return _group_sentiment(_key(st), roles)
    date = st["as_of"].to_numpy()
    change = np.zeros(n, dtype=bool)
    change[_account_heads(st["account_id"])] = True
    change[1:] |= date[1:] != date[:-1]
    heads = np.flatnonzero(change)
    run = np.cumsum(change) - 1
    a_codes, _ = pd.factorize(st["account_id"].iloc[heads])
    d_codes, d_uniq = pd.factorize(date[heads])
    valid = (a_codes >= 0) & (d_codes >= 0)
    pair_of_head = np.full(len(heads), -1, dtype=np.int64)
    pair_of_head[valid] = pd.factorize(a_codes[valid].astype(np.int64) * len(d_uniq) + d_codes[valid])[0]
    pair = pair_of_head[run]
    n_pairs = int(pair.max()) + 1 if len(pair) else 0
    sent = st["sentiment"].to_numpy(dtype=float)
    heard = ~np.isnan(sent) & (pair >= 0)
    veto = (st["veto"].fillna(False).astype(bool).to_numpy() if "veto" in st.columns else np.zeros(n, dtype=bool))
    role = _role_positions(st["role"], roles) if "role" in st.columns else np.full(n, -1, dtype=np.int64)

    def means(group, n_groups, rows):
        key = pair[rows] * n_groups + group[rows]
        total = np.bincount(key, weights=sent[rows], minlength=n_pairs * n_groups)
        count = np.bincount(key, minlength=n_pairs * n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan).reshape(n_pairs, n_groups)

    by_role = means(role, len(roles), heard & (role >= 0))
    by_veto = means(np.where(veto, 0, 1), 2, heard)
    has = np.bincount(pair[heard], minlength=n_pairs) > 0
    vmin = np.full(n_pairs, np.inf)
    vrows = heard & veto
    np.minimum.at(vmin, pair[vrows], sent[vrows])
    vmin[~np.isfinite(vmin)] = np.nan
    answered = veto & (pair >= 0)
    if "nps" in st.columns:
        nps = pd.to_numeric(st["nps"], errors="coerce").to_numpy(dtype=float)
        answered &= ~np.isnan(nps)
        n_ans = np.bincount(pair[answered], minlength=n_pairs)
        n_det = np.bincount(pair[answered], weights=(nps[answered] <= 6).astype(float), minlength=n_pairs)
        detractor = np.where(n_ans > 0, (n_det > 0).astype(float), np.nan)
    else:
        detractor = np.full(n_pairs, np.nan)
    keep = np.flatnonzero(has)
    head_of_pair = np.empty(n_pairs, dtype=np.int64)
    head_of_pair[pair_of_head[::-1][pair_of_head[::-1] >= 0]] = heads[::-1][pair_of_head[::-1] >= 0]
    rows = head_of_pair[keep]
    out = {"account_id": st["account_id"].iloc[rows].astype(str).to_numpy(), "period_end": date[rows]}
    for i, g in enumerate(list(roles) + list(VETO_GROUPS)):
        col = by_role[keep, i] if i < len(roles) else by_veto[keep, i - len(roles)]
        out[f"sent_{g}"] = col
        out[f"heard_{g}"] = (~np.isnan(col)).astype(float)
    out["veto_min"] = vmin[keep]
    out["veto_detractor"] = detractor[keep]
    return pd.DataFrame(out)


def _metric_columns(village, pairs, window_days, lead_days):
    """csat_mean, ces_mean, neteasy per account and period, exactly as
    :func:`cxinfluence.sentiment.metrics.metric_table` (each respondent's latest answer
    in the window, from stakeholders active at ``period_end``), on integer
    codes: one pass per distinct ``period_end`` (a handful), never per account."""
    resp, people = village.responses, village.stakeholders
    present = [m for m in _METRICS if m.split("_")[0] in resp.columns]
    out_cols = ["account_id", "period_end"] + [_METRICS[m] for m in present]
    if not present or len(resp) == 0 or len(pairs) == 0:
        return pd.DataFrame(columns=out_cols)
    accounts = village.accounts["account_id"].astype(str).to_numpy()
    r_st = rows_of(village, "responses", "stakeholder_id")
    s_acc = np.append(rows_of(village, "stakeholders", "account_id"), -1)  # last slot: unknown person
    date = resp["date"].to_numpy()
    # the score columns as they are when already floats (no copy of 10M rows each); only the window's rows
    # are gathered below, and accounts are looked up for those rows only
    scores = {c: resp[c].to_numpy() if resp[c].dtype == np.float64 else
              pd.to_numeric(resp[c], errors="coerce").to_numpy(float) for c in (m.split("_")[0] for m in present)}
    frames = []
    is_datetime = date.dtype.kind == "M"
    dates = None if is_datetime else pd.Series(date)
    for ts, p in pairs.groupby("as_of", sort=True):
        active = np.append(_asof.active_mask(people, ts).to_numpy(), False) & (s_acc >= 0)
        if is_datetime:  # [t - lead - window, t - lead), as _asof.window_mask (NaT is in no window)
            end = _asof.to_timestamp(ts) - pd.Timedelta(days=lead_days or 0)
            use = date < end.to_datetime64()
            if window_days is not None:
                use &= date >= (end - pd.Timedelta(days=window_days)).to_datetime64()
        else:
            use = _asof.window_mask(dates, ts, window_days, lead_days).to_numpy()
        rows = np.flatnonzero(use & active[r_st])  # active people of a known account
        if len(rows) == 0:
            continue
        # by date, latest answer last, ties in row order: only this window's rows are sorted (sorting all the
        # responses once held five sorted copies of 10M rows, +0.5 GiB at 100k accounts)
        rows = rows[np.argsort(date[rows], kind="stable")]
        person = r_st[rows]
        acc = s_acc[person]
        values = metric_arrays({c: x[rows] for c, x in scores.items()}, acc, person, len(accounts), present)
        heard = np.bincount(acc, minlength=len(accounts)) > 0
        wanted = np.zeros(len(accounts), bool)
        asked = positions(p["account_id"], accounts)
        wanted[asked[asked >= 0]] = True
        keep = np.flatnonzero(heard & wanted)
        frames.append(pd.DataFrame({"account_id": accounts[keep], "period_end": ts,
                                    **{_METRICS[m]: values[m][0][keep] for m in present}}))
    if not frames:
        return pd.DataFrame(columns=out_cols)
    return pd.concat(frames, ignore_index=True)[out_cols]


def multi_metric_index(frame) -> pd.Series:
    """The ``multi_index`` column of a model frame: the mean of the z-scores of NPS, CSAT, CES (reversed)
    and NetEasy over the frame's rows (so it pools the whole frame: the partitioned run recomputes it on
    the combined frame).

    >>> multi_metric_index(pd.DataFrame({"nps": [0.0, 1.0], "csat_mean": [3.0, 5.0]})).round(3).tolist()
    [-0.707, 0.707]
    """
    return _multi_index(frame)


def _multi_index(frame):
    comps = []
    for col, sign in (("nps", 1), ("csat_mean", 1), ("ces_mean", -1), ("neteasy", 1)):
        if col in frame.columns:
            x = pd.to_numeric(frame[col], errors="coerce")
            sd = x.std()
            if np.isfinite(sd) and sd > 0:
                comps.append(sign * (x - x.mean()) / sd)
    if not comps:
        return np.nan
    return pd.concat(comps, axis=1).mean(axis=1, skipna=True)


def _controls(village):
    a = village.accounts
    out = pd.DataFrame({"account_id": a["account_id"].astype(str)})
    if "annual_revenue" in a.columns:
        out["log_revenue"] = np.log1p(pd.to_numeric(a["annual_revenue"], errors="coerce")).to_numpy()
    for c in ("segment", "region"):
        if c in a.columns:
            out[c] = a[c].to_numpy()
    return out.drop_duplicates("account_id")
