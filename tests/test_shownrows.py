"""The report's rows read piece by piece equal the same rows of the whole table (present/shownrows.py)."""

import numpy as np
import pandas as pd
import pytest

from cxinfluence.present.shownrows import gathered, pieces, shown_actions, top_rows


class Pieces:
    """A table on disk as the report sees it: ``frames()`` gives its pieces in order."""

    def __init__(self, frame, rows):
        self.parts = [frame.iloc[i:i + rows] for i in range(0, len(frame), rows)] or [frame]

    def frames(self):
        return iter(self.parts)


@pytest.fixture
def table():
    rng = np.random.default_rng(3)
    n = 500
    revenue = rng.choice([np.nan, 1.0, 2.0, 5.0], n)  # many ties and blanks: the stable sort decides
    return pd.DataFrame({"account_id": rng.choice(list("abcdefgh"), n), "rank": rng.integers(1, 4, n),
                         "revenue": revenue, "kind": rng.choice(["praise", "problem", "request", None], n),
                         "influence": rng.choice([0.1, 0.2, np.nan], n), "row": np.arange(n)})


@pytest.mark.parametrize("rows", [1, 7, 64, 500, 1000])
def test_top_rows_in_pieces_equal_the_whole_tables(table, rows):
    whole = table.sort_values(["revenue", "rank"], ascending=[False, True]).head(6)
    got = top_rows(Pieces(table, rows), 6, by=["revenue", "rank"], ascending=[False, True])
    assert got["row"].tolist() == whole["row"].tolist()
    extra = pd.DataFrame({"account_id": list("abcdefgh"), "bonus": np.arange(8.0)})
    merged = table.merge(extra, on="account_id", how="left").sort_values(["bonus", "row"], ascending=[True, False])
    got = top_rows(Pieces(table, rows), 9, by=["bonus", "row"], ascending=[True, False],
                   prepare=lambda f: f.merge(extra, on="account_id", how="left"))
    assert got["row"].tolist() == merged.head(9)["row"].tolist()


@pytest.mark.parametrize("rows", [1, 5, 64, 1000])
def test_shown_actions_in_pieces_are_what_the_report_picks_from_the_whole(table, rows):
    shown = shown_actions(Pieces(table, rows))
    # what render_report takes from the whole table
    problems = table[table["kind"] != "praise"].head(8)
    praise = table[table["kind"] == "praise"].sort_values("influence", ascending=False, kind="stable").head(3)
    assert shown["row"].tolist() == sorted(problems["row"].tolist() + praise["row"].tolist())
    assert shown[shown["kind"] != "praise"].head(8)["row"].tolist() == problems["row"].tolist()
    again = shown[shown["kind"] == "praise"].sort_values("influence", ascending=False, kind="stable").head(3)
    assert again["row"].tolist() == praise["row"].tolist()


def test_gathered_columns_of_pieces_equal_the_whole(table):
    got = gathered(Pieces(table, 33), ["revenue", "kind", "missing"])
    pd.testing.assert_frame_equal(got, table[["revenue", "kind"]].reset_index(drop=True))
    assert gathered(table, ["row"]).index.equals(table.index)  # a whole frame keeps its index
    assert [len(p) for p in pieces(table)] == [500]
