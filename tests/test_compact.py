"""The run's village holds its responses' labels as categoricals (issue 18: the 100k run's memory): the same
values, the same outputs, the input untouched."""

import numpy as np
import pandas as pd
import pytest

import cxinfluence as cx
from cxinfluence.pipeline import runner
from cxinfluence.village.compact import LABEL_COLUMNS, compact_labels
from cxinfluence.village.ids import rows_of


def test_labels_become_categoricals_with_the_same_values(sample_path):
    v = cx.load_village(sample_path, warn=False)
    before = {c: v.responses[c].copy() for c in LABEL_COLUMNS}
    cached = rows_of(v, "responses", "stakeholder_id")
    c = compact_labels(v)
    for col in LABEL_COLUMNS:
        assert isinstance(c.responses[col].dtype, pd.CategoricalDtype)
        assert list(c.responses[col].cat.categories) == sorted(before[col].dropna().unique())
        got = c.responses[col].astype(object).where(c.responses[col].notna(), None).tolist()
        assert got == before[col].astype(object).where(before[col].notna(), None).tolist()
        assert v.responses[col].equals(before[col]) and not isinstance(v.responses[col].dtype, pd.CategoricalDtype)
    assert c.responses[col].memory_usage(deep=True) < before[col].memory_usage(deep=True) / 4
    for name in ("accounts", "stakeholders", "relationships", "outcomes"):
        assert getattr(c, name) is getattr(v, name)
    assert rows_of(c, "responses", "stakeholder_id") is cached  # the id cache carried over, nothing hashed again


def test_free_text_and_absent_columns_stay_as_they_are():
    n = 10
    r = pd.DataFrame({"stakeholder_id": ["p"] * n, "touchpoint": [f"visit {i}" for i in range(n)],
                      "channel": np.nan})
    v = cx.Village(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), r, pd.DataFrame())
    assert compact_labels(v) is v  # every touchpoint differs (free text); channel is numbers (all blank)
    r["journey_stage"] = ["renewal"] * n
    c = compact_labels(v)
    assert isinstance(c.responses["journey_stage"].dtype, pd.CategoricalDtype)
    assert not isinstance(c.responses["touchpoint"].dtype, pd.CategoricalDtype)


@pytest.mark.slow
def test_a_run_on_a_path_writes_the_bytes_a_run_on_the_loaded_village_writes(small_synthetic, tmp_path, monkeypatch):
    path, _, _ = small_synthetic
    compacted = []

    def spy(village, *args, **kwargs):
        out = compact_labels(village, *args, **kwargs)
        compacted.append(out)
        return out

    monkeypatch.setattr(runner, "compact_labels", spy)
    options = dict(maps=2, quiet=True, folds=3, n_boot=20)
    a = cx.run(path, tmp_path / "a", **options)  # loaded by the run: labels as categoricals
    given = cx.load_village(path, warn=False)
    b = cx.run(given, tmp_path / "b", **options)  # the caller's village, as given
    assert len(compacted) == 1 and isinstance(compacted[0].responses["channel"].dtype, pd.CategoricalDtype)
    # the run's own village let go of its comments as the maps began (drop_comments: the maps and pages drawn from
    # their accounts' own village); the caller's keeps them, and the maps and pages are drawn from it whole
    assert "comment" not in compacted[0].responses and "comment" in given.responses
    assert a.exit_code == b.exit_code
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert len(files) > 10
    differ = [str(f) for f in files if (tmp_path / "a" / f).read_bytes() != (tmp_path / "b" / f).read_bytes()]
    assert not differ


def test_the_overview_counts_the_same_labels(sample_path):
    from cxinfluence.present.summary import village_facts

    v = cx.load_village(sample_path, warn=False)
    r = v.responses.copy()
    r.loc[r.index[5:40], "channel"] = np.nan  # blanks, counted as "blank"
    r.loc[r.index[3], "channel"] = "blank"  # and a label spelled so: one count, first seen at row 3
    v = cx.Village(v.accounts, v.stakeholders, v.relationships, r, v.outcomes)
    plain, compact = village_facts(v), village_facts(compact_labels(v))
    assert list(compact["channels"].items()) == list(plain["channels"].items())
    assert plain["channels"]["blank"] == 36 and list(plain["channels"])[:2] == [r["channel"].iloc[0], "blank"]
