"""The import report: what was read, joined, assumed and left out, printed and written beside the village.

``import_report.md`` is for people; ``import_log.csv`` has one row per event (``kind`` is
``read``, ``note`` (an assumption or something that could not be mapped), ``dropped`` (a row left
out, with its file, row and reason) or ``warning`` (from validation)). Nothing is left out silently:
every dropped row is in the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(s: pd.Series) -> pd.Series:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe.

    >>> neutralise(pd.Series(["=HYPERLINK(1)", "fine", "-2"])).tolist()
    ["'=HYPERLINK(1)", 'fine', "'-2"]
    """
    text = s.astype(object)
    risky = text.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
    return text.where(~risky, "'" + text.astype(str))


@dataclass
class ImportReport:
    """What :func:`cxinfluence.village.importers.import_village` did.

    Attributes
    ----------
    sources : list of dict
        ``source``, ``file``, ``rows`` for every file read.
    counts : dict
        Sizes of the village tables and of the join (``answers_read``, ``joined_by_contact_id``,
        ``joined_by_email``, ``answers_unmatched``, ``people_without_account``, ...).
    notes : list of (source, text)
        Every assumption made and everything that could not be mapped.
    dropped : DataFrame
        ``source, file, row, table, reason``: every row left out.
    titles : dict
        ``to_classify`` (people whose role came from no picklist, with a title), ``classified``, ``share``.
    problems : list of Problem
        Validation warnings of the imported village.
    """

    sources: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["source", "file", "row", "table", "reason"]))
    titles: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    tables: dict | None = field(default=None, repr=False)

    def note(self, source, text):
        self.notes.append((source, text))

    # ------------------------------------------------------------------ text
    def summary(self) -> str:
        """A few lines for the console."""
        c = self.counts
        lines = [f"read {sum(s['rows'] for s in self.sources):,} row(s) from {len(self.sources)} file(s)"]
        lines.append(f"village: {c.get('accounts', 0):,} accounts, {c.get('stakeholders', 0):,} people, "
                     f"{c.get('relationships', 0):,} ties, {c.get('responses', 0):,} responses, {c.get('outcomes', 0):,} outcomes")
        if c.get("answers_read"):
            lines.append(f"responses joined to people: {c.get('answers_joined', 0):,} of {c['answers_read']:,} "
                         f"({c.get('joined_by_contact_id', 0):,} by contact id, {c.get('joined_by_email', 0):,} by e-mail); "
                         f"{c.get('answers_unmatched', 0):,} matched no one")
        if c.get("people_without_account"):
            lines.append(f"people without an account (left out): {c['people_without_account']:,}")
        if self.titles.get("to_classify"):
            lines.append(f"job titles classified: {self.titles['classified']:,} of {self.titles['to_classify']:,} "
                         f"({self.titles['share']:.0%})")
        lines.append(f"rows left out: {len(self.dropped):,}; assumptions and gaps: {len(self.notes)} (see import_report.md)")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """The report as Markdown."""
        c = self.counts
        out = ["# Import report", "", "## Files read", "", "| source | file | data rows |", "|---|---|---|"]
        out += [f"| {s['source']} | `{Path(s['file']).name}` | {s['rows']:,} |" for s in self.sources]
        out += ["", "## The village", "", "| table | rows |", "|---|---|"]
        out += [f"| {t} | {c.get(t, 0):,} |" for t in ("accounts", "stakeholders", "relationships", "responses", "outcomes")]
        out += ["", "## Responses joined to people", ""]
        if c.get("answers_read"):
            out += [f"- read: {c['answers_read']:,}",
                    f"- joined by contact id: {c.get('joined_by_contact_id', 0):,}",
                    f"- joined by e-mail (trimmed, case-insensitive): {c.get('joined_by_email', 0):,}",
                    f"- matched no person: {c.get('answers_unmatched', 0):,}"]
            why = self.dropped[self.dropped["table"] == "responses"]
            if len(why):
                out += ["", "| why a response matched no one / was left out | responses |", "|---|---|"]
                out += [f"| {_md(r)} | {n:,} |" for r, n in _reason_counts(why).items()]
        else:
            out.append("- no survey answers were imported")
        out += ["", "## People", "", f"- people without an account (left out): {c.get('people_without_account', 0):,}"]
        if self.titles.get("to_classify"):
            t = self.titles
            out.append(f"- job titles classified (people with no role from a picklist): {t['classified']:,} of "
                       f"{t['to_classify']:,} ({t['share']:.0%})")
        out += ["", "## Assumptions and what could not be mapped", ""]
        out += [f"- **{s}**: {_md(t)}" for s, t in self.notes] or ["- none"]
        out += ["", "## Rows left out", ""]
        if len(self.dropped):
            out += ["| table | reason | rows |", "|---|---|---|"]
            for (table, reason), n in self.dropped.groupby(["table", _generic(self.dropped["reason"])]).size().items():
                out.append(f"| {table} | {_md(reason)} | {n:,} |")
            out += ["", "Every row is listed with its file and row number in `import_log.csv`."]
        else:
            out.append("- none")
        warnings = [p for p in self.problems if p.severity == "warning"]
        if warnings:
            out += ["", "## Validation warnings", ""] + [f"- {_md(str(p))}" for p in warnings]
        return "\n".join(out) + "\n"

    def log(self) -> pd.DataFrame:
        """One row per event: ``kind, source, file, row, message``."""
        parts = [pd.DataFrame({"kind": "read", "source": [s["source"] for s in self.sources],
                               "file": [s["file"] for s in self.sources], "row": None,
                               "message": [f"{s['rows']} data row(s) read" for s in self.sources]}),
                 pd.DataFrame({"kind": "note", "source": [s for s, _ in self.notes], "file": None, "row": None,
                               "message": [t for _, t in self.notes]})]
        if len(self.dropped):
            d = self.dropped
            parts.append(pd.DataFrame({"kind": "dropped", "source": d["source"].to_numpy(), "file": d["file"].to_numpy(),
                                       "row": d["row"].to_numpy(), "message": (d["table"] + ": " + d["reason"]).to_numpy()}))
        if self.problems:
            parts.append(pd.DataFrame({"kind": "warning", "source": "validate", "file": [p.file for p in self.problems],
                                       "row": [p.row for p in self.problems], "message": [p.message for p in self.problems]}))
        log = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else parts[0]
        log["row"] = pd.array(log["row"], dtype="Int64")
        return log

    def write(self, folder) -> None:
        """Write ``import_report.md`` and ``import_log.csv`` into ``folder`` (text cells neutralised)."""
        folder = Path(folder)
        (folder / "import_report.md").write_text(self.to_markdown(), encoding="utf-8")
        log = self.log()
        for c in ("source", "file", "message"):
            log[c] = neutralise(log[c])
        log.to_csv(folder / "import_log.csv", index=False, encoding="utf-8", lineterminator="\n")


def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _generic(reasons: pd.Series) -> pd.Series:
    """Reasons without the value they quote, for counting (``e-mail 'x@y' ...`` -> ``e-mail ...``)."""
    return reasons.astype(str).str.replace(r"'[^']*'", "…", regex=True)


def _reason_counts(d: pd.DataFrame) -> pd.Series:
    return _generic(d["reason"]).value_counts()
