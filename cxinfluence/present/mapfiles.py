"""Writing the selected accounts' maps (HTML page, PNG and SVG), on both cores when there are enough.

Drawing a map's slide pictures with matplotlib takes most of a second; the
maps of a run are independent, so :func:`write_maps` shares them with one
worker process (:mod:`cxinfluence.present.workers`): the run's kept worker is
fed a few at a time while this process draws from the other end, a worker of a
stage's own gets the second half; the worker writes the same files the serial
loop writes. Maps are worth a second process from :data:`PARALLEL_MIN_MAPS` maps on
(the worker's start costs about as much CPU as a few maps), and only when a
core is idle: on a busy machine the worker competes with this process and the
maps take longer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from .maps import network_map
from .slides import write_map_figures
from .workers import has_kept_worker, in_two, shared_with_kept_worker, use_worker

__all__ = ["MAP_CHUNK", "MapJob", "PARALLEL_MIN_MAPS", "write_map_files", "write_maps"]

#: fewer maps than this are drawn in this process: starting a worker (imports) costs about as much as a few maps
PARALLEL_MIN_MAPS = 8

#: maps sent to the kept worker at a time (:func:`cxinfluence.present.workers.shared_with_kept_worker`): a map takes
#: about 0.2 s, and the two processes end within a chunk of each other
MAP_CHUNK = 2


class MapJob(NamedTuple):
    """One map to write: the account's graph, the page's path inside the output folder, the title."""

    graph: Any
    rel: str
    title: str


def write_map_files(G, folder, rel: str, title: str, *, seed: int) -> str:
    """Write one account's map page ``folder/rel`` and its PNG and SVG beside it; return the page.

    Examples
    --------
    >>> import networkx as nx, tempfile
    >>> G = nx.DiGraph(); G.add_node("a", name="Ann", role="buyer", influence=1.0, sentiment=0.5)
    >>> d = Path(tempfile.mkdtemp()); (d / "networks").mkdir()
    >>> page = write_map_files(G, d, "networks/A1.html", "Buying center: A1", seed=0)
    >>> sorted(p.name for p in (d / "networks").iterdir())
    ['A1.html', 'A1.png', 'A1.svg']
    """
    folder = Path(folder)
    stem = Path(rel).stem
    page = network_map(G, seed=seed, title=title, file_stem=stem)
    (folder / rel).write_text(page, encoding="utf-8")
    write_map_figures(G, (folder / rel).parent, stem, seed=seed, title=title)
    return page


def _write_keeping(jobs, folder, seed, first) -> dict:
    """Write the maps of ``jobs``; return the pages of those whose path is in ``first``, by path."""
    kept = {}
    for G, rel, title in jobs:
        page = write_map_files(G, folder, rel, title, seed=seed)
        if rel in first:
            kept[rel] = page
    return kept


def _write_all(jobs, folder, seed) -> int:
    for G, rel, title in jobs:
        write_map_files(G, folder, rel, title, seed=seed)
    return len(jobs)


def write_maps(jobs, folder, *, seed: int, keep_pages: int = 0, workers: int | None = None, also=None) -> list:
    """Write every job's map files; return the pages of the first ``keep_pages`` jobs (None for the others).

    Parameters
    ----------
    jobs : list of MapJob
    folder : path
        The output folder (the jobs' ``rel`` paths are inside it; their folders exist).
    seed : int
        Layout seed, as for :func:`cxinfluence.present.maps.network_map`.
    keep_pages : int
        How many leading pages to return (the report embeds a few).
    workers : int, optional
        Processes drawing maps (this one included); default 2 when there are
        at least :data:`PARALLEL_MIN_MAPS` maps and a core is idle beside this
        process (:func:`cxinfluence.present.workers.use_worker`), else 1: on a
        busy machine the worker only competes with this process (measured at
        100k, load 2-3 on 2 cores: 31 s instead of 19 s).
    also : callable, optional
        More work for this process (e.g. the maps' GEXF and Kumu files): with
        the kept worker (:func:`cxinfluence.present.workers.kept_worker`) done
        first, while the worker is fed :data:`MAP_CHUNK` maps at a time and
        this process then draws from the back of the list
        (:func:`cxinfluence.present.workers.shared_with_kept_worker`); with a
        worker of its own, after this process's half while the worker still draws.

    Returns
    -------
    list
        One entry per job: the page's HTML for the first ``keep_pages``, else None.

    Examples
    --------
    >>> import networkx as nx, tempfile
    >>> G = nx.DiGraph(); G.add_node("a", name="Ann", role="buyer", influence=1.0, sentiment=0.5)
    >>> d = Path(tempfile.mkdtemp()); (d / "networks").mkdir()
    >>> pages = write_maps([MapJob(G, "networks/A1.html", "A1")], d, seed=0, keep_pages=1)
    >>> pages[0].startswith("<!DOCTYPE html>")
    True
    """
    folder = Path(folder)
    jobs = [MapJob(*j) for j in jobs]
    if workers is None:
        workers = 2 if use_worker(len(jobs), PARALLEL_MIN_MAPS) else 1

    first = {job.rel for job in jobs[:keep_pages]}  # the leading pages, returned
    there = lambda part: (_write_all, part, folder, seed)  # noqa: E731
    if workers > 1 and has_kept_worker():  # shared as the work goes: ``also`` first, then maps from the back
        done = [got for _, got in shared_with_kept_worker(jobs, lambda part: _write_keeping(part, folder, seed, first),
                                                          there, chunk=MAP_CHUNK, alongside=also)]
    else:
        def here(part):  # this process's maps, then ``also`` while the worker still draws
            kept = _write_keeping(part, folder, seed, first)
            if also is not None:
                also()
            return kept

        done = [in_two(jobs, workers, here, there)]
    kept = {rel: page for got in done if isinstance(got, dict) for rel, page in got.items()}  # not the worker's
    return [(kept.get(job.rel) or (folder / job.rel).read_text(encoding="utf-8")) if i < keep_pages else None
            for i, job in enumerate(jobs)]  # the worker's leading pages read back
