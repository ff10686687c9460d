"""The one atomic writer (cxinfluence.village.files): folder swap, file, lock, leftovers, machine faults, kills."""

import errno
import hashlib
import json
import ast
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cxinfluence.village import files as atomic
from cxinfluence.village.files import MANIFEST, OutputError, atomic_file, atomic_folder, lock, recover
from cxinfluence.exceptions import OutputPathError

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "cxinfluence"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def digest(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(parent: Path, name: str) -> list:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def write(out, files, **kw):
    with atomic_folder(out, **kw) as tmp:
        for rel, text in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text)


# --------------------------------------------------------------------------- the folder


def test_swap_replaces_the_whole_folder_and_leaves_nothing_beside_it(tmp_path):
    out = tmp_path / "out"
    write(out, {"a.csv": "old", "networks/x.html": "old map"})
    write(out, {"b.csv": "new"})
    assert digest(out).keys() == {"b.csv"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no lock, staging or old folder


def test_user_files_are_carried_over_and_stale_outputs_are_not(tmp_path):
    out = tmp_path / "out"
    write(out, {"report.html": "r1", "networks/a.html": "map a"}, keep_foreign=True, manifest=True)
    (out / "my_notes.txt").write_text("keep me")
    (out / "mine").mkdir()
    (out / "mine" / "n.txt").write_text("mine too")
    write(out, {"report.html": "r2"}, keep_foreign=True, manifest=True)
    assert (out / "report.html").read_text() == "r2"
    assert (out / "my_notes.txt").read_text() == "keep me" and (out / "mine" / "n.txt").read_text() == "mine too"
    assert not (out / "networks").exists()  # written by the earlier run, not by this one
    assert json.loads((out / MANIFEST).read_text())["entries"] == ["report.html"]


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_new_folders_and_files_follow_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        write(tmp_path / "out", {"a.csv": "x", "networks/m.html": "y"})
        with atomic_file(tmp_path / "f.txt") as tmp:
            tmp.write_text("z")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE((tmp_path / "out" / "networks").stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE((tmp_path / "out" / "a.csv").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o666 & ~mask


def test_failure_or_interrupt_leaves_the_old_folder_and_no_leftovers(tmp_path):
    out = tmp_path / "out"
    write(out, {"a.csv": "old"})
    before = digest(out)
    for exc in (RuntimeError("bug"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), atomic_folder(out) as tmp:
            (tmp / "a.csv").write_text("new")
            raise exc
        assert digest(out) == before and leftovers(tmp_path, "out") == []


def test_stale_leftovers_of_a_killed_run_are_removed_by_the_next_one(tmp_path):
    out = tmp_path / "out"
    write(out, {"a.csv": "old"})
    for name in (".out.staging-k1", ".out.old-k2"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "big.bin").write_bytes(b"x" * 1000)
    (tmp_path / ".out.tmp-k3").write_text("half")
    (tmp_path / ".out.lock").write_text("")  # a killed holder's lock file (the kernel released its lock)
    (tmp_path / ".other.staging-k4").mkdir()  # another folder's: not ours to remove
    write(out, {"a.csv": "new"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.staging-k4", "out"]


def test_a_live_writers_staging_folder_is_never_removed(tmp_path):
    out = tmp_path / "out"
    inside, release = threading.Event(), threading.Event()

    def slow_writer():
        with atomic_folder(out) as tmp:
            (tmp / "a.csv").write_text("first")
            inside.set()
            release.wait(10)

    t = threading.Thread(target=slow_writer)
    t.start()
    assert inside.wait(10)
    staging = [p for p in tmp_path.iterdir() if p.name.startswith(".out.staging-")]
    with pytest.raises(TimeoutError, match="another cxinfluence process is still writing"), \
            atomic_folder(out, lock_timeout=0.3):
        pass
    assert staging and all(p.exists() for p in staging)
    release.set()
    t.join()
    assert (out / "a.csv").read_text() == "first"


def test_journalled_swap_where_there_is_no_atomic_exchange(tmp_path, monkeypatch):
    def unsupported(a, b):
        raise OSError(errno.ENOTSUP, "no exchange here")

    monkeypatch.setattr(atomic, "_exchange", unsupported)
    out = tmp_path / "out"
    write(out, {"a.csv": "old"})
    write(out, {"a.csv": "new"})
    assert digest(out).keys() == {"a.csv"} and (out / "a.csv").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("killed_after", ["journal", "old moved aside"])
def test_next_writer_completes_or_rolls_back_a_journalled_swap(tmp_path, killed_after):
    out = tmp_path / "out"
    write(out, {"a.csv": "old"})
    staging = tmp_path / ".out.staging-x"
    staging.mkdir()
    (staging / "a.csv").write_text("new")
    (tmp_path / ".out.swap-journal").write_text(json.dumps({"new": staging.name, "old": ".out.old-y"}))
    if killed_after == "old moved aside":
        os.rename(out, tmp_path / ".out.old-y")  # killed between the two renames: no folder at all
    recover(out)
    expected = "new" if killed_after == "old moved aside" else "old"
    assert (out / "a.csv").read_text() == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_the_lock_excludes_and_its_file_goes_away(tmp_path):
    path, inside, overlaps = tmp_path / ".t.lock", [], []

    def worker():
        for _ in range(30):
            with lock(path, timeout=20):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(1)
                time.sleep(0.0005)
                inside.pop()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not overlaps and not path.exists()


def test_everything_run_uses_imports_without_fcntl():
    """As on Windows: no module `run` or `append_comments` imports needs fcntl at import time."""
    code = ("import sys; sys.modules['fcntl'] = None\n"
            "import cxinfluence.village.files, cxinfluence.village.io, cxinfluence.comments.capture\n"
            "import cxinfluence.pipeline.runner, cxinfluence.pipeline.cli\n"
            "import cxinfluence.village.synth, cxinfluence.village.validate, cxinfluence.village.core\n"
            "print('ok')")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=False)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_no_module_imports_a_unix_only_module_at_top():
    """Issue 12 item 5: fcntl (and other Unix-only modules) only where the lock is taken, in every module."""
    unix_only = {"fcntl", "termios", "pwd", "grp", "resource", "msvcrt"}
    found = []
    for path in sorted((ROOT / "cxinfluence").rglob("*.py")):
        for node in ast.parse(path.read_text()).body:  # module level only
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in unix_only]
    assert not found, found


# --------------------------------------------------------------------------- machine faults


def _mount(tmp_path, options):
    target = tmp_path / "mnt"
    target.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], capture_output=True, text=True,
                         check=False)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip() or 'mount failed'}); needs root in a VM/container")
    return target


@pytest.fixture
def tiny_disk(tmp_path):
    target = _mount(tmp_path, "size=256k")
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False)


def test_disk_full_is_one_clear_error_and_the_old_output_stays(tiny_disk):
    out = tiny_disk / "out"
    write(out, {"a.csv": "old"})
    before = digest(out)
    with pytest.raises(OutputError) as info, atomic_folder(out) as tmp:
        (tmp / "big.bin").write_bytes(b"x" * 1_000_000)
    msg = str(info.value)
    assert "\n" not in msg and str(out) in msg and "no space left" in msg and "ENOSPC" in msg
    assert "left as it was" in msg and info.value.errno == errno.ENOSPC
    assert digest(out) == before and leftovers(tiny_disk, "out") == []


def test_read_only_file_system_is_one_clear_error(tmp_path):
    ro = _mount(tmp_path, "size=1m")
    try:
        write(ro / "out", {"a.csv": "old"})
        if subprocess.run(["mount", "-o", "remount,ro", str(ro)], capture_output=True, check=False).returncode != 0:
            pytest.skip("cannot remount read-only here")
        with pytest.raises(OutputError, match=r"read-only \[EROFS\]; .*out was left as it was") as info:
            write(ro / "out", {"a.csv": "new"})
        assert "\n" not in str(info.value)
        assert (ro / "out" / "a.csv").read_text() == "old"
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)


def test_injected_permission_error_names_the_file(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(OutputError, match=r"cannot write .*out/report\.html: permission denied \[EACCES\]"), \
            atomic_folder(out) as tmp:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp / "report.html"))
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_output_inside_or_holding_the_input_is_refused(tmp_path):
    village = tmp_path / "village"
    village.mkdir()
    (village / "accounts.csv").write_text("account_id\nA\n")
    atomic.check_output_folder(village / "results", inputs=[village])  # a new subfolder harms nothing
    for out in (village, tmp_path):
        with pytest.raises(OutputPathError, match="replacing it would delete the input"):
            atomic.check_output_folder(out, inputs=[village])
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.docx").write_text("precious")
    with pytest.raises(OutputPathError, match="not empty and holds no earlier cxinfluence output"):
        atomic.check_output_folder(tmp_path / "docs", inputs=[village])
    atomic.check_output_folder(tmp_path / "new", inputs=[village])  # fine


def cli(*args, env=None, **kw):
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, env=env or ENV, cwd=ROOT,
                          check=False, **kw)


def test_cli_machine_faults_exit_3_with_one_line(tiny_disk, tmp_path):
    res = cli("synth", "--accounts", 60, "--out", tiny_disk / "v")
    assert res.returncode == 5, res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "no space left" in res.stderr and str(tiny_disk / "v") in res.stderr
    assert leftovers(tiny_disk, "v") == [] and not (tiny_disk / "v").exists()


def test_cli_read_only_folder_exit_3_and_previous_output_intact(tmp_path):
    ro = _mount(tmp_path, "size=4m")
    try:
        assert cli("synth", "--accounts", 3, "--out", ro / "v").returncode == 0
        before = digest(ro / "v")
        if subprocess.run(["mount", "-o", "remount,ro", str(ro)], capture_output=True, check=False).returncode:
            pytest.skip("cannot remount read-only here")
        res = cli("synth", "--accounts", 3, "--seed", 5, "--force", "--out", ro / "v")
        assert res.returncode == 5 and "Traceback" not in res.stderr and res.stderr.count("\n") == 1
        assert f"cannot write {ro / 'v'}: the file system is read-only [EROFS]" in res.stderr
        assert "was left as it was" in res.stderr and digest(ro / "v") == before
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)


def test_cli_writes_into_a_new_folder_inside_the_village_and_leaves_the_village_as_it_was(tmp_path):
    """`cxinfluence run v --out v/out` (as people type it): outputs written, the village's files untouched."""
    village = tmp_path / "v"
    assert cli("synth", "--accounts", 3, "--seed", 2, "--out", village).returncode == 0
    before = digest(village)
    res = cli("run", village, "--out", village / "out", "-q", "--maps", 1)
    assert res.returncode in (0, 3) and "Traceback" not in res.stderr, res.stderr
    assert (village / "out" / "report.html").is_file() and (village / "out" / "influence.csv").is_file()
    assert {k: v for k, v in digest(village).items() if not k.startswith("out/")} == before
    assert cli("validate", village).returncode == 0  # the output folder does not disturb reading the village


# --------------------------------------------------------------------------- kills

WRITER = """
import sys, time
from cxinfluence.village.files import atomic_folder
out, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with atomic_folder(out, keep_foreign=True, manifest=True) as tmp:
    (tmp / "sub").mkdir()
    for i in range(n):
        (tmp / ("sub" if i % 3 == 0 else ".") / f"f{i}.txt").write_text(tag * 2000)
        time.sleep(0.003)
"""
SIGNALS = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]


def _expected(tmp_path, tag, n=20):
    ref = tmp_path / f"ref-{tag}"
    subprocess.run([sys.executable, "-c", WRITER, str(ref), tag, str(n)], env=ENV, check=True)
    return digest(ref)


def _kill_at_random(cmd, delay, sig, env):
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    time.sleep(delay)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_killed_writer_leaves_the_folder_wholly_old_or_wholly_new(tmp_path):
    """Kill a writer at random moments, each time with SIGKILL, SIGTERM or SIGINT (also during the swap)."""
    rng = random.Random(14)
    states = {"A": _expected(tmp_path, "A"), "B": _expected(tmp_path, "B")}
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-c", WRITER, str(out), "A", "20"], env=ENV, check=True)
    env = {**ENV, atomic.PAUSE_ENV: "0.02"}
    seen = set()
    for i in range(16):
        tag = "B" if i % 2 == 0 else "A"
        _rc, err = _kill_at_random([sys.executable, "-c", WRITER, str(out), tag, "20"], rng.uniform(0.0, 0.45),
                                  rng.choice(SIGNALS), env)
        assert "Traceback" not in err or "KeyboardInterrupt" in err
        now = digest(out)
        match = [k for k, d in states.items() if d == now]
        assert match, f"kill {i}: mixed folder {sorted(now)}"
        seen.add(match[0])
    subprocess.run([sys.executable, "-c", WRITER, str(out), "A", "20"], env=ENV, check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "ref-A", "ref-B"]  # no stale leftovers


@pytest.mark.slow
def test_killed_cli_leaves_the_folder_wholly_old_or_wholly_new(tmp_path):
    """`cxinfluence synth --force` killed at >= 50 random moments, including inside the swap."""
    rng = random.Random(1414)
    out = tmp_path / "v"
    states = {}
    for seed in (1, 2):
        ref = tmp_path / f"ref{seed}"
        assert cli("synth", "--accounts", 4, "--seed", seed, "--out", ref).returncode == 0
        states[seed] = digest(ref)
    assert cli("synth", "--accounts", 4, "--seed", 1, "--out", out).returncode == 0
    env = {**ENV, atomic.PAUSE_ENV: "0.15"}
    counts = {"old": 0, "new": 0}
    t0 = time.time()
    for i in range(50):
        seed = 1 + (i % 2 == 0)
        before = digest(out)
        # half the kills anywhere in the run, half aimed at the swap (after the staging folder is built)
        cmd = CLI + ["synth", "--accounts", "4", "--seed", str(seed), "--force", "--out", str(out)]
        sig = rng.choice(SIGNALS)
        if i % 2:
            rc, err = _kill_at_random(cmd, rng.uniform(0.0, 2.5), sig, env)
        else:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                    cwd=ROOT)
            line = ""
            while "[atomic] built" not in line and proc.poll() is None:
                line = proc.stderr.readline()
            time.sleep(rng.uniform(0.0, 0.5))  # inside the pauses: built, before exchange, exchanged
            proc.send_signal(sig)
            err = proc.communicate(timeout=60)[1]
            rc = proc.returncode
        now = digest(out)
        match = [k for k, d in states.items() if d == now]
        assert match, f"kill {i} (signal {sig}): mixed folder"
        counts["new" if now != before else "old"] += 1
        assert "Traceback" not in err
        if rc in (130, 143):  # SIGINT / SIGTERM: the message must say truthfully what happened
            assert ("left as it was" in err) or ("already complete" in err), err
            if "left as it was" in err:
                assert now == before, err
            else:
                assert now == states[seed], err
    assert cli("synth", "--accounts", 4, "--seed", 2, "--force", "--out", out).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref1", "ref2", "v"]
    print(f"50 kills in {time.time() - t0:.0f}s: {counts}")
    assert counts["old"] and counts["new"]


@pytest.mark.slow
def test_killed_cli_run_leaves_the_output_wholly_old_or_wholly_new(tmp_path):
    """`cxinfluence run` killed while it analyses, builds and swaps its output; messages are truthful."""
    import shutil

    rng = random.Random(2024)
    village = tmp_path / "village"
    assert cli("synth", "--accounts", 10, "--seed", 3, "--out", village).returncode == 0
    states = {}
    for maps in (1, 2):
        ref = tmp_path / f"ref{maps}"
        res = cli("run", village, "--out", ref, "-q", "--maps", maps)
        assert res.returncode == 0, res.stderr
        states[maps] = digest(ref)
    out = tmp_path / "out"
    shutil.copytree(tmp_path / "ref1", out)
    env = {**ENV, atomic.PAUSE_ENV: "0.3"}
    plan = [("anywhere", signal.SIGKILL), ("anywhere", signal.SIGINT)] + \
           [("swap", s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGTERM,
                                  signal.SIGKILL)]
    for i, (when, sig) in enumerate(plan):
        maps = 2 if i % 2 == 0 else 1
        before = digest(out)
        proc = subprocess.Popen(CLI + ["run", str(village), "--out", str(out), "--maps", str(maps)], env=env,
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if when == "anywhere":
            time.sleep(rng.uniform(1.0, 8.0))
        else:
            line = ""
            while "[atomic] built" not in line and proc.poll() is None:
                line = proc.stderr.readline()
            time.sleep(rng.uniform(0.0, 0.9))  # built / before exchange / exchanged
        proc.send_signal(sig)
        err = proc.communicate(timeout=120)[1]
        now = digest(out)
        assert now in (states[1], states[2]), f"kill {i} ({when}, {sig!r}): mixed folder"
        assert "Traceback" not in err, err
        if proc.returncode in (130, 143):
            last = err.strip().splitlines()[-1]
            assert last.startswith("terminated" if proc.returncode == 143 else "interrupted"), err
            assert ("left as it was" in last and now == before) or ("already complete" in last and now == states[maps])
    res = cli("run", village, "--out", out, "-q", "--maps", 1)
    assert res.returncode == 0 and digest(out) == states[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "ref1", "ref2", "village"]


def default_sigint():
    """Ctrl-C as a user's terminal delivers it: a suite started in the background (``make test &``) runs with
    SIGINT ignored, which its child processes would inherit (Python then installs no KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("step,sig,expected", [
    ("built", signal.SIGINT, "interrupted: {out} was left as it was (nothing was written to it)"),
    ("exchanged", signal.SIGTERM, ("terminated: the new output was already complete in {out} (only clean-up was "
                                   "cut short)")),
])
def test_interrupt_messages_say_what_happened(tmp_path, step, sig, expected):
    out = tmp_path / "v"
    assert cli("synth", "--accounts", 3, "--seed", 1, "--out", out).returncode == 0
    old = digest(out)
    env = {**ENV, atomic.PAUSE_ENV: "0.6"}
    proc = subprocess.Popen(CLI + ["synth", "--accounts", "3", "--seed", "2", "--force", "--out", str(out)], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    line = ""
    while f"[atomic] {step}" not in line and proc.poll() is None:
        line = proc.stderr.readline()
    time.sleep(0.2)
    proc.send_signal(sig)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == (130 if sig == signal.SIGINT else 143)
    assert err.strip().splitlines()[-1] == expected.format(out=out)
    assert (digest(out) == old) == (step == "built")
    if step == "exchanged":  # cut short while deleting the old output: the next run removes what is left
        assert cli("synth", "--accounts", 3, "--seed", 1, "--force", "--out", out).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v"]


def test_cli_permission_denied_on_an_input_is_one_line_exit_3(tmp_path, monkeypatch, capsys):
    """We run as root (chmod does not stop us), so the refusal is injected where the file is read."""
    import cxinfluence.village.read as cio
    from cxinfluence.pipeline import cli as cx_cli

    folder = tmp_path / "v"
    folder.mkdir()
    for name in ("accounts", "stakeholders", "relationships", "responses", "outcomes"):
        (folder / f"{name}.csv").write_text("x\n")

    def refused(path, name=None):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(cio, "read_csv_table", refused)
    assert cx_cli.main(["validate", str(folder)]) == 5
    err = capsys.readouterr().err
    assert err == f"error: cannot use {folder / 'accounts.csv'}: permission denied [EACCES]\n"


@pytest.mark.slow
def test_cli_run_disk_full_keeps_the_previous_output(tmp_path):
    village = tmp_path / "village"
    assert cli("synth", "--accounts", 10, "--seed", 3, "--out", village).returncode == 0
    disk = _mount(tmp_path, "size=1200k")
    try:
        res = cli("run", village, "--out", disk / "out", "-q", "--maps", 0)
        assert res.returncode == 0, res.stderr
        before = digest(disk / "out")
        res = cli("run", village, "--out", disk / "out", "-q", "--maps", -1)
        assert res.returncode == 5 and "Traceback" not in res.stderr and res.stderr.count("\n") == 1, res.stderr
        assert "no space left on the device (disk full) [ENOSPC]" in res.stderr
        assert f"{disk / 'out'} was left as it was" in res.stderr
        assert digest(disk / "out") == before and leftovers(disk, "out") == []
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_an_interrupt_that_lands_in_a_gc_callback_is_delivered_again_without_a_traceback():
    """Ctrl-C during garbage collection: Python would print "Exception ignored ... Traceback" and go on."""
    code = ("import sys, time\n"
            "from types import SimpleNamespace\n"
            "from cxinfluence.pipeline import cli\n"
            "hit = SimpleNamespace(exc_type=KeyboardInterrupt, exc_value=KeyboardInterrupt(), exc_traceback=None,\n"
            "                      err_msg=None, object=None)\n"
            "try:\n"
            "    cli._interrupt_again(hit)\n"
            "    time.sleep(5)\n"
            "    print('not interrupted')\n"
            "except KeyboardInterrupt:\n"
            "    print('interrupted again')\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=60,
                         preexec_fn=default_sigint)
    assert res.stdout.strip() == "interrupted again" and "Traceback" not in res.stderr, res.stderr
