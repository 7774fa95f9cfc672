"""Policy tests: facts in, expected result rows out, checked by ``policyengine test``.

A test file (``*.test.yaml``, or ``*.test.yml``) pins what a policy decides for hand-picked facts::

    apiVersion: policyengine/v1
    kind: PolicyTest
    policy: .                      # relative to this file; default: the directory it is in
    as_of: "2026-11-27T12:00:00-05:00"   # default for every case (optional)
    facts: [...]                   # facts shared by every case (optional)
    x-shared: ...                  # keys starting with x- are ignored (YAML anchors live here)
    cases:
      - name: a month at exactly 99.0% is met
        facts: [...]               # inline facts, and/or
        facts_file: tests/oct.yaml # a fact file, relative to this file (or a list of them)
        as_of: "2026-11-27T12:00:00-05:00"
        months: "2026-10"          # optional, as --months
        policy_edits:              # optional: this case runs on an edited copy of the policy
          availability-commitment.target_percent: 99.5
        expect:                    # section -> rows; each must match some actual row
          availability:
            - {customer: acme, month: "2026-10", met: true}
        expect_absent:             # section -> rows; none may match any actual row
          credits:
            - {customer: acme, month: "2026-10"}
        expect_counts:             # section -> the exact number of rows
          credits: 0

An expected row matches an actual row when every key it gives is equal (keys it leaves out
are not compared). Numbers compare by value (``83.33`` matches ``"83.33"``), timestamps by
instant. Sections are those of ``policyengine evaluate --format json``: ``availability``,
``credits``, ``tickets``, ``obligations``, ``entitlements``, ``findings`` and ``policy``,
plus ``errors``: the problems (``file``, ``line``, ``column``, ``path``, ``code``,
``severity``, ``subject``, ``message``, ``hint``) that make the facts unusable. A case that
expects ``errors`` rows passes only when the evaluation refuses its input with them; any
other case whose input is refused is an error (exit 2).

``policy_edits`` set a term of a clause (``clause-id.term.path``, the last part may be a
term the clause does not give yet) or of the metadata (``metadata.field``) in every policy
version that has it; the edited policy is validated again.

Fact files for tests belong under a ``tests/`` folder next to the policy (a policy
directory treats every other YAML file in it as a policy version).
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from policyengine.diagnostics import VISIBLE_ESCAPES, Diagnostic, InputError, excerpt
from policyengine.load.paths import links_out, named_path, walked

TEST_SUFFIXES = (".test.yaml", ".test.yml")  # what policy directories skip as versions
#: Names that look meant as a policy test but are not read as one (a located warning):
#: ``x.tests.yaml``, ``x_test.yaml``, ``x-tests.yml``, ``x.Test.yaml`` ...
_NEAR_MISS = re.compile(r"(?i).+([._-]tests?)\.ya?ml")
_PATH_QUOTE = 200  # characters of a path a test file names, quoted in its messages
DEFAULT_PATH = "policies"
API_VERSION = "policyengine/v1"
FORMATS = ("text", "junit")
_TOP_KEYS = ("apiVersion", "kind", "metadata", "policy", "as_of", "months", "facts", "cases")
_CASE_KEYS = ("name", "description", "facts", "facts_file", "as_of", "months", "policy_edits",
              "expect", "expect_absent", "expect_counts")
EXTENSION_PREFIX = "x-"  # top-level keys that are ignored: a home for YAML anchors
ERRORS = "errors"  # the pseudo-section of the problems that refuse a case's input


def _section_fields() -> dict[str, tuple[str, ...]]:
    from policyengine.model.results import (
        AvailabilityRow,
        CreditRow,
        EntitlementRow,
        ObligationRow,
        RemedyRow,
        TicketRow,
    )

    def names(row_type: Any, skip: Sequence[str] = ()) -> tuple[str, ...]:
        return tuple(f.name for f in fields(row_type) if f.name not in skip)

    return {
        "availability": names(AvailabilityRow),
        "credits": names(CreditRow),
        "tickets": names(TicketRow),
        "obligations": names(ObligationRow),
        "entitlements": names(EntitlementRow),
        "remedies": names(RemedyRow),
        "findings": ("rule", "clause", "subject", "outcome", "message"),
        "policy": ("name", "version"),
        ERRORS: names(Diagnostic),
    }


# Fields that name a row, shown above its column when a case fails.
_IDENTITY = {
    "availability": ("customer", "month"),
    "credits": ("customer", "month"),
    "tickets": ("id",),
    "obligations": ("obligation", "subject", "customer"),
    "entitlements": ("id",),
    "remedies": ("customer", "period", "clause"),
    "findings": ("rule", "subject"),
    "policy": ("name", "version"),
    ERRORS: ("path",),
}


# -- the model ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class InlineFact:
    """A fact written in a test file: the mapping, its (line, column) and JSON path."""

    data: Mapping[str, Any]
    where: tuple[int, int]
    path: str


@dataclass(frozen=True)
class TestCase:
    """One case of a test file, with where it is (for messages)."""

    __test__ = False  # not a pytest class

    name: str
    index: int
    line: int
    facts: tuple[InlineFact, ...]
    facts_files: tuple[Path, ...]
    as_of: str
    months: Any
    expect: Mapping[str, Sequence[Mapping[str, Any]]]
    expect_absent: Mapping[str, Sequence[Mapping[str, Any]]]
    expect_counts: Mapping[str, int] = field(default_factory=dict)
    policy_edits: Mapping[str, Any] = field(default_factory=dict)
    # the edited policy versions (None: the test file's policy as it is)
    policies: tuple[Any, ...] | None = None

    @property
    def expects_errors(self) -> bool:
        """Whether the case expects its input to be refused (``errors`` rows)."""
        return ERRORS in self.expect or self.expect_counts.get(ERRORS, 0) > 0


@dataclass(frozen=True)
class TestFile:
    """A loaded, checked test file."""

    __test__ = False  # not a pytest class

    path: Path
    display: str
    policy: Path
    cases: tuple[TestCase, ...]


@dataclass(frozen=True)
class Mismatch:
    """An expectation that did not hold: ``missing`` (no row matched an ``expect`` row),
    ``present`` (a row matched an ``expect_absent`` row) or ``count`` (``expect_counts``
    differs from ``total_rows``). ``rows`` are the closest actual rows (missing), the
    offending ones (present) or every row (count)."""

    section: str
    kind: str
    expected: Mapping[str, Any]
    rows: tuple[Mapping[str, Any], ...]
    total_rows: int
    count: int | None = None


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case: ``pass``, ``fail`` or ``error`` (bad facts)."""

    file: str
    name: str
    line: int
    status: str
    mismatches: tuple[Mismatch, ...] = ()
    problems: tuple[Diagnostic, ...] = ()
    seconds: float = 0.0


@dataclass
class TestRun:
    """Every case of every file run; ``exit_code`` is what ``policyengine test`` returns."""

    __test__ = False  # not a pytest class

    results: list[CaseResult] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: files below PATHS named almost like a test file, not read (:func:`near_misses`)
    warnings: list[Diagnostic] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def exit_code(self) -> int:
        """2 when a case could not run (bad input), 1 when one failed, else 0."""
        if self.count("error"):
            return 2
        return 1 if self.count("fail") else 0


# -- checking and loading -----------------------------------------------------------------------
def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else ""


class _Checker:
    """Collects located problems in one test file."""

    def __init__(self, document: Any):
        self.document = document
        self.problems: list[Diagnostic] = []

    def add(self, path: Sequence[str | int], message: str, hint: str = "",
            code: str = "test") -> None:
        from policyengine.load.loader import json_path

        line, column = self.document.locate(tuple(path))
        self.problems.append(Diagnostic(file=self.document.file, line=line, column=column,
                                        path=json_path(path), message=message, code=code,
                                        hint=hint))

    def keys(self, value: Mapping[str, Any], allowed: Sequence[str],
             path: Sequence[str | int], what: str) -> None:
        for key in value:
            if key not in allowed:
                self.add((*path, key), f"unknown {what} key {key!r}",
                         _did_you_mean(str(key), allowed) or f"expected one of "
                         f"{', '.join(allowed)}")


def _load(path: Path, display: str) -> tuple[TestFile | None, list[Diagnostic]]:
    from policyengine.load import loader

    try:
        document = loader.load_document(path, display_name=display)
    except InputError as error:
        return None, list(error.diagnostics)
    check = _Checker(document)
    data = document.data
    if not isinstance(data, Mapping):
        check.add((), "a policy test file is a mapping with apiVersion, kind: PolicyTest "
                      "and cases")
        return None, check.problems
    if data.get("apiVersion") != API_VERSION:
        check.add(("apiVersion",), f"apiVersion must be {API_VERSION!r}")
    if data.get("kind") != "PolicyTest":
        check.add(("kind",), "kind must be 'PolicyTest'")
    check.keys({k: v for k, v in data.items() if not str(k).startswith(EXTENSION_PREFIX)},
               _TOP_KEYS, (), "test file")
    base = path.parent
    policy_value = data.get("policy", ".")
    policy = base
    if not isinstance(policy_value, str) or not policy_value:
        check.add(("policy",), "policy must be a path (to a policy file or version directory)")
    else:
        policy, refused = named_path(path, policy_value)
        if refused:
            check.add(("policy",), f"policy {excerpt(policy_value, _PATH_QUOTE)}: {refused}")
        elif not policy.exists():
            check.add(("policy",), "no such policy file or directory: "
                                   f"{excerpt(policy_value, _PATH_QUOTE)} (relative to the "
                                   "test file's directory)")
        elif (kind := _not_a_file(policy)) not in ("", "a directory"):
            check.add(("policy",), f"policy {excerpt(policy_value, _PATH_QUOTE)} is {kind}, "
                                   "not a policy file or directory")
    default_as_of = data.get("as_of")
    if default_as_of is not None:
        _check_as_of(check, ("as_of",), default_as_of)
    if data.get("months") is not None:
        _check_months(check, ("months",), data["months"])
    defaults = _Defaults(document=path, shared=_fact_list(check, ("facts",), data.get("facts")),
                         as_of=default_as_of, months=data.get("months"),
                         sections=_section_fields())
    cases_value = data.get("cases")
    if not isinstance(cases_value, list) or not cases_value:
        check.add(("cases",), "cases must be a non-empty list of test cases")
        cases_value = []
    cases = [case for index, raw in enumerate(cases_value)
             if (case := _case(check, index, raw, defaults)) is not None]
    if any(case.policy_edits for case in cases) and policy.exists():
        cases = _edited(check, policy, cases)
    if check.problems:
        return None, sorted(set(check.problems))  # shared facts are checked with every case
    return TestFile(path, display, policy, tuple(cases)), []


@dataclass
class _Defaults:
    """What a test file gives every case, and the names seen so far."""

    document: Path  # the test file: paths it names are relative to it, inside its root
    shared: list[InlineFact]
    as_of: Any
    months: Any
    sections: Mapping[str, Sequence[str]]
    seen: dict[str, int] = field(default_factory=dict)


def _case(check: _Checker, index: int, raw: Any, defaults: _Defaults) -> TestCase | None:
    """Check one case (problems go to ``check``) and build it."""
    where = ("cases", index)
    line = check.document.locate(where)[0]
    if not isinstance(raw, Mapping):
        check.add(where, "a test case is a mapping with name, facts, as_of and expect")
        return None
    check.keys(raw, _CASE_KEYS, where, "test case")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        check.add((*where, "name"), "every case needs a name")
        name = f"case {index + 1}"
    elif name in defaults.seen:
        check.add((*where, "name"), f"duplicate case name {name!r} (first at line "
                                    f"{defaults.seen[name]})")
    else:
        defaults.seen[name] = line
    own = _fact_list(check, (*where, "facts"), raw.get("facts"))
    files = _fact_files(check, (*where, "facts_file"), raw.get("facts_file"), defaults.document)
    if not own and not files and not defaults.shared and not raw.get("facts_file"):
        # (a facts_file named but unusable has its own line)
        check.add(where, f"case {name!r} has no facts (give facts or facts_file)")
    as_of = raw.get("as_of", defaults.as_of)
    if as_of is None:
        check.add(where, f"case {name!r} needs as_of (the evaluation instant), so that "
                         "it gives the same answer on every day it runs")
    months = raw.get("months", defaults.months)
    expect = _expectations(check, (*where, "expect"), raw.get("expect"), defaults.sections)
    absent = _expectations(check, (*where, "expect_absent"), raw.get("expect_absent"),
                           defaults.sections)
    counts = _counts(check, (*where, "expect_counts"), raw.get("expect_counts"),
                     defaults.sections)
    if not expect and not absent and not counts:
        check.add(where, f"case {name!r} expects nothing (give expect, expect_absent or "
                         "expect_counts)")
    edits = raw.get("policy_edits")
    if edits is not None and (not isinstance(edits, Mapping) or not edits):
        check.add((*where, "policy_edits"), "policy_edits must map clause-id.term (or "
                                            "metadata.field) to the value to use")
        edits = None
    case = TestCase(name=name, index=index, line=line, facts=(*defaults.shared, *own),
                    facts_files=tuple(files), as_of=str(as_of), months=months, expect=expect,
                    expect_absent=absent, expect_counts=counts,
                    policy_edits=dict(edits or {}))
    if not case.expects_errors:  # else refusing the input is what the case checks
        if "as_of" in raw and as_of is not None:
            _check_as_of(check, (*where, "as_of"), as_of)
        if "months" in raw and months is not None:
            _check_months(check, (*where, "months"), months)
        try:
            build_facts(case.facts, files, check.document.file)
        except InputError as error:
            check.problems.extend(error.diagnostics)
    return case


def _check_as_of(check: _Checker, path: Sequence[str | int], value: Any) -> None:
    from policyengine.api import parse_as_of

    if not isinstance(value, str):
        check.add(path, "as_of must be a timestamp with an offset, e.g. "
                        "\"2026-11-27T12:00:00-05:00\"")
        return
    try:
        parse_as_of(value)
    except InputError as error:
        check.add(path, error.diagnostics[0].message)


def _check_months(check: _Checker, path: Sequence[str | int], value: Any) -> None:
    from policyengine.api import parse_months

    if not (isinstance(value, str) or (isinstance(value, list)
                                       and all(isinstance(v, str) for v in value))):
        check.add(path, "months must be YYYY-MM, YYYY-MM..YYYY-MM or a list of them")
        return
    try:
        parse_months(value)
    except InputError as error:
        check.add(path, error.diagnostics[0].message)


def _fact_list(check: _Checker, path: tuple[str | int, ...], value: Any) -> list[InlineFact]:
    """Inline facts with their positions (checked as facts when the case's set is built)."""
    from policyengine.load.loader import json_path

    if value is None:
        return []
    if not isinstance(value, list):
        check.add(path, "facts must be a list of facts (each a mapping with a type)")
        return []
    out = []
    for index, fact in enumerate(value):
        if not isinstance(fact, Mapping):
            check.add((*path, index), "a fact must be a mapping with a 'type'")
            continue
        out.append(InlineFact(fact, check.document.locate((*path, index)),
                              json_path((*path, index))))
    return out


def _fact_files(check: _Checker, path: tuple[str | int, ...], value: Any,
                document: Path) -> list[Path]:
    """The fact files a case names, each relative to the test file ``document`` and inside
    its root (:func:`policyengine.load.paths.named_path`)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    files = []
    for index, item in enumerate(items):
        where = (*path, index) if isinstance(value, list) else path
        if not isinstance(item, str) or not item:
            check.add(where, "facts_file must be a path (or a list of paths)")
            continue
        file, refused = named_path(document, item)
        if refused:
            check.add(where, f"facts_file {excerpt(item, _PATH_QUOTE)}: {refused}")
            continue
        kind = _not_a_file(file)
        if kind == "missing":
            check.add(where, f"no such fact file: {excerpt(item, _PATH_QUOTE)} (relative to "
                             "the test file)")
        elif kind:
            check.add(where, f"facts_file {excerpt(item, _PATH_QUOTE)} is {kind}, not a fact "
                             "file")
        else:
            files.append(file)
    return files


def _not_a_file(path: Path) -> str:
    """"" for a regular file (through links), "missing", or what it is instead: "a
    directory", "a FIFO", "a socket", "a character device", "a block device". Never opens
    it (a FIFO would block)."""
    import stat

    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return "missing"
    if stat.S_ISREG(mode):
        return ""
    return ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a character device"
            if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
            else "not a regular file")


def _expectations(check: _Checker, path: tuple[str | int, ...], value: Any,
                  sections: Mapping[str, Sequence[str]]) -> dict[str, list[Mapping[str, Any]]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        check.add(path, f"{path[-1]} must map result sections ({', '.join(sections)}) to "
                        "lists of rows")
        return {}
    out: dict[str, list[Mapping[str, Any]]] = {}
    for section, rows in value.items():
        if section not in sections:
            check.add((*path, section), f"unknown result section {section!r}",
                      _did_you_mean(str(section), sections) or
                      f"expected one of {', '.join(sections)}")
            continue
        if not isinstance(rows, list):
            check.add((*path, section), f"{section} must be a list of rows")
            continue
        kept = []
        for index, row in enumerate(rows):
            where = (*path, section, index)
            if not isinstance(row, Mapping) or not row:
                check.add(where, "an expected row is a mapping of field: value (at least one)")
                continue
            for key in row:
                if key not in sections[section]:
                    check.add((*where, key), f"{section} rows have no field {key!r}",
                              _did_you_mean(str(key), sections[section])
                              or f"fields: {', '.join(sections[section])}")
            kept.append(row)
        out[str(section)] = kept
    return out


def _counts(check: _Checker, path: tuple[str | int, ...], value: Any,
            sections: Mapping[str, Sequence[str]]) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        check.add(path, f"expect_counts must map result sections ({', '.join(sections)}) to "
                        "row counts")
        return {}
    out: dict[str, int] = {}
    for section, count in value.items():
        if section not in sections:
            check.add((*path, section), f"unknown result section {section!r}",
                      _did_you_mean(str(section), sections) or
                      f"expected one of {', '.join(sections)}")
        elif isinstance(count, bool) or not isinstance(count, int) or count < 0:
            check.add((*path, section), f"the count of {section} rows must be a whole "
                                        "number, 0 or more")
        else:
            out[str(section)] = count
    return out


def apply_policy_edits(data: Mapping[str, Any], edits: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a policy document with ``edits`` applied.

    ``edits`` maps ``clause-id.term.path`` (or ``metadata.field.path``) to a value; every
    part but the last must exist, the last is set or added (a list item is named by its
    index from 0 and must exist: ``service-credit.tiers.0.below``). A clause id this version does
    not have is skipped (another version may have it). The result is not validated.
    KeyError ``(edit, missing part, the keys there)`` when a part before the last does not
    exist.
    """
    import copy

    edited: dict[str, Any] = copy.deepcopy(dict(data))
    clauses = {c.get("id"): c for section in (edited.get("spec") or {}).values()
               if isinstance(section, list) for c in section if isinstance(c, dict)}
    for dotted, value in edits.items():
        head, _, rest = str(dotted).partition(".")
        target = edited.get("metadata") if head == "metadata" else clauses.get(head)
        if target is None:
            continue
        parts = rest.split(".")
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if isinstance(target, list):
                # a list item by its index from 0 (service-credit.tiers.0.below); an edit
                # replaces an item the list has, it never adds one
                if not part.isdigit() or int(part) >= len(target):
                    raise KeyError(dotted, ".".join(parts[:depth + 1]),
                                   [str(i) for i in range(len(target))])
                if last:
                    target[int(part)] = copy.deepcopy(value)
                else:
                    target = target[int(part)]
                continue
            if not isinstance(target, dict):
                raise KeyError(dotted, ".".join(parts[:depth]), [])
            if last:
                target[part] = copy.deepcopy(value)
            elif part not in target:
                raise KeyError(dotted, ".".join(parts[:depth + 1]), sorted(map(str, target)))
            else:
                target = target[part]
    return edited


def _edited(check: _Checker, policy: Path, cases: Sequence[TestCase]) -> list[TestCase]:
    """The cases, those with ``policy_edits`` given their edited policy versions (problems
    located at the edit in the test file). When the policy itself does not load, its own
    problems are reported where it is used, and the edits are not checked."""
    from dataclasses import replace

    from policyengine.api import load_policies

    try:
        versions = load_policies(policy)
    except InputError:
        return list(cases)
    ids = sorted({clause.id for version in versions for clause in version.clauses})
    out = []
    for case in cases:
        if not case.policy_edits:
            out.append(case)
            continue
        where = ("cases", case.index, "policy_edits")
        before = len(check.problems)
        for dotted in case.policy_edits:
            head, _, rest = str(dotted).partition(".")
            if not rest or not head:
                check.add((*where, dotted), f"policy edit {dotted!r} names no term",
                          "write clause-id.term or metadata.field")
            elif head != "metadata" and head not in ids:
                check.add((*where, dotted), f"policy edit {dotted!r}: no clause {head!r} in "
                                            "the policy", _did_you_mean(head, ids))
        if len(check.problems) == before:
            edited = _edit_versions(check, where, versions, case.policy_edits)
            if edited is not None:
                case = replace(case, policies=edited)
        out.append(case)
    return out


def _edit_versions(check: _Checker, where: tuple[str | int, ...], versions: Sequence[Any],
                   edits: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The versions with ``edits`` applied and validated again; None (problems added) if
    an edit names a missing term or makes a version invalid."""
    from policyengine.load.loader import Document, json_path
    from policyengine.validation.policy import check_version_set, load_policy_document

    documents = []
    targets: dict[str, Any] = {}  # JSON path in the policy -> the edit that sets it
    for version in versions:
        try:
            data = apply_policy_edits(version.data, edits)
        except KeyError as error:
            dotted, missing, keys = error.args
            owner = "the metadata" if str(dotted).startswith("metadata.") else \
                f"clause {str(dotted).partition('.')[0]!r}"
            check.add((*where, dotted), f"policy edit {dotted!r}: {owner} of "
                                        f"{version.label} has no {missing!r}",
                      _did_you_mean(missing.rpartition(".")[2], keys))
            return None
        documents.append(load_policy_document(version.file, Document(version.file, data)))
        clauses = {clause.id: clause.path for clause in version.clauses}
        for dotted in edits:
            head, _, rest = str(dotted).partition(".")
            base = ("metadata",) if head == "metadata" else clauses.get(head)
            if base is not None:
                steps = [int(p) if p.isdigit() else p for p in rest.split(".")]
                targets[json_path((*base, *steps))] = dotted
    problems = [p for document in documents for p in document.problems
                if p.severity == "error"]
    if not problems and len(documents) > 1:
        problems = check_version_set(documents)
    for problem in problems:
        edit = next((targets[path] for path in sorted(targets, key=len, reverse=True)
                     if problem.path == path or problem.path.startswith((f"{path}.",
                                                                         f"{path}["))), None)
        check.add(where if edit is None else (*where, edit),
                  f"the edited policy is not valid: {problem.path}: {problem.message}",
                  problem.hint, code=problem.code)
    if problems:
        return None
    return tuple(document.policy for document in documents)


def check_test_file(path: str | os.PathLike[str]) -> list[Diagnostic]:
    """Structure problems of one PolicyTest file (for ``policyengine validate``)."""
    return _load(Path(path), os.fspath(path))[1]


def load_test_file(path: str | os.PathLike[str], display: str | None = None) -> TestFile:
    """Load and check a test file; InputError (every problem) when it is not valid.

    ``display`` (default: ``path`` as given) names the file in results and problems.
    """
    loaded, problems = _load(Path(path), os.fspath(path) if display is None else display)
    if problems or loaded is None:
        raise InputError(problems)
    return loaded


def discover(paths: Sequence[str | os.PathLike[str]] = ()) -> list[Path]:
    """Test files: each file given, and every ``*.test.yaml`` or ``*.test.yml`` below each
    directory given."""
    found: list[Path] = []
    problems: list[Diagnostic] = []
    for given in paths or (DEFAULT_PATH,):
        root = Path(given)
        if root.is_dir():
            inside, outside = links_out([p for p in walked(root)
                                         if p.name.endswith(TEST_SUFFIXES)], root)
            found += inside
            problems += outside
        elif root.is_file():
            found.append(root)
        else:
            problems.append(Diagnostic(file=os.fspath(given), message="no such file or "
                                       "directory", code="load"))
    if problems:
        raise InputError(problems)
    return found  # none yet is not a failure: a repository starts without policy tests


def near_misses(paths: Sequence[str | os.PathLike[str]] = ()) -> list[Diagnostic]:
    """A warning for each YAML file below a directory of ``paths`` whose name looks meant
    as a policy test (``x.tests.yaml``, ``x_test.yaml``, ``x.Test.yml``) but does not end
    in ``.test.yaml`` or ``.test.yml``, so is not run: ``FILE:0:0: $: warning: not read as
    a policy test: ... (rename it to x.test.yaml)``. Hidden directories are not looked in.
    """
    found: list[Diagnostic] = []
    for given in paths or (DEFAULT_PATH,):
        root = Path(given)
        if not root.is_dir():
            continue
        for directory, subdirectories, names in os.walk(root):
            subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
            for name in sorted(names):
                match = _NEAR_MISS.fullmatch(name)
                if match is None or name.endswith(TEST_SUFFIXES):
                    continue
                stem = name[:match.start(1)]
                found.append(Diagnostic(
                    file=os.path.join(directory, name), severity="warning", code="skipped",
                    message="not read as a policy test: test files are named *.test.yaml "
                            f"or *.test.yml (rename it to {stem}.test.yaml)"))
    return found


# -- running ------------------------------------------------------------------------------------
def values_equal(expected: Any, actual: Any) -> bool:
    """Whether an expected value matches an actual one (see module docstring)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, list | tuple) or isinstance(actual, list | tuple):
        return (isinstance(expected, list | tuple) and isinstance(actual, list | tuple)
                and len(expected) == len(actual)
                and all(values_equal(e, a) for e, a in zip(expected, actual, strict=True)))
    numbers = (int, float, Decimal)
    if isinstance(expected, numbers) or isinstance(actual, numbers):
        try:
            return Decimal(str(expected)) == Decimal(str(actual))
        except InvalidOperation:
            return False
    if isinstance(expected, str) and isinstance(actual, str):
        if expected == actual:
            return True
        left, right = _instant(expected), _instant(actual)
        return left is not None and left == right
    return bool(expected == actual)


def _instant(text: str) -> dt.datetime | None:
    if "T" not in text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _matches(expected: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    return all(key in row and values_equal(value, row[key]) for key, value in expected.items())


def _score(expected: Mapping[str, Any], row: Mapping[str, Any]) -> int:
    return sum(1 for key, value in expected.items() if key in row and values_equal(value, row[key]))


def check_expectations(case: TestCase, actual: Mapping[str, Sequence[Mapping[str, Any]]],
                       closest: int = 2) -> list[Mismatch]:
    """Every expectation of a case that the actual result rows do not satisfy.

    ``actual`` maps a section to its rows: an evaluation's ``to_dict()``, or ``{"errors":
    [diagnostic dicts]}`` when the input was refused.
    """
    mismatches: list[Mismatch] = []
    for section, rows in case.expect.items():
        have = actual.get(section, [])
        for expected in rows:
            if any(_matches(expected, row) for row in have):
                continue
            ranked = sorted(range(len(have)), key=lambda i: (-_score(expected, have[i]), i))
            mismatches.append(Mismatch(section, "missing", expected,
                                       tuple(have[i] for i in ranked[:closest]), len(have)))
    for section, rows in case.expect_absent.items():
        have = actual.get(section, [])
        for expected in rows:
            found = [row for row in have if _matches(expected, row)]
            if found:
                mismatches.append(Mismatch(section, "present", expected, tuple(found),
                                           len(have)))
    for section, count in case.expect_counts.items():
        have = actual.get(section, [])
        if len(have) != count:
            mismatches.append(Mismatch(section, "count", {}, tuple(have), len(have), count))
    return mismatches


def build_facts(facts: Sequence[InlineFact], files: Sequence[Path], display: str) -> Any:
    """The FactSet of a case: its fact files, then its inline facts (InputError if bad).

    Problems with inline facts are reported at their line in the test file, with their
    JSON path there (``$.cases[2].facts[0].end``).
    """

    from policyengine.validation.facts import FactSetBuilder, Where, iter_raw_facts

    builder = FactSetBuilder()
    for file in files:
        for raw, where, _ in iter_raw_facts(file, os.fspath(file)):
            builder.add(raw, where)
    located = {}
    for index, fact in enumerate(facts):
        where = Where(display, fact.where[0], fact.where[1], index)
        located[(display, where.line, where.column)] = fact.path
        builder.add(fact.data, where)
    try:
        return builder.finish()
    except InputError as error:
        raise relocated(error, located) from None


def relocated(error: InputError, located: Mapping[tuple[str, int, int], str]) -> InputError:
    """``error`` with the JSON paths of inline facts as the test file has them
    (``$.cases[2].facts[0].end``); ``located`` maps (file, line, column) to a fact's path."""
    from dataclasses import replace

    fixed = []
    for problem in error.diagnostics:
        path = located.get((problem.file, problem.line, problem.column))
        if path is not None and problem.path.startswith("$.facts["):
            field_path = problem.path.split("]", 1)[1]
            problem = replace(problem, path=path + field_path)
        fixed.append(problem)
    return InputError(fixed)


def run_case(engine: Any, test: TestFile, case: TestCase) -> CaseResult:
    """Evaluate one case's facts and check its expectations.

    ``engine`` is the :class:`~policyengine.api.Engine` for the case (see
    :class:`Engines`). Input refused with InputError is checked against the case's
    ``errors`` rows when it expects some; otherwise the case is an ``error``.
    """
    started = time.perf_counter()
    actual: dict[str, Any]
    try:
        facts = build_facts(case.facts, case.facts_files, test.display)
        try:
            actual = engine.evaluate(facts, as_of=case.as_of, months=case.months).to_dict()
        except InputError as error:
            # a fact refused while evaluating (an offering the policy lacks, a severity it
            # does not define) is located as inline facts are when they are read
            raise relocated(error, {(test.display, f.where[0], f.where[1]): f.path
                                    for f in case.facts}) from None
        actual[ERRORS] = []
    except InputError as error:
        if not case.expects_errors:
            return CaseResult(test.display, case.name, case.line, "error",
                              problems=tuple(error.diagnostics),
                              seconds=time.perf_counter() - started)
        actual = {ERRORS: [problem.to_dict() for problem in error.diagnostics]}
    mismatches = check_expectations(case, actual)
    return CaseResult(test.display, case.name, case.line, "fail" if mismatches else "pass",
                      tuple(mismatches), seconds=time.perf_counter() - started)


class Engines:
    """The engine each case runs on, built once per policy, set of edits, back-end
    (``auto``, ``durable`` or ``python``) and rule-pack directory (default: the shipped
    ``rules/``). ``for_case`` raises InputError when the policy or the rules cannot be used.
    """

    def __init__(self, backend: str = "auto", rules: str | os.PathLike[str] | None = None):
        self.backend = backend
        self.rules = rules
        self._packs: list[Any] | None = None
        self._versions: dict[Path, list[Any]] = {}
        self._engines: dict[tuple[Path, str], Any] = {}

    def for_case(self, test: TestFile, case: TestCase) -> Any:
        """The :class:`~policyengine.api.Engine` for ``case`` of ``test``."""
        from policyengine.api import Engine, compile_versions, load_policies, load_rule_packs
        from policyengine.engine import get_backend

        path = test.policy.resolve()
        # repr keeps 99.5 and "99.5" apart
        edits = "" if case.policies is None else repr(sorted(case.policy_edits.items()))
        key = (path, edits)
        if key not in self._engines:
            if self._packs is None:
                self._packs = load_rule_packs(self.rules)
            if case.policies is not None:
                versions = list(case.policies)
            else:
                if path not in self._versions:
                    self._versions[path] = load_policies(test.policy)
                versions = self._versions[path]
            self._engines[key] = Engine(compile_versions(versions, self._packs),
                                        get_backend(self.backend))
        return self._engines[key]


def run_tests(paths: Sequence[str | os.PathLike[str]] = (), *, backend: str = "auto",
              rules: str | os.PathLike[str] | None = None) -> TestRun:
    """Discover, check and run policy tests; InputError when a file cannot be used."""
    files = discover(paths)
    warnings = near_misses(paths)
    tests: list[TestFile] = []
    problems: list[Diagnostic] = []
    for file in files:
        loaded, found = _load(file, os.fspath(file))
        problems += found
        if loaded is not None:
            tests.append(loaded)
    if problems:
        raise InputError(problems)
    engines = Engines(backend, rules)
    run = TestRun(files=[t.display for t in tests], warnings=warnings)
    for test in tests:
        for case in test.cases:
            run.results.append(run_case(engines.for_case(test, case), test, case))
    return run


# -- reporting ----------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _identity(section: str, row: Mapping[str, Any]) -> str:
    return " ".join(_cell(row.get(k)) for k in _IDENTITY.get(section, ()) if k in row)


def render_mismatch(mismatch: Mismatch) -> list[str]:
    """The expected row beside the closest actual rows; ``!`` marks a differing field."""
    expected = mismatch.expected
    if mismatch.kind == "count":
        rows = ", ".join(_identity(mismatch.section, row) or "?" for row in mismatch.rows)
        return [f"{mismatch.section}: expected {_plural(mismatch.count or 0, 'row')}, found "
                f"{mismatch.total_rows}" + (f": {rows}" if rows else "")]
    if mismatch.kind == "missing":
        if not mismatch.rows:
            head = f"{mismatch.section}: expected a row like this, but there are no " \
                   f"{mismatch.section} rows"
        else:
            head = (f"{mismatch.section}: no row matches; expected beside the closest "
                    f"{len(mismatch.rows)} of {mismatch.total_rows} actual rows")
    else:
        head = (f"{mismatch.section}: expected no row like this, but {len(mismatch.rows)} "
                f"match")
    keys = list(expected)
    columns = [[_cell(expected[k]) for k in keys]]
    titles = ["expected"]
    for number, row in enumerate(mismatch.rows, 1):
        label = "actual" if len(mismatch.rows) == 1 else f"actual #{number}"
        identity = _identity(mismatch.section, row)
        titles.append(f"{label} ({identity})" if identity else label)
        column = []
        for key in keys:
            if key not in row:
                column.append("✗ (no such field)")
            elif mismatch.kind == "missing" and not values_equal(expected[key], row[key]):
                column.append(f"✗ {_cell(row[key])}")
            else:
                column.append(_cell(row[key]))
        columns.append(column)
    widths = [max(len("field"), *(len(k) for k in keys))]
    widths += [max(len(title), *(len(cell) for cell in column))
               for title, column in zip(titles, columns, strict=True)]
    lines = [head]

    def line(gutter: str, cells: Sequence[str]) -> str:
        return (f"  {gutter} " + " | ".join(c.ljust(w) for c, w in zip(cells, widths,
                                                                         strict=True))).rstrip()

    lines.append(line(" ", ["field", *titles]))
    lines.append(line(" ", ["-" * w for w in widths]))
    for index, key in enumerate(keys):
        cells = [key, *(column[index] for column in columns)]
        differs = any(cell.startswith("✗") for cell in cells[2:])
        lines.append(line("!" if differs else " ", cells))
    return lines


def render_case(result: CaseResult) -> list[str]:
    """``PASS``/``FAIL``/``ERROR`` line for a case, with the details of a failure."""
    label = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}[result.status]
    lines = [f"{label:<5} {result.file}:{result.line}: {result.name}"]
    for mismatch in result.mismatches:
        lines += [f"      {text}" for text in render_mismatch(mismatch)]
    for problem in result.problems:
        lines.append(f"      {problem.render()}")
    return lines


def render_text(run: TestRun) -> str:
    """Every case, then a summary line."""
    lines: list[str] = []
    for result in run.results:
        lines += render_case(result)
    summary = (f"{run.count('pass')} passed, {run.count('fail')} failed"
               + (f", {run.count('error')} errors" if run.count("error") else "")
               + f" ({_plural(len(run.results), 'case')} in {_plural(len(run.files), 'file')})")
    lines += ["", summary]
    return "\n".join(line.translate(_LINE_ESCAPES) for line in lines) + "\n"


def nothing_to_run(paths: Sequence[str | os.PathLike[str]] = ()) -> str:
    """The line (for stderr) when ``paths`` hold no policy test: not a failure (a
    repository starts without policy tests; the pre-commit hook runs anyway), but said."""
    where = ", ".join(os.fspath(p) for p in paths) or DEFAULT_PATH
    return (f"no policy tests found in {where} (files named *.test.yaml or *.test.yml); "
            "nothing to run")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def render_junit(run: TestRun) -> str:
    """JUnit XML: a testsuite per test file, a testcase per case."""
    import textwrap
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name="policyengine test",
                      tests=str(len(run.results)), failures=str(run.count("fail")),
                      errors=str(run.count("error")),
                      time=f"{sum(r.seconds for r in run.results):.3f}")
    for file in run.files:
        results = [r for r in run.results if r.file == file]
        suite = ET.SubElement(root, "testsuite", name=file, tests=str(len(results)),
                              failures=str(sum(r.status == "fail" for r in results)),
                              errors=str(sum(r.status == "error" for r in results)),
                              skipped="0", time=f"{sum(r.seconds for r in results):.3f}")
        for result in results:
            case = ET.SubElement(suite, "testcase", classname=file, name=result.name,
                                 file=file, line=str(result.line), time=f"{result.seconds:.3f}")
            details = textwrap.dedent("\n".join(render_case(result)[1:]))
            if result.status == "fail":
                failure = ET.SubElement(case, "failure", type="PolicyTestFailure",
                                        message=f"{len(result.mismatches)} expectation(s) "
                                                "not met")
                failure.text = details
            elif result.status == "error":
                error = ET.SubElement(case, "error", type="InputError",
                                      message=result.problems[0].render()
                                      if result.problems else "error")
                error.text = details
    for element in root.iter():  # ElementTree escapes markup, not characters XML refuses
        element.attrib.update({k: xml_text(v) for k, v in element.attrib.items()})
        if element.text:
            element.text = xml_text(element.text)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") \
        + "\n"


# characters XML 1.0 does not allow at all (even as references): C0 controls but tab, LF
# and CR, lone surrogates, U+FFFE and U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


#: what no line of a test report shows as it is (a case name, a fact value): control and
#: bidi characters as visible escapes, newlines kept (docs/hardening.md)
_LINE_ESCAPES = {c: text for c, text in VISIBLE_ESCAPES.items() if c != 0x0A}
# in XML, newlines and tabs are whitespace a JUnit viewer shows as such
_XML_ESCAPES = {c: text for c, text in _LINE_ESCAPES.items() if c != 0x09}


def xml_text(text: str) -> str:
    """``text`` with every character XML 1.0 refuses, and every control or bidi character
    (:data:`policyengine.diagnostics.VISIBLE_ESCAPES`, newlines and tabs kept), shown as a visible
    escape (``\\x1b``, ``\\u202e``)."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text.translate(_XML_ESCAPES))


def render_run(run: TestRun, fmt: str = "text") -> str:
    """``text`` or ``junit``."""
    if fmt == "junit":
        return render_junit(run)
    if fmt == "text":
        return render_text(run)
    raise ValueError(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")


__all__ = [
    "CaseResult",
    "Engines",
    "Mismatch",
    "TestCase",
    "TestFile",
    "TestRun",
    "apply_policy_edits",
    "check_expectations",
    "check_test_file",
    "discover",
    "load_test_file",
    "render_run",
    "run_case",
    "run_tests",
    "values_equal",
]
