"""The only module that touches durable-rules.

Field notes (docs/durable-rules.md) this adapter is built around:
- concurrent calls crash the C extension → one process-wide lock around every call;
- a fact's identity is a 32-bit FNV-1a hash of its ``id`` → engine ids are a per-session
  counter, skipping any value whose hash is already taken in that session;
- at most 1,024 live sessions per ruleset → one session per call, always deleted;
- a batch with one unhandled fact skips every action → a sink rule per fact type
  (added by the compiler);
- exceptions inside actions are swallowed into the session state → checked and re-raised;
- ``Host()`` starts timer threads that never stop → a subclass with a no-op ``_run``;
- rulesets cannot be replaced → registered once per compiled stage under a unique name.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ..compiler import CompiledStage
from ..diagnostics import EngineError
from .base import Firing

ENGINE_LOCK = threading.RLock()
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 16777619


def fnv1a32(text: str) -> int:
    """The 32-bit hash durable-rules uses for fact identity."""
    value = _FNV_OFFSET
    for byte in text.encode():
        value ^= byte if byte < 128 else byte - 256 & 0xFFFFFFFF
        value = (value * _FNV_PRIME) & 0xFFFFFFFF
    return value


def engine_ids(count: int, sid: str) -> list[str]:
    """``count`` fact ids whose hashes are distinct within the session, by construction."""
    ids: list[str] = []
    taken: set[int] = set()
    counter = itertools.count(1)
    while len(ids) < count:
        candidate = str(next(counter))
        hashes = {fnv1a32(candidate), fnv1a32(f'"{candidate}"'), fnv1a32(f"{sid}!{candidate}")}
        if hashes & taken:
            continue
        taken |= hashes
        ids.append(candidate)
    return ids


class _Collector(threading.local):
    firings: list[Firing] | None = None
    error: BaseException | None = None


class DurableBackend:
    """Runs compiled stages on durable-rules, serialised and isolated per call."""

    name = "durable"
    _host: Any = None
    _registered: dict[int, str] = {}
    _names = itertools.count(1)
    _sessions = itertools.count(1)
    _collector = _Collector()

    def __init__(self) -> None:
        with ENGINE_LOCK:
            if DurableBackend._host is None:
                DurableBackend._host = _make_host(self._action)

    # -- actions ---------------------------------------------------------------------
    @classmethod
    def _action(cls, rule_name: str) -> Any:
        if rule_name == "sink":
            return _noop

        def record(c: Any) -> None:
            collector = cls._collector
            try:
                rule_aliases = c._m if isinstance(c._m, dict) else {}
                bindings = {
                    alias: {k: v for k, v in fact.items() if k not in ("sid", "id")}
                    for alias, fact in rule_aliases.items()
                    if isinstance(fact, dict)
                }
                if collector.firings is None:
                    raise EngineError("durable-rules fired outside an evaluation")
                collector.firings.append(Firing(rule_name, bindings))
            except BaseException as error:  # surfaced after the call, never lost
                collector.error = error
                raise

        return record

    # -- running ---------------------------------------------------------------------
    def _ruleset_name(self, stage: CompiledStage) -> str:
        key = id(stage)
        name = self._registered.get(key)
        if name is None:
            name = f"pe{next(self._names)}_{stage.name}"
            try:
                self._host.set_rulesets({name: json.loads(json.dumps(stage.durable_definition()))})
            except Exception as error:
                raise EngineError(f"durable-rules refused stage {stage.name!r}: {error}") from error
            self._registered[key] = name
            _KEEP_ALIVE.append(stage)  # id() stays unique while the stage is alive
        return name

    def run(self, stage: CompiledStage, facts: Sequence[Mapping[str, Any]]) -> list[Firing]:
        if not stage.rules or not facts:
            return []
        wanted = [f for f in facts if f.get("type") in stage.fact_types]
        if not wanted:
            return []
        with ENGINE_LOCK:
            name = self._ruleset_name(stage)
            sid = f"s{next(self._sessions)}"
            ids = engine_ids(len(wanted), sid)
            batch = [{**fact, "id": fid, "sid": sid} for fact, fid in zip(wanted, ids, strict=True)]
            collector = self._collector
            collector.firings, collector.error = [], None
            try:
                try:
                    self._host.assert_facts(name, batch)
                except Exception as error:
                    raise EngineError(
                        f"durable-rules failed in stage {stage.name!r}: "
                        f"{type(error).__name__}: {str(error)[:200]}"
                    ) from error
                state = self._host.get_state(name, sid)
                if collector.error is not None:
                    raise EngineError(f"rule action failed: {collector.error}") from collector.error
                if isinstance(state, dict) and state.get("exception"):
                    raise EngineError(f"rule action failed: {state['exception']}")
                return list(collector.firings)
            finally:
                collector.firings = None
                with contextlib.suppress(Exception):  # it may never have been created
                    self._host.delete_state(name, sid)


_KEEP_ALIVE: list[CompiledStage] = []


def _noop(c: Any) -> None:
    return None


def _make_host(action_factory: Any) -> Any:
    from durable.engine import Host  # imported lazily: the C extension is slow to load

    class QuietHost(Host):  # type: ignore[misc]
        """A Host without the timer threads that never stop."""

        def _run(self) -> None:
            return None

        def get_action(self, action_name: str) -> Any:
            return action_factory(action_name)

    return QuietHost()


def durable_available() -> bool:
    """Whether the durable-rules C extension can be imported here."""
    try:
        import durable.engine  # noqa: F401
    except Exception:
        return False
    return True
