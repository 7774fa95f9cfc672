"""Jobs run in forked pool processes hand back their values, their tracebacks, or the news
that their process died; what the parent shares reaches them by fork, unpickled."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from policyengine.stream.pool import CAN_FORK, WorkerFailed, run_forked

pytestmark = pytest.mark.skipif(not CAN_FORK, reason="needs os.fork")


def _where_and_what(shared: dict[str, Any], key: str, number: int) -> tuple[int, Any, int]:
    return os.getpid(), shared[key], number * 2


def _dies(shared: Any) -> None:
    os._exit(3)


def _killed(shared: Any) -> None:
    os.kill(os.getpid(), 9)


def _raises(shared: Any, shard: int) -> None:
    raise ValueError(f"bad shard {shard}")


def test_values_come_back_in_job_order_from_other_processes() -> None:
    # a lock cannot be pickled: it can only have reached the children by fork
    shared = {"a": "first", "b": "second", "lock": threading.Lock()}
    results = run_forked(_where_and_what, shared, [("b", 1), ("a", 2), ("b", 3)])
    assert [value for _, *value in results] == [["second", 2], ["first", 4], ["second", 6]]
    assert os.getpid() not in {pid for pid, *_ in results}


def test_no_jobs_start_no_processes() -> None:
    assert run_forked(_dies, None, []) == []


def test_an_exception_comes_back_as_its_traceback() -> None:
    with pytest.raises(WorkerFailed) as failed:
        run_forked(_raises, None, [(7,)])
    assert "Traceback (most recent call last)" in str(failed.value)
    assert "ValueError: bad shard 7" in str(failed.value)


@pytest.mark.parametrize("job", [_dies, _killed], ids=["exits", "killed"])
def test_a_process_that_dies_without_a_result_is_reported(job: Any) -> None:
    with pytest.raises(WorkerFailed, match="a worker process died without a result"):
        run_forked(job, None, [()])
