"""Run jobs in forked child processes and collect what they return (Linux, macOS).

Used by the streamed evaluation: children inherit the compiled policy and the fleet-wide
facts by ``fork`` (nothing of that is pickled), and hand back a small pickled result
through a file. Call it from a single-threaded process: forking a process that has other
threads running is unsafe.
"""

from __future__ import annotations

import os
import pickle
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

CAN_FORK = hasattr(os, "fork")


def run_forked(
    jobs: Sequence[Callable[[], Any]],
    directory: Path,
    name: str,
    pickler: type[pickle.Pickler] = pickle.Pickler,
) -> list[tuple[bool, Any]]:
    """Run every job in its own child at once; ``(True, value)`` or ``(False, why)`` each.

    ``why`` is the child's traceback, or a note that it died without a result. Children
    leave with ``os._exit`` (no cleanup handlers, no buffered output written twice). If a
    fork fails, the children already started are waited for before the error is raised.
    """
    children: list[tuple[int, Path]] = []
    try:
        for number, job in enumerate(jobs):
            result_path = directory / f"{name}-{number}.result"
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child; its work is checked by the parent
                _child(job, result_path, pickler)
            children.append((pid, result_path))
    finally:
        results = [_collect(pid, path) for pid, path in children]
    return results


def _child(job: Callable[[], Any], result_path: Path,
           pickler: type[pickle.Pickler]) -> None:  # pragma: no cover - runs in the child
    status = 0
    try:
        try:
            result: tuple[bool, Any] = (True, job())
        except BaseException:  # noqa: BLE001 — carried to the parent
            result = (False, traceback.format_exc())
        with open(result_path, "wb") as file:
            pickler(file, protocol=pickle.HIGHEST_PROTOCOL).dump(result)
    except BaseException:  # noqa: BLE001 — no result file: the parent reports it
        status = 1
    finally:
        os._exit(status)


def _collect(pid: int, result_path: Path) -> tuple[bool, Any]:
    _, status = os.waitpid(pid, 0)
    try:
        with open(result_path, "rb") as file:
            result: tuple[bool, Any] = pickle.load(file)
    except (OSError, EOFError, pickle.UnpicklingError):
        code = os.waitstatus_to_exitcode(status)
        how = f"was killed by signal {-code}" if code < 0 else f"ended with exit code {code}"
        return False, f"a child process {how} and no result"
    return result


__all__ = ["CAN_FORK", "run_forked"]
