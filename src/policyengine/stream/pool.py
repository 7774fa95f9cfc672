"""Run jobs in forked worker processes, with the standard library's process pool.

The streamed evaluation hands its workers a compiled policy and the fleet-wide facts by
``fork`` (nothing of that is pickled: :class:`concurrent.futures.ProcessPoolExecutor`
with a ``fork`` context passes ``initargs`` to the children it forks as they are); only
each job's small arguments and result cross a pipe.

Workers are left clean (``docs/hardening.md``, "Processes and temporary files"):

- a worker dies with the process that forked it, however that ends (SIGKILL too):
  :func:`policyengine.lifecycle.die_with_parent`, the kernel's parent-death signal on Linux;
- when the caller stops waiting (an exception, or a signal the caller turned into one:
  ``KeyboardInterrupt``, the CLI's SIGTERM and SIGHUP) every worker is killed at once, and
  gone before the exception leaves :func:`run_forked`, so the caller's context managers
  remove the files the workers wrote; nothing runs to the end of its job unwatched;
- a worker ignores SIGINT and SIGQUIT (Ctrl-C and Ctrl-\\ reach the whole process group;
  the parent decides) and ends quietly on every other signal the CLI stops on; signals are
  held while the workers are forked (:func:`policyengine.lifecycle.signals_held`), so none
  reaches a worker before it has set that up and no handler of the parent runs mid-fork;
- threads are allowed: the library's locks are held across the fork
  (:func:`policyengine.lifecycle.fork_safe`), so no worker inherits one held.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from policyengine.lifecycle import die_with_parent, signals_held

CAN_FORK = "fork" in multiprocessing.get_all_start_methods()

_SHARED: Any = None  # in a worker: what the parent shared by fork
#: Signals a terminal sends to its whole foreground group (Ctrl-C, Ctrl-\): a worker
#: ignores them, the parent decides and stops its workers.
_GROUP_KEYS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGQUIT")
                    if hasattr(signal, name))


class WorkerFailed(Exception):
    """A job raised (the message holds its traceback) or its process died."""


def run_forked(function: Callable[..., Any], shared: Any,
               arguments: Sequence[tuple[Any, ...]],
               poll: Callable[[], None] | None = None) -> list[Any]:
    """``function(shared, *args)`` for every ``args`` of ``arguments``, each in a process.

    One forked process per job, all at once; results come back in the order of
    ``arguments``. ``function`` (a module-level function), the arguments and the results
    are pickled; ``shared`` is not. Raises :class:`WorkerFailed` when a job raises (with
    its traceback as the message) or a process dies without a result (killed or exited).
    Whatever ends the wait (that, or ``KeyboardInterrupt`` and the like, raised as they
    are), every worker has ended before the exception leaves: the others are killed.
    ``poll``, when given, is called about ten times a second in this process while the
    jobs run (e.g. to show their progress).
    """
    if not arguments:
        return []
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(max_workers=len(arguments), mp_context=context,
                               initializer=_start_worker, initargs=(shared, os.getpid()))
    try:
        with signals_held():  # the first submit forks every worker
            futures = [pool.submit(_call, function, *args) for args in arguments]
        while poll is not None:
            poll()
            if not wait(futures, timeout=0.1, return_when=FIRST_EXCEPTION).not_done:
                poll()
                break
        results = [future.result() for future in futures]
        pool.shutdown(wait=True)
    except BaseException as error:
        _kill_workers(pool)
        if isinstance(error, WorkerFailed):  # raised by _call: the job's own traceback
            raise WorkerFailed(str(error)) from None
        if isinstance(error, BrokenProcessPool):
            raise WorkerFailed("a worker process died without a result (killed, or it "
                               "exited)") from None
        if isinstance(error, Exception):  # e.g. a result that cannot be pickled
            raise WorkerFailed("".join(traceback.format_exception(error))) from None
        raise  # KeyboardInterrupt, SystemExit: the caller's, after the workers are gone
    return results


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Kill every worker of ``pool`` and wait until they are gone (a second at most each)."""
    kill = getattr(pool, "kill_workers", None)  # Python 3.14
    processes = list((getattr(pool, "_processes", None) or {}).values())
    if kill is not None:
        with contextlib.suppress(Exception):
            kill()
    for process in processes:
        with contextlib.suppress(Exception):
            process.kill()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=1.0)
    with contextlib.suppress(Exception):
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(shared: Any, parent: int) -> None:  # pragma: no cover - runs in the worker
    """Keep what the parent shared; die with the parent; take signals as a worker should.

    The worker was forked with every catchable signal blocked and the parent's Python
    handlers swapped for placeholders (:func:`policyengine.lifecycle.signals_held`): every
    signal with a Python handler gets its default action back (a worker ends on SIGTERM,
    SIGHUP, SIGUSR1, ... at once, quietly), Ctrl-C and Ctrl-\\ are ignored, then signals
    are unblocked.
    """
    global _SHARED
    _SHARED = shared
    die_with_parent(parent)
    for number in signal.valid_signals():
        with contextlib.suppress(OSError, ValueError):
            if callable(signal.getsignal(number)):
                signal.signal(number, signal.SIG_DFL)
    for number in _GROUP_KEYS:
        signal.signal(number, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signal.valid_signals())


def _call(function: Callable[..., Any], *args: Any) -> Any:  # pragma: no cover - worker
    """Run a job; its exception comes back as its traceback (any exception can be sent)."""
    try:
        return function(_SHARED, *args)
    except Exception:  # noqa: BLE001 — carried to the parent
        raise WorkerFailed(traceback.format_exc()) from None


__all__ = ["CAN_FORK", "WorkerFailed", "run_forked"]
