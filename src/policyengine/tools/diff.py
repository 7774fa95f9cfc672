"""``policyengine diff``: what changed between two policy versions, as a legal reader reads it.

Two levels:

* :func:`diff_policies` compares the documents clause by clause, matching clauses by ``id``:
  clauses added and removed, and each changed term in words
  (``availability-commitment: target percent: 99.0% → 99.5%``). Lists are compared as sets
  of items (``excused-downtime: causes: + ddos, - third_party``); their order carries no
  meaning in a policy and is ignored. Nested terms are named by their readable path
  (``notice lead``); metadata (version, effective dates, title, time zone) is listed first.
* :func:`diff_outcomes` compares two evaluations of the *same facts*: credits gained or lost
  (with the net change per currency, in ``Decimal``), months whose verdict flips, tickets,
  notice obligations and entitlements whose outcome changes.

:func:`compare_outcomes` evaluates the facts under each version **alone**: each version is
compiled on its own with its effective dates opened up (in force from the beginning of time,
with no end), so a month outside a version's dates is still judged by it. Without this, an
old version that ends where the new one begins would simply have no say about the new
version's months, and the diff would hide exactly the months the change is about.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import os
import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from policyengine.clauses import registry
from policyengine.clauses.words import plain_number
from policyengine.model.policy import Clause, Policy
from policyengine.model.results import OUTCOME, ROW_TYPES, Evaluation, diff_key, diff_roles
from policyengine.tools.show import describe_condition, describe_value, term_label

ARROW = "→"
_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<missing>"})()
# Metadata and document-level settings compared before the clauses.
_METADATA_PATHS: tuple[tuple[str, ...], ...] = (
    ("metadata", "name"),
    ("metadata", "version"),
    ("metadata", "title"),
    ("metadata", "effective", "from"),
    ("metadata", "effective", "until"),
    ("metadata", "contract", "title"),
    ("metadata", "contract", "source"),
    ("spec", "timezone"),
)
# Clause attributes that are not terms but still matter to a reader.
# (The summary, being prose, is compared last and shown whole.)
_CLAUSE_ATTRIBUTES = (("section", "section"), ("kind", "kind"), ("ref", "reference"))


def _words(value: Any, key: str | int | None, whole: bool = False) -> str:
    if whole and value is not None:
        return describe_condition(value)
    if key == "summary":
        return f'"{value}"'
    return describe_value(value, key)


@dataclass(frozen=True)
class TermChange:
    """One changed term (or metadata field, or clause attribute) in words.

    ``old``/``new`` are the values as written (``None`` when absent); for a list, ``added``
    and ``removed`` hold the items that differ.
    """

    path: tuple[str | int, ...]
    old: Any
    new: Any
    added: tuple[Any, ...] = ()
    removed: tuple[Any, ...] = ()
    label_override: str = ""
    # a term the clause's kind compares as a whole (a condition, read as one sentence)
    whole: bool = False

    @property
    def label(self) -> str:
        """The readable path, e.g. ``notice lead``."""
        return self.label_override or term_label(self.path)

    @property
    def is_items(self) -> bool:
        return bool(self.added or self.removed)

    def describe(self) -> str:
        """``notice lead: 48h → 72h`` or ``causes: + ddos, - third_party``."""
        key = self.path[-1] if self.path else None
        if self.is_items:
            parts = [f"+ {describe_value(item)}" for item in self.added]
            parts += [f"- {describe_value(item)}" for item in self.removed]
            return f"{self.label}: {', '.join(parts)}"
        return (f"{self.label}: {_words(self.old, key, self.whole)} {ARROW} "
                f"{_words(self.new, key, self.whole)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON form: path, label, old/new as written, added/removed items, and the text."""
        return {
            "path": ".".join(str(p) for p in self.path),
            "label": self.label,
            "old": _jsonable(self.old),
            "new": _jsonable(self.new),
            "added": [_jsonable(v) for v in self.added],
            "removed": [_jsonable(v) for v in self.removed],
            "text": self.describe(),
        }


@dataclass(frozen=True)
class ClauseChange:
    """A clause present in both versions whose terms or attributes differ."""

    id: str
    section: str
    ref: str
    changes: tuple[TermChange, ...]

    def lines(self) -> list[str]:
        """``<clause id>: <change>`` per change."""
        return [f"{self.id}: {change.describe()}" for change in self.changes]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "section": self.section, "ref": self.ref,
                "changes": [c.to_dict() for c in self.changes]}


def _clause_dict(clause: Clause) -> dict[str, Any]:
    return {"id": clause.id, "section": clause.section, "kind": clause.kind, "ref": clause.ref,
            "summary": clause.summary, "terms": _jsonable(dict(clause.terms))}


@dataclass(frozen=True)
class PolicyDiff:
    """Everything that differs between two policy versions, in reading order."""

    old: Policy
    new: Policy
    metadata: tuple[TermChange, ...]
    added: tuple[Clause, ...]
    removed: tuple[Clause, ...]
    changed: tuple[ClauseChange, ...]

    @property
    def is_empty(self) -> bool:
        """True when the two versions say the same thing."""
        return not (self.metadata or self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        """Every change on one line: metadata, added, removed, then changed terms."""
        out = [change.describe() for change in self.metadata]
        out += [f"+ clause {c.id} ({c.section}, {c.ref})" for c in self.added]
        out += [f"- clause {c.id} ({c.section}, {c.ref})" for c in self.removed]
        for change in self.changed:
            out += change.lines()
        return out

    def render_text(self) -> str:
        """The diff for people, grouped under headings."""
        out = [f"policy {self.old.label} ({self.old.file or '-'}) {ARROW} "
               f"{self.new.label} ({self.new.file or '-'})"]
        if self.is_empty:
            out.append("no differences in terms")
            return "\n".join(out) + "\n"
        if self.metadata:
            out += ["", "Metadata"] + [f"  {c.describe()}" for c in self.metadata]
        if self.added:
            out += ["", "Clauses added"]
            for clause in self.added:
                out.append(f"  + {clause.id} [{clause.section}] {clause.ref}")
                out.append(f"      {clause.summary}")
        if self.removed:
            out += ["", "Clauses removed"]
            for clause in self.removed:
                out.append(f"  - {clause.id} [{clause.section}] {clause.ref}")
        if self.changed:
            out += ["", "Terms changed"]
            for changed in self.changed:
                for change in changed.changes:
                    if change.path != ("summary",):
                        out.append(f"  {changed.id}: {change.describe()}")
                        continue
                    # a reworded summary is prose: show it whole, one version under the other
                    out.append(f"  {changed.id}: summary reworded")
                    for label, text in (("was", change.old), ("now", change.new)):
                        out += textwrap.wrap(f'{label}: "{text}"', 96,
                                             initial_indent="      ",
                                             subsequent_indent="           ")
        return "\n".join(out) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--format json``."""
        return {
            "old": {"name": self.old.name, "version": self.old.version, "file": self.old.file},
            "new": {"name": self.new.name, "version": self.new.version, "file": self.new.file},
            "metadata": [c.to_dict() for c in self.metadata],
            "clauses": {
                "added": [_clause_dict(c) for c in self.added],
                "removed": [_clause_dict(c) for c in self.removed],
                "changed": [c.to_dict() for c in self.changed],
            },
            "changes": self.lines(),
        }


# -- comparing terms ----------------------------------------------------------------------------
def _canonical(value: Any) -> str:
    """A comparison key: equal numbers compare equal however written (99 and 99.0)."""
    import json

    def comparable(item: Any) -> Any:
        if isinstance(item, bool) or item is None or item is _MISSING:
            return None if item is _MISSING else item
        if isinstance(item, int | float | Decimal):
            return {"#": str(Decimal(str(item)).normalize())}
        if isinstance(item, Mapping):
            return {str(k): comparable(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [comparable(v) for v in item]
        return _jsonable(item)

    return json.dumps(comparable(value), sort_keys=True)


def _same(old: Any, new: Any) -> bool:
    return _canonical(None if old is _MISSING else old) == _canonical(
        None if new is _MISSING else new)


def _compare(path: tuple[str | int, ...], old: Any, new: Any, out: list[TermChange],
             whole: frozenset[str] = frozenset()) -> None:
    """Append the changes between two term values, descending into mappings.

    A term named in ``whole`` (the clause kind's :attr:`whole_terms
    <policyengine.clauses.registry.ClauseKind.whole_terms>`) is compared as one value.
    """
    if _same(old, new):
        return
    key = path[-1] if path else None
    if key in whole:
        out.append(dataclasses.replace(_change(path, old, new), whole=True))
        return
    old_map, new_map = isinstance(old, Mapping), isinstance(new, Mapping)
    if old_map or new_map:
        # a mapping against a mapping, or against nothing: compare term by term
        if (old_map or old in (None, _MISSING)) and (new_map or new in (None, _MISSING)):
            old_items = old if old_map else {}
            new_items = new if new_map else {}
            for name in _ordered_keys(old_items, new_items):
                _compare((*path, name), old_items.get(name, _MISSING),
                         new_items.get(name, _MISSING), out, whole)
            return
        out.append(_change(path, old, new))
        return
    if isinstance(old, list | tuple) and isinstance(new, list | tuple):
        added, removed = _item_changes(old, new)
        if added or removed:
            out.append(TermChange(path, list(old), list(new), tuple(added), tuple(removed)))
        return
    out.append(_change(path, old, new))


def _change(path: tuple[str | int, ...], old: Any, new: Any) -> TermChange:
    """A changed value; an absent term reads as ``None``, like one written ``null``."""
    return TermChange(path, None if old is _MISSING else old, None if new is _MISSING else new)


def _ordered_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    keys = list(new)
    keys += [k for k in old if k not in new]
    return keys


def _item_changes(old: Sequence[Any], new: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """Items only in ``new`` and items only in ``old`` (a multiset difference, in order)."""
    old_keys = [_canonical(v) for v in old]
    new_keys = [_canonical(v) for v in new]

    def pick(values: Sequence[Any], keys: list[str], extra: Counter[str]) -> list[Any]:
        picked = []
        for value, key in zip(values, keys, strict=True):
            if extra[key] > 0:
                picked.append(value)
                extra[key] -= 1
        return picked

    return (pick(new, new_keys, Counter(new_keys) - Counter(old_keys)),
            pick(old, old_keys, Counter(old_keys) - Counter(new_keys)))


def _lookup(data: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = data
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def diff_policies(old: Policy, new: Policy) -> PolicyDiff:
    """Term-level differences between two versions, clause by clause (matched by id)."""
    metadata: list[TermChange] = []
    for path in _METADATA_PATHS:
        before, after = _lookup(old.data, path), _lookup(new.data, path)
        if not _same(before, after):
            metadata.append(_change(path[1:] if path[0] == "metadata" else path,
                                    before, after))
    old_ids = {c.id: c for c in old.clauses}
    new_ids = {c.id: c for c in new.clauses}
    added = tuple(c for c in new.clauses if c.id not in old_ids)
    removed = tuple(c for c in old.clauses if c.id not in new_ids)
    changed: list[ClauseChange] = []
    for clause in new.clauses:
        before = old_ids.get(clause.id)
        if before is None:
            continue
        changes: list[TermChange] = []
        for attribute, label in _CLAUSE_ATTRIBUTES:
            if getattr(before, attribute) != getattr(clause, attribute):
                changes.append(TermChange((attribute,), getattr(before, attribute),
                                          getattr(clause, attribute), label_override=label))
        whole = (registry.kind_of(before.kind).whole_terms
                 | registry.kind_of(clause.kind).whole_terms)
        _compare((), dict(before.terms), dict(clause.terms), changes, whole)
        if before.summary != clause.summary:
            changes.append(TermChange(("summary",), before.summary, clause.summary))
        if changes:
            changed.append(ClauseChange(clause.id, clause.section, clause.ref, tuple(changes)))
    return PolicyDiff(old, new, tuple(metadata), added, removed, tuple(changed))


# -- comparing outcomes -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Section:
    name: str
    key: tuple[str, ...]
    fields: tuple[str, ...]


def _sections() -> tuple[_Section, ...]:
    """Every row section of the report, with its key and outcome fields taken from the row
    classes (:func:`~policyengine.model.results.diff_roles`): a field the report model adds
    is compared unless the model says it is a key, context or the version."""
    return tuple(
        _Section(name, diff_key(row_type),
                 tuple(n for n, role in diff_roles(row_type).items() if role == OUTCOME))
        for name, row_type in ROW_TYPES.items())


# Which rows are "the same" across versions (the key: period and service are keys only in
# reports that have them, and a key part a row lacks is left out of the subject), and which
# of their fields are outcomes; derived from the report model.
OUTCOME_SECTIONS = _sections()


@dataclass(frozen=True)
class OutcomeChange:
    """A result row whose outcome differs: ``added`` (only under the new version),
    ``removed`` (only under the old one) or ``changed`` (``fields``: name → (old, new))."""

    section: str
    key: tuple[tuple[str, Any], ...]
    status: str
    fields: tuple[tuple[str, Any, Any], ...] = ()
    old: Mapping[str, Any] | None = None
    new: Mapping[str, Any] | None = None

    @property
    def subject(self) -> str:
        return " ".join(str(v) for _, v in self.key if v is not None)

    def describe(self) -> str:
        """``acme 2026-10: met yes → no`` in words."""
        if self.section == "credits":
            return self._describe_credit()
        if self.status == "added":
            return f"{self.subject}: only under the new version ({self._summary(self.new)})"
        if self.status == "removed":
            return f"{self.subject}: only under the old version ({self._summary(self.old)})"
        text = f"{self.subject}: {self._fields_text()}"
        if self.section == "availability" and self.old and self.new:
            old, new = self.old, self.new
            text += (f" (availability {plain_number(old['availability_percent'])}% vs target "
                     f"{plain_number(old['target_percent'])}% {ARROW} "
                     f"{plain_number(new['availability_percent'])}% vs target "
                     f"{plain_number(new['target_percent'])}%)")
        return text

    def _describe_credit(self) -> str:
        if self.status == "added":
            row = self.new or {}
            return (f"+ {self.subject}: {row['amount']} {row['currency']} gained "
                    f"({row['form']}, {row['status']})")
        if self.status == "removed":
            row = self.old or {}
            return (f"- {self.subject}: {row['amount']} {row['currency']} lost "
                    f"({row['form']}, {row['status']})")
        return f"~ {self.subject}: {self._fields_text()}"

    def _fields_text(self) -> str:
        parts = []
        for name, old, new in self.fields:
            label = _OUTCOME_LABELS.get(name, term_label([name]))
            change = f"{_outcome_word(name, old)} {ARROW} {_outcome_word(name, new)}"
            parts.append(f"{label}: {change}" if label else change)
        return "; ".join(parts)

    def _summary(self, row: Mapping[str, Any] | None) -> str:
        section = next(s for s in OUTCOME_SECTIONS if s.name == self.section)
        row = row or {}
        return ", ".join(f"{term_label([n])} {_outcome_word(n, row.get(n))}"
                         for n in section.fields if n in row)

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "key": {k: _jsonable(v) for k, v in self.key if v is not None},
            "status": self.status,
            "fields": {name: {"old": _jsonable(a), "new": _jsonable(b)}
                       for name, a, b in self.fields},
            "old": _jsonable(self.old),
            "new": _jsonable(self.new),
            "text": self.describe(),
        }


# How changed outcome fields are named in text ("" = the verdict itself); any other field
# by its name in words.
_OUTCOME_LABELS = {"met": "", "response_met": "response", "resolution_met": "resolution",
                   "update_met": "update"}


def _verdict_field(name: str) -> bool:
    return name == "met" or name.endswith("_met")


def _outcome_word(name: str, value: Any) -> str:
    """A field's value in words: a verdict met/missed (open when not decided yet), a yes/no
    flag, none for a value that does not apply."""
    if _verdict_field(name):
        return "open" if value is None else "met" if value else "missed"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    return plain_number(value)


@dataclass(frozen=True)
class OutcomeDiff:
    """How the outcomes for the same facts differ between two versions."""

    old_version: str
    new_version: str
    changes: tuple[OutcomeChange, ...]
    totals: Mapping[str, Decimal] = field(default_factory=dict)
    old_totals: Mapping[str, Decimal] = field(default_factory=dict)
    new_totals: Mapping[str, Decimal] = field(default_factory=dict)

    def section(self, name: str) -> list[OutcomeChange]:
        """The changes of one section (``availability``, ``credits``, ...)."""
        return [c for c in self.changes if c.section == name]

    @property
    def credits_gained(self) -> list[OutcomeChange]:
        return [c for c in self.section("credits") if c.status == "added"]

    @property
    def credits_lost(self) -> list[OutcomeChange]:
        return [c for c in self.section("credits") if c.status == "removed"]

    @property
    def is_empty(self) -> bool:
        return not self.changes

    def lines(self) -> list[str]:
        """``<section>: <change>`` per change, then the credit total per currency."""
        out = [f"{c.section}: {c.describe()}" for c in self.changes]
        out += [f"credit total {currency}: {_signed(amount)}"
                for currency, amount in sorted(self.totals.items())]
        return out

    def render_text(self) -> str:
        """The outcome diff for people, grouped by section."""
        out = [f"Outcomes for the same facts, each version applied alone "
               f"({self.old_version} {ARROW} {self.new_version})"]
        if self.is_empty:
            out.append("  no outcome changes")
        for spec in OUTCOME_SECTIONS:
            changes = self.section(spec.name)
            if changes:
                out.append(f"  {spec.name}")
                out += [f"    {c.describe()}" for c in changes]
        if self.totals:
            out.append("  credit total (net change)")
            for currency in sorted(self.totals):
                out.append(f"    {currency} {_signed(self.totals[currency])} "
                           f"({self.old_totals.get(currency, Decimal('0.00'))} {ARROW} "
                           f"{self.new_totals.get(currency, Decimal('0.00'))})")
        return "\n".join(out) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON form: every change by section, and credit totals as decimal strings."""
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            **{spec.name: [c.to_dict() for c in self.section(spec.name)]
               for spec in OUTCOME_SECTIONS},
            "credit_totals": {
                currency: {"old": str(self.old_totals.get(currency, Decimal("0.00"))),
                           "new": str(self.new_totals.get(currency, Decimal("0.00"))),
                           "change": str(amount)}
                for currency, amount in sorted(self.totals.items())
            },
        }


def _signed(amount: Decimal) -> str:
    return f"+{amount}" if amount > 0 else str(amount)


def _versions(evaluation: Evaluation) -> str:
    return ", ".join(v for _, v in evaluation.policies) or "-"


def diff_outcomes(old: Evaluation, new: Evaluation) -> OutcomeDiff:
    """Compare two evaluations of the same facts, row by row, section by section."""
    old_data, new_data = old.to_dict(), new.to_dict()
    changes: list[OutcomeChange] = []
    for spec in OUTCOME_SECTIONS:
        # a section a report leaves out (remedies without a chronic_failure clause) is empty
        before = {tuple(row.get(k) for k in spec.key): row
                  for row in old_data.get(spec.name) or ()}
        after = {tuple(row.get(k) for k in spec.key): row
                 for row in new_data.get(spec.name) or ()}
        for key in sorted(set(before) | set(after), key=lambda k: [str(v) for v in k]):
            named = tuple(zip(spec.key, key, strict=True))
            a, b = before.get(key), after.get(key)
            if a is None:
                changes.append(OutcomeChange(spec.name, named, "added", new=b))
            elif b is None:
                changes.append(OutcomeChange(spec.name, named, "removed", old=a))
            else:
                fields = tuple((name, a.get(name), b.get(name)) for name in spec.fields
                               if a.get(name) != b.get(name))
                if fields:
                    changes.append(OutcomeChange(spec.name, named, "changed", fields, a, b))
    old_totals = _credit_totals(old)
    new_totals = _credit_totals(new)
    totals = {currency: new_totals.get(currency, Decimal("0.00"))
              - old_totals.get(currency, Decimal("0.00"))
              for currency in set(old_totals) | set(new_totals)}
    totals = {c: v for c, v in totals.items() if v != 0}
    return OutcomeDiff(_versions(old), _versions(new), tuple(changes), totals,
                       old_totals, new_totals)


def _credit_totals(evaluation: Evaluation) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for row in evaluation.credits:
        totals[row.currency] = totals.get(row.currency, Decimal("0.00")) + Decimal(row.amount)
    return totals


def standalone(policy: Policy) -> Policy:
    """The same version, in force from the beginning of time with no end (see module doc)."""
    data = copy.deepcopy(dict(policy.data))
    metadata = dict(data.get("metadata") or {})
    metadata["effective"] = {"from": dt.date.min.isoformat(), "until": None}
    data["metadata"] = metadata
    return Policy.from_data(data, policy.file)


def evaluate_alone(
    policy: Policy,
    facts: Any,
    *,
    as_of: Any = None,
    months: Sequence[str] | str | None = None,
    backend: str = "auto",
) -> Evaluation:
    """Evaluate facts (a FactSet, files or dicts) under one version alone."""
    from policyengine.api import Engine, compile_versions
    from policyengine.engine import get_backend

    engine = Engine(compile_versions([standalone(policy)]), get_backend(backend))
    return engine.evaluate(facts, as_of=as_of, months=months)


def compare_outcomes(
    old: Policy,
    new: Policy,
    facts: Iterable[str | os.PathLike[str] | Mapping[str, Any]] | Any,
    *,
    as_of: Any = None,
    months: Sequence[str] | str | None = None,
    backend: str = "auto",
) -> OutcomeDiff:
    """Evaluate the same facts under OLD alone and NEW alone, and diff the outcomes."""
    from policyengine.api import parse_as_of
    from policyengine.validation.facts import FactSet, load_facts

    fact_set = facts if isinstance(facts, FactSet) else load_facts(facts)
    instant = parse_as_of(as_of)  # one instant for both, even when as_of is "now"
    before = evaluate_alone(old, fact_set, as_of=instant, months=months, backend=backend)
    after = evaluate_alone(new, fact_set, as_of=instant, months=months, backend=backend)
    return diff_outcomes(before, after)


def _jsonable(value: Any) -> Any:
    if value is _MISSING:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) \
            else float(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


__all__ = [
    "ClauseChange",
    "OutcomeChange",
    "OutcomeDiff",
    "PolicyDiff",
    "TermChange",
    "compare_outcomes",
    "diff_outcomes",
    "diff_policies",
    "evaluate_alone",
    "standalone",
]
