"""The clause-kind registry: one home for everything about a kind of policy clause.

A *clause kind* (``calendar``, ``service_credit``, ``severity``...) decides which terms a
clause carries and which rules of a rule pack apply to it (``for_clause``). Each kind is a
:class:`ClauseKind` subclass registered under its name, in the module of its family (one
module per policy section: ``calendars``, ``availability``, ``exclusions``, ``credits``,
``support``, ``notifications``, ``entitlements``, ``declarations``)::

    @register("claim_window")
    class ClaimWindow(ClauseKind):
        section = "credits"
        title = "Claim window"
        terms = {"window": {...}}          # JSON Schema of each term
        required = ("window",)

        def check(self, ctx, path, clause): ...          # what a schema cannot say
        def words(self, terms, done): ...                # `policyengine show`
        def contribute(self, clause, values, policy): ... # what evaluation reads

This is the pattern cloud-custodian uses for its filters and actions. The kind carries:

- its JSON Schema fragment (:meth:`ClauseKind.schema`), from which
  ``schemas/policy.schema.json`` and the rule-pack schema's ``for_clause`` list are generated
  (:mod:`policyengine.clauses.generate`);
- its semantic checks (:meth:`ClauseKind.check`, :meth:`ClauseKind.check_policy`), run by
  :mod:`policyengine.validation.policy` after the schema;
- its words for ``policyengine show`` (:meth:`ClauseKind.words`) and the terms ``diff``
  compares as a whole (:attr:`ClauseKind.whole_terms`);
- the values it contributes to evaluation (:meth:`ClauseKind.contribute`, into
  :class:`policyengine.clauses.values.PolicyValues`): business calendars, the claim window
  in days, the severity levels, the credit clause whose kind computes the amount.

Third-party kinds register through the entry-point group ``policyengine.clauses``: each
entry point names a module (or an object) that is imported once, on the first look-up of a
kind the package does not ship, or when every kind is listed. Importing the registry is
cheap: it imports neither jsonschema nor durable-rules.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from policyengine.diagnostics import Diagnostic
from policyengine.lifecycle import fork_safe
from policyengine.model.policy import SECTIONS

if TYPE_CHECKING:  # pragma: no cover - typing only
    from policyengine.model.facts import Subscription
    from policyengine.model.policy import Clause, Policy

ENTRY_POINT_GROUP = "policyengine.clauses"
# The families the package ships, in the order their kinds appear in the schema: one module
# per policy section, named after it (so the list is the sections' own).
BUILTIN_MODULES = SECTIONS
# The properties every clause has, as each kind's schema fragment restates them.
COMMON_PROPERTIES: dict[str, Any] = {
    "id": {"description": "The clause's short name, unique in the policy. Example: severity-1."},
    "kind": {"description": "The kind of clause; it decides which terms follow."},
    "ref": {"description": "Where the clause comes from in the contract (for the reader: "
                           "`show` prints it, no decision reads it)."},
    "summary": {"description": "The clause restated in plain words (for the reader: `show` "
                               "prints it, no decision reads it)."},
    "offerings": {
        "description": (
            "The offerings (spec.offerings) this clause applies to; left out, it applies to "
            "every subscription. A subscription of another offering, or of none, does not get "
            "it. Example: [premium]."
        ),
        "type": "array",
        "items": {"$ref": "#/definitions/clause_id"},
        "uniqueItems": True,
        "minItems": 1,
    },
}

ClausePath = tuple[str | int, ...]
TermLines = list[tuple[str, str]]


@dataclasses.dataclass(frozen=True)
class CreditMeasure:
    """What evaluation measured for one credited period, handed to the credit's kind.

    - ``tier``: the tier the rules decided (1 = the first band listed), None when the
      credit has no tiers;
    - ``period``: the period's key (``2026-10``; ``2026-Q4`` or ``2026`` for longer periods);
    - ``period_months``: its length in calendar months (1, 3 or 12);
    - ``period_seconds``: its real elapsed length (of the part measured, for a part
      period); ``counted_seconds``: the counted downtime in it (both seconds);
    - ``share``: the share of the period's fee the credit is computed on: 1, or for a part
      period with a pro-rated fee the days of the period in the term / the days of the
      period (docs/policy-language.md, shape 4, part periods).
    """

    tier: int | None
    period: str
    period_months: int
    period_seconds: float
    counted_seconds: float
    share: Decimal = Decimal(1)


@dataclasses.dataclass(frozen=True)
class CreditFigure:
    """A credit as its kind computed it: ``amount`` (``Decimal``, rounded as the policy
    says) in ``unit`` (the subscription's currency, or ``days`` of service), the ``basis``
    it was computed on and the ``tier`` it came from (None when not tiered)."""

    amount: Decimal
    unit: str
    basis: str | None = None
    tier: int | None = None


class CheckContext:
    """What a kind's semantic checks see: the document, its clauses, and a way to report.

    ``clauses`` holds every clause as ``(path, raw mapping)`` in document order (path like
    ``("spec", "support", 0)``); ``zones`` is the set of IANA time-zone names; ``scratch``
    is a per-kind dict for state kept between clauses (for example levels seen so far).
    """

    def __init__(self, document: Any, clauses: Sequence[tuple[ClausePath, Mapping[str, Any]]],
                 zones: frozenset[str] | set[str]):
        self.document = document
        self.clauses = list(clauses)
        self.zones = zones
        self._scratch: dict[str, dict[str, Any]] = {}

    def scratch(self, kind: str) -> dict[str, Any]:
        """A dict private to one kind for this document."""
        return self._scratch.setdefault(kind, {})

    def of_kind(self, kind: str) -> list[tuple[ClausePath, Mapping[str, Any]]]:
        """The clauses of a kind, ``(path, clause)``, in document order."""
        return [(path, clause) for path, clause in self.clauses if clause.get("kind") == kind]

    def line(self, path: Sequence[str | int]) -> int:
        """The line a path of the document starts on."""
        return self.document.locate(tuple(path))[0]

    def error(self, path: Sequence[str | int], message: str,
              code: str = "semantic") -> Diagnostic:
        """A located error at ``path`` (``FILE:LINE:COL`` comes from the document)."""
        from policyengine.load.loader import json_path

        line, column = self.document.locate(tuple(path))
        return Diagnostic(file=self.document.file, line=line, column=column,
                          path=json_path(path), message=message, code=code)

    def warning(self, path: Sequence[str | int], message: str,
                code: str = "semantic") -> Diagnostic:
        """A located warning: reported, but the policy still loads."""
        return dataclasses.replace(self.error(path, message, code), severity="warning")


class ClauseKind:
    """One kind of clause; subclass it and decorate the subclass with :func:`register`.

    Class attributes describe the kind's terms for the schema; the methods are hooks with
    harmless defaults, so a kind overrides only what it has to say.
    """

    name: ClassVar[str] = ""  # set by @register
    section: ClassVar[str] = "declarations"  # the spec section the kind belongs in
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    terms: ClassVar[Mapping[str, Any]] = {}  # term name -> JSON Schema (draft-07)
    required: ClassVar[tuple[str, ...]] = ()
    # Shared definitions the terms refer to (``#/definitions/<name>``), written just before
    # the kind's own definition; a name may be defined by one kind only.
    definitions: ClassVar[Mapping[str, Any]] = {}
    # Terms that ``policyengine diff`` compares and describes as one condition.
    whole_terms: ClassVar[frozenset[str]] = frozenset()
    # Terms a ``summary`` may restate as numbers (dotted term path -> ``percent`` or
    # ``duration``); a percentage or duration the summary states that none of them says is
    # a warning (see :mod:`policyengine.clauses.summaries`).
    summary_numbers: ClassVar[Mapping[str, str]] = {}
    # A kind evaluation reads once per policy (the commitment, the credit, the claim window):
    # a second clause of it is refused at validate, at its ``kind``, instead of being
    # silently ignored. True, or (the same, and better) a sentence saying how to write what
    # was meant instead, which ends the message (see validation.policy).
    single: ClassVar[bool | str] = False
    # Terms that may differ per service of a commitment measured per service: a clause of
    # the kind may give them again under ``per_service: {service: {term: value}}`` (the
    # schema takes each with its own term's schema); docs/policy-language.md, shape 5.
    per_service_terms: ClassVar[tuple[str, ...]] = ()

    def absence(self, policy: Policy) -> tuple[str, str] | None:
        """What ``policy`` means by having no clause of this kind, as a ``(label, words)``
        line ``policyengine show`` prints at the end of the kind's section (for example "no
        claim window: every credit is owed without a request"); None (the default) when the
        absence needs no words. Only called for a policy without a clause of the kind."""
        return None

    def single_hint(self, first: Mapping[str, Any], second: Mapping[str, Any]) -> str:
        """For a ``single`` kind: what to write instead of ``second``, a second clause for
        the same subscriptions as ``first`` (both raw mappings), as a sentence ending the
        refusal; "" for none. The default is ``single`` when it is a sentence. (A clash
        between clauses restricted to different offerings gets the offering's sentence from
        validation, whatever the kind.)"""
        return self.single if isinstance(self.single, str) else ""

    def schema(self) -> dict[str, Any]:
        """The JSON Schema fragment (``definitions/<name>``) a clause of this kind must match."""
        fragment: dict[str, Any] = {
            "title": self.title,
            "description": self.description,
            "type": "object",
            "properties": {**COMMON_PROPERTIES, **self.terms},
            "additionalProperties": False,
        }
        if self.per_service_terms:
            fragment["properties"]["per_service"] = {
                "description": (
                    "The terms that differ for some services (the commitment measured per "
                    "service): each service the commitment covers, mapped to its own "
                    f"{', '.join(self.per_service_terms)}. A service left out takes the "
                    "clause's terms as written."
                ),
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"type": "string", "pattern": "^[a-z][a-z0-9_-]*$",
                                  "patternErrorMessage": "expected a service name like api"},
                "additionalProperties": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": False,
                    "properties": {name: self.terms[name] for name in self.per_service_terms},
                },
            }
        if self.required:
            fragment["required"] = list(self.required)
        return fragment

    def for_service(self, terms: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
        """A clause's terms (the raw mapping) for one service, given the service's own
        (``per_service[service]``): by default each of the service's terms replaces the
        clause's. A kind whose terms hang together (one amount of several possible bases)
        overrides this."""
        return {**terms, **copy.deepcopy(dict(own))}

    def check(self, ctx: CheckContext, path: ClausePath,
              clause: Mapping[str, Any]) -> Iterable[Diagnostic]:
        """Checks of one clause that the schema cannot express (called in document order)."""
        return ()

    def check_policy(self, ctx: CheckContext) -> Iterable[Diagnostic]:
        """Checks that need every clause (references, agreement between clauses)."""
        return ()

    def words(self, terms: Mapping[str, Any], done: set[str]) -> TermLines:
        """The clause's terms in words for ``show``: ``(label, words)`` lines.

        Add every term described to ``done``; the others are listed as ``label: value``.
        """
        return []

    def credit_amount(self, clause: Clause, subscription: Subscription) -> Decimal:
        """For a kind that contributes itself as the credit (``values.credit``): the credit
        for one missed month, in the subscription's currency. Other kinds: NotImplementedError.
        """
        raise NotImplementedError(f"clause kind {self.name!r} does not compute a credit")

    def credit_for(self, clause: Clause, subscription: Subscription,
                   measure: CreditMeasure) -> CreditFigure:
        """For a credit kind: the credit of one missed period as a :class:`CreditFigure`,
        given what was measured (:class:`CreditMeasure`: the tier the rules decided, the
        period, its length, the counted downtime). The default is
        :meth:`credit_amount` in the subscription's currency (what plug-in kinds implement).
        """
        return CreditFigure(self.credit_amount(clause, subscription), subscription.currency)

    def contribute(self, clause: Clause, values: Any, policy: Policy) -> None:
        """Put what evaluation needs from this clause into ``values``, a
        :class:`policyengine.clauses.values.PolicyValues` built once per policy (that module
        imports this one, so the type is not named here)."""


# held across every fork (policyengine.lifecycle), outer ones first: a forked worker starts
# with them free, whatever other threads were doing
_lock = fork_safe(threading.Lock(), 30)  # guards _kinds; never held while importing
_builtin_lock = fork_safe(threading.Lock(), 20)  # held while the family modules are imported
_plugin_lock = fork_safe(threading.Lock(), 10)  # held while the entry points are imported
_kinds: dict[str, ClauseKind] = {}
_state = {"builtins": False, "plugins": False, "generation": 0}
_BUILTIN_PREFIX = f"{__package__}."


def register(name: str) -> Callable[[type[ClauseKind]], type[ClauseKind]]:
    """Class decorator: register a :class:`ClauseKind` subclass as the kind ``name``.

    Raises ValueError for a name that is not lower_snake_case, a name already registered,
    or a section the policy format does not have.
    """

    def decorate(cls: type[ClauseKind]) -> type[ClauseKind]:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(f"clause kind {name!r}: expected a lower_snake_case name")
        if cls.section not in SECTIONS:
            raise ValueError(f"clause kind {name!r}: unknown section {cls.section!r} "
                             f"(expected one of {', '.join(SECTIONS)})")
        with _lock:
            if name in _kinds:
                raise ValueError(f"clause kind {name!r} is already registered")
            cls.name = name
            _kinds[name] = cls()
            _state["generation"] += 1
        return cls

    return decorate


def unregister(name: str) -> None:
    """Remove a kind registered from outside the package (tests, plug-ins).

    Raises KeyError for an unknown kind and ValueError for one the package ships.
    """
    _load_builtins()
    with _lock:
        if _is_builtin(_kinds[name]):
            raise ValueError(f"clause kind {name!r} ships with the package")
        del _kinds[name]
        _state["generation"] += 1


def _family(kind: ClauseKind) -> str:
    module = type(kind).__module__
    return module[len(_BUILTIN_PREFIX):] if module.startswith(_BUILTIN_PREFIX) else ""


def _is_builtin(kind: ClauseKind) -> bool:
    return _family(kind) in BUILTIN_MODULES


def _load_builtins() -> None:
    """Import the package's family modules (which register their kinds), once."""
    if _state["builtins"]:
        return
    import importlib

    with _builtin_lock:
        if _state["builtins"]:
            return
        for module in BUILTIN_MODULES:
            importlib.import_module(f"{__package__}.{module}")
        _state["builtins"] = True


def _load_plugins() -> None:
    """Import the ``policyengine.clauses`` entry points, once (a failing one raises)."""
    if _state["plugins"]:
        return
    from importlib.metadata import entry_points

    with _plugin_lock:
        if _state["plugins"]:
            return
        try:
            for entry in entry_points(group=ENTRY_POINT_GROUP):
                entry.load()
        finally:
            _state["plugins"] = True  # one attempt, even when a plug-in fails to load


def get(name: str) -> ClauseKind | None:
    """The kind registered as ``name`` (loading plug-ins on a miss), or None."""
    _load_builtins()
    kind = _kinds.get(name)
    if kind is None and not _state["plugins"]:
        _load_plugins()
        kind = _kinds.get(name)
    return kind


def kind_of(name: str) -> ClauseKind:
    """Like :func:`get`, but an unknown kind yields the base kind (it says nothing)."""
    return get(name) or _PLAIN


def kinds(*, builtin_only: bool = False) -> list[ClauseKind]:
    """Every registered kind: the package's in schema order (family modules in
    :data:`BUILTIN_MODULES` order, each in definition order), then the others as
    registered. ``builtin_only``: the package's alone (plug-ins are not loaded)."""
    _load_builtins()
    if not builtin_only:
        _load_plugins()
    with _lock:
        registered = list(_kinds.values())
    builtins = sorted((kind for kind in registered if _is_builtin(kind)),
                      key=lambda kind: BUILTIN_MODULES.index(_family(kind)))
    if builtin_only:
        return builtins
    return builtins + [kind for kind in registered if not _is_builtin(kind)]


def extra_kinds() -> list[ClauseKind]:
    """Kinds registered beyond the package's own (plug-ins, tests), as registered."""
    return [kind for kind in kinds() if not _is_builtin(kind)]


def generation() -> int:
    """A number that changes whenever a kind is registered or removed (for caches)."""
    kinds()
    return _state["generation"]


_PLAIN = ClauseKind()

__all__ = [
    "BUILTIN_MODULES",
    "COMMON_PROPERTIES",
    "CreditFigure",
    "CreditMeasure",
    "ENTRY_POINT_GROUP",
    "CheckContext",
    "ClausePath",
    "ClauseKind",
    "TermLines",
    "extra_kinds",
    "generation",
    "get",
    "kind_of",
    "kinds",
    "register",
    "unregister",
]
