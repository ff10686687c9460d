"""One self-contained page per selected account, linked from the report (issue 16).

:func:`account_page` renders what an account team needs on one page: why the
account needs attention, its buying-center map, its sentiment under every
scheme with intervals, sentiment by role and over time, who we hear and whom
to ask next, and the latest comments with their routing and follow-through.
:func:`write_account_pages` writes one per mapped account of a run into
``accounts/``, named by the caller's ``name`` function (the pipeline passes
its file name (village/filenames), so map and page names always agree).

Like the report, a page makes no network request (CSP ``default-src 'none'``;
the map runs in a sandboxed ``srcdoc`` frame whose scripts are allowed by
hash; the chart is a PNG ``data:`` URI) and shows every customer string as
text with bidi controls removed (:func:`cxinfluence.present.report.esc`).
"""

from __future__ import annotations

import html
import uuid
from pathlib import Path

import pandas as pd

from .briefing import action_accounts, money
from .pagedata import by_account, mapped, sub_village, who_moved_in, window_feedback
from .pagefigures import InterestCharts, TrendCharts, interest_png, trend_figure, trend_rows
from .plots import drawn_marks, figure_to_data_uri
from .report import _SCRIPT_HASH, CSS, _fmt, esc, html_table
from .workers import has_kept_worker, in_two, shared_with_kept_worker, use_worker

__all__ = ["account_page", "write_account_pages"]

_SCHEMES = (("mean", "Plain mean"), ("role_weighted", "Role-weighted"), ("influence_weighted", "Influence-weighted"),
            ("veto_floor", "Veto floor"), ("nested", "Nested (person, role, account)"),
            ("shrunk", "Shrunk towards the portfolio"), ("nps", "NPS (-100 to +100)"))
_ROLE_ORDER = ("decider", "buyer", "influencer", "gatekeeper", "user")

#: fewer pages than this are written in this process: a worker's start (imports) costs about as much as a few pages
PARALLEL_MIN_PAGES = 8
PAGE_CSS = CSS + """
.back{font-size:.9em}.facts{display:flex;flex-wrap:wrap;gap:8px 28px;margin:.6em 0}
.facts div{min-width:140px}.facts b{display:block;font-size:1.25em}
iframe.map{width:100%;height:900px;border:1px solid #e4e7eb}
"""


def _csp(map_page: str | None) -> str:
    hashes = sorted(set(_SCRIPT_HASH.findall(map_page))) if map_page else []
    script = " ".join(hashes) if hashes else "'none'"
    return (f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; img-src data:; "
            "font-src data:; connect-src 'none'; frame-src 'self' about:; base-uri 'none'; form-action 'none'")


def _row(table, account_id):
    if table is None or not len(table):
        return None
    hit = table[table["account_id"].astype(str) == str(account_id)]
    return hit.iloc[-1] if len(hit) else None


def _scores_table(snapshot_row, snapshot, medians=None):
    rows = []
    for col, label in _SCHEMES:
        if snapshot_row is None or col not in snapshot_row or pd.isna(snapshot_row[col]):
            continue
        lo, hi = snapshot_row.get(f"{col}_ci_low"), snapshot_row.get(f"{col}_ci_high")
        digits = 0 if col == "nps" else 2
        interval = (f"{lo:+.{digits}f} to {hi:+.{digits}f}" if pd.notna(lo) and pd.notna(hi) else "not available")
        rows.append({"scheme": label, "score": f"{snapshot_row[col]:+.{digits}f}", "interval": interval,
                     "portfolio": f"{medians[col] if medians is not None else snapshot[col].median():+.{digits}f}"})
    return pd.DataFrame(rows, columns=["scheme", "score", "interval", "portfolio"])


def _roles_table(people):
    if people is None or not len(people):
        return pd.DataFrame()
    g = people.assign(heard=people["sentiment"].notna()).groupby("role", sort=False)
    out = pd.DataFrame({"people": g.size(), "heard": g["heard"].sum().astype(int),
                        "influence": g["influence"].sum(), "sentiment": g["sentiment"].mean()})
    order = [r for r in _ROLE_ORDER if r in out.index] + [r for r in out.index if r not in _ROLE_ORDER]
    out = out.loc[order].reset_index()
    out["sentiment"] = out["sentiment"].map(lambda v: "not heard" if pd.isna(v) else f"{v:+.2f}")
    return out


def _trend_figure(history, account_id, figure_cache=None):
    """PNG data URI of the account's sentiment over time, or None with fewer than two dates.

    ``history`` may hold other accounts too. ``figure_cache`` (a dict shared by the pages of a run) keeps one chart
    per set of dates, its data swapped from page to page (:class:`cxinfluence.present.pagefigures.TrendCharts`:
    the same bytes as a new chart per page).
    """
    if figure_cache is not None:
        if "trend" not in figure_cache:
            figure_cache["trend"] = TrendCharts()
        return figure_cache["trend"].png(history, account_id)
    h = trend_rows(history, account_id)
    if h is None:
        return None
    fig = trend_figure(h)
    return figure_to_data_uri(fig) if drawn_marks(fig) else None


def _changes(moved, names):
    """Sentences and a table of who joined, left, went quiet and moved most (from ``who_moved``)."""
    if moved is None or not len(moved):
        return [], pd.DataFrame()
    m = moved.assign(who=moved["stakeholder_id"].astype(str).map(names).fillna(moved["stakeholder_id"].astype(str)))
    since = _fmt(m["from_date"].iloc[0], "date")

    def listed(rows):
        return ", ".join(f"{r.who} ({r.role})" for r in rows.itertuples())

    out = []
    for status, verb in (("joined", "joined"), ("left", "left")):
        rows = m[m["status"] == status]
        if len(rows):
            out.append(f"{len(rows)} {'person' if len(rows) == 1 else 'people'} {verb} since {since}: {listed(rows)}.")
    quiet = m[(m["status"] == "gone quiet") & m["veto"].fillna(False).astype(bool)]
    if len(quiet):
        out.append(f"Veto holders who went quiet (heard before {since}, not since): {listed(quiet)}.")
    movers = m[m["status"] == "moved"].head(5)
    table = movers.assign(change=movers["change"].map(lambda v: f"{v:+.2f}"),
                          sentiment_from=movers["sentiment_from"].map(lambda v: f"{v:+.2f}"),
                          sentiment_to=movers["sentiment_to"].map(lambda v: f"{v:+.2f}"))
    return out, table


def interests(responses: pd.DataFrame, comments: pd.DataFrame | None = None, *, role="role", max_themes=6):
    """What each party cares about: two role matrices (seed 001's interrelationship view, as a matrix).

    Parameters
    ----------
    responses : DataFrame
        The account's responses in the window with ``role``, ``journey_stage`` and ``sentiment``
        (e.g. :func:`cxinfluence.village.scale.response_sentiment`).
    comments : DataFrame, optional
        Its comments with ``role``, ``themes`` (";"-joined) and ``comment_sentiment``
        (:func:`cxinfluence.comments.actions.comment_table`).

    Returns
    -------
    (DataFrame, DataFrame)
        ``stages``: mean sentiment per role (rows) and journey stage (columns), text ``+0.25 (n=4)``;
        ``themes``: per role and the ``max_themes`` most raised themes, ``n comments, share negative``.

    Examples
    --------
    >>> r = pd.DataFrame({"role": ["user", "user", "decider"], "journey_stage": ["renewal", "renewal", "decision"],
    ...                   "sentiment": [0.5, -0.1, -0.4]})
    >>> c = pd.DataFrame({"role": ["user", "decider", "decider"], "themes": ["delivery", "price;delivery", "price"],
    ...                   "comment_sentiment": [-0.5, -0.6, 0.4]})
    >>> stages, themes = interests(r, c)
    >>> stages.to_dict("records")
    [{'role': 'decider', 'decision': '-0.40 (n=1)', 'renewal': ''}, {'role': 'user', 'decision': '', 'renewal': '+0.20 (n=2)'}]
    >>> themes.to_dict("records")
    [{'role': 'decider', 'delivery': '1 (1 negative)', 'price': '2 (1 negative)'}, {'role': 'user', 'delivery': '1 (1 negative)', 'price': ''}]
    """
    stages = pd.DataFrame()
    if responses is not None and len(responses) and {"journey_stage", "sentiment"} <= set(responses.columns):
        r = responses.dropna(subset=["sentiment", "journey_stage"])
        if len(r):
            g = r.groupby([role, "journey_stage"], observed=True)["sentiment"].agg(["mean", "size"])
            cells = (g["mean"].map(lambda v: f"{v:+.2f}") + " (n=" + g["size"].astype(str) + ")").unstack(fill_value="")
            stages = cells.reset_index().rename_axis(columns=None)
    themes = pd.DataFrame()
    if comments is not None and len(comments) and "themes" in comments:
        c = comments.assign(theme=comments["themes"].fillna("").astype(str).str.split(";")).explode("theme")
        c = c[c["theme"] != ""]
        if len(c):
            top = c["theme"].value_counts().head(max_themes).index
            c = c[c["theme"].isin(top)].assign(neg=lambda d: d["comment_sentiment"] <= -0.05)
            g = c.groupby([role, "theme"], observed=True)["neg"].agg(["size", "sum"])
            cells = (g["size"].astype(str) + " (" + g["sum"].astype(int).astype(str) + " negative)").unstack(
                fill_value="")
            themes = cells.reindex(columns=list(top)).fillna("").reset_index().rename_axis(columns=None)
    return stages, themes


def account_page(account_id, *, account=None, risk=None, why=None, snapshot=None, history=None, people=None,
                 coverage=None, listening=None, actions=None, map_page=None, map_href=None,
                 as_of=None, currency=None, window_days=365, report_href="../report.html", moved=None,
                 names=None, interest=None, interest_map=None, figure_cache=None, portfolio_median=None) -> str:
    """The HTML page of one account (see the module docstring).

    Parameters
    ----------
    account_id : str
    account : Series, optional
        The account's row of ``accounts`` (name, owner, segment, annual_revenue).
    risk : Series, optional
        Its row of :func:`cxinfluence.models.risk.accounts_at_risk`.
    why : str, optional
        The one reason it needs action (:func:`cxinfluence.present.briefing.action_accounts`).
    snapshot, history : DataFrame, optional
        Account sentiment at the as-of date (every account: the portfolio
        median is shown beside the account) and at the earlier outcome dates.
    people : DataFrame, optional
        The account's active stakeholders with ``role, sentiment, influence``.
    coverage, listening, actions : DataFrame, optional
        Rows of the coverage table, listening plan and action list (any
        accounts; this account's rows are picked).
    map_page : str, optional
        The account's map (:func:`cxinfluence.present.maps.network_map`), embedded.
    map_href, report_href : str, optional
        Relative links to the map file and the report.
    moved : DataFrame, optional
        This account's rows of :func:`cxinfluence.sentiment.breakdowns.who_moved` (``level="stakeholder"``):
        who joined, left, went quiet or moved since the previous period.
    names : dict, optional
        Stakeholder id -> name, for ``moved``.
    interest : tuple of DataFrame, optional
        :func:`interests` of the account: what each role cares about.
    interest_map : str, optional
        PNG ``data:`` URI of :func:`cxinfluence.present.interests.interest_digraph` (who cares about what).
    figure_cache : dict, optional
        Shared by the pages of one run (:func:`write_account_pages`): layout work their charts have in common is
        done once (the pages are the same as without it).
    portfolio_median : dict, optional
        Each scheme's median over the portfolio (default: ``snapshot``'s, which then holds every account); the pages
        of a run compute it once.

    Returns
    -------
    str
        A complete HTML document.

    Examples
    --------
    >>> page = account_page("A1", account=pd.Series({"name": "<b>Acme</b> \\u202eoc", "annual_revenue": 2e6}))
    >>> "&lt;b&gt;Acme&lt;/b&gt; oc" in page, "<b>Acme" in page, "\\u202e" in page
    (True, False, False)
    """
    name = account.get("name") if account is not None else None
    title = f"{account_id}" + (f" ({name})" if name is not None and pd.notna(name) else "")
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             f'<meta http-equiv="Content-Security-Policy" content="{_csp(map_page)}">',
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             f"<title>{esc('Account ' + title)}</title><style>{PAGE_CSS}</style></head><body><main>",
             f"<p class='back'><a href='{esc(report_href)}'>\u2190 Back to the report</a></p>",
             f"<h1>{esc(title)}</h1>"]
    parts += _facts_section(account, risk, as_of, currency)
    parts += _why_section(why, risk)
    parts += _map_section(title, map_page, map_href)
    parts += _scores_section(account_id, snapshot, history, people, window_days, figure_cache, portfolio_median)
    parts += _interest_section(interest, interest_map)
    parts += _changes_section(moved, names)
    parts += _listening_section(account_id, coverage, listening, window_days)
    parts += _comments_section(account_id, actions)
    parts.append("<footer>Made with cxinfluence; every number is computed from the data.</footer>"
                 "</main></body></html>")
    return "\n".join(parts)


def _facts_section(account, risk, as_of, currency) -> list:
    """The key facts: as-of date, owner, segment, revenue, chance of renewing, revenue at risk."""
    facts = []
    if as_of is not None:
        facts.append(("As of", _fmt(as_of, "date")))
    if account is not None:
        for key, label in (("owner", "Account owner"), ("segment", "Segment")):
            if key in account and pd.notna(account[key]):
                facts.append((label, account[key]))
        if "annual_revenue" in account and pd.notna(account["annual_revenue"]):
            facts.append(("Annual revenue", money(account["annual_revenue"], currency)))
    if risk is not None:
        if pd.notna(risk.get("p_renew")):
            facts.append(("Chance of renewing", f"{risk['p_renew']:.0%} ({risk['p_renew_low']:.0%} to "
                                                f"{risk['p_renew_high']:.0%})" if pd.notna(risk.get("p_renew_low"))
                          else f"{risk['p_renew']:.0%}"))
        if pd.notna(risk.get("revenue_at_risk")):
            facts.append(("Revenue at risk", money(risk["revenue_at_risk"], currency)))
    return ["<div class='facts'>" + "".join(f"<div><b>{esc(v)}</b>{esc(k)}</div>" for k, v in facts) + "</div>"]


def _why_section(why, risk) -> list:
    if not (why or (risk is not None and risk.get("reasons"))):
        return []
    parts = ["<h2>Why it needs attention</h2><ul>"]
    if why:
        parts.append(f"<li><strong>{esc(why)}</strong></li>")
    if risk is not None and isinstance(risk.get("reasons"), str) and risk["reasons"]:
        parts.append(f"<li>All warning signs: {esc(risk['reasons'].replace('; ', ', '))}.</li>")
    parts.append("</ul>")
    return parts


def _map_section(title, map_page, map_href) -> list:
    parts = ["<h2>Who decides: the buying center</h2>"]
    if map_page:
        parts.append(f"<iframe class='map' sandbox='allow-scripts' title='{esc('Buying-center map of ' + title)}' "
                     f"srcdoc=\"{html.escape(map_page, quote=True)}\"></iframe>")
    if map_href:
        parts.append(f"<p><a href='{esc(map_href)}'>Open the map on its own page</a> (for full screen and "
                     "downloads).</p>")
    return parts


def _scores_section(account_id, snapshot, history, people, window_days, figure_cache=None, medians=None) -> list:
    """Sentiment by scheme beside the portfolio median, by role, and over time."""
    parts = ["<h2>How the account feels, by scoring scheme</h2>"]
    srow = _row(snapshot, account_id)
    scores = _scores_table(srow, snapshot, medians) if snapshot is not None else pd.DataFrame()
    if len(scores):
        parts.append("<p>Sentiment on a -1 to +1 scale under each way of combining the people's scores, with 95% "
                     "intervals, beside the portfolio's median.</p>")
        parts.append(html_table(scores, {"scheme": ("Scheme", "text"), "score": ("This account", "text"),
                                         "interval": ("95% interval", "text"),
                                         "portfolio": ("Portfolio median", "text")}))
    else:
        parts.append(f"<p>Nobody in this account was heard in the {window_days} days before the as-of date.</p>")
    roles = _roles_table(people)
    if len(roles):
        parts.append("<h3>By role</h3>")
        parts.append(html_table(roles, {"role": ("Role", "text"), "people": ("People", "int"),
                                        "heard": ("Heard", "int"), "influence": ("Share of influence", "pct"),
                                        "sentiment": ("Mean sentiment", "text")}))
    trend = _trend_figure(history, account_id, figure_cache) if history is not None and len(history) else None
    if trend:
        parts.append(f"<figure><img src='{trend}' alt='Sentiment of this account over time'><figcaption>"
                     "Influence-weighted (solid, with its 95% interval) and plain mean (dashed) sentiment at each "
                     "outcome date.</figcaption></figure>")
    return parts


def _interest_section(interest, interest_map) -> list:
    stages, themes = interest if interest is not None else (pd.DataFrame(), pd.DataFrame())
    if not (len(stages) or len(themes) or interest_map):
        return []
    parts = ["<h2>What each party cares about</h2>"]
    if interest_map:
        parts.append(f"<figure><img src='{interest_map}' alt='Which topics each role raised, with their tone'>"
                     "<figcaption>Each arrow: a role raised a topic in its comments (width = how many comments; "
                     "red negative, blue positive, dashed mostly negative).</figcaption></figure>")
    if len(themes):
        parts.append("<p>Topics each role raised in its comments (the account's most raised topics; how many "
                     "comments, how many negative):</p>")
        parts.append(html_table(themes, {c: (c if c != "role" else "Role", "text") for c in themes.columns}))
    if len(stages):
        parts.append("<p>Mean sentiment of each role's responses at each journey stage (-1 to +1; n = "
                     "responses):</p>")
        parts.append(html_table(stages, {c: (c if c != "role" else "Role", "text") for c in stages.columns}))
    return parts


def _changes_section(moved, names) -> list:
    sentences, movers = _changes(moved, names or {})
    if not (sentences or len(movers)):
        return []
    since = _fmt(moved["from_date"].iloc[0], "date")
    parts = [f"<h2>What changed since {esc(since)}</h2>"]
    if sentences:
        parts.append("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in sentences) + "</ul>")
    if len(movers):
        parts.append("<p>Whose sentiment moved the account most (change times their influence):</p>")
        parts.append(html_table(movers, {"who": ("Who", "text"), "role": ("Role", "text"),
                                         "sentiment_from": ("Before", "text"), "sentiment_to": ("Now", "text"),
                                         "change": ("Change", "text"), "influence": ("Influence", "pct")}))
    return parts


def _listening_section(account_id, coverage, listening, window_days) -> list:
    parts = ["<h2>Whom we hear, and whom to ask next</h2>"]
    crow = _row(coverage, account_id)
    if crow is not None:
        said = [f"We heard from people holding {crow['heard_influence']:.0%} of the account's influence in the last "
                f"{window_days} days." if pd.notna(crow.get("heard_influence")) else
                "Nobody's influence could be measured."]
        if pd.notna(crow.get("unheard_veto")) and crow["unheard_veto"] > 0:
            said.append(f"{int(crow['unheard_veto'])} veto holder(s) not heard from in that time.")
        if bool(crow.get("key_influencer_departed")) is True:
            said.append("A key influencer has left the account.")
        parts.append("<ul>" + "".join(f"<li>{esc(s)}</li>" for s in said) + "</ul>")
    if listening is not None and len(listening):
        plan = listening[listening["account_id"].astype(str) == str(account_id)].sort_values("rank")
        if len(plan):
            parts.append(html_table(plan, {"rank": ("#", "int"), "name": ("Who", "text"), "title": ("Title", "text"),
                                           "role": ("Role", "text"), "reason": ("Why now", "text")}, max_rows=10))
    return parts


def _comments_section(account_id, actions) -> list:
    parts = ["<h2>Latest comments and who acts on them</h2>"]
    mine = (actions[actions["account_id"].astype(str) == str(account_id)]
            if actions is not None and len(actions) else pd.DataFrame())
    if len(mine):
        mine = mine.assign(**{c: mine[c].map(lambda v: ", ".join(x for x in str(v).split(";") if x)
                                             if isinstance(v, str) else v)
                              for c in ("themes", "owning_group") if c in mine})
        cols = {"date": ("Date", "date"), "level": ("Priority", "text"), "role": ("Role", "text"),
                "themes": ("Topic", "text"), "owning_group": ("Owning group", "text"),
                "status": ("Follow-through", "text"), "comment": ("What they said", "text")}
        parts.append(html_table(mine, cols, max_rows=12))
    else:
        parts.append("<p>No informal comments in the recent window.</p>")
    return parts


def write_account_pages(village, result, map_entries, folder, *, name, currency=None, window_days=365,
                        workers=None, alongside=None) -> dict:
    """Write ``accounts/<name(account_id)>.html`` for every mapped account of a run.

    Parameters
    ----------
    village : Village
    result : cxinfluence.pipeline.runner.RunResult
    map_entries : list
        ``(account_id, label, relative map path, embedded page or None)`` from the pipeline.
    folder : Path
        The run's output folder (``accounts/`` is created in it).
    name : callable
        Account id -> file stem (the same as its map's, village/filenames).
    workers : int, optional
        Processes writing pages (this one included); default 2 when there are at least
        :data:`PARALLEL_MIN_PAGES` pages and a core is idle beside this process
        (:func:`cxinfluence.present.workers.use_worker`), else 1. The second half of the pages is then written
        by a spawned worker from the tables cut to its accounts: the same bytes.
    alongside : callable, optional
        More work for this process while the kept worker (:func:`cxinfluence.present.workers.kept_worker`) writes
        the pages (the run's portfolio graphs); it is always called once. The worker is fed :data:`PAGE_CHUNK`
        pages at a time and this process writes chunks from the back once ``alongside`` returns
        (:func:`cxinfluence.present.workers.shared_with_kept_worker`). Without a kept worker the pages are shared as
        above, then ``alongside`` runs.

    Returns
    -------
    dict
        ``account_id -> "accounts/<file>.html"``.

    Notes
    -----
    The portfolio-wide work is done once for all pages: the run's tables are cut to the mapped accounts and split
    by account once (a worker is sent its accounts' rows only), the window's comments and responses are read for
    those accounts only, and the trend charts with the same dates share one layout pass
    (:func:`cxinfluence.present.plotbase.figure_to_data_uri`'s ``bbox_cache``). The pages are byte for byte those
    of one :func:`account_page` call per account with the whole tables (tests/test_account_pages_same.py), on one
    process or two.
    """
    if not map_entries:
        if alongside is not None:
            alongside()
        return {}
    folder = Path(folder)
    (folder / "accounts").mkdir(exist_ok=True)
    data = _page_data(village, result, [str(e[0]) for e in map_entries], currency=currency, window_days=window_days)
    jobs = [(str(a), rel, f"accounts/{name(str(a))}.html") for a, _label, rel, _embedded in map_entries]
    if workers is None:
        workers = 2 if use_worker(len(jobs), PARALLEL_MIN_PAGES) else 1
    options = dict(as_of=result.as_of, currency=currency, window_days=window_days)
    if alongside is not None and workers > 1 and has_kept_worker():
        _pages_beside(data, jobs, folder, options, alongside)
    else:
        in_two(jobs, workers, lambda part: _write_pages(data, part, folder, options),
               lambda part: (_write_pages, _cut(data, [a for a, _, _ in part]), part, folder, options))
        if alongside is not None:
            alongside()
    return {account_id: rel_page for account_id, _rel, rel_page in jobs}


#: pages handed to the kept worker at a time beside other work (:func:`write_account_pages`' ``alongside``): small
#: enough that the two processes end close together; the demo's 25 pages so take as long as in two halves (2.2 s,
#: 2.5-3.0 s one page at a time)
PAGE_CHUNK = 4


#: the figure cache the chunks of one :func:`_pages_beside` call share in a process: (their token, the cache)
_CHUNKS = [None, {}]


def _chunk_figures(token) -> dict:
    if token is None:
        return {}
    if _CHUNKS[0] != token:
        _CHUNKS[:] = [token, {}]
    return _CHUNKS[1]


def _pages_beside(data, jobs, folder, options, alongside) -> None:
    """The pages of ``jobs`` shared with the kept worker while this process runs ``alongside()``
    (:func:`~cxinfluence.present.workers.shared_with_kept_worker`, :data:`PAGE_CHUNK` pages a chunk); the chunks
    in each process share their figures."""
    options = {**options, "chunks": uuid.uuid4().hex}
    try:
        shared_with_kept_worker(
            jobs, lambda part: _write_pages(data, part, folder, options),
            lambda part: (_write_pages, _cut(data, [a for a, _, _ in part]), part, folder, options),
            chunk=PAGE_CHUNK, alongside=alongside)
    finally:
        _CHUNKS[:] = [None, {}]  # this process's figures go (the worker's go with the next call or the worker)


def _page_data(village, result, ids, *, currency, window_days) -> dict:
    """What the pages of the accounts ``ids`` show, cut from the run's tables once for all of them: a portfolio
    has millions of rows, the pages a few dozen accounts. The snapshot stays whole (each page shows the portfolio's
    median beside the account); ``names`` holds the mapped accounts' people, the only names a page shows."""
    t = result.tables
    risk, snap = t.get("accounts_at_risk"), t.get("snapshot")
    why = {}
    if risk is not None and len(risk):
        now = action_accounts(risk, currency=currency, accounts=ids)
        why = dict(zip(now["account_id"].astype(str), now["why"]))
    accounts = mapped(village.accounts, ids)  # every row of each mapped id, as the whole table would give
    infl = mapped(t.get("influence"), ids)
    people = mapped(t.get("stakeholder_sentiment"), ids)
    if people is not None and infl is not None:
        people = people.merge(infl[["stakeholder_id", "influence"]], on="stakeholder_id", how="left")
    sub = sub_village(village, ids)  # the mapped accounts' village, built once
    staff = sub.stakeholders
    said, heard = window_feedback(sub, result.as_of, window_days)
    tables = {"risk": mapped(risk, ids), "history": mapped(t.get("account_sentiment"), ids), "people": people,
              "moved": who_moved_in(sub, result.as_of, window_days), "heard": heard, "said": said}
    tables.update((k, mapped(t.get(k), ids)) for k in ("coverage", "listening_plan", "actions"))
    return {"accounts": accounts.assign(account_id=accounts["account_id"].astype(str)).set_index("account_id"),
            "why": why, "snapshot": snap, "tables": tables,
            "medians": None if snap is None else {c: snap[c].median() for c, _ in _SCHEMES if c in snap.columns},
            "names": dict(zip(staff["stakeholder_id"].astype(str),
                              staff.get("name", staff["stakeholder_id"]).astype(str)))}


def _cut(data, ids) -> dict:
    """:func:`_page_data` of the accounts ``ids`` only (what a worker writing their pages is sent)."""
    keep = set(ids)
    return {**data, "accounts": data["accounts"][data["accounts"].index.isin(keep)],
            "snapshot": mapped(data["snapshot"], ids),  # the portfolio's medians are in data["medians"]
            "why": {a: w for a, w in data["why"].items() if a in keep},
            "tables": {k: mapped(v, ids) for k, v in data["tables"].items()}}


def _write_pages(data, jobs, folder, options) -> int:
    """Write the pages of ``jobs`` (account id, map path, page path) from :func:`_page_data`; each table is split
    by account once (not filtered again for each page) and the figures share their caches (those of every chunk
    of one :func:`_pages_beside` call, ``options["chunks"]``, in this process)."""
    as_of, window_days, accounts, folder = options["as_of"], options["window_days"], data["accounts"], Path(folder)
    split = {k: by_account(v) for k, v in data["tables"].items()}
    figure_cache = _chunk_figures(options.get("chunks"))
    for account_id, rel, rel_page in jobs:
        mine = {k: f(account_id) for k, f in split.items()}
        map_page = (folder / rel).read_text(encoding="utf-8") if (folder / rel).exists() else None
        page = account_page(
            account_id,
            account=accounts.loc[account_id] if account_id in accounts.index else None,
            risk=_row(mine["risk"], account_id), why=data["why"].get(account_id), snapshot=data["snapshot"],
            history=mine["history"], people=mine["people"], coverage=mine["coverage"],
            listening=mine["listening_plan"], actions=mine["actions"], map_page=map_page, map_href=f"../{rel}",
            as_of=as_of, currency=options["currency"], window_days=window_days, names=data["names"],
            moved=mine["moved"], interest=interests(mine["heard"], mine["said"]),
            interest_map=_interest_map(mine["said"], figure_cache), figure_cache=figure_cache,
            portfolio_median=data["medians"])
        (folder / rel_page).write_text(page, encoding="utf-8")
    return len(jobs)


def _interest_map(comments, figure_cache=None):
    """PNG data URI of the account's who-cares-about-what digraph, or None without themed comments.

    ``figure_cache`` (a dict shared by the pages of a run) keeps one figure per number of rows
    (:class:`cxinfluence.present.pagefigures.InterestCharts`: the same bytes as :func:`interest_png`)."""
    if figure_cache is None:
        return interest_png(comments)
    if "interest" not in figure_cache:
        figure_cache["interest"] = InterestCharts()
    return figure_cache["interest"].png(comments)

