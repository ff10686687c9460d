"""The column-at-a-time GEXF writer gives the bytes of the readable per-value writer (present/xmlcolumns.py)."""

import numpy as np
import pandas as pd
import pyarrow as pa

from cxinfluence.network.influence import influence_weights
from cxinfluence.present.portfolio import portfolio_tables, write_portfolio_gexf
from cxinfluence.present.portfolio_reference import _reference_gexf
from cxinfluence.present.xmlcolumns import quote_numbers, quote_value, quote_values
from cxinfluence.sentiment.schemes import sentiment_tables
from cxinfluence.village.asof import default_as_of

HOSTILE = ["plain", "", "a&b<c>d", 'say "hi"', "it's", "both ' and \"", "line\nbreak\r\ttab", "\u202eevil\u2066x",
           "bell\x07 nul\x00 \ufffe end", "=1+1", "ünïcødé 日本", "&amp; already", "'\"'", None, float("nan"), pd.NA]


def test_quote_values_equal_the_per_value_rule_on_hostile_text():
    for values in (pd.Series(HOSTILE, dtype=object), pd.Series(HOSTILE[:13] + [None], dtype="string[pyarrow]")):
        assert quote_values(values).to_pylist() == [quote_value(v) for v in values.to_numpy(object)]
    mixed = pd.Series([1, "a", 2.5, None, True], dtype=object)  # not text: the per-value rule itself
    assert quote_values(mixed).to_pylist() == [quote_value(v) for v in mixed]


def test_quote_numbers_is_python_repr():
    x = np.concatenate([np.random.default_rng(0).random(500) * 10.0 ** np.arange(-10, 15, 0.05)[:500],
                        [0.0, -0.0, 1.0, 1e16, 1e22, 5e-324, np.nan, np.inf, -np.inf]])
    got = quote_numbers(x, "double").to_pylist()
    assert got == [f'"{v!r}"' if np.isfinite(v) else None for v in x.tolist()]
    assert quote_numbers(pd.Series([3, None, 7], dtype="Int64"), "long").to_pylist() == ['"3"', None, '"7"']


def _hostile_tables(small):
    nodes, edges = small
    nodes, edges = nodes.copy(), edges.copy()
    k = len(HOSTILE)
    nodes.loc[nodes.index[:k], "name"] = HOSTILE
    nodes.loc[nodes.index[k:2 * k], "title"] = HOSTILE
    nodes["department"] = nodes["department"].astype("string[pyarrow]")
    nodes.loc[nodes.index[:3], "influence"] = [np.nan, 1e-20, 123456789.125]
    nodes["veto"] = nodes["veto"].astype(object)
    nodes.loc[nodes.index[3:5], "veto"] = [None, True]
    edges.loc[edges.index[:2], "weight"] = [np.nan, 1e-7]
    return nodes, edges


def test_same_bytes_as_the_reference_writer(small_synthetic, tmp_path, monkeypatch):
    _, v, _ = small_synthetic
    as_of = default_as_of(v)
    infl = influence_weights(v, as_of)
    _, people = sentiment_tables(v, as_of, window_days=365, lead_days=0, influence=infl)
    nodes, edges = portfolio_tables(v, infl, people)
    for n, e in ((nodes, edges), _hostile_tables((nodes, edges)), (nodes.iloc[:0], edges.iloc[:0]),
                 (nodes.drop(columns=["name"]), edges.drop(columns=["weight"]))):
        ref = _reference_gexf(n, e, tmp_path / "ref.gexf").read_bytes()
        assert write_portfolio_gexf(n, e, tmp_path / "fast.gexf").read_bytes() == ref
    monkeypatch.setattr("cxinfluence.present.portfolio._BLOCK", 7)  # rows split over many blocks
    assert write_portfolio_gexf(nodes, edges, tmp_path / "blocks.gexf").read_bytes() == \
        _reference_gexf(nodes, edges, tmp_path / "ref.gexf").read_bytes()


def test_quote_values_accepts_arrow_and_empty():
    assert quote_values(pa.array(["x"])).to_pylist() == ['"x"']
    assert quote_values(pd.Series([], dtype=object)).to_pylist() == []
    assert quote_values(pd.Series([None, None])).to_pylist() == [None, None]


def _merge_reference(v, infl, people):
    """portfolio_tables with the hash-lookup fast paths switched off (the merges)."""
    import cxinfluence.present.portfolio as P

    saved = P._matched_unique, P._ties_unique
    P._matched_unique = P._ties_unique = lambda *a: None
    try:
        return P.portfolio_tables(v, infl, people)
    finally:
        P._matched_unique, P._ties_unique = saved


def test_lookups_give_the_merges_tables(small_synthetic):
    """Unique ids: one hash lookup instead of merges, the same tables; people missing from a table stay blank."""
    _, v, _ = small_synthetic
    as_of = default_as_of(v)
    infl = influence_weights(v, as_of)
    _, people = sentiment_tables(v, as_of, window_days=365, lead_days=0, influence=infl)
    people = people.iloc[::2]  # half the people not in the sentiment table
    infl = infl.assign(account_id=infl["account_id"].where(infl.index % 7 != 3, "elsewhere"))  # account mismatch
    for got, want in zip(portfolio_tables(v, infl, people), _merge_reference(v, infl, people)):
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert portfolio_tables(v, infl, people)[0]["sentiment"].isna().sum() > len(infl) // 3


def test_ids_repeating_across_accounts_take_the_merge():
    from cxinfluence.village.core import Village

    s = pd.DataFrame({"stakeholder_id": ["a", "b", "a"], "account_id": ["A", "A", "B"], "name": ["Ann", "Bo", "Al"]})
    r = pd.DataFrame({"source_id": ["b", "a"], "target_id": ["a", "b"], "kind": ["reports_to", "influences"]})
    infl = pd.DataFrame({"account_id": ["A", "A", "B"], "stakeholder_id": ["a", "b", "a"], "influence": [.6, .4, 1.]})
    v = Village(pd.DataFrame({"account_id": ["A", "B"]}), s, r, None, None)
    nodes, edges = portfolio_tables(v, infl)
    assert nodes["id"].tolist() == ["A/a", "A/b", "B/a"] and nodes["name"].tolist() == ["Ann", "Bo", "Al"]
    assert sorted(zip(edges["source"], edges["target"])) == [("A/a", "A/b"), ("A/b", "A/a")]


def test_repeating_text_quoted_once_per_value_gives_the_same_column():
    # a column of few distinct values (hostile ones among them) takes the quote-each-distinct-value-once path
    rng = np.random.default_rng(1)
    values = pd.Series(rng.choice(np.array(HOSTILE[:13] + [None], dtype=object), 20_000), dtype="string[pyarrow]")
    got = quote_values(values).to_pylist()
    assert got == [quote_value(v) for v in values.to_numpy(object)]
    # mostly distinct values: the row-by-row path, same rule
    ids = pd.Series([f"p{i}&{HOSTILE[i % 13]}" for i in range(10_000)], dtype="string[pyarrow]")
    assert quote_values(ids).to_pylist() == [quote_value(v) for v in ids.to_numpy(object)]


def test_quote_numbers_is_python_repr_over_every_magnitude():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(size=20_000), 10 ** rng.uniform(-12, 20, 40_000) * rng.choice([-1, 1], 40_000),
                        np.round(rng.normal(size=5_000) * 100) / 100, np.arange(-500.0, 500.0),
                        [1e-4, 9.999999e-5, 1e10, 1e15, 9999999999999998.0, 1.7976931348623157e308, 0.1 + 0.2]])
    assert quote_numbers(x, "double").to_pylist() == [f'"{v!r}"' for v in x.tolist()]


def test_same_bytes_when_every_text_column_is_quoted_per_distinct_value(small_synthetic, tmp_path, monkeypatch):
    _, v, _ = small_synthetic
    as_of = default_as_of(v)
    infl = influence_weights(v, as_of)
    _, people = sentiment_tables(v, as_of, window_days=365, lead_days=0, influence=infl)
    nodes, edges = _hostile_tables(portfolio_tables(v, infl, people))
    monkeypatch.setattr("cxinfluence.present.xmlcolumns._FEW_SAMPLE", 8)  # small columns count as repeating
    assert write_portfolio_gexf(nodes, edges, tmp_path / "fast.gexf").read_bytes() == \
        _reference_gexf(nodes, edges, tmp_path / "ref.gexf").read_bytes()


def test_quotes_folded_into_the_line_give_the_reference_bytes(tmp_path):
    """Plain text and numbers are not quoted column by column (present/xmlcolumns.attribute_column): same bytes as
    the per-value writer for plain and hostile columns side by side, integral, -0.0 and blank numbers, and rows
    with no attribute at all."""
    n = 40
    nodes = pd.DataFrame({"id": [f"p{i}" for i in range(n)], "account_id": ["A"] * n,
                          "name": [f"Name {i}" for i in range(n)],
                          "title": (HOSTILE * 3)[:n], "veto": [i % 2 == 0 for i in range(n)],
                          "influence": [0.0, -0.0, 1.0, 2.5, np.nan] * 8, "n_responses": range(n)})
    nodes["title"] = nodes["title"].astype(object)
    edges = pd.DataFrame({"source": nodes["id"][:-1].to_numpy(), "target": nodes["id"][1:].to_numpy(),
                          "weight": [1.0, 2.0, -0.0] * 13, "account_id": ["A"] * (n - 1),
                          "kind": ["reports_to"] * (n - 1), "reports_to_weight": [3.0] * (n - 1),
                          "influences_weight": [np.nan, 0.5, 1e-7] * 13})
    blank = pd.DataFrame({"id": ["a", "b"], "sentiment": [np.nan, 0.5]})  # row "a" has no attribute
    cases = [(nodes, edges), (nodes.assign(name=["Ann & Co"] + nodes["name"].tolist()[1:]), edges),
             (nodes.assign(name=[None] + nodes["name"].tolist()[1:]), edges.assign(weight=[np.nan] + [1.0] * (n - 2))),
             (nodes.assign(influence=np.arange(n, dtype=float)), edges.assign(weight=np.arange(n - 1) * 1e15)),
             (blank, edges.iloc[:0])]
    for k, (a, b) in enumerate(cases):
        ref = _reference_gexf(a, b, tmp_path / f"ref{k}.gexf").read_bytes()
        assert write_portfolio_gexf(a, b, tmp_path / f"fast{k}.gexf").read_bytes() == ref, k


def test_plain_text_sends_anything_to_escape_to_the_quoting_path():
    from cxinfluence.present.xmlcolumns import attribute_column, plain_text

    for v in HOSTILE[2:13]:
        if v not in ("it's", "=1+1", "ünïcødé 日本"):
            assert plain_text(pd.Series(["ok", v])) is None, v
    fine = ["ok", "it's", "=1+1", "ünïcødé 日本", None]
    assert plain_text(pd.Series(fine)).to_pylist() == fine
    text, first, last = attribute_column(pd.Series([1.0, -0.0]), "double")  # -0.0 is not written "0.0"
    assert [first + x + last for x in text.to_pylist()] == ['"1.0"', '"-0.0"']
