"""Keys and references between a village's tables: the second half of validation.

After :mod:`cxinfluence.village.checks` has typed every column, this module
checks that keys are unique (``account_id``, ``stakeholder_id``, (``source_id``,
``target_id``, ``kind``), (``account_id``, ``period_end``)), that every reference
points to a row of its defining table (stakeholders' and outcomes' accounts,
ties' endpoints, respondents), that ties stay inside one account and are no
self-loops, and warns about unused accounts and silent stakeholders.

Ids are matched to rows once, with the one id lookup of the package
(:func:`cxinfluence.village.ids.match_rows`): every check then works on integer
rows. An id that is not in its defining table (rare: it is an error) gets a
number after the table's rows, equal text giving an equal number across the
columns that hold that kind of id, so keys and self-loops of unknown ids are
still compared.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import _show
from .ids import NARROW, match_rows
from .io import RawTable
from .schema import TABLES

#: Each kind of id: its defining (table, column) and the columns that refer to it.
KINDS = {
    "account": (("accounts", "account_id"), (("stakeholders", "account_id"), ("outcomes", "account_id"))),
    "stakeholder": (("stakeholders", "stakeholder_id"),
                    (("relationships", "source_id"), ("relationships", "target_id"),
                     ("responses", "stakeholder_id"))),
}


class _IdRows:
    """One kind of id matched to the rows of its defining table.

    Attributes
    ----------
    rows : dict
        ``(table, column)`` -> the row of the defining table where each id first
        appears (int32 as matched, int64 as given in ``known``; -1 blank or not
        defined), for the usable tables; the defining column's own entry too.
    known : bool
        The defining table is usable (references can be checked).
    n : int
        Rows of the defining table (0 when it is not usable).
    first : ndarray of bool
        Rows of the defining table holding the first occurrence of an id.
    """

    def __init__(self, typed, ok, kind, known=None):
        (table, column), references = KINDS[kind]
        cols = [(t, c) for t, c in [(table, column), *references] if ok.get(t)]
        self.known = bool(ok.get(table))
        self.n = len(typed[table]) if self.known else 0
        self._texts = {k: typed[k[0]][k[1]] for k in cols}
        if known and all(k in known for k in cols):  # matched by the caller (see check_tables): no hashing
            self.rows = {k: np.asarray(known[k], dtype=np.int64) for k in cols}
        elif self.known:
            own, refs = match_rows(typed[table][column], *[typed[t][c] for t, c in cols[1:]])
            # kept as match_rows gives them, int32 (widening 21M rows at 100k accounts took 0.5 s of loading)
            self.rows = dict(zip(cols, [own, *refs]))
        else:
            self.rows = {k: np.full(len(s), -1, np.int64) for k, s in self._texts.items()}
        own = self.rows.get((table, column))
        self.first = own == np.arange(len(own)) if own is not None else np.zeros(0, bool)
        self._codes = None

    def positions(self, table, column) -> np.ndarray:
        """Each row's id as a row of the defining table; -1 if absent or blank."""
        return self.rows[(table, column)]

    def codes(self, table, column) -> np.ndarray:
        """Equal id, equal code (across this kind's columns); -1 blank. Defined ids are their
        first row; unknown ones are numbered from ``n`` in order of first appearance."""
        if self._codes is None:
            unknown = {k: np.flatnonzero((r < 0) & self._texts[k].notna().to_numpy()) for k, r in self.rows.items()}
            # only where some id is unknown (a valid village has none): taking no rows of an Arrow column
            # still joins its chunks, a copy of the whole column
            texts = [self._texts[k].iloc[i] for k, i in unknown.items() if len(i)]
            numbers = pd.factorize(pd.concat(texts, ignore_index=True).astype("str"))[0] if texts else []
            self._codes, at = {}, 0
            for k, i in unknown.items():
                codes = self.rows[k]
                if len(i):
                    codes = codes.copy()
                    codes[i] = self.n + numbers[at:at + len(i)]
                    at += len(i)
                self._codes[k] = codes
        return self._codes[(table, column)]

    def key_codes(self, table) -> dict:
        """Column -> codes for the key columns of ``table`` that hold this kind of id."""
        return {c: self.codes(table, c) for c in TABLES[table].key if (table, c) in self.rows}


def match_ids(typed, ok, known=None) -> tuple[_IdRows, _IdRows]:
    """Accounts and stakeholders ids matched to rows (see :class:`_IdRows`)."""
    return _IdRows(typed, ok, "account", known), _IdRows(typed, ok, "stakeholder", known)


def matched_rows(acc: _IdRows, sh: _IdRows) -> dict:
    """The references as rows of their defining table, when every defining id is present once
    (a valid village): ``(table, column) -> rows``, as :func:`cxinfluence.village.ids.rows_of`."""
    out = {}
    for ids, kind in ((acc, "account"), (sh, "stakeholder")):
        if ids.known and ids.first.all():
            # the long columns stay int32 in the village's cache (ids.NARROW); the others as rows_of makes them
            out.update({ref: ids.rows[ref] if ref in NARROW else ids.rows[ref].astype(np.int64)
                        for ref in KINDS[kind][1] if ref in ids.rows})
    return out


# --------------------------------------------------------------------------- keys


def _duplicates(t: RawTable, df: pd.DataFrame, rep, codes=None) -> None:
    """Report repeated keys; ``codes`` maps key columns to their id codes when already matched."""
    spec = TABLES[t.name]
    if not spec.unique_key or not spec.key:
        return
    key = list(spec.key)
    parts = [codes[c] if codes and c in codes else pd.factorize(df[c])[0] for c in key]
    valid = np.logical_and.reduce([c >= 0 for c in parts])
    if len(parts) == 1 and bool(np.all(np.diff(parts[0][valid]) > 0)):
        return  # codes (first appearance, or first row) rise on every row: no id repeats
    pos_all = np.flatnonzero(valid)
    # one int64 per row for the whole key, renumbered in order of first appearance
    combined, card = np.zeros(len(pos_all), np.int64), 1
    for c in parts:
        width = max(int(c.max()) + 1, 1) if len(c) else 1
        if card * width >= 2**62:  # keep the product inside int64: renumber the keys so far
            combined, uniques = pd.factorize(combined)
            card = len(uniques)
        combined = combined * width + c[valid]
        card *= width
    combined = pd.factorize(combined)[0]
    first = _first_occurrence(combined)
    if first.all():
        return
    mask = np.zeros(len(df), bool)
    mask[pos_all[~first]] = True
    first_of = np.full(len(df), -1)
    first_of[pos_all] = pos_all[np.flatnonzero(first)[combined]]

    def message(pos):
        out = []
        for i in pos:
            values = df.loc[i, key]
            shown = ", ".join(f"{k}={_show(v.date() if isinstance(v, pd.Timestamp) else v)}" for k, v in values.items())
            what = "id" if len(key) == 1 else "key"
            out.append(f"duplicate {what} {shown} (first on row {t.rows[first_of[i]]}); each must be unique")
        return out

    rep.rows(t, mask, key[0] if len(key) == 1 else None, message)


def _first_occurrence(codes: np.ndarray) -> np.ndarray:
    """True on the first row of each code; codes number values in order of first appearance (-1 blank)."""
    if not len(codes):
        return np.zeros(0, bool)
    # a value's first row is where its code exceeds every earlier code
    return codes > np.concatenate(([-1], np.maximum.accumulate(codes)[:-1]))


def check_keys(rep, raw, typed, ok, acc: _IdRows, sh: _IdRows) -> None:
    """Repeated keys in every usable table."""
    for name in TABLES:
        if ok.get(name):
            _duplicates(raw[name], typed[name], rep, {**acc.key_codes(name), **sh.key_codes(name)})


# --------------------------------------------------------------------------- references


def check_people(rep, raw, typed, acc: _IdRows) -> None:
    """Stakeholders: ``active_to`` not before ``active_from``; accounts that exist."""
    t, s = raw["stakeholders"], typed["stakeholders"]
    late = (s["active_to"] < s["active_from"]).to_numpy()
    rep.rows(t, late, "active_to", lambda pos: [
        f"active_to {s['active_to'].iloc[i]:%Y-%m-%d} is before active_from {s['active_from'].iloc[i]:%Y-%m-%d}; "
        "swap them or fix the dates" for i in pos])
    if acc.known:
        _unknown(rep, t, s["account_id"], acc.positions("stakeholders", "account_id"), "account_id", "account",
                 raw["accounts"].file)


def check_ties(rep, raw, typed, acc: _IdRows, sh: _IdRows) -> None:
    """Relationships: no self-loops, endpoints that exist, inside one account; blank weight -> 1."""
    t, r = raw["relationships"], typed["relationships"]
    src_code, dst_code = sh.codes("relationships", "source_id"), sh.codes("relationships", "target_id")
    loop = (src_code >= 0) & (src_code == dst_code)
    rep.rows(t, loop, "target_id", lambda pos: [
        f"source_id and target_id are both {_show(r['source_id'].iloc[i])} (a self-loop); a tie needs two different people"
        for i in pos])
    if sh.known:
        src = _unknown(rep, t, r["source_id"], sh.positions("relationships", "source_id"), "source_id", "stakeholder",
                       raw["stakeholders"].file)
        dst = _unknown(rep, t, r["target_id"], sh.positions("relationships", "target_id"), "target_id", "stakeholder",
                       raw["stakeholders"].file)
        # each stakeholder row's account (any code, known or not); position -1 (unknown) -> no account
        account_of = np.append(acc.codes("stakeholders", "account_id"), -1)
        a_src, a_dst = account_of[src], account_of[dst]
        cross = (a_src >= 0) & (a_dst >= 0) & (a_src != a_dst)
        people = typed["stakeholders"]

        def account(row):
            return _show(people["account_id"].iloc[row])

        rep.rows(t, cross, "target_id", lambda pos: [
            f"tie crosses accounts: source {_show(r['source_id'].iloc[i])} is in account {account(src[i])} "
            f"but target {_show(r['target_id'].iloc[i])} is in account {account(dst[i])}; ties must stay inside one account"
            for i in pos])
    r["weight"] = r["weight"].fillna(1.0)


def check_responses(rep, raw, typed, acc: _IdRows, sh: _IdRows) -> None:
    """Responses: respondents that exist; warnings on empty, out-of-period and future responses,
    silent stakeholders and accounts nobody gave feedback for."""
    t, r, people, accounts = raw["responses"], typed["responses"], typed["stakeholders"], typed.get("accounts")
    pos_sh = _unknown(rep, t, r["stakeholder_id"], sh.positions("responses", "stakeholder_id"), "stakeholder_id",
                      "stakeholder", raw["stakeholders"].file)
    _response_warnings(rep, t, r, raw["stakeholders"], people, sh, pos_sh)
    if acc.known:
        heard = np.zeros(acc.n, bool)
        got = pos_sh[pos_sh >= 0]
        if len(got):
            hit = acc.positions("stakeholders", "account_id")[got]
            heard[hit[hit >= 0]] = True
        rep.summary(raw["accounts"], acc.first & ~heard, "account_id",
                    "account(s) have no feedback from anyone (no responses)", accounts["account_id"])


def check_outcomes(rep, raw, typed, acc: _IdRows) -> None:
    """Outcomes: accounts that exist; warn about accounts with no outcomes."""
    t, o = raw["outcomes"], typed["outcomes"]
    pos_acc = _unknown(rep, t, o["account_id"], acc.positions("outcomes", "account_id"), "account_id", "account",
                       raw["accounts"].file)
    _unreferenced(rep, raw["accounts"], typed["accounts"], acc, pos_acc, "account(s) have no outcomes")


def _unknown(rep, t, ids: pd.Series, positions: np.ndarray, column, what, target_file) -> np.ndarray:
    """Report ids not in the defining table (``positions`` -1 but not blank); return ``positions``."""
    bad = (positions < 0) & ids.notna().to_numpy()
    table = "accounts" if what == "account" else "stakeholders"
    rep.rows(t, bad, column, lambda p: [
        f"{what} {_show(ids.iloc[i])} is not in {table} ({target_file}); add it there or fix the id" for i in p])
    return positions


def _unreferenced(rep, t, df, ids: _IdRows, positions, what):
    """Warn about the ids of ``df`` (its first column, defined by ``ids``) that no row refers to."""
    used = np.zeros(ids.n, bool)
    used[positions[positions >= 0]] = True
    rep.summary(t, ids.first & ~used, df.columns[0], what, df[df.columns[0]])


def _response_warnings(rep, t, r, t_people, people, sh: _IdRows, pos_sh):
    scores = [c.name for c in TABLES["responses"].columns if c.name in ("nps", "csat", "ces", "neteasy", "trust", "cared_for")]
    given = np.zeros(len(r), bool)
    for c in scores + ["comment"]:
        given |= t.given.get(c, np.zeros(len(r), bool))
    empty = ~given
    rep.summary(t, empty, None, "response(s) have neither a score nor a comment (nothing to analyse)",
                r["stakeholder_id"])
    _unreferenced(rep, t_people, people, sh, pos_sh, "stakeholder(s) have no responses")
    # on int64 nanoseconds: a blank active_from is the smallest day and a blank active_to the largest
    # (no bound); an unknown respondent (row -1) takes the appended unbounded period
    nat, top = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    start = np.append(people["active_from"].to_numpy().view(np.int64), nat)
    end = people["active_to"].to_numpy().view(np.int64)
    end = np.append(np.where(end == nat, top, end), top)
    date = r["date"].to_numpy()
    day = date.view(np.int64)
    outside = (day != nat) & ((day < start[pos_sh]) | (day >= end[pos_sh]))
    rep.summary(t, outside, "date",
                "response(s) are dated outside the respondent's active period (before active_from or on/after active_to)",
                r["stakeholder_id"])
    today = pd.Timestamp.today().normalize()
    future = ~np.isnat(date) & (date >= (today + pd.Timedelta(days=1)).to_datetime64())
    rep.summary(t, future, "date",
                f"response(s) are dated after today ({today:%Y-%m-%d}); check them (the default as-of date "
                "ignores them)", r["stakeholder_id"])
