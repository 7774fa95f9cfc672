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
_WHY_BYTES = 4096  # at most PIPE_BUF: the child's one write never blocks


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
    children: list[tuple[int, Path, int]] = []
    try:
        for number, job in enumerate(jobs):
            result_path = directory / f"{name}-{number}.result"
            reader, writer = os.pipe()  # why there is no result, when the file cannot be written
            try:
                pid = os.fork()
            except BaseException:
                os.close(reader)
                os.close(writer)
                raise
            if pid == 0:  # pragma: no cover - the child; its work is checked by the parent
                os.close(reader)
                _child(job, result_path, pickler, writer)
            os.close(writer)
            children.append((pid, result_path, reader))
    finally:
        results = [_collect(pid, path, reader) for pid, path, reader in children]
    return results


def _child(job: Callable[[], Any], result_path: Path, pickler: type[pickle.Pickler],
           why: int) -> None:  # pragma: no cover - runs in the child
    status = 0
    try:
        try:
            result: tuple[bool, Any] = (True, job())
        except BaseException:  # noqa: BLE001 — carried to the parent
            result = (False, traceback.format_exc())
        with open(result_path, "wb") as file:
            pickler(file, protocol=pickle.HIGHEST_PROTOCOL).dump(result)
    except BaseException as error:  # noqa: BLE001 — no result file: say why through the pipe
        status = 1
        try:
            cause = (f"{error.strerror} ({error.filename or result_path})"
                     if isinstance(error, OSError) and error.strerror
                     else f"{type(error).__name__}: {error}")
            os.write(why, f"could not write its result: {cause}".encode()[:_WHY_BYTES])
        except BaseException:  # noqa: BLE001, S110 — the exit status still tells the parent
            pass
    finally:
        os._exit(status)


def _collect(pid: int, result_path: Path, why: int) -> tuple[bool, Any]:
    _, status = os.waitpid(pid, 0)
    try:
        reason = os.read(why, _WHY_BYTES).decode("utf-8", "replace")
    finally:
        os.close(why)
    try:
        with open(result_path, "rb") as file:
            result: tuple[bool, Any] = pickle.load(file)
    except (OSError, EOFError, pickle.UnpicklingError):
        code = os.waitstatus_to_exitcode(status)
        how = f"was killed by signal {-code}" if code < 0 else f"ended with exit code {code}"
        return False, f"a child process {how} and no result" + (f": {reason}" if reason else "")
    return result


__all__ = ["CAN_FORK", "run_forked"]
