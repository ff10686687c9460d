"""Repeated labels held once: the responses' label columns as pandas Categoricals; and the comments let go of
once the run has read them (:func:`drop_comments`).

A response's ``channel``, ``journey_stage`` and ``touchpoint`` come from short
lists (three channels, six journey stages, a dozen touchpoints), yet pandas'
Arrow-backed text keeps an 8-byte offset and the text of every row: at 10M
responses the three columns take 535 MiB, as categoricals (one-byte codes and
the distinct labels) 29 MiB. ``cxinfluence run`` holds the village it loads
this way for the whole run (the 100k run's peak RSS 4,865 -> 4,319 MiB); every
output is the same bytes (checked on the 100k run and the demo, and in
tests/test_compact.py against a run on the village as loaded).

The labels' values are unchanged, only their dtype. Analysts calling
:func:`cxinfluence.load_village` get plain text columns; call
:func:`compact_labels` yourself when a large village must fit in a notebook's
memory, and mind what categoricals do differently: ``fillna`` with a label
that is not a category raises, ``value_counts`` lists categories with no rows,
seaborn orders a categorical axis by its categories (alphabetical here).
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from .ids import arrow_identity, carry, forget

#: The responses' columns of short label lists (see :data:`cxinfluence.village.schema.JOURNEY_STAGES`)
LABEL_COLUMNS = ("channel", "journey_stage", "touchpoint")

#: A column is kept as text when its distinct labels exceed this share of its rows: free text, not labels
MAX_DISTINCT_SHARE = 0.5


def compact_labels(village, columns=LABEL_COLUMNS):
    """A village whose responses' label ``columns`` are Categoricals (the input is not modified).

    A column becomes categorical when it is text (``str`` or object) and has
    at most :data:`MAX_DISTINCT_SHARE` as many distinct labels as rows; the
    categories are the distinct labels in sorted order, as
    ``astype("category")`` gives, and blanks stay blank. The other tables are
    the input's own (not copied), and the village's cached id matches carry
    over (:func:`cxinfluence.village.ids.carry`).

    Parameters
    ----------
    village : Village
    columns : sequence of str, default :data:`LABEL_COLUMNS`
        Columns of ``village.responses``; those it lacks are skipped.

    Returns
    -------
    Village
        ``village`` itself when no column changes, else a new Village.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> r = pd.DataFrame({"stakeholder_id": ["p", "p", "q", "q"], "channel": ["survey", None, "survey", "informal"]})
    >>> v = compact_labels(Village(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), r, pd.DataFrame()))
    >>> v.responses["channel"].dtype
    CategoricalDtype(categories=['informal', 'survey'], ordered=False, categories_dtype=str)
    >>> v.responses["channel"].tolist(), r["channel"].dtype
    (['survey', nan, 'survey', 'informal'], <StringDtype(na_value=nan)>)
    """
    responses = village.responses
    changed = {}
    for c in columns:
        if responses is None or c not in responses.columns:
            continue
        col = responses[c]
        if not (isinstance(col.dtype, pd.StringDtype) or col.dtype == object):
            continue
        labels = col.astype("category")
        if len(labels.cat.categories) <= MAX_DISTINCT_SHARE * len(col):
            changed[c] = labels
    if not changed:
        return village
    # a shallow copy shares every other column (no copy of millions of ids), so the id cache still matches them
    responses = responses.copy(deep=False)
    for c, labels in changed.items():
        responses[c] = labels
    return carry(village, dataclasses.replace(village, responses=responses))


def drop_comments(village, column="comment") -> None:
    """Drop the responses' free-text ``column`` from ``village`` **in place**, for a village no one else holds:
    the run's own (loaded or anonymised by it), after the last stage that reads the comments. At 10M responses
    they take 456 MiB, and the portfolio graphs, the report and the tables do not read them (``cxinfluence run``
    gives the maps and the account pages their accounts' own village, comments included, first). Every other
    column stays as it is, and with it the id cache, less what was derived from the comments.

    >>> from cxinfluence.village.core import Village
    >>> v = Village(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
    ...             pd.DataFrame({"stakeholder_id": ["p"], "comment": ["late again"]}), pd.DataFrame())
    >>> drop_comments(v)
    >>> list(v.responses)
    ['stakeholder_id']
    """
    responses = village.responses
    if responses is None or column not in responses.columns:
        return
    text = arrow_identity(responses[column])
    village.responses = responses.drop(columns=column)
    if text is not None:
        forget(village, text)  # e.g. which comments are blank: the entry holds the text itself
