"""Map / account page file names: one file per exact account id, linked from the report to its own page."""

import html
import re
import warnings
from dataclasses import replace
from html.parser import HTMLParser

import pandas as pd

from cxinfluence.village.filenames import account_file_name, account_file_names

IDS = ["A/1", "A_1", "a 1", "a_1", "A1", "a1"]


def test_names_unique_case_insensitively_and_portable():
    names = account_file_names(IDS + ["../../etc/passwd", "CON", ".hidden", "é", "e", ""])
    assert len(names) == len(IDS) + 6
    assert len({n.lower() for n in names.values()}) == len(names)
    for n in names.values():
        assert re.fullmatch(r"[a-z0-9-]+-[0-9a-f]{10}\.html", n), n
    assert account_file_name("../../etc/passwd").startswith("etc-passwd-")
    # stable: the same id always gets the same name
    assert account_file_names(["A/1"]) == {"A/1": account_file_name("A/1")}


def test_clashing_hashes_are_lengthened(monkeypatch):
    import cxinfluence.village.filenames as fn

    monkeypatch.setattr(fn, "HASH_DIGITS", 1)  # force clashes: one hex digit for 40 ids
    ids = [f"x{i}" for i in range(40)] + [f"X{i}" for i in range(40)]
    names = fn.account_file_names(ids)
    assert len({n.lower() for n in names.values()}) == len(ids)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self._href, self._text = [], None, []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text)))
            self._href = None


def _village_with_ids(ids):
    from cxinfluence.village.synth import make_village

    v, _ = make_village(len(ids), seed=3)
    old = v.accounts["account_id"].tolist()
    mapping = dict(zip(old, ids))
    def relabel(df):
        return df.assign(account_id=df["account_id"].map(mapping).astype(df["account_id"].dtype))

    return replace(v, accounts=relabel(v.accounts), stakeholders=relabel(v.stakeholders),
                   outcomes=relabel(v.outcomes)), mapping


def test_each_account_gets_its_own_map_and_link(tmp_path):
    from cxinfluence.pipeline.runner import run

    v, _ = _village_with_ids(IDS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(v, tmp_path / "out", maps=-1, quiet=True, folds=2, n_boot=5)
    files = sorted((tmp_path / "out" / "networks").glob("*.html"))
    assert len(files) == len(IDS)
    assert len({f.name.lower() for f in files}) == len(IDS)

    parser = _Links()
    parser.feed((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    # the report links each account to its own page (which embeds its map), by the exact id
    page_links = [(h, t) for h, t in parser.links if h.startswith("accounts/") and t in IDS]
    assert len({h for h, _ in page_links}) == len(IDS)
    names = v.accounts.set_index("account_id")["name"]
    stakeholders = v.stakeholders.groupby("account_id")["stakeholder_id"].apply(set)
    linked = set()
    for href, account_id in page_links:
        page = (tmp_path / "out" / href).read_text(encoding="utf-8")
        title = html.unescape(re.search(r"<title>(.*?)</title>", page, re.DOTALL).group(1))
        assert f"Account {account_id} ({names[account_id]})" in title, (href, title)
        linked.add(account_id)
    assert linked == set(IDS)
    # each map file draws its own account's people, and nobody else's
    for f in files:
        page = f.read_text(encoding="utf-8")
        title = html.unescape(re.search(r"<title>(.*?)</title>", page, re.DOTALL).group(1))
        account_id = next(a for a in IDS if f"Buying center: {a} ({names[a]})" in title)
        drawn = set(re.findall(r"\bS\d{3,}\b", page))
        assert drawn and drawn <= stakeholders[account_id], (account_id, drawn - stakeholders[account_id])
    map_links = page_links
    # a page may be linked from several tables, but one page is always the same account, and vice versa
    pairs = pd.DataFrame(map_links, columns=["href", "id"])
    assert (pairs.groupby("href")["id"].nunique() == 1).all() and (pairs.groupby("id")["href"].nunique() == 1).all()
