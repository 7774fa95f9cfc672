"""A process that loads many policy versions does not keep every compiled ruleset forever.

Each compiled stage owns a durable-rules ruleset in the C extension. Before the compile cache
was bounded, 1,000 loads of distinct versions grew a process from 43 MB to 1.38 GB; now only
the ``COMPILE_CACHE_SIZE`` most recently used versions (plus those an Engine still holds)
keep theirs.
"""

from __future__ import annotations

import gc

import pytest

from policyengine import api
from policyengine.api import Engine

from .conftest import ROOT, SHIPPED

EXAMPLE = str(ROOT / "examples" / "october-2026.yaml")
AS_OF = "2026-11-27T12:00:00-05:00"


def _version(tmp_path, n: int):
    text = SHIPPED.read_text(encoding="utf-8")
    assert text.count("target_percent: 99.0\n") == 1
    path = tmp_path / f"v{n}.yaml"
    # 99.000, 99.001, ... : distinct fingerprints, the same verdicts for the example
    path.write_text(text.replace("target_percent: 99.0\n", f"target_percent: 99.{n:03d}\n"),
                    encoding="utf-8")
    return path


def test_many_versions_keep_a_bounded_number_of_rulesets(tmp_path, monkeypatch) -> None:
    pytest.importorskip("durable_rules_engine")
    from policyengine.engine.durable_backend import DurableBackend

    monkeypatch.setattr(api, "COMPILE_CACHE_SIZE", 4)
    api._COMPILED.clear()
    gc.collect()
    before = len(DurableBackend._registered)
    loads = 40
    for n in range(loads):
        engine = Engine.load(_version(tmp_path, n), backend="durable")
        result = engine.evaluate([EXAMPLE], as_of=AS_OF)
        # acme: 750 counted minutes of 44,640 -> 98.3199 %, below 99.0nn % in every version
        assert [r.met for r in result.availability if r.customer == "acme"] == [False]
        stages = len(engine.versions[0].stages)
        del engine, result
    gc.collect()
    held = len(DurableBackend._registered) - before
    # without the bound: 40 versions x stages rulesets stay registered
    assert held <= 4 * stages < loads * stages
    assert len(api._COMPILED) == 4
