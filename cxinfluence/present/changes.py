"""The report's "What changed" section: a few sentences and the changes a leader should see first.

Built from :func:`cxinfluence.models.changes.what_changed` (``cxinfluence run
--compare-to DATE``); the full list is ``what_changed.csv``.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["CHANGE_TABLE_COLUMNS", "change_sentences", "change_highlights"]

#: column -> (header, kind) of the report's table (see :func:`cxinfluence.present.report.html_table`)
CHANGE_TABLE_COLUMNS = {"change": ("What changed", "text"), "account_id": ("Account", "text"),
                        "name": ("Person", "text"), "reason": ("Why it matters", "text")}


def _n(k: int, one: str, many: str) -> str:
    return f"{k:,} {one if k == 1 else many}"


def change_sentences(changes: pd.DataFrame, from_date, to_date) -> list:
    """Plain sentences summing up :func:`~cxinfluence.models.changes.what_changed`.

    Examples
    --------
    >>> ch = pd.DataFrame({"change": ["joined", "left", "veto holder went quiet"], "veto": [False, True, True],
    ...                    "account_id": ["A", "A", "B"]})
    >>> change_sentences(ch, "2024-01-01", "2024-07-01")[0][-61:]
    '1 person joined and 1 person left (1 veto holder among them).'
    """
    t0, t1 = pd.Timestamp(from_date), pd.Timestamp(to_date)
    if changes is None or not len(changes):
        return [f"Nothing changed between {t0:%Y-%m-%d} and {t1:%Y-%m-%d} beyond the thresholds used."]
    kind = changes["change"].value_counts()
    veto = changes["veto"].fillna(False).astype(bool) if "veto" in changes else pd.Series(False, index=changes.index)
    left_veto = int((veto & (changes["change"] == "left")).sum())
    out = [f"Between {t0:%Y-%m-%d} and {t1:%Y-%m-%d}, {_n(int(kind.get('joined', 0)), 'person', 'people')} joined and "
           f"{_n(int(kind.get('left', 0)), 'person', 'people')} left"
           + (f" ({_n(left_veto, 'veto holder', 'veto holders')} among them)." if left_veto else ".")]
    quiet = changes[changes["change"] == "veto holder went quiet"]
    if len(quiet):
        out.append(f"{_n(len(quiet), 'veto holder', 'veto holders')} in "
                   f"{_n(quiet['account_id'].nunique(), 'account', 'accounts')} went quiet: heard before "
                   f"{t0:%Y-%m-%d}, not once since. Ask them first.")
    risk = changes[changes["change"] == "risk changed"]
    if len(risk):
        worse = int((risk["to_value"] < risk["from_value"]).sum())
        better = int((risk["to_value"] > risk["from_value"]).sum())
        out.append(f"{_n(len(risk), 'account', 'accounts')} changed risk: the chance of renewal fell for {worse:,} "
                   f"and rose for {better:,}" + (" (the rest changed warning signs only)."
                                                if worse + better < len(risk) else "."))
    moved, shifted = int(kind.get("sentiment move", 0)), int(kind.get("influence shift", 0))
    if moved or shifted:
        what = " and ".join(x for x in (f"{moved:,} people's sentiment" if moved else "",
                                         f"{shifted:,} people's share of influence" if shifted else "") if x)
        out.append(f"{what} moved markedly; every change, with its reason, is in what_changed.csv.")
    return out


def change_highlights(changes: pd.DataFrame, n: int = 8) -> pd.DataFrame:
    """The changes to read first: the biggest risk changes, then quiet and departed veto holders (most influence first).

    Examples
    --------
    >>> ch = pd.DataFrame({"change": ["risk changed", "left", "left", "veto holder went quiet"],
    ...                    "veto": [None, True, False, True], "size": [0.3, 0.4, 0.9, 0.2],
    ...                    "account_id": list("ABCD"), "name": [None, "Bo", "Cy", "Di"], "reason": list("wxyz")})
    >>> change_highlights(ch)["account_id"].tolist()
    ['A', 'D', 'B']
    """
    if changes is None or not len(changes):
        return pd.DataFrame(columns=list(CHANGE_TABLE_COLUMNS))
    veto = changes["veto"].fillna(False).astype(bool)
    parts = [changes[changes["change"] == "risk changed"].nlargest(3, "size"),
             changes[changes["change"] == "veto holder went quiet"].nlargest(3, "size"),
             changes[(changes["change"] == "left") & veto].nlargest(2, "size")]
    picked = pd.concat([p for p in parts if len(p)]) if any(len(p) for p in parts) else changes.head(0)
    return picked.head(n).reset_index(drop=True)
