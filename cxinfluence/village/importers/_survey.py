"""What every survey reader does once it has found its columns: scores, dates, drops, notes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...exceptions import ImportDataError
from ._common import date_options, emails, leading_int, located, parse_dates
from .mapping import section

SCORES = ("nps", "csat", "ces", "neteasy", "trust", "cared_for")
TEXT_FIELDS = ("response_id", "contact_id", "comment", "touchpoint", "journey_stage", "channel", "account_id", "name", "title")


def answers_frame(ex, st, columns: dict, mapping, *, source, date_formats=(), source_tz=None, keep=None, dayfirst=False):
    """Build ``answers`` from an :class:`~cxinfluence.village.importers._common.Export` and a field -> column dict.

    Scores are the leading whole number of each cell (``"10 - Extremely likely"`` -> 10); dates go
    through :func:`~cxinfluence.village.importers._common.parse_dates` with the mapping's formats first, then
    ``date_formats``; ``channel`` (default ``survey``), ``touchpoint`` and ``journey_stage`` come from the
    source's mapping section unless a column gives them. Rows with no date, or with no score and no comment,
    are dropped with their reason; a date that cannot be read is a located error.
    """
    sec = section(mapping, source)
    formats, target_tz, default_tz = date_options(mapping)
    rows = ex.rows()
    out = pd.DataFrame(index=pd.RangeIndex(ex.n))
    for field, col in columns.items():
        if col is None:
            continue
        v = ex.text(col)
        if field in SCORES:
            num = leading_int(v)
            junk = v.notna() & num.isna()
            if junk.any():
                raise ImportDataError([located(source, ex.file, f"{t!r} is not a score; {field} takes whole numbers", int(r), col)
                                       for t, r in zip(v[junk].head(20), rows[junk.to_numpy()][:20])], source=ex.file)
            out[field] = num
        elif field == "email":
            out["email"] = emails(v)
        elif field == "date":
            d, bad = parse_dates(v, list(formats) + list(date_formats), source_tz=source_tz or default_tz,
                                 target_tz=target_tz, dayfirst=dayfirst)
            if bad.any():
                expected = " or ".join(list(formats) + list(date_formats)) or "ISO 8601"
                raise ImportDataError([located(source, ex.file, f"{t!r} is not a date; expected {expected} "
                                               "(set [dates] formats in the mapping file)", int(r), col)
                                       for t, r in zip(v[bad].head(20), rows[bad.to_numpy()][:20])], source=ex.file)
            out["date"] = d
        else:
            out[field] = v
    for field in ("channel", "touchpoint", "journey_stage"):
        if field not in out and sec.get(field):
            out[field] = str(sec[field]).strip().lower() if field != "touchpoint" else str(sec[field])
    if "channel" not in out:
        out["channel"] = "survey"
    out["source_file"] = ex.file
    out["source_row"] = rows
    drop = np.zeros(ex.n, bool) if keep is None else ~np.asarray(keep, bool)
    if "date" not in out:
        raise ImportDataError([located(source, ex.file, "no date column found; name it under "
                                       f"[{source}] columns = {{date = \"...\"}} in the mapping file")], source=ex.file)
    nodate = out["date"].isna().to_numpy() & ~drop
    st.dropped += [{"file": ex.file, "row": int(r), "reason": "no date"} for r in rows[nodate]]
    drop |= nodate
    scored = [c for c in SCORES if c in out]
    has = np.array(out[scored].notna().any(axis=1).to_numpy()) if scored else np.zeros(ex.n, bool)
    if "comment" in out:
        has |= out["comment"].notna().to_numpy()
    empty = ~has & ~drop
    st.dropped += [{"file": ex.file, "row": int(r), "reason": "no score and no comment (unanswered)"} for r in rows[empty]]
    drop |= empty
    if nodate.any() or empty.any():
        st.notes.append(f"{ex.file}: {int(nodate.sum())} response(s) without a date and {int(empty.sum())} with no score "
                        "and no comment left out (listed in import_log.csv)")
    found = ", ".join(f"{k} <- {v!r}" for k, v in columns.items() if v is not None)
    st.notes.append(f"{ex.file}: columns used: {found}")
    return out.loc[~drop].reset_index(drop=True)


def mapped_columns(ex, mapping, source):
    """The ``[source] columns`` of the mapping resolved to the export's header names (located errors if absent)."""
    cols = section(mapping, source).get("columns") or {}
    out, problems = {}, []
    for field, name in cols.items():
        c = ex.find(name) if hasattr(ex, "find") else None
        if c is None and hasattr(ex, "by_import_id"):
            c = ex.by_import_id(name)
        if c is None:
            problems.append(located(source, ex.file, f"the mapping names column {name!r} for {field} ([{source}] columns) "
                                    f"but the file has no such column (it has: {', '.join(ex.names[:25])})", column=name))
        out[field] = c
    if problems:
        raise ImportDataError(problems, source=ex.file)
    return out
