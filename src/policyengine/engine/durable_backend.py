"""The only module that touches durable-rules.

It drives the C extension (``durable_rules_engine``) directly: assert a batch of facts into
a fresh session, then pull every pending action and record it. The Python ``Host`` layer is
not used: it serialises the session state after every action and raises on a batch with
an unmatched fact, which costs more than the rules themselves.

Field notes (``docs/durable-rules.md``) this adapter is built around:
- concurrent calls crash the C extension → one process-wide lock around every call;
- a fact's identity is a 32-bit FNV-1a hash of its ``id`` → engine ids are a per-session
  counter, skipping any value whose hash is already taken in that session;
- at most 1,024 live sessions per ruleset → one session per call, always deleted;
- a batch with an unmatched fact reports "not handled" and hands back no usable session
  state (reading it segfaults) → the compiler adds a never-firing sink per fact type, and
  any code but OK is raised as an error;
- an error while recording an action would leave it half-run → the action is abandoned,
  the session deleted and the error re-raised;
- rulesets cannot be replaced → registered once per compiled stage under a unique name,
  and deleted from the engine when the compiled stage is garbage-collected.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from policyengine.compile.compiler import SINK_PREFIX, CompiledStage
from policyengine.diagnostics import EngineError
from policyengine.engine.base import Firing
from policyengine.lifecycle import fork_safe

# Held across every fork (policyengine.lifecycle), innermost: a forked worker never inherits
# it held by a thread it does not have, nor the C extension halfway through a call. Innermost
# because a ruleset's finalizer takes it wherever the garbage collector runs.
ENGINE_LOCK = fork_safe(threading.RLock(), 100)
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 16777619
_OK, _NOT_HANDLED, _OBSERVED, _DEFERRED = 0, 1, 2, 3
_SINK_MESSAGE = '{"' + SINK_PREFIX


def fnv1a32(text: str) -> int:
    """The 32-bit hash durable-rules uses for fact identity (``char`` is signed in C)."""
    value = _FNV_OFFSET
    for byte in text.encode():
        value ^= byte if byte < 128 else (byte - 256) & 0xFFFFFFFF
        value = (value * _FNV_PRIME) & 0xFFFFFFFF
    return value


_ID_CACHE: list[str] = []
_ID_POSITION: dict[str, int] = {}  # engine id → its index in a batch
_ID_CACHE_SID = "s"


def engine_ids(count: int, sid: str = _ID_CACHE_SID) -> list[str]:
    """``count`` fact ids whose hashes are distinct within the session, by construction.

    The hash of ``sid!id`` is checked as well as the bare and quoted id, since the engine
    hashes keys in more than one form. Sessions all use the same session id form, so the
    sequence is computed once and cached.
    """
    if sid == _ID_CACHE_SID and count <= len(_ID_CACHE):
        return _ID_CACHE[:count]
    ids: list[str] = []
    taken: set[int] = set()
    counter = itertools.count(1)
    while len(ids) < count:
        candidate = str(next(counter))
        hashes = {fnv1a32(candidate), fnv1a32(f'"{candidate}"'), fnv1a32(f"{sid}!{candidate}")}
        if len(hashes) < 3 or hashes & taken:
            continue
        taken |= hashes
        ids.append(candidate)
    if sid == _ID_CACHE_SID:
        _ID_CACHE[:] = ids
        _ID_POSITION.clear()
        _ID_POSITION.update((fid, index) for index, fid in enumerate(ids))
    return ids


class DurableBackend:
    """Runs compiled stages on durable-rules, serialised and isolated per call."""

    name = "durable"
    _registered: dict[int, tuple[int, str]] = {}
    _names = itertools.count(1)

    def __init__(self) -> None:
        import durable_rules_engine  # the C extension; imported only when used

        self._engine = durable_rules_engine

    def _handle(self, stage: CompiledStage) -> int:
        """The engine handle of a stage's ruleset, created on first use."""
        entry = self._registered.get(id(stage))
        if entry is None:
            name = f"pe{next(self._names)}_{stage.name}"
            try:
                handle = self._engine.create_ruleset(name, json.dumps(stage.durable_definition()))
            except Exception as error:
                raise EngineError(f"durable-rules refused stage {stage.name!r}: {error}") from error
            entry = (handle, name)
            self._registered[id(stage)] = entry
            weakref.finalize(stage, _forget, id(stage), handle, self._engine)
        return entry[0]

    def run(self, stage: CompiledStage, facts: Sequence[Mapping[str, Any]]) -> list[Firing]:
        if not stage.rules or not facts:
            return []
        wanted = [f for f in facts if f.get("type") in stage.fact_types]
        if not wanted:
            return []
        engine = self._engine
        with ENGINE_LOCK:
            handle = self._handle(stage)
            sid = _ID_CACHE_SID
            ids = engine_ids(len(wanted))
            fields = stage.fields
            batch = [
                {**{k: v for k, v in fact.items() if k in fields}, "id": fid, "sid": sid}
                for fact, fid in zip(wanted, ids, strict=True)
            ]
            firings: list[Firing] = []
            state: int | None = None
            try:
                try:
                    code, state = engine.assert_facts(handle, json.dumps(batch))
                except Exception as error:
                    raise EngineError(f"durable-rules failed in stage {stage.name!r}: "
                                      f"{type(error).__name__}: {str(error)[:200]}") from error
                if code != _OK:  # the sinks make every fact handled; anything else is a fault
                    reason = {_NOT_HANDLED: "a fact matched no rule",
                              _OBSERVED: "a fact id was already seen (hash collision)",
                              _DEFERRED: "an action was deferred"}.get(code, f"code {code}")
                    raise EngineError(f"durable-rules refused a batch in stage "
                                      f"{stage.name!r}: {reason}")
                pending = engine.start_action_for_state(handle, state)
                message = pending[1] if pending else None
                while message:
                    if message.startswith(_SINK_MESSAGE):
                        message = engine.complete_and_start_action(handle, state)
                        continue
                    try:
                        firings.append(_firing(message, stage, wanted))
                    except Exception:
                        with contextlib.suppress(Exception):
                            engine.abandon_action(handle, state)
                        raise
                    message = engine.complete_and_start_action(handle, state)
                return firings
            finally:
                with contextlib.suppress(Exception):  # it may never have been created
                    engine.delete_state(handle, sid)


# Each bound fact in an action message ends with the id and session we gave it; a string
# value cannot contain an unescaped quote, so this cannot match inside a value.
_BOUND_ID = re.compile(r'"id": "(\d+)", "sid": "' + _ID_CACHE_SID + r'"\}')


def _firing(message: str, stage: CompiledStage, facts: Sequence[Mapping[str, Any]]) -> Firing:
    """A firing from an action message, bound to our own fact dicts.

    Reading only the rule name and the engine ids (assigned 1, 2, ... in ``facts`` order
    by :func:`engine_ids`, so an id maps back to its fact) skips decoding every message:
    that decoding was a fifth of an evaluation. Anything unexpected falls back to decoding.
    """
    rule_name = message[2:message.index('"', 2)]
    rule = stage.rule(rule_name)
    found = _BOUND_ID.findall(message)
    if len(found) == len(rule.aliases):
        bound = {}
        for alias, engine_id, wanted_type in zip(rule.aliases, found, rule.alias_types,
                                                 strict=True):
            position = _ID_POSITION.get(engine_id)
            if position is None or position >= len(facts):
                break
            fact = facts[position]
            if fact.get("type") != wanted_type:  # aliases not in declaration order
                break
            bound[alias] = fact
        else:
            return Firing(rule_name, bound)
    ((decoded_name, decoded),) = json.loads(message).items()
    return Firing(decoded_name, decoded)


def _forget(key: int, handle: int, engine: Any) -> None:
    """Free a ruleset whose compiled stage is gone (its id may be reused after this)."""
    with ENGINE_LOCK:
        DurableBackend._registered.pop(key, None)
        with contextlib.suppress(Exception):
            engine.delete_ruleset(handle)


def durable_available() -> bool:
    """Whether the durable-rules C extension can be imported here."""
    try:
        import durable_rules_engine  # noqa: F401
    except Exception:
        return False
    return True
