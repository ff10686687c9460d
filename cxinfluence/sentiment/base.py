"""The shared base of the sentiment tables: the village coded once per call (ids hashed, items
scaled once), then, per as-of date, who is active and which responses count
(:mod:`cxinfluence.village.asof`), and the stakeholder columns of each date.

:mod:`cxinfluence.sentiment.schemes` builds every table from these arrays (see its docstring for
the schemes and their intervals).
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from ..exceptions import MetricError, VillageWarning
from ..network.blend import role_codes_of
from ..network.influence import influence_of_rows
from ..village import asof as _asof
from ..village.heard import last_heard as _last_heard
from ..village.heard import response_counts
from ..village.ids import THREADS as _THREADS
from ..village.ids import rows_for, rows_of
from ..village.scale import ITEMS
from .estimators import DEFAULT_ROLE_WEIGHTS, item_sentiment


def _as_of_table(village, as_of):
    """Normalise ``as_of`` to (list of unique dates, requested pairs or None)."""
    if isinstance(as_of, pd.DataFrame):
        need = {"account_id", "as_of"}
        if not need <= set(as_of.columns):
            raise MetricError(f"as_of is a DataFrame with columns {list(as_of.columns)}; expected columns "
                              "'account_id' and 'as_of' (one row per account and date)")
        pairs = as_of[["account_id", "as_of"]].assign(as_of=pd.to_datetime(as_of["as_of"]))
        if pairs["as_of"].isna().any():
            raise MetricError("as_of has blank dates in column 'as_of'; fill or drop those rows")
        return sorted(pairs["as_of"].unique()), pairs.drop_duplicates()
    if isinstance(as_of, (list, tuple, pd.Index, pd.Series, np.ndarray)):  # several dates, every account
        return sorted({_asof.to_timestamp(d) for d in as_of}), None
    return [_asof.to_timestamp(as_of)], None


def _influence_at(village, ts, influence):
    """Influence at ``ts``: a DataFrame, or ``(rows, influence)`` arrays when
    computed here (stakeholders-table rows, so no id needs hashing)."""
    if influence is None:
        return influence_of_rows(village, ts)
    if not isinstance(influence, pd.DataFrame) or not {"stakeholder_id", "influence"} <= set(influence.columns):
        raise MetricError("influence must be a DataFrame with columns 'stakeholder_id' and 'influence' "
                          "(e.g. cxinfluence.network.influence.influence_weights(village, as_of))")
    if "as_of" in influence.columns:
        return influence[pd.to_datetime(influence["as_of"]) == ts]
    return influence


#: Stakeholders from which a list of dates has each date's influence computed one date ahead (:class:`_Ahead`)
_AHEAD_PEOPLE = 100_000


class _Ahead:
    """Each of ``dates``' influence (:func:`influence_of_rows`) computed on a second thread one date ahead of the
    caller: while the caller scores date ``j``, the thread solves date ``j + 1`` (the solve and the blend are
    numpy loops that release the GIL). The same arrays as computing them in turn; the influence's warnings are
    collected on the thread and warned here, in date order, when the caller takes the date (warning filters are
    one per process). ``then(j, (rows, influence))``, when given, runs on the thread after date ``j``'s influence
    and :meth:`take` gives its result (numpy only: no warnings, no caller code). Use as a context manager:
    leaving it waits for the thread."""

    def __init__(self, village, dates, then=None):
        self.village, self.dates, self.then = village, list(dates), then
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="cx-influence-ahead")
        self.pending = {0: self._submit(0)} if self.dates else {}

    def _submit(self, j):
        notes = []

        def solve():
            rows_influence = influence_of_rows(self.village, self.dates[j], notes=notes)
            return (rows_influence if self.then is None else self.then(j, rows_influence)), notes

        return self.pool.submit(solve)

    def take(self, j):
        """Date ``j``'s ``(rows, influence)`` (dates are taken in order); the next date starts on the thread."""
        if j + 1 < len(self.dates) and j + 1 not in self.pending:
            self.pending[j + 1] = self._submit(j + 1)
        result, notes = self.pending.pop(j).result()
        for message in notes:
            warnings.warn(message, VillageWarning, stacklevel=3)
        return result

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for future in self.pending.values():
            future.cancel()
        self.pool.shutdown(wait=True)
        return False


def _base(village, *, role_weights, nest_by):
    """Date-independent codes and arrays, computed once per call: string ids are
    hashed once, item sentiment is computed once for every response."""
    accounts = village.accounts["account_id"].astype(str).array  # pandas' own strings: no object per id
    st = village.stakeholders
    sid = st["stakeholder_id"]
    s_acc = rows_of(village, "stakeholders", "account_id")
    roles = st["role"] if "role" in st.columns else pd.Series(np.nan, index=st.index)
    rw = dict(DEFAULT_ROLE_WEIGHTS if role_weights is None else role_weights)
    bad = {r: w for r, w in rw.items() if not (np.isfinite(w) and w >= 0)}
    if bad:
        raise MetricError(f"role_weights={role_weights!r} has invalid weights {bad}; expected numbers >= 0")
    role_codes, role_names = role_codes_of(village, roles)
    role_names = list(role_names) + [None]  # code -1 (blank role) -> last slot
    role_codes = np.where(role_codes < 0, len(role_names) - 1, role_codes)
    role_w = np.array([rw.get(r, 1.0) if r is not None else 1.0 for r in role_names])
    if nest_by == "role":
        nest_codes, nest_w = role_codes, role_w
    else:
        if nest_by not in st.columns:
            raise MetricError(f"nest_by={nest_by!r} is not a stakeholder column; expected 'role' or 'department'")
        nest_codes, _ = pd.factorize(st[nest_by], use_na_sentinel=True)
        nest_codes = np.where(nest_codes < 0, nest_codes.max(initial=-1) + 1, nest_codes)
        nest_w = np.ones(int(nest_codes.max(initial=0)) + 1)
    veto = st["veto"].fillna(False).astype(bool).to_numpy() if "veto" in st.columns else np.zeros(len(st), bool)

    resp = village.responses
    r_st = rows_of(village, "responses", "stakeholder_id")  # -1: unknown stakeholder, never used
    r_date = resp["date"].to_numpy()

    def column(c):
        col = resp[c]
        if pd.api.types.is_float_dtype(col):
            return col.to_numpy(float)
        return pd.to_numeric(col, errors="coerce").to_numpy(float)

    present = [c for c in ITEMS if c in resp.columns]
    items = {c: column(c) for c in present}  # scored in _score, for the responses some date can use
    nps = items["nps"] if "nps" in items else (column("nps") if "nps" in resp.columns else None)
    if "segment" in village.accounts.columns:
        seg, seg_names = pd.factorize(village.accounts["segment"], use_na_sentinel=True)
        # segments are named by their text in a portfolio prior: codes depend on the accounts loaded
        seg_labels = [str(s) for s in seg_names] + ([None] if (seg < 0).any() else [])
        seg = np.where(seg < 0, seg.max(initial=-1) + 1, seg)  # blank segment: one group of its own
    else:
        seg = np.zeros(len(accounts), dtype=np.int64)
        seg_labels = [None]  # no segments: the portfolio is one group
    return dict(village=village, accounts=accounts, st=st, sid=sid, s_acc=s_acc, role_codes=role_codes,
                role_names=role_names, role_w=role_w, nest_codes=nest_codes, nest_w=nest_w, veto=veto, r_st=r_st, r_date=r_date,
                items=items, nps=nps, seg=seg, seg_labels=seg_labels)


def _usable(base, ts, *, window_days, lead_days, active):
    """Bool per response: dated in the window before ``ts - lead`` by someone active at ``ts``."""
    r_st, r_date = base["r_st"], base["r_date"]
    end = (ts - pd.Timedelta(days=lead_days or 0)).to_datetime64()
    if window_days is not None and r_date.dtype == "datetime64[ns]":
        # start <= date < end as one unsigned comparison of nanoseconds (NaT, the smallest int64, falls outside)
        stop = int(end.astype("datetime64[ns]").view(np.int64))
        start = int((end - np.timedelta64(pd.Timedelta(days=window_days))).astype("datetime64[ns]").view(np.int64))
        width = np.uint64(max(stop - start, 0))
        usable = (r_date.view(np.int64) - np.int64(start)).view(np.uint64) < width
    else:
        usable = r_date < end
        if window_days is not None:
            usable &= r_date >= end - np.timedelta64(pd.Timedelta(days=window_days))
    # an unknown stakeholder (-1) reads the extra last slot, which is never active
    usable &= np.r_[active, False][r_st]
    return usable, end


def _score(base, usable):
    """Response sentiment (:func:`item_sentiment`) of the responses some date can use (NaN elsewhere):
    the items are scaled once per call, and only where needed (the windows cover a fraction of the
    history), into ``base["x"]``."""
    n = len(base["r_st"])
    if not base["items"]:
        base["x"] = np.full(n, np.nan)
        return
    need = np.flatnonzero(usable)
    if len(need) > n // 3:  # most of the history: scoring all of it costs less than gathering
        base["x"] = _score_rows(base["items"], None, n)
        return
    x = np.full(n, np.nan)
    x[need] = _score_rows(base["items"], need)
    base["x"] = x


def _scored(base, rows):
    """Response sentiment of the responses at ``rows``: from :func:`_score` when several dates
    share it, else scaled here for these responses only."""
    if "x" in base:
        return base["x"][rows]
    if not base["items"]:
        return np.full(len(rows), np.nan)
    return _score_rows(base["items"], rows)


#: Responses scored per block: a block's item temporaries stay in the CPU cache, and two blocks are scored at
#: once on two cores (numpy releases the GIL)
_SCORE_BLOCK = 1 << 18


def _score_rows(items, rows, n=None):
    """:func:`item_sentiment` of the responses at ``rows`` (all ``n`` when ``rows`` is None), block by block:
    the scale is elementwise, so the same numbers as one call over every row (tests/test_score_blocks.py)."""
    total = n if rows is None else len(rows)
    out = np.empty(total)

    def block(lo):
        hi = min(lo + _SCORE_BLOCK, total)
        pick = slice(lo, hi) if rows is None else rows[lo:hi]
        out[lo:hi] = item_sentiment({c: v[pick] for c, v in items.items()})

    starts = range(0, total, _SCORE_BLOCK)
    if _THREADS > 1 and total > 2 * _SCORE_BLOCK:
        with ThreadPoolExecutor(_THREADS) as pool:
            list(pool.map(block, starts))
    else:
        for lo in starts:
            block(lo)
    return out


def _active(base, ts):
    return _asof.active_mask(base["st"], ts).to_numpy() & (base["s_acc"] >= 0)


def _at(base, ts, *, window_days, lead_days, half_life_days, influence, need_influence=True, active=None,
        usable=None, computed=None):
    """Arrays for one as-of date: active stakeholders re-coded 0..S-1, usable responses
    (``active`` and ``(usable, end)`` when already computed). ``computed``: a function giving the active people's
    influence (:meth:`_Ahead.take` of :func:`_people_influence`); then ``inf`` is a function too, which the kernel
    calls once it has done the responses' steps (the influence meanwhile computed on the other thread)."""
    active = _active(base, ts) if active is None else active
    idx = np.flatnonzero(active)
    new_code = np.cumsum(active) - 1
    s_acc = base["s_acc"][idx]
    if not need_influence:
        inf = np.full(len(idx), np.nan)
    elif computed is not None:  # the kernel calls it once the responses' steps are done
        inf = computed
    else:
        inf = _active_influence(base, _influence_at(base["village"], ts, influence), idx, s_acc)

    r_st, r_date = base["r_st"], base["r_date"]
    usable, end = usable if usable is not None else _usable(base, ts, window_days=window_days, lead_days=lead_days,
                                                            active=active)
    rows = np.flatnonzero(usable)
    r_date = r_date[rows]
    weight = None
    if half_life_days is not None:
        age = (ts.to_datetime64() - r_date) / np.timedelta64(1, "D")
        weight = 0.5 ** (age / float(half_life_days))
    return dict(accounts=base["accounts"], rows=idx, s_acc=s_acc, role_codes=base["role_codes"][idx],
                role_w=base["role_w"], nest_codes=base["nest_codes"][idx], nest_w=base["nest_w"],
                veto=base["veto"][idx], inf=inf, r_sh=new_code[r_st[rows]], x=_scored(base, rows), weight=weight,
                nps=None if base["nps"] is None else base["nps"][rows], seg=base["seg"], r_date=r_date, end=end,
                # seconds: exact order of same-day responses; ties keep row order
                r_time=r_date.astype("datetime64[s]").astype(np.int64))


def _people_influence(base, actives, j, rows_influence):
    """:func:`_active_influence` of the people active at date ``j`` (``actives[j]``: their mask), for
    :class:`_Ahead`'s thread."""
    idx = np.flatnonzero(actives[j])
    return _active_influence(base, rows_influence, idx, base["s_acc"][idx])


def _active_influence(base, inf_df, idx, s_acc):
    """Each active person's influence (``idx``: their stakeholders rows, ``s_acc``: their accounts) from a
    table or ``(rows, influence)`` arrays, renormalised over the active people of each account."""
    A = len(base["accounts"])
    if isinstance(inf_df, tuple):
        pos, values = inf_df
    else:
        pos = rows_for(base["village"], inf_df["stakeholder_id"])  # hashed once per table and village
        values = pd.to_numeric(inf_df["influence"], errors="coerce").to_numpy(float)
    if len(pos) == len(idx) and np.array_equal(pos, idx):  # influence_of_rows' own rows: these people, in order
        inf = np.asarray(values, dtype=float)
    else:
        inf_all = np.full(len(base["st"]), np.nan)
        ok = pos >= 0
        inf_all[pos[ok]] = values[ok]
        inf = inf_all[idx]
    # departed people's influence is gone, not unheard: renormalise over the active village
    if np.isfinite(inf).all():  # the usual case: every account has influence (each person counts in their own)
        tot = np.bincount(s_acc, inf, A)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(tot[s_acc] > 0, inf / tot[s_acc], np.nan)
    known = np.bincount(s_acc, ~np.isnan(inf), A) > 0
    tot = np.bincount(s_acc, np.nan_to_num(inf), A)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(known[s_acc] & (tot[s_acc] > 0), np.nan_to_num(inf) / tot[s_acc], np.nan)


def _check_opts(unheard, nest_by, conf_level, veto_margin):
    if unheard not in ("impute", "renormalise"):
        raise MetricError(f"unheard={unheard!r}; expected 'impute' (default) or 'renormalise'")
    if not 0 < conf_level < 1:
        raise MetricError(f"conf_level={conf_level!r}; expected a number between 0 and 1, e.g. 0.95")
    if not veto_margin >= 0:
        raise MetricError(f"veto_margin={veto_margin!r}; expected a number >= 0")


def _padded(labels, stats):
    """``labels``, with the kernel's per-segment statistics padded to one per label (a village without
    accounts has a segment label but no code)."""
    extra = len(labels) - len(stats["n"])
    if extra > 0:
        for k in ("n", "total", "m2", "inv_n_eff"):
            stats[k] = np.concatenate([stats[k], np.zeros(extra, dtype=stats[k].dtype)])
    return labels


def _last_heard_by_date(base, ends) -> list:
    """:func:`cxinfluence.village.heard.last_heard` per stakeholders row at each of ``ends``, with one
    pass over the responses for all of them: each response is counted, once, for the earliest end
    after it, and each end takes the latest of the ends before it too (same answers as one call per end)."""
    stamp = base["r_date"].astype("datetime64[ns]", copy=False)
    if len(ends) == 1:  # every response before the one end counts: no partition by end
        return [_last_heard(base["r_st"], stamp, ends[0], len(base["st"]))]
    order = np.argsort(np.asarray(ends, dtype="datetime64[ns]"), kind="stable")
    ordered = np.asarray(ends, dtype="datetime64[ns]")[order]
    first_end = np.searchsorted(ordered, stamp, side="right")  # the earliest end strictly after each response
    S, out, latest = len(base["st"]), [None] * len(ends), None
    for j, end in enumerate(ordered):
        part = np.flatnonzero(first_end == j)
        here = _last_heard(base["r_st"][part], stamp[part], end, S).view(np.int64)
        latest = here if latest is None else np.maximum(latest, here)  # NaT: the smallest int64
        out[order[j]] = latest.view("datetime64[ns]")
    return out


def _stakeholder_rows(base, p, keep=None, columns=None, people=None) -> dict:
    """One date's stakeholder columns as arrays (see :func:`stakeholder_sentiment`): ``rows`` (of the
    stakeholders table), ``sentiment``, ``n_responses``, ``nps``, ``last_heard``; ``keep``: a mask of
    the date's active people to report; ``columns``: the table's columns wanted (None: all; the others'
    arrays are not kept, which at five dates of a million people is 40 MB each). ``people``: the kernel's
    per-person ``sentiment`` and ``nps`` of this date (:func:`schemes_from_codes`' second result), the same
    numbers, used when the responses are not recency-weighted (a weight can underflow to 0, which the
    kernel treats as unusable)."""
    x, r_sh, S = p["x"], p["r_sh"], len(p["rows"])
    if people is not None and p["weight"] is None:
        s, s_nps = people["sentiment"], people["nps"]
    else:
        s, s_nps = _person_means(p, x, r_sh, S)
    n_responses = response_counts(r_sh, S)  # every response in the window, scored or not
    out = {"rows": p["rows"], "sentiment": s, "n_responses": n_responses, "nps": s_nps}
    if p["last_heard"] is not None:  # None: not asked for (_tables' stakeholders names the columns)
        out["last_heard"] = p["last_heard"][p["rows"]]
    out = {c: v for c, v in out.items() if columns is None or c == "rows" or c in columns}
    return out if keep is None else {c: v[keep] for c, v in out.items()}


def _person_means(p, x, r_sh, S):
    """Each person's (recency-weighted) mean sentiment and latest NPS answer among the scored responses."""
    ok = ~np.isnan(x)
    w = np.ones(len(x)) if p["weight"] is None else p["weight"]
    k = np.bincount(r_sh[ok], minlength=S)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.bincount(r_sh[ok], (w * x)[ok], S) / np.bincount(r_sh[ok], w[ok], S)
    s[k == 0] = np.nan
    s_nps = np.full(S, np.nan)
    if len(x):
        key = (p["r_time"] - p["r_time"].min()) * len(x) + np.arange(len(x))  # latest (time, row)
        if p["nps"] is not None:
            has = np.flatnonzero(~np.isnan(p["nps"]) & ok)
            last = np.full(S, -1, dtype=np.int64)
            np.maximum.at(last, r_sh[has], key[has])
            got = last >= 0
            s_nps[got] = p["nps"][last[got] % len(x)]
    return s, s_nps


def _stakeholder_frame(base, dates, parts, columns=None, categoricals=False) -> pd.DataFrame:
    """The stakeholder table of every date from :func:`_stakeholder_rows`' arrays: the text columns
    are taken once for all dates (no concatenation of per-date text columns). ``columns``: a set of the
    columns to build (None: all), in the table's own order; ``categoricals``: ``account_id`` and ``role``
    as Categoricals from the codes already at hand (when the account ids are unique)."""
    # only the columns reported: copying every text column of millions of people is slow
    wanted = ["account_id", "stakeholder_id"] + [c for c in ("role", "department", "veto") if c in base["st"].columns]
    if columns is not None:
        wanted = [c for c in wanted if c in columns]
    rows = np.concatenate([part["rows"] for part in parts])
    accounts = pd.Index(base["accounts"]) if categoricals else None
    if accounts is not None and accounts.is_unique:  # codes into the accounts and the role names: no text per row
        names = base["role_names"][:-1]  # the last slot: blank roles
        role = np.where(base["role_codes"][rows] == len(names), -1, base["role_codes"][rows])
        coded = {"account_id": lambda: pd.Categorical.from_codes(base["s_acc"][rows], categories=accounts),
                 "role": lambda: pd.Categorical.from_codes(role, categories=pd.Index(names))}
    else:
        coded = {}
    # the text columns not made from codes, taken once for all dates
    st = base["st"][[c for c in wanted if c not in coded]].iloc[rows]
    # as_of exactly as a date broadcast into each date's frame would be typed, then stacked
    as_of = pd.concat([pd.DataFrame({"as_of": ts}, index=range(len(part["rows"])))
                       for ts, part in zip(dates, parts)], ignore_index=True)["as_of"].array

    def column(c, text=False):  # pandas' own arrays: a round trip through Python objects is slow
        col = st[c].astype(str) if text and st[c].dtype != "str" else st[c]
        return col.array

    def stacked(c):
        return np.concatenate([part[c] for part in parts])

    made = {"account_id": lambda: column("account_id", True), "as_of": lambda: as_of,
            "stakeholder_id": lambda: column("stakeholder_id", True),
            **{c: (lambda c=c: column(c)) for c in ("role", "department", "veto") if c in wanted},
            **{c: (lambda c=c: stacked(c)) for c in ("sentiment", "n_responses", "nps", "last_heard")}}
    # the arrays are this function's own: no copy (a dict's arrays are copied by default: +0.2 GiB at 5M rows)
    made.update({c: make for c, make in coded.items() if c in made})
    return pd.DataFrame({c: make() for c, make in made.items() if columns is None or c in columns}, copy=False)
