"""The leadership report: one self-contained, offline HTML page.

:func:`render_report` turns a :class:`ReportContent` (everything computed by
:func:`cxinfluence.pipeline.runner.run`) into HTML. The page:

* embeds its figures as PNG data URIs and its maps as sandboxed
  ``<iframe srcdoc>`` documents, so it opens from an e-mail attachment;
* makes no network request: a Content-Security-Policy forbids every fetch,
  and scripts run only inside the embedded maps, allowed by hash;
* escapes every piece of customer-supplied text (names, titles, comments).

Every number in the prose comes from the models and tables passed in; nothing
is typed by hand.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..village.safetext import display_text
from .changes import CHANGE_TABLE_COLUMNS


@dataclass
class ReportContent:
    """What the report shows. Built by :func:`cxinfluence.pipeline.runner.run`."""

    title: str
    as_of: pd.Timestamp
    overview: pd.DataFrame  # item, value
    headlines: list = field(default_factory=list)  # plain-language sentences
    risk: pd.DataFrame | None = None  # the first RISK_SHOWN rows of risk.accounts_at_risk, amounts as text
    action_accounts: pd.DataFrame | None = None  # from briefing.action_accounts: one reason each
    risk_sentences: list = field(default_factory=list)
    equation_sentences: list = field(default_factory=list)
    comparison_sentences: list = field(default_factory=list)
    comparison: pd.DataFrame | None = None
    sensitivity: str = ""  # one paragraph: how much the influence judgements matter
    coverage_sentences: list = field(default_factory=list)
    listening: pd.DataFrame | None = None
    actions: pd.DataFrame | None = None
    action_sentences: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)  # name -> (data URI, caption)
    portfolio_svg: str | None = None
    maps: list = field(default_factory=list)  # (account_id, label, relative path, embedded HTML or None)
    account_pages: dict = field(default_factory=dict)  # account_id -> relative path of its page
    methods: list = field(default_factory=list)  # (heading, paragraph)
    caveats: list = field(default_factory=list)
    warnings: list = field(default_factory=list)  # sentences for the appendix
    anonymized: bool = False
    skipped: list = field(default_factory=list)  # one line per stage skipped or failed (RunResult.skip_lines)
    changes: list = field(default_factory=list)  # "What changed" sentences (present/changes.py); empty: no section
    changes_table: pd.DataFrame | None = None  # the changes to read first


CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1f2933;background:#f7f8fa;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{font-size:1.9em;margin:.2em 0}h2{font-size:1.35em;margin-top:2em;border-bottom:2px solid #e4e7eb;padding-bottom:.2em}
.sub{color:#52606d}.headline{font-size:1.1em}.headline li{margin:.45em 0}
table{border-collapse:collapse;width:100%;font-size:.9em;margin:.8em 0}
th,td{border-bottom:1px solid #e4e7eb;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f0f4f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}figure img{max-width:100%;height:auto}figcaption{color:#52606d;font-size:.9em}
.note{background:#fffbea;border-left:4px solid #f0b429;padding:8px 12px;margin:1em 0}
.maps iframe{width:100%;height:900px;border:1px solid #e4e7eb}
.pill{display:inline-block;background:#fde8e8;color:#9b1c1c;border-radius:10px;padding:0 8px;margin:1px;font-size:.85em}
footer{color:#7b8794;font-size:.85em;margin-top:3em}
#first-screen{border:2px solid #1f2933;padding:4px 18px 10px;margin-top:1em}
#first-screen h2{margin-top:.8em}ol.headline li{margin:.35em 0}
#appendix{border-top:4px double #9aa5b1;margin-top:3em}
@media print{body{background:#fff}main{padding:0}#appendix{break-before:page}a{color:inherit}}
"""


def esc(value) -> str:
    """Escape any value for HTML text or attributes, bidi controls removed (see :mod:`cxinfluence.safetext`).

    >>> esc('<img src=x onerror=alert(1)> & "href"')
    '&lt;img src=x onerror=alert(1)&gt; &amp; &quot;href&quot;'
    >>> esc("Ann \u202eevil")
    'Ann evil'
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(display_text(str(value)), quote=True)


def _fmt(value, kind):
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return ""
    if kind == "money":
        return f"{value:,.0f}"
    if kind == "pct":
        return f"{100 * value:.0f}%"
    if kind == "num":
        return f"{value:+.2f}"
    if kind == "int":
        return f"{int(value):d}"
    if kind == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    return str(value)


def html_table(data: pd.DataFrame, columns: dict, *, max_rows: int | None = None) -> str:
    """An escaped HTML table of ``data``.

    ``columns`` maps column name -> (header, kind) with kind in ``text, money,
    pct, num, int, date``.

    >>> html_table(pd.DataFrame({"a": ["<b>"], "x": [0.5]}), {"a": ("Name", "text"), "x": ("Share", "pct")})
    '<table><thead><tr><th>Name</th><th>Share</th></tr></thead><tbody><tr><td>&lt;b&gt;</td><td class="num">50%</td></tr></tbody></table>'
    """
    cols = [c for c in columns if c in data.columns]
    rows = data.head(max_rows) if max_rows else data
    head = "".join(f"<th>{esc(columns[c][0])}</th>" for c in cols)
    body = []
    for rec in rows[cols].itertuples(index=False):
        cells = []
        for c, v in zip(cols, rec):
            kind = columns[c][1]
            cls = ' class="num"' if kind in ("money", "pct", "num", "int") else ""
            cells.append(f"<td{cls}>{esc(_fmt(v, kind))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _list(sentences, cls="") -> str:
    if not sentences:
        return ""
    items = "".join(f"<li>{esc(s)}</li>" for s in sentences)
    return f'<ul class="{cls}">{items}</ul>'


def _figure(content, name) -> str:
    if name not in content.figures:
        return ""
    uri, caption = content.figures[name]
    if not uri.startswith("data:image/png;base64,"):
        raise ValueError(f"figure {name!r} must be a PNG data URI, got {uri[:30]!r}")
    return f'<figure><img src="{uri}" alt="{esc(caption)}"><figcaption>{esc(caption)}</figcaption></figure>'


_SCRIPT_HASH = re.compile(r"'sha256-[A-Za-z0-9+/=]+'")


def _csp(content) -> str:
    # Embedded maps inherit this page's policy (srcdoc), so their script hashes are allowed here too.
    hashes = sorted({h for m in content.maps if m[3] for h in _SCRIPT_HASH.findall(m[3])})
    script = " ".join(hashes) if hashes else "'none'"
    return (f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; img-src data:; "
            "font-src data:; connect-src 'none'; frame-src 'self' about:; base-uri 'none'; form-action 'none'")


#: accounts at risk listed in the report (the highest revenue at risk first)
RISK_SHOWN = 15

RISK_COLUMNS = {
    "account_id": ("Account", "text"),
    "name": ("Name", "text"),
    "owner": ("Owner", "text"),
    "annual_revenue_text": ("Revenue", "text"),
    "sentiment": ("Weighted sentiment", "num"),
    "p_renew": ("Renewal chance", "pct"),
    "revenue_at_risk_text": ("Revenue at risk", "text"),
    "reasons": ("Warning signs", "text"),
}

ACTION_ACCOUNT_COLUMNS = {
    "account_id": ("Account", "text"),
    "name": ("Name", "text"),
    "revenue_at_risk_text": ("Revenue at risk", "text"),
    "p_renew": ("Renewal chance", "pct"),
    "why": ("Why this account", "text"),
}

LISTENING_COLUMNS = {
    "account_id": ("Account", "text"),
    "rank": ("#", "int"),
    "name": ("Who", "text"),
    "title": ("Title", "text"),
    "role": ("Role", "text"),
    "influence": ("Influence", "pct"),
    "reason": ("Why now", "text"),
    "heard_influence_after": ("Heard influence after", "pct"),
}

ACTION_COLUMNS = {
    "level": ("Priority", "text"),
    "level_reason": ("Why", "text"),
    "account_id": ("Account", "text"),
    "themes": ("Topic", "text"),
    "owning_group": ("Owning group", "text"),
    "comment": ("What they said", "text"),
}

WORKING_COLUMNS = {
    "date": ("Date", "date"),
    "account_id": ("Account", "text"),
    "role": ("Role", "text"),
    "themes": ("Topic", "text"),
    "comment": ("What they said", "text"),
}

LISTENING_MAIN_COLUMNS = {k: LISTENING_COLUMNS[k] for k in ("account_id", "name", "title", "role", "reason")}


def _readable(df: pd.DataFrame, columns) -> pd.DataFrame:
    """``;``-joined lists shown as ", "-separated words."""
    out = df.copy()
    for c in columns:
        if c in out:
            out[c] = out[c].map(lambda v: ", ".join(x for x in str(v).split(";") if x) if isinstance(v, str) else v)
    return out


def _linked_table(data: pd.DataFrame, columns: dict, pages: dict) -> str:
    """:func:`html_table` with each account id linked to its account page (when it has one)."""
    table = html_table(data, columns)
    for account_id, rel in pages.items():
        cell = f"<td>{esc(account_id)}</td>"
        table = table.replace(cell, f"<td><a href='{esc(rel)}'>{esc(account_id)}</a></td>")
    return table


def render_report(content: ReportContent) -> str:
    """Render the report as one self-contained HTML string.

    Order (issue 16): the first screen (at most five headlines, the accounts
    needing action with one reason each), then the evidence, then an appendix
    for analysts (scheme comparison, the full risk table, data, methods,
    warnings, caveats). Everything before ``<section id="appendix">`` is the
    main body a leader reads.
    """
    pages = content.account_pages
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f'<meta http-equiv="Content-Security-Policy" content="{_csp(content)}">',
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{esc(content.title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{esc(content.title)}</h1>",
        f"<p class='sub'>As of {esc(_fmt(content.as_of, 'date'))}."
        + (" Names are pseudonymised for wider sharing: names, e-mail addresses and phone numbers the data "
           "holds were removed from the text, but free text can still point to a person; share it inside the "
           "company, not publicly." if content.anonymized else "") + "</p>",
        "<section id='first-screen'><h2>In five minutes</h2>",
        "<ol class='headline'>" + "".join(f"<li>{esc(h)}</li>" for h in content.headlines) + "</ol>",
    ]
    if content.action_accounts is not None and len(content.action_accounts):
        parts += ["<h2>Accounts needing action this quarter</h2>",
                  "<p>The accounts with most revenue at risk, each with the one reason that sets it apart from the "
                  "rest of the portfolio." + (" Click an account for its page." if pages else "") + "</p>",
                  _linked_table(content.action_accounts, ACTION_ACCOUNT_COLUMNS, pages)]
    parts.append("</section>")
    if content.skipped:  # a leader must know why a finding is missing
        parts.append("<h2>What was skipped and why</h2><div class='note'>" + _list(content.skipped) + "</div>")
    parts += ["<h2>Where the money at risk sits</h2>", _list(content.risk_sentences), _figure(content, "money")]
    parts += ["<h2>What each role's sentiment is worth</h2>", _figure(content, "forest"),
              _figure(content, "renewal_curve")]
    parts += ["<h2>Coverage gaps and who to talk to next</h2>", _list(content.coverage_sentences),
              _figure(content, "coverage")]
    if content.listening is not None and len(content.listening):
        parts += ["<p>Who to ask first (the six most useful conversations; the full plan is in "
                  "listening_plan.csv):</p>", _linked_table(content.listening.head(6), LISTENING_MAIN_COLUMNS, pages)]
    parts += ["<h2>What customers are telling the account teams</h2>", _list(content.action_sentences)]
    if content.actions is not None and len(content.actions):
        acts, words = content.actions, ("themes", "owning_group")  # lists in words only for the rows shown
        problems = acts[acts["kind"] != "praise"] if "kind" in acts else acts
        parts.append(_linked_table(_readable(problems.head(8), words), ACTION_COLUMNS, pages))
        if "kind" in acts and (acts["kind"] == "praise").any():
            praise = acts[acts["kind"] == "praise"].sort_values("influence", ascending=False, kind="stable")
            parts += ["<h3>What is working</h3>",
                      "<p>Praise from the most influential people: pass it on to the teams that earned it.</p>",
                      _linked_table(_readable(praise.head(3), words), WORKING_COLUMNS, pages)]
    if content.changes:
        parts += ["<h2 id='what-changed'>What changed since the last look</h2>", _list(content.changes)]
        if content.changes_table is not None and len(content.changes_table):
            parts.append(_linked_table(content.changes_table, CHANGE_TABLE_COLUMNS, pages))
    if content.maps or pages:
        parts.append("<h2>Account pages and maps</h2><div class='maps'>")
        # ids only (the names are in the tables above and in each link's tooltip): 25 accounts stay one line
        links = ", ".join(
            f"<a href='{esc(pages.get(account_id, rel))}' title='{esc(label)}'>{esc(account_id)}</a>"
            for account_id, label, rel, _ in content.maps)
        parts.append(f"<p>One page per account, with its buying-center map (files beside this report): "
                     f"{links}. The maps alone are in networks/.</p></div>")
    parts.append("<section id='appendix'><h2>Appendix for analysts</h2>")
    if content.equation_sentences:
        parts += ["<h3>The buying decision equation, role by role</h3>", _list(content.equation_sentences)]
    parts += ["<h3>Does weighting matter on this data?</h3>", _list(content.comparison_sentences),
              _figure(content, "schemes"), _figure(content, "scatter")]
    if content.sensitivity:
        parts += ["<h3>How much the influence judgements matter</h3>", f"<p>{esc(content.sensitivity)}</p>"]
    if content.risk is not None and len(content.risk):
        parts += ["<h3>Accounts at risk, with every warning sign</h3>",
                  "<p>Ranked by revenue at risk: annual revenue times the model's chance that the account does "
                  "<em>not</em> renew, given the sentiment of the people who hold influence and veto power.</p>",
                  _linked_table(content.risk.head(RISK_SHOWN), RISK_COLUMNS, pages)]
    parts.append("<h3>Data</h3>")
    overview = content.overview.assign(value=content.overview["value"].astype(str).str.replace(
        "reports_to", "reports to", regex=False))
    parts.append(html_table(overview, {"item": ("Data", "text"), "value": ("", "text")}))
    parts += [f"<h3>{esc(h)}</h3><p>{esc(p)}</p>" for h, p in content.methods]
    if content.warnings:
        parts.append("<h3>Warnings raised during the run</h3>" + _list(content.warnings))
    if content.caveats:
        parts.append("<div class='note'><strong>Caveats</strong>" + _list(content.caveats) + "</div>")
    parts.append("</section>")
    parts.append("<footer>Made with cxinfluence. Every number in this report is computed from the data; "
                 "see models.csv and account_sentiment.csv for the full tables.</footer></main></body></html>")
    return "\n".join(p for p in parts if p)
