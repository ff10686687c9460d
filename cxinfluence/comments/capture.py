"""Informal comments, step 1: capture.

Seed 001, key 3: *"Make it easy to capture informal comments. Then stream informal feedback to
relevant groups throughout your company. Establish cadence & methodology for originators to
prevent issue recurrence. Motivate actions and follow-through on informal inputs."* The
comments stage is that loop, one module per step:

1. **Capture** (this module) -- account-team notes, call remarks and e-mails are typed into
   the CSV template (:func:`template_path`), read and checked with :func:`read_comments` and
   appended to a village's ``responses`` table with :func:`append_comments` (validated, locked,
   atomic: never a half-written or corrupted file).
2. **Themes** (:mod:`cxinfluence.comments.themes`) -- each comment tagged from a rule table
   (``rules/themes.csv``) users extend; the tone of the text is
   :func:`cxinfluence.sentiment.tone.comment_sentiment`.
3. **Routing** (:mod:`cxinfluence.comments.actions`) -- every recent comment routed to the group
   that owns its theme (``rules/routing.csv``) and ranked; each group's queue and what customers
   talk about.
4. **Recurrence and follow-through** (:mod:`cxinfluence.comments.followup`).

Customer text is kept exactly as written; escaping it is the renderer's job.
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import CommentError, Problem, VillageError, VillageWarning
from ..village.csvsafe import neutralise_cell, restore_cell
from ..village.files import lock, write_file_atomically
from ..village.ids import blank_mask, blank_texts, distinct_text
from ..village.io import RawTable, read_csv_table, read_tables
from ..village.schema import CHANNELS, JOURNEY_STAGES, SCORE_RANGES
from ..village.validate import check_tables

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
    mask = blank_mask(s)  # Arrow text: matched in Arrow, no string taken out of it
    if mask is not None:
        return pd.Series(mask, index=s.index, name=s.name)
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
