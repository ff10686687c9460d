"""Breakdowns for the notebooks and the report: role x journey stage,
touchpoint, channel, emotion items, and who moved between two dates.

Every breakdown is a :func:`cxinfluence.sentiment.metrics.metric_table` over the
village's responses joined with their stakeholders (so each cell has its
respondent count and a small-sample confidence interval), restricted, when
``as_of`` is given, to the look-back window before ``as_of`` and to the
stakeholders active then. Counting is per respondent by default (each
person's latest answer per cell); pass ``unit="response"`` for touchpoint
volumes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import MetricError
from ..network.influence import influence_weights
from ..village import asof as _asof
from ..village.core import Village
from .metrics import METRICS, metric_table
from .base import _influence_at
from .intervals import z_value
from .schemes import PRIMARY_SCHEME, SCHEMES, SE_SCHEMES, account_sentiment, stakeholder_sentiment

#: Default metrics of a breakdown: the common-scale sentiment plus NPS.
DEFAULT_BREAKDOWN_METRICS = ("sentiment", "nps", "csat", "ces", "neteasy")
EMOTION_METRICS = ("trust", "trust_high", "cared_for", "cared_for_high")


def breakdown(village, by, metrics=DEFAULT_BREAKDOWN_METRICS, *, as_of=None,
              window_days=_asof.DEFAULT_WINDOW_DAYS, lead_days=0, unit="respondent", conf_level=0.95):
    """Metrics for any grouping of a village's responses (a new DataFrame).

    Parameters
    ----------
    village : Village
    by : str or list of str
        Response or stakeholder columns (``role``, ``department``,
        ``journey_stage``, ``touchpoint``, ``channel``, ``account_id``,
        ``segment``...).
    metrics : sequence of str
        Names from :data:`cxinfluence.sentiment.metrics.METRICS`; those whose score
        column the village lacks are skipped.
    as_of, window_days, lead_days, unit, conf_level
        As in :func:`cxinfluence.sentiment.metrics.metric_table`.

    Returns
    -------
    DataFrame
        One row per group, as :func:`cxinfluence.sentiment.metrics.metric_table`.

    Examples
    --------
    >>> breakdown(_example_village(), "role", ["csat"])[["role", "csat", "csat_n"]]
        role   csat  csat_n
    0  buyer  100.0       1
    1   user    0.0       1
    """
    have = set(village.responses.columns) | {"sentiment"}
    metrics = [m for m in metrics if METRICS.get(m, (m,))[0] in have or m not in METRICS]
    if not metrics:
        raise MetricError(f"the village's responses have none of the score columns these metrics need; "
                          f"columns present: {sorted(village.responses.columns)}")
    by = [by] if isinstance(by, str) else list(by)
    return metric_table(village, by=by, metrics=metrics, unit=unit, as_of=as_of, window_days=window_days,
                        lead_days=lead_days, conf_level=conf_level)


def role_stage(village, metrics=DEFAULT_BREAKDOWN_METRICS, **kwargs):
    """Role x journey stage: how each buying-center role feels at each stage.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}),
    ...     pd.DataFrame({"stakeholder_id": ["pm", "op"], "account_id": ["A", "A"],
    ...                   "role": ["decider", "user"]}), pd.DataFrame(),
    ...     pd.DataFrame({"stakeholder_id": ["pm", "op", "op"],
    ...                   "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01"]),
    ...                   "nps": [3.0, 10.0, 9.0], "journey_stage": ["renewal", "retention", "retention"]}),
    ...     pd.DataFrame())
    >>> role_stage(v, metrics=["nps"])[["role", "journey_stage", "nps", "nps_n"]]
          role journey_stage    nps  nps_n
    0  decider       renewal -100.0      1
    1     user     retention  100.0      1
    """
    return breakdown(village, ["role", "journey_stage"], metrics, **kwargs)


def _example_village():
    """Three responses from two people, for the examples below."""
    return Village(
        pd.DataFrame({"account_id": ["A"]}),
        pd.DataFrame({"stakeholder_id": ["a", "b"], "account_id": ["A", "A"], "role": ["user", "buyer"]}),
        pd.DataFrame(),
        pd.DataFrame({"stakeholder_id": ["a", "a", "b"],
                      "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-15"]),
                      "csat": [5.0, 2.0, 4.0], "channel": ["survey", "informal", "survey"],
                      "touchpoint": ["delivery", "delivery", "billing"]}),
        pd.DataFrame())


def by_touchpoint(village, metrics=DEFAULT_BREAKDOWN_METRICS, *, extra_by=(), **kwargs):
    """Metrics per touchpoint (optionally also per ``extra_by`` columns, e.g. role).

    Examples
    --------
    Per response, delivery has one satisfied (5) and one unsatisfied (2) answer:

    >>> t = by_touchpoint(_example_village(), metrics=["csat"], unit="response")
    >>> t[["touchpoint", "csat", "csat_n"]]
      touchpoint   csat  csat_n
    0    billing  100.0       1
    1   delivery   50.0       2
    """
    return breakdown(village, ["touchpoint", *extra_by], metrics, **kwargs)


def by_channel(village, metrics=DEFAULT_BREAKDOWN_METRICS, *, extra_by=(), **kwargs):
    """Metrics per channel: formal surveys against informal comments and interviews.

    A systematic gap between channels (informal feedback harsher than the
    survey) is itself a finding (seed 001, key 3).

    Examples
    --------
    >>> by_channel(_example_village(), metrics=["csat_mean"])[["channel", "csat_mean", "csat_mean_n"]]
        channel  csat_mean  csat_mean_n
    0  informal        2.0            1
    1    survey        4.5            2
    """
    return breakdown(village, ["channel", *extra_by], metrics, **kwargs)


def emotions(village, by="role", metrics=EMOTION_METRICS, **kwargs):
    """Emotion items per group: mean trust and feeling cared for (1-5) and the
    share answering 4-5 (seed 003: "feel valued and cared for").

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}),
    ...     pd.DataFrame({"stakeholder_id": ["a", "b"], "account_id": ["A", "A"], "role": ["user", "user"]}),
    ...     pd.DataFrame(), pd.DataFrame({"stakeholder_id": ["a", "b"], "date": pd.to_datetime(["2024-01-01"] * 2),
    ...                                   "trust": [5.0, 2.0], "cared_for": [4.0, None]}), pd.DataFrame())
    >>> emotions(v)[["role", "trust", "trust_high", "cared_for", "cared_for_n"]]
       role  trust  trust_high  cared_for  cared_for_n
    0  user    3.5        50.0        4.0            1
    """
    return breakdown(village, by, metrics, **kwargs)


def _check_dates(from_date, to_date):
    t0 = _asof.to_timestamp(from_date, "from_date")
    t1 = _asof.to_timestamp(to_date, "to_date")
    if not t0 < t1:
        raise MetricError(f"from_date={from_date!r} is not before to_date={to_date!r}; pass the earlier date first")
    return t0, t1


def who_moved(village, from_date, to_date, *, level="account", scheme=PRIMARY_SCHEME, window_days=None,
              lead_days=0, influence=None, conf_level=0.95, **sentiment_kwargs):
    """Change in sentiment between two as-of dates, per account or per stakeholder.

    Parameters
    ----------
    village : Village
    from_date, to_date : date
        The two as-of dates (``from_date < to_date``).
    level : {"account", "stakeholder"}
    scheme : str
        Account level: the scheme used to rank and to flag significant moves
        (any of :data:`cxinfluence.sentiment.schemes.SCHEMES` with an SE).
    window_days : int, optional
        Look-back window of each as-of; default the gap between the dates, so
        the two periods are adjacent and share no response.
    influence : DataFrame, optional
        As in :func:`cxinfluence.sentiment.schemes.account_sentiment` (default: graph
        influence at each date).
    **sentiment_kwargs
        Passed on to :func:`~cxinfluence.sentiment.schemes.account_sentiment`.

    Returns
    -------
    DataFrame
        ``level="account"``: one row per account with ``<s>_from``, ``<s>_to``
        and ``<s>_change`` for every scheme, respondent counts and heard
        influence at both dates, and ``significant``: ``|change| > z *
        sqrt(se_from^2 + se_to^2)`` for ``scheme`` (the two periods use
        disjoint responses, so their errors are treated as independent).
        Sorted by ``<scheme>_change``, biggest drop first.

        ``level="stakeholder"``: one row per stakeholder active at either
        date, with ``sentiment_from``, ``sentiment_to``, ``change``,
        ``status`` (``moved``, ``new voice``: heard only in the later period,
        ``gone quiet``: heard only in the earlier one, ``joined``, ``left``,
        ``silent``), ``influence`` (at ``to_date``, or ``from_date`` for people
        who left) and ``weighted_change = influence * change``. Sorted by
        ``|weighted_change|``, largest first: who moved the account most.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}),
    ...     pd.DataFrame({"stakeholder_id": ["pm", "op"], "account_id": ["A", "A"], "role": ["decider", "user"]}),
    ...     pd.DataFrame(), pd.DataFrame({"stakeholder_id": ["pm", "op", "pm", "op"],
    ...         "date": pd.to_datetime(["2024-02-01", "2024-02-01", "2024-05-01", "2024-05-01"]),
    ...         "csat": [5.0, 4.0, 2.0, 4.0]}), pd.DataFrame())
    >>> infl = pd.DataFrame({"stakeholder_id": ["pm", "op"], "influence": [0.8, 0.2]})
    >>> m = who_moved(v, "2024-03-31", "2024-06-30", level="stakeholder", influence=infl)
    >>> m[["stakeholder_id", "sentiment_from", "sentiment_to", "change", "weighted_change", "status"]]
      stakeholder_id  sentiment_from  sentiment_to  change  weighted_change status
    0             pm             1.0          -0.5    -1.5            -1.2  moved
    1             op             0.5           0.5     0.0             0.0  moved
    """
    t0, t1 = _check_dates(from_date, to_date)
    window_days = (t1 - t0).days if window_days is None else _asof.check_window(window_days, error=MetricError)
    if level == "account":
        ok = list(SE_SCHEMES)
        if scheme not in ok:
            raise MetricError(f"scheme={scheme!r}; expected one of {ok}")
        kw = dict(window_days=window_days, lead_days=lead_days, influence=influence, conf_level=conf_level,
                  **sentiment_kwargs)
        a0 = account_sentiment(village, t0, **kw)
        a1 = account_sentiment(village, t1, **kw)
        keep = ["n_respondents", "heard_influence", *SCHEMES, f"{scheme}_se"]
        m = a0[["account_id", *keep]].merge(a1[["account_id", *keep]], on="account_id", suffixes=("_from", "_to"))
        for s in SCHEMES:
            m[f"{s}_change"] = m[f"{s}_to"] - m[f"{s}_from"]
        z = z_value(conf_level)
        se = np.sqrt(m[f"{scheme}_se_from"] ** 2 + m[f"{scheme}_se_to"] ** 2)
        m["significant"] = (m[f"{scheme}_change"].abs() > z * se).where(se.notna())
        m.insert(1, "from_date", t0)
        m.insert(2, "to_date", t1)
        return m.sort_values(f"{scheme}_change", kind="stable", na_position="last").reset_index(drop=True)
    if level != "stakeholder":
        raise MetricError(f"level={level!r}; expected 'account' or 'stakeholder'")

    kw = dict(window_days=window_days, lead_days=lead_days)
    s0 = stakeholder_sentiment(village, t0, **kw)
    s1 = stakeholder_sentiment(village, t1, **kw)
    info = [c for c in ("account_id", "role", "department", "veto") if c in s0.columns]
    people = pd.concat([s0[["stakeholder_id", *info]], s1[["stakeholder_id", *info]]]).drop_duplicates("stakeholder_id")
    m = people.merge(s0[["stakeholder_id", "sentiment"]], on="stakeholder_id", how="left").merge(
        s1[["stakeholder_id", "sentiment"]], on="stakeholder_id", how="left", suffixes=("_from", "_to"))
    active0 = m["stakeholder_id"].isin(s0["stakeholder_id"])
    active1 = m["stakeholder_id"].isin(s1["stakeholder_id"])
    m["change"] = m["sentiment_to"] - m["sentiment_from"]
    heard0, heard1 = m["sentiment_from"].notna(), m["sentiment_to"].notna()
    status = np.select(
        [~active1, ~active0, heard0 & heard1, heard1, heard0],
        ["left", "joined", "moved", "new voice", "gone quiet"], default="silent")
    m["status"] = status

    def infl_at(ts):
        if influence is None:  # sentiment._influence_at returns row arrays, not a table, in this case
            df = influence_weights(village, ts)
        else:
            df = _influence_at(village, ts, influence)
        return df.drop_duplicates("stakeholder_id").set_index("stakeholder_id")["influence"]

    i1 = m["stakeholder_id"].map(infl_at(t1))
    i0 = m["stakeholder_id"].map(infl_at(t0))
    m["influence"] = i1.where(m["status"] != "left", i0)
    m["weighted_change"] = m["influence"] * m["change"]
    m.insert(1, "from_date", t0)
    m.insert(2, "to_date", t1)
    return m.sort_values("weighted_change", key=lambda c: -c.abs(), kind="stable",
                         na_position="last").reset_index(drop=True)
