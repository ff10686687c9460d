"""The selected accounts' maps drawn on two processes are the files drawn on one (present/mapfiles.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cxinfluence.network.graph import account_graphs
from cxinfluence.present.mapfiles import MapJob, write_maps
from cxinfluence.present.slides import write_map_figures
from cxinfluence.village.asof import default_as_of


def _jobs(v, n):
    as_of = default_as_of(v)
    ids = v.accounts["account_id"].astype(str).tolist()[:n]
    graphs = account_graphs(v, ids, as_of, departed="mark", window_days=365)
    return [MapJob(graphs[a], f"networks/{a}.html", f"Buying center: {a} <&>") for a in ids]


def _folders(tmp_path, *names):
    folders = [tmp_path / n for n in names]
    for d in folders:
        (d / "networks").mkdir(parents=True)
    return folders


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted((folder / "networks").iterdir())}


@pytest.mark.slow
def test_two_processes_write_the_same_files_as_one(small_synthetic, tmp_path):
    _, v, _ = small_synthetic
    jobs = _jobs(v, 4)
    one, two = _folders(tmp_path, "one", "two")
    pages1 = write_maps(jobs, one, seed=0, keep_pages=3, workers=1)
    pages2 = write_maps(jobs, two, seed=0, keep_pages=3, workers=2)  # the last two drawn in a spawned worker
    assert pages1 == pages2 and all(pages2[:3]) and pages2[3] is None
    files = _files(one)
    assert len(files) == 3 * len(jobs) and files == _files(two)
    assert pages1[0] == (one / jobs[0].rel).read_text(encoding="utf-8")



@pytest.mark.slow
@pytest.mark.parametrize("busy_s", [0.0, 2.0])
def test_maps_shared_with_the_kept_worker_are_the_files_drawn_in_one_process(small_synthetic, tmp_path, busy_s):
    import time

    from cxinfluence.present import workers

    _, v, _ = small_synthetic
    jobs = _jobs(v, 9)
    one, kept = _folders(tmp_path, "one", "kept")
    pages1 = write_maps(jobs, one, seed=0, keep_pages=3, workers=1)
    also = []
    with workers.kept_worker():  # fed chunks of maps from the front, this process draws from the back after ``also``
        pages2 = write_maps(jobs, kept, seed=0, keep_pages=3, workers=2,
                            also=lambda: (also.append((kept / "networks").exists()), time.sleep(busy_s)))
    assert also == [True] and pages1 == pages2 and all(pages2[:3]) and pages2[3:] == [None] * 6
    assert _files(one) == _files(kept) and len(_files(kept)) == 3 * len(jobs)

SCRIPT = """
import sys, networkx as nx
from cxinfluence.present.slides import write_map_figures
G = nx.DiGraph()
for i in range(30):
    G.add_node(f"s{i}", name=f"P{i}", role=["user", "buyer", "decider"][i % 3], influence=1 / (i + 1),
               sentiment=(i % 7 - 3) / 3, active=i % 3 == 0)
for i in range(1, 30):
    G.add_edge(f"s{i}", f"s{(i - 1) // 3 * 3}", kind="reports_to", weight=1.0)
write_map_figures(G, sys.argv[1], "m", seed=1, title="t")
"""


@pytest.mark.slow
def test_svg_does_not_depend_on_string_hashing(tmp_path):
    """People who left are dropped in the graph's order, not a set's: networkx iterates a subgraph of under half
    the nodes in the order of a set of ids, which changes with PYTHONHASHSEED."""
    outs = []
    for seed in ("1", "2", "3"):
        d = tmp_path / seed
        d.mkdir()
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        subprocess.run([sys.executable, "-c", SCRIPT, str(d)], check=True, env=env, timeout=120)
        outs.append((d / "m.svg").read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_one_map_is_drawn_in_this_process(tmp_path):
    import networkx as nx

    G = nx.DiGraph()
    G.add_node("a", name="Ann", role="buyer", influence=1.0, sentiment=0.5)
    (tmp_path / "networks").mkdir()
    pages = write_maps([MapJob(G, "networks/A.html", "A")], tmp_path, seed=0, keep_pages=0)
    assert pages == [None]
    ref = tmp_path / "ref"
    ref.mkdir()
    write_map_figures(G, ref, "A", seed=0, title="A")
    assert (tmp_path / "networks" / "A.svg").read_bytes() == (ref / "A.svg").read_bytes()


UNGUARDED = """
import os, sys, networkx as nx
from pathlib import Path
from cxinfluence.present.mapfiles import MapJob, write_maps
print("top level ran", flush=True)
G = nx.DiGraph(); G.add_node("a", name="Ann", role="buyer", influence=1.0, sentiment=0.5)
d = Path(sys.argv[1]); (d / "networks").mkdir(parents=True)
write_maps([MapJob(G, f"networks/A{i}.html", "A") for i in range(4)], d, seed=0, workers=2)
import resource
print("worker drew", resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime > 0.2)
"""


@pytest.mark.slow
def test_a_script_without_a_main_guard_runs_once(tmp_path):
    """The worker does not re-run the user's script (spawn would, for a script without ``if __name__ ...``)."""
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "out")], env=env, capture_output=True,
                         text=True, timeout=300, check=True).stdout
    assert out.count("top level ran") == 1 and "worker drew True" in out
    assert len(list((tmp_path / "out" / "networks").iterdir())) == 12
