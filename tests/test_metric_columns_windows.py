"""The model frame's metric columns sort only each window's responses by date; the reference below sorts all
of them once, as the code did before. Equal bit for bit, on responses in random order with same-day ties."""

import numpy as np
import pandas as pd

from cxinfluence.models import frame as fr
from cxinfluence.sentiment.metrics import metric_arrays
from cxinfluence.village import asof as _asof
from cxinfluence.village.core import Village
from cxinfluence.village.ids import positions, rows_of
from cxinfluence.village.synth import make_village


def _reference(village, pairs, window_days, lead_days):
    resp, people = village.responses, village.stakeholders
    present = [m for m in fr._METRICS if m.split("_")[0] in resp.columns]
    accounts = village.accounts["account_id"].astype(str).to_numpy()
    r_st = rows_of(village, "responses", "stakeholder_id")
    s_acc = np.append(rows_of(village, "stakeholders", "account_id"), -1)
    r_acc = s_acc[r_st]
    order = np.argsort(resp["date"].to_numpy(), kind="stable")
    date = resp["date"].to_numpy()[order]
    r_st, r_acc = r_st[order], r_acc[order]
    scores = {m.split("_")[0]: pd.to_numeric(resp[m.split("_")[0]], errors="coerce").to_numpy(float)[order]
              for m in present}
    frames = []
    for ts, p in pairs.groupby("as_of", sort=True):
        active = np.append(_asof.active_mask(people, ts).to_numpy(), False)
        end = _asof.to_timestamp(ts) - pd.Timedelta(days=lead_days or 0)
        hi = int(np.searchsorted(date, end.to_datetime64(), side="left"))
        lo = 0 if window_days is None else int(np.searchsorted(
            date, (end - pd.Timedelta(days=window_days)).to_datetime64(), side="left"))
        lo = min(lo, hi)
        rows = lo + np.flatnonzero(active[r_st[lo:hi]] & (r_acc[lo:hi] >= 0))
        if len(rows) == 0:
            continue
        values = metric_arrays({c: x[rows] for c, x in scores.items()}, r_acc[rows], r_st[rows], len(accounts),
                               present)
        heard = np.bincount(r_acc[rows], minlength=len(accounts)) > 0
        wanted = np.zeros(len(accounts), bool)
        asked = positions(p["account_id"], accounts)
        wanted[asked[asked >= 0]] = True
        keep = np.flatnonzero(heard & wanted)
        frames.append(pd.DataFrame({"account_id": accounts[keep], "period_end": ts,
                                    **{fr._METRICS[m]: values[m][0][keep] for m in present}}))
    out_cols = ["account_id", "period_end"] + [fr._METRICS[m] for m in present]
    return pd.concat(frames, ignore_index=True)[out_cols]


def test_metric_columns_equal_the_sort_everything_reference():
    v, _ = make_village(80, seed=3)
    rng = np.random.default_rng(0)
    resp = v.responses.sample(frac=1.0, random_state=1).reset_index(drop=True)  # random order
    resp["date"] = resp["date"].dt.normalize()  # many same-day answers: ties keep row order
    resp.loc[rng.random(len(resp)) < 0.02, "date"] = pd.NaT  # undated answers are in no window
    v = Village(v.accounts, v.stakeholders, v.relationships, resp, v.outcomes)
    pairs = fr.outcome_periods(v)
    for window, lead in ((365, 90), (None, 0), (30, 0)):
        got = fr._metric_columns(v, pairs, window, lead)
        pd.testing.assert_frame_equal(got, _reference(v, pairs, window, lead), check_exact=True)
        assert len(got) > 0
