"""The comment summaries split ';'-joined cells in one Arrow pass and give the tables the row-by-row code gave."""

import numpy as np
import pandas as pd
import pytest

from cxinfluence.comments.actions import action_summary, theme_summary
from cxinfluence.comments.themes import split_joined, split_joined_reference

CELLS = ["delivery;billing", None, "", ";", "x;;y;", 5, 2.5, "é;ü", " a ; b ", np.nan, "billing"]


@pytest.mark.parametrize("empty", [None, "other"])
@pytest.mark.parametrize("values", [pd.Series(CELLS, dtype=object), pd.Series([], dtype=object),
                                    pd.Series(["a;b", None, "c"], dtype="str"), pd.Series([np.nan] * 3)])
def test_split_joined_equals_splitting_each_cell(values, empty):
    rows, parts = split_joined(values, empty)
    ref_rows, ref_parts = split_joined_reference(values, empty)
    np.testing.assert_array_equal(rows, ref_rows)
    assert parts.dtype == object and parts.tolist() == ref_parts.tolist()


def _theme_summary_row_by_row(comments):
    """theme_summary as first written: a Python split per comment, then explode."""
    d = comments.assign(theme=comments["themes"].fillna("").map(lambda t: [x for x in str(t).split(";") if x]
                                                                or ["other"]))
    d = d.explode("theme").assign(_neg=lambda x: x["comment_sentiment"] <= -0.05)
    g = d.groupby("theme", sort=False)
    out = pd.DataFrame({"n_comments": g.size(), "n_accounts": g["account_id"].nunique(),
                        "mean_sentiment": g["comment_sentiment"].mean(), "share_negative": g["_neg"].mean()})
    out.insert(2, "share_of_comments", out["n_comments"] / max(len(comments), 1))
    out = out.rename_axis("theme").reset_index()
    return out.sort_values("n_comments", ascending=False, kind="stable").reset_index(drop=True)


def test_summaries_of_awkward_cells(sample_village):
    from cxinfluence.comments.actions import action_list, comment_table
    from cxinfluence.village.asof import default_as_of

    as_of = default_as_of(sample_village)
    comments = comment_table(sample_village, as_of, window_days=None)
    comments.loc[comments.index[:len(CELLS)], "themes"] = CELLS
    pd.testing.assert_frame_equal(theme_summary(comments), _theme_summary_row_by_row(comments))
    actions = action_list(sample_village, as_of, window_days=365)
    actions.loc[actions.index[:3], "owning_group"] = [None, "", "logistics;;quality"]
    summary = action_summary(actions)
    assert summary["n_comments"].sum() == sum(len([x for x in str(g).split(";") if x])
                                              for g in actions["owning_group"].fillna(""))
