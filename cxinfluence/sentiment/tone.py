"""The tone of free text: VADER with documented B2B adjustments (comment sentiment).

Used by the comments stage (each informal comment's tone) and by the journey view
(a comment's tone stands in for a missing score).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..village.ids import blank_texts, distinct_text

#: Domain adjustments to the VADER lexicon (valence on VADER's -4..+4 scale).
#: Words that are names of things in B2B, not feelings, are set to 0 ("our
#: champion", "support ticket", "safety data sheet", "credit note", "customer
#: care", "price increase"); operational words VADER does not know get a
#: valence so that "late", "outage" or "issues" count, and so that VADER's own
#: negation turns "no issues" positive.
DOMAIN_LEXICON = {
    "champion": 0.0, "champions": 0.0, "support": 0.0, "safety": 0.0, "credit": 0.0,
    "care": 0.0, "increase": 0.0, "free": 0.0,
    "issue": -1.0, "issues": -1.0, "concern": -0.8, "concerns": -0.8,
    "late": -1.5, "overdue": -1.5, "slow": -1.0, "backorder": -1.5, "backordered": -1.5,
    "outage": -2.0, "downtime": -1.5, "recall": -1.8, "recalled": -1.8,
    "overcharged": -2.0, "overbilled": -2.0, "escalation": -1.2, "escalated": -1.2,
    "rework": -1.2, "unresponsive": -1.8, "unreliable": -1.8,
    "short-shipped": -1.5, "slipping": -1.0, "waited": -1.0, "waiting": -0.5,
    "reliable": 1.5, "on-time": 1.5, "seamless": 1.8, "smooth": 1.2, "smoothly": 1.2,
    "accurate": 1.2, "knowledgeable": 1.5, "fixed": 0.8, "complete": 0.5,
}

_KEY_PERSON = (r"champions?|(?:executive )?sponsors?|main contact|key contact|advocates?|"
               r"decision[- ]makers?|plant manager|our (?:contact|buyer|rep|engineer)")
_DEPARTS = (r"(?:has |have |had |just )?(?:left|quit|resigned|retired|departed|moved on)|"
            r"(?:is |are |was |were )?(?:leaving|retiring|resigning|gone|laid off|let go)|"
            r"(?:is |are )?no longer (?:with|at|here|there|in charge)")
#: Phrase rules applied before VADER: (regex, token, valence). The matched
#: phrase is replaced by a token with the given valence, so VADER's negation,
#: intensifier and "but" rules still apply around it.
PHRASE_RULES = (
    # A key person leaving the customer is a relationship risk (re-threading needed).
    (re.compile(rf"\b(?P<who>{_KEY_PERSON})\b(?P<gap>(?:[\s,]+[\w'-]+){{0,3}}?)[\s,]+(?:{_DEPARTS})\b",
                re.I), "cxkeypersonleft", -2.0),
    (re.compile(r"\b(?:price|prices|pricing) (?:increases?|hikes?|went up|going up|rises?)\b|"
                r"\bincreased? (?:the |our )?prices?\b", re.I), "cxpricerise", -1.5),
    # Nobody calling back is the commonest B2B service complaint; "issue" alone is negative, a fixed one is not.
    (re.compile(r"\b(?:nobody|no one|never) (?:\w+ )?(?:calls?|called|gets?|got|gotten|came|comes) back\b|"
                r"\bnever (?:gets?|got) back\b", re.I), "cxnocallback", -1.5),
    (re.compile(r"\b(?:fixed|solved|resolved|sorted out) (?:the|our|this|that|an?) (?:issues?|problems?)\b", re.I),
     "cxresolved", 1.5),
    (re.compile(r"\bon time\b", re.I), "cxontime", 1.5),
)

_ANALYZERS: dict = {}


def _analyzer(lexicon):
    key = tuple(sorted((lexicon or {}).items()))
    if key not in _ANALYZERS:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        a = SentimentIntensityAnalyzer()
        a.lexicon.update(DOMAIN_LEXICON)
        a.lexicon.update({rule[1]: rule[2] for rule in PHRASE_RULES})
        a.lexicon.update({str(k).lower(): float(v) for k, v in (lexicon or {}).items()})
        _ANALYZERS[key] = a
    return _ANALYZERS[key]


def _rewrite(text: str) -> tuple[str, bool]:
    changed = False
    for rx, token, _ in PHRASE_RULES:
        if token == "cxkeypersonleft":
            new = rx.sub(lambda m: f"{m.group('who')}{m.group('gap')} {token}", text)
        else:
            new = rx.sub(token, text)
        changed |= new != text
        text = new
    return text, changed


def comment_sentiment(data: pd.DataFrame, text="comment", *, lexicon=None) -> pd.DataFrame:
    """Sentiment of each comment's text: VADER with documented B2B adjustments.

    VADER (Hutto & Gilbert 2014, *ICWSM*; ``vaderSentiment`` on PyPI, a
    lexicon and rules, works offline) gives a ``compound`` score in
    ``[-1, 1]``. Labels use its recommended cut-offs: ``>= 0.05`` positive,
    ``<= -0.05`` negative, otherwise neutral.

    B2B adjustments (see :data:`DOMAIN_LEXICON`, :data:`PHRASE_RULES`):

    * jargon that names things is neutral: in "our champion left the company"
      plain VADER reads *champion* (+2.9) as praise and scores the sentence
      +0.60; here *champion*, *support*, *safety*, *credit*, *care*,
      *increase* and *free* carry no sentiment;
    * a key person (champion, sponsor, main contact, decision maker, ...)
      leaving, retiring or being "no longer with" the customer is read as
      negative (valence -2), and a price increase as negative (-1.5);
    * operational words VADER lacks get a valence (*late*, *outage*,
      *downtime*, *issues*, *overcharged*, *reliable*, *on-time*, ...), so
      "no issues" reads positive (plain VADER: -0.30, because *no* alone is
      negative) while "not happy" stays negative.

    Known limitations: sarcasm and irony are not detected ("Great, another
    late delivery" still reads positive: *great* outweighs *late*); domain
    words outside the table are scored as everyday English; comparisons
    ("better than before but still slow") are only partly handled by VADER's
    "but" rule; non-English text is mostly read as neutral. Treat the score
    as a triage signal, not a measurement, and prefer the customer's own
    scores where given.

    Parameters
    ----------
    data : DataFrame
    text : str, default "comment"
    lexicon : dict, optional
        Extra ``{word: valence}`` entries (VADER's -4..+4 scale), applied after
        the domain adjustments (so they can override them).

    Returns
    -------
    DataFrame
        A copy of ``data`` with ``comment_sentiment`` (compound, NaN for blank
        text), ``comment_label`` and ``comment_adjusted`` (True when a phrase
        rule changed the text before scoring).

    Examples
    --------
    >>> df = pd.DataFrame({"comment": ["Our champion left the company", "No issues at all", "not happy"]})
    >>> comment_sentiment(df)[["comment_sentiment", "comment_label"]]
       comment_sentiment comment_label
    0            -0.4588      negative
    1             0.1877      positive
    2            -0.4585      negative
    """
    if text not in data.columns:
        raise KeyError(f"text={text!r} is not a column of data; columns are {list(data.columns)}")
    analyzer = _analyzer(lexicon)
    if isinstance(data[text].dtype, pd.StringDtype):  # already text: no Python string per row
        codes, uniq = distinct_text(data[text])
    else:
        values = data[text].astype(object)
        codes, uniq = pd.factorize(values.map(lambda v: v if isinstance(v, str) else str(v)).where(values.notna()))
        uniq = np.asarray(uniq, dtype=object)
    # VADER scores one string at a time: each distinct non-blank text once, then broadcast
    scores, adjusted = np.full(len(uniq) + 1, np.nan), np.zeros(len(uniq) + 1, dtype=bool)
    for i in np.flatnonzero(~blank_texts(uniq)[:-1]):
        rewritten, adjusted[i] = _rewrite(uniq[i])
        scores[i] = analyzer.polarity_scores(rewritten)["compound"]
    out = data.copy()
    out["comment_sentiment"] = scores[codes]
    s = out["comment_sentiment"]
    out["comment_label"] = np.where(s.isna(), None, np.where(s >= 0.05, "positive",
                                                             np.where(s <= -0.05, "negative", "neutral")))
    out["comment_adjusted"] = adjusted[codes]
    return out


# --------------------------------------------------------------------------- routing
