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
  and deleted from the engine when the compiled stage is garbage-collected;
- numbers in exponent form (``1e-05``, ``1e+16``, as ``json.dumps`` writes small and large
  floats) are refused with "error code 204" (a parse error) → every JSON handed to the
  engine writes numbers positionally (:func:`engine_json`);
- a ruleset holds a bounded number of rules and branches (about 130 ``$or``/join nodes:
  "error code 106/107/108/113"), and a fact that fires more than 64 times in one ruleset
  aborts the process (heap corruption) → a stage is cut into rulesets of at most
  :data:`ALTERNATIVES_PER_RULESET` rule alternatives, a part the engine still refuses for
  a limit is halved, each part has the sinks, and a batch runs through each part in turn.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import threading
import weakref
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from policyengine.compile.compiler import SINK_PREFIX, CompiledStage
from policyengine.diagnostics import EngineError
from policyengine.engine.base import Firing
from policyengine.engine.bounds import check_combinations
from policyengine.lifecycle import fork_safe

# Held across every fork (policyengine.lifecycle), innermost: a forked worker never inherits
# it held by a thread it does not have, nor the C extension halfway through a call. Innermost
# because a ruleset's finalizer takes it wherever the garbage collector runs.
ENGINE_LOCK = fork_safe(threading.RLock(), 100)
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 16777619
_OK, _NOT_HANDLED, _OBSERVED, _DEFERRED = 0, 1, 2, 3
_SINK_MESSAGE = '{"' + SINK_PREFIX
# "Could not create ruleset, error code: N" for a ruleset over one of the engine's limits:
# rules (106), exists/or branches (107), beta (join) nodes (108), expressions (113).
# One fact that fires more than about 64 times in one ruleset corrupts the engine's heap
# (measured: 64 firings and the sink are fine, 65 abort the process with "free(): invalid
# size"). A rule fires once per alternative of its condition that matches (``$or``
# branches, multiplied out through ``$and``), so a stage is cut into rulesets whose rules
# have at most this many alternatives in all, before the limits below are tried.
ALTERNATIVES_PER_RULESET = 48
_LIMIT_CODES = frozenset({106, 107, 108, 113})
_ERROR_CODE = re.compile(r"error code:? *(\d+)")
_EXPONENT = re.compile(r"[0-9][eE][+-]?[0-9]")


def alternatives(condition: Any) -> int:
    """How many ways a compiled condition can match one set of facts: ``$or`` adds its
    branches, ``$and`` (and a rule's aliases) multiplies them; anything else is one."""
    if isinstance(condition, list):
        product = 1
        for part in condition:
            product *= alternatives(part)
        return product
    if isinstance(condition, Mapping):
        if "$or" in condition:
            return sum(alternatives(part) for part in condition["$or"])
        if "$and" in condition:
            return alternatives(condition["$and"])
        if len(condition) == 1:
            (value,) = condition.values()
            if isinstance(value, Mapping) and ("$or" in value or "$and" in value):
                return alternatives(value)  # {alias: condition}
    return 1


def _parts(rules: list[tuple[str, Any]]) -> list[list[tuple[str, Any]]]:
    """Rules in document order, cut where the next rule would take a part over
    :data:`ALTERNATIVES_PER_RULESET` (a rule with more stays alone in its part)."""
    parts: list[list[tuple[str, Any]]] = [[]]
    weight = 0
    for rule in rules:
        own = alternatives(rule[1]["all"])
        if parts[-1] and weight + own > ALTERNATIVES_PER_RULESET:
            parts.append([])
            weight = 0
        parts[-1].append(rule)
        weight += own
    return [part for part in parts if part]


def engine_json(value: Any) -> str:
    """``value`` as JSON durable-rules parses: numbers never in exponent form.

    ``json.dumps`` writes ``1e-05`` for 0.00001 and ``1e+16`` for 10**16 as a float; the
    engine refuses both (error code 204). The fast path is ``json.dumps``; only when its
    text holds something that looks like an exponent is the value written again with
    floats in positional notation (``0.00001``, ``10000000000000000``). Raises ValueError
    for NaN or infinity.
    """
    text = json.dumps(value, allow_nan=False)
    if _EXPONENT.search(text) is None:
        return text
    return _positional_json(value)


def _positional_json(value: Any) -> str:
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_positional_json(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_positional_json(v) for v in value) + "]"
    return json.dumps(value, allow_nan=False)


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
    _registered: dict[int, tuple[int, ...]] = {}
    _names = itertools.count(1)

    def __init__(self) -> None:
        import durable_rules_engine  # the C extension; imported only when used

        self._engine = durable_rules_engine

    def _handles(self, stage: CompiledStage) -> tuple[int, ...]:
        """The engine handles of a stage's ruleset(s), created on first use."""
        entry = self._registered.get(id(stage))
        if entry is None:
            definition = stage.durable_definition()
            sinks = {k: v for k, v in definition.items() if k.startswith(SINK_PREFIX)}
            rules = [(k, v) for k, v in definition.items() if not k.startswith(SINK_PREFIX)]
            created: list[int] = []
            try:
                for part in _parts(rules):
                    self._create(stage.name, part, sinks, created)
            except BaseException:
                for handle in created:
                    with contextlib.suppress(Exception):
                        self._engine.delete_ruleset(handle)
                raise
            entry = tuple(created)
            self._registered[id(stage)] = entry
            weakref.finalize(stage, _forget, id(stage), entry, self._engine)
        return entry

    def _create(self, stage_name: str, rules: list[tuple[str, Any]], sinks: Mapping[str, Any],
                created: list[int]) -> None:
        """Create one ruleset for ``rules`` (plus the sinks), or, when the engine refuses it
        for one of its limits, two for the halves (recursively); handles go to ``created``."""
        name = f"pe{next(self._names)}_{stage_name}"
        try:
            created.append(self._engine.create_ruleset(name, engine_json({**dict(rules),
                                                                            **sinks})))
            return
        except Exception as error:
            match = _ERROR_CODE.search(str(error))
            code = int(match.group(1)) if match else None
            if code not in _LIMIT_CODES or len(rules) < 2:
                which = f" (rule {rules[0][0]})" if len(rules) == 1 else ""
                raise EngineError(f"durable-rules refused stage {stage_name!r}{which}: "
                                  f"{error}") from error
        half = len(rules) // 2
        self._create(stage_name, rules[:half], sinks, created)
        self._create(stage_name, rules[half:], sinks, created)

    def run(self, stage: CompiledStage, facts: Sequence[Mapping[str, Any]]) -> list[Firing]:
        if not stage.rules or not facts:
            return []
        wanted = [f for f in facts if f.get("type") in stage.fact_types]
        if not wanted:
            return []
        check_combinations(stage, wanted)  # InputError before a join can explode
        with ENGINE_LOCK:
            handles = self._handles(stage)
            ids = engine_ids(len(wanted))
            fields = stage.fields
            batch = [
                {**{k: v for k, v in fact.items() if k in fields}, "id": fid,
                 "sid": _ID_CACHE_SID}
                for fact, fid in zip(wanted, ids, strict=True)
            ]
            text = engine_json(batch)
            firings: list[Firing] = []
            for handle in handles:
                self._run_one(handle, stage, text, wanted, firings)
            return firings

    def _run_one(self, handle: int, stage: CompiledStage, batch: str,
                 wanted: Sequence[Mapping[str, Any]], firings: list[Firing]) -> None:
        """Assert ``batch`` (JSON) into a fresh session of one ruleset and record what
        fires into ``firings``; the session is always deleted."""
        engine = self._engine
        state: int | None = None
        try:
            try:
                code, state = engine.assert_facts(handle, batch)
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
        finally:
            with contextlib.suppress(Exception):  # it may never have been created
                engine.delete_state(handle, _ID_CACHE_SID)


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


def _forget(key: int, handles: tuple[int, ...], engine: Any) -> None:
    """Free the rulesets of a compiled stage that is gone (its id may be reused after this)."""
    with ENGINE_LOCK:
        DurableBackend._registered.pop(key, None)
        for handle in handles:
            with contextlib.suppress(Exception):
                engine.delete_ruleset(handle)


def durable_available() -> bool:
    """Whether the durable-rules C extension can be imported here."""
    try:
        import durable_rules_engine  # noqa: F401
    except Exception:
        return False
    return True
