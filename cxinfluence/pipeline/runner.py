"""The whole analysis in one call: :func:`run` (``cxinfluence run`` / ``demo``).

Stages: load and validate -> influence and structure -> coverage and the listening plan -> account sentiment (the
snapshot and every outcome period) -> models (rebuy per scheme, bookings, the decision equation, scheme comparison)
-> informal comments -> accounts at risk -> maps -> account pages and portfolio graphs (side by side: the kept picture
worker writes the pages while this process writes the graphs) -> report. Each table is written as soon as its stage is
done, on a background thread (:class:`~cxinfluence.pipeline.outputs.EarlyTables`), into the staged output folder.

Outputs (stable names, written atomically by :func:`cxinfluence.village.files.atomic_folder`: built in a
hidden sibling folder and swapped into place in one step; the user's own files in ``out`` are kept):

=========================  ===================================================
``influence.csv``          per active stakeholder at the as-of date
``coverage.csv``           per account
``account_sentiment.csv``  per account and as-of date (snapshot + outcome periods)
``models.csv``             per model and term, with fit statistics
``report.html``            the leadership report
``networks/*.html``        buying-center maps of the selected accounts (names: village/filenames.py)
``networks/*.png``, ``.svg`` the same maps as pictures for slides (present/slides.py)
``networks/*.gexf``        their graphs for Gephi (``buying_centers.gexf``)
``networks/*.xlsx``        and Kumu (``buying_centers_kumu.xlsx``)
``networks/portfolio*``    every account's current graph: Gephi (``portfolio.gexf``), Kumu (``portfolio_kumu.xlsx``)
``accounts/*.html``        one page per selected account, linked from the report
``accounts_at_risk.csv``   ranked, with reasons
``what_changed.csv``       with ``compare_to``: who joined/left, influence and sentiment shifts, quiet veto holders
``listening_plan.csv``     who to survey next
``scheme_comparison.csv``  cross-validated comparison of the schemes
``influence_sensitivity.csv`` how ranks and the renewal model move with the influence judgements
``actions.csv``            informal comments routed to the groups that can act
``model_frame.csv``        the data the models were fitted on
``warnings.csv``           what was skipped or failed and why, and warnings
``portfolio_prior.json``   the portfolio-wide statistics the sentiment was scored against (reuse: ``--prior``)
=========================  ===================================================

A run degrades, it does not die: a stage the data cannot support (too few accounts or outcomes for a model,
bookings blank or constant, one outcome class, no responses in the window) is checked first
(:mod:`cxinfluence.preconditions`) and skipped with a one-line reason; an unexpected error inside a stage is caught
and named. Either way the rest of the run goes on, the reasons are printed, written to ``warnings.csv`` (``stage,
severity, reason``) and listed in the report, and :attr:`RunResult.exit_code` is 3 (skipped) or 4 (a stage failed)
instead of 0. Influence, coverage, sentiment, maps and the report are always written.

A village the run loads itself is held with its responses' labels as categoricals
(:func:`cxinfluence.village.compact.compact_labels`: same outputs, half a GiB less at 10M responses).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from ..exceptions import CxInfluenceError, ModelError
from ..models.changes import risk_at, what_changed
from ..models.compare import compare_schemes, draw_ahead
from ..models.fit import decision_equation, fit_bookings, fit_rebuy, models_table
from ..models.frame import outcome_periods
from ..models.measurement import corrected_fit
from ..models.predict import predict_renewal, snapshot_frame
from ..models.release import release_fit, release_fits
from ..models.risk import accounts_at_risk
from ..models.sensitivity import sensitivity_sample
from ..present.account_page import write_account_pages
from ..present.workers import start_deferred_worker
from ..sentiment.prior import PortfolioPrior
from ..sentiment.schemes import COMPARED_SCHEMES, PRIMARY_SCHEME
from ..village.anonymize import anonymize_village, load_key
from ..village.arrowpool import in_arrow_pool
from ..village.asof import DEFAULT_WINDOW_DAYS, default_as_of, to_timestamp
from ..village.core import Village
from ..village.compact import compact_labels
from ..village.filenames import account_file_name
from ..village.files import atomic_folder, check_output_folder
from ..village.load import load_village
from ..village.partitions import check_partitions, is_partitioned
from .engines import get_engine, partitions_of
from .mapreduce import (
    account_rank,
    actions_part,
    combine,
    combine_all,
    combine_priors,
    coverage_part,
    influence_part,
    prior_part,
    sentiment_part,
)
from .ahead import sensitivity_ahead
from .outputs import (EarlyTables, _maps_village, _report, _select_map_accounts, _write_maps, _write_portfolio,
                      _write_tables, picture_worker)
from .partitioned import PartitionedVillage
from .preconditions import (
    _compare_date,
    bookings_reason,
    comparison_folds,
    comparison_reason,
    decision_reason,
    model_frame_reason,
    rebuy_reason,
    renewal_models_reason,
    sentiment_note,
)
from .progress import Progress
from .spill import Spill, SpilledTable, parked, resolved
from .stages import RunResult, _guard, _record, _run_scope, _skip_table, _stage
from .stream import partitions_of_folder, restricted, stream_stages, write_portfolio_pieces, written_partitions

#: the run's action list covers what customers said in the last quarter: what to act on now
ACTION_WINDOW_DAYS = 90
#: Every entry a run writes into its output folder (a test checks a real run writes nothing else); other entries
#: of an earlier output (e.g. of an older version, without a manifest) are the user's own files, kept across re-runs
OUTPUT_ENTRIES = ("influence.csv", "coverage.csv", "account_sentiment.csv", "models.csv", "report.html", "networks",
                  "accounts", "accounts_at_risk.csv", "listening_plan.csv", "scheme_comparison.csv",
                  "influence_sensitivity.csv", "actions.csv", "model_frame.csv", "warnings.csv", "what_changed.csv",
                  "portfolio_prior.json")


def sample_village_path() -> Path:
    """Path of the bundled sample village (``data/sample_village``)."""
    path = Path(__file__).resolve().parents[2] / "data" / "sample_village"
    if not path.is_dir():
        raise FileNotFoundError(f"the sample village is not at {path}; run `make sample` to regenerate it")
    return path


@in_arrow_pool  # Arrow memory from jemalloc while the run works (village/arrowpool.py)
@_run_scope()  # what a small run's stages froze for the garbage collector is unfrozen when it returns (stages.py)
def run(village, out, *, as_of=None, window_days=DEFAULT_WINDOW_DAYS, lead_days=0, half_life_days=None,
        schemes=None, maps=25, map_accounts=None, anonymize=False, role_rules=None, seed=0, quiet=False,
        folds=5, n_boot=200, anonymize_key=None, currency=None, compare_to=None, prior=None, partitions=1,
        engine="local", scheduler=None) -> RunResult:
    """Run the whole analysis on a village and write every output to ``out``.

    Parameters
    ----------
    village : path or Village
        A village folder / workbook (validated on load) or a loaded Village.
    out : path
        Output folder. Outputs appear together once the run is done; a run
        that stops (invalid village, interrupted) leaves ``out`` as it was.
    as_of : date, optional
        Snapshot date (default: the day after the latest response).
    window_days, lead_days, half_life_days
        Look-back window, lead time and optional recency decay (see
        :mod:`cxinfluence.village.asof` and :func:`cxinfluence.sentiment.schemes.account_sentiment`).
    schemes : list of str, optional
        Sentiment schemes to model and compare (default all).
    maps : int
        Maps for the ``maps`` accounts with most revenue at risk (0 none, -1 all).
    map_accounts : list of str, optional
        Exactly these accounts get maps.
    anonymize : bool
        Replace names with keyed pseudonyms and scrub names, e-mail addresses
        and phone numbers from every free-text field of every output (see
        :mod:`cxinfluence.village.anonymize` for what is and is not removed).
    anonymize_key : bytes or path, optional
        The secret key of the pseudonyms (bytes, or a key file, created if
        missing); implies ``anonymize``. Default: the key file at
        :func:`cxinfluence.village.anonymize.default_key_path`, created on first use.
        A key inside ``out`` is refused.
    role_rules : optional
        Extra title -> role rules (see :func:`cxinfluence.village.roles.complete_roles`).
    seed : int
        Seed for cross-validation folds, the bootstrap and map layout.
    quiet : bool
        No progress lines.
    currency : str, optional
        Currency of the revenue figures, shown in the report (``"$"``, ``"EUR"``); default none.
    compare_to : date, optional
        Also compare the villages at this earlier date with the as-of date
        (:func:`cxinfluence.models.changes.what_changed`): ``what_changed.csv``
        and a "What changed" section in the report. Default: no comparison.
    prior : PortfolioPrior or path, optional
        Score every account's sentiment against this portfolio prior (a
        :class:`cxinfluence.sentiment.prior.PortfolioPrior`, or the
        ``portfolio_prior.json`` a whole-portfolio run wrote), so a subset's
        rows equal its rows of that run; ``as_of`` then defaults to the
        prior's snapshot date. Default: the prior of the village's own
        accounts. Either way it is written to ``portfolio_prior.json``.
    partitions : int, default 1
        Split the accounts into this many partitions by a hash of ``account_id``
        and compute the per-account stages partition by partition
        (:mod:`cxinfluence.pipeline.mapreduce`); the outputs are the same for every number.
    engine : {"local", "dask"} or Engine, default "local"
        Where the partitions run: one after the other in this process, or as tasks on
        ``dask.distributed`` (:mod:`cxinfluence.pipeline.engines`; ``pip install cxinfluence[dask]``).
    scheduler : str, optional
        With ``engine="dask"``: the address of a running Dask scheduler (default: a LocalCluster).

    Returns
    -------
    RunResult
        With ``skipped``: the stages the data could not support (each with a
        one-line reason, :mod:`cxinfluence.preconditions`) or that failed
        unexpectedly, also in ``warnings.csv`` and the report; ``exit_code``
        is 0 (everything written), 3 (stages skipped) or 4 (a stage failed).

    Examples
    --------
    >>> import tempfile
    >>> from cxinfluence.synth import make_village
    >>> village, _ = make_village(1, seed=0)
    >>> result = run(village, tempfile.mkdtemp(), maps=0, quiet=True, n_boot=0)
    >>> result.exit_code, result.skip_lines()[0][:44]
    (3, 'Renewal models: skipped — 1 account with an ')
    """
    progress = Progress(quiet=quiet)
    out = Path(out)
    if prior is not None:  # a usage error (unreadable file): say so before any work
        prior = prior if isinstance(prior, PortfolioPrior) else PortfolioPrior.read(prior)  # errors name the file
    # before any work: an output folder that replacing would harm is refused
    check_output_folder(out, inputs=[None if isinstance(village, Village) else village, role_rules
                                     if isinstance(role_rules, (str, Path)) else None], marker="report.html")
    streamed = not isinstance(village, Village) and is_partitioned(village)
    if streamed:  # usage errors: say so before any work
        partitions = written_partitions(village, partitions)
        if anonymize or anonymize_key is not None:
            raise CxInfluenceError(f"anonymize: {village} is a partitioned village, which the run reads one "
                                   "partition at a time, and pseudonyms and scrubbing are not yet done partition "
                                   "by partition; load it whole instead (cxinfluence.load_village, or join the "
                                   "partitions with `cxinfluence partition` into one folder) or leave --anonymize out")
    # a streamed run's scratch folder (validated partitions, large tables) beside the output, gone however it ends
    spill = Spill(out.resolve().parent) if streamed else None
    try:
        with _stage(progress, "loading and validating the village"):
            if streamed:  # every partition read and checked once; only the accounts and outcomes are kept
                v = PartitionedVillage(village, role_rules=role_rules, cache=spill.folder / "partitions")
            else:
                v = village if isinstance(village, Village) else load_village(village, role_rules=role_rules, warn=False)
            if anonymize or anonymize_key is not None:
                anonymize = True
                v, map_accounts = _anonymized(v, anonymize_key, out, map_accounts, progress)
            if not streamed and not isinstance(village, Village):  # the run's own: response labels held once
                v = compact_labels(v)
        if map_accounts:  # a usage error: say so before any work
            _select_map_accounts(None, v.accounts, maps, map_accounts)
        with warnings.catch_warnings(record=True) as early:
            warnings.simplefilter("always")
            as_of = (to_timestamp(as_of) if as_of is not None else prior.snapshot
                     if prior is not None and prior.snapshot is not None
                     else default_as_of(v.response_dates(), today=v.today) if streamed else default_as_of(v))
        for w in early:
            progress.say(f"warning: {w.message}")
        progress.say(f"as of {as_of:%Y-%m-%d}; look-back window {window_days} days")

        partitions = check_partitions(partitions)  # a usage error: say so before any work
        if compare_to is not None:  # a usage error: say so before any work
            compare_to = _compare_date(compare_to, as_of)
        if prior is not None:  # a prior missing the snapshot or an outcome period: say so before any work
            _check_prior(prior, v, as_of, window_days=window_days, lead_days=lead_days, half_life_days=half_life_days)
            progress.say(f"portfolio prior {prior.describe()}")
        result = RunResult(out=out, as_of=as_of, caught=[("Loading", w) for w in early])
        with picture_worker(v, maps, map_accounts):  # one worker for the maps and pages, warm by then
            _run_stages(v, result, progress, spill, window_days=window_days, lead_days=lead_days,
                        half_life_days=half_life_days, schemes=schemes, seed=seed, folds=folds, n_boot=n_boot,
                        prior=prior, partitions=partitions, engine=engine, scheduler=scheduler, compare_to=compare_to,
                        maps=maps, map_accounts=map_accounts, anonymize=anonymize, currency=currency,
                        own=v is not village)
    finally:
        if spill is not None:
            spill.close()
    result.timings = progress.timings
    if result.skipped:
        progress.say(f"wrote {out}; {len(result.skipped)} stage(s) skipped or noted (see warnings.csv):")
        for line in result.skip_lines():
            progress.say("  " + line)
    else:
        progress.say(f"wrote {out}")
    return result


def _run_stages(v, result, progress, spill, *, window_days, lead_days, half_life_days, schemes, seed, folds, n_boot,
                prior, partitions, engine, scheduler, compare_to, maps, map_accounts, anonymize, currency, own=False):
    """The analysis and the outputs (``spill``: the scratch store of a streamed run, None otherwise; ``own``:
    ``v`` is the run's own, loaded or anonymised by it, and lets go of its comments as the maps begin)."""
    t, as_of, out = result.tables, result.as_of, result.out
    # the output is staged from the start: each table is written as soon as its stage is done (EarlyTables)
    with atomic_folder(out, keep_foreign=True, owned=OUTPUT_ENTRIES, manifest=True) as tmp, \
            EarlyTables(tmp, t) as result.early:
        _analyse(v, result, progress, window_days=window_days, lead_days=lead_days, half_life_days=half_life_days,
                 schemes=schemes, seed=seed, folds=folds, n_boot=n_boot, prior=prior, partitions=partitions,
                 engine=engine, scheduler=scheduler, spill=spill)
        _what_changed(v, result, progress, spill, compare_to, window_days=window_days, half_life_days=half_life_days)
        map_entries, chosen, view = [], v, result
        keep_freed = spill is None  # an in-memory run's memory has peaked: the last stages keep what they free
        with _stage(progress, "maps", keep_freed=keep_freed), _guard(result, "Maps"):
            risk = t.get("accounts_at_risk")
            ranked = risk if risk is not None else v.accounts[["account_id"]]
            selected = _select_map_accounts(ranked, v.accounts, maps, map_accounts)
            if spill is not None:  # the chosen accounts read from their partitions, their rows from the disk
                chosen, view = v.subset(selected), restricted(result, selected)
                v.drop_copies()  # the partitions' last read: their copies leave the disk before the graphs arrive
            elif own:  # the maps and pages are the comments' last readers: their accounts' village kept
                chosen = _maps_village(v, selected)
            start_deferred_worker()  # a large run's picture worker, now that its memory has peaked (outputs.py)
            map_entries = _write_maps(chosen, as_of, selected, view.tables.get("influence"), tmp, seed=seed,
                                      window_days=window_days)
        if own and spill is None and chosen is v:  # the maps failed before their accounts were chosen
            chosen = _maps_village(v, [e[0] for e in map_entries])
        pages, portfolio_done = {}, []

        def portfolio():  # this process's work while the kept worker writes the pages
            portfolio_done.append(True)
            with _guard(result, "Portfolio graphs"):
                write_portfolio_pieces(spill, tmp, result) if spill is not None else _write_portfolio(v, t, tmp, result)

        with _stage(progress, "account pages and portfolio graphs", keep_freed=keep_freed):
            with _guard(result, "Account pages"):
                stems = {str(a): Path(rel).stem for a, _, rel, _ in map_entries}  # the page is named like its map
                pages = write_account_pages(chosen, view, map_entries, tmp, currency=currency,
                                            window_days=window_days, alongside=portfolio,
                                            name=lambda a: stems.get(str(a)) or account_file_name(a, suffix=""))
            if not portfolio_done:  # the pages failed before their work began
                portfolio()
        with _stage(progress, "report", keep_freed=keep_freed), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            (tmp / "report.html").write_text(_report(v, result, map_entries, anonymize, window_days, lead_days,
                                                     currency=currency, account_pages=pages),
                                             encoding="utf-8")
        result.caught += [("Report", w) for w in caught]
        with _stage(progress, "writing tables"):  # the run's end: what it freed goes back (a notebook goes on)
            t["warnings"] = _skip_table(result.skipped, result.caught)
            _write_tables(result, tmp, result.early)
    result.early = None
    if spill is not None:  # the large tables live in the output folder's CSVs: their scratch pieces go with the run
        for name in [n for n, table in t.items() if isinstance(table, SpilledTable)]:
            del t[name]


def _what_changed(v, result, progress, spill, compare_to, *, window_days, half_life_days):
    t, as_of = result.tables, result.as_of
    if compare_to is not None and spill is not None:
        _record(result, "What changed", "skipped", "not yet computed on a partitioned village read one partition at "
                "a time; run the comparison on the accounts of interest (a subset, with --prior) or on the loaded "
                "village")
    elif compare_to is not None:
        with _stage(progress, f"what changed since {compare_to:%Y-%m-%d}"), _guard(result, "What changed"):
            risk_then, infl_then = risk_at(v, compare_to, window_days=window_days, half_life_days=half_life_days,
                                           fit=result.fits.get(f"rebuy:{PRIMARY_SCHEME}"), scheme=PRIMARY_SCHEME)
            t["what_changed"] = what_changed(v, compare_to, as_of, window_days=window_days, influence_from=infl_then,
                                             influence_to=t.get("influence"), risk_from=risk_then,
                                             risk_to=t.get("accounts_at_risk"))
            t["what_changed"].attrs["compare_to"] = f"{compare_to:%Y-%m-%d}"


def _check_prior(prior, v, as_of, *, window_days, lead_days, half_life_days):
    """Raise (naming both) unless ``prior`` holds the snapshot and every outcome period with these options."""
    prior.entry(as_of, window_days=window_days, lead_days=0, half_life_days=half_life_days)
    for period in outcome_periods(v)["as_of"].unique() if len(v.outcomes) else []:
        prior.entry(period, window_days=window_days, lead_days=lead_days, half_life_days=half_life_days)


def _anonymized(v, anonymize_key, out, map_accounts, progress):
    """The village with keyed pseudonyms, and ``map_accounts`` renamed to match (ids that were e-mails or
    held a name have pseudonyms now); a key created on first use is announced even when quiet."""
    secret, key_path, created = load_key(anonymize_key, out=out)
    if created:  # a new secret on disk: say where, even when quiet
        print(f"created a new anonymisation key at {key_path} (mode 0600): keep it to get the same "
              "pseudonyms next time; do not share it with the outputs", file=progress.stream)
    progress.say(f"pseudonyms keyed with {key_path or 'the key given'}")
    before = v.accounts["account_id"].astype(str).tolist()
    v = anonymize_village(v, key=secret)
    if map_accounts:
        renamed = dict(zip(before, v.accounts["account_id"].astype(str)))
        map_accounts = [renamed.get(str(a), a) for a in map_accounts]
    return v, map_accounts


def _analyse(v, result, progress, *, window_days, lead_days, half_life_days, schemes, seed, folds, n_boot,
             partitions=1, engine="local", scheduler=None, prior=None, spill=None):
    """Every analysis stage; the per-account ones mapped over ``partitions`` on ``engine`` (pipeline/mapreduce.py).

    One partition on the in-process engine is the ordinary run: the same functions, called once.
    A partitioned folder (``spill`` given) is streamed: read partition by partition (pipeline/stream.py).
    """
    parts = partitions_of_folder(v) if spill is not None else \
        [p for p in partitions_of(v, partitions) if p.accounts[2]] or partitions_of(v, 1)  # none empty
    if len(parts) > 1:
        progress.say(f"{len(parts)} partitions of {', '.join(str(p.accounts[2]) for p in parts[:8])}"
                     f"{', ...' if len(parts) > 8 else ''} accounts, on the {getattr(engine, 'name', engine)} engine")
    options = dict(window_days=window_days, lead_days=lead_days, half_life_days=half_life_days)
    with get_engine(engine, scheduler=scheduler, progress=progress) as eng:
        sensitivity = None
        if spill is None:  # the sensitivity in the picture worker, idle until the maps, while the stages run
            sensitivity = sensitivity_ahead(v, result.as_of, seed=seed, **options)
            flags, own = _map_stages(v, parts, eng, result, progress, prior=prior, **options)
            sample = v

            def actions():  # the informal comments, mapped after the models as they always were
                return eng.map(actions_part, parts, stage="informal comments", inputs=own, as_of=result.as_of,
                               window_days=ACTION_WINDOW_DAYS)
        else:  # pass 1 routed the comments already
            flags, sample = _stream_stages(v, eng, result, progress, spill, prior=prior, seed=seed, **options)
            actions = None
        _later_stages(v, result, progress, flags, sample, schemes=schemes, seed=seed, folds=folds, n_boot=n_boot,
                      actions=actions, sensitivity=sensitivity, keep_freed=spill is None, **options)


def _map_stages(v, parts, eng, result, progress, *, window_days, lead_days, half_life_days, prior):
    """Influence, coverage and account sentiment of an in-memory village, mapped over its partitions; the risk
    flags and each partition's own influence rows (None: influence failed, each stage computes its own)."""
    t, as_of = result.tables, result.as_of
    rank = account_rank(v)
    mapped = {}
    # influence and coverage keep what they free for the sentiment stage after them, as the sentiment does for
    # the models (the run's peak, in the sentiment stage or the comments, is not raised)
    with _stage(progress, "influence", keep_freed=True), _guard(result, "Influence"):
        mapped["influence"] = eng.map(influence_part, parts, stage="influence", as_of=as_of)
        t["influence"] = combine([r["influence"] for r in mapped["influence"]], "influence", rank)
    result.early.ready("influence")
    infl = t.get("influence")
    # each partition's own influence rows, for the stages after it (None: influence failed, each computes its own)
    infl_parts = None if infl is None else [{"influence": r["influence"]} for r in mapped.pop("influence")]
    with _stage(progress, "coverage and listening plan", keep_freed=True), _guard(result, "Coverage and listening plan"):
        t.update(combine_all(eng.map(coverage_part, parts, stage="coverage and listening plan", inputs=infl_parts,
                                     as_of=as_of, window_days=window_days), rank))
    result.early.ready("coverage", "listening_plan")
    flags = None
    # what the sentiment frees is kept for the models stage, which allocates as much again (its designs and fits):
    # handed back and faulted in, it cost the models 0.4-0.6 s of system time at 100k (benchmarks/README.md,
    # twenty-second session)
    with _stage(progress, "account sentiment", keep_freed=True), _guard(result, "Account sentiment"):
        frame_reason = model_frame_reason(v)
        options = dict(as_of=as_of, window_days=window_days, lead_days=lead_days, half_life_days=half_life_days)
        if prior is None and len(parts) > 1:
            # map: each partition's sufficient statistics -> reduce: the portfolio prior of the whole village
            stats = eng.map(prior_part, parts, stage="portfolio prior", inputs=infl_parts, **options)
            prior = combine_priors([s["prior"] for s in stats], as_of)
        # each outcome period's sentiment, reported and modelled (computed once), with the model frame's rows
        done = combine_all(eng.map(sentiment_part, parts, stage="account sentiment", inputs=infl_parts, prior=prior,
                                   frame=frame_reason is None, **options), rank)
        snap, history, flags = done["snapshot"], done["history"], done["risk_flags"]
        t["snapshot"], t["stakeholder_sentiment"] = snap, done["stakeholder_sentiment"]
        t["model_frame"], t["model_frame_error"] = done.get("model_frame"), done.get("model_frame_error")
        # the prior the sentiment was scored against: given, combined from the partitions, or (one partition) its own
        result.prior = _prior_used(prior, snap, history if len(history) else None, as_of)
        _sentiment_note(result, window_days)
        t["account_sentiment"] = pd.concat([history, snap], ignore_index=True)
        history = done["history"] = None  # its rows live on in account_sentiment: not held twice for the rest of the run
    result.early.ready("account_sentiment")
    return flags, infl_parts


def _stream_stages(pv, eng, result, progress, spill, *, window_days, lead_days, half_life_days, prior, seed):
    """Passes 1 and 2 over the partitions of a partitioned folder (pipeline/stream.py)."""
    t = result.tables
    sample = sensitivity_sample(pv.accounts, seed=seed)
    prior, sample_village = stream_stages(
        pv, result, eng, progress, spill, window_days=window_days, lead_days=lead_days, half_life_days=half_life_days,
        prior=prior, action_window_days=ACTION_WINDOW_DAYS, frame_reason=model_frame_reason(pv),
        sample=pv.accounts["account_id"].astype(str) if sample is None else sample)
    result.prior = prior
    if t.get("snapshot") is not None:
        _sentiment_note(result, window_days)
    return t.get("risk_flags"), sample_village


def _sentiment_note(result, window_days):
    note = sentiment_note(result.tables["snapshot"], window_days)
    if note:
        _record(result, "Account sentiment", "note", note)


def _later_stages(v, result, progress, flags, sample, *, window_days, lead_days, half_life_days, schemes, seed, folds,
                  n_boot, actions, sensitivity=None, keep_freed=False):
    """Models, influence sensitivity (on ``sample``, or ``sensitivity()`` when started already), informal comments
    (``actions()`` maps them, unless pass 1 did) and the accounts at risk: the same for an in-memory and a streamed
    run (``keep_freed``: the comments and the accounts at risk keep what they free, :func:`_stage`; an in-memory
    run's memory has peaked by then)."""
    t, as_of = result.tables, result.as_of
    schemes = list(schemes or COMPARED_SCHEMES)
    sensitivity = sensitivity or sensitivity_ahead(sample, as_of, seed=seed, window_days=window_days,
                                                   lead_days=lead_days, half_life_days=half_life_days)
    with _stage(progress, "models"), _guard(result, "Models"):
        reason = model_frame_reason(v) or (None if "account_sentiment" in t else "account sentiment failed (see above)")
        kept, frame, error = t.get("model_frame"), resolved(t, "model_frame"), t.pop("model_frame_error", None)
        t.pop("model_frame", None)  # kept: a streamed run's Deferred frame, parked again after the models
        if reason:
            _record(result, "Models", "skipped", reason)
        elif error is not None:
            raise RuntimeError(error["error"].iloc[0])
        else:
            t["model_frame"] = frame
        if t.get("model_frame") is not None:
            _models(result, schemes, t["model_frame"], seed=seed, folds=folds, n_boot=n_boot)
            release_fits(result.fits, t.get("comparison_object"), predict=[f"rebuy:{PRIMARY_SCHEME}"])
            t["model_frame"] = frame = parked(kept, frame)
    result.early.ready("models", "scheme_comparison", "model_frame")
    if "rebuy:" + PRIMARY_SCHEME in result.fits:
        with _stage(progress, "influence sensitivity"), _guard(result, "Influence sensitivity"):
            t["influence_sensitivity"] = sensitivity()
    else:
        sensitivity(wanted=False)
        _record(result, "Influence sensitivity", "skipped",
                "no renewal model on this data, so there is no conclusion to test against the influence judgements")
    with _stage(progress, "informal comments", keep_freed=keep_freed), _guard(result, "Informal comments"):
        if actions is not None:
            t["actions"] = combine([r["actions"] for r in actions()], "actions", account_rank(v))
        kept = t.get("actions")  # a streamed run routed the comments in pass 1: ranked over the portfolio now
        if not len(resolved(t, "actions")):
            _record(result, "Informal comments", "note", "no comments in the recent window: actions.csv is empty")
        t["actions"] = parked(kept, t["actions"])  # ... and kept on disk till the report, the pages and the CSV
    result.early.ready("influence_sensitivity", "actions")
    with _stage(progress, "accounts at risk", keep_freed=keep_freed), _guard(result, "Accounts at risk"):
        _risk(v, result, flags, window_days=window_days, half_life_days=half_life_days)
    result.early.ready("accounts_at_risk")


def _risk(v, result, flags, *, window_days, half_life_days):
    """The accounts ranked by revenue at risk (with the renewal model's chance to renew, when there is one)."""
    t, as_of = result.tables, result.as_of
    missing = [n for n in ("snapshot", "stakeholder_sentiment", "coverage") if t.get(n) is None]
    if missing:
        _record(result, "Accounts at risk", "skipped", f"needs {', '.join(missing)}, which failed (see above)")
        return
    predicted = None
    fit = result.fits.get(f"rebuy:{PRIMARY_SCHEME}")
    if fit is not None:
        # lead_days is the gap the model learnt between measuring and the outcome;
        # today's sentiment (lead 0) predicts the renewal that lies that gap ahead
        snapshot = resolved(t, "snapshot_frame")  # a streamed run built it in pass 2
        if snapshot is None:
            snapshot = snapshot_frame(v, as_of, window_days=window_days, lead_days=0, half_life_days=half_life_days,
                                      sentiment=t["snapshot"], stakeholders=t["stakeholder_sentiment"])
        predicted = predict_renewal(fit, snapshot)
    t.pop("snapshot_frame", None)
    t["accounts_at_risk"] = accounts_at_risk(v.accounts, t["snapshot"], flags, t["coverage"], predicted,
                                             scheme=PRIMARY_SCHEME)


def _prior_used(prior, snap, history, as_of):
    """The prior the run's sentiment used: the one given, or the village's own at the snapshot and periods."""
    from dataclasses import replace

    if prior is not None:
        return prior
    parts = [PortfolioPrior.of(snap)] + ([PortfolioPrior.of(history)] if history is not None else [])
    return replace(PortfolioPrior.merge(parts), snapshot=as_of)


def _models(result, schemes, frame, *, seed, folds, n_boot):
    """Every model the frame can support; each one the data cannot is skipped with its reason.

    Each fit lets go of its rows as soon as it is made (:func:`release_fit`; the renewal model the run predicts
    with keeps what predictions need, not its rows): what the run reads later is kept, and a portfolio's models
    stage holds one or two designs at a time instead of a dozen (a million accounts: 4M rows x ~11 columns each).
    """
    t, fits = result.tables, result.fits

    def attempt(stage, key, reason, fit):
        """fits[key] = fit(), released, unless the data cannot support it (reason) or it fails (named)."""
        if reason:
            _record(result, stage, "skipped", reason)
            return
        with _guard(result, stage):
            fits[key] = release_fit(fit(), predict=key == f"rebuy:{PRIMARY_SCHEME}")

    renewal = renewal_models_reason(frame, schemes)
    draws = None
    if renewal:
        _record(result, "Renewal models", "skipped", renewal)
    else:
        # the comparison's bootstrap weights, drawn on the core the fits below leave idle (the same numbers)
        draws = None if comparison_reason(frame, schemes, folds) else draw_ahead(frame, schemes, seed=seed,
                                                                                 n_boot=n_boot)
        for s in schemes:
            attempt(f"Renewal model ({s})", f"rebuy:{s}", rebuy_reason(frame, s), lambda s=s: fit_rebuy(frame, scheme=s))
    attempt("Bookings model", "bookings:tweedie", bookings_reason(frame, PRIMARY_SCHEME),
            lambda: fit_bookings(frame, scheme=PRIMARY_SCHEME, family="tweedie"))
    if not renewal:
        attempt("Decision equation", "decision_equation", decision_reason(frame), lambda: decision_equation(frame))
        attempt("Veto equation", "veto_equation", decision_reason(frame, roles=["veto", "nonveto"]),
                lambda: decision_equation(frame, roles=["veto", "nonveto"], name="veto_equation"))
    if not renewal and "influence_heard_se" in frame.columns:
        with _guard(result, "Measurement-error correction"):
            try:  # the heard influence-weighted slope corrected for measurement error (regression calibration)
                corrected = corrected_fit(frame, "influence_heard", method="calibration", release=True)
                t["measurement_correction"] = corrected.table
                if corrected.fit is not None:
                    fits["rebuy_calibrated:influence_heard"] = release_fit(corrected.fit)
            except ModelError as exc:
                _record(result, "Measurement-error correction", "skipped", str(exc).splitlines()[0])
    if fits:
        t["models"] = models_table(list(fits.values()))
    if renewal:
        return
    compared = [s for s in schemes if f"rebuy:{s}" in fits]
    reason = comparison_reason(frame, compared, folds)
    if reason:
        _record(result, "Scheme comparison", "skipped", reason)
        return
    used_folds, note = comparison_folds(frame, compared, folds)
    if note:
        _record(result, "Scheme comparison", "note", note)
    with _guard(result, "Scheme comparison"):
        comparison = compare_schemes(frame, schemes=compared, folds=used_folds, seed=seed, n_boot=n_boot,
                                     fits={s: fits[f"rebuy:{s}"] for s in compared}, release=True, draws=draws)
        t["comparison_object"] = comparison
        t["scheme_comparison"] = comparison.table

