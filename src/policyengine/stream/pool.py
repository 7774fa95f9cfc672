"""Run jobs in forked worker processes, with the standard library's process pool.

The streamed evaluation hands its workers a compiled policy and the fleet-wide facts by
``fork`` (nothing of that is pickled: :class:`concurrent.futures.ProcessPoolExecutor`
with a ``fork`` context passes ``initargs`` to the children it forks as they are); only
each job's small arguments and result cross a pipe. Call it from a single-threaded
process: forking a process that has other threads running is unsafe.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

CAN_FORK = "fork" in multiprocessing.get_all_start_methods()

_SHARED: Any = None  # in a worker: what the parent shared by fork


class WorkerFailed(Exception):
    """A job raised (the message holds its traceback) or its process died."""


def run_forked(function: Callable[..., Any], shared: Any,
               arguments: Sequence[tuple[Any, ...]],
               poll: Callable[[], None] | None = None) -> list[Any]:
    """``function(shared, *args)`` for every ``args`` of ``arguments``, each in a process.

    One forked process per job, all at once; results come back in the order of
    ``arguments``. ``function`` (a module-level function), the arguments and the results
    are pickled; ``shared`` is not. Raises :class:`WorkerFailed` when a job raises (with
    its traceback as the message) or a process dies without a result (killed or exited);
    every job has ended by then. ``poll``, when given, is called about ten times a second
    in this process while the jobs run (e.g. to show their progress).
    """
    if not arguments:
        return []
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=len(arguments), mp_context=context,
                             initializer=_receive, initargs=(shared,)) as pool:
        futures = [pool.submit(_call, function, *args) for args in arguments]
        try:
            while poll is not None:
                poll()
                if not wait(futures, timeout=0.1, return_when=FIRST_EXCEPTION).not_done:
                    poll()
                    break
            return [future.result() for future in futures]
        except WorkerFailed as error:  # raised by _call: the job's own traceback
            raise WorkerFailed(str(error)) from None
        except BrokenProcessPool:
            raise WorkerFailed("a worker process died without a result (killed, or it "
                               "exited)") from None
        except Exception as error:  # e.g. a result that cannot be pickled
            raise WorkerFailed("".join(traceback.format_exception(error))) from None


def _receive(shared: Any) -> None:  # pragma: no cover - runs in the worker
    global _SHARED
    _SHARED = shared


def _call(function: Callable[..., Any], *args: Any) -> Any:  # pragma: no cover - worker
    """Run a job; its exception comes back as its traceback (any exception can be sent)."""
    try:
        return function(_SHARED, *args)
    except Exception:  # noqa: BLE001 — carried to the parent
        raise WorkerFailed(traceback.format_exc()) from None


__all__ = ["CAN_FORK", "WorkerFailed", "run_forked"]
