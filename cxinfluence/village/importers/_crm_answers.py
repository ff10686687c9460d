"""Survey answers in the CRM exports (HubSpot feedback submissions, Gainsight survey answers).

Questions are mapped to village items (the mapping's ``questions`` table first, then
:data:`QUESTION_RULES`), answer cells read as scores, and long one-row-per-answer tables pivoted
to one row per response (:func:`pivot_answers`). Answers that cannot be used are returned as
``dropped`` entries (file, row, reason), never silently lost. The other CRM helpers are
:mod:`cxinfluence.village.importers._crm`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ...exceptions import Problem, VillageError
from ..schema import SCORE_RANGES
from ._crm import dropped_rows, norm_key

#: Question text -> village item, tried in order when neither the survey type nor the mapping says.
QUESTION_RULES = (
    (re.compile(r"recommend", re.IGNORECASE), "nps"),
    (re.compile(r"\btrust", re.IGNORECASE), "trust"),
    (re.compile(r"cared? (for|about)|cares about|feel (valued|cared)", re.IGNORECASE), "cared_for"),
    (re.compile(r"effort", re.IGNORECASE), "ces"),
    (re.compile(r"\beas(y|e|ier|ily)\b", re.IGNORECASE), "neteasy"),
    (re.compile(r"satisf", re.IGNORECASE), "csat"),
    (re.compile(r"comment|reason|why|tell us|anything else|feedback|suggest", re.IGNORECASE), "comment"),
)

ITEMS = tuple(SCORE_RANGES)


def answer_extras(answers: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Write the source section's ``channel``, ``touchpoint`` and ``journey_stage`` on every answer."""
    out = answers.copy()
    for key in ("channel", "touchpoint", "journey_stage"):
        if cfg.get(key):
            out[key] = str(cfg[key]).strip().lower() if key != "touchpoint" else str(cfg[key]).strip()
    return out


def score(values: pd.Series) -> pd.Series:
    """Numbers from answer cells: "9", "9.0" and labels that start with the number ("9 - Very likely").

    Examples
    --------
    >>> score(pd.Series(["9", "10 - Extremely likely", "great", None])).tolist()
    [9.0, 10.0, nan, nan]
    """
    text = values.astype(object).where(values.notna(), None).astype(str)
    return pd.to_numeric(text.str.extract(r"^\s*(-?\d+(?:\.\d+)?)\b", expand=False), errors="coerce")


def item_of_question(text, overrides: dict) -> str | None:
    """Village item for a question (or survey name): the mapping first, then :data:`QUESTION_RULES`."""
    if not isinstance(text, str):
        return None
    low = {norm_key(k): v for k, v in overrides.items()}
    hit = low.get(norm_key(text))
    if hit is not None:
        return str(hit).strip().lower() or None
    for pattern, item in QUESTION_RULES:
        if pattern.search(text):
            return item
    return None


def question_map(questions: dict, source: str) -> dict:
    """The mapping's ``questions`` table as question text -> item, checked.

    Both directions are accepted: ``"How easy was it?" = "neteasy"`` (text -> item) and
    ``nps = "How likely are you to recommend us?"`` (item -> text, or a list of texts), as the
    generic reader's mapping writes it. Items: the six scores, ``comment`` or ``ignore``.

    Examples
    --------
    >>> question_map({"neteasy": "How easy was it?", "Anything else?": "comment", "ces": ["Effort?", "Ease?"]}, "hubspot")
    {'How easy was it?': 'neteasy', 'Anything else?': 'comment', 'Effort?': 'ces', 'Ease?': 'ces'}
    """
    allowed = ITEMS + ("comment", "ignore")
    out, bad = {}, []
    for k, v in (questions or {}).items():
        key = str(k).strip().lower()
        if key in allowed and not (isinstance(v, str) and v.strip().lower() in allowed):
            for text in v if isinstance(v, list) else [v]:
                out[str(text)] = key
        elif isinstance(v, str) and v.strip().lower() in allowed:
            out[str(k)] = v.strip().lower()
        else:
            bad.append(
                Problem(
                    "mapping",
                    "mapping",
                    None,
                    f"{source}.questions.{k}",
                    f'\'{k}\' = {v!r}: write "question text" = "item" (or item = "question text") with item one of {", ".join(allowed)}',
                )
            )
    if bad:
        raise VillageError(bad, source="mapping")
    return out


def pivot_answers(long: pd.DataFrame, *, file: str) -> tuple[pd.DataFrame, list, list]:
    """Pivot long answers (one row per answer) to one row per response.

    ``long`` has columns ``response_key`` (rows with the same key form one response),
    ``response_id``, ``contact_id``, ``email``, ``date``, ``item`` (a village item or
    ``"comment"``), ``value`` (text), ``row`` (spreadsheet row). Scores outside the village
    scale, answers to unknown items and repeated answers to one item are dropped with their row
    (the later answer of a repeat is kept). Returns answers, dropped entries and notes.
    """
    dropped, notes = [], []
    df = long.copy()
    df["score"] = np.where(df["item"].eq("comment"), np.nan, score(df["value"]))
    df = _drop_unusable(df, file, dropped)
    df = _drop_off_scale(df, file, dropped)
    df = _drop_repeats(df, file, dropped, notes)
    if df.empty:
        return pd.DataFrame(columns=RESPONSE_COLUMNS), dropped, notes
    return _one_row_per_response(df, file), dropped, notes


#: the columns of :func:`pivot_answers`' responses
RESPONSE_COLUMNS = ["response_id", "contact_id", "email", "date", *ITEMS, "comment", "channel", "source_file",
                    "source_row"]


def _drop_unusable(df: pd.DataFrame, file: str, dropped: list) -> pd.DataFrame:
    """Answers to unrecognised questions, non-numbers for a score, and blanks, dropped with their reason."""
    for test, reason in (
        (
            lambda d: d["item"].isna(),
            "question not recognised as NPS/CSAT/CES/NetEasy/trust/cared-for or a comment; name it in the mapping's questions table",
        ),
        (lambda d: d["item"].ne("comment") & d["value"].notna() & d["score"].isna(), "answer is not a number"),
        (lambda d: d["value"].isna(), "no answer"),
    ):
        mask = test(df)
        for r in df.loc[mask, "row"]:
            dropped.append({"file": file, "row": int(r), "reason": reason})
        df = df[~mask]
    return df


def _drop_off_scale(df: pd.DataFrame, file: str, dropped: list) -> pd.DataFrame:
    """Scores outside their item's village scale (or not whole numbers), dropped with their reason."""
    scored = ~df["item"].eq("comment")
    lo = df["item"].map(lambda i: SCORE_RANGES.get(i, (np.nan, np.nan))[0])
    hi = df["item"].map(lambda i: SCORE_RANGES.get(i, (np.nan, np.nan))[1])
    off = scored & ((df["score"] < lo) | (df["score"] > hi) | (df["score"] % 1 != 0))
    for r, it, v in df.loc[off, ["row", "item", "score"]].itertuples(index=False):
        lo_, hi_ = SCORE_RANGES[it]
        dropped.append(
            {
                "file": file,
                "row": int(r),
                "reason": f"{it} answer {v:g} is outside the village scale {lo_}-{hi_} (whole numbers)",
            }
        )
    return df[~off]


def _drop_repeats(df: pd.DataFrame, file: str, dropped: list, notes: list) -> pd.DataFrame:
    """A score answered twice in one response: the later answer is kept, the earlier dropped (and noted)."""
    rep = df.duplicated(["response_key", "item"], keep="last") & df["item"].ne("comment")
    for r, it in df.loc[rep, ["row", "item"]].itertuples(index=False):
        dropped.append(
            {
                "file": file,
                "row": int(r),
                "reason": f"{it} answered again in the same response; the later answer is kept",
            }
        )
    if rep.any():
        notes.append(
            f"{file}: {int(rep.sum())} repeated answer(s) to one question in one response; the later answer was kept"
        )
    return df[~rep]


def _one_row_per_response(df: pd.DataFrame, file: str) -> pd.DataFrame:
    """The usable answers pivoted: one row per response key, a column per item, comments joined by " | "."""
    g = df.groupby("response_key", sort=False)
    head = g.agg(
        response_id=("response_id", "first"),
        contact_id=("contact_id", "first"),
        email=("email", "first"),
        date=("date", "max"),
        source_row=("row", "min"),
    )
    scores = df[df["item"] != "comment"].pivot(index="response_key", columns="item", values="score")
    c = df[df["item"] == "comment"].astype({"value": str})
    several = c["response_key"].duplicated(keep=False)
    comments = pd.concat(
        [c[~several].set_index("response_key")["value"], c[several].groupby("response_key")["value"].agg(" | ".join)]
    )
    out = head.join(scores).join(comments.rename("comment"))
    for it in ITEMS:
        if it not in out:
            out[it] = np.nan
    if "comment" not in out:
        out["comment"] = np.nan
    out["channel"] = "survey"
    out["source_file"] = file
    out = out.reset_index(drop=True)
    return out[RESPONSE_COLUMNS]


def usable_answers(staged, rows, file, bad_date, no_who, ignored, *, date_reason, who_reason) -> np.ndarray:
    """Which long-format survey answers can be used; every other one is listed in ``staged.dropped``
    with its reason (an undated answer; one that names no person; a question the mapping ignores)."""
    for mask, reason in ((bad_date, date_reason), (no_who & ~bad_date, who_reason),
                         (ignored, "question ignored by the mapping")):
        staged.dropped += dropped_rows(mask, rows, file, reason)
    return ~bad_date & ~no_who & ~ignored
