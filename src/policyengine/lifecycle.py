"""Processes and temporary files are left clean: fork-safe locks, owned temporary names,
stale-file sweeps and workers that die with their parent.

Three rules (``docs/hardening.md``, "Processes and temporary files"):

- **No fork while another thread holds a lock.** Every lock of the library is made with
  :func:`fork_safe`: before any ``fork`` of the process (ours or a caller's) the forking
  thread takes all of them, innermost last, so no other thread is inside a guarded section
  (the durable-rules C extension above all) at the instant of the fork; the parent
  releases them after it, and the child, whose only thread is the one that took them,
  releases them too. A child therefore starts with every lock free and every guarded state
  whole, however many threads the parent runs.
- **Temporary names say who owns them.** A temporary file or directory is named
  ``policyengine-<pid>-<host>-<random>`` (``<host>``: 8 hex digits of a hash of the host
  name), so a later run can tell a file of a killed run from one of a running process.
- **What a killed run left is removed by the next one.** :func:`sweep_stale` removes, in
  the one directory it is given, entries that match that pattern exactly, belong to this
  host and this user, whose process is gone and which have not changed for
  :data:`STALE_SECONDS`. Anything else is left alone.

The library never installs signal handlers (the CLI does): a signal the caller turns into
an exception unwinds the context managers that remove temporary files and stop workers.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

PREFIX = "policyengine"
STALE_SECONDS = 10.0  # a dead run's file untouched this long is removed by the next run

_LockT = TypeVar("_LockT")
_FORK_LOCKS: list[tuple[int, int, object]] = []  # (rank, order registered, lock)
_FORK_HELD = threading.local()  # the locks the forking thread took (one list per thread)


def fork_safe(lock: _LockT, rank: int) -> _LockT:
    """Register a ``threading.Lock``/``RLock`` to be held across every ``fork``; returns it.

    ``rank`` orders the acquisition: a lock that may be taken while another is held (the
    inner one) must have the higher rank, so that the forking thread and any other thread
    take them in the same order. Never fork while holding a registered plain ``Lock``.
    """
    _FORK_LOCKS.append((rank, len(_FORK_LOCKS), lock))
    _FORK_LOCKS.sort(key=lambda entry: entry[:2])
    return lock


def _before_fork() -> None:
    held: list[object] = []
    _FORK_HELD.locks = held
    try:
        for _rank, _order, lock in list(_FORK_LOCKS):
            lock.acquire()  # type: ignore[attr-defined]
            held.append(lock)
    except BaseException:  # e.g. a caller's signal handler raised here: take none
        _after_fork()
        raise


def _after_fork() -> None:
    """In the parent and in the child: the thread that took the locks releases them."""
    held: list[object] = getattr(_FORK_HELD, "locks", [])
    try:
        while held:
            held[-1].release()  # type: ignore[attr-defined]
            held.pop()
    finally:
        while held:  # interrupted (a caller's signal handler raised): release the rest
            held.pop().release()  # type: ignore[attr-defined]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork,
                        after_in_child=_after_fork)


# -- signals held while a process forks ------------------------------------------------------
def _catchable() -> list[int]:
    import signal

    uncatchable = {getattr(signal, name, None) for name in ("SIGKILL", "SIGSTOP")}
    return sorted(int(number) for number in signal.valid_signals() if number not in uncatchable)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold back every catchable signal meanwhile; deliver what arrived when the block ends.

    For sections that must not be cut in two, above all forking workers: a child is forked
    with every catchable signal blocked (it inherits the forking thread's mask, and sets up
    its own handlers before it unblocks them), and no Python signal handler of this
    process runs inside the section.

    Blocking (``pthread_sigmask``) alone does not do that: the mask is per thread, so a
    signal sent to the process while the main thread blocks it is taken by any other
    thread that does not (tqdm's monitor thread, a caller's thread), whose C handler marks
    it pending; CPython then runs the Python handler in the main thread at its next
    bytecode boundary, mask or not, possibly inside an at-fork hook (where an exception is
    printed as "Exception ignored in ... _after_fork" and lost) or between a fork and the
    pool's record of the child. So, in the main thread, every Python handler is also
    swapped for one that only notes the signal meanwhile; when the section ends the
    handlers are put back and each noted signal is raised again (``signal.raise_signal``),
    once, in the order it came: the original handler then runs at once, outside the
    section. Elsewhere than in the main thread (where no Python handler runs) only the
    mask is set. Raises what the handlers raise then (e.g. ``KeyboardInterrupt``).
    """
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    noted: list[int] = []

    def note(signum: int, _frame: object) -> None:
        if signum not in noted:
            noted.append(signum)

    swapped: dict[int, object] = {}
    try:
        if threading.current_thread() is threading.main_thread():
            for number in _catchable():
                handler = signal.getsignal(number)
                if callable(handler):
                    signal.signal(number, note)
                    swapped[number] = handler
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, _catchable())
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # noted, if pending
    finally:
        for number, handler in swapped.items():
            signal.signal(number, handler)  # type: ignore[arg-type]
        for signum in noted:
            signal.raise_signal(signum)


# -- owned temporary names ----------------------------------------------------------------
def _host_tag() -> str:
    return f"{zlib.crc32(socket.gethostname().encode('utf-8', 'replace')):08x}"


HOST = _host_tag()
_OWNED = re.compile(rf"{PREFIX}-(?P<pid>[1-9][0-9]{{0,9}})-(?P<host>[0-9a-f]{{8}})-"
                    r"[a-z0-9_]{8}")


def owned_prefix(hidden_for: str | None = None) -> str:
    """The prefix of a temporary name of this process (give it to ``tempfile``).

    ``policyengine-<pid>-<host>-``; with ``hidden_for`` (a file name), the hidden name of a
    file written beside it: ``.<name>.policyengine-<pid>-<host>-``. ``tempfile`` adds 8
    random characters; a ``hidden_for`` name longer than 180 bytes is cut there.
    """
    prefix = f"{PREFIX}-{os.getpid()}-{HOST}-"
    if hidden_for is None:
        return prefix
    # a name has at most 255 bytes: a long one is cut (at a whole character)
    name = hidden_for.encode("utf-8", "surrogateescape")[:180].decode("utf-8", "ignore")
    return f".{name}.{prefix}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process, or we cannot tell: keep its files
    return True


def stale_owner(name: str) -> int | None:
    """The pid in a name of our pattern that belongs to a dead process of this host, else None.

    Matches ``policyengine-<pid>-<host>-<8 characters>`` or ``.<file>.`` followed by that;
    anything else (including ``policyengine-fuzz-...`` or another host's files) is None.
    """
    body = name
    if name.startswith("."):
        cut = name.rfind(f".{PREFIX}-")
        if cut <= 0:
            return None
        body = name[cut + 1:]
    match = _OWNED.fullmatch(body)
    if match is None or match["host"] != HOST:
        return None
    pid = int(match["pid"])
    if pid == os.getpid() or _pid_alive(pid):
        return None
    return pid


def sweep_stale(directory: str | os.PathLike[str], *, hidden: bool = False,
                older_than: float = STALE_SECONDS) -> list[Path]:
    """Remove what killed runs of this host left in ``directory``; returns what was removed.

    Only entries named by :func:`owned_prefix` (hidden files beside an output when
    ``hidden``, else ``policyengine-...`` directories and files) whose process is dead, that
    this user owns and that nothing changed for ``older_than`` seconds. Symbolic links are
    never followed nor removed. Best effort: a problem (permissions, a race with another
    sweep) leaves the entry and raises nothing.
    """
    removed: list[Path] = []
    now = time.time()
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if entry.name.startswith(".") != hidden or stale_owner(entry.name) is None:
            continue
        try:
            status = entry.stat(follow_symlinks=False)
            if entry.is_symlink() or (uid is not None and status.st_uid != uid):
                continue
            if now - status.st_mtime < older_than:
                continue
            if entry.is_dir(follow_symlinks=False):
                if hidden:
                    continue  # an output's temporary is a file
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


# -- workers die with their parent ----------------------------------------------------------
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> str:
    """In a forked worker: end when ``parent`` (the pid that forked it) ends, however it ends.

    Linux: the kernel sends SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``),
    even when the parent is killed with SIGKILL. Elsewhere a daemon thread checks the
    parent every half second. A parent already gone ends the worker at once. Returns how
    (``"pdeathsig"`` or ``"watchdog"``).
    """
    import signal

    how = "watchdog"
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0:
            how = "pdeathsig"
    if os.getppid() != parent:  # died before the kernel was told
        os._exit(1)
    if how == "watchdog":
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                         name="policyengine-watch-parent").start()
    return how


def _watch_parent(parent: int) -> None:  # pragma: no cover - not Linux
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


__all__ = ["HOST", "PREFIX", "STALE_SECONDS", "die_with_parent", "fork_safe", "owned_prefix",
           "signals_held", "stale_owner", "sweep_stale"]
