"""The portfolio prior's type, :class:`PortfolioPrior`: every quantity of account sentiment that pools across accounts, as sufficient
statistics that add up exactly over any partition of the accounts.

An account's sentiment scores are a function of the account's own data plus a few portfolio-wide
parameters (:func:`cxinfluence.sentiment.kernel.portfolio_parameters`):

* ``sigma_within2``: the pooled within-person variance of single answers around the person's mean
  (the noise of each veto holder in the veto floor's bootstrap interval);
* ``sigma_between2``: the pooled between-person variance within accounts (the sampling variance
  ``sigma_between2 / n_eff`` of an account's heard influence-weighted mean);
* per segment, the mean ``mu`` of the heard influence-weighted means and the spread ``tau2`` of
  the true account means around it (empirical-Bayes shrinkage, ``shrunk``), which in turn sets the
  imputation of unheard influence (``influence_weighted``), the veto floor built on it and its
  ``veto_binding`` flag.

Computed from whatever accounts are loaded, they make an account's score depend on which other
accounts are analysed with it. A :class:`PortfolioPrior` holds their sufficient statistics (counts,
sums, sums of squares per segment; sums of squares and degrees of freedom) per as-of date and per
option set (``window_days``, ``lead_days``, ``half_life_days``): :meth:`PortfolioPrior.combine` of
the priors of the parts of a portfolio is the prior of the whole, and scoring a subset with the
whole portfolio's prior (``prior=`` of :func:`~cxinfluence.sentiment.schemes.account_sentiment`,
``cxinfluence run SUBSET --prior FILE``) gives exactly its rows of the whole run.

:func:`cxinfluence.sentiment.prior.portfolio_prior` computes one from a village (above the
sentiment tables, which take a prior: so the type sits below both).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..exceptions import PriorError
from .kernel import portfolio_parameters

#: ``format`` field of a saved prior
PRIOR_FORMAT = "cxinfluence.portfolio_prior"
#: version of the saved layout; :meth:`PortfolioPrior.read` refuses other versions
PRIOR_VERSION = 1
#: the options a prior depends on (the sentiment window); the other scheme options do not change it
PRIOR_OPTIONS = ("window_days", "lead_days", "half_life_days")
#: the file name a run writes its prior to
PRIOR_FILE = "portfolio_prior.json"


@dataclass(frozen=True)
class SegmentStats:
    """Sufficient statistics of one segment's heard influence-weighted account means ``y``.

    ``n`` accounts with a heard mean, ``total = sum y``, ``m2 = sum (y - total / n)^2`` (the sum of
    squares around the segment's mean; combined exactly with Chan et al.'s pairwise update) and
    ``inv_n_eff = sum 1 / n_eff`` (Kish's effective n of each heard mean).
    """

    segment: str | None
    n: int = 0
    total: float = 0.0
    m2: float = 0.0
    inv_n_eff: float = 0.0


@dataclass(frozen=True)
class PriorEntry:
    """The statistics at one as-of date, computed with one option set."""

    as_of: pd.Timestamp
    window_days: int | None
    lead_days: int
    half_life_days: float | None
    #: accounts whose statistics are in here (all of the village's accounts at that date)
    n_accounts: int
    within_ss: float
    within_df: float
    between_ss: float
    between_df: int
    segments: tuple = ()

    @property
    def key(self):
        """``(as_of, window_days, lead_days, half_life_days)``: what a scoring call must match."""
        return (self.as_of, self.window_days, self.lead_days, self.half_life_days)

    def stats(self, labels=None) -> dict:
        """The statistics as the kernel's arrays, segments in the order of ``labels`` (default all)."""
        by = {s.segment: s for s in self.segments}
        labels = list(by) if labels is None else list(labels)
        segs = [by.get(lab, SegmentStats(lab)) for lab in labels]
        return {"within_ss": self.within_ss, "within_df": self.within_df, "between_ss": self.between_ss,
                "between_df": self.between_df, "n": np.array([s.n for s in segs], dtype=np.int64),
                "total": np.array([s.total for s in segs], dtype=float),
                "m2": np.array([s.m2 for s in segs], dtype=float),
                "inv_n_eff": np.array([s.inv_n_eff for s in segs], dtype=float), "n_accounts": self.n_accounts}

    def describe_options(self) -> str:
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in PRIOR_OPTIONS)


def _entry_from_stats(as_of, options, stats, labels) -> PriorEntry:
    segs = tuple(SegmentStats(lab, int(n), float(t), float(m), float(i))
                 for lab, n, t, m, i in zip(labels, stats["n"], stats["total"], stats["m2"], stats["inv_n_eff"]))
    return PriorEntry(pd.Timestamp(as_of), options["window_days"], int(options["lead_days"]),
                      options["half_life_days"], int(stats["n_accounts"]), float(stats["within_ss"]),
                      float(stats["within_df"]), float(stats["between_ss"]), int(stats["between_df"]),
                      _sorted_segments(segs))


def _sorted_segments(segs):
    return tuple(sorted(segs, key=lambda s: (s.segment is not None, "" if s.segment is None else s.segment)))


def _combine_segments(a: SegmentStats, b: SegmentStats) -> SegmentStats:
    """Pairwise update of count, sum and centred sum of squares (Chan, Golub & LeVeque 1979)."""
    n = a.n + b.n
    if a.n == 0 or b.n == 0:
        m2 = a.m2 + b.m2
    else:
        delta = b.total / b.n - a.total / a.n
        m2 = a.m2 + b.m2 + delta * delta * a.n * b.n / n
    return SegmentStats(a.segment, n, a.total + b.total, m2, a.inv_n_eff + b.inv_n_eff)


def _fmt_key(key) -> str:
    as_of, window, lead, half = key
    return (f"as_of={as_of:%Y-%m-%d}" + ("" if as_of == as_of.normalize() else f" {as_of:%H:%M:%S}")
            + f" (window_days={window!r}, lead_days={lead!r}, half_life_days={half!r})")


@dataclass(frozen=True)
class PortfolioPrior:
    """Sufficient statistics of every quantity pooled across accounts, per as-of date and option set.

    Build one with :func:`portfolio_prior` (or take the one a run wrote, ``portfolio_prior.json``);
    pass it as ``prior=`` to :func:`~cxinfluence.sentiment.schemes.account_sentiment`,
    :func:`~cxinfluence.sentiment.schemes.sentiment_tables`,
    :func:`~cxinfluence.models.frame.model_frame`, :func:`~cxinfluence.models.predict.snapshot_frame`
    or :func:`cxinfluence.run` to score accounts against it instead of against the accounts loaded.

    Attributes
    ----------
    entries : tuple of PriorEntry
        One per as-of date and option set, sorted.
    snapshot : Timestamp or None
        The snapshot date of the run that wrote it (the as-of date a run reusing it defaults to).
    origin : str or None
        Where it came from (the file it was read from); not part of equality.

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> from cxinfluence.village.subset import subset_village
    >>> from cxinfluence.sentiment.prior import portfolio_prior
    >>> v, _ = make_village(40, seed=3)
    >>> ids = v.accounts["account_id"]
    >>> whole = portfolio_prior(v, "2025-01-01")
    >>> parts = [portfolio_prior(subset_village(v, ids[i::2]), "2025-01-01") for i in range(2)]
    >>> PortfolioPrior.combine(parts).close_to(whole)
    True
    """

    entries: tuple = ()
    snapshot: pd.Timestamp | None = None
    origin: str | None = field(default=None, compare=False)

    # ---- combining -------------------------------------------------------------------------------
    @classmethod
    def combine(cls, priors) -> "PortfolioPrior":
        """The prior of the union of disjoint sets of accounts (the parts of a partition).

        Exact in arithmetic: counts, sums, sums of squares and degrees of freedom add up, and each
        segment's centred sum of squares is combined with the pairwise update of Chan, Golub & LeVeque
        (1979); in floating point the result equals the whole portfolio's prior to rounding (counts
        exactly, sums to 1e-12 relative: :meth:`close_to`), and the scores it gives to 1e-9. Every part
        must hold the same as-of dates and options (a part missing one is an error naming it); segments
        may differ (a part without accounts in a segment adds nothing to it). The parts must not share
        accounts (each account in exactly one part, e.g. a hash of ``account_id``): that is not checked.
        """
        priors = list(priors)
        if not priors:
            raise PriorError("priors is empty; expected at least one PortfolioPrior to combine")
        for i, p in enumerate(priors):
            if not isinstance(p, PortfolioPrior):
                raise PriorError(f"priors[{i}] is a {type(p).__name__}; expected PortfolioPrior objects")
        keys = [p.entries_by_key() for p in priors]
        for i, k in enumerate(keys[1:], start=1):
            if set(k) != set(keys[0]):
                missing = sorted(set(keys[0]) - set(k)) or sorted(set(k) - set(keys[0]))
                where = f"priors[{i}]" if set(keys[0]) - set(k) else "priors[0]"
                raise PriorError(f"priors[{i}] and priors[0] were computed at different dates or options: {where} "
                                 f"lacks {_fmt_key(missing[0])}; compute every part with the same as_of and options")
        entries = []
        for key in sorted(keys[0]):
            parts = [k[key] for k in keys]
            segs = {}
            for e in parts:
                for s in e.segments:
                    segs[s.segment] = s if s.segment not in segs else _combine_segments(segs[s.segment], s)
            first = parts[0]
            entries.append(replace(first, n_accounts=sum(e.n_accounts for e in parts),
                                   within_ss=math.fsum(e.within_ss for e in parts),
                                   within_df=math.fsum(e.within_df for e in parts),
                                   between_ss=math.fsum(e.between_ss for e in parts),
                                   between_df=sum(e.between_df for e in parts),
                                   segments=_sorted_segments(segs.values())))
        snapshots = {p.snapshot for p in priors}
        return cls(tuple(entries), snapshot=snapshots.pop() if len(snapshots) == 1 else None)

    @classmethod
    def merge(cls, priors) -> "PortfolioPrior":
        """One prior holding the entries of several priors of the SAME accounts at other dates or options
        (e.g. the snapshot's and the outcome periods'). An entry found in several must be equal."""
        by = {}
        for p in priors:
            for key, e in p.entries_by_key().items():
                if key in by and not _entries_close(by[key], e):
                    raise PriorError(f"the priors to merge disagree at {_fmt_key(key)}: they were computed from "
                                     "different accounts; use PortfolioPrior.combine for the parts of a portfolio")
                by[key] = e
        snapshots = {p.snapshot for p in priors} - {None}
        return cls(tuple(by[k] for k in sorted(by)), snapshot=snapshots.pop() if len(snapshots) == 1 else None)

    # ---- use -------------------------------------------------------------------------------------
    def entries_by_key(self) -> dict:
        return {e.key: e for e in self.entries}

    @property
    def dates(self) -> list:
        """The as-of dates it holds, sorted."""
        return sorted({e.as_of for e in self.entries})

    def entry(self, as_of, *, window_days, lead_days, half_life_days) -> PriorEntry:
        """The entry for one as-of date and option set; a clear :class:`PriorError` naming both when missing."""
        key = (pd.Timestamp(as_of), window_days, lead_days, half_life_days)
        found = self.entries_by_key().get(key)
        if found is not None:
            return found
        src = f" ({self.origin})" if self.origin else ""
        same_date = [e for e in self.entries if e.as_of == key[0]]
        if same_date:
            raise PriorError(f"the portfolio prior{src} was computed with {same_date[0].describe_options()} at "
                             f"{key[0]:%Y-%m-%d}, but this call uses window_days={window_days!r}, "
                             f"lead_days={lead_days!r}, half_life_days={half_life_days!r}; pass the options the prior "
                             "was computed with, or compute a prior with these options")
        have = ", ".join(f"{d:%Y-%m-%d}" for d in self.dates) or "none"
        raise PriorError(f"the portfolio prior{src} has no statistics for {_fmt_key(key)} (its dates: {have}); "
                         "compute it at every as-of date you score (the snapshot and every outcome period: "
                         "portfolio_prior(village, dates))")

    def parameters(self, as_of, labels, *, window_days, lead_days, half_life_days) -> dict:
        """The portfolio-wide parameters at ``as_of`` (:func:`~cxinfluence.sentiment.kernel.portfolio_parameters`),
        ``mu`` in the order of the segment ``labels`` of the accounts being scored."""
        e = self.entry(as_of, window_days=window_days, lead_days=lead_days, half_life_days=half_life_days)
        known = {s.segment for s in e.segments}
        unknown = [lab for lab in labels if lab not in known]
        if unknown:
            src = f" ({self.origin})" if self.origin else ""
            raise PriorError(f"the portfolio prior{src} has no segment {unknown[0]!r} at {e.as_of:%Y-%m-%d} (it has "
                             f"{sorted(map(str, known))}); a prior must come from a portfolio containing the accounts "
                             "scored with it")
        every = [s.segment for s in e.segments]
        params = portfolio_parameters(e.stats(every))  # tau2 pools every segment, also those not scored here
        params["mu"] = params["mu"][[every.index(lab) for lab in labels]]
        return params

    def to_frame(self) -> pd.DataFrame:
        """One row per entry and segment: the statistics and the parameters they give."""
        rows = []
        for e in self.entries:
            p = self.parameters(e.as_of, [s.segment for s in e.segments], window_days=e.window_days,
                                lead_days=e.lead_days, half_life_days=e.half_life_days)
            for s, mu in zip(e.segments, p["mu"]):
                rows.append({"as_of": e.as_of, **{k: getattr(e, k) for k in PRIOR_OPTIONS},
                             "n_accounts": e.n_accounts, "segment": s.segment, "n": s.n, "total": s.total,
                             "m2": s.m2, "inv_n_eff": s.inv_n_eff, "mu": mu, "tau2": p["tau2"],
                             "sigma_between2": p["sigma_between2"], "sigma_within2": p["sigma_within2"]})
        return pd.DataFrame(rows)

    def describe(self) -> str:
        """One line for the report: how many accounts and dates, and where it came from."""
        n = max((e.n_accounts for e in self.entries), default=0)
        dates = self.dates
        span = (f"{len(dates)} as-of dates, {dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}" if len(dates) > 1
                else f"as of {dates[0]:%Y-%m-%d}" if dates else "no dates")
        if self.origin:
            return (f"read from {Path(self.origin).name}: statistics of {n:,} accounts ({span}), so each account "
                    "scores as in the run of that portfolio")
        return f"computed from the {n:,} accounts analysed ({span})"

    def close_to(self, other, rtol=1e-12) -> bool:
        """Same dates, options and segments, counts equal and sums equal to ``rtol`` (relative)."""
        a, b = self.entries_by_key(), other.entries_by_key()
        return set(a) == set(b) and all(_entries_close(a[k], b[k], rtol) for k in a)

    # ---- files -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": PRIOR_FORMAT, "version": PRIOR_VERSION, "cxinfluence": __version__,
                "about": "Sufficient statistics of the quantities of account sentiment pooled across accounts "
                         "(docs/methods.md, 'Subset analyses and the portfolio prior'). Reuse with "
                         "`cxinfluence run SUBSET --prior FILE`.",
                "snapshot": None if self.snapshot is None else self.snapshot.isoformat(),
                "entries": [{"as_of": e.as_of.isoformat(), **{k: getattr(e, k) for k in PRIOR_OPTIONS},
                             "n_accounts": e.n_accounts, "within_ss": e.within_ss, "within_df": e.within_df,
                             "between_ss": e.between_ss, "between_df": e.between_df,
                             "segments": [{"segment": s.segment, "n": s.n, "total": s.total, "m2": s.m2,
                                           "inv_n_eff": s.inv_n_eff} for s in e.segments]}
                            for e in self.entries]}

    def write(self, path) -> None:
        """Write as human-readable JSON (``format``, ``version``, one object per entry); floats are written
        with every digit (they read back exactly). The file appears complete or not at all."""
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def read(cls, path) -> "PortfolioPrior":
        """Read a prior written by :meth:`write`; a :class:`PriorError` names the file and every problem."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PriorError(f"prior file {path} does not exist; pass the portfolio_prior.json a whole-portfolio "
                             "run wrote to its output folder") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PriorError(f"prior file {path} cannot be read: {exc}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PriorError(f"prior file {path} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                             "pass the portfolio_prior.json a run wrote") from None
        return cls.from_dict(data, source=f"prior file {path}", origin=str(path))

    @classmethod
    def from_dict(cls, data, *, source="the prior", origin=None) -> "PortfolioPrior":
        """The prior of :meth:`to_dict` (what :meth:`write` saves); a :class:`PriorError` names ``source`` and
        every problem."""
        path = source
        if not isinstance(data, dict) or data.get("format") != PRIOR_FORMAT:
            raise PriorError(f"{path} is not a cxinfluence portfolio prior (no \"format\": "
                             f"\"{PRIOR_FORMAT}\"); pass the portfolio_prior.json a run wrote")
        if data.get("version") != PRIOR_VERSION:
            raise PriorError(f"{path} has version {data.get('version')!r}; this cxinfluence reads version "
                             f"{PRIOR_VERSION}: recompute it with this version (run the whole portfolio again)")
        problems, entries = [], []
        raw = data.get("entries")
        if not isinstance(raw, list):
            raise PriorError(f"{path}: \"entries\" is {type(raw).__name__}, expected a list")
        for i, e in enumerate(raw):
            try:
                entries.append(_entry_from_json(e))
            except (KeyError, TypeError, ValueError) as exc:
                problems.append(f"entries[{i}]: {exc}")
        if problems:
            n = len(problems)
            raise PriorError(f"{path} has {n} malformed entr{'y' if n == 1 else 'ies'}: {'; '.join(problems)}")
        try:
            snapshot = None if data.get("snapshot") is None else pd.Timestamp(data["snapshot"])
        except (TypeError, ValueError):
            raise PriorError(f"{path}: \"snapshot\"={data.get('snapshot')!r} is not a date") from None
        return cls(tuple(sorted(entries, key=lambda e: e.key)), snapshot=snapshot,
                   origin=origin if origin is not None else data.get("origin"))

    @classmethod
    def of(cls, table) -> "PortfolioPrior":
        """The prior an account table was scored against (``attrs["portfolio_prior"]`` of
        :func:`~cxinfluence.sentiment.schemes.account_sentiment` and
        :func:`~cxinfluence.sentiment.schemes.sentiment_tables`, kept there as :meth:`to_attrs`' JSON text
        so the table still saves to Parquet; a table saved with the earlier plain dict reads too)."""
        data = getattr(table, "attrs", {}).get("portfolio_prior")
        if data is None:
            raise PriorError("the table has no portfolio prior in attrs['portfolio_prior']; it is set by "
                             "account_sentiment and sentiment_tables (and lost by operations that drop attrs, "
                             "such as a concat of tables of different priors)")
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                raise PriorError("attrs['portfolio_prior'] is not the JSON text of a portfolio prior") from None
        return cls.from_dict(data, source="attrs['portfolio_prior']")

    def to_attrs(self) -> str:
        """:meth:`to_dict` with ``origin`` as JSON text, for ``DataFrame.attrs``.

        Text rather than the nested dict: pandas deep-copies ``attrs`` into the result of every operation on
        the table (each column read, take, merge), and a portfolio prior is hundreds of objects (a few tens of
        microseconds an operation, a quarter of the time of a small village's sensitivity analysis); a string
        is copied by reference. ``to_parquet`` keeps it (attrs are saved as JSON).
        """
        return json.dumps({**self.to_dict(), "origin": self.origin})


def _entries_close(a, b, rtol=0.0) -> bool:
    def close(x, y):
        return x == y or abs(x - y) <= rtol * max(abs(x), abs(y))

    if (a.key != b.key or a.n_accounts != b.n_accounts or a.between_df != b.between_df
            or [s.segment for s in a.segments] != [s.segment for s in b.segments]):
        return False
    pairs = [(a.within_ss, b.within_ss), (a.within_df, b.within_df), (a.between_ss, b.between_ss)]
    for s, t in zip(a.segments, b.segments):
        if s.n != t.n:
            return False
        pairs += [(s.total, t.total), (s.m2, t.m2), (s.inv_n_eff, t.inv_n_eff)]
    return all(close(x, y) for x, y in pairs)


def _entry_from_json(e) -> PriorEntry:
    if not isinstance(e, dict):
        raise TypeError(f"expected an object, got {type(e).__name__}")
    missing = [k for k in ("as_of", *PRIOR_OPTIONS, "n_accounts", "within_ss", "within_df", "between_ss",
                           "between_df", "segments") if k not in e]
    if missing:
        raise KeyError(f"missing {', '.join(missing)}")

    def number(name, value, kind=float, none=False):
        if value is None and none:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name}={value!r} is not a finite number")
        if kind is int and value != int(value):
            raise ValueError(f"{name}={value!r} is not a whole number")
        return kind(value)

    segs = []
    for j, s in enumerate(e["segments"]):
        if not isinstance(s, dict) or "segment" not in s:
            raise ValueError(f"segments[{j}] is not an object with a \"segment\"")
        if s["segment"] is not None and not isinstance(s["segment"], str):
            raise ValueError(f"segments[{j}].segment={s['segment']!r} is not text or null")
        segs.append(SegmentStats(s["segment"], number(f"segments[{j}].n", s.get("n"), int),
                                 number(f"segments[{j}].total", s.get("total")),
                                 number(f"segments[{j}].m2", s.get("m2")),
                                 number(f"segments[{j}].inv_n_eff", s.get("inv_n_eff"))))
    as_of = pd.Timestamp(e["as_of"])
    return PriorEntry(as_of, number("window_days", e["window_days"], int, none=True),
                      number("lead_days", e["lead_days"], int),
                      number("half_life_days", e["half_life_days"], float, none=True),
                      number("n_accounts", e["n_accounts"], int), number("within_ss", e["within_ss"]),
                      number("within_df", e["within_df"]), number("between_ss", e["between_ss"]),
                      number("between_df", e["between_df"], int), _sorted_segments(segs))
