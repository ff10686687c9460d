"""The command line, run for real as a subprocess."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # end-to-end: `make test-fast` skips it, `make test` and CI run it

CLI = [sys.executable, "-m", "cxinfluence"]


def cli(*args, **kw):
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, **kw)


def digest(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("command", ["validate", "synth", "run", "demo"])
def test_every_command_documents_every_option(command):
    out = cli(command, "--help")
    assert out.returncode == 0
    from cxinfluence.pipeline.cli import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        for flag in action.option_strings:
            assert flag in out.stdout
        assert action.help, f"{command} {action.option_strings} has no help text"


def test_validate_sample_is_valid_and_summarised(sample_path):
    out = cli("validate", sample_path)
    assert out.returncode == 0, out.stderr
    assert "valid" in out.stdout and "accounts" in out.stdout and "outcome periods" in out.stdout


def test_validate_lists_every_problem_without_traceback(tmp_path):
    (tmp_path / "accounts.csv").write_text("account_id,annual_revenue\nA1,-5\nA1,10\n")
    (tmp_path / "stakeholders.csv").write_text("stakeholder_id,account_id\nS1,A1\nS2,NOPE\n")
    (tmp_path / "relationships.csv").write_text("source_id,target_id,kind\nS1,S1,reports_to\n")
    (tmp_path / "responses.csv").write_text("stakeholder_id,date,nps\nS1,2024-01-01,11\nS1,not a date,5\n")
    (tmp_path / "outcomes.csv").write_text("account_id,period_end,renewed\nA1,2024-12-31,2\n")
    before = digest(tmp_path)
    out = cli("validate", tmp_path)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    for needle in ("annual_revenue", "A1", "NOPE", "self", "nps", "not a date", "renewed"):
        assert needle in out.stderr, needle
    assert "row 2" in out.stderr and "row 3" in out.stderr
    assert digest(tmp_path) == before  # inputs never modified


def test_validate_missing_path_is_one_clear_error(tmp_path):
    out = cli("validate", tmp_path / "nowhere")
    assert out.returncode == 1 and "Traceback" not in out.stderr and "nowhere" in out.stderr


def test_synth_writes_a_valid_village_with_truth(tmp_path):
    target = tmp_path / "v"
    out = cli("synth", "--accounts", 12, "--seed", 3, "--out", target)
    assert out.returncode == 0, out.stderr
    assert (target / "truth").is_dir() and (target / "accounts.csv").is_file()
    assert len(pd.read_csv(target / "accounts.csv")) == 12
    assert cli("validate", target).returncode == 0
    again = cli("synth", "--accounts", 12, "--seed", 3, "--out", target)
    assert again.returncode == 1 and "--force" in again.stderr


def test_currency_option_reaches_run():
    from cxinfluence.cli import build_parser
    from cxinfluence.pipeline.commands import run_options

    for command in (["run", "village"], ["demo"]):
        args = build_parser().parse_args(command + ["--out", "o", "--currency", "EUR"])
        assert run_options(args)["currency"] == "EUR"
    assert run_options(build_parser().parse_args(["run", "v", "--out", "o"]))["currency"] is None


def test_compare_to_option_reaches_run_and_a_bad_date_is_one_clear_error(sample_path, tmp_path):
    from cxinfluence.cli import build_parser
    from cxinfluence.pipeline.commands import run_options

    args = build_parser().parse_args(["run", "village", "--out", "o", "--compare-to", "2025-06-30"])
    assert run_options(args)["compare_to"] == "2025-06-30"
    assert run_options(build_parser().parse_args(["run", "v", "--out", "o"]))["compare_to"] is None
    for bad, message in (("notadate", "is not a date"), ("2099-01-01", "is not before the as-of date")):
        res = cli("run", sample_path, "--out", tmp_path / "out", "--compare-to", bad, "-q")
        assert res.returncode != 0 and message in res.stderr and "Traceback" not in res.stderr
        assert not (tmp_path / "out").exists()


_ARENA_PROBE = """
import ctypes, re, sys, tempfile, threading
from cxinfluence.pipeline.cli import one_malloc_arena
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
print(one_malloc_arena() if sys.argv[1] == "set" else None)
both = threading.Barrier(4)
held = []
def grab():
    both.wait()  # four threads alive at once: without a cap each takes an arena of its own
    held.append(libc.malloc(1 << 16))
    both.wait()
threads = [threading.Thread(target=grab) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
with tempfile.NamedTemporaryFile("r", suffix=".xml") as out:
    fh = libc.fopen(out.name.encode(), b"w"); libc.malloc_info(0, fh); libc.fclose(fh)
    print(len(re.findall(r"<heap nr=", out.read())))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc arenas")
def test_the_command_line_keeps_one_malloc_arena_for_its_threads():
    # counted by glibc itself (malloc_info lists one <heap> per arena), with and without the setting, and with a
    # MALLOC_ARENA_MAX of the user's, which is left alone
    import os

    def heaps(mode, **env):
        run = subprocess.run([sys.executable, "-c", _ARENA_PROBE, mode], capture_output=True, text=True, check=True,
                             env={**{k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}, **env})
        return run.stdout.split()

    assert heaps("set") == ["True", "1"]
    assert int(heaps("none")[1]) > 1  # the default: the threads' own arenas
    said, n = heaps("set", MALLOC_ARENA_MAX="3")
    assert said == "False" and int(n) > 1
