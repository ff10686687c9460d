"""A run writes its portfolio prior; a subset run with --prior gives the whole run's rows (the command line
as a subprocess, so slow-marked), and a prior that cannot be used stops the run before any work."""

import json
import subprocess
import sys
import zlib

import numpy as np
import pandas as pd
import pytest

from cxinfluence.exceptions import PriorError


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "cxinfluence", *map(str, args)], capture_output=True, text=True)


@pytest.mark.slow
def test_a_subset_run_with_the_whole_prior_equals_the_whole_run(tmp_path):
    from cxinfluence.village.subset import subset_village
    from cxinfluence.sentiment.prior import PortfolioPrior
    from cxinfluence.village.io import write_village
    from test_prior import _awkward_village

    v = _awkward_village(300, seed=7)
    write_village(v, tmp_path / "whole")
    ids = v.accounts["account_id"].astype(str)
    bucket = np.array([zlib.crc32(i.encode()) % 4 for i in ids])
    write_village(subset_village(v, ids[bucket == 1]), tmp_path / "region")

    whole = _cli("run", tmp_path / "whole", "--out", tmp_path / "whole_out", "--maps", "0", "-q")
    assert whole.returncode in (0, 3), whole.stderr
    prior_file = tmp_path / "whole_out" / "portfolio_prior.json"
    prior = PortfolioPrior.read(prior_file)
    assert prior.entries[0].n_accounts == 300 and prior.snapshot is not None
    region = _cli("run", tmp_path / "region", "--out", tmp_path / "region_out", "--maps", "0", "-q",
                  "--prior", prior_file)
    assert region.returncode in (0, 3), region.stderr
    # the region's prior file is the whole portfolio's, and the report says so
    assert PortfolioPrior.read(tmp_path / "region_out" / "portfolio_prior.json") == prior
    assert "read from portfolio_prior.json: statistics of 300 accounts" in (
        tmp_path / "region_out" / "report.html").read_text()
    assert "computed from the 300 accounts analysed" in (tmp_path / "whole_out" / "report.html").read_text()

    w = pd.read_csv(tmp_path / "whole_out" / "account_sentiment.csv")
    r = pd.read_csv(tmp_path / "region_out" / "account_sentiment.csv")
    keys = ["as_of", "account_id"]
    expected = w[w["account_id"].isin(set(r["account_id"]))].sort_values(keys).reset_index(drop=True)
    r = r.sort_values(keys).reset_index(drop=True)
    assert len(r) == len(expected) > 0 and list(r.columns) == list(expected.columns)
    for c in r.columns:
        if r[c].dtype.kind == "f":
            np.testing.assert_allclose(r[c], expected[c], rtol=0, atol=1e-9, equal_nan=True, err_msg=c)
        else:
            assert r[c].equals(expected[c]), c

    # without the prior the region's scores are its own (the difference the prior removes)
    alone = _cli("run", tmp_path / "region", "--out", tmp_path / "alone_out", "--maps", "0", "-q")
    assert alone.returncode in (0, 3), alone.stderr
    a = pd.read_csv(tmp_path / "alone_out" / "account_sentiment.csv").sort_values(keys).reset_index(drop=True)
    assert np.nanmax(np.abs(a["influence_weighted"] - expected["influence_weighted"])) > 1e-6


def test_an_unusable_prior_stops_the_run_before_any_work(tmp_path):
    from cxinfluence.pipeline.runner import run
    from cxinfluence.village.synth import make_village

    v, _ = make_village(5, seed=1)
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"format": "cxinfluence.portfolio_prior", "version": 7}))
    with pytest.raises(PriorError, match="has version 7"):
        run(v, tmp_path / "out", prior=bad, quiet=True, maps=0)
    assert not (tmp_path / "out").exists()


def test_a_prior_at_other_dates_stops_the_run_and_names_them(tmp_path):
    from cxinfluence.pipeline.runner import run
    from cxinfluence.sentiment.prior import portfolio_prior
    from cxinfluence.village.synth import make_village

    v, _ = make_village(8, seed=2, years=2)
    with pytest.raises(PriorError, match="has no statistics for as_of=2024-01-01 .*its dates: 2023-06-30"):
        run(v, tmp_path / "out", prior=portfolio_prior(v, "2023-06-30"), quiet=True, maps=0)
    with pytest.raises(PriorError, match="has no statistics for as_of=2022-12-31"):  # an outcome period
        run(v, tmp_path / "out", prior=portfolio_prior(v, "2024-01-01"), quiet=True, maps=0)
    p = portfolio_prior(v, ["2022-12-31", "2023-12-31", "2024-01-01"], window_days=180)
    with pytest.raises(PriorError, match="computed with window_days=180.*this call uses window_days=365"):
        run(v, tmp_path / "out", prior=p, quiet=True, maps=0)
    assert not (tmp_path / "out").exists()


def test_the_cli_reads_prior(tmp_path):
    from cxinfluence.pipeline.cli import build_parser
    from cxinfluence.pipeline.commands import run_options

    args = build_parser().parse_args(["run", "v", "--out", str(tmp_path / "o"), "--prior", "whole/p.json"])
    assert run_options(args)["prior"] == "whole/p.json"
    missing = _cli("run", tmp_path / "nowhere", "--out", tmp_path / "o", "--prior", tmp_path / "nope.json")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr and "nope.json" in missing.stderr
