"""neutralise_arrow on a column of several Arrow chunks (a table assembled from parts): the same cells neutralised."""

import pyarrow as pa

from cxinfluence.village.csvsafe import neutralise_arrow, neutralise_cell


def test_a_dangerous_cell_in_a_later_chunk_is_neutralised():
    col = pa.chunked_array([pa.array(["a", "b"]), pa.array(["c", "=1+1", None, "-3"])])
    assert neutralise_arrow(col).to_pylist() == ["a", "b", "c", "'=1+1", None, "-3"]


def test_a_clean_chunked_column_is_returned_as_it_is():
    col = pa.chunked_array([pa.array(["a", "b"]), pa.array(["c", None])])
    assert neutralise_arrow(col) is col
    values = ["x", "@y", "'=z", "\t=w", "  +v", "ok"]
    parts = pa.chunked_array([pa.array(values[:3]), pa.array(values[3:])])
    assert neutralise_arrow(parts).to_pylist() == [neutralise_cell(v) for v in values]
