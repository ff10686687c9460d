"""Import a village from the exports of the tools people use (``cxinfluence import``).

Each reader turns one export into a :class:`~cxinfluence.village.importers.staging.Staged` (tables in village
column names, the source system's own ids). :func:`import_village` combines them:

1. **accounts** from the CRM (first non-blank value per column across sources); accounts that only
   appear as a contact's account are added (noted);
2. **people** from the CRM; survey tools add nothing but a role where the CRM has none (e.g.
   CustomerGauge's job level), unless they name the person's account; people without an account
   are left out (counted, listed);
3. **ties**: ``reports_to`` from each person's manager (Salesforce ``ReportsToId``), plus ties the
   sources give; a manager who is not among the people or sits in another account is left out (listed);
4. **responses**: survey answers joined to people by the contact id the survey carried
   (Qualtrics ``ExternalReference``, SurveyMonkey ``Custom Data 1``; a 15-character Salesforce id
   matches its 18-character form), then by e-mail (trimmed, case-insensitive; an e-mail shared by
   several people joins no one); the order is the mapping's ``join.keys``. Unmatched answers are
   listed with why;
5. **outcomes** from the CRM (renewals and bookings per period);
6. the **account team's workbook** (a ``Staged`` with source ``"team"``) overrides people's
   ``veto``, ``influence_rating`` and ``active_to`` and adds ties; an id it names that is not among
   the people is a located error.

The five tables are then checked by the validator that ``cxinfluence validate`` uses
(:func:`cxinfluence.village.validate.check_tables`), with every problem located in the export file and
row it came from, and roles are completed from job titles (:func:`cxinfluence.village.roles.complete_roles`).

Speed: each export is parsed once by pyarrow (only the columns used); ids are hashed by pyarrow and
each match is reused (the validator is handed the rows the combiner matched, so it hashes no id
again); no step does Python work per row. ``benchmarks/bench_import.py`` times the import against
``pandas.read_csv`` of the same files; :mod:`cxinfluence.village.importers.reference` keeps the plain
pandas versions of the rewritten steps, tested equal.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from ...exceptions import ImportDataError, Problem
from ..arrowpool import using_pool
from ..io import atomic_output, write_tables
from ..schema import ROLES
from ._common import booleans, lookup
from .customergauge import read_customergauge
from .gainsight import read_gainsight
from .generic import read_generic
from .hubspot import read_hubspot
from .mapping import join_keys, load_mapping
from .qualtrics import read_qualtrics
from .report import ImportReport
from .salesforce import read_salesforce
from .staging import COLUMNS, KEYS, Staged
from .surveymonkey import read_surveymonkey
from .team import read_team_workbook
from .team_template import write_team_template
from .validation import validate_import

__all__ = ["READERS", "ImportReport", "Staged", "combine", "import_village", "write_import", "write_team_template"]

CRM_SOURCES = ("salesforce", "hubspot", "gainsight")
SURVEY_SOURCES = ("qualtrics", "surveymonkey", "customergauge", "generic")


#: source -> its reader function
_READERS = {
    "salesforce": read_salesforce,
    "qualtrics": read_qualtrics,
    "surveymonkey": read_surveymonkey,
    "customergauge": read_customergauge,
    "generic": read_generic,
    "hubspot": read_hubspot,
    "gainsight": read_gainsight,
    "team": read_team_workbook,
}


def _reader(source):
    """The reader function of a source."""
    return _READERS[source]


READERS = CRM_SOURCES + SURVEY_SOURCES + ("team",)


def _paths(arg):
    if arg is None:
        return []
    if isinstance(arg, (str, Path)):
        return [arg]
    return list(arg)


def import_village(*, salesforce=(), qualtrics=(), surveymonkey=(), customergauge=(), hubspot=(), gainsight=(),
                   generic=(), team=(), mapping=None, role_rules=None):
    """Read exports and build a validated :class:`~cxinfluence.village.core.Village`.

    Parameters
    ----------
    salesforce, hubspot, gainsight : path or list of paths
        Folders of CRM object exports.
    qualtrics, surveymonkey, customergauge, generic : path or list of paths
        Survey export files.
    team : path or list of paths
        Filled account-team workbooks (``cxinfluence team-template``).
    mapping : path, dict or None
        The mapping file (TOML/YAML) or its parsed dict; see :mod:`cxinfluence.village.importers.mapping`.
    role_rules : optional
        Extra title -> role rules, as for :func:`cxinfluence.load_village`.

    Returns
    -------
    (Village, ImportReport)

    Raises
    ------
    ImportDataError
        Every problem at once, located by export file, row and column.
    MappingError
        The mapping file is malformed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cxinfluence.village.synth import make_village
    >>> from cxinfluence.village.importers.export import write_salesforce, write_qualtrics
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> v0, _ = make_village(3, seed=1)
    >>> ids = write_salesforce(v0, d / "sf")
    >>> _ = write_qualtrics(v0, d / "nps.csv", ids)
    >>> v, report = import_village(salesforce=d / "sf", qualtrics=d / "nps.csv")
    >>> len(v.accounts), len(v.stakeholders) == len(v0.stakeholders)
    (3, True)
    >>> report.counts["answers_unmatched"]
    0
    """
    with _system_allocator():
        return _import_village(salesforce=salesforce, qualtrics=qualtrics, surveymonkey=surveymonkey,
                               customergauge=customergauge, hubspot=hubspot, gainsight=gainsight, generic=generic,
                               team=team, mapping=mapping, role_rules=role_rules)


@contextmanager
def _system_allocator():
    """Let pyarrow allocate with the C library's malloc while importing (restored afterwards).

    The import makes many short-lived column buffers of a few MiB each; pyarrow's default allocator
    (mimalloc) hands such memory back to the operating system and faults it in again each time, which
    cost 0.6-1.0 s of system CPU time on the 10,000-account benchmark (about a third of the import);
    malloc keeps reusing it. Arrays allocated here stay valid after the switch back.
    """
    import pyarrow as pa

    with using_pool(pa.system_memory_pool()):
        yield


def _import_village(*, salesforce, qualtrics, surveymonkey, customergauge, hubspot, gainsight, generic, team, mapping,
                    role_rules):
    mapping = load_mapping(mapping)
    given = {"salesforce": salesforce, "hubspot": hubspot, "gainsight": gainsight, "qualtrics": qualtrics,
                 "surveymonkey": surveymonkey, "customergauge": customergauge, "generic": generic, "team": team}
    staged = []
    for source in READERS:
        for path in _paths(given[source]):
            staged.append(_reader(source)(path, mapping))
    if not staged:
        raise ImportDataError([Problem("import", "(no files)", None, None, "no export given; pass at least one source "
                                       "(e.g. --salesforce DIR --qualtrics FILE)")])
    return combine(staged, mapping=mapping, role_rules=role_rules)


# --------------------------------------------------------------------------- combining


def _provenance(df: pd.DataFrame, st: Staged) -> pd.DataFrame:
    out = df.copy()
    if "source_file" not in out:
        out["source_file"] = Path(st.path).name
    else:
        out["source_file"] = out["source_file"].fillna(Path(st.path).name).astype("str")
    if "source_row" not in out:
        out["source_row"] = np.arange(2, len(out) + 2)
    out["source"] = st.source
    return out


def _gather(staged, name, sources=None):
    frames = []
    for st in staged:
        df = st.tables.get(name)
        if df is None or (sources is not None and st.source not in sources):
            continue
        frames.append(_provenance(df, st))
    if not frames:
        return None
    out = pd.concat(frames, ignore_index=True)
    for c in COLUMNS[name]:
        if c not in out:
            out[c] = np.nan
    return out


def _dropped(report_rows, df, mask, table, reason):
    """Append the rows of ``df`` under ``mask`` to the dropped list; ``reason`` is a str or a Series."""
    mask = np.asarray(mask, bool)
    if not mask.any():
        return
    sub = df.loc[mask]
    reasons = reason.loc[mask].to_numpy() if isinstance(reason, pd.Series) else reason
    report_rows.append(pd.DataFrame({"source": sub["source"].to_numpy(), "file": sub["source_file"].to_numpy(),
                                     "row": sub["source_row"].to_numpy(), "table": table, "reason": reasons}))


def _check_keys(staged, problems):
    for st in staged:
        for name, df in st.tables.items():
            if name not in KEYS:
                problems.append(Problem(st.source, st.path, None, None, f"reader returned an unknown table {name!r}"))
                continue
            for k in KEYS[name]:
                if k not in df:
                    problems.append(Problem(st.source, st.path, None, k, f"the {name} read from this export lack '{k}'"))


def _codes(s: pd.Series) -> np.ndarray:
    """:func:`pandas.factorize` codes, without hashing a column that holds one value (a file or source name)."""
    if len(s) and s.notna().all() and (s == s.iloc[0]).all():
        return np.zeros(len(s), dtype=np.intp)
    return pd.factorize(s)[0]


def _first(df, key):
    """One row per ``key``: the first non-blank value of each column (sources in the order given)."""
    dup = df.duplicated(key, keep=False).to_numpy()
    if not dup.any():
        return df.reset_index(drop=True)
    single = df.loc[~dup]
    merged = df.loc[dup].groupby(key, sort=False, dropna=False).first().reset_index()
    return pd.concat([single, merged], ignore_index=True)


def combine(staged, mapping=None, role_rules=None):
    """Combine :class:`Staged` results into a validated village; see the module docstring.

    The steps, in order (each one's notes and dropped rows go to the report in that order): what
    each source read, said and dropped; people (CRM sources first, then people only a survey
    names); accounts (plus those only named by a person); ties (managers, the readers' own ties,
    the account-team workbooks); responses (answers joined to people); outcomes; validation.

    Returns ``(Village, ImportReport)``; raises :class:`~cxinfluence.exceptions.ImportDataError`.
    """
    mapping = mapping or {}
    report = ImportReport()
    problems = []
    _check_keys(staged, problems)
    if problems:
        raise ImportDataError(problems)
    drops = _source_reports(staged, report)
    team = [st for st in staged if st.source == "team"]
    staged = [st for st in staged if st.source != "team"]
    people = _combine_people(staged, report, drops)
    accounts = _combine_accounts(staged, people, report)
    people, ties = _combine_ties(staged, team, people, report, drops)
    responses = _combine_responses(staged, people, mapping, report, drops)
    outcomes = _combine_outcomes(staged, accounts, report, drops)
    report.dropped = pd.concat(drops, ignore_index=True) if drops else report.dropped
    tables = {
        "accounts": accounts,
        "stakeholders": people,
        "relationships": ties,
        "responses": responses,
        "outcomes": outcomes,
    }
    return validate_import(tables, report, role_rules)


def _source_reports(staged, report) -> list:
    """Each source's files and rows read and its notes into the report; its dropped rows as the first drops."""
    drops = []
    for st in staged:
        for f, n in st.rows_read.items():
            report.sources.append({"source": st.source, "file": str(f), "rows": int(n)})
        for t in st.notes:
            report.note(st.source, t)
        for d in st.dropped:
            drops.append(pd.DataFrame({"source": [st.source], "file": [d.get("file")], "row": [d.get("row")],
                                       "table": [d.get("table", "export")], "reason": [d.get("reason")]}))
    return drops


def _combine_people(staged, report, drops) -> pd.DataFrame:
    """One row per person with an account: the CRM sources' people (a contact id repeated within a source
    dropped), people only a survey export names (with their account) added, first non-blank value per id."""
    crm = [st for st in staged if st.source not in SURVEY_SOURCES]
    people = _gather(staged, "people", sources=[st.source for st in crm])
    extra = _gather(staged, "people", sources=SURVEY_SOURCES)
    if people is None and extra is None:
        raise ImportDataError([Problem("import", "(no CRM export)", None, None,
                                       "no people were read: give a CRM export (--salesforce, --hubspot or --gainsight) "
                                       "that lists the contacts, or a survey export that names each person's account")])
    if people is None:
        people = extra.iloc[:0].copy()
    one_source = _codes(people["source"]).max(initial=0) == 0
    dup = (people["stakeholder_id"].duplicated(keep="first") if one_source
           else people.duplicated(["stakeholder_id", "source"], keep="first")).to_numpy()  # one source: ids alone
    _dropped(drops, people, dup, "stakeholders", "the same contact id appears twice in this source's export(s); the first row is kept")
    people = people.loc[~dup]
    if extra is not None:
        known = lookup(extra["stakeholder_id"], people["stakeholder_id"].dropna().unique()) >= 0
        new = ~known & extra["account_id"].notna().to_numpy()
        if new.any():
            report.note("import", f"{int(new.sum())} person(s) known only from a survey export (with their account) added")
        people = pd.concat([people, extra.loc[known | new]], ignore_index=True)
    people = people.dropna(subset=["stakeholder_id"])
    unique = one_source and extra is None  # then the ids are already unique (repeats were dropped above)
    people = people.reset_index(drop=True) if unique else _first(people, "stakeholder_id")
    no_acc = people["account_id"].isna().to_numpy()
    report.counts["people_without_account"] = int(no_acc.sum())
    _dropped(drops, people, no_acc, "stakeholders", "person has no account (blank AccountId); a person must belong to an account")
    return people.loc[~no_acc].reset_index(drop=True)


def _combine_accounts(staged, people, report) -> pd.DataFrame:
    """One row per account: the account exports (first non-blank value per id), plus a bare row for each
    account only named as a person's."""
    accounts = _gather(staged, "accounts")
    if accounts is None:
        accounts = pd.DataFrame({c: pd.Series(dtype="str") for c in COLUMNS["accounts"]})
        accounts["source"], accounts["source_file"], accounts["source_row"] = "import", "", 0
    accounts = _first(accounts.dropna(subset=["account_id"]), "account_id")
    missing = pd.Index(people["account_id"].unique()).difference(pd.Index(accounts["account_id"]))
    if len(missing):
        stub_rows = people.drop_duplicates("account_id").set_index("account_id").loc[missing]
        stub = pd.DataFrame({"account_id": missing.astype("str"), "source": stub_rows["source"].to_numpy(),
                             "source_file": stub_rows["source_file"].to_numpy(), "source_row": stub_rows["source_row"].to_numpy()})
        accounts = pd.concat([accounts, stub], ignore_index=True)
        report.note("import", f"{len(missing)} account(s) appear only as a person's account (not in the account export): "
                    f"added without name or segment, e.g. {', '.join(map(str, missing[:5]))}")
    return accounts


def _combine_ties(staged, team, people, report, drops) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(people, ties)``: reports-to ties from managers, the readers' own ties and the account-team
    workbooks' (whose values also override people's), each tie once; notes what the graph lacks."""
    ties = _reports_to(people, drops, report)
    given_ties = _gather(staged, "ties")
    if given_ties is not None:
        ties = pd.concat([ties, given_ties], ignore_index=True)
    if team:
        people, ties = _apply_team(team, people, ties, report)
    dup = ties.duplicated(["source_id", "target_id", "kind"], keep="first").to_numpy()
    _dropped(drops, ties, dup, "relationships", "the same tie is given twice; the first is kept")
    ties = ties.loc[~dup].reset_index(drop=True)
    if not ties["kind"].astype("str").str.strip().str.lower().eq("influences").any():
        report.note("import", "could not map influence ties: the graph has reports-to ties only (standard CRM objects "
                    "do not record who influences whom); record them in the account-team workbook (cxinfluence team-template)")
    if "veto" not in people or people["veto"].isna().all():
        report.note("import", "veto not in the exports: it defaults by role (deciders and gatekeepers); record it in the "
                    "account-team workbook")
    return people, ties


def _combine_responses(staged, people, mapping, report, drops) -> pd.DataFrame:
    """The survey answers joined to people (with the person's row in ``_row_of``), or an empty table."""
    answers = _gather(staged, "answers")
    responses = _join(answers, people, mapping, drops, report) if answers is not None else None
    if responses is None:
        responses = pd.DataFrame({c: pd.Series(dtype="str") for c in ["stakeholder_id", "date", "source", "source_file", "source_row"]})
        responses["date"] = pd.Series(dtype="datetime64[ns]")
        responses["_row_of"] = pd.Series(dtype=np.int64)
        report.note("import", "no survey answers imported: the village has no responses")
    return responses


def _combine_outcomes(staged, accounts, report, drops) -> pd.DataFrame:
    """One outcome per account and period (the first source's), of known accounts (row in ``_account_row_of``)."""
    outcomes = _gather(staged, "outcomes")
    if outcomes is None:
        outcomes = pd.DataFrame({c: pd.Series(dtype="str") for c in ["account_id", "source", "source_file", "source_row"]})
        outcomes["period_end"] = pd.Series(dtype="datetime64[ns]")
        outcomes["renewed"] = pd.Series(dtype="float64")
        outcomes["_account_row_of"] = pd.Series(dtype=np.int64)
        report.note("import", "no outcomes (renewals) imported: give the CRM's opportunities (Opportunity.csv) to model rebuying")
        return outcomes
    outcomes["period_end"] = pd.to_datetime(outcomes["period_end"])
    dup = outcomes.duplicated(["account_id", "period_end"], keep="first").to_numpy()
    _dropped(drops, outcomes, dup, "outcomes", "a second outcome for the same account and period (from another source); the first is kept")
    outcomes = outcomes.loc[~dup]
    outcomes["_account_row_of"] = lookup(outcomes["account_id"], accounts["account_id"])
    unknown = (outcomes["_account_row_of"] < 0).to_numpy()
    _dropped(drops, outcomes, unknown, "outcomes", "the opportunity's account is not among the accounts (no contacts there)")
    return outcomes.loc[~unknown].reset_index(drop=True)


def _reports_to(people, drops, report):
    cols = ["stakeholder_id", "manager_id", "source", "source_file", "source_row"]  # only what the ties need
    p = people.loc[people["manager_id"].notna(), cols] if "manager_id" in people else people.iloc[:0]
    pos = lookup(p["manager_id"], people["stakeholder_id"])
    unknown = pos < 0
    if unknown.any():
        m = p["manager_id"].where(unknown)
        reason = "ReportsToId '" + m.astype(str) + ("' is not among the imported people (the manager's contact is missing "
                                                    "from the export or has no account)")
        _dropped(drops, p, unknown, "relationships", reason)
    acc_code = pd.factorize(people["account_id"])[0]  # compare accounts as integers
    # ids are unique here, so p's rows are its positions among people
    own = acc_code[np.flatnonzero(people["manager_id"].notna().to_numpy())] if "manager_id" in people else acc_code[:0]
    cross = ~unknown & (acc_code[np.where(unknown, 0, pos)] != own)
    _dropped(drops, p, cross, "relationships", "the manager (ReportsToId) is in another account; ties stay inside one account")
    self_ = ~unknown & (p["manager_id"] == p["stakeholder_id"]).to_numpy()  # both never blank here
    _dropped(drops, p, self_ & ~cross, "relationships", "ReportsToId is the contact itself")
    ok = ~unknown & ~cross & ~self_
    rows = np.flatnonzero(people["manager_id"].notna().to_numpy())[ok]  # rows of the people each tie joins
    t = p.loc[ok]
    report.note("import", f"{int(ok.sum())} reports_to tie(s) from managers (ReportsToId / Manager)")
    t = t.reset_index(drop=True)  # columns passed as Series: text stays in Arrow (no Python string per row)
    return pd.DataFrame({"source_id": t["stakeholder_id"], "target_id": t["manager_id"],
                         "kind": "reports_to", "weight": 1.0, "source": t["source"],
                         "source_file": t["source_file"], "source_row": t["source_row"].to_numpy(),
                         "_source_row_of": rows, "_target_row_of": pos[ok]})


def _apply_team(team, people, ties, report):
    """Overlay the account-team workbook(s): veto, influence_rating, active_to, ties. Unknown ids are errors."""
    problems = []
    ids = pd.Index(people["stakeholder_id"])
    for st in team:
        tp = st.tables.get("people")
        if tp is not None and len(tp):
            tp = _provenance(tp, st)
            pos = ids.get_indexer(tp["stakeholder_id"])
            for i in np.flatnonzero(pos < 0)[:200]:
                problems.append(Problem("team", str(tp["source_file"].iloc[i]), int(tp["source_row"].iloc[i]), "stakeholder_id",
                                        f"person {tp['stakeholder_id'].iloc[i]!r} is not among the imported people; fix the id "
                                        "or remove the row (the template lists the people the import brought in)"))
            ok = pos >= 0
            changed = 0
            for col in ("veto", "influence_rating", "active_to", "active_from", "role"):
                if col not in tp:
                    continue
                v, bad, expected = _team_values(tp[col], col)
                for i in np.flatnonzero(bad & ok)[:200]:
                    problems.append(Problem("team", str(tp["source_file"].iloc[i]), int(tp["source_row"].iloc[i]), col,
                                            f"{tp[col].iloc[i]!r} is not valid; {col} takes {expected}"))
                given = ok & pd.notna(v) & ~bad
                if not given.any():
                    continue
                if col not in people:
                    people[col] = np.nan
                cur = people[col].to_numpy(dtype=object).copy()
                cur[pos[given]] = v[given]
                people[col] = cur
                changed += int(given.sum())
            report.note("team", f"{Path(st.path).name}: {changed} value(s) of veto, influence rating, departure or role "
                        "set from the account-team workbook (they override the CRM)")
        tt = st.tables.get("ties")
        if tt is not None and len(tt):
            tt = _provenance(tt, st)
            for end in ("source_id", "target_id"):
                bad = ~tt[end].isin(ids).to_numpy()
                for i in np.flatnonzero(bad)[:200]:
                    problems.append(Problem("team", str(tt["source_file"].iloc[i]), int(tt["source_row"].iloc[i]), end,
                                            f"person {tt[end].iloc[i]!r} is not among the imported people; fix the id"))
            ties = pd.concat([ties, tt], ignore_index=True)
            report.note("team", f"{Path(st.path).name}: {len(tt)} tie(s) from the account-team workbook")
    if problems:
        raise ImportDataError(problems, source="account-team workbook")
    return people, ties  # values are typed (and bad ones located) by the validation that follows


def _team_values(s: pd.Series, col):
    """Typed values of one column of the account-team workbook, the rows that are not valid, and what is expected."""
    raw = s.astype(object)
    given = raw.notna() & raw.map(lambda x: not (isinstance(x, str) and not x.strip()))  # workbook rows: small
    if col in ("active_to", "active_from"):
        v = pd.to_datetime(raw.where(given), errors="coerce", format="mixed").dt.normalize()
        return v.to_numpy(dtype=object), (given & v.isna()).to_numpy(), "a date (YYYY-MM-DD) or blank"
    if col == "influence_rating":
        v = pd.to_numeric(raw.where(given), errors="coerce")
        bad = given & ~v.between(1, 5)
        return v.to_numpy(dtype=object), bad.to_numpy(), "a number from 1 to 5 or blank"
    if col == "veto":
        v = raw.where(raw.map(lambda x: isinstance(x, bool)), booleans(raw.astype("str")))
        return v.to_numpy(dtype=object), (given & v.isna()).to_numpy(), "yes/no (true/false) or blank"
    v = raw.astype("str").str.strip().str.lower()
    return v.to_numpy(dtype=object), (given & ~v.isin(list(ROLES))).to_numpy(), f"one of {', '.join(ROLES)} or blank"


def _salesforce15(people_ids: pd.Series) -> dict:
    """15-character prefix -> 18-character id, for ids that look like Salesforce's (unique prefixes only)."""
    ids = people_ids[people_ids.str.len() == 18]
    pre = ids.str.slice(0, 15)
    ok = ~pre.duplicated(keep=False)
    return pd.Series(ids[ok].to_numpy(), index=pre[ok].to_numpy())


def _join(answers, people, mapping, drops, report):
    """Answers -> responses with a stakeholder_id (contact id, then e-mail); unmatched answers listed."""
    n = len(answers)
    report.counts["answers_read"] = n
    # the same response id twice in one file: compare (file, id) as one integer per row
    files, rids = _codes(answers["source_file"]), pd.factorize(answers["response_id"])[0]
    pair = files.astype(np.int64) * (int(rids.max(initial=0)) + 2) + rids
    dup = (rids >= 0) & pd.Series(pair).duplicated().to_numpy()
    _dropped(drops, answers, dup, "responses", "the same response id appears twice in this file; the first is kept")
    answers = answers.loc[~dup].reset_index(drop=True)
    who = np.full(len(answers), -1, dtype=np.int64)
    how = np.full(len(answers), "", dtype=object)
    ids = people["stakeholder_id"].reset_index(drop=True)
    cid = answers["contact_id"].astype("str") if "contact_id" in answers else pd.Series(np.nan, index=answers.index, dtype="str")
    mail = answers["email"].astype("str").str.strip().str.lower() if "email" in answers else pd.Series(np.nan, index=answers.index, dtype="str")
    pmail = people["email"].astype("str").str.strip().str.lower() if "email" in people else pd.Series(np.nan, index=people.index, dtype="str")
    twice = (pmail.notna() & pmail.duplicated(keep=False)).to_numpy()  # an e-mail several people share joins no one
    shared = pmail[twice].unique().tolist()
    keep = pmail.notna().to_numpy() & ~twice
    mail_rows = np.flatnonzero(keep)
    for key in join_keys(mapping):
        todo = who < 0
        if key == "contact_id":
            pos = lookup(cid, ids)
            short = (pos < 0) & (cid.str.len() == 15).to_numpy()
            if short.any():
                full = cid[short].map(_salesforce15(people["stakeholder_id"].astype("str")))
                pos[short] = lookup(full, ids)
                if (pos[short] >= 0).any():
                    report.note("import", f"{int((pos[short] >= 0).sum())} response(s) carried a 15-character Salesforce id; "
                                "matched to the 18-character form")
        else:  # only the answers still unmatched are looked up (the rest would not be used)
            pos = np.full(len(answers), -1, dtype=np.int64)
            rest = np.flatnonzero(todo)
            at = lookup(mail.iloc[rest], pmail.iloc[mail_rows])
            pos[rest] = np.where(at >= 0, mail_rows[np.maximum(at, 0)] if len(mail_rows) else -1, -1)
        hit = todo & (pos >= 0)
        who[hit] = pos[hit]
        how[hit] = key
    report.counts["joined_by_contact_id"] = int((how == "contact_id").sum())
    report.counts["joined_by_email"] = int((how == "email").sum())
    miss = who < 0
    report.counts["answers_unmatched"] = int(miss.sum())
    report.counts["answers_joined"] = int((~miss).sum())
    if miss.any():
        m = answers.loc[miss]
        c, e = cid[miss], mail[miss]
        use_id = "contact_id" in join_keys(mapping)
        use_mail = "email" in join_keys(mapping)
        reason = np.where(
            c.isna() & e.isna(), "the response carries neither a contact id nor an e-mail",
            np.where(e.notna() & e.isin(list(shared)) & use_mail,
                     "e-mail '" + e.fillna("") + "' belongs to several people; add the contact id to the survey",
                     np.where(c.notna() & use_id, "contact id '" + c.fillna("") + "' is not among the imported people"
                              + np.where(e.notna(), " and e-mail '" + e.fillna("") + "' matches no one", ""),
                              "e-mail '" + e.fillna("") + "' matches no one")))
        _dropped(drops, m, np.ones(len(m), bool), "responses", pd.Series(reason, index=m.index))
    out = answers.loc[~miss].reset_index(drop=True)
    out["stakeholder_id"] = ids.take(who[~miss]).reset_index(drop=True).astype("str")  # Arrow take: no Python strings
    out["_row_of"] = who[~miss]  # the person's row, so validation need not match the ids again
    return out


def write_import(village, report, out, *, overwrite=False):
    """Write an imported village (CSV) and its report (``import_report.md``, ``import_log.csv``) atomically.

    The village is written as imported: roles from picklists, blank where the job title is to decide
    (inferred again by every command that loads it), so the roles' source stays visible.
    """
    tables = report.tables if report.tables is not None else village.tables()
    with atomic_output(out, overwrite=overwrite, is_dir=True) as tmp:
        write_tables(tables, tmp, format="csv")
        report.write(tmp)
    return Path(out)
