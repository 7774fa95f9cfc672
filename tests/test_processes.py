"""Processes and temporary files are left clean (issue 16 part 5, docs/hardening.md).

- Each stop signal is sent to a real ``policyengine evaluate`` subprocess mid-run (reading,
  evaluating in forked workers, writing the report): the exit code and its one line, no
  file left in its private ``$TMPDIR`` or beside ``--output``, no process of its process
  group left (the CLI runs in a session of its own, so every worker is in that group).
- SIGKILL cannot be caught: the workers still die with it (parent-death signal), and what
  the run left is removed by the next run, once it is a few seconds old; the sweep
  removes only our own pattern, of dead processes, of this host and this user.
- A forked worker never inherits a lock held by another thread: ``write_json(workers=2)``
  with threads using the durable engine meanwhile ends (in a subprocess with a timeout,
  so a deadlock fails the test instead of hanging it), with the single-threaded report.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import policyengine
from policyengine import lifecycle
from policyengine.stream.pool import CAN_FORK, run_forked

ROOT = Path(__file__).resolve().parents[1]
POLICY = "policies/spirion"
SMALL_FACTS = "examples/october-2026.yaml"
AS_OF = "2026-11-27T12:00:00-05:00"
OLD = "old report\n"
TIMEOUT = 60

pytestmark = pytest.mark.skipif(not (CAN_FORK and sys.platform.startswith("linux")),
                                reason="needs fork and /proc (Linux)")


@pytest.fixture(scope="module")
def big_facts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20,000 facts (4.4 MB of NDJSON): above the 4 MB at which readers are forked, and
    long enough (about a second on a laptop) that every phase can be caught."""
    path = tmp_path_factory.mktemp("facts") / "facts.ndjson"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--facts", "20000",
                    "--out", str(path)], check=True, capture_output=True, timeout=120)
    return path


def _group(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry))
    return found


def _children(pid: int) -> list[int]:
    return [p for p in _group(pid) if p != pid]


def _group_gone(pgid: int, seconds: float = 5.0) -> list[int]:
    """Wait until no process of the group is left; what is left after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (left := _group(pgid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def _dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    tmp.mkdir()
    out.mkdir()
    output = out / "report.json"
    output.write_text(OLD, encoding="utf-8")
    return tmp, out, output


def _start(facts: Path | str, tmp: Path, output: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "policyengine", "evaluate", "--policy", POLICY,
               "--facts", str(facts), "--as-of", AS_OF, "--workers", "2",
               "--output", str(output)]
    env = {**os.environ, "TMPDIR": str(tmp)}

    def child() -> None:  # as a shell starts a foreground command: Ctrl-C not ignored
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=child)


def _reading(tmp: Path, out: Path, pid: int) -> bool:
    """Forked readers at work: parts of shards in the run's 'parallel' directory."""
    return any(tmp.glob("policyengine-*/parallel/shard-*.facts")) and bool(_children(pid))


def _evaluating(tmp: Path, out: Path, pid: int) -> bool:
    """Forked evaluation workers at work: their row files exist."""
    return any(tmp.glob("policyengine-*/w1-*.rows")) and bool(_children(pid))


def _writing(tmp: Path, out: Path, pid: int) -> bool:
    """The report is being written to its hidden temporary file beside --output."""
    return any(p.name.startswith(".report.json.") and p.stat().st_size
               for p in out.iterdir())


PHASES: dict[str, Callable[[Path, Path, int], bool]] = {
    "reading": _reading, "evaluating": _evaluating, "writing": _writing}


def _run_until(phase: str, facts: Path, tmp: Path, out: Path,
               output: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    """Start the CLI and return once it is in ``phase``, with its worker pids then."""
    process = _start(facts, tmp, output)
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            if PHASES[phase](tmp, out, process.pid):
                return process, _children(process.pid)
        except OSError:  # a file went away while looked at
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, stderr = process.communicate()
            pytest.fail(f"never caught {phase}: exit {process.returncode}, {stderr.decode()}")
        time.sleep(0.002)


@pytest.mark.parametrize(("phase", "signame", "to_group", "code", "word"), [
    ("reading", "SIGTERM", False, 143, "terminated"),
    ("evaluating", "SIGTERM", False, 143, "terminated"),
    ("writing", "SIGTERM", False, 143, "terminated"),
    # SIGHUP killed the CLI outright: partial report and shard directory left, workers on
    ("evaluating", "SIGHUP", False, 129, "hung up"),
    # Ctrl-C in a terminal reaches the whole process group; workers leave it to the parent
    ("evaluating", "SIGINT", True, 130, "interrupted"),
    ("writing", "SIGINT", False, 130, "interrupted"),
    # every other signal whose default action ends the process (attack16 F13): before, the
    # CLI died at once (exit -10, -14, -3), silent, the shard directory left in $TMPDIR
    ("evaluating", "SIGUSR1", False, 128 + 10, "stopped by SIGUSR1"),
    ("evaluating", "SIGALRM", True, 128 + 14, "stopped by SIGALRM"),
    ("evaluating", "SIGQUIT", True, 128 + 3, "stopped by SIGQUIT"),  # Ctrl-\ in a terminal
    ("reading", "SIGXCPU", False, 128 + 24, "stopped by SIGXCPU"),
], ids=["sigterm-while-reading", "sigterm-while-evaluating", "sigterm-while-writing",
        "sighup-while-evaluating", "ctrl-c-to-the-group-while-evaluating",
        "sigint-while-writing", "sigusr1-while-evaluating", "sigalrm-to-the-group",
        "ctrl-backslash-sigquit-to-the-group", "sigxcpu-while-reading"])
def test_stop_signal_leaves_no_file_and_no_process(
        tmp_path: Path, big_facts: Path, phase: str, signame: str, to_group: bool,
        code: int, word: str) -> None:
    tmp, out, output = _dirs(tmp_path)
    process, workers = _run_until(phase, big_facts, tmp, out, output)
    if phase != "writing":
        assert len(workers) >= 2, workers  # forked workers were at work when signalled
    number = getattr(signal, signame)
    if to_group:
        os.killpg(process.pid, number)
    else:
        process.send_signal(number)
    _, stderr = process.communicate(timeout=TIMEOUT)
    assert process.returncode == code, stderr.decode()
    assert stderr.decode().splitlines() == [f"policyengine: {word}; nothing was written"]
    assert _group_gone(process.pid) == []
    assert sorted(os.listdir(tmp)) == []
    assert sorted(os.listdir(out)) == ["report.json"]
    assert output.read_text(encoding="utf-8") == OLD


def test_sigkill_kills_the_workers_and_the_next_run_removes_what_it_left(
        tmp_path: Path, big_facts: Path) -> None:
    tmp, out, output = _dirs(tmp_path)
    process, _ = _run_until("writing", big_facts, tmp, out, output)
    process.kill()
    process.communicate(timeout=TIMEOUT)
    assert process.returncode == -signal.SIGKILL
    assert _group_gone(process.pid) == []  # no orphan: each worker died with its parent
    [shards] = os.listdir(tmp)  # left: the shard directory and the partial report
    [partial] = [name for name in os.listdir(out) if name != "report.json"]
    assert shards.startswith(f"policyengine-{process.pid}-{lifecycle.HOST}-")
    assert partial.startswith(f".report.json.policyengine-{process.pid}-{lifecycle.HOST}-")

    def next_run() -> None:
        done = subprocess.run([sys.executable, "-m", "policyengine", "evaluate", "--policy",
                               POLICY, "--facts", SMALL_FACTS, "--as-of", AS_OF,
                               "--workers", "2", "--output", str(output)],
                              cwd=ROOT, env={**os.environ, "TMPDIR": str(tmp)},
                              capture_output=True, timeout=TIMEOUT)
        assert done.returncode == 0, done.stderr.decode()

    next_run()  # seconds old: could be a run that is still ending; kept
    assert os.listdir(tmp) == [shards]
    assert sorted(os.listdir(out)) == sorted([partial, "report.json"])
    an_hour_ago = time.time() - 3600
    for path in (tmp / shards, out / partial):
        os.utime(path, (an_hour_ago, an_hour_ago))
    next_run()
    assert os.listdir(tmp) == []
    assert os.listdir(out) == ["report.json"]
    assert output.read_text(encoding="utf-8").startswith("{")


# -- the sweep: only our own pattern, only dead processes, only old enough -----------------
def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _old(path: Path) -> Path:
    then = time.time() - 3600
    os.utime(path, (then, then), follow_symlinks=False)
    return path


def test_sweep_removes_only_old_entries_of_dead_processes_of_this_host(
        tmp_path: Path) -> None:
    dead, alive, host = _dead_pid(), os.getppid(), lifecycle.HOST
    other_host = "0" * 8 if host != "0" * 8 else "1" * 8
    stale_dir = tmp_path / f"policyengine-{dead}-{host}-abcd_123"
    stale_dir.mkdir()
    (stale_dir / "shard-0000.0.facts").write_bytes(b"x")
    _old(stale_dir)
    stale_file = tmp_path / f"policyengine-{dead}-{host}-zzzzzzzz"
    stale_file.write_bytes(b"")
    _old(stale_file)
    kept = {
        f"policyengine-{alive}-{host}-abcdefgh": "a live process",
        f"policyengine-{os.getpid()}-{host}-abcdefgh": "this process",
        f"policyengine-{dead}-{other_host}-abcdefgh": "another host (a shared directory)",
        f"policyengine-{dead}-{host}-abcdefg": "7 random characters: not tempfile's",
        f"policyengine-{dead}-{host}-abcdefgh.bak": "something after the pattern",
        "policyengine-fuzz-abcdefgh": "not a pid",
        f"policyengine-0{dead}-{host}-abcdefgh": "a leading zero",
        f".report.json.policyengine-{dead}-{host}-abcdefgh": "hidden: an output's, not here",
    }
    for name in kept:
        (tmp_path / name).write_bytes(b"")
        _old(tmp_path / name)
    fresh = tmp_path / f"policyengine-{dead}-{host}-fresh123"
    fresh.mkdir()  # a dead run's, but seconds old: its workers may still be ending
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / f"policyengine-{dead}-{host}-linklink"
    link.symlink_to(target)
    _old(link)

    removed = lifecycle.sweep_stale(tmp_path)

    assert sorted(p.name for p in removed) == sorted([stale_dir.name, stale_file.name])
    assert sorted(os.listdir(tmp_path)) == sorted(
        [*kept, fresh.name, target.name, link.name])
    assert target.is_dir()  # a link is neither followed nor removed


def test_sweep_beside_an_output_removes_hidden_files_only(tmp_path: Path) -> None:
    dead, host = _dead_pid(), lifecycle.HOST
    partial = tmp_path / f".report.json.policyengine-{dead}-{host}-abcdefgh"
    partial.write_bytes(b"{")
    _old(partial)
    other = tmp_path / f".other.md.policyengine-{dead}-{host}-abcdefgh"
    other.write_bytes(b"#")
    _old(other)  # another output's partial file in the same directory goes too
    for name in (f"policyengine-{dead}-{host}-abcdefgh",  # not hidden: $TMPDIR's pattern
                 f".report.json.{dead}-{host}-abcdefgh",  # not ours
                 "report.json"):
        (tmp_path / name).write_bytes(b"")
        _old(tmp_path / name)
    hidden_dir = tmp_path / f".x.policyengine-{dead}-{host}-abcdefgh"
    hidden_dir.mkdir()
    _old(hidden_dir)  # an output's temporary is never a directory

    removed = lifecycle.sweep_stale(tmp_path, hidden=True)

    assert sorted(p.name for p in removed) == sorted([partial.name, other.name])
    assert hidden_dir.is_dir()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="giving a file to another user needs root")
def test_sweep_leaves_another_users_files(tmp_path: Path) -> None:
    path = tmp_path / f"policyengine-{_dead_pid()}-{lifecycle.HOST}-abcdefgh"
    path.write_bytes(b"")
    os.chown(path, 54321, 54321)
    _old(path)
    assert lifecycle.sweep_stale(tmp_path) == []
    assert path.exists()


def test_owned_names_parse_back_and_long_output_names_are_cut() -> None:
    prefix = lifecycle.owned_prefix()
    assert prefix == f"policyengine-{os.getpid()}-{lifecycle.HOST}-"
    long = "é" * 200 + ".json"  # 405 bytes: the hidden name must stay under 255
    hidden = lifecycle.owned_prefix(long)
    assert len((hidden + "abcdefgh").encode()) <= 255
    assert hidden.startswith("." + "é" * 90 + ".policyengine-")  # 180 bytes, whole chars
    assert lifecycle.stale_owner(prefix + "abcdefgh") is None  # this process: alive
    dead = _dead_pid()
    assert lifecycle.stale_owner(f"{hidden[:1]}x.policyengine-{dead}-{lifecycle.HOST}-"
                                 "abcdefgh") == dead


# -- workers: stopped when the wait ends, dead with their parent -----------------------------
def _sleep_and_tell(shared: Path, job: int) -> None:  # pragma: no cover - in a worker
    (shared / f"worker-{job}.pid").write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(60)


def test_interrupted_wait_kills_the_workers_before_it_raises(tmp_path: Path) -> None:
    """Before: the pool waited for every job to end (here 60 s) before the interrupt left."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_forked(_sleep_and_tell, tmp_path, [(1,), (2,)])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - started < 10
    pids = [int(p.read_text(encoding="utf-8")) for p in sorted(tmp_path.glob("worker-*"))]
    assert len(pids) == 2
    for pid in pids:  # killed and reaped: no such process any more
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _how_it_dies(shared: None) -> str:  # pragma: no cover - in a worker
    return (f"{signal.getsignal(signal.SIGINT) is signal.SIG_IGN} "
            f"{signal.getsignal(signal.SIGTERM) is signal.SIG_DFL} "
            f"{_pdeathsig()} "
            f"{signal.getsignal(signal.SIGQUIT) is signal.SIG_IGN} "
            f"{signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL} "
            f"{sorted(signal.pthread_sigmask(signal.SIG_BLOCK, []))}")


def _pdeathsig() -> int:
    import ctypes

    value = ctypes.c_int(0)
    ctypes.CDLL(None).prctl(2, ctypes.byref(value), 0, 0, 0)  # PR_GET_PDEATHSIG
    return value.value


def test_a_worker_dies_with_its_parent_and_leaves_stop_signals_to_it() -> None:
    """Ctrl-C and Ctrl-\\ (the whole group) are the parent's; every other signal that has a
    Python handler in the parent (here SIGUSR1) gets its default action back; nothing
    stays blocked."""
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: None)
    try:
        assert run_forked(_how_it_dies, None, [()]) == [
            f"True True {int(signal.SIGKILL)} True True []"]
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_signals_held_deliver_after_the_section_what_arrived_in_it() -> None:
    """A handler never runs inside the section (nor in an at-fork hook in it), and what
    arrived runs once, right after, in the order it came."""
    from policyengine.lifecycle import signals_held

    seen: list[str] = []

    def handler(signum: int, frame: Any) -> None:
        seen.append(signal.Signals(signum).name)

    previous = {n: signal.signal(n, handler) for n in (signal.SIGUSR1, signal.SIGUSR2)}
    try:
        with signals_held():
            os.kill(os.getpid(), signal.SIGUSR2)
            os.kill(os.getpid(), signal.SIGUSR1)
            os.kill(os.getpid(), signal.SIGUSR2)  # twice: once after
            for _ in range(1000):  # bytecode boundaries where a handler could run
                pass
            assert seen == []
            assert signal.getsignal(signal.SIGUSR1) is not handler  # swapped meanwhile
        assert sorted(seen) == ["SIGUSR1", "SIGUSR2"]
        assert signal.getsignal(signal.SIGUSR1) is handler
        assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == set()
    finally:
        for number, handler_before in previous.items():
            signal.signal(number, handler_before)


# -- no fork while another thread holds a lock -----------------------------------------------
def _library_locks() -> list[tuple[str, Any]]:
    """Every module-level lock of the package (imported module by module)."""
    lock_types = (type(threading.Lock()), type(threading.RLock()))
    found = []
    for module in pkgutil.walk_packages(policyengine.__path__, "policyengine."):
        if module.name.endswith("__main__"):
            continue
        loaded = importlib.import_module(module.name)
        for name, value in vars(loaded).items():
            if isinstance(value, lock_types):
                found.append((f"{module.name}.{name}", value))
    return found


def test_every_lock_of_the_library_is_held_across_a_fork() -> None:
    """The kind, not the instance: a lock added later without fork_safe fails here."""
    locks = _library_locks()  # imports every module, which registers its locks
    registered = {id(entry[-1]) for entry in lifecycle._FORK_LOCKS}
    assert len(locks) >= 6  # registry (3), compile cache, GC pause, durable engine
    assert [name for name, lock in locks if id(lock) not in registered] == []


def _try_lock(shared: Any, name: str) -> bool:  # pragma: no cover - in a worker
    return dict(_library_locks())[name].acquire(timeout=5)


@pytest.mark.parametrize("name", ["policyengine.engine.durable_backend.ENGINE_LOCK",
                                  "policyengine.api._COMPILE_LOCK",
                                  "policyengine.clauses.registry._lock"])
def test_a_worker_never_inherits_a_lock_another_thread_holds(name: str) -> None:
    """Before: the worker inherited the lock held and waited for it forever (here 5 s)."""
    lock = dict(_library_locks())[name]
    taken, release = threading.Event(), threading.Event()

    def holder() -> None:
        with lock:
            taken.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    taken.wait(10)
    threading.Timer(0.5, release.set).start()  # the fork waits for the holder to let go
    try:
        assert run_forked(_try_lock, None, [(name,)]) == [True]
    finally:
        release.set()
        thread.join()


THREADED_WRITE_JSON = f"""
import io, threading
from policyengine.api import Engine
engine = Engine.load({POLICY!r}, backend="durable")
facts, as_of = [{SMALL_FACTS!r}], {AS_OF!r}
alone = io.StringIO()
engine.write_json(facts, alone, as_of=as_of, workers=1)
stop, runs = threading.Event(), []
def busy():
    while not stop.is_set():
        runs.append(len(engine.evaluate(facts, as_of=as_of).findings))
threads = [threading.Thread(target=busy) for _ in range(2)]
for thread in threads:
    thread.start()
reports = set()
for _ in range(8):
    out = io.StringIO()
    summary = engine.write_json(facts, out, as_of=as_of, workers=2, shards=4)
    assert summary.workers == 2, summary.workers
    reports.add(out.getvalue())
stop.set()
for thread in threads:
    thread.join()
assert reports == {{alone.getvalue()}}, "a report differs"
assert len(runs) > 0 and len(set(runs)) == 1, runs
print("ok", len(runs))
"""


def test_write_json_with_workers_while_threads_use_the_durable_engine(tmp_path: Path) -> None:
    """Before: the forked workers inherited ENGINE_LOCK held by a busy thread: a deadlock."""
    pytest.importorskip("durable_rules_engine")
    process = subprocess.Popen([sys.executable, "-c", THREADED_WRITE_JSON], cwd=ROOT,
                               env={**os.environ, "TMPDIR": str(tmp_path)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("write_json(workers=2) did not end: deadlocked")
    assert process.returncode == 0, stderr.decode()
    assert stdout.decode().startswith("ok ")
    assert os.listdir(tmp_path) == []


# -- the CLI's signal handlers -----------------------------------------------------------
def test_a_signal_ignored_at_start_stays_ignored_and_handlers_come_back() -> None:
    """``nohup policyengine ...`` must survive the hang-up; in-process runs (the fuzzer,
    tests) get their handlers back."""
    from policyengine.cli import common

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    before_term = signal.getsignal(signal.SIGTERM)
    try:
        with common._stop_signals_unwind():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is common._stop
            assert signal.getsignal(signal.SIGINT) is common._stop
        assert signal.getsignal(signal.SIGTERM) is before_term
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_every_signal_that_would_end_the_process_unwinds_but_a_callers_handler_stays() -> None:
    """The kind (attack16 F13): every catchable signal whose default action ends the process
    (faults excepted) is taken over while a command runs; a caller's own handler (the
    fuzzer's SIGALRM time limit) and what Python ignores (SIGPIPE: a closed reader is
    BrokenPipeError, exit 141; SIGXFSZ: a write over the size limit is an OSError, exit 2)
    are left alone."""
    from policyengine.cli import common

    names = {common.signal_name(n) for n in common.stop_signals()}
    assert {"SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGPIPE", "SIGALRM",
            "SIGTERM", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGRTMIN+1"} <= names
    assert not names & {"SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT", "SIGCHLD",
                        "SIGCONT", "SIGWINCH", "SIGTSTP", "SIGKILL", "SIGSTOP"}
    assert common.stop_line(int(signal.SIGUSR1)) == (
        "policyengine: stopped by SIGUSR1; nothing was written")

    def mine(signum: int, frame: Any) -> None:
        raise AssertionError

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        with common._stop_signals_unwind():
            for number in common.stop_signals():
                expected = (mine if number == signal.SIGALRM else signal.SIG_IGN
                            if number in (signal.SIGPIPE, signal.SIGXFSZ) else common._stop)
                assert signal.getsignal(number) is expected, common.signal_name(number)
        assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL
        assert signal.getsignal(signal.SIGALRM) is mine
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_the_fuzzers_leftover_check_sees_a_file_and_a_running_child(tmp_path: Path) -> None:
    """bench/fuzz.py fails a case that leaves a file in its $TMPDIR or a process running."""
    from tests.test_fuzz import fuzz

    before = fuzz._children()
    (tmp_path / "policyengine-1-abcdef01-abcdefgh").mkdir()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        problem = fuzz.leftovers(tmp_path, before, wait=0.2)
    finally:
        child.kill()
        child.wait()
    assert problem == ("left 1 file(s) in $TMPDIR: policyengine-1-abcdef01-abcdefgh; "
                       f"left 1 child process(es) running: [{child.pid}]")
    assert os.listdir(tmp_path) == []  # emptied for the next case
    assert fuzz.leftovers(tmp_path, before, wait=0.2) == ""


def test_a_clean_up_that_hangs_after_a_stop_signal_ends_after_its_grace(tmp_path: Path) -> None:
    """The clean-up after SIGTERM gets STOP_GRACE_SECONDS (here 1 s), then the process kills
    its children and exits 143 anyway, with the usual line: a stop never hangs."""
    import signal as signals
    import subprocess as sp
    import sys as system
    import time as clock

    script = tmp_path / "hang.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "from policyengine.cli import common\n"
        "common.STOP_GRACE_SECONDS = 1\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "open(sys.argv[1], 'w').write(str(child.pid))\n"
        "@common.handles_errors\n"
        "def command():\n"
        "    try:\n"
        "        time.sleep(60)\n"
        "    finally:\n"
        "        time.sleep(60)  # a clean-up that never ends\n"
        "command()\n", encoding="utf-8")
    marker = tmp_path / "child.pid"
    run = sp.Popen([system.executable, str(script), str(marker)], stderr=sp.PIPE, text=True)
    deadline = clock.monotonic() + 30
    while not (marker.exists() and marker.read_text()) and clock.monotonic() < deadline:
        clock.sleep(0.05)
    child = int(marker.read_text())
    run.send_signal(signals.SIGTERM)
    _, stderr = run.communicate(timeout=45)  # the clean-up alone would take 60 s
    assert (run.returncode, stderr) == (143, "policyengine: terminated; nothing was written\n")
    clock.sleep(0.2)
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text(
    ).split(")")[1].split()[0]
