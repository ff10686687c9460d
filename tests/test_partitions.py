"""Partitioned villages on disk (village/partitions.py): the hash rule, the split, reading one partition."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from cxinfluence.exceptions import PartitionError, VillageError
from cxinfluence.village.core import load_village
from cxinfluence.village.partitions import (
    PartitionedWriter,
    is_partitioned,
    partition_of,
    read_manifest,
    read_partition,
    row_partitions,
    split_village,
    write_partitioned,
)


def awkward_village(tmp_path, n=300, seed=5):
    """A validated synthetic village with the awkward cases of issue 17, loaded back from Parquet.

    One-person accounts (with and without answers), accounts with no responses, accounts whose
    veto holders have all left, and ids that look alike as numbers or differ only in case or
    accents ("7"/"07", "acme"/"ACME", "Zürich"): ties are split by account only.
    """
    from cxinfluence.village.io import write_village
    from cxinfluence.village.synth import make_village, raw_stakeholders

    v, _ = make_village(n, seed=seed)
    acc, sh, rel, resp, out = (v.accounts.copy(), raw_stakeholders(v.stakeholders), v.relationships.copy(),
                               v.responses.copy(), v.outcomes.copy())
    rename = dict(zip(acc["account_id"].iloc[:5], ["7", "07", "acme", "ACME", "Zürich"]))
    for df in (acc, sh, out):
        df["account_id"] = df["account_id"].replace(rename)
    ids = acc["account_id"].tolist()
    # no responses at all for a few accounts
    quiet = set(ids[5:15])
    resp = resp[~resp["stakeholder_id"].isin(sh.loc[sh["account_id"].isin(quiet), "stakeholder_id"])]
    # every veto holder of a few accounts departed a year before the last answer
    gone = sh["account_id"].isin(ids[15:25]) & sh["veto"].fillna(False).astype(bool)
    sh.loc[gone, "active_to"] = resp["date"].max() - pd.Timedelta(days=365)
    sh.loc[gone, "active_from"] = sh.loc[gone, "active_from"].where(
        sh.loc[gone, "active_from"] < sh.loc[gone, "active_to"], sh.loc[gone, "active_to"] - pd.Timedelta(days=30))
    # one-person accounts: one answered, one silent, one a departed veto holder
    periods = sorted(out["period_end"].unique())
    solo = []
    for i, (answers, left) in enumerate([(True, False), (False, False), (True, True)]):
        a, s = f"solo-{i}", f"solo-person-{i}"
        solo.append(a)
        acc = pd.concat([acc, pd.DataFrame({"account_id": [a], "annual_revenue": [1000.0 * (i + 1)]})])
        sh = pd.concat([sh, pd.DataFrame({"stakeholder_id": [s], "account_id": [a], "title": ["Plant Manager"],
                                          "role": ["decider"], "veto": [True],
                                          "active_from": [pd.Timestamp("2020-01-01")],
                                          "active_to": [periods[-2] if left else pd.NaT]})])
        if answers:
            resp = pd.concat([resp, pd.DataFrame({"stakeholder_id": [s] * 3, "nps": [3.0, 9.0, 6.0],
                                                  "date": [periods[0] - pd.Timedelta(days=40), periods[1]
                                                           - pd.Timedelta(days=60), periods[-1] - pd.Timedelta(days=9)],
                                                  "channel": ["survey"] * 3})])
        out = pd.concat([out, pd.DataFrame({"account_id": [a] * len(periods), "period_end": periods,
                                            "renewed": [float((i + j) % 2) for j in range(len(periods))],
                                            "bookings": [500.0 * (j + 1) for j in range(len(periods))]})])
    path = tmp_path / "awkward"
    write_village({"accounts": acc, "stakeholders": sh, "relationships": rel, "responses": resp, "outcomes": out},
                  path, format="parquet")
    return load_village(path, warn=False)


@pytest.fixture(scope="module")
def awkward(tmp_path_factory):
    return awkward_village(tmp_path_factory.mktemp("awkward"))


def _sorted(df, keys):
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


KEYS = {"accounts": ["account_id"], "stakeholders": ["stakeholder_id"],
        "relationships": ["source_id", "target_id", "kind"], "outcomes": ["account_id", "period_end"],
        "responses": ["stakeholder_id", "date", "nps", "csat", "ces", "neteasy", "comment"]}


def test_hash_rule_is_sha256_of_the_utf8_id():
    ids = ["7", "07", "acme", "ACME", "Zürich", "A0001"]
    expected = [int.from_bytes(hashlib.sha256(a.encode("utf-8")).digest()[:8], "big") % 8 for a in ids]
    assert partition_of(ids, 8).tolist() == expected
    assert partition_of([7], 8).tolist() == partition_of(["7"], 8).tolist()  # ids are text
    assert partition_of([], 3).tolist() == []
    # the rule is fixed: a value computed once by hand stays
    assert int.from_bytes(hashlib.sha256(b"A0001").digest()[:8], "big") % 1000 == partition_of(["A0001"], 1000)[0]


@pytest.mark.parametrize("bad", [0, -1, 2.5, "8", True, None])
def test_bad_partitions_named(bad):
    with pytest.raises(PartitionError, match="partitions="):
        partition_of(["a"], bad)


def test_every_row_goes_with_its_account_and_no_tie_crosses(awkward):
    v = awkward
    rows = row_partitions(v, 8)
    acc = dict(zip(v.accounts["account_id"], rows["accounts"]))
    person = dict(zip(v.stakeholders["stakeholder_id"], rows["stakeholders"]))
    assert [acc[a] for a in v.stakeholders["account_id"]] == rows["stakeholders"].tolist()
    assert [acc[a] for a in v.outcomes["account_id"]] == rows["outcomes"].tolist()
    assert [person[s] for s in v.responses["stakeholder_id"]] == rows["responses"].tolist()
    assert [person[s] for s in v.relationships["source_id"]] == rows["relationships"].tolist()
    assert [person[s] for s in v.relationships["target_id"]] == rows["relationships"].tolist()
    # hashing people instead of accounts would split ties: the test village has such ties
    naive = partition_of(v.relationships["source_id"], 8) != partition_of(v.relationships["target_id"], 8)
    assert naive.sum() > 100


def test_split_covers_every_row_once(awkward):
    parts = split_village(awkward, 8)
    for name, keys in KEYS.items():
        joined = pd.concat([getattr(p, name) for p in parts], ignore_index=True)
        pd.testing.assert_frame_equal(_sorted(joined, keys), _sorted(getattr(awkward, name), keys))
    assert len({a for p in parts for a in p.accounts["account_id"]}) == len(awkward.accounts)


def test_write_and_read_back_whole_and_one_partition(awkward, tmp_path):
    path = write_partitioned(awkward, tmp_path / "parts", partitions=8)
    assert is_partitioned(path) and not is_partitioned(tmp_path)
    m = read_manifest(path)
    assert m["partitions"] == 8 and "sha256" in m["hash"]
    for name in KEYS:
        assert m["rows"][name] == len(getattr(awkward, name)) == sum(p["rows"][name] for p in m["parts"])
    whole = load_village(path, warn=False)
    for name, keys in KEYS.items():
        got, want = _sorted(getattr(whole, name), keys), _sorted(getattr(awkward, name), keys)
        pd.testing.assert_frame_equal(got[want.columns.drop(["role_source", "veto_source"], errors="ignore")],
                                      want.drop(columns=["role_source", "veto_source"], errors="ignore"))
    expected = split_village(awkward, 8)
    for k in range(8):
        one = read_partition(path, k, warn=False)
        assert sorted(one.accounts["account_id"]) == sorted(expected[k].accounts["account_id"])
        assert len(one.responses) == len(expected[k].responses) == m["parts"][k]["rows"]["responses"]
        ids = sorted(expected[k].accounts["account_id"])
        if ids:
            assert (m["parts"][k]["accounts"]["first"], m["parts"][k]["accounts"]["last"]) == (ids[0], ids[-1])


def test_reading_one_partition_reads_only_its_files(awkward, tmp_path):
    path = write_partitioned(awkward, tmp_path / "parts", partitions=4)
    for name in ("responses", "stakeholders"):
        (path / "part-00003" / f"{name}.parquet").write_bytes(b"not parquet at all")
    one = load_village(path, partition=0, warn=False)
    assert len(one.accounts) == read_manifest(path)["parts"][0]["accounts"]["accounts"]
    with pytest.raises(VillageError, match="part-00003"):
        load_village(path, warn=False)


def test_chunked_writer_equals_one_shot(awkward, tmp_path):
    one = write_partitioned(awkward, tmp_path / "one", partitions=5)
    ids = awkward.accounts["account_id"].tolist()
    chunks = [ids[:100], ids[100:101], ids[101:]]
    acc_of = dict(zip(awkward.stakeholders["stakeholder_id"], awkward.stakeholders["account_id"]))
    with PartitionedWriter(tmp_path / "chunked", 5) as w:
        for chunk in chunks:
            keep = set(chunk)
            w.add({"accounts": awkward.accounts[awkward.accounts["account_id"].isin(keep)],
                   "stakeholders": awkward.stakeholders[awkward.stakeholders["account_id"].isin(keep)],
                   "relationships": awkward.relationships[awkward.relationships["source_id"].map(acc_of).isin(keep)],
                   "responses": awkward.responses[awkward.responses["stakeholder_id"].map(acc_of).isin(keep)],
                   "outcomes": awkward.outcomes[awkward.outcomes["account_id"].isin(keep)]})
    a, b = read_manifest(one), read_manifest(tmp_path / "chunked")
    assert a["parts"] == b["parts"]
    for k in range(5):
        x, y = read_partition(one, k, warn=False), read_partition(tmp_path / "chunked", k, warn=False)
        for name, keys in KEYS.items():  # the same rows; within a partition, in the order of the chunks
            pd.testing.assert_frame_equal(_sorted(getattr(x, name), keys), _sorted(getattr(y, name), keys))


def test_more_partitions_than_accounts_leaves_empty_valid_partitions(tmp_path):
    from cxinfluence.village.synth import make_village

    v, _ = make_village(3, seed=0)
    path = write_partitioned(v, tmp_path / "p", partitions=16)
    sizes = [p["accounts"]["accounts"] for p in read_manifest(path)["parts"]]
    assert sum(sizes) == 3 and sizes.count(0) >= 13
    empty = sizes.index(0)
    assert len(read_partition(path, empty, warn=False).responses) == 0
    assert len(load_village(path, warn=False).accounts) == 3


def test_errors_name_the_argument(awkward, tmp_path):
    path = write_partitioned(awkward, tmp_path / "p", partitions=2)
    with pytest.raises(PartitionError, match="partition=5 .* 2 \\(0 to 1\\)"):
        read_partition(path, 5)
    with pytest.raises(PartitionError, match="not a partitioned village"):
        load_village(tmp_path, partition=0)
    with pytest.raises(FileExistsError):
        write_partitioned(awkward, path, partitions=2)
    write_partitioned(awkward, path, partitions=3, overwrite=True)
    assert read_manifest(path)["partitions"] == 3
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="refusing"):
        write_partitioned(awkward, tmp_path / "keep", partitions=2, overwrite=True)
    assert (tmp_path / "keep" / "notes.txt").read_text() == "mine"
    bad = json.loads((path / "partitions.json").read_text())
    bad["hash"] = "python hash()"
    (path / "partitions.json").write_text(json.dumps(bad))
    with pytest.raises(PartitionError, match="manifest"):
        load_village(path)


def test_unknown_people_refused_before_writing(awkward, tmp_path):
    tables = dict(awkward.tables())
    tables["responses"] = pd.concat([tables["responses"], tables["responses"].iloc[:1].assign(stakeholder_id="ghost")])
    with pytest.raises(PartitionError, match="ghost"):
        write_partitioned(tables, tmp_path / "p", partitions=2)
    assert not (tmp_path / "p").exists()
    assert np.array_equal(partition_of(awkward.accounts["account_id"], 1), np.zeros(len(awkward.accounts), int))


def test_cli_partition(sample_path, tmp_path, capsys):
    from cxinfluence.pipeline.cli import main

    out = tmp_path / "parts"
    assert main(["partition", str(sample_path), str(out), "--partitions", "4"]) == 0
    assert "300 accounts in 4 partitions" in capsys.readouterr().out
    assert read_manifest(out)["rows"]["accounts"] == 300
    assert main(["partition", str(sample_path), str(out), "--partitions", "4"]) == 1  # exists, no --force
    assert "already exists" in capsys.readouterr().err
    assert main(["partition", str(sample_path), str(out), "--partitions", "0", "--force"]) == 1
    assert "partitions=0" in capsys.readouterr().err
    assert read_manifest(out)["partitions"] == 4  # the refused run left it as it was


def test_cli_synth_waves_and_partitions(tmp_path, capsys):
    from cxinfluence.pipeline.cli import main
    from cxinfluence.village.synth import make_village

    assert main(["synth", "--accounts", "12", "--seed", "1", "--waves-per-year", "3", "--format", "parquet",
                 "--out", str(tmp_path / "plain")]) == 0
    want, _ = make_village(12, seed=1, waves_per_year=3)
    got = load_village(tmp_path / "plain", warn=False)
    pd.testing.assert_frame_equal(got.responses, want.responses)
    assert len(want.responses) > len(make_village(12, seed=1)[0].responses)  # 3 waves a year, not 2
    # partitioned, one chunk: exactly make_village, with its truth
    assert main(["synth", "--accounts", "12", "--seed", "1", "--waves-per-year", "3", "--partitions", "3",
                 "--out", str(tmp_path / "parts")]) == 0
    assert "in 3 partitions" in capsys.readouterr().out
    whole = load_village(tmp_path / "parts", warn=False)
    for name, keys in KEYS.items():
        pd.testing.assert_frame_equal(_sorted(getattr(whole, name), keys), _sorted(getattr(got, name), keys))
    assert (tmp_path / "parts" / "truth" / "parameters.json").exists()
    # several chunks: independent chunks with prefixed ids, every id unique, valid partitions
    assert main(["synth", "--accounts", "25", "--partitions", "4", "--chunk-accounts", "10",
                 "--out", str(tmp_path / "chunks")]) == 0
    many = load_village(tmp_path / "chunks", warn=False)
    assert len(many.accounts) == 25 and many.stakeholders["stakeholder_id"].is_unique
    assert {a.split("-")[0] for a in many.accounts["account_id"]} == {"c00000", "c00001", "c00002"}
    assert main(["synth", "--accounts", "5", "--partitions", "2", "--format", "csv", "--out",
                 str(tmp_path / "x")]) == 1
    assert main(["synth", "--accounts", "5", "--chunk-accounts", "2", "--out", str(tmp_path / "y")]) == 1
    assert main(["synth", "--accounts", "5", "--waves-per-year", "0", "--out", str(tmp_path / "z")]) == 1
    capsys.readouterr()


def test_cli_validate_a_partitioned_village(awkward, tmp_path, capsys):
    from cxinfluence.pipeline.cli import main

    path = write_partitioned(awkward, tmp_path / "p", partitions=3)
    assert main(["validate", str(path)]) == 0
    assert "valid" in capsys.readouterr().out
    (path / "part-00001" / "outcomes.parquet").write_bytes(b"broken")
    assert main(["validate", str(path)]) == 1
    assert "part-00001" in capsys.readouterr().err
