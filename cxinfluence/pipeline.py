"""The whole analysis in one call: :func:`run` (``cxinfluence run`` / ``demo``).

Stages: load and validate -> influence and structure -> coverage and the
listening plan -> account sentiment (the snapshot and every outcome period) ->
models (rebuy per scheme, bookings, the decision equation, scheme comparison)
-> informal comments -> accounts at risk -> maps -> report.

Outputs (stable names, written atomically by :func:`cxinfluence.atomic.staged_output`):

=========================  ===================================================
``influence.csv``          per active stakeholder at the as-of date
``coverage.csv``           per account
``account_sentiment.csv``  per account and as-of date (snapshot + outcome periods)
``models.csv``             per model and term, with fit statistics
``report.html``            the leadership report
``networks/<id>.html``     buying-center maps of the selected accounts
``networks/*.gexf``        their graphs for Gephi (``buying_centers.gexf``)
``networks/*.xlsx``        and Kumu (``buying_centers_kumu.xlsx``)
``accounts/<id>.html``     one page per selected account, linked from the report
``accounts_at_risk.csv``   ranked, with reasons
``listening_plan.csv``     who to survey next
``scheme_comparison.csv``  cross-validated comparison of the schemes
``actions.csv``            informal comments routed to the groups that can act
``model_frame.csv``        the data the models were fitted on
=========================  ===================================================
"""

from __future__ import annotations

import ctypes
import gc
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .asof import DEFAULT_WINDOW_DAYS, to_timestamp
from .progress import Progress

PRIMARY_SCHEME = "influence_weighted"
EMBEDDED_MAPS = 3


def sample_village_path() -> Path:
    """Path of the bundled sample village (``data/sample_village``)."""
    path = Path(__file__).resolve().parent.parent / "data" / "sample_village"
    if not path.is_dir():
        raise FileNotFoundError(f"the sample village is not at {path}; run `make sample` to regenerate it")
    return path


def default_as_of(village) -> pd.Timestamp:
    """The day after the latest response: the village as the data last saw it."""
    dates = village.responses["date"].dropna()
    if dates.empty:
        return pd.Timestamp.today().normalize()
    return dates.max().normalize() + pd.Timedelta(days=1)


@dataclass
class RunResult:
    """What :func:`run` computed (all tables also written to ``out``)."""

    out: Path
    as_of: pd.Timestamp
    tables: dict = field(default_factory=dict)
    fits: dict = field(default_factory=dict)
    timings: list = field(default_factory=list)


def _select_map_accounts(risk, accounts, maps, map_accounts):
    if map_accounts:
        known = set(accounts["account_id"].astype(str))
        missing = [a for a in map_accounts if a not in known]
        if missing:
            from .exceptions import CxInfluenceError

            raise CxInfluenceError(f"map_accounts={missing!r} are not account ids of this village")
        return list(map_accounts)
    if maps is None or maps == 0:
        return []
    ranked = risk["account_id"].astype(str).tolist()
    return ranked if maps < 0 else ranked[:maps]


def _safe_name(account_id: str) -> str:
    # ids are customer-supplied: keep file names portable and inside networks/
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(account_id)).lstrip(".") or "account"


def run(village, out, *, as_of=None, window_days=DEFAULT_WINDOW_DAYS, lead_days=0, half_life_days=None,
        schemes=None, maps=25, map_accounts=None, anonymize=False, role_rules=None, seed=0, quiet=False,
        folds=5, n_boot=200, currency=None) -> RunResult:
    """Run the whole analysis on a village and write every output to ``out``.

    Parameters
    ----------
    village : path or Village
        A village folder / workbook (validated on load) or a loaded Village.
    out : path
        Output folder. Outputs appear only once everything succeeded; a failed
        run leaves ``out`` as it was.
    as_of : date, optional
        Snapshot date (default: the day after the latest response).
    window_days, lead_days, half_life_days
        Look-back window, lead time and optional recency decay (see
        :mod:`cxinfluence.asof` and :func:`cxinfluence.sentiment.account_sentiment`).
    schemes : list of str, optional
        Sentiment schemes to model and compare (default all).
    maps : int
        Maps for the ``maps`` accounts with most revenue at risk (0 none, -1 all).
    map_accounts : list of str, optional
        Exactly these accounts get maps.
    anonymize : bool
        Replace names and identifying comment text with stable pseudonyms everywhere.
    role_rules : optional
        Extra title -> role rules (see :func:`cxinfluence.roles.complete_roles`).
    seed : int
        Seed for cross-validation folds, the bootstrap and map layout.
    quiet : bool
        No progress lines.
    currency : str, optional
        Currency of the revenue figures, shown in the report (``"$"``, ``"EUR"``); default none.

    Returns
    -------
    RunResult
    """
    from .atomic import staged_output
    from .village import Village, load_village

    progress = Progress(quiet=quiet)
    out = Path(out)
    with _stage(progress, "loading and validating the village"):
        v = village if isinstance(village, Village) else load_village(village, role_rules=role_rules, warn=False)
        if anonymize:
            from .anonymize import anonymize_village

            v = anonymize_village(v)
    as_of = default_as_of(v) if as_of is None else to_timestamp(as_of)
    progress.say(f"as of {as_of:%Y-%m-%d}; look-back window {window_days} days")
    result = RunResult(out=out, as_of=as_of)
    t = result.tables
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _analyse(v, result, progress, window_days=window_days, lead_days=lead_days, half_life_days=half_life_days,
                 schemes=schemes, seed=seed, folds=folds, n_boot=n_boot)
    result.tables["warnings"] = _warning_table(caught)

    with staged_output(out) as tmp:
        with _stage(progress, "maps"):
            selected = _select_map_accounts(t["accounts_at_risk"], v.accounts, maps, map_accounts)
            map_entries = _write_maps(v, as_of, selected, t["influence"], tmp, seed=seed, window_days=window_days)
        with _stage(progress, "account pages"):
            from .account_page import write_account_pages

            pages = write_account_pages(v, result, map_entries, tmp, name=_safe_name, currency=currency,
                                        window_days=window_days)
        with _stage(progress, "report"):
            from .reporting import build_report

            (tmp / "report.html").write_text(build_report(v, result, map_entries, anonymized=anonymize,
                                                          window_days=window_days, lead_days=lead_days,
                                                          currency=currency, account_pages=pages),
                                             encoding="utf-8")
        with _stage(progress, "writing tables"):
            from .io import write_csv

            names = [n for n in ("influence", "coverage", "account_sentiment", "models", "accounts_at_risk",
                                 "listening_plan", "scheme_comparison", "actions", "model_frame", "warnings")
                     if t.get(n) is not None]
            # pyarrow's CSV writer releases the GIL: two tables at a time on two cores
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda n: write_csv(t[n], tmp / f"{n}.csv"), names))
    result.timings = progress.timings
    progress.say(f"wrote {out}")
    return result


@contextmanager
def _stage(progress, name):
    """A progress stage that hands freed memory back to the system when it ends.

    glibc's malloc and Arrow's mimalloc pool both keep freed blocks for reuse;
    a stage that frees arrays of one kind and the next that allocates the
    other would otherwise add up in the run's peak memory.
    """
    with progress.stage(name):
        yield
    gc.collect()
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # pragma: no cover - older pyarrow: nothing to release
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to trim
        pass


def _warning_table(caught) -> pd.DataFrame:
    seen = {}
    for w in caught:
        key = (w.category.__name__, str(w.message))
        seen.setdefault(key, 0)
        seen[key] += 1
    return pd.DataFrame([{"category": c, "message": m, "count": n} for (c, m), n in seen.items()],
                        columns=["category", "message", "count"])


def _analyse(v, result, progress, *, window_days, lead_days, half_life_days, schemes, seed, folds, n_boot):
    from .coverage import coverage, listening_plan
    from .influence import influence_weights
    from .sentiment import SCHEMES, sentiment_tables

    t, as_of = result.tables, result.as_of
    schemes = list(schemes or [s for s in SCHEMES if s != "disagreement"])
    with _stage(progress, "influence"):
        from .structure import stakeholder_structure

        infl = influence_weights(v, as_of)
        infl = _join_rows(infl, stakeholder_structure(v, as_of), on=["account_id", "stakeholder_id"])
        t["influence"] = infl
    with _stage(progress, "coverage and listening plan"):
        t["coverage"] = coverage(v, as_of, window_days=window_days, influence=infl)
        t["listening_plan"] = listening_plan(v, as_of, window_days=window_days, influence=infl)
    with _stage(progress, "account sentiment"):
        from .modelframe import outcome_periods

        snap, t["stakeholder_sentiment"] = sentiment_tables(v, as_of, window_days=window_days, lead_days=0,
                                                            half_life_days=half_life_days, influence=infl)
        periods = outcome_periods(v)
        # each outcome period's sentiment, reported and modelled (computed once)
        history, history_people = (sentiment_tables(v, periods, window_days=window_days, lead_days=lead_days,
                                                    half_life_days=half_life_days)
                                   if len(periods) else (snap.iloc[:0], None))
        t["account_sentiment"] = pd.concat([history, snap], ignore_index=True)
        t["snapshot"] = snap
    with _stage(progress, "models"):
        from .modelframe import model_frame

        t["model_frame"] = model_frame(v, window_days=window_days, lead_days=lead_days,
                                       half_life_days=half_life_days, sentiment=history,
                                       stakeholders=history_people)
        del history_people  # millions of rows, needed only for the frame: free them before fitting
        _models(result, schemes, t["model_frame"], seed=seed, folds=folds, n_boot=n_boot)
    with _stage(progress, "informal comments"):
        from .comments import action_list

        t["actions"] = action_list(v, as_of, influence=infl)
    with _stage(progress, "accounts at risk"):
        from .risk import accounts_at_risk, risk_flags

        from .predict import predict_renewal, snapshot_frame

        predicted = None
        fit = result.fits.get(f"rebuy:{PRIMARY_SCHEME}")
        if fit is not None:
            # lead_days is the gap the model learnt between measuring and the outcome;
            # today's sentiment (lead 0) predicts the renewal that lies that gap ahead
            snapshot = snapshot_frame(v, as_of, window_days=window_days, lead_days=0, half_life_days=half_life_days,
                                      sentiment=snap, stakeholders=t["stakeholder_sentiment"])
            predicted = predict_renewal(fit, snapshot)
        t["accounts_at_risk"] = accounts_at_risk(v.accounts, snap, risk_flags(t["stakeholder_sentiment"]),
                                                 t["coverage"], predicted, scheme=PRIMARY_SCHEME)


def _join_rows(left, right, on):
    """``left`` with ``right``'s other columns, matched on ``on`` (a left join).

    Both tables list the same people in the same order when computed at one
    as-of date, so the columns are placed side by side after checking that the
    keys agree row for row; a merge on millions of text keys is the fallback.
    """
    extra = right[on + [c for c in right.columns if c not in left.columns]]
    aligned = len(left) == len(extra) and all(
        bool(pd.Series(left[c].array == extra[c].array).fillna(False).all()) for c in on)
    if not aligned:
        return left.merge(extra, on=on, how="left")
    return pd.concat([left, extra.drop(columns=on).set_axis(left.index)], axis=1)


def _models(result, schemes, frame, *, seed, folds, n_boot):
    from .compare import compare_schemes
    from .models import decision_equation, fit_bookings, fit_rebuy, models_table

    t, fits = result.tables, result.fits
    for s in schemes:
        fits[f"rebuy:{s}"] = fit_rebuy(frame, scheme=s)
    fits["bookings:tweedie"] = fit_bookings(frame, scheme=PRIMARY_SCHEME, family="tweedie")
    fits["decision_equation"] = decision_equation(frame)
    fits["veto_equation"] = decision_equation(frame, roles=["veto", "nonveto"], name="veto_equation")
    t["models"] = models_table(list(fits.values()))
    comparison = compare_schemes(frame, schemes=schemes, folds=folds, seed=seed, n_boot=n_boot,
                                 fits={s: fits[f"rebuy:{s}"] for s in schemes})
    t["comparison_object"] = comparison
    t["scheme_comparison"] = comparison.table


def _write_maps(v, as_of, selected, influence, folder, *, seed, window_days):
    from .graph import account_graphs
    from .maps import network_map

    entries = []
    if not selected:
        return entries
    (folder / "networks").mkdir()
    names = v.accounts.set_index(v.accounts["account_id"].astype(str)).get("name")
    # one pass over the responses for every selected account, not one per map
    graphs = account_graphs(v, selected, as_of, departed="mark", influence=influence, window_days=window_days)
    for i, account_id in enumerate(selected):
        G = graphs[account_id]
        label = f"{account_id}" + (f" ({names[account_id]})" if names is not None and pd.notna(names.get(account_id)) else "")
        page = network_map(G, seed=seed, title=f"Buying center: {label}", file_stem=_safe_name(account_id))
        rel = f"networks/{_safe_name(account_id)}.html"
        (folder / rel).write_text(page, encoding="utf-8")
        entries.append((account_id, label, rel, page if i < EMBEDDED_MAPS else None))
    from .exports import write_gexf, write_kumu

    write_gexf(graphs, folder / "networks" / "buying_centers.gexf")
    write_kumu(graphs, folder / "networks" / "buying_centers_kumu.xlsx")
    return entries
