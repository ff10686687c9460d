"""Informal comments: capture (read/append, atomic and concurrent), themes,
comment sentiment, routing and priority, recurrence and follow-through."""

import hashlib
import math
import multiprocessing as mp
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from cxinfluence import comments as cm
from cxinfluence.exceptions import CommentError, VillageError, VillageWarning
from cxinfluence.village.io import write_village
from cxinfluence.village.core import Village, load_village


def vader_norm(x):
    """VADER's compound for a single sentiment word of valence x (alpha = 15)."""
    return x / math.sqrt(x * x + 15)


# --------------------------------------------------------------------------- fixtures


def small_village(**responses_extra):
    accounts = pd.DataFrame({"account_id": ["A", "B", "C"], "annual_revenue": [1_000_000.0, 200_000.0, np.nan]})
    stakeholders = pd.DataFrame({
        "stakeholder_id": ["a_pm", "a_op", "a_gone", "b_buy", "c_eng"],
        "account_id": ["A", "A", "A", "B", "C"],
        "role": ["decider", "user", "influencer", "buyer", "user"],
        "veto": [True, False, False, False, False],
        "active_from": pd.to_datetime([None] * 5),
        "active_to": pd.to_datetime([None, None, "2024-03-01", None, None]),
    })
    relationships = pd.DataFrame({"source_id": ["a_op"], "target_id": ["a_pm"], "kind": ["reports_to"]})
    responses = pd.DataFrame({
        "stakeholder_id": ["a_pm", "a_op", "a_gone", "b_buy", "c_eng", "a_pm", "a_pm"],
        "date": pd.to_datetime(["2024-05-02", "2024-05-10", "2024-02-01", "2024-05-20", "2024-06-01",
                                "2023-01-05", "2024-06-30"]),
        "nps": [0.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
        "channel": ["informal"] * 7,
        "comment": ["Delivery was late", "Invoice wrong", "Our champion left the company",
                    "The price increase is a problem", "Manual is missing", "Delivery was late",
                    "Delivery was late"],
    })
    for k, v in responses_extra.items():
        responses[k] = v
    outcomes = pd.DataFrame({"account_id": ["C", "C"], "period_end": pd.to_datetime(["2023-12-31", "2025-12-31"]),
                             "renewed": [1.0, 1.0], "bookings": [50_000.0, 999_999.0]})
    return Village(accounts, stakeholders, relationships, responses, outcomes)


def village_on_disk(tmp_path, fmt="csv", name="v"):
    v = small_village()
    v.responses = v.responses.drop(columns=["comment", "channel"])
    return write_village(v, tmp_path / name, format=fmt)


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------- themes and routing

KNOWN = [
    ("Second late delivery this month, the truck arrived without the pallets", {"delivery"}, {"logistics"}),
    ("Batch 42 was out of spec, we had to scrap half of it", {"quality"}, {"quality"}),
    ("The invoice still shows the old price and the credit note never came", {"billing", "pricing"},
     {"finance/billing", "sales/pricing"}),
    ("Your quote is 12% above the competitor's", {"pricing"}, {"sales/pricing"}),
    ("Opened a ticket a week ago, nobody from the help desk called back", {"support"}, {"customer support"}),
    ("Operators found a spill near the pump; the SDS is out of date", {"safety"}, {"EHS"}),
    ("The user manual does not match the new model", {"documentation"}, {"technical writing"}),
    ("Our champion left the company last month", {"people"}, {"account team"}),
    ("Commissioning of line 2 slipped again", {"onboarding"}, {"implementation"}),
    ("The new operators need training on the controller", {"training"}, {"customer training"}),
    ("We were never informed about the plant shutdown", {"communication"}, {"account team"}),
    ("Thanks for the lovely lunch", set(), {"account team"}),
]


@pytest.mark.parametrize("text,themes,groups", KNOWN)
def test_known_comments_get_known_themes_and_routes(text, themes, groups):
    tagged = cm.tag_themes(pd.DataFrame({"comment": [text]}))
    got = set(filter(None, tagged["themes"].iloc[0].split(";")))
    assert got == themes
    for t in cm.theme_rules()["theme"].unique():
        assert tagged[f"theme_{t}"].iloc[0] == (t in themes)
    route = cm.routing_table().set_index("theme")["owning_group"]
    assert ({route[t] for t in got} or {route["other"]}) == groups


def test_tag_themes_returns_new_frame_and_keeps_input():
    df = pd.DataFrame({"comment": ["late delivery", None, "  "], "x": [1, 2, 3]})
    before = df.copy()
    out = cm.tag_themes(df)
    pd.testing.assert_frame_equal(df, before)
    assert out["themes"].iloc[0] == "delivery"
    assert out["themes"].iloc[1:].isna().all()
    assert list(out["x"]) == [1, 2, 3]


def test_theme_order_follows_rule_table_and_word_boundaries():
    out = cm.tag_themes(pd.DataFrame({"comment": ["bill was wrong and the truck was late", "latex gloves", "lately"]}))
    assert out["themes"].tolist() == ["delivery;billing", "", ""]


def test_user_rules_extend_and_replace(tmp_path):
    csv = tmp_path / "themes.csv"
    csv.write_text("theme,pattern\nsustainability,\\b(carbon|recycl\\w*)\\b\n")
    for rules in ({"sustainability": [r"\bcarbon\b", r"\brecycl\w*"]}, str(csv),
                  pd.DataFrame({"Theme": ["sustainability"], "Pattern": [r"\b(carbon|recycl\w*)\b"]})):
        out = cm.tag_themes(pd.DataFrame({"comment": ["Can you recycle the late pallets?"]}), rules=rules)
        assert out["themes"].iloc[0] == "delivery;sustainability"
    only = cm.tag_themes(pd.DataFrame({"comment": ["Can you recycle the late pallets?"]}),
                         rules={"sustainability": r"recycl"}, builtin=False)
    assert only["themes"].iloc[0] == "sustainability"
    assert [c for c in only.columns if c.startswith("theme_")] == ["theme_sustainability"]


def test_bad_rules_are_named():
    with pytest.raises(ValueError, match=r"not a valid regular expression"):
        cm.theme_rules({"x": "(unclosed"})
    with pytest.raises(ValueError, match=r"snake_case"):
        cm.theme_rules({"Bad Name": "x"})
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['pattern'\]"):
        cm.theme_rules(pd.DataFrame({"theme": ["x"]}))
    with pytest.raises(KeyError, match="text='note'"):
        cm.tag_themes(pd.DataFrame({"comment": ["x"]}), text="note")


def test_routing_override_and_unrouted_theme_goes_to_other():
    r = cm.routing_table({"delivery": "regional hub"}).set_index("theme")["owning_group"]
    assert r["delivery"] == "regional hub" and r["quality"] == "quality"
    with pytest.raises(ValueError, match="'other'"):
        cm.routing_table({"delivery": "x"}, builtin=False)


# --------------------------------------------------------------------------- comment sentiment


def test_sentiment_traps():
    plain = SentimentIntensityAnalyzer()
    texts = ["the champion left", "our champion left the company", "no issues", "not happy"]
    # The traps are real in plain VADER ...
    assert plain.polarity_scores(texts[0])["compound"] > 0.5
    assert plain.polarity_scores(texts[1])["compound"] > 0.5
    assert plain.polarity_scores(texts[2])["compound"] < 0
    out = cm.comment_sentiment(pd.DataFrame({"comment": texts}))
    s = out["comment_sentiment"].tolist()
    # ... and handled here: the departure token has valence -2.
    assert s[0] == pytest.approx(vader_norm(-2.0), abs=1e-4) and s[0] < 0
    assert s[1] == pytest.approx(vader_norm(-2.0), abs=1e-4)
    # "no issues": issues = -1.0, negated by VADER's N_SCALAR -0.74.
    assert s[2] == pytest.approx(vader_norm(0.74), abs=1e-4) and s[2] >= 0
    assert s[3] < -0.05
    assert out["comment_label"].tolist() == ["negative", "negative", "positive", "negative"]
    assert out["comment_adjusted"].tolist() == [True, True, False, False]


@pytest.mark.parametrize("text", ["Our sponsor retired last month", "Our main contact is no longer with the company",
                                  "Our champion, Maria, has left", "The plant manager is leaving in May"])
def test_key_person_departures_read_negative(text):
    assert cm.comment_sentiment(pd.DataFrame({"comment": [text]}))["comment_sentiment"].iloc[0] < -0.05


def test_sentiment_domain_words_and_overrides():
    df = pd.DataFrame({"comment": ["Delivery was late", "support was very helpful", "Price increase announced",
                                   None]})
    out = cm.comment_sentiment(df)
    assert out["comment_sentiment"].iloc[0] == pytest.approx(vader_norm(-1.5), abs=1e-4)
    assert out["comment_sentiment"].iloc[1] > 0.3  # "support" is a department, "helpful" carries it
    assert out["comment_sentiment"].iloc[2] < 0
    assert np.isnan(out["comment_sentiment"].iloc[3]) and pd.isna(out["comment_label"].iloc[3])
    custom = cm.comment_sentiment(df.iloc[:1], lexicon={"late": 0.0})
    assert custom["comment_sentiment"].iloc[0] == 0.0
    assert cm.comment_sentiment(df.iloc[:1])["comment_sentiment"].iloc[0] < 0  # cache keyed by lexicon
    assert "comment_sentiment" not in df.columns


# --------------------------------------------------------------------------- action list and priority


def test_priority_formula_by_hand():
    v = small_village()
    inf = pd.DataFrame({"stakeholder_id": ["a_pm", "a_op", "b_buy", "c_eng"], "influence": [0.7, 0.3, 1.0, 1.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        al = cm.action_list(v, "2024-06-30", influence=inf, window_days=90)
    # Window [2024-04-01, 2024-06-30): drops the 2023 and 2024-02 comments and the one dated on as_of.
    assert sorted(al["stakeholder_id"]) == ["a_op", "a_pm", "b_buy", "c_eng"]
    row = al.set_index("stakeholder_id")
    # a_pm: "Delivery was late" (late = -1.5) and NPS 0 (-1 on the common scale).
    s = (vader_norm(-1.5) + -1.0) / 2
    assert row.loc["a_pm", "negativity"] == pytest.approx((1 - s) / 2, abs=1e-4)
    assert row.loc["a_pm", "priority"] == pytest.approx(0.7 * (1 - s) / 2 * 1_000_000, rel=1e-4)
    assert row.loc["a_pm", "owning_group"] == "logistics"
    # a_op: "Invoice wrong" (wrong = -2.1), no scores.
    neg = (1 - vader_norm(-2.1)) / 2
    assert row.loc["a_op", "priority"] == pytest.approx(0.3 * neg * 1_000_000, rel=1e-4)
    # b_buy: price increase phrase (-1.5) and "problem" (-1.7): priority on 200,000.
    sb = SentimentIntensityAnalyzer().polarity_scores  # independent check of the summed valence
    assert row.loc["b_buy", "revenue_at_stake"] == 200_000
    assert row.loc["b_buy", "priority"] == pytest.approx(row.loc["b_buy", "negativity"] * 200_000)
    assert row.loc["b_buy", "negativity"] > 0.5 and sb("a problem")["compound"] < 0
    # c_eng: no annual revenue -> latest bookings with period_end <= as_of (50,000, not the 2025 figure).
    assert row.loc["c_eng", "revenue_source"] == "latest_bookings"
    assert row.loc["c_eng", "revenue_at_stake"] == 50_000
    assert row.loc["c_eng", "owning_group"] == "technical writing"
    assert list(al["priority"]) == sorted(al["priority"], reverse=True)
    assert al.loc[0, "stakeholder_id"] == "a_pm"


def test_action_list_departed_unknown_revenue_closed_and_multi_route():
    v = small_village(status=["open", "closed", "open", "in_progress", "open", "closed", "open"])
    v.accounts.loc[2, "annual_revenue"] = np.nan
    v.outcomes = v.outcomes.iloc[:0]
    v.responses.loc[1, "comment"] = "Invoice wrong and the truck was late"
    inf = pd.DataFrame({"stakeholder_id": ["a_pm", "a_op", "b_buy", "c_eng"], "influence": [0.7, 0.3, 1.0, 1.0]})
    al = cm.action_list(v, "2024-06-30", influence=inf, window_days=200)
    assert "a_op" not in set(al["stakeholder_id"])  # closed
    gone = al.set_index("stakeholder_id").loc["a_gone"]
    assert gone["influence"] == 0 and not gone["active"] and gone["priority"] == 0
    assert al["priority"].isna().iloc[-1] and al["stakeholder_id"].iloc[-1] == "c_eng"
    assert al["revenue_source"].iloc[-1] == "unknown"
    full = cm.action_list(v, "2024-06-30", influence=inf, window_days=200, include_closed=True)
    assert full.set_index("stakeholder_id").loc["a_op", "owning_group"] == "logistics;finance/billing"
    assert full["comment"].isin(["Invoice wrong and the truck was late"]).any()  # text kept as-is


def test_action_list_uses_influence_weights_when_not_given():
    pytest.importorskip("cxinfluence.network.influence")
    v = small_village()
    al = cm.action_list(v, "2024-06-30", window_days=90)
    a = al[al["account_id"] == "A"]
    assert (a["influence"] > 0).all() and a["influence"].sum() <= 1 + 1e-9
    # The manager (reports_to target, decider) outweighs the operator.
    w = a.set_index("stakeholder_id")["influence"]
    assert w["a_pm"] > w["a_op"]


def test_action_list_bad_influence():
    with pytest.raises(ValueError, match="expected stakeholder_id and influence"):
        cm.action_list(small_village(), "2024-06-30", influence=pd.DataFrame({"stakeholder_id": ["a_pm"]}))


# --------------------------------------------------------------------------- recurrence and follow-through


def test_recurrence_by_hand():
    c = pd.DataFrame({
        "account_id": ["A"] * 5 + ["B"],
        "date": ["2024-01-10", "2024-04-02", "2024-05-01", "2024-10-01", "2024-02-01", "2024-01-01"],
        "themes": ["delivery", "delivery", "delivery;billing", "delivery", "", "delivery"],
    })
    r = cm.recurrence(c).set_index(["account_id", "theme"])
    d = r.loc[("A", "delivery")]
    assert d["n_comments"] == 4 and d["n_periods"] == 3
    assert d["periods"] == "2024Q1;2024Q2;2024Q4"
    assert d["max_run"] == 2 and d["gap_periods"] == 1 and d["recurring"]
    assert not r.loc[("A", "billing"), "recurring"] and not r.loc[("B", "delivery"), "recurring"]
    assert len(r) == 3  # the untagged comment is not a theme
    monthly = cm.recurrence(c, freq="M", min_periods=4).set_index(["account_id", "theme"])
    assert monthly.loc[("A", "delivery"), "n_periods"] == 4 and monthly.loc[("A", "delivery"), "recurring"]
    assert monthly.loc[("A", "delivery"), "max_run"] == 2  # April and May
    with pytest.raises(KeyError, match="account_id"):
        cm.recurrence(c.drop(columns="account_id"))


def follow_data():
    return pd.DataFrame({
        "account_id": ["A", "A", "A", "B", "B", "A"],
        "date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-02-01", "2024-01-01", "2024-03-01", "2024-01-11"]),
        "themes": ["delivery", "billing", "delivery", "delivery", "delivery", "delivery"],
        "status": ["closed", "In progress", "open", "closed", "closed", None],
        "status_date": pd.to_datetime(["2024-01-11", "2024-01-06", None, "2024-01-31", "2024-03-11", None]),
    })


def test_follow_through_items_by_hand():
    it = cm.follow_through_items(follow_data(), as_of="2024-03-31")
    assert len(it) == 5  # the comment without a status is not followed through
    first = it.iloc[0]
    assert first["days_to_close"] == 10
    # The untracked comment dated on the closing day (2024-01-11) is not "after" it; 2024-02-01 is.
    assert first["recurred_after_close"] and first["recurrence_date"] == pd.Timestamp("2024-02-01")
    assert it.iloc[1]["days_open"] == (pd.Timestamp("2024-03-31") - pd.Timestamp("2024-01-05")).days
    assert it.iloc[2]["days_open"] == 59 and np.isnan(it.iloc[2]["days_to_close"])
    b = it[it["account_id"] == "B"]
    assert b["recurred_after_close"].tolist() == [True, False]
    assert b["days_to_close"].tolist() == [30, 10]


def test_follow_through_kaplan_meier_by_hand():
    ft = cm.follow_through(follow_data(), as_of="2024-03-31").set_index("theme")
    d = ft.loc["delivery"]
    assert (d["n_items"], d["n_open"], d["n_closed"]) == (4, 1, 3)
    # Times: closed 10, 30, 10; open 59 (censored). KM: S(10) = 1 - 2/4 = 0.5, S(30) = 0.5 * (1 - 1/2) = 0.25.
    # The SAS/statsmodels median is the first time with S(t) < 0.5: 30.
    assert d["median_days_to_close"] == 30
    assert d["mean_days_to_close_closed"] == pytest.approx(50 / 3)
    assert d["oldest_open_days"] == 59
    # A closed 01-11, delivery again 02-01; B closed 01-31, again 03-01; B closed 03-11, not again.
    assert d["n_recurred_after_close"] == 2 and d["recurred_after_close_rate"] == pytest.approx(2 / 3)
    b = ft.loc["billing"]
    assert b["n_in_progress"] == 1 and np.isnan(b["median_days_to_close"]) and np.isnan(b["recurred_after_close_rate"])
    by_acc = cm.follow_through(follow_data(), as_of="2024-03-31", by=["account_id", "theme"])
    assert len(by_acc) == 3


def test_follow_through_needs_status():
    with pytest.raises(KeyError, match="status"):
        cm.follow_through(follow_data().drop(columns="status"))
    bad = follow_data()
    bad.loc[0, "status"] = "done"
    with pytest.raises(ValueError, match="'done'"):
        cm.follow_through(bad)


# --------------------------------------------------------------------------- capture: reading


def test_template_reads_and_documents_every_column():
    t = cm.read_comments(cm.template_path())
    assert list(t.columns[:3]) == ["stakeholder_id", "date", "comment"]
    assert set(cm.TEMPLATE_COLUMNS) <= set(t.columns)
    assert t["channel"].eq("informal").all() and t["status"].tolist() == ["open", "closed"]
    assert t["date"].dtype == "datetime64[ns]" and t["nps"].dtype == "float64"
    assert "captured_by" in t.columns  # extra columns kept


def test_read_comments_lists_every_problem_with_row_and_column(tmp_path):
    p = tmp_path / "notes.csv"
    p.write_text(
        "Stakeholder ID,Date,Comment,NPS,channel,status,status_date\n"
        "s1,2024-03-01,\"fine, thanks\",7,,open,\n"
        "s2,03/01/2024,late again,11,email,closed,\n"
        "\n"
        ",2024-03-02,,n/a,informal,In progress,2024-03-01\n"
    )
    with pytest.raises(CommentError) as err:
        cm.read_comments(p)
    got = {(q.row, q.column) for q in err.value.problems}
    assert got == {(3, "date"), (3, "nps"), (3, "channel"), (3, "status_date"), (5, "stakeholder_id"),
                   (5, "comment"), (5, "nps"), (5, "status_date")}
    text = str(err.value)
    assert "notes.csv, row 3, column 'nps': 11 is out of range; expected a whole number from 0 to 10" in text
    assert "'email' is not a channel" in text and "'n/a' is not a number" in text


def test_read_comments_encoding_and_missing_columns(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes("stakeholder_id,date,comment\ns1,2024-01-01,Très en retard\n".encode("cp1252"))
    with pytest.raises(CommentError, match="not UTF-8"):
        cm.read_comments(p)
    q = tmp_path / "cols.csv"
    q.write_text("stakeholder_id,when\ns1,2024-01-01\n")
    with pytest.raises(CommentError, match="'date'.*required column is missing"):
        cm.read_comments(q)
    with pytest.raises(FileNotFoundError, match="template"):
        cm.read_comments(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- capture: appending


def test_append_keeps_existing_bytes_and_adds_columns(tmp_path):
    folder = village_on_disk(tmp_path)
    target = folder / "responses.csv"
    before = target.read_text()
    new = pd.DataFrame({"stakeholder_id": ["a_pm", "b_buy"], "date": ["2024-07-01", "2024-07-02"],
                        "comment": ['Pallets "damaged", again\nsecond line', "Fine"], "csat": ["2", ""]})
    out = cm.append_comments(folder, new)
    assert len(out) == 2
    v = load_village(folder, warn=False)
    assert len(v.responses) == 9
    tail = v.responses.tail(2)
    assert tail["comment"].tolist() == ['Pallets "damaged", again\nsecond line', "Fine"]
    assert tail["channel"].tolist() == ["informal", "informal"] and tail["csat"].tolist()[0] == 2.0
    # Existing rows: same values, blank in the new columns.
    old = pd.read_csv(pd.io.common.StringIO(before), dtype=str, keep_default_na=False)
    again = pd.read_csv(target, dtype=str, keep_default_na=False).iloc[:7]
    pd.testing.assert_frame_equal(again[old.columns], old)
    # A second append with the same columns adds bytes at the end only.
    mid = target.read_bytes()
    cm.append_comments(folder, pd.DataFrame({"stakeholder_id": ["a_op"], "date": ["2024-07-03"],
                                             "comment": ["late"], "csat": ["3"]}))
    after = target.read_bytes()
    assert after.startswith(mid) and after[len(mid):].decode().count("\n") == 1
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_invalid_input_leaves_file_byte_identical(tmp_path):
    folder = village_on_disk(tmp_path)
    target = folder / "responses.csv"
    h = digest(target)
    bad = pd.DataFrame({"stakeholder_id": ["a_pm", "ghost", "b_buy"], "date": ["2024-07-01", "2024-07-01", "x"],
                        "comment": ["ok", "who?", "bad date"], "nps": ["5", "3", "12"]})
    with pytest.raises(CommentError) as err:
        cm.append_comments(folder, bad)
    got = {(q.row, q.column) for q in err.value.problems}
    assert got == {(3, "stakeholder_id"), (4, "date"), (4, "nps")}
    assert "'ghost' is not in stakeholders" in str(err.value)
    assert digest(target) == h
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == sorted(
        ["accounts.csv", "stakeholders.csv", "relationships.csv", "responses.csv", "outcomes.csv"])


def test_append_from_template_file_names_its_rows(tmp_path):
    folder = village_on_disk(tmp_path)
    h = digest(folder / "responses.csv")
    with pytest.raises(CommentError) as err:
        cm.append_comments(folder, cm.template_path())  # the example rows name unknown people
    assert {(q.file, q.row, q.column) for q in err.value.problems} == {
        ("informal_comments.csv", 2, "stakeholder_id"), ("informal_comments.csv", 3, "stakeholder_id")}
    assert digest(folder / "responses.csv") == h


def test_append_duplicates(tmp_path):
    folder = village_on_disk(tmp_path)
    new = pd.DataFrame({"stakeholder_id": ["a_pm"], "date": ["2024-07-01"], "comment": ["late"]})
    cm.append_comments(folder, new)
    h = digest(folder / "responses.csv")
    with pytest.raises(CommentError, match="already in the village"):
        cm.append_comments(folder, new)
    assert digest(folder / "responses.csv") == h
    assert len(cm.append_comments(folder, new, on_duplicate="skip")) == 0
    assert digest(folder / "responses.csv") == h
    assert len(cm.append_comments(folder, new, on_duplicate="keep")) == 1
    with pytest.raises(ValueError, match="on_duplicate='x'"):
        cm.append_comments(folder, new, on_duplicate="x")


def test_append_warns_outside_active_period(tmp_path):
    folder = village_on_disk(tmp_path)
    with pytest.warns(VillageWarning, match="active period"):
        cm.append_comments(folder, pd.DataFrame({"stakeholder_id": ["a_gone"], "date": ["2024-05-01"],
                                                 "comment": ["still here?"]}))


def test_append_refuses_invalid_village_and_xlsx(tmp_path):
    folder = village_on_disk(tmp_path)
    (folder / "stakeholders.csv").write_text("stakeholder_id,account_id\na_pm,NOPE\n")
    h = digest(folder / "responses.csv")
    with pytest.raises(VillageError, match="NOPE"):
        cm.append_comments(folder, pd.DataFrame({"stakeholder_id": ["a_pm"], "date": ["2024-07-01"],
                                                 "comment": ["x"]}))
    assert digest(folder / "responses.csv") == h
    book = write_village(small_village(), tmp_path / "v.xlsx", format="xlsx")
    with pytest.raises(ValueError, match="xlsx"):
        cm.append_comments(book, pd.DataFrame({"stakeholder_id": ["a_pm"], "date": ["2024-07-01"],
                                               "comment": ["x"]}))


def test_append_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    folder = village_on_disk(tmp_path, fmt="parquet")
    new = pd.DataFrame({"stakeholder_id": ["a_pm"], "date": ["2024-07-01"], "comment": ["late"], "nps": ["3"],
                        "status": ["open"]})
    cm.append_comments(folder, new)
    v = load_village(folder, warn=False)
    assert len(v.responses) == 8
    last = v.responses.iloc[-1]
    assert last["comment"] == "late" and last["nps"] == 3.0 and last["date"] == pd.Timestamp("2024-07-01")
    assert v.responses["nps"].iloc[0] == 0.0  # existing values intact


def _worker(folder, who, n, barrier):
    barrier.wait()
    for i in range(n):
        cm.append_comments(folder, pd.DataFrame({"stakeholder_id": [who], "date": ["2024-07-01"],
                                                 "comment": [f"{who} note {i}"]}))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_concurrent_appends_land_exactly_once(tmp_path, fmt):
    folder = village_on_disk(tmp_path, fmt=fmt)
    ctx = mp.get_context("fork")
    people, n = ["a_pm", "a_op", "b_buy", "c_eng"], 5
    barrier = ctx.Barrier(len(people))
    procs = [ctx.Process(target=_worker, args=(folder, who, n, barrier)) for who in people]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * len(people)
    v = load_village(folder, warn=False)
    got = v.responses["comment"].dropna().tolist()
    expected = [f"{who} note {i}" for who in people for i in range(n)]
    assert sorted(got) == sorted(expected)  # every comment exactly once
    assert len(v.responses) == 7 + len(expected)
    for who in people:  # each writer's rows in its own order
        mine = [c for c in got if c.startswith(who)]
        assert mine == [f"{who} note {i}" for i in range(n)]
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_themes_and_tone_recover_the_synthetic_generators_truth():
    """The generator's comment templates carry a known theme and tone."""
    synth = pytest.importorskip("cxinfluence.village.synth")
    templates = getattr(synth, "COMMENT_TEMPLATES", None)
    if templates is None:
        pytest.skip("cxinfluence.village.synth has no COMMENT_TEMPLATES")
    rows = [(theme, tone, text) for theme, tones in templates.items()
            for tone, texts in zip(("positive", "mixed", "negative"), tones) for text in texts]
    df = pd.DataFrame(rows, columns=["truth", "tone", "comment"])
    out = cm.comment_sentiment(cm.tag_themes(df))
    recall = np.mean([t in str(got).split(";") for t, got in zip(out["truth"], out["themes"])])
    assert recall >= 0.95
    polar = out[out["tone"] != "mixed"]
    agree = np.mean((polar["comment_sentiment"] > 0) == (polar["tone"] == "positive"))
    assert agree >= 0.85
    means = out.groupby("tone")["comment_sentiment"].mean()
    assert means["negative"] < means["mixed"] < means["positive"]


def test_empty_inputs_give_empty_tables():
    empty = pd.DataFrame({"comment": pd.Series([], dtype=object)})
    assert cm.tag_themes(empty)["themes"].empty and cm.comment_sentiment(empty)["comment_sentiment"].empty
    v = small_village()
    inf = pd.DataFrame({"stakeholder_id": ["a_pm"], "influence": [1.0]})
    assert cm.action_list(v, "2020-01-01", influence=inf).empty
    ct = cm.comment_table(v, "2020-01-01", window_days=10)
    assert cm.recurrence(ct).empty
    ct = ct.assign(status=pd.Series([], dtype=object), status_date=pd.Series([], dtype="datetime64[ns]"))
    assert cm.follow_through(ct, as_of="2024-01-01").empty


def test_capture_to_follow_through_round_trip(tmp_path):
    """Comments appended with follow-up columns come back through load_village (as text) and are analysed."""
    folder = village_on_disk(tmp_path)
    new = pd.DataFrame({
        "stakeholder_id": ["a_pm", "a_op", "a_pm", "b_buy"],
        "date": ["2024-04-01", "2024-04-15", "2024-08-01", "2024-05-01"],
        "comment": ["Late delivery again", "Invoice wrong", "Delivery late, again", "Quote too high"],
        "status": ["closed", "open", "open", "in progress"],
        "status_date": ["2024-04-21", "", "", "2024-05-02"],
        "owner_group": ["logistics", "finance/billing", "logistics", "sales/pricing"],
    })
    cm.append_comments(folder, new)
    v = load_village(folder, warn=False)
    ct = cm.comment_table(v)
    assert len(ct) == 4 and set(ct["account_id"]) == {"A", "B"}
    items = cm.follow_through_items(ct, as_of="2024-09-01").set_index("comment")
    assert items.loc["Late delivery again", "days_to_close"] == 20
    assert items.loc["Late delivery again", "recurred_after_close"]
    assert items.loc["Quote too high", "status"] == "in_progress"
    rec = cm.recurrence(ct).set_index(["account_id", "theme"])
    assert rec.loc[("A", "delivery"), "periods"] == "2024Q2;2024Q3" and rec.loc[("A", "delivery"), "recurring"]


def test_action_summary_by_hand():
    v = small_village()
    v.responses.loc[1, "comment"] = "Invoice wrong and the truck was late"
    inf = pd.DataFrame({"stakeholder_id": ["a_pm", "a_op", "b_buy", "c_eng"], "influence": [0.7, 0.3, 1.0, 1.0]})
    al = cm.action_list(v, "2024-06-30", influence=inf, window_days=90)
    summary = cm.action_summary(al).set_index("owning_group")
    p = al.set_index("stakeholder_id")["priority"]
    logistics = summary.loc["logistics"]
    assert logistics["n_comments"] == 2 and logistics["n_accounts"] == 1 and logistics["n_from_veto_holders"] == 1
    assert logistics["priority_total"] == pytest.approx(p["a_pm"] + p["a_op"])
    assert logistics["top_account"] == "A" and logistics["top_theme"] == "delivery"
    assert summary.loc["finance/billing", "priority_total"] == pytest.approx(p["a_op"])
    assert list(summary["priority_total"]) == sorted(summary["priority_total"], reverse=True)
    with pytest.raises(KeyError, match="action_list"):
        cm.action_summary(al.drop(columns="priority"))


def test_theme_summary_by_hand():
    c = cm.comment_sentiment(cm.tag_themes(pd.DataFrame({
        "account_id": ["A", "A", "B", "B"],
        "comment": ["Delivery was late", "Invoice wrong and delivery late", "On-time delivery, thanks", "Hello"]})))
    t = cm.theme_summary(c).set_index("theme")
    d = t.loc["delivery"]
    assert d["n_comments"] == 3 and d["n_accounts"] == 2 and d["share_of_comments"] == 0.75
    assert d["share_negative"] == pytest.approx(2 / 3)
    assert d["mean_sentiment"] == pytest.approx(c["comment_sentiment"].iloc[:3].mean())
    assert t.loc["other", "n_comments"] == 1 and t.index[0] == "delivery"


def test_action_list_channel_filter():
    v = small_village()
    v.responses.loc[0, "channel"] = "survey"
    inf = pd.DataFrame({"stakeholder_id": ["a_pm", "a_op", "b_buy", "c_eng"], "influence": [0.7, 0.3, 1.0, 1.0]})
    informal = cm.action_list(v, "2024-06-30", influence=inf, channels=["informal"], window_days=90)
    assert "a_pm" not in set(informal["stakeholder_id"]) and len(informal) == 3
    assert set(cm.action_list(v, "2024-06-30", influence=inf)["channel"]) == {"survey", "informal"}


def test_repeated_texts_score_once_and_alike():
    texts = ["Delivery was late again", "  ", None, "Delivery was late again", "", "Great support"] * 3
    for dtype in ("str", object):
        df = pd.DataFrame({"comment": pd.Series(texts, dtype=dtype)})
        out = cm.comment_sentiment(cm.tag_themes(df))
        s = out["comment_sentiment"]
        assert s.iloc[0] == s.iloc[3] == s.iloc[6] < -0.05
        assert s.iloc[[1, 2, 4]].isna().all() and not out["comment_adjusted"].iloc[[1, 2, 4]].any()
        assert out["themes"].iloc[[1, 2, 4]].isna().all() and out["themes"].iloc[0] == "delivery"


def test_action_list_same_for_arrow_and_object_text():
    """The pyarrow joins and per-distinct-value mapping against the plain pandas
    paths, with unknown speakers, an account missing from the accounts table,
    blank comments and closed items."""
    from cxinfluence.network.influence import influence_weights
    from cxinfluence.village.synth import make_village

    v, _ = make_village(40, seed=2, waves_per_year=3)
    r = v.responses.copy()
    r.loc[r.index[:4], "stakeholder_id"] = "nobody"
    r.loc[r.index[4:8], "comment"] = "   "
    r["status"] = pd.Series(np.resize(np.array(["open", " Closed", None], dtype=object), len(r)), dtype="str")
    s = v.stakeholders.copy()
    loners = ~s["stakeholder_id"].isin(pd.concat([v.relationships["source_id"], v.relationships["target_id"]]))
    s.loc[s.index[loners.to_numpy()][:2], "account_id"] = "not-in-accounts"  # isolated people: no ties to move across accounts
    v = Village(accounts=v.accounts, stakeholders=s, relationships=v.relationships, responses=r,
                outcomes=v.outcomes)
    as_of = pd.Timestamp("2026-01-01")
    infl = influence_weights(v, as_of).iloc[::2]  # some speakers without influence

    def obj(d):
        return d.astype({c: object for c in d.columns if isinstance(d[c].dtype, pd.StringDtype)})

    slow = Village(accounts=obj(v.accounts), stakeholders=obj(v.stakeholders), relationships=v.relationships,
                   responses=obj(v.responses), outcomes=v.outcomes)
    for kw in ({}, {"window_days": None, "include_closed": True}):
        fast = cm.action_list(v, as_of, influence=infl, **kw)
        assert len(fast) and (~fast["active"]).any()
        # same rows and values; text columns keep the dtype they came in
        pd.testing.assert_frame_equal(fast, cm.action_list(slow, as_of, influence=obj(infl), **kw), check_dtype=False)


def test_action_list_routes_problems_first_with_levels_and_recurrence():
    """Issue 16: praise never outranks a complaint; recurring themes weigh more; levels, not raw numbers."""
    from cxinfluence.village import Village

    dates = pd.to_datetime(["2024-06-01", "2024-06-02", "2024-06-03", "2023-10-05", "2024-01-20"])
    v = Village(accounts=pd.DataFrame({"account_id": ["a", "b"], "annual_revenue": [5_000_000.0, 1_000_000.0]}),
                stakeholders=pd.DataFrame({"stakeholder_id": ["fan", "cx", "ops"], "account_id": ["a", "b", "b"]}),
                relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
                responses=pd.DataFrame({"stakeholder_id": ["fan", "cx", "ops", "ops", "cx"], "date": dates,
                                        "comment": ["Great service, really excellent people", "Delivery was late",
                                                    "Invoice wrong", "Delivery late again", "Late delivery"]}),
                outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    inf = pd.DataFrame({"stakeholder_id": ["fan", "cx", "ops"], "influence": [1.0, 0.5, 0.5]})
    al = cm.action_list(v, "2024-07-01", influence=inf, window_days=90)
    # the praise has by far the largest revenue and influence behind it, yet comes last
    assert al["stakeholder_id"].tolist() == ["cx", "ops", "fan"]
    assert al["kind"].tolist() == ["problem", "problem", "praise"]
    row = al.set_index("stakeholder_id")
    # delivery was raised in account b in 2023Q4, 2024Q1 and 2024Q2: three quarters of the last year
    assert row.loc["cx", "recurrence"] == 3 and row.loc["ops", "recurrence"] == 1
    assert row.loc["cx", "urgency"] == pytest.approx(3 * row.loc["cx", "priority"])
    assert row.loc["fan", "priority"] > row.loc["cx", "priority"]  # the old ranking would have put praise first
    assert row.loc["cx", "level"] == "high" and row.loc["fan", "level"] == "praise"
    assert "delivery raised in 3 quarters of the last year" in row.loc["cx", "level_reason"]
    assert row.loc["ops", "level"] in ("medium", "low") and "1M revenue" in row.loc["ops", "level_reason"]
