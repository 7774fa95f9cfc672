"""Forked jobs hand back their values, their tracebacks, or the news that they died."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from policyengine.stream.forking import CAN_FORK, run_forked

pytestmark = pytest.mark.skipif(not CAN_FORK, reason="needs os.fork")


def _dies() -> None:
    os._exit(3)


def _killed() -> None:
    os.kill(os.getpid(), 9)


def _raises() -> None:
    raise ValueError("bad shard 7")


def test_values_come_back_in_job_order(tmp_path: Path) -> None:
    parent = os.getpid()
    results = run_forked([lambda: ("a", os.getpid() != parent), lambda: 2 + 3], tmp_path, "t")
    assert results == [(True, ("a", True)), (True, 5)]


def test_an_exception_comes_back_as_its_traceback(tmp_path: Path) -> None:
    [(done, why)] = run_forked([_raises], tmp_path, "t")
    assert not done
    assert "ValueError: bad shard 7" in why


def test_a_child_that_dies_without_a_result_is_reported(tmp_path: Path) -> None:
    [(done, why), (other_done, value)] = run_forked([_dies, lambda: "fine"], tmp_path, "t")
    assert (done, other_done, value) == (False, True, "fine")
    assert why == "a child process ended with exit code 3 and no result"


def test_a_killed_child_is_reported_with_its_signal(tmp_path: Path) -> None:
    [(done, why)] = run_forked([_killed], tmp_path, "t")
    assert (done, why) == (False, "a child process was killed by signal 9 and no result")
