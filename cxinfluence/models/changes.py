"""What changed in the villages between two dates: who joined or left, whose influence and sentiment moved,
which veto holders went quiet, which accounts' risk changed; each with its reason in words.

Influence is ephemeral (seed 001): the people who decide this year are not
last year's. :func:`what_changed` compares the village at ``from_date`` with
the village at ``to_date`` (``cxinfluence run --compare-to DATE``: DATE and the
run's as-of date) and lists, one row per change:

==========================  ==================================================================
``joined``                  active at ``to_date``, not at ``from_date``
``left``                    active at ``from_date``, not at ``to_date``
``influence shift``         active at both; share of the account's influence
                            (:func:`cxinfluence.network.influence.influence_weights`) moved by at
                            least ``min_influence_shift`` (default 5 points)
``sentiment move``          heard in both periods and sentiment moved by at least
                            ``min_sentiment_move`` (default 0.25 on the -1..+1 scale);
                            :func:`cxinfluence.sentiment.who_moved` (the two periods are adjacent
                            and share no response: ``[from - gap, from)`` and ``[from, to)``)
``veto holder went quiet``  a veto holder still there who was heard in the run's window before
                            ``from_date`` (:func:`cxinfluence.village.heard.heard_table`) and not
                            once since
``risk changed``            an account whose warning signs
                            (:data:`cxinfluence.models.risk.REASON_TEXT`) differ between the dates,
                            or whose predicted chance of renewal moved by at least
                            ``min_renewal_move`` (default 5 points)
==========================  ==================================================================

:func:`risk_at` recomputes the accounts-at-risk table at an earlier date with the
run's renewal model, so both dates are judged by the same model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import CxInfluenceError
from ..listening import coverage
from ..network.influence import active_stakeholders, influence_weights
from ..sentiment.breakdowns import who_moved
from ..sentiment.schemes import sentiment_tables
from ..village.asof import DEFAULT_WINDOW_DAYS, to_timestamp
from ..village.heard import heard_table
from .predict import predict_renewal, snapshot_frame
from .risk import REASON_TEXT, accounts_at_risk, risk_flags

__all__ = ["CHANGE_KINDS", "CHANGE_COLUMNS", "risk_at", "what_changed"]

#: Kinds of change, in the order the table lists them
CHANGE_KINDS = ("veto holder went quiet", "left", "joined", "risk changed", "sentiment move", "influence shift")
CHANGE_COLUMNS = ["change", "account_id", "stakeholder_id", "name", "role", "veto", "from_value", "to_value", "size",
                  "reason"]


def risk_at(village, as_of, *, window_days=DEFAULT_WINDOW_DAYS, half_life_days=None, fit=None,
            scheme="influence_weighted") -> tuple:
    """Accounts at risk as they stood at ``as_of``, and the influence table of that date.

    The same steps as ``cxinfluence run``'s risk stage (influence, sentiment,
    coverage, warning signs, and the renewal chance when ``fit`` is given).

    Returns
    -------
    (risk, influence) : tuple of DataFrame
        :func:`cxinfluence.models.risk.accounts_at_risk` and
        :func:`cxinfluence.network.influence.influence_weights` at ``as_of``.
    """
    as_of = to_timestamp(as_of)
    infl = influence_weights(village, as_of)
    snap, people = sentiment_tables(village, as_of, window_days=window_days, lead_days=0,
                                    half_life_days=half_life_days, influence=infl)
    cov = coverage(village, as_of, window_days=window_days, influence=infl)
    predicted = None
    if fit is not None:
        frame = snapshot_frame(village, as_of, window_days=window_days, lead_days=0, half_life_days=half_life_days,
                               sentiment=snap, stakeholders=people)
        predicted = predict_renewal(fit, frame)
    return accounts_at_risk(village.accounts, snap, risk_flags(people), cov, predicted, scheme=scheme), infl


def _pct(x) -> str:
    return f"{x:.0%}"


def _date(x) -> str:
    x = pd.to_datetime(x, errors="coerce")
    return "an unrecorded date" if pd.isna(x) else f"{x:%Y-%m-%d}"


def what_changed(village, from_date, to_date, *, window_days=DEFAULT_WINDOW_DAYS, influence_from=None,
                 influence_to=None, risk_from=None, risk_to=None, min_influence_shift=0.05, min_sentiment_move=0.25,
                 min_renewal_move=0.05) -> pd.DataFrame:
    """What changed in the villages between ``from_date`` and ``to_date``, one row per change, with its reason.

    Parameters
    ----------
    village : Village
    from_date, to_date : date
        The earlier and the later date (``from_date < to_date``).
    window_days : int
        The look-back window of the run: a veto holder "went quiet" when heard
        in the ``window_days`` before ``from_date`` and not since.
    influence_from, influence_to : DataFrame, optional
        :func:`cxinfluence.network.influence.influence_weights` at each date
        (computed when omitted).
    risk_from, risk_to : DataFrame, optional
        :func:`cxinfluence.models.risk.accounts_at_risk` at each date (e.g.
        from :func:`risk_at`); without both there are no ``risk changed`` rows.
    min_influence_shift, min_sentiment_move, min_renewal_move : float
        Smallest change listed: share of the account's influence (0.05 = 5
        points), sentiment on the -1..+1 scale, chance of renewal (0.05 = 5 points).

    Returns
    -------
    DataFrame
        :data:`CHANGE_COLUMNS`: ``change`` (one of :data:`CHANGE_KINDS`), the
        account, the person (blank for an account's risk), ``from_value`` and
        ``to_value`` (influence share, sentiment, or chance of renewal; blank
        where it does not apply), ``size`` (how big the change is, for
        ranking within a kind) and ``reason`` in words. Ordered by kind as in
        :data:`CHANGE_KINDS`, then biggest first. The inputs are not modified.

    Raises
    ------
    CxInfluenceError
        When ``from_date`` is not before ``to_date``.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> s = pd.DataFrame({"stakeholder_id": ["ann", "bo", "cy"], "account_id": ["A"] * 3, "name": ["Ann", "Bo", "Cy"],
    ...                   "role": ["decider", "user", "user"], "veto": [True, False, False],
    ...                   "active_from": pd.to_datetime([None, None, "2024-05-01"]),
    ...                   "active_to": pd.to_datetime([None, "2024-04-01", None])})
    >>> r = pd.DataFrame({"stakeholder_id": ["ann"], "date": pd.to_datetime(["2023-12-01"]), "csat": [4.0]})
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}), s, pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...             r, pd.DataFrame())
    >>> ch = what_changed(v, "2024-01-01", "2024-07-01", min_influence_shift=1.0)
    >>> ch[["change", "name"]].values.tolist()
    [['veto holder went quiet', 'Ann'], ['left', 'Bo'], ['joined', 'Cy']]
    >>> ch["reason"].iloc[0]
    'veto holder, heard 1 time in the 365 days before 2024-01-01 (last on 2023-12-01); not heard since'
    """
    t0, t1 = to_timestamp(from_date), to_timestamp(to_date)
    if not t0 < t1:
        raise CxInfluenceError(f"compare_to={t0:%Y-%m-%d} is not before the as-of date {t1:%Y-%m-%d}; "
                               "give an earlier date to compare with")
    i0 = influence_weights(village, t0) if influence_from is None else influence_from
    i1 = influence_weights(village, t1) if influence_to is None else influence_to
    ch = _Changes(village, t0, t1, i0, i1)
    joined_by, left_by = ch.joined_and_left()
    ch.influence_shifts(joined_by, left_by, min_influence_shift)
    ch.sentiment_moves(min_sentiment_move)
    ch.quiet_veto_holders(window_days)
    if risk_from is not None and risk_to is not None:
        ch.risk_changes(risk_from, risk_to, min_renewal_move)
    out = pd.DataFrame(ch.rows, columns=CHANGE_COLUMNS)
    order = {k: i for i, k in enumerate(CHANGE_KINDS)}
    out = out.assign(_o=out["change"].map(order)).sort_values(["_o", "size"], ascending=[True, False], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


def _share(table) -> pd.Series:
    """Influence share by (account, stakeholder), first row of each kept."""
    s = pd.Series(table["influence"].to_numpy(float),
                  index=pd.MultiIndex.from_arrays([table["account_id"].astype(str), table["stakeholder_id"].astype(str)]))
    return s[~s.index.duplicated()]


class _Changes:
    """The steps of :func:`what_changed`: who is there at each date, their influence shares, and the
    rows found so far (one method per kind of change)."""

    def __init__(self, village, t0, t1, influence_from, influence_to):
        self.village, self.t0, self.t1, self.gap = village, t0, t1, (t1 - t0).days
        self.rows = []
        p0, p1 = active_stakeholders(village, t0), active_stakeholders(village, t1)
        self.k0 = set(zip(p0["account_id"].astype(str), p0["stakeholder_id"].astype(str)))
        self.k1 = set(zip(p1["account_id"].astype(str), p1["stakeholder_id"].astype(str)))
        people = village.stakeholders.assign(_acc=village.stakeholders["account_id"].astype(str),
                                             _sid=village.stakeholders["stakeholder_id"].astype(str))
        self.people = people.drop_duplicates(["_acc", "_sid"]).set_index(["_acc", "_sid"])
        self.s0, self.s1 = _share(influence_from), _share(influence_to)
        roles = pd.concat([p0, p1]).assign(_k=lambda d: list(zip(d["account_id"].astype(str),
                                                                  d["stakeholder_id"].astype(str))))
        self.roles = roles.drop_duplicates("_k").set_index("_k")

    def person(self, key):
        """``(name, title, role, veto, stakeholders row)`` of the person ``key`` = (account, stakeholder)."""
        a = self.people.loc[key] if key in self.people.index else pd.Series(dtype=object)
        r = self.roles.loc[[key]].iloc[0] if key in self.roles.index else pd.Series(dtype=object)
        name = a.get("name") if pd.notna(a.get("name", np.nan)) else None
        title = a.get("title") if pd.notna(a.get("title", np.nan)) else None
        role = r.get("role") if pd.notna(r.get("role", np.nan)) else None
        return name, title, role, bool(r.get("veto", False)) if pd.notna(r.get("veto", np.nan)) else False, a

    def row(self, kind, key, reason, before=np.nan, after=np.nan, size=np.nan):
        name, _, role, veto, _ = self.person(key) if key[1] is not None else (None, None, None, None, None)
        self.rows.append({"change": kind, "account_id": key[0], "stakeholder_id": key[1], "name": name, "role": role,
                          "veto": veto, "from_value": before, "to_value": after, "size": size, "reason": reason})

    def joined_and_left(self):
        """``joined`` and ``left`` rows; returns how many joined and left each account."""
        s0, s1 = self.s0, self.s1
        joined_by, left_by = {}, {}
        for key in sorted(self.k1 - self.k0):
            name, title, role, veto, a = self.person(key)
            joined_by[key[0]] = joined_by.get(key[0], 0) + 1
            what = ", ".join(x for x in (title, role and f"{role} role", "veto holder" if veto else None) if x)
            self.row("joined", key, f"joined on {_date(a.get('active_from'))}" + (f" ({what})" if what else "")
                     + f"; now {_pct(s1.get(key, 0.0))} of the account's influence", after=s1.get(key, np.nan),
                     size=s1.get(key, 0.0))
        for key in sorted(self.k0 - self.k1):
            name, title, role, veto, a = self.person(key)
            left_by[key[0]] = left_by.get(key[0], 0) + 1
            what = ", ".join(x for x in (title, "veto holder" if veto else None) if x)
            self.row("left", key, f"left on {_date(a.get('active_to'))}" + (f" ({what})" if what else "")
                     + f"; held {_pct(s0.get(key, 0.0))} of the account's influence", before=s0.get(key, np.nan),
                     size=s0.get(key, 0.0))
        return joined_by, left_by

    def influence_shifts(self, joined_by, left_by, min_influence_shift):
        s0, s1 = self.s0, self.s1
        both = s0.index.intersection(s1.index)
        delta = (s1.reindex(both) - s0.reindex(both))
        for key, d in delta[delta.abs() >= min_influence_shift].items():
            j, lft = joined_by.get(key[0], 0), left_by.get(key[0], 0)
            ctx = (" as " + " and ".join(x for x in (f"{j} joined" if j else "", f"{lft} left" if lft else "") if x)
                   + " the account") if j or lft else ""
            self.row("influence shift", key, f"share of the account's influence {'rose' if d > 0 else 'fell'} from "
                     f"{_pct(s0[key])} to {_pct(s1[key])}{ctx}", before=s0[key], after=s1[key], size=abs(d))

    def sentiment_moves(self, min_sentiment_move):
        t0, gap = self.t0, self.gap
        moved = who_moved(self.village, t0, self.t1, level="stakeholder")
        moved = moved[(moved["status"] == "moved") & (moved["change"].abs() >= min_sentiment_move)]
        for r in moved.itertuples(index=False):
            key = (str(r.account_id), str(r.stakeholder_id))
            infl = "" if pd.isna(r.influence) else f", {_pct(r.influence)} of the account's influence"
            self.row("sentiment move", key, f"sentiment {'rose' if r.change > 0 else 'fell'} from "
                     f"{r.sentiment_from:+.2f} to {r.sentiment_to:+.2f} (scale -1 to +1) between the {gap} days "
                     f"before {t0:%Y-%m-%d} and the {gap} days after{infl}", before=r.sentiment_from,
                     after=r.sentiment_to,
                     size=abs(r.weighted_change) if pd.notna(r.weighted_change) else abs(r.change))

    def quiet_veto_holders(self, window_days):
        """Veto holders heard in the window before ``t0`` and not in the ``gap`` days since."""
        v, t0 = self.village, self.t0
        h0 = heard_table(v, t0, window_days=window_days)
        h1 = heard_table(v, self.t1, window_days=self.gap)
        ids = list(zip(v.stakeholders["account_id"].astype(str), v.stakeholders["stakeholder_id"].astype(str)))
        for key, n0, last0, heard1 in zip(ids, h0["n_responses"], h0["last_heard"], h1["heard"]):
            if key not in self.k1 or key not in self.roles.index or not n0 or heard1:
                continue
            if not self.person(key)[3]:
                continue
            self.row("veto holder went quiet", key, f"veto holder, heard {n0} time{'s' if n0 != 1 else ''} in the "
                     f"{window_days} days before {t0:%Y-%m-%d} (last on {_date(last0)}); not heard since",
                     size=self.s1.get(key, 0.0))

    def risk_changes(self, risk_from, risk_to, min_renewal_move):
        flags = [f"risk_{c}" for c in REASON_TEXT]
        a = risk_from.astype({"account_id": str}).set_index("account_id")
        b = risk_to.astype({"account_id": str}).set_index("account_id")
        for acc in b.index.intersection(a.index):
            now = [REASON_TEXT[f[5:]] for f in flags if f in b and bool(b.at[acc, f]) and not bool(a.at[acc, f])]
            gone = [REASON_TEXT[f[5:]] for f in flags if f in a and bool(a.at[acc, f]) and not bool(b.at[acc, f])]
            p0_ = a.at[acc, "p_renew"] if "p_renew" in a else np.nan
            p1_ = b.at[acc, "p_renew"] if "p_renew" in b else np.nan
            dp = p1_ - p0_ if pd.notna(p0_) and pd.notna(p1_) else np.nan
            big = pd.notna(dp) and abs(dp) >= min_renewal_move
            if not (now or gone or big):
                continue
            words = []
            if pd.notna(dp):
                words.append(f"chance of renewal {_pct(p0_)} to {_pct(p1_)}")
            if now:
                words.append("new warning sign: " + ", ".join(now))
            if gone:
                words.append("no longer: " + ", ".join(gone))
            self.row("risk changed", (acc, None), "; ".join(words), before=p0_, after=p1_,
                     size=abs(dp) if pd.notna(dp) else len(now) + len(gone))
