"""Writing villages (atomic, stable text formats), reading them back, and the data dictionary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxinfluence.village import io as cio
from cxinfluence.village import rawtable
from cxinfluence.village.core import Village, load_village

ROOT = Path(__file__).resolve().parents[1]


def small_village() -> Village:
    """A typed village as load_village returns it, with blanks, extras and derived columns."""
    accounts = pd.DataFrame({
        "account_id": ["007", "A2"],
        "name": ["Acme, Inc.", "Beta"],
        "annual_revenue": [1500.5, np.nan],
        "crm_tier": ["gold", np.nan],  # extra column
    })
    stakeholders = pd.DataFrame({
        "stakeholder_id": ["s1", "s2", "s3"],
        "account_id": ["007", "007", "A2"],
        "title": ["Plant Manager", "Operator", "EHS Manager"],
        "role": ["decider", "user", "gatekeeper"],
        "veto": [True, False, True],
        "influence_rating": [4.0, np.nan, 3.0],
        "active_from": pd.to_datetime(["2020-01-01", "2021-06-15", None]),
        "active_to": pd.to_datetime([None, "2023-02-28", None]),
        "role_source": ["data", "data", "data"],
        "veto_source": ["data", "data", "data"],
    })
    relationships = pd.DataFrame({"source_id": ["s2"], "target_id": ["s1"], "kind": ["reports_to"], "weight": [1.0]})
    responses = pd.DataFrame({
        "stakeholder_id": ["s1", "s2", "s3"],
        "date": pd.to_datetime(["2022-03-01", "2022-04-01", "2022-05-01"]),
        "nps": [9.0, np.nan, 4.0],
        "csat": [5.0, 2.0, np.nan],
        "channel": ["survey", "informal", np.nan],
        "comment": ['Said "fine", then\nleft early', np.nan, "ok"],
    })
    outcomes = pd.DataFrame({
        "account_id": ["007", "A2"],
        "period_end": pd.to_datetime(["2022-12-31", "2022-12-31"]),
        "renewed": [1.0, 0.0],
        "bookings": [1234.25, 0.0],
    })
    return Village(accounts, stakeholders, relationships, responses, outcomes)


# --------------------------------------------------------------------------- write_village


def test_csv_text_format(tmp_path):
    out = cio.write_village(small_village(), tmp_path / "v")
    assert out == tmp_path / "v"
    assert sorted(p.name for p in out.iterdir()) == [
        "accounts.csv", "outcomes.csv", "relationships.csv", "responses.csv", "stakeholders.csv"]
    assert (out / "accounts.csv").read_text(encoding="utf-8") == (
        "account_id,name,annual_revenue,crm_tier\n"
        '007,"Acme, Inc.",1500.5,gold\n'
        "A2,Beta,,\n"
    )
    assert (out / "stakeholders.csv").read_text(encoding="utf-8") == (
        "stakeholder_id,account_id,title,role,veto,influence_rating,active_from,active_to\n"
        "s1,007,Plant Manager,decider,true,4,2020-01-01,\n"
        "s2,007,Operator,user,false,,2021-06-15,2023-02-28\n"
        "s3,A2,EHS Manager,gatekeeper,true,3,,\n"
    )
    assert (out / "outcomes.csv").read_text(encoding="utf-8") == (
        "account_id,period_end,renewed,bookings\n007,2022-12-31,1,1234.25\nA2,2022-12-31,0,0\n"
    )
    assert not (out / "accounts.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # no BOM


def test_does_not_modify_the_village(tmp_path):
    v = small_village()
    before = {k: df.copy() for k, df in v.tables().items()}
    cio.write_village(v, tmp_path / "v")
    cio.write_village(v, tmp_path / "p", format="parquet")
    for k, df in v.tables().items():
        pd.testing.assert_frame_equal(df, before[k])


@pytest.mark.parametrize("fmt, name", [("csv", "v"), ("parquet", "v"), ("xlsx", "v.xlsx")])
def test_round_trip(tmp_path, fmt, name):
    v = small_village()
    path = cio.write_village(v, tmp_path / name, format=fmt)
    back = load_village(path, warn=False)
    for table, df in v.tables().items():
        got = back.tables()[table]
        cols = list(df.columns)
        assert set(cols) <= set(got.columns), table
        expected = df.copy()
        if table == "stakeholders":
            expected["veto_source"] = "data"  # written values read back as given in the data
        for c in cols:
            if pd.api.types.is_datetime64_any_dtype(df[c]):
                expected[c] = expected[c].astype("datetime64[ns]")
        pd.testing.assert_frame_equal(
            got[cols].reset_index(drop=True), expected, check_dtype=False, check_column_type=False, obj=table)
        for c in cols:
            if pd.api.types.is_datetime64_any_dtype(df[c]):
                assert str(got[c].dtype) == "datetime64[ns]"


def test_derived_columns_are_not_written(tmp_path):
    for fmt, name in [("csv", "v"), ("parquet", "p"), ("xlsx", "x.xlsx")]:
        path = cio.write_village(small_village(), tmp_path / name, format=fmt)
        if fmt == "csv":
            header = (path / "stakeholders.csv").read_text().splitlines()[0]
        elif fmt == "parquet":
            header = ",".join(pd.read_parquet(path / "stakeholders.parquet").columns)
        else:
            header = ",".join(pd.read_excel(path, sheet_name="stakeholders").columns)
        assert "role_source" not in header and "veto_source" not in header
        assert "influence_rating" in header


def test_xlsx_has_one_sheet_per_table_with_text_dates(tmp_path):
    import openpyxl

    path = cio.write_village(small_village(), tmp_path / "v.xlsx", format="xlsx")
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb.sheetnames == ["accounts", "stakeholders", "relationships", "responses", "outcomes"]
    rows = list(wb["stakeholders"].iter_rows(values_only=True))
    assert rows[1][:8] == ("s1", "007", "Plant Manager", "decider", "true", 4, "2020-01-01", None)
    wb.close()


def test_existing_target_needs_overwrite(tmp_path):
    v = small_village()
    cio.write_village(v, tmp_path / "v")
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        cio.write_village(v, tmp_path / "v")
    (tmp_path / "v" / "outcomes.csv").write_text("stale")
    cio.write_village(v, tmp_path / "v", format="parquet", overwrite=True)
    # replaced as a whole: no stale CSV left beside the new Parquet files
    assert sorted(p.suffix for p in (tmp_path / "v").iterdir()) == [".parquet"] * 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v"]


def test_refuses_to_replace_a_folder_that_is_not_a_village(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "thesis.docx").write_text("precious")
    with pytest.raises(FileExistsError, match="holds no village tables; refusing to replace it"):
        cio.write_village(small_village(), tmp_path / "home", overwrite=True)
    assert (tmp_path / "home" / "thesis.docx").read_text() == "precious"


def test_failure_leaves_nothing_half_written(tmp_path, monkeypatch):
    v = small_village()
    cio.write_village(v, tmp_path / "old")
    before = {p.name: p.read_bytes() for p in (tmp_path / "old").iterdir()}
    real = pd.DataFrame.to_csv
    calls = []

    def flaky(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", flaky)
    with pytest.raises(OSError, match="disk full"):
        cio.write_village(v, tmp_path / "new")
    calls.clear()
    with pytest.raises(OSError, match="disk full"):
        cio.write_village(v, tmp_path / "old", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]  # no 'new', no temp folders
    assert {p.name: p.read_bytes() for p in (tmp_path / "old").iterdir()} == before


def test_xlsx_write_is_atomic_too(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(pd.DataFrame, "to_excel", boom)
    with pytest.raises(RuntimeError):
        cio.write_village(small_village(), tmp_path / "v.xlsx", format="xlsx")
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"format='json' is not supported; expected one of \['csv', 'parquet', 'xlsx'\]"):
        cio.write_village(small_village(), tmp_path / "v", format="json")
    with pytest.raises(ValueError, match="must end in .xlsx"):
        cio.write_village(small_village(), tmp_path / "v", format="xlsx")
    with pytest.raises(ValueError, match=r"missing table\(s\) \['outcomes'\]"):
        cio.write_village({k: d for k, d in small_village().tables().items() if k != "outcomes"}, tmp_path / "v")


def test_mixed_type_extra_column_goes_to_parquet(tmp_path):
    v = small_village()
    v.accounts["mixed"] = [1, "x"]
    path = cio.write_village(v, tmp_path / "p", format="parquet")
    assert pd.read_parquet(path / "accounts.parquet")["mixed"].tolist() == ["1", "x"]


# --------------------------------------------------------------------------- reading helpers


def test_read_csv_table_rows_and_blanks(tmp_path):
    p = tmp_path / "responses.csv"
    p.write_text("stakeholder_id, date ,nps\n s1 ,2024-01-01,\n,,\n\ns2,2024-01-02,5\n", encoding="utf-8")
    t = cio.read_csv_table(p)
    assert list(t.data.columns) == ["stakeholder_id", "date", "nps"]
    assert t.data["stakeholder_id"].tolist() == ["s1", "s2"]
    assert t.rows.tolist() == [2, 5]  # rows 3 (all blank) and 4 (empty line) are skipped, still counted
    assert t.problems == [] and t.usable


# --------------------------------------------------------------------------- data dictionary


def test_data_readme_contains_the_generated_dictionary():
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert cio.data_dictionary_markdown() in readme


def test_dictionary_lists_every_column_of_the_contract():
    from cxinfluence.village.schema import TABLES

    md = cio.data_dictionary_markdown()
    for table in TABLES.values():
        assert f"### `{table.name}`" in md
        for col in table.columns:
            assert f"| `{col.name}` |" in md
    assert "| `renewed` | number | yes | 1 if the account rebought in the period, else 0. | 0 or 1 |" in md
    assert "`decider`, `buyer`, `user`, `influencer`, `gatekeeper`" in md


def test_readme_documents_relationships_and_sample():
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert "**B is A's manager**" in readme and "**A's view carries weight with B**" in readme
    assert "cxinfluence synth --accounts 300 --seed 20261122 --out data/sample_village --force" in readme
    assert "data/sample_village/truth/" in readme


def test_readme_role_examples_match_the_rules():
    from cxinfluence.village.roles import classify_titles

    got = classify_titles(["Plant Manager", "Purchasing Agent", "EHS Manager", "Operator", "Process Engineer",
                           "Quality Engineer", "Facilities Manager", "Controller", "Category Manager"])
    assert got["role"].tolist() == ["decider", "buyer", "gatekeeper", "user", "influencer",
                                    "gatekeeper", "gatekeeper", "influencer", "buyer"]


def test_overwrite_replaces_a_folder_holding_a_workbook(tmp_path):
    (tmp_path / "v").mkdir()
    cio.write_village(small_village(), tmp_path / "v" / "village.xlsx", format="xlsx")
    cio.write_village(small_village(), tmp_path / "v", overwrite=True)
    assert sorted(p.suffix for p in (tmp_path / "v").iterdir()) == [".csv"] * 5


@pytest.mark.parametrize("fmt, name", [("csv", "v"), ("parquet", "v")])
def test_synthetic_village_round_trips(tmp_path, fmt, name):
    from cxinfluence.village.synth import make_village

    village, _ = make_village(15, seed=5)
    path = cio.write_village(village, tmp_path / name, format=fmt)
    back = load_village(path, warn=False)
    for table, df in village.tables().items():
        got = back.tables()[table]
        cols = [c for c in df.columns if c not in ("role_source", "veto_source")]
        assert len(got) == len(df), table
        for c in cols:
            a, b = df[c].reset_index(drop=True), got[c]
            if pd.api.types.is_datetime64_any_dtype(a):
                assert (a.astype("datetime64[ns]").fillna(pd.Timestamp(0)) == b.fillna(pd.Timestamp(0))).all(), (table, c)
            elif pd.api.types.is_float_dtype(a):
                np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-12, err_msg=f"{table}.{c}")
            else:
                assert a.astype(object).where(a.notna(), None).tolist() == b.astype(object).where(b.notna(), None).tolist(), (table, c)


def test_stripping_arrow_text_matches_str_strip_for_every_whitespace_character():
    # _clean_cells skips stripping when no string can start or end with whitespace
    # (checked on the raw UTF-8 bytes); it must never skip one that needs it.
    import sys

    import pyarrow as pa

    spaces = [chr(i) for i in range(sys.maxunicode + 1) if chr(i).isspace()]
    values = [f"{c}x" for c in spaces] + [f"x{c}" for c in spaces] + ["José", "日本", "", None]
    for text in [[v] for v in values] + [values]:
        for kind in (pa.string(), pa.large_string()):
            s = pd.Series(pd.array(pa.chunked_array([pa.array(["a", *text], kind)]).slice(1), dtype="str"))
            expected = s.str.strip()
            pd.testing.assert_series_equal(rawtable._clean_cells(s), expected.mask(expected == ""))


def test_write_csv_reads_back_like_pandas_to_csv(tmp_path):
    import io as _io

    from cxinfluence.village.io import write_csv

    df = pd.DataFrame({"id": ["a", 'b,"q"', None, "<x>"], "x": [1.5, np.nan, 0.1, 1 / 3],
                       "ok": [True, False, True, False], "n": pd.array([1, None, 3, 4], dtype="Int64"),
                       "day": pd.to_datetime(["2025-12-31", None, "2024-01-01T13:30", "2024-02-29"], format="ISO8601"),
                       "mixed": [1, "two", 3.0, None]})  # object column: pyarrow cannot convert, pandas writes it
    write_csv(df, tmp_path / "t.csv")
    ref = pd.read_csv(_io.StringIO(df.to_csv(index=False, date_format="%Y-%m-%d")))
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "t.csv"), ref, check_dtype=False)
    write_csv(df.drop(columns="mixed"), tmp_path / "fast.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "fast.csv"), ref.drop(columns="mixed"), check_dtype=False)


def test_loaded_text_is_one_chunk_whatever_the_reader_handed_over(tmp_path, monkeypatch):
    # Parquet row groups and the CSV reader's blocks arrive as chunks; each take or hash of a
    # chunked column would concatenate the whole column first, so the loaded village holds one.
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cxinfluence.village.synth import make_village

    v, _ = make_village(40, seed=3)
    folder = cio.write_village(v, tmp_path / "pq", format="parquet")
    for name in ("responses", "stakeholders"):  # rewrite with many small row groups
        table = pq.read_table(folder / f"{name}.parquet")
        pq.write_table(table, folder / f"{name}.parquet", row_group_size=97)
        assert pq.ParquetFile(folder / f"{name}.parquet").num_row_groups > 3
    csv = cio.write_village(v, tmp_path / "csv", format="csv")
    from pyarrow import csv as pacsv

    small = pacsv.ReadOptions  # the CSV reader in 4 KiB blocks: a chunk each
    monkeypatch.setattr(pacsv, "ReadOptions", lambda **kw: small(block_size=4096, **kw))
    ref = load_village(folder)
    for got in (ref, load_village(csv)):
        for name in ("responses", "stakeholders", "relationships"):
            table = getattr(got, name)
            for c in table.columns:
                arr = getattr(table[c].array, "_pa_array", None)
                assert arr is None or arr.num_chunks <= 1, (name, c, arr.num_chunks)
        pd.testing.assert_frame_equal(got.responses, ref.responses, check_dtype=False)

    big = pa.large_string()
    s = pd.Series(pd.array(pa.chunked_array([pa.array([" a", None], big), pa.array(["", "b "], big),
                                             pa.array(["c"], big)]), dtype="str"))
    cleaned = rawtable._clean_cells(s)
    assert cleaned.array._pa_array.num_chunks == 1
    assert cleaned.tolist()[0] == "a" and pd.isna(cleaned.tolist()[1]) and pd.isna(cleaned.tolist()[2])
    assert cleaned.tolist()[3:] == ["b", "c"]
    plain = pd.Series(pd.array(pa.chunked_array([pa.array(["x"]), pa.array(["y"])]), dtype="str"))
    assert rawtable._clean_cells(plain).array._pa_array.num_chunks == 1  # nothing to strip: still joined


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_columns_cleaned_on_two_threads_equal_one_at_a_time(tmp_path, monkeypatch, fmt):
    # large tables clean their columns on two threads (rawtable.PARALLEL_CELLS): the same tables and problems
    from cxinfluence.village.synth import make_village

    v, _ = make_village(30, seed=5)
    r = v.responses.copy()
    r["comment"] = r["comment"].astype(object)
    r.loc[r.index[:7], "comment"] = ["  padded ", "", "\u00a0nbsp", "tab\t", "日本 ", "", None]
    r.loc[r.index[7], "channel"] = " "
    folder = cio.write_village(Village(v.accounts, v.stakeholders, v.relationships, r, v.outcomes), tmp_path / "v",
                               format=fmt)
    monkeypatch.setattr(rawtable, "PARALLEL_CELLS", 10**12)
    one = load_village(folder)
    monkeypatch.setattr(rawtable, "PARALLEL_CELLS", 0)
    two = load_village(folder)
    for name in ("accounts", "stakeholders", "relationships", "responses", "outcomes"):
        pd.testing.assert_frame_equal(getattr(two, name), getattr(one, name))
    assert one.responses["comment"].iloc[0] == "padded" and pd.isna(one.responses["comment"].iloc[1])
