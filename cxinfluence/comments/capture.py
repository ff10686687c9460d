"""Informal comments: capture, themes, comment sentiment, routing, recurrence.

Seed 001, key 3: *"Make it easy to capture informal comments. Then stream
informal feedback to relevant groups throughout your company. Establish cadence
& methodology for originators to prevent issue recurrence. Motivate actions
and follow-through on informal inputs."* This module is that loop:

1. **Capture** -- account-team notes, call remarks and e-mails are typed into
   the CSV template (:func:`template_path`), read and checked with
   :func:`read_comments` and appended to a village's ``responses`` table with
   :func:`append_comments` (validated, locked, atomic: never a half-written or
   corrupted file).
2. **Themes** -- :func:`tag_themes` tags each comment from a rule table
   (``rules/themes.csv``) users extend; :func:`comment_sentiment` scores the
   text with VADER plus documented B2B adjustments.
3. **Routing** -- :func:`action_list` routes every recent comment to the group
   that owns its theme (``rules/routing.csv``) and ranks it by
   ``influence x negativity x revenue at stake``; :func:`action_summary` is
   each group's queue and :func:`theme_summary` what customers talk about
   (:func:`comment_table` is the tagged comment table underneath).
4. **Recurrence and follow-through** -- :func:`recurrence` flags a theme
   coming back in the same account period after period;
   :func:`follow_through` reports time to close (Kaplan-Meier, open items
   censored) and themes that came back after being closed
   (:func:`follow_through_items` per comment).

Customer text is kept exactly as written; escaping it is the renderer's job.
"""

from __future__ import annotations

import csv
import math
import os
import re
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..village.asof import DEFAULT_WINDOW_DAYS, check_window, resolve_as_of, to_timestamp, window_mask
from ..exceptions import CommentError, Problem, VillageError, VillageWarning
from ..village.schema import CHANNELS, JOURNEY_STAGES, SCORE_RANGES
from ..village.ids import blank_texts, distinct_text
from ..village.scale import response_sentiment
from ..sentiment.tone import comment_sentiment
from ..village.files import lock, write_file_atomically

# --------------------------------------------------------------------------- capture

#: Follow-up states of a comment, in workflow order.
STATUSES = ("open", "in_progress", "closed")

#: Columns of the capture template and what goes in them.
TEMPLATE_COLUMNS = {
    "stakeholder_id": "required: the person who said it (an id from the village's stakeholders)",
    "date": "required: when it was said, YYYY-MM-DD",
    "comment": "required: what was said, as close to their words as possible",
    "channel": "survey, informal or interview; blank means informal",
    "touchpoint": "optional: delivery, support, billing, ... (free text)",
    "journey_stage": "optional: " + ", ".join(JOURNEY_STAGES),
    "nps": "optional score 0-10",
    "csat": "optional score 1-5",
    "ces": "optional score 1-5 (1 = very low effort)",
    "neteasy": "optional score 1-7 (1 = extremely easy)",
    "trust": "optional score 1-5",
    "cared_for": "optional score 1-5",
    "status": "optional follow-up state: open, in_progress or closed",
    "status_date": "optional: date of the latest status change (the closing date when closed), YYYY-MM-DD",
    "owner_group": "optional: group following it up (e.g. logistics)",
    "captured_by": "optional: who noted it or how (account manager, call note, e-mail); kept as text",
}
REQUIRED = ("stakeholder_id", "date", "comment")
_DATE_COLUMNS = ("date", "status_date")
_TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def template_path() -> Path:
    """Path of the capture template ``templates/informal_comments.csv``.

    Copy it, replace the two example rows with real comments (one per row),
    and pass the file to :func:`read_comments` or :func:`append_comments`.
    The columns are described in :data:`TEMPLATE_COLUMNS`.

    Examples
    --------
    >>> template_path().name
    'informal_comments.csv'
    >>> list(read_comments(template_path()).columns[:3])
    ['stakeholder_id', 'date', 'comment']
    """
    return Path(str(resources.files(__package__) / "templates" / "informal_comments.csv"))


def _blank(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.StringDtype):  # text column: strip each distinct value once
        codes, uniq = distinct_text(s)
        return pd.Series(blank_texts(uniq)[codes], index=s.index, name=s.name)
    return s.isna() | s.astype(object).map(lambda v: isinstance(v, str) and not v.strip())


def _text(s: pd.Series) -> pd.Series:
    """Strings stripped, blanks as NaN (object dtype)."""
    out = s.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
    return out.where(~_blank(s), np.nan)


def _parse_dates(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.tz_localize(None) if isinstance(s.dtype, pd.DatetimeTZDtype) else s
        return out.astype("datetime64[ns]")
    txt = _text(s).map(lambda v: v.isoformat() if isinstance(v, pd.Timestamp) else v)
    return pd.to_datetime(txt, errors="coerce", format="ISO8601").astype("datetime64[ns]")


def _check(data: pd.DataFrame, source, rows):
    """Typed comments and the list of problems (not raised)."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data is a {type(data).__name__}; expected a pandas DataFrame of comments")
    df = data.reset_index(drop=True)
    df.columns = [_snake(c) for c in df.columns]
    rows = list(range(2, len(df) + 2)) if rows is None else [int(r) for r in rows]
    problems: list[Problem] = []

    def add(mask, column, message):
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            msg = message(i) if callable(message) else message
            problems.append(Problem("responses", str(source), rows[i], column, msg))

    missing = [c for c in REQUIRED if c not in df.columns]
    for c in missing:
        problems.append(Problem("responses", str(source), None, c,
                                f"required column is missing; the template's columns are {list(TEMPLATE_COLUMNS)}"))
    dupes = df.columns[df.columns.duplicated()].unique().tolist()
    for c in dupes:
        problems.append(Problem("responses", str(source), None, c, "appears more than once in the header; keep one"))
    if missing or dupes:
        return None, problems

    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        out[col] = _text(df[col]) if col not in _DATE_COLUMNS and col not in SCORE_RANGES else df[col]

    add(_blank(df["stakeholder_id"]), "stakeholder_id", "is blank; every row needs the id of the person who said it")
    out["stakeholder_id"] = out["stakeholder_id"].map(lambda v: v if pd.isna(v) else str(v))
    for col in (c for c in _DATE_COLUMNS if c in df.columns):
        parsed = _parse_dates(df[col])
        bad = parsed.isna() & ~_blank(df[col])
        add(bad, col, lambda i, col=col: f"{df[col].iloc[i]!r} is not a date; expected YYYY-MM-DD, e.g. 2024-06-30")
        if col == "date":
            add(_blank(df[col]), col, "is blank; every row needs the date the comment was made")
        out[col] = parsed
    add(_blank(df["comment"]), "comment", "is blank; every row needs the comment text")

    for col in (c for c in SCORE_RANGES if c in df.columns):
        lo, hi = SCORE_RANGES[col]
        num = pd.to_numeric(_text(df[col]), errors="coerce").astype("float64")
        non_numeric = num.isna() & ~_blank(df[col])
        add(non_numeric, col, lambda i, col=col, lo=lo, hi=hi: f"{df[col].iloc[i]!r} is not a number; "
                                                                f"expected a whole number from {lo} to {hi}, or blank")
        bad = num.notna() & ((num < lo) | (num > hi) | (num != np.round(num)))
        add(bad, col, lambda i, num=num, lo=lo, hi=hi: f"{_fmt_num(num.iloc[i])} is out of range; "
                                                       f"expected a whole number from {lo} to {hi}")
        out[col] = num

    channel = out["channel"] if "channel" in out else pd.Series(np.nan, index=out.index, dtype=object)
    channel = channel.map(lambda v: v.lower() if isinstance(v, str) else "informal").astype(object)
    add(~channel.isin(CHANNELS), "channel",
        lambda i: f"{channel.iloc[i]!r} is not a channel; expected one of {list(CHANNELS)} (blank = informal)")
    out["channel"] = channel
    if "journey_stage" in out:
        stage = out["journey_stage"].map(lambda v: v.lower() if isinstance(v, str) else v)
        add(stage.notna() & ~stage.isin(JOURNEY_STAGES), "journey_stage",
            lambda i: f"{stage.iloc[i]!r} is not a journey stage; expected one of {list(JOURNEY_STAGES)} or blank")
        out["journey_stage"] = stage
    if "status" in out:
        status = out["status"].map(lambda v: re.sub(r"[\s\-]+", "_", v.lower()) if isinstance(v, str) else v)
        add(status.notna() & ~status.isin(STATUSES), "status",
            lambda i: f"{out['status'].iloc[i]!r} is not a status; expected one of {list(STATUSES)} or blank")
        out["status"] = status
        if "status_date" in out:
            add((status == "closed") & _blank(df["status_date"]), "status_date",
                "is blank but status is 'closed'; give the closing date so time to close can be measured")
            add(out["status_date"] < out["date"], "status_date",
                lambda i: f"{out['status_date'].iloc[i]:%Y-%m-%d} is before the comment's date "
                          f"{out['date'].iloc[i]:%Y-%m-%d}; a status cannot change before the comment was made")
        else:
            add(status == "closed", "status_date",
                "column is missing but status is 'closed'; add status_date (the closing date)")
    return out, problems


def check_comments(data: pd.DataFrame, *, source="new_comments", rows=None) -> pd.DataFrame:
    """Check and type comment rows; raise :class:`CommentError` listing every problem.

    These are the template's own checks (required columns and values, dates,
    score ranges, channel, journey stage, follow-up status). Whether the
    stakeholders exist is checked against a village by :func:`append_comments`.

    Parameters
    ----------
    data : DataFrame
        Comment rows (strings from a CSV, or already typed values). Columns as
        in :data:`TEMPLATE_COLUMNS`, matched case-insensitively; unknown extra
        columns are kept.
    source : str
        Name used in problem messages (the file name).
    rows : sequence of int, optional
        Row number of each row as the user sees it (spreadsheet row; the
        header is row 1). Default: ``2, 3, ...``.

    Returns
    -------
    DataFrame
        A new typed frame: ids and text as strings, ``date``/``status_date``
        as ``datetime64[ns]``, scores as ``float64``, ``channel`` defaulting to
        ``informal``, ``status`` normalised (``"In progress"`` ->
        ``in_progress``).

    Examples
    --------
    >>> df = pd.DataFrame({"stakeholder_id": ["s1", "s2"], "date": ["2024-03-01", "2024-13-01"],
    ...                    "comment": ["late again", ""], "nps": ["7", "11"]})
    >>> try:
    ...     check_comments(df, source="notes.csv")
    ... except CommentError as err:
    ...     print(err)
    3 problem(s) in comments notes.csv:
      - notes.csv, row 3, column 'date': '2024-13-01' is not a date; expected YYYY-MM-DD, e.g. 2024-06-30
      - notes.csv, row 3, column 'comment': is blank; every row needs the comment text
      - notes.csv, row 3, column 'nps': 11 is out of range; expected a whole number from 0 to 10
    >>> check_comments(df.iloc[:1]).dtypes["date"]
    dtype('<M8[ns]')
    """
    typed, problems = _check(data, source, rows)
    if problems:
        raise CommentError(problems, source)
    return typed



def _snake(name) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _read_raw(path):
    """The template as strings plus spreadsheet row numbers (cxinfluence.village.io's CSV reader)."""
    from ..village.io import read_csv_table

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path={str(path)!r} is not a file; expected a filled copy of {template_path()}")
    t = read_csv_table(path, name="responses")
    if t.problems:
        raise CommentError(t.problems, t.file)
    return t.data, t.rows, t.file


def read_comments(path) -> pd.DataFrame:
    """Read and check a filled capture template (CSV, UTF-8).

    Parameters
    ----------
    path : str or Path
        A CSV file with the template's columns (see :func:`template_path`
        and :data:`TEMPLATE_COLUMNS`): ``stakeholder_id``, ``date`` and
        ``comment`` are required; scores, ``touchpoint``, ``journey_stage``,
        ``channel`` (blank = ``informal``) and the follow-up columns
        ``status``, ``status_date``, ``owner_group`` are optional; any other
        column (e.g. ``captured_by``) is kept. Header names are matched
        case-insensitively (``Stakeholder ID`` works). Blank rows are skipped.

    Returns
    -------
    DataFrame
        Typed comments (see :func:`check_comments`). The stakeholders are
        checked against a village only by :func:`append_comments`.

    Raises
    ------
    CommentError
        Every problem at once, each naming the file, the row (as a spreadsheet
        numbers it: the header is row 1) and the column; a file that is not
        UTF-8 or has ragged rows is reported the same way.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "notes.csv"
    >>> _ = p.write_text('stakeholder_id,date,comment\\ns1,2024-03-01,"Late again, second time"\\n')
    >>> read_comments(p)[["stakeholder_id", "channel", "comment"]]
      stakeholder_id   channel                  comment
    0             s1  informal  Late again, second time
    """
    data, rows, source = _read_raw(path)
    return check_comments(data, source=source, rows=rows)


def _responses_file(village_path: Path) -> Path:
    if village_path.is_file():
        raise ValueError(f"village_path={str(village_path)!r} is a file; appending needs a village folder of CSV or "
                         "Parquet files (convert an .xlsx village with cxinfluence.village.io.write_village(..., format='csv'))")
    if not village_path.is_dir():
        raise FileNotFoundError(f"village_path={str(village_path)!r} is not a folder; expected a village folder")
    found = [p for p in village_path.iterdir() if p.stem.lower() == "responses" and p.suffix.lower() in _TABLE_SUFFIXES]
    if len(found) != 1:
        raise ValueError(f"village_path={str(village_path)!r} holds {len(found)} responses files "
                         f"({[p.name for p in found]}); expected exactly one responses.csv or responses.parquet")
    return found[0]


def _cell(v) -> str:
    """One value as CSV text, in the format cxinfluence.village.io writes."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d") if v == v.normalize() else v.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _append_csv(target: Path, new: pd.DataFrame) -> None:
    raw = target.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text[:65536] else "\n"
    records = list(csv.reader(text.splitlines(keepends=True)))
    header = records[0] if records else []
    from ..village.csvsafe import neutralise_cell, restore_cell

    # the file's header as load_village reads it (cxinfluence neutralises formula-like names; csvsafe)
    extra = [c for c in new.columns if c not in {restore_cell(h) for h in header}]
    columns = [restore_cell(h) for h in header] + extra
    # text a spreadsheet would run as a formula gets a leading ' (load_village removes it again)
    body = [[neutralise_cell(_cell(v)) for v in row] for row in new.reindex(columns=columns).itertuples(index=False)]

    def write(tmp):
        with open(tmp, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator=newline)
            if extra or not records:
                # New columns: rewrite the existing rows cell for cell, padded with blanks.
                w.writerow(header + [neutralise_cell(c) for c in extra])
                w.writerows(rec + [""] * (len(columns) - len(rec)) for rec in records[1:])
            else:
                # Same columns: the existing text is kept byte for byte.
                fh.write(text if text.endswith(("\n", "\r")) or not text else text + newline)
            # a lone carriage return is not quoted with "\n" line ends: quote such a row whole
            quoted = csv.writer(fh, lineterminator=newline, quoting=csv.QUOTE_ALL)
            for row in body:
                (quoted if any("\r" in c for c in row) else w).writerow(row)
        # Re-read what was written: the row count must be exactly old + new.
        with open(tmp, encoding="utf-8-sig", newline="") as fh:
            n = sum(1 for _ in csv.reader(fh)) - 1
        if n != len(records) - 1 + len(body):
            raise OSError(f"integrity check failed writing {target}: {n} rows, expected {len(records) - 1 + len(body)}")

    write_file_atomically(target, write)


def _append_parquet(target: Path, new: pd.DataFrame) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    old = pq.read_table(target)
    cols = {}
    for name in new.columns:
        s = new[name]
        if name in old.schema.names:
            typ = old.schema.field(name).type
            if pa.types.is_string(typ) or pa.types.is_large_string(typ):
                s = s.map(lambda v: None if pd.isna(v) else _cell(v)).astype(object)
            arr = pa.array(s.astype(object).where(s.notna(), None).tolist() if s.dtype == object else s,
                           from_pandas=True)
            cols[name] = arr.cast(typ)
        else:
            cols[name] = pa.array(s.astype(object).where(s.notna(), None).tolist() if s.dtype == object else s,
                                  from_pandas=True)
    added = pa.table(cols)
    merged = pa.concat_tables([old, added], promote_options="default")
    # Keep the existing column order, new columns at the end.
    merged = merged.select(old.schema.names + [c for c in added.schema.names if c not in old.schema.names])
    if merged.num_rows != old.num_rows + added.num_rows:
        raise OSError(f"integrity check failed writing {target}")
    write_file_atomically(target, lambda tmp: pq.write_table(merged, tmp))


def append_comments(village_path, new_comments, *, on_duplicate="error", timeout=60.0) -> pd.DataFrame:
    """Append comments to a village's ``responses`` file, validated and atomically.

    The new rows get the template's checks (:func:`check_comments`) and the
    village's own (:func:`cxinfluence.village.validate.check_tables`, run on the
    village's tables with the new rows as its responses: the stakeholder must
    exist, scores in range, ...), all problems reported at once; then they
    are appended
    to ``responses.csv`` or ``responses.parquet`` under an exclusive
    lock (:func:`cxinfluence.village.files.lock`, ``.responses.lock`` in the village folder) so concurrent
    appends never interleave or lose rows. The new file is written to a
    temporary file beside the old one, re-read to check its row count,
    fsync'ed and renamed over the old one with :func:`os.replace` (atomic on
    POSIX): readers see the old file or the new one, never a mix, and any
    failure leaves the old file byte-identical.

    When the new rows have the same columns as the CSV, the existing text is
    kept byte for byte and the rows are added at the end (dates as
    ``YYYY-MM-DD``, whole numbers without ``.0``, as
    :func:`cxinfluence.village.io.write_village` writes them). Columns the file does
    not have yet (e.g. ``comment`` or ``status``) are added, blank for the
    existing rows.

    Parameters
    ----------
    village_path : str or Path
        A village folder of CSV or Parquet files (an ``.xlsx`` village cannot
        be appended to; convert it to a folder first).
    new_comments : DataFrame or str or Path
        Comment rows, or the path of a filled template (read with
        :func:`read_comments`).
    on_duplicate : {"error", "skip", "keep"}, default "error"
        A row whose ``stakeholder_id``, ``date`` and ``comment`` are already in
        the village (e.g. the same file appended twice): ``"error"`` raises
        :class:`CommentError` naming the rows, ``"skip"`` leaves those rows
        out, ``"keep"`` appends them anyway.
    timeout : float, default 60
        Seconds to wait for another append to finish before giving up.

    Returns
    -------
    DataFrame
        The typed rows that were appended.

    Raises
    ------
    CommentError
        Every problem with the new rows at once (nothing is written).
    VillageError
        The existing village itself is invalid (nothing is written).

    Warns
    -----
    VillageWarning
        New rows dated outside the stakeholder's active period (kept).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cxinfluence.village.io import write_village
    >>> from cxinfluence.village.core import Village
    >>> v = Village(accounts=pd.DataFrame({"account_id": ["a"]}),
    ...             stakeholders=pd.DataFrame({"stakeholder_id": ["s1"], "account_id": ["a"]}),
    ...             relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...             responses=pd.DataFrame({"stakeholder_id": ["s1"], "date": pd.to_datetime(["2024-01-05"]),
    ...                                     "nps": [9.0]}),
    ...             outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> folder = write_village(v, pathlib.Path(tempfile.mkdtemp()) / "v")
    >>> new = pd.DataFrame({"stakeholder_id": ["s1"], "date": ["2024-02-01"], "comment": ["Invoice wrong again"]})
    >>> len(append_comments(folder, new))
    1
    >>> print((folder / "responses.csv").read_text())
    stakeholder_id,date,nps,comment,channel
    s1,2024-01-05,9,,
    s1,2024-02-01,,Invoice wrong again,informal
    <BLANKLINE>
    """
    from ..village.io import RawTable, read_tables
    from ..village.validate import check_tables

    if on_duplicate not in ("error", "skip", "keep"):
        raise ValueError(f"on_duplicate={on_duplicate!r} is not supported; expected 'error', 'skip' or 'keep'")
    village_path = Path(village_path)
    target = _responses_file(village_path)
    if isinstance(new_comments, (str, os.PathLike)):
        data, rows, source = _read_raw(new_comments)
    elif isinstance(new_comments, pd.DataFrame):
        data, rows, source = new_comments, np.arange(2, len(new_comments) + 2), "new_comments"
    else:
        raise TypeError(f"new_comments is a {type(new_comments).__name__}; expected a DataFrame or a CSV path")
    typed, problems = _check(data, source, rows)
    with lock(village_path / ".responses.lock", timeout, what=f"the responses of {village_path}"):
        # Read inside the lock, so validation and duplicate checks see every earlier append.
        raw, village_problems = read_tables(village_path)
        if "responses" not in raw or not raw["responses"].usable:
            errors = village_problems + (raw["responses"].problems if "responses" in raw else [])
            raise VillageError(errors, str(village_path))
        existing = raw["responses"].data
        # The village's own checks, with the new rows standing in for its responses table.
        cells = pd.DataFrame({_snake(c): data[c].map(lambda v: np.nan if _cell(v) == "" else _cell(v).strip())
                              for c in data.columns}).astype(object)
        raw["responses"] = RawTable("responses", source, cells, np.asarray(rows, dtype=np.int64))
        _, found = check_tables(raw)
        broken = [p for p in village_problems + found if p.severity == "error" and p.file != source]
        if broken:
            raise VillageError(broken, str(village_path))
        seen = {(p.row, p.column) for p in problems}
        problems += [p for p in found if p.file == source and p.severity == "error" and (p.row, p.column) not in seen
                     and not (p.row is None and p.column in REQUIRED)]
        if problems:
            raise CommentError(sorted(problems, key=lambda p: (p.row or 0)), source)
        for p in found:
            if p.file == source and p.severity == "warning" and p.column == "date":
                warnings.warn(str(p), VillageWarning, stacklevel=2)
        typed = _drop_duplicates(typed, existing, rows, source, on_duplicate)
        if len(typed):
            (_append_csv if target.suffix.lower() == ".csv" else _append_parquet)(target, typed)
    return typed


def _drop_duplicates(typed, existing, rows, source, on_duplicate):
    """Rows whose stakeholder_id, date and comment are already in the responses table."""
    cols = {_snake(c): c for c in existing.columns}
    key = ["stakeholder_id", "date", "comment"]
    if on_duplicate == "keep" or not all(k in cols for k in key) or not len(typed):
        return typed
    have = pd.DataFrame({
        "stakeholder_id": existing[cols["stakeholder_id"]].map(lambda v: np.nan if pd.isna(v) else str(v).strip()),
        "date": _parse_dates(existing[cols["date"]]),
        "comment": _text(existing[cols["comment"]]),
    }).dropna().drop_duplicates()
    hit = typed[key].merge(have.assign(_dup=True), on=key, how="left")["_dup"].notna().to_numpy()
    if hit.any() and on_duplicate == "error":
        raise CommentError([Problem("responses", str(source), int(rows[i]), None,
                                    "is already in the village (same stakeholder_id, date and comment); "
                                    "remove it, or pass on_duplicate='skip'")
                            for i in np.flatnonzero(hit)], source)
    return typed[~hit].reset_index(drop=True)


# --------------------------------------------------------------------------- rule tables


def _rule_table(builtin_file, rules, builtin, columns, what):
    """Built-in CSV rules, extended or overridden by the user's (DataFrame, dict or CSV path)."""
    tables = []
    if builtin:
        tables.append(pd.read_csv(resources.files(__package__) / "rules" / builtin_file, dtype=str))
    if rules is not None:
        if isinstance(rules, (str, os.PathLike)):
            user = pd.read_csv(rules, dtype=str)
        elif isinstance(rules, dict):
            user = pd.DataFrame(
                [(k, v) for k, vals in rules.items() for v in ([vals] if isinstance(vals, str) else vals)],
                columns=list(columns[:2]))
        elif isinstance(rules, pd.DataFrame):
            user = rules.astype(object)
        else:
            raise TypeError(f"{what} is a {type(rules).__name__}; expected a DataFrame, a dict or a CSV path")
        user.columns = [_snake(c) for c in user.columns]
        lacking = [c for c in columns[:2] if c not in user.columns]
        if lacking:
            raise ValueError(f"{what} lacks column(s) {lacking}; expected columns {list(columns[:2])} "
                             f"(got {list(user.columns)})")
        tables.append(user)
    if not tables:
        raise ValueError(f"{what}=None with builtin=False leaves no rules; pass {what}=")
    table = pd.concat(tables, ignore_index=True)
    table = table.reindex(columns=list(columns)).astype(object)
    for c in columns[:2]:
        table[c] = table[c].map(lambda v: v.strip() if isinstance(v, str) else v)
    bad = table[list(columns[:2])].isna().any(axis=1)
    if bad.any():
        raise ValueError(f"{what} has blank {list(columns[:2])} in row(s) {list(np.flatnonzero(bad))}; "
                         "fill both or drop the row")
    table["theme"] = table["theme"].str.lower()
    names = table["theme"][~table["theme"].str.fullmatch(r"[a-z][a-z0-9_]*")]
    if len(names):
        raise ValueError(f"{what} has theme name(s) {names.tolist()}; expected snake_case names "
                         "(letters, digits, underscores; they become column names)")
    return table


def theme_rules(rules=None, *, builtin=True) -> pd.DataFrame:
    """The theme rule table: built-in ``rules/themes.csv`` plus the user's rules.

    Each row is ``theme, pattern[, note]``. ``pattern`` is a Python regular
    expression searched case-insensitively anywhere in the comment; use
    ``\\b`` for word boundaries (``\\binvoice(s)?\\b``). A theme may have
    several rows; a comment gets the theme when any of its patterns matches.
    Themes keep the order of their first row (built-in first), which is the
    order of the ``themes`` column.

    Built-in themes: delivery, quality, billing, pricing, support, safety,
    documentation, people (including a champion or sponsor leaving),
    onboarding, training, communication, product.

    Parameters
    ----------
    rules : DataFrame, dict or str/Path, optional
        Extra rules: a DataFrame or CSV with columns ``theme, pattern``, or a
        dict ``{theme: pattern or [patterns]}``. They add to the built-in rules
        (a built-in theme gets more patterns; a new theme is added).
    builtin : bool, default True
        False uses only ``rules``.

    Examples
    --------
    >>> t = theme_rules({"sustainability": r"\\b(carbon|recycl\\w*|packaging waste)\\b"})
    >>> t["theme"].iloc[-1], len(t) > 12
    ('sustainability', True)
    """
    table = _rule_table("themes.csv", rules, builtin, ("theme", "pattern", "note"), "rules")
    for i, p in enumerate(table["pattern"]):
        try:
            re.compile(p)
        except re.error as exc:
            raise ValueError(f"rules row {i} (theme {table['theme'].iloc[i]!r}) has pattern {p!r} that is not a "
                             f"valid regular expression ({exc}); fix or escape it (re.escape)") from None
    return table.reset_index(drop=True)


def tag_themes(data: pd.DataFrame, text="comment", rules=None, *, builtin=True) -> pd.DataFrame:
    """Tag each comment with themes from the rule table (:func:`theme_rules`).

    Parameters
    ----------
    data : DataFrame
        Rows with a free-text column.
    text : str, default "comment"
        The text column.
    rules, builtin
        Extra or replacement rules, as in :func:`theme_rules`.

    Returns
    -------
    DataFrame
        A copy of ``data`` with ``themes`` (matched theme names joined by
        ``";"`` in rule-table order; ``""`` when no theme matched, NaN when the
        text is blank) and one boolean column ``theme_<name>`` per theme.

    Examples
    --------
    >>> df = pd.DataFrame({"comment": ["Invoice was wrong and the delivery late", "Great people", None]})
    >>> tag_themes(df)[["themes", "theme_billing", "theme_delivery"]]
                 themes  theme_billing  theme_delivery
    0  delivery;billing           True            True
    1                            False           False
    2               NaN          False           False
    """
    if text not in data.columns:
        raise KeyError(f"text={text!r} is not a column of data; columns are {list(data.columns)}")
    table = theme_rules(rules, builtin=builtin)
    # Match each distinct text once (templates and copied notes repeat), then broadcast.
    if isinstance(data[text].dtype, pd.StringDtype):  # already text: no Python string per row
        raw, distinct = distinct_text(data[text])
        blank_text = blank_texts(distinct)
        blank = blank_text[raw]
        codes, uniq = pd.factorize(np.append(np.where(blank_text[:-1], "", distinct), "").astype(object))
        codes = codes[raw]
    else:
        values = data[text].astype(object)
        blank = _blank(values).to_numpy()
        codes, uniq = pd.factorize(values.where(~blank, "").map(str))
    uniq = pd.Series(np.asarray(uniq, dtype=object))
    out = data.copy()
    joined = pd.Series("", index=range(len(uniq)), dtype=object)
    for theme, patterns in table.groupby("theme", sort=False)["pattern"]:
        rx = "|".join(f"(?:{p})" for p in patterns)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="This pattern .* match groups", category=UserWarning)
            hit = uniq.str.contains(rx, case=False, regex=True, na=False).to_numpy(dtype=bool)
        out[f"theme_{theme}"] = hit[codes] if len(codes) else np.zeros(0, bool)
        joined = joined + np.where(hit, theme + ";", "")
    themes = joined.str.rstrip(";").to_numpy(dtype=object)
    out["themes"] = pd.Series(themes[codes] if len(codes) else [], index=data.index, dtype=object).where(~blank, np.nan)
    return out


# --------------------------------------------------------------------------- comment sentiment

def routing_table(routing=None, *, builtin=True) -> pd.DataFrame:
    """The routing table: theme -> owning group in the supplier company.

    Built-in ``rules/routing.csv`` (delivery -> logistics, quality -> quality,
    billing -> finance/billing, pricing -> sales/pricing, support -> customer
    support, safety -> EHS, documentation -> technical writing, people and
    communication -> account team, onboarding -> implementation, training ->
    customer training, product -> product management, ``other`` -> account
    team). The ``other`` row routes comments that match no theme, and themes
    without a row of their own.

    Parameters
    ----------
    routing : DataFrame, dict or str/Path, optional
        ``theme, owning_group`` rows (DataFrame or CSV) or ``{theme: group}``.
        A theme given here replaces its built-in route.
    builtin : bool, default True

    Examples
    --------
    >>> r = routing_table({"delivery": "regional logistics hub"})
    >>> r.set_index("theme").loc["delivery", "owning_group"]
    'regional logistics hub'
    """
    table = _rule_table("routing.csv", routing, builtin, ("theme", "owning_group", "note"), "routing")
    table = table.drop_duplicates("theme", keep="last").reset_index(drop=True)
    if "other" not in set(table["theme"]):
        raise ValueError("routing has no 'other' row; add one (e.g. other -> account team) to route "
                         "comments that match no theme")
    return table


def comment_table(village, as_of=None, *, window_days=DEFAULT_WINDOW_DAYS, rules=None, lexicon=None, channels=None):
    """Every comment in a village with its account, role, themes and sentiment.

    Parameters
    ----------
    village : Village
    as_of : date, optional
        With ``window_days``, keep comments dated in
        ``[as_of - window_days, as_of)`` (:func:`cxinfluence.village.asof.window_mask`).
        ``None`` keeps every comment.
    window_days : int, optional
        Look-back; ``None`` means unlimited (everything before ``as_of``).
    rules, lexicon
        Passed to :func:`tag_themes` and :func:`comment_sentiment`.
    channels : list of str, optional
        Keep only these channels (e.g. ``["informal"]``); default all.

    Returns
    -------
    DataFrame
        One row per response with a non-blank comment: the response columns,
        ``account_id``, ``role``, ``department``, ``veto`` from stakeholders,
        ``themes`` and ``theme_*``, ``comment_sentiment``, ``comment_label``,
        ``comment_adjusted``, and ``score_sentiment`` (the response's scores on
        the common [-1, 1] scale, :func:`cxinfluence.village.scale.response_sentiment`;
        NaN without scores).

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(accounts=pd.DataFrame({"account_id": ["a"]}),
    ...     stakeholders=pd.DataFrame({"stakeholder_id": ["s1"], "account_id": ["a"], "role": ["buyer"]}),
    ...     relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...     responses=pd.DataFrame({"stakeholder_id": ["s1", "s1"],
    ...         "date": pd.to_datetime(["2024-03-01", "2024-04-01"]), "csat": [2.0, 5.0],
    ...         "comment": ["Invoice had the old price", None]}),
    ...     outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> comment_table(v)[["account_id", "role", "themes", "score_sentiment"]]
      account_id   role          themes  score_sentiment
    0          a  buyer  billing;pricing             -0.5
    """
    as_of, window_days = resolve_as_of(village, as_of), check_window(window_days)
    r = village.responses
    if "comment" not in r.columns:
        r = r.assign(comment=pd.Series(np.nan, index=r.index, dtype=object))
    # the date test first: it is vectorised, and the text test then reads only the window's comments
    rows = np.flatnonzero(window_mask(r["date"], as_of, window_days))
    r = r.iloc[rows[~_blank(r["comment"].iloc[rows]).to_numpy()]]
    if channels is not None:
        r = r[r["channel"].isin(list(channels))] if "channel" in r else r.iloc[:0]
    cols = [c for c in ("stakeholder_id", "account_id", "role", "department", "veto") if c in village.stakeholders]
    r = _left_join(r.drop(columns=[c for c in cols[1:] if c in r.columns]), village.stakeholders[cols],
                   "stakeholder_id")
    r = tag_themes(r, rules=rules)
    r = comment_sentiment(r, lexicon=lexicon)
    r["score_sentiment"] = response_sentiment(r)
    return r.reset_index(drop=True)


def _left_join(left: pd.DataFrame, right: pd.DataFrame, key: str) -> pd.DataFrame:
    """``left.merge(right.drop_duplicates(key), on=key, how="left")``.

    When both keys are Arrow-backed text, the right rows are looked up with
    pyarrow (``index_in``: first occurrence, as ``drop_duplicates`` keeps)
    instead of pandas hashing Python strings; unmatched rows get blanks as in
    the merge. Otherwise the merge itself runs."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lk, rk = left[key], right[key]
    extra = [c for c in right.columns if c != key]
    if (all(isinstance(x.dtype, pd.StringDtype) and x.dtype.storage == "pyarrow" for x in (lk, rk))
            and not set(extra) & set(left.columns)):
        pos = pc.index_in(pa.chunked_array(lk.array.__arrow_array__()),
                          value_set=pa.chunked_array(rk.array.__arrow_array__()).combine_chunks())
        pos = pc.fill_null(pos, -1).to_numpy()
        picked = right[extra].reset_index(drop=True)
        picked = picked.reindex(pos) if (pos < 0).any() else picked.iloc[pos]  # reindex blanks the -1s
        return pd.concat([left.reset_index(drop=True), picked.reset_index(drop=True)], axis=1)
    return left.merge(right.drop_duplicates(key), on=key, how="left")


def _each_distinct(values: pd.Series, fn, dtype) -> np.ndarray:
    """``values.map(fn)`` as an array, calling ``fn`` once per distinct value
    (themes, statuses and texts repeat). Only for text: pandas hashes ``1``
    and ``1.0`` alike, so other columns are mapped row by row."""
    if isinstance(values.dtype, pd.StringDtype) or (
            values.dtype == object and all(isinstance(v, str) for v in pd.unique(values))):
        codes, uniq = pd.factorize(values, use_na_sentinel=False)
        return np.array([fn(v) for v in uniq], dtype=dtype)[codes] if len(codes) else np.zeros(0, dtype=dtype)
    return values.map(fn).to_numpy(dtype=dtype)


def _revenue(village, as_of):
    acc = village.accounts[["account_id"]].copy()
    acc["revenue_at_stake"] = (pd.to_numeric(village.accounts["annual_revenue"], errors="coerce")
                               if "annual_revenue" in village.accounts else np.nan)
    acc["revenue_source"] = np.where(acc["revenue_at_stake"].notna(), "annual_revenue", "unknown")
    o = village.outcomes
    if "bookings" in o and acc["revenue_at_stake"].isna().any():
        o = o[(o["period_end"] <= to_timestamp(as_of)) & o["bookings"].notna()]
        last = o.sort_values("period_end").drop_duplicates("account_id", keep="last").set_index("account_id")
        fill = acc["revenue_at_stake"].isna() & acc["account_id"].isin(last.index)
        acc.loc[fill, "revenue_at_stake"] = acc.loc[fill, "account_id"].map(last["bookings"]).astype(float)
        acc.loc[fill, "revenue_source"] = "latest_bookings"
    return acc


def action_list(village, as_of=None, *, influence=None, window_days=DEFAULT_WINDOW_DAYS, routing=None, rules=None, lexicon=None,
                channels=None, include_closed=False) -> pd.DataFrame:
    """Who should act on what customers said: one row per recent comment, ranked.

    Every comment dated in ``[as_of - window_days, as_of)`` is tagged with
    themes (:func:`tag_themes`), routed to the group that owns each theme
    (:func:`routing_table`; a comment with several themes goes to several
    groups, one with none to the ``other`` route) and prioritised by::

        priority   = influence * negativity * revenue_at_stake
        negativity = (1 - s) / 2                      in [0, 1]
        s          = mean of the available of comment_sentiment (VADER, [-1, 1])
                     and score_sentiment (the response's scores, [-1, 1])

    * ``influence`` is the speaker's share of their account's influence as of
      ``as_of`` (:func:`cxinfluence.network.influence.influence_weights`, summing to 1
      within each account); someone no longer active (or unknown to
      ``influence``) gets 0: their voice no longer moves the decision.
    * ``negativity`` is 1 for the most negative comment, 0.5 for a neutral
      one, 0 for pure praise, so neutral requests rank above compliments.
    * ``revenue_at_stake`` is the account's ``annual_revenue``; when blank,
      the latest ``bookings`` with ``period_end <= as_of``
      (``revenue_source`` says which); unknown revenue gives a NaN priority,
      listed last.

    ``priority`` is therefore in currency units: the share of the account's
    revenue whose decision-maker weight stands behind the complaint, scaled by
    how negative it is. E.g. a plant manager with influence 0.4 in a
    1,000,000 account whose comment scores ``s = -0.6`` (negativity 0.8)
    gets ``0.4 * 0.8 * 1,000,000 = 320,000``. In the example below the plant
    manager's comment reads -0.4588 and NPS 2 is -0.6 on the common scale, so
    ``s = -0.5294``, negativity ``0.7647`` and priority
    ``0.8 * 0.7647 * 1,000,000 = 611,760``.

    Parameters
    ----------
    village : Village
    as_of : date
    influence : DataFrame, optional
        ``stakeholder_id, influence`` (e.g. from
        :func:`cxinfluence.network.influence.influence_weights`); computed as of
        ``as_of`` when omitted.
    window_days : int or None, default 90
    routing, rules, lexicon, channels
        See :func:`routing_table`, :func:`tag_themes`,
        :func:`comment_sentiment`, :func:`comment_table`.
    include_closed : bool, default False
        Keep comments whose ``status`` is ``closed`` (when the column exists).

    Problems come first (issue 16: route problems to the groups that can
    prevent them recurring; praise is listed apart): ``kind`` is ``problem``
    (``s <= -0.05``, VADER's cut-off), ``praise`` (``s >= 0.05``) or
    ``request``; ``recurrence`` counts the quarters of the last
    ``RECURRENCE_DAYS`` in which the account raised any of the comment's
    themes (at least 1), and ``urgency = priority * recurrence`` ranks
    problems, then requests, then praise. ``level`` is ``high`` for the most
    urgent ``LEVEL_SHARES[0]`` of the problems and requests, ``medium`` for
    the next ``LEVEL_SHARES[1]``, else ``low`` (``praise`` for praise), and
    ``level_reason`` says why in words.

    Returns
    -------
    DataFrame
        Problems, requests, praise; within each by ``urgency`` (highest
        first), then date (newest first):
        ``priority, date, account_id, stakeholder_id, role, veto, influence,
        themes, owning_group, comment, negativity, comment_sentiment,
        score_sentiment, revenue_at_stake, revenue_source, active, kind,
        recurrence, urgency, level, level_reason`` and, when
        present, ``channel, touchpoint, journey_stage, status, status_date,
        owner_group, response_id``. ``owning_group`` joins the groups with
        ``";"``. Comment text is kept exactly as written (escape it when
        rendering).

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(accounts=pd.DataFrame({"account_id": ["a"], "annual_revenue": [1_000_000.0]}),
    ...     stakeholders=pd.DataFrame({"stakeholder_id": ["pm", "op"], "account_id": ["a", "a"]}),
    ...     relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...     responses=pd.DataFrame({"stakeholder_id": ["pm", "op"],
    ...         "date": pd.to_datetime(["2024-06-01", "2024-06-02"]), "nps": [2.0, 9.0],
    ...         "comment": ["Our champion left the company", "Deliveries on time"]}),
    ...     outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> inf = pd.DataFrame({"stakeholder_id": ["pm", "op"], "influence": [0.8, 0.2]})
    >>> al = action_list(v, "2024-07-01", influence=inf)
    >>> al[["stakeholder_id", "themes", "owning_group", "negativity", "priority"]].round(3)
      stakeholder_id    themes  owning_group  negativity  priority
    0             pm    people  account team       0.765  611760.0
    1             op  delivery     logistics       0.210   41940.0
    >>> al[["kind", "level", "level_reason"]].values.tolist()
    [['problem', 'high', "strongly negative, from 80% of the account's influence; first time this year; 1M revenue"], ['praise', 'praise', 'praise: share it with the team that earned it']]
    """
    as_of, window_days = resolve_as_of(village, as_of), check_window(window_days)
    ct = comment_table(village, as_of, window_days=window_days, rules=rules, lexicon=lexicon, channels=channels)
    if not include_closed and "status" in ct:
        ct = ct[~_each_distinct(ct["status"], lambda v: str(v).strip().lower() == "closed", bool)]
    if influence is None:
        from ..network.influence import influence_weights

        influence = influence_weights(village, as_of)
    if not {"stakeholder_id", "influence"} <= set(influence.columns):
        raise ValueError(f"influence has columns {list(influence.columns)}; expected stakeholder_id and influence "
                         "(e.g. cxinfluence.network.influence.influence_weights(village, as_of))")
    ct = _left_join(ct, influence[["stakeholder_id", "influence"]].assign(active=True), "stakeholder_id")
    ct["active"] = ct["active"].fillna(False).astype(bool)
    ct["influence"] = ct["influence"].fillna(0.0).astype(float)

    route = routing_table(routing).set_index("theme")["owning_group"]
    route = route.to_dict()
    ct["owning_group"] = _each_distinct(ct["themes"].fillna(""), lambda t: ";".join(
        dict.fromkeys(route.get(x, route["other"]) for x in (t.split(";") if t else ["other"]))), object)

    s = ct[["comment_sentiment", "score_sentiment"]].mean(axis=1, skipna=True)
    ct["negativity"] = (1.0 - s) / 2.0
    ct = _left_join(ct, _revenue(village, as_of), "account_id")
    ct["revenue_source"] = ct["revenue_source"].fillna("unknown")
    ct["priority"] = ct["influence"] * ct["negativity"] * ct["revenue_at_stake"]
    # problems first: how bad x how likely to recur x whose voice x revenue at stake; praise listed apart
    ct["kind"] = np.select([s <= -0.05, s >= 0.05], ["problem", "praise"], "request")
    history = ct if window_days is not None and window_days >= RECURRENCE_DAYS else comment_table(
        village, as_of, window_days=RECURRENCE_DAYS, rules=rules, lexicon=lexicon, channels=channels)
    ct["recurrence"] = _quarters_raised(ct, history)
    ct["urgency"] = ct["priority"] * ct["recurrence"]
    ct["level"], ct["level_reason"] = _levels(ct)
    first = ["priority", "date", "account_id", "stakeholder_id", "role", "veto", "influence", "themes",
             "owning_group", "comment", "negativity", "comment_sentiment", "score_sentiment",
             "revenue_at_stake", "revenue_source", "active", "kind", "recurrence", "urgency", "level",
             "level_reason"]
    extra = [c for c in ("channel", "touchpoint", "journey_stage", "status", "status_date", "owner_group",
                         "response_id") if c in ct.columns]
    out = ct.reindex(columns=first + extra)
    out["_kind"] = out["kind"].map({"problem": 0, "request": 1, "praise": 2})
    out = out.sort_values(["_kind", "urgency", "date"], ascending=[True, False, False], na_position="last",
                          kind="stable").drop(columns="_kind")
    return out.reset_index(drop=True)


#: Look-back for "how likely to recur": the quarters of the last year in which the account raised the theme.
RECURRENCE_DAYS = 365
#: Shares of the problems and requests (by urgency) called high and medium; the rest are low.
LEVEL_SHARES = (0.2, 0.3)


def _quarters_raised(ct: pd.DataFrame, history: pd.DataFrame) -> np.ndarray:
    """Per comment: in how many quarters of ``history`` its account raised any of its themes (at least 1)."""
    if not len(ct):
        return np.zeros(0, dtype=int)
    h = _explode_themes(history.assign(themes=history["themes"].fillna("")), "account_id", "themes", "date")
    quarters = (h.assign(_q=h["_date"].dt.to_period("Q")).drop_duplicates(["account_id", "theme", "_q"])
                .groupby(["account_id", "theme"], sort=False).size())
    c = _explode_themes(ct[["account_id", "themes", "date"]].assign(themes=ct["themes"].fillna("")),
                        "account_id", "themes", "date")
    n = pd.Series(quarters.reindex(pd.MultiIndex.from_arrays([c["account_id"], c["theme"]])).to_numpy(),
                  index=c.index)
    best = n.groupby(level=0).max().reindex(ct.index)
    return best.fillna(1).clip(lower=1).astype(int).to_numpy()


def _levels(ct: pd.DataFrame):
    """high/medium/low (by urgency among problems and requests) or "praise", and the reason in words."""
    from ..village.safetext import money

    ranked = ct["urgency"].where(ct["kind"] != "praise")
    rank = ranked.rank(ascending=False, method="first")  # 1 = most urgent; NaN urgency (revenue unknown) unranked
    n = int((ct["kind"] != "praise").sum())
    hi, mid = (math.ceil(share * n) for share in (LEVEL_SHARES[0], sum(LEVEL_SHARES)))
    level = np.where(ct["kind"] == "praise", "praise",
                     np.where(rank <= hi, "high", np.where(rank <= mid, "medium", "low")))
    reasons = []
    for r in ct.reindex(columns=["kind", "veto", "influence", "active", "negativity", "recurrence", "themes",
                                 "revenue_at_stake"]).itertuples(index=False):
        if r.kind == "praise":
            reasons.append("praise: share it with the team that earned it")
            continue
        who = ("someone who has left" if not r.active else "a veto holder" if r.veto is True
               else f"{r.influence:.0%} of the account's influence")
        tone = ("strongly negative" if r.negativity >= 0.75 else "negative" if r.kind == "problem"
                else "a request")
        theme = (str(r.themes).split(";")[0] if isinstance(r.themes, str) and r.themes else "this topic")
        again = (f"{theme} raised in {r.recurrence} quarters of the last year" if r.recurrence > 1
                 else "first time this year")
        revenue = (f"{money(r.revenue_at_stake)} revenue" if pd.notna(r.revenue_at_stake) else "revenue unknown")
        reasons.append(f"{tone}, from {who}; {again}; {revenue}")
    return level, reasons


def theme_summary(comments: pd.DataFrame, *, themes="themes", account="account_id") -> pd.DataFrame:
    """What customers are talking about: per theme, how often, how negative, where.

    Parameters
    ----------
    comments : DataFrame
        Tagged comments with ``comment_sentiment`` (e.g. :func:`comment_table`
        or :func:`action_list`). A comment with several themes counts in each;
        untagged comments form the theme ``other``.
    themes, account : str
        Column names.

    Returns
    -------
    DataFrame
        Per theme: ``n_comments, n_accounts, share_of_comments`` (of all
        comments, so shares can sum to more than 1), ``mean_sentiment``,
        ``share_negative`` (``comment_sentiment <= -0.05``, VADER's cut-off),
        sorted by ``n_comments``.

    Examples
    --------
    >>> c = comment_sentiment(tag_themes(pd.DataFrame({"account_id": ["a", "a", "b"],
    ...     "comment": ["Late delivery again", "Invoice wrong, delivery late", "Nice lunch"]})))
    >>> theme_summary(c)[["theme", "n_comments", "n_accounts", "share_negative"]]
          theme  n_comments  n_accounts  share_negative
    0  delivery           2           1             1.0
    1   billing           1           1             1.0
    2     other           1           1             0.0
    """
    for c in (themes, account, "comment_sentiment"):
        if c not in comments.columns:
            raise KeyError(f"comments has no column {c!r}; pass comment_table(village) or action_list(...)")
    d = comments.assign(theme=comments[themes].fillna("").map(lambda t: [x for x in str(t).split(";") if x]
                                                              or ["other"]))
    d = d.explode("theme").assign(_neg=lambda x: x["comment_sentiment"] <= -0.05)
    g = d.groupby("theme", sort=False)
    out = pd.DataFrame({"n_comments": g.size(), "n_accounts": g[account].nunique(),
                        "mean_sentiment": g["comment_sentiment"].mean(), "share_negative": g["_neg"].mean()})
    out.insert(2, "share_of_comments", out["n_comments"] / max(len(comments), 1))
    out = out.rename_axis("theme").reset_index()
    return out.sort_values("n_comments", ascending=False, kind="stable").reset_index(drop=True)


def action_summary(actions: pd.DataFrame, *, by="owning_group") -> pd.DataFrame:
    """Each owning group's queue from an :func:`action_list`: how much, from whom, where.

    A comment routed to several groups counts in each of them.

    Parameters
    ----------
    actions : DataFrame
        The output of :func:`action_list`.
    by : str, default "owning_group"
        Column to summarise by (``";"``-joined values are split).

    Returns
    -------
    DataFrame
        Per group: ``n_comments, n_accounts, n_from_veto_holders,
        priority_total, priority_max, top_account`` (the account with the
        largest summed priority), ``top_theme`` (most frequent theme), sorted
        by ``priority_total``, largest first.

    Examples
    --------
    >>> a = pd.DataFrame({"owning_group": ["logistics", "logistics;quality", "quality"],
    ...                   "account_id": ["x", "y", "y"], "veto": [True, False, False],
    ...                   "themes": ["delivery", "delivery;quality", "quality"], "priority": [10.0, 5.0, 1.0]})
    >>> action_summary(a)[["owning_group", "n_comments", "priority_total", "top_account", "top_theme"]]
      owning_group  n_comments  priority_total top_account top_theme
    0    logistics           2            15.0           x  delivery
    1      quality           2             6.0           y   quality
    """
    for c in (by, "account_id", "priority", "themes"):
        if c not in actions.columns:
            raise KeyError(f"actions has no column {c!r}; pass the output of action_list()")
    a = actions.assign(_group=actions[by].fillna("").map(lambda g: [x for x in str(g).split(";") if x]))
    a = a.explode("_group").dropna(subset=["_group"])
    veto = a["veto"].fillna(False).astype(bool) if "veto" in a else pd.Series(False, index=a.index)
    a = a.assign(_veto=veto)
    g = a.groupby("_group", sort=False)
    out = pd.DataFrame({
        "n_comments": g.size(),
        "n_accounts": g["account_id"].nunique(),
        "n_from_veto_holders": g["_veto"].sum().astype(int),
        "priority_total": g["priority"].sum(min_count=1),
        "priority_max": g["priority"].max(),
    })
    acc = a.groupby(["_group", "account_id"], sort=False)["priority"].sum().reset_index()
    acc = acc.sort_values("priority", ascending=False, kind="stable").drop_duplicates("_group")
    out["top_account"] = acc.set_index("_group")["account_id"]
    th = a.assign(_theme=a["themes"].fillna("").map(lambda t: [x for x in str(t).split(";") if x] or ["other"]))
    th = th.explode("_theme").groupby(["_group", "_theme"], sort=False).size().rename("n").reset_index()
    th = th.sort_values("n", ascending=False, kind="stable").drop_duplicates("_group")
    out["top_theme"] = th.set_index("_group")["_theme"]
    out = out.rename_axis(by).reset_index()
    return out.sort_values("priority_total", ascending=False, kind="stable", na_position="last").reset_index(drop=True)


# --------------------------------------------------------------------------- recurrence, follow-through


def _explode_themes(data, account, themes, date):
    for c in (account, themes, date):
        if c not in data.columns:
            raise KeyError(f"column {c!r} is not in data (columns: {list(data.columns)}); pass the comments with "
                           "account and themes, e.g. comment_table(village)")
    d = data.copy()
    d["_date"] = pd.to_datetime(d[date]).astype("datetime64[ns]")
    d["theme"] = d[themes].astype(object).where(d[themes].notna(), "").astype(str).str.split(";")
    d = d.explode("theme")
    return d[d["theme"].notna() & (d["theme"] != "")]


def recurrence(data: pd.DataFrame, *, freq="Q", account="account_id", themes="themes", date="date",
               min_periods=2) -> pd.DataFrame:
    """Flag themes that recur in the same account across periods.

    Each comment is assigned to a calendar period (``freq``, e.g. quarters).
    A theme *recurs* in an account when it is raised in at least
    ``min_periods`` different periods; ``max_run`` counts the longest streak of
    consecutive periods (an issue nobody fixed), ``gap_periods`` the periods
    between first and last mention without it.

    Parameters
    ----------
    data : DataFrame
        Comments with account, ``themes`` (";"-joined, as from
        :func:`tag_themes` / :func:`comment_table`) and date.
    freq : str, default "Q"
        pandas period frequency: "M", "Q", "Y", ...
    account, themes, date : str
        Column names.
    min_periods : int, default 2

    Returns
    -------
    DataFrame
        One row per account and theme: ``account_id, theme, n_comments,
        n_periods, first_period, last_period, periods`` (";"-joined),
        ``max_run, gap_periods, recurring``; recurring themes first, then by
        number of periods.

    Examples
    --------
    >>> c = pd.DataFrame({"account_id": ["a", "a", "a", "b"],
    ...                   "date": ["2024-01-10", "2024-02-01", "2024-07-01", "2024-01-05"],
    ...                   "themes": ["delivery", "delivery;billing", "delivery", "billing"]})
    >>> recurrence(c)[["account_id", "theme", "n_comments", "periods", "max_run", "recurring"]]
      account_id     theme  n_comments         periods  max_run  recurring
    0          a  delivery           3  2024Q1;2024Q3        1       True
    1          a   billing           1          2024Q1        1      False
    2          b   billing           1          2024Q1        1      False
    """
    if min_periods < 1:
        raise ValueError(f"min_periods={min_periods!r}; expected a whole number >= 1")
    d = _explode_themes(data, account, themes, date)
    d = d[d[account].notna() & d["_date"].notna()]
    keys = [account, "theme"]
    cols = keys + ["n_comments", "n_periods", "first_period", "last_period", "periods", "max_run",
                   "gap_periods", "recurring"]
    if not len(d):
        return pd.DataFrame({c: pd.Series(dtype=bool if c == "recurring" else object) for c in cols})
    d["_ord"] = d["_date"].dt.to_period(freq).array.asi8
    n_comments = d.groupby(keys, sort=False).size().rename("n_comments")
    p = d[keys + ["_ord"]].drop_duplicates().sort_values(keys + ["_ord"], kind="stable").reset_index(drop=True)
    # Runs of consecutive periods: a new run starts where the gap to the previous period is not 1.
    new_run = p.groupby(keys, sort=False)["_ord"].diff().ne(1)
    p["_run"] = new_run.cumsum()
    run_len = p.groupby(keys + ["_run"], sort=False).size().groupby(level=[0, 1], sort=False).max()
    g = p.groupby(keys, sort=False)
    # Period labels: format each distinct period once, join per group with one reduceat (p is sorted by group).
    uniq = np.unique(p["_ord"].to_numpy())
    label = pd.Series(pd.PeriodIndex.from_ordinals(uniq, freq=freq).astype(str), index=uniq)
    text = (p["_ord"].map(label) + ";").to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, (p[keys].to_numpy()[1:] != p[keys].to_numpy()[:-1]).any(axis=1)])
    joined = np.add.reduceat(text, starts)
    first = g["_ord"].min()
    last = g["_ord"].max()
    out = pd.DataFrame({
        "n_periods": g.size(),
        "first_period": first.map(label),
        "last_period": last.map(label),
        "periods": pd.Series([j[:-1] for j in joined], index=first.index, dtype=object),
        "max_run": run_len,
        "_span": last - first + 1,
    })
    out = out.join(n_comments).reset_index()
    out["gap_periods"] = out.pop("_span") - out["n_periods"]
    out["recurring"] = out["n_periods"] >= min_periods
    out = out[cols].sort_values(["recurring", "n_periods", "n_comments"], ascending=False, kind="stable")
    return out.reset_index(drop=True)


def follow_through_items(data: pd.DataFrame, as_of=None, *, account="account_id", themes="themes", date="date",
                         status="status", status_date="status_date") -> pd.DataFrame:
    """Per comment and theme: its follow-up state, time to close, and recurrence after closing.

    Parameters
    ----------
    data : DataFrame
        Comments with account, ``themes``, ``date``, ``status``
        (open/in_progress/closed) and ``status_date`` (closing date when
        closed).
    as_of : date, optional
        Date open items are aged to; default the latest date in the data.

    Returns
    -------
    DataFrame
        One row per comment and theme (comments without a status are left
        out): the input columns plus ``theme, days_to_close`` (closed items),
        ``days_open`` (age of open and in-progress items at ``as_of``),
        ``recurred_after_close`` (a later comment on the same theme in the
        same account, dated after this one was closed) and
        ``recurrence_date`` (the first such comment).

    Examples
    --------
    >>> c = pd.DataFrame({"account_id": ["a", "a"], "date": ["2024-01-01", "2024-03-01"],
    ...                   "themes": ["billing", "billing"], "status": ["closed", "open"],
    ...                   "status_date": ["2024-01-15", None]})
    >>> follow_through_items(c, as_of="2024-03-31")[["status", "days_to_close", "days_open", "recurred_after_close"]]
       status  days_to_close  days_open  recurred_after_close
    0  closed           14.0        NaN                  True
    1    open            NaN       30.0                 False
    """
    for c in (status, status_date):
        if c not in data.columns:
            raise KeyError(f"column {c!r} is not in data; follow-through needs the follow-up columns "
                           "status and status_date (see TEMPLATE_COLUMNS)")
    d = _explode_themes(data, account, themes, date)
    d["_sdate"] = pd.to_datetime(d[status_date]).astype("datetime64[ns]")
    st = d[status].astype(object).map(lambda v: re.sub(r"[\s\-]+", "_", str(v).strip().lower()) if pd.notna(v) else v)
    bad = st.notna() & ~st.isin(STATUSES)
    if bad.any():
        raise ValueError(f"column {status!r} holds {sorted(st[bad].unique())}; expected {list(STATUSES)} or blank")
    d["_status"] = st
    as_of = (to_timestamp(as_of) if as_of is not None
             else max(d["_date"].max(), d["_sdate"].max() if d["_sdate"].notna().any() else d["_date"].max()))
    closed = d["_status"] == "closed"
    d["days_to_close"] = np.where(closed, (d["_sdate"] - d["_date"]).dt.days, np.nan)
    d["days_open"] = np.where(d["_status"].isin(["open", "in_progress"]), (as_of - d["_date"]).dt.days, np.nan)

    # First later comment on the same account+theme after the closing date (strictly after).
    d = d.reset_index(drop=True)
    d["_row"] = np.arange(len(d))
    left = d.loc[closed.to_numpy() & d["_sdate"].notna().to_numpy(), [account, "theme", "_sdate", "_row"]]
    right = d[[account, "theme", "_date"]].rename(columns={"_date": "recurrence_date"})
    left = left.sort_values("_sdate")
    right = right.sort_values("recurrence_date")
    hit = pd.merge_asof(left, right, left_on="_sdate", right_on="recurrence_date", by=[account, "theme"],
                        direction="forward", allow_exact_matches=False)
    rec = np.full(len(d), np.datetime64("NaT"), dtype="datetime64[ns]")
    rec[hit["_row"].to_numpy(dtype=np.int64)] = hit["recurrence_date"].to_numpy(dtype="datetime64[ns]")
    d["recurrence_date"] = rec
    d["recurred_after_close"] = d["recurrence_date"].notna()
    d = d[d["_status"].notna()]
    return d.drop(columns=["_date", "_sdate", "_status", "_row"]).reset_index(drop=True)


def follow_through(data: pd.DataFrame, as_of=None, *, by="theme", **columns) -> pd.DataFrame:
    """Follow-through on informal comments: time to close and recurrence after closing.

    Time to close is estimated with the Kaplan-Meier estimator (statsmodels
    ``SurvfuncRight``): items still open or in progress at ``as_of`` are
    right-censored at their age, so slow, still-open items pull the median up
    instead of being silently dropped (a plain median over closed items would
    be biased low). The median is the smallest time at which the estimated
    share still open falls below one half (the SAS convention statsmodels
    uses), with a 95% confidence interval (Brookmeyer & Crowley 1982); it is
    NaN when fewer than half have closed.

    Parameters
    ----------
    data : DataFrame
        As for :func:`follow_through_items`.
    as_of : date, optional
    by : str or list of str, default "theme"
        Grouping (e.g. ``["account_id", "theme"]`` or ``"owner_group"``).
    **columns
        Column names passed to :func:`follow_through_items`.

    Returns
    -------
    DataFrame
        Per group: ``n_items, n_open, n_in_progress, n_closed``,
        ``median_days_to_close`` with ``median_ci_low``/``median_ci_high``
        (Kaplan-Meier), ``mean_days_to_close_closed`` (closed items only),
        ``oldest_open_days``, ``n_recurred_after_close`` and
        ``recurred_after_close_rate`` (share of closed items whose theme came
        back in the same account).

    Examples
    --------
    >>> c = pd.DataFrame({"account_id": ["a", "a", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01", "2024-01-01"]),
    ...     "themes": ["delivery", "delivery", "billing", "delivery"],
    ...     "status": ["closed", "open", "closed", "closed"],
    ...     "status_date": pd.to_datetime(["2024-01-11", None, "2024-02-21", "2024-01-31"])})
    >>> ft = follow_through(c, as_of="2024-03-31")
    >>> ft[["theme", "n_items", "n_closed", "median_days_to_close", "n_recurred_after_close"]]
          theme  n_items  n_closed  median_days_to_close  n_recurred_after_close
    0   billing        1         1                  20.0                       0
    1  delivery        3         2                  30.0                       1
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    items = follow_through_items(data, as_of, **columns)
    by = [by] if isinstance(by, str) else list(by)
    st = items[columns.get("status", "status")].astype(object).map(
        lambda v: re.sub(r"[\s\-]+", "_", str(v).strip().lower()))
    items = items.assign(_closed=st.eq("closed"), _open=st.eq("open"), _inprog=st.eq("in_progress"),
                         _time=items["days_to_close"].fillna(items["days_open"]))
    g = items.groupby(by, sort=True, dropna=False)
    out = pd.DataFrame({
        "n_items": g.size(),
        "n_open": g["_open"].sum(),
        "n_in_progress": g["_inprog"].sum(),
        "n_closed": g["_closed"].sum(),
        "mean_days_to_close_closed": g["days_to_close"].mean(),
        "oldest_open_days": g["days_open"].max(),
        "n_recurred_after_close": g["recurred_after_close"].sum(),
    })
    out["recurred_after_close_rate"] = out["n_recurred_after_close"] / out["n_closed"].where(out["n_closed"] > 0)

    def km(frame):
        t, e = frame["_time"].to_numpy(float), frame["_closed"].to_numpy(int)
        ok = ~np.isnan(t)
        t, e = np.clip(t[ok], 0, None), e[ok]
        if not e.any():
            return pd.Series({"median_days_to_close": np.nan, "median_ci_low": np.nan, "median_ci_high": np.nan})
        sf = SurvfuncRight(t, e)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = sf.quantile_ci(0.5)
        return pd.Series({"median_days_to_close": float(sf.quantile(0.5)), "median_ci_low": float(lo),
                          "median_ci_high": float(hi)})

    # One Kaplan-Meier fit per group (groups are themes or owners: few).
    kmt = pd.DataFrame({k: km(f) for k, f in g}).T if len(items) else pd.DataFrame(
        columns=["median_days_to_close", "median_ci_low", "median_ci_high"])
    kmt.index = out.index
    out = out.join(kmt)
    cols = ["n_items", "n_open", "n_in_progress", "n_closed", "median_days_to_close", "median_ci_low",
            "median_ci_high", "mean_days_to_close_closed", "oldest_open_days", "n_recurred_after_close",
            "recurred_after_close_rate"]
    return out[cols].reset_index()
