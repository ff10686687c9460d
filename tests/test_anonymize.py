"""--anonymize on a village built to leak: every output file scanned for names, name parts, e-mails, phones;
owner pseudonyms not recomputable from a roster without the key; stable with it; ordinary words kept."""

import hashlib
import hmac
import html
import os
import re
import stat
import subprocess
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxinfluence.village.anonymize import COMMON_WORDS, PARTICLES, NameScrubber, anonymize_village, fold, load_key, pseudonym
from cxinfluence.exceptions import AnonymizeKeyError

CLI = [sys.executable, "-m", "cxinfluence"]

PEOPLE = ["Hannah Lindqvist", "José Núñez", "Wei Li", "Minh Ng", "Karl Whitfield", "Siobhán O'Connor",
          "Anne-Marie van der Berg", "Will Baker", "Zoë Kowalczyk", "Łukasz Żółć"]
OWNERS = ["Björn Åkesson", "Grace Mbeki", "Tomás Ruiz", "Priyanka Raghunathan"]
ACCOUNTS = ["Great Lakes", "Highland Biologics Co.", "Best Foods Ltd", "Zyxcorp"]
ACCOUNT_EMAIL = "ops@greatlakes.example"
EMAILS = {"Hannah Lindqvist": "hannah.lindqvist@greatlakes.example", "Minh Ng": "minh_ng@highland.example"}
PHONE_ID = {"Karl Whitfield": "+46 70 123 45 67"}
PHONES = ["+46 70 123 45 67", "+1 (555) 010-0199", "0044 20 7946 0958", "555-010-0142"]
# free text that names people in every way the issue found, plus ordinary words that must stay
TITLES = ["Assistant to Hannah Lindqvist", "CEO Karl Whitfield", "Deputy to jose nunez", "Plant Manager",
          "Chief of Staff to Wei Li", "Buyer (reports to Ng)"]
DEPARTMENTS = ["Office of Hannah Lindqvist", "Li's team", "operations", "Whitfield Lab", "procurement"]
TOUCHPOINTS = ["QBR with Karl Whitfield", "call with Bjorn Akesson", "delivery", "visit by GRACE MBEKI", "support"]
COMMENTS = [
    "Ask Hannah Lindqvist about the renewal.",
    "Jose Nunez says the great service at Great Lakes keeps the line running.",
    "Call Li on +1 (555) 010-0199 before Friday.",
    "mail hannah.lindqvist@greatlakes.example or minh_ng@highland.example",
    "Ng was unhappy; Lindqvist agreed; WHITFIELD escalated to siobhan o'connor.",
    "Great Lakes renewed; great service and the best support, we will renew.",
    "WILL BAKER approved the budget; Baker wants a lake-side visit.",
    "Anne-Marie van der Berg and Zoe Kowalczyk met Lukasz Zolc at Highland Biologics.",
    "Zyxcorp is slow to pay; Best Foods is happy. Phone 0044 20 7946 0958 or 555-010-0142.",
    "Priyanka Raghunathan and Tomás Ruiz covered the QBR on 2024-05-01.",
]
KEPT = ["great service", "the best support", "we will renew", "lake-side visit", "slow to pay", "2024-05-01",
        "Plant Manager"]


def leak_village(n_accounts=20, seed=4):
    """A synthetic village whose names leak into every free-text field."""
    from cxinfluence.village.synth import make_village

    v, _ = make_village(n_accounts, seed=seed)
    acc, st, rel, rsp = v.accounts.copy(), v.stakeholders.copy(), v.relationships.copy(), v.responses.copy()
    acc.loc[acc.index[:len(ACCOUNTS)], "name"] = ACCOUNTS
    # an account id that is an e-mail address (also in stakeholders and outcomes)
    first = acc["account_id"].iloc[0]
    relabel = {first: ACCOUNT_EMAIL}
    acc["account_id"] = acc["account_id"].map(lambda x: relabel.get(x, x)).astype(acc["account_id"].dtype)
    st["account_id"] = st["account_id"].map(lambda x: relabel.get(x, x)).astype(st["account_id"].dtype)
    outcomes = v.outcomes.assign(account_id=v.outcomes["account_id"].map(lambda x: relabel.get(x, x))
                                 .astype(v.outcomes["account_id"].dtype))
    acc["owner"] = [OWNERS[i % len(OWNERS)] for i in range(len(acc))]
    acc.loc[acc.index[0], "region"] = "Nordics (Åkesson)"
    # the named people: the first active people of the first accounts
    named = st.index[:len(PEOPLE)]
    st.loc[named, "name"] = PEOPLE
    ids = dict(zip(st.loc[named, "stakeholder_id"], PEOPLE))
    rename = {sid: EMAILS.get(n, PHONE_ID.get(n, sid)) for sid, n in ids.items()}

    def re_id(s):
        return s.map(lambda x: rename.get(x, x)).astype(s.dtype)

    st["stakeholder_id"] = re_id(st["stakeholder_id"])
    rel["source_id"], rel["target_id"] = re_id(rel["source_id"]), re_id(rel["target_id"])
    rsp["stakeholder_id"] = re_id(rsp["stakeholder_id"])
    def cyc(values, n):
        return [values[i % len(values)] for i in range(n)]

    st.loc[st.index[:30], "title"] = cyc(TITLES, 30)
    st.loc[st.index[:30], "department"] = cyc(DEPARTMENTS, 30)
    st["assistant"] = pd.Series(cyc(["Minh Ng", "none", "Hannah's deputy"], len(st)), index=st.index, dtype="str")
    rsp["touchpoint"] = pd.Series(cyc(TOUCHPOINTS, len(rsp)), index=rsp.index, dtype="str")
    # every named person's responses carry the hostile comments, and informal ones reach actions.csv
    rsp["comment"] = pd.Series(cyc(COMMENTS, len(rsp)), index=rsp.index, dtype="str")
    rsp["channel"] = pd.Series(cyc(["informal", "survey", "interview"], len(rsp)), index=rsp.index, dtype="str")
    rsp["notes"] = pd.Series(cyc(["escalated by Grace Mbeki", "fine", "Karl's call"], len(rsp)), index=rsp.index,
                             dtype="str")
    return replace(v, accounts=acc, stakeholders=st, relationships=rel, responses=rsp, outcomes=outcomes)


# --------------------------------------------------------------------------- scanning every output


def _assets():
    from cxinfluence.present.maps import _static, _vis_asset, _vis_css

    return [_vis_asset("vis-network.min.js"), _static("network_map.js"), _vis_css()]


def output_text(path: Path, assets) -> str:
    """The text of one output file as a reader sees it: HTML unescaped (srcdoc too), JSON \\u escapes decoded,
    library code and images left out, tag names blanked (``<li>`` is markup, not the surname Li); a
    workbook's every cell (the Kumu export)."""
    if path.suffix == ".xlsx":
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True)
        return "\n".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
                         for v in row if v is not None)
    if path.suffix == ".png":  # a picture: its words are checked in the SVG drawn from the same figure
        return ""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        for _ in range(3):  # the report embeds maps in srcdoc: escaped once more
            for a in assets:
                text = text.replace(a, " ")
            text = re.sub(r"<style[^>]*>.*?</style>", " ", text, flags=re.DOTALL)  # the package's own CSS
            text = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+", " ", text)
            text = html.unescape(text)
        text = re.sub(r"</?[A-Za-z][A-Za-z0-9-]*", " ", text)
        text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
        text = re.sub(r"&#x?[0-9a-fA-F]+;", " ", text)
    return text


def leaks(text: str) -> list:
    found = []
    folded = fold(text)
    tokens = set(re.findall(r"[^\W\d_]+", folded))
    cased = set(re.findall(r"[^\W\d_]+", fold_accents_only(text)))
    for name in PEOPLE + OWNERS:
        words = [fold(w) for w in re.findall(r"[^\W\d_]+", name)]
        if re.search(r"\b" + r"[\s\-.'’]+".join(map(re.escape, words)) + r"\b", folded):
            found.append(name)
        for w in words:
            if len(w) < 2 or w in PARTICLES:
                continue
            if w in COMMON_WORDS:
                if w.capitalize() in cased or w.upper() in cased:
                    found.append(f"{w.capitalize()} (capitalised)")
            elif w in tokens:
                found.append(w)
    for name in ACCOUNTS:
        words = [fold(w) for w in re.findall(r"[^\W\d_]+", name)]
        if re.search(r"\b" + r"[\s\-.'’]+".join(map(re.escape, words)) + r"\b", folded):
            found.append(name)
    for e in EMAILS.values():
        if e in folded or e.split("@")[0] in folded:
            found.append(e)
    if re.search(r"[\w.+-]+@[\w-]+\.[\w.-]+", text):
        found.append("an e-mail address: " + re.search(r"[\w.+-]+@[\w-]+\.[\w.-]+", text).group(0))
    digits = re.sub(r"[\s().\-+]", "", text)
    for p in PHONES:
        if re.sub(r"\D", "", p) in digits:
            found.append(p)
    return found


def fold_accents_only(text: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@pytest.fixture(scope="module")
def leak_cli(tmp_path_factory):
    """One CLI run with --anonymize on the leak village (written to disk, so loading and validation are in)."""
    from cxinfluence import write_village

    base = tmp_path_factory.mktemp("leak")
    path = write_village(leak_village(), base / "village")
    key = base / "keys" / "anonymize.key"
    out = base / "out"
    res = subprocess.run(CLI + ["run", str(path), "--out", str(out), "--anonymize", "--anonymize-key", str(key),
                                "--maps", "-1",
                                "-q"], check=False, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return path, out, key, res


def test_leak_village_leaks_without_anonymize():
    """The scanner finds the planted names when nothing is anonymised (so a clean scan means something)."""
    v = leak_village()
    text = "\n".join(df.to_csv() for df in v.tables().values())
    found = set(leaks(text))
    assert {"Hannah Lindqvist", "José Núñez", "li", "ng", "Great Lakes", "Björn Åkesson"} <= found
    assert any(f.startswith("an e-mail") for f in found) and "+1 (555) 010-0199" in found


def test_no_name_email_or_phone_in_any_output(leak_cli):
    _, out, key, res = leak_cli
    assert "created a new anonymisation key" in res.stderr and str(key) in res.stderr
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert {"report.html", "actions.csv", "influence.csv", "listening_plan.csv", "accounts_at_risk.csv"} <= {
        p.name for p in files}
    maps = [p for p in files if p.parent.name == "networks" and p.suffix == ".html"]
    assert len(maps) == 20
    assert {"buying_centers.gexf", "buying_centers_kumu.xlsx", "portfolio.gexf", "portfolio_kumu.xlsx"} <= {
        p.name for p in files}  # scanned too
    assert len([p for p in files if p.suffix == ".svg"]) == 20  # the slide pictures: their words are text
    assets = _assets()
    found = {}
    for p in files:
        hits = leaks(output_text(p, assets))
        if hits:
            found[p.relative_to(out).as_posix()] = sorted(set(hits))
    assert not found, found
    # the scan reads the data of maps and report (pseudonyms visible), not only their markup
    for p in maps:
        assert re.search(r"Person [0-9a-f]{10}", output_text(p, assets)), p.name
    report = output_text(out / "report.html", assets)
    assert re.search(r"Account [0-9a-f]{10}", report) and re.search(r"Person [0-9a-f]{10}", report)


def test_outputs_keep_ordinary_words_and_pseudonyms(leak_cli):
    from cxinfluence.village.csvsafe import read_output_csv

    _, out, _, _ = leak_cli
    actions = read_output_csv(out / "actions.csv")
    text = "\n".join(actions["comment"].dropna())
    for phrase in ["great service", "the best support", "we will renew", "lake-side visit", "slow to pay"]:
        assert phrase in text, phrase
    assert re.search(r"Account [0-9a-f]{10} renewed", text)  # "Great Lakes" stood as the name: replaced
    assert "[name]" in text and "[email]" in text and "[phone]" in text and "2024-05-01" in text
    listening = read_output_csv(out / "listening_plan.csv")
    assert listening["name"].str.fullmatch(r"Person [0-9a-f]{10}").all()
    risk = read_output_csv(out / "accounts_at_risk.csv")
    assert risk["owner"].str.fullmatch(r"Manager [0-9a-f]{10}").all()
    assert risk["name"].str.fullmatch(r"Account [0-9a-f]{10}").all()
    # e-mail and phone ids have pseudonyms
    infl = read_output_csv(out / "influence.csv")
    assert infl["stakeholder_id"].str.startswith("person-").sum() >= 2
    assert (infl["account_id"].str.startswith("account-")).any()
    assert any(p.name.startswith("account-") for p in (out / "networks").iterdir())


def test_owners_not_reidentifiable_without_the_key(leak_cli):
    from cxinfluence.village.csvsafe import read_output_csv

    _, out, key, _ = leak_cli
    published = set(read_output_csv(out / "accounts_at_risk.csv")["owner"])
    assert len(published) == len(OWNERS)
    rng = np.random.default_rng(0)
    first = ["James", "Maria", "Grace", "Tomás", "Björn", "Priyanka", "Anna", "Li", "Omar", "Sofia", "Ivan", "Yuki"]
    last = ["Åkesson", "Mbeki", "Ruiz", "Raghunathan", "Smith", "Novak", "Sato", "Okafor", "Rossi", "Kim"]
    roster = sorted({f"{rng.choice(first)} {rng.choice(last)}" for _ in range(400)} | set(OWNERS))[:36]
    roster = sorted(set(roster) | set(OWNERS))
    guesses = [b"", b"cxinfluence", b"secret", b"0" * 32, os.urandom(32)]
    for name in roster:
        for v in (name, fold(name), name.lower()):
            # the old unkeyed scheme, and HMAC under guessed keys
            old = "Manager " + hashlib.sha256(f"cxinfluence:Manager:{v}".encode()).hexdigest()[:6]
            assert old not in published
            for g in guesses:
                assert pseudonym(v, "Manager", g) not in published
                assert "Manager " + hmac.new(g, v.encode(), hashlib.sha256).hexdigest()[:10] not in published
    # whoever holds the key can: the published pseudonyms are exactly the owners' under the key
    secret = load_key(key)[0]
    assert {pseudonym(o, "Manager", secret) for o in OWNERS} == published


def test_key_file_private_outside_output_and_stable(leak_cli, tmp_path):
    from cxinfluence import load_village
    from cxinfluence.village.csvsafe import read_output_csv

    path, out, key, _ = leak_cli
    assert key.is_file() and not str(key.resolve()).startswith(str(out.resolve()))
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # same key, another process and another run: the same pseudonyms, table for table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v = load_village(path, warn=False)
    a, b = anonymize_village(v, key=key), anonymize_village(v, key=key)
    for name in ("accounts", "stakeholders", "responses", "relationships", "outcomes"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    # pseudonymous ids are the same in every table: the tables still join
    people = set(a.stakeholders["stakeholder_id"])
    assert sum(i.startswith("person-") for i in people) == len(EMAILS) + len(PHONE_ID)
    assert set(a.relationships["source_id"]) | set(a.relationships["target_id"]) <= people
    assert set(a.responses["stakeholder_id"]) <= people
    assert set(a.stakeholders["account_id"]) | set(a.outcomes["account_id"]) <= set(a.accounts["account_id"])
    assert set(read_output_csv(out / "influence.csv")["stakeholder_id"]) <= people
    risk = read_output_csv(out / "accounts_at_risk.csv").set_index("account_id")
    mine = a.accounts.set_index("account_id")
    assert (risk["owner"] == mine.loc[risk.index, "owner"]).all()
    assert (risk["name"] == mine.loc[risk.index, "name"]).all()
    # another key: other pseudonyms
    c = anonymize_village(v, key=os.urandom(32))
    assert not set(c.accounts["owner"]) & set(a.accounts["owner"])
    assert not set(c.stakeholders["name"]) & set(a.stakeholders["name"])


def test_default_key_is_created_outside_the_output(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    k1, p1, created = load_key()
    assert created and p1 == tmp_path / "cfg" / "cxinfluence" / "anonymize.key"
    assert stat.S_IMODE(p1.stat().st_mode) == 0o600
    k2, p2, created2 = load_key()
    assert k1 == k2 and p1 == p2 and not created2
    with pytest.raises(AnonymizeKeyError, match="inside the output folder"):
        load_key(tmp_path / "out" / "k.key", out=tmp_path / "out")
    with pytest.raises(AnonymizeKeyError, match="at least 16"):
        load_key(b"short")
    (tmp_path / "weak.key").write_text("abc")
    with pytest.raises(AnonymizeKeyError, match="holds 3 bytes"):
        load_key(tmp_path / "weak.key")


def test_cli_refuses_key_inside_output(tmp_path, small_synthetic):
    path, _, _ = small_synthetic
    out = tmp_path / "out"
    res = subprocess.run(CLI + ["run", str(path), "--out", str(out), "--anonymize-key", str(out / "k.key"), "-q"],
                         check=False, capture_output=True, text=True)
    assert res.returncode == 1 and "inside the output folder" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()


# --------------------------------------------------------------------------- the matching rule


def test_scrubber_rule():
    s = NameScrubber({"José Núñez": "P1", "Wei Li": "P2", "Will Baker": "P3", "Anne-Marie van der Berg": "P4"},
                     {"Great Lakes Inc.": "A1", "Best": "A2"})
    assert s("JOSE NUNEZ, jose nunez, José Núñez") == "P1, P1, P1"
    assert s("Núñez and nunez and li") == "[name] and [name] and [name]"
    assert s("Lily and Lion and Li's") == "Lily and Lion and [name]'s"
    assert s("we will renew; Will agreed; WILL BAKER signed; baker street") == \
        "we will renew; [name] agreed; P3 signed; baker street"
    assert s("anne-marie van der berg, van der Berg, a delivery van") == "P4, van der [name], a delivery van"
    assert s("Great Lakes renewed, great lakes too; great service by the lake") == \
        "A1 renewed, A1 too; great service by the lake"
    assert s("Great Lakes Inc. signed") == "A1. signed"
    assert s("see https://greatlakes.example/contact or #JoseNunez") == "see https://A1.example/contact or #P1"
    # a one-word name that is a common word goes only when capitalised; other one-word names wherever they stand
    assert s("Best signed; the best support") == "A2 signed; the best support"
    assert NameScrubber({}, {"Zyxcorp": "A3"})("zyxcorp and ZYXCORP") == "A3 and A3"
    assert NameScrubber({"Will": "P9"})("Will said we will") == "P9 said we will"
    assert s("write to j.nunez@acme.example or +44 20 7946 0958, invoice 2024-05-01, 1,500 units") == \
        "write to [email] or [phone], invoice 2024-05-01, 1,500 units"
    assert s(None) is None and s("") == ""


def test_two_entities_sharing_a_name_get_no_guess():
    from cxinfluence.village.core import Village

    v = Village(pd.DataFrame({"account_id": ["A1"], "owner": ["Sam Lee"]}),
                pd.DataFrame({"stakeholder_id": ["s1", "s2"], "account_id": ["A1", "A1"],
                              "name": ["Sam Lee", "Sam Lee"]}),
                pd.DataFrame({"source_id": [], "target_id": [], "kind": []}),
                pd.DataFrame({"stakeholder_id": ["s1"], "comment": ["Sam Lee called"]}),
                pd.DataFrame({"account_id": ["A1"]}))
    a = anonymize_village(v, key=b"k" * 32)
    assert a.responses["comment"].tolist() == ["[name] called"]
    assert a.stakeholders["name"].nunique() == 2  # keyed on the id: two people, two pseudonyms
    assert v.responses["comment"].tolist() == ["Sam Lee called"]  # input untouched


def test_map_accounts_follow_pseudonymous_ids(tmp_path):
    from cxinfluence.pipeline.runner import run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(leak_village(), tmp_path / "out", anonymize_key=b"k" * 32, map_accounts=[ACCOUNT_EMAIL], quiet=True,
            schemes=["mean", "influence_weighted"], folds=2, n_boot=5)
    maps = list((tmp_path / "out" / "networks").glob("*.html"))
    assert len(maps) == 1 and maps[0].name.startswith("account-")
    assert "greatlakes" not in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_ordinary_ids_are_kept():
    from cxinfluence.village.core import Village

    ids = ["0000123456", "2024-0001-123", "S0001", "CUST-77", "HLX"]
    v = Village(pd.DataFrame({"account_id": ["A1"], "owner": ["Hannah Lindqvist"]}),
                pd.DataFrame({"stakeholder_id": ids + ["+46 70 123 45 67", "hannah.lindqvist", "HLindqvist",
                                                       "h@x.example"], "account_id": ["A1"] * 9}),
                pd.DataFrame({"source_id": [], "target_id": [], "kind": []}),
                pd.DataFrame({"stakeholder_id": ["S0001"], "comment": ["fine"]}),
                pd.DataFrame({"account_id": ["A1"]}))
    out = anonymize_village(v, key=b"k" * 32)
    got = out.stakeholders["stakeholder_id"].tolist()
    assert got[:5] == ids
    assert all(g.startswith("person-") for g in got[5:]) and len(set(got)) == 9
