"""risk_flags counts per account from the flags alone (no copy of the table): checked against a plain
per-account count, on an index that is neither a range nor unique, with unheard people and missing roles."""

import numpy as np
import pandas as pd

from cxinfluence.models.risk import risk_flags


def _by_hand(st, threshold=0.0):
    rows = []
    for acc, g in st.groupby("account_id", sort=True):
        heard = g["sentiment"].notna()
        veto = g["veto"].fillna(False).astype(bool)
        unhappy = heard & veto & (g["sentiment"] < threshold)
        deciders = (~heard & (g["role"] == "decider")).sum()
        rows.append({"account_id": acc, "unhappy_veto": int(unhappy.sum()),
                     "unhappy_veto_ids": ";".join(sorted(g.loc[unhappy, "stakeholder_id"])),
                     "deciders_unheard": int(deciders)})
    return pd.DataFrame(rows)


def test_risk_flags_equal_a_count_by_hand_on_an_awkward_index():
    rng = np.random.default_rng(7)
    n = 400
    st = pd.DataFrame({
        "account_id": rng.choice([f"A{i:02d}" for i in range(30)], n),
        "stakeholder_id": [f"S{i:04d}" for i in range(n)],
        "role": pd.Series(rng.choice(["decider", "user", "gatekeeper", None], n), dtype="str"),
        "veto": pd.Series(rng.choice([True, False, None], n), dtype="object"),
        "sentiment": np.where(rng.random(n) < 0.3, np.nan, rng.uniform(-1, 1, n)),
        "other_text": ["x" * 20] * n,
    }, index=rng.integers(0, 50, n))  # duplicated, unordered labels
    got = risk_flags(st)
    want = _by_hand(st)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
    assert got["unhappy_veto"].sum() > 0 and got["deciders_unheard"].sum() > 0  # both flags exercised


def test_unhappy_veto_ids_equal_the_groupby_join_they_replace():
    # the reference: one Python call per account (as risk_flags did), against join_ids' sort-and-join
    rng = np.random.default_rng(3)
    n = 3000
    names = np.array(["b", "a", "Ä", "z10", "z9", "émile", "A", " x", "10", "9", "日本"], dtype=object)
    people = pd.DataFrame({
        "account_id": pd.Series(rng.choice(["acc-1", "Acc-2", "b", "é", None], n), dtype="str"),
        "stakeholder_id": [f"{names[i]}{j}" for i, j in zip(rng.integers(0, len(names), n), rng.integers(0, 40, n))],
        "role": rng.choice(["decider", "user"], n), "veto": rng.choice([True, False, None], n),
        "sentiment": np.where(rng.uniform(size=n) < 0.2, np.nan, rng.uniform(-1, 1, n))})
    got = risk_flags(people)
    unhappy = people["sentiment"].notna() & people["veto"].fillna(False).astype(bool) & (people["sentiment"] < 0)
    ref = (people.loc[unhappy].groupby("account_id")["stakeholder_id"].agg(lambda s: ";".join(sorted(map(str, s))))
           .reindex(got["account_id"]).fillna(""))
    assert got["unhappy_veto_ids"].tolist() == ref.tolist()
    assert (got["unhappy_veto_ids"] != "").sum() == people.loc[unhappy, "account_id"].nunique() > 3
