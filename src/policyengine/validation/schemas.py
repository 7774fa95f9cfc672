"""JSON Schema validation of policies, rule packs and fact files, with readable messages.

The schemas (``schemas/*.schema.json``, draft-07) are the single description of the file
formats; editors use them for completion and tooltips, and this module turns jsonschema's
errors into located :class:`~policyengine.diagnostics.Diagnostic` objects whose messages a
contract editor can act on:

- ``unknown field 'metdata'`` (hint ``did you mean 'metadata'?``), located at the key itself;
- ``missing required field 'ref'``;
- ``'199' is above the maximum of 100``;
- ``expected a duration like 48h, 7d or 30m, got '48 hours'``;
- ``unknown plan 'gold'; expected one of: production, beta, trial, pilot``;
- ``timestamp '2026-10-05T14:00:00' has no offset; ...``.

Every independent error is reported, sorted by line. ``jsonschema`` is imported lazily so that
commands which never validate do not pay for it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policyengine.diagnostics import Diagnostic, excerpt
from policyengine.load.packaged import data_dir

if TYPE_CHECKING:  # pragma: no cover - typing only
    from jsonschema import Draft7Validator, FormatChecker
    from jsonschema.exceptions import ValidationError

SCHEMA_NAMES = ("policy", "facts", "rules", "mapping")

_ANNOTATIONS = frozenset({"title", "description", "examples"})
_CUTOFF = 0.7  # difflib similarity for "did you mean" hints

_TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a set of named fields",
    "null": "null",
}


# -- loading ----------------------------------------------------------------------------
@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema ``policy``, ``facts`` or ``rules`` (cached; do not mutate it).

    Read from :func:`policyengine.load.packaged.data_dir` (the installed package data, else
    the repository's ``schemas/``). Raises ValueError for an unknown name.
    """
    if name not in SCHEMA_NAMES:
        raise ValueError(f"unknown schema {name!r}; expected one of: {', '.join(SCHEMA_NAMES)}")
    path = data_dir("schemas") / f"{name}.schema.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"schema {path.name} is not installed (looked in {path.parent})"
                                ) from None
    return json.loads(text)


# -- formats and patterns, shared with the compiled fact check (validation/factschema.py) ---
AMOUNT_INTEGER_DIGITS = 15  # an amount is below 10**15 (a quadrillion) ...
AMOUNT_PLACES = 6  # ... with at most six decimal places


def is_date(value: object) -> bool:
    """Format ``date``: a calendar date that exists (the schema's pattern fixes the form)."""
    if isinstance(value, str):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
    return True


def is_date_time(value: object) -> bool:
    """Format ``date-time``: a date and time that exist (the pattern requires the offset)."""
    if isinstance(value, str):
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            return False
    return True


def is_amount(value: object) -> bool:
    """Format ``amount``, for an amount written as a number: below 10**15, with at most six
    decimal places (what the pattern says of an amount written as text; text passes here).

    Numbers come from the loaders as ``int`` or ``Decimal`` (never NaN or infinite: both
    loaders refuse them); a float or a non-finite value fails.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return True
    if isinstance(value, int):
        return value < 10**AMOUNT_INTEGER_DIGITS
    if isinstance(value, float) or not value.is_finite():
        return False
    return value < 10**AMOUNT_INTEGER_DIGITS and (
        not value or value.as_tuple().exponent >= -AMOUNT_PLACES)  # type: ignore[operator]


def is_timezone(value: object) -> bool:
    """Format ``iana-timezone``: a zone name ``zoneinfo`` knows."""
    return not isinstance(value, str) or _is_timezone(value)


# format name -> check (True: conforms); formats not named here are not checked
FORMATS: Mapping[str, Any] = {"date": is_date, "date-time": is_date_time, "amount": is_amount,
                              "iana-timezone": is_timezone}


@functools.cache
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` with JSON Schema's (ECMA-262) meaning of a final ``$``: the end of the text.

    Python's ``$`` also matches before a final line break, so ``^[A-Z]{3}$`` would accept
    ``"USD\\n"``; here it is ``\\Z``. Used by every schema check (``re.search``, as JSON
    Schema searches)."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _format_checker() -> FormatChecker:
    """Only the formats our schemas use, with the same parsers the loaders use."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, check in FORMATS.items():
        checker.checks(name)(check)
    return checker


@functools.cache
def _draft7() -> Any:
    """Draft-07 with ECMA-262 patterns (:func:`ecma_pattern`)."""
    from jsonschema import Draft7Validator, ValidationError, validators

    def pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
        if validator.is_type(instance, "string") and not ecma_pattern(pattern).search(instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")

    return validators.extend(Draft7Validator, {"pattern": pattern})


def _is_timezone(name: str) -> bool:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _validator(name: str) -> Draft7Validator:
    """The validator of a schema; for ``policy`` and ``rules``, with any clause kinds
    registered beyond the package's own (plug-ins, tests) added to the checked-in schema."""
    if name in ("policy", "rules"):
        from policyengine.clauses import registry

        return _build_validator(name, registry.generation())
    return _build_validator(name, 0)


def schema_with_kinds(name: str) -> dict[str, Any]:
    """The schema ``name`` as validation applies it (do not mutate it).

    The checked-in file; for ``policy`` and ``rules``, with the clause kinds registered
    beyond the package's own (plug-ins' entry points, tests) added. Without such kinds
    this is :func:`load_schema`'s object itself. Raises ValueError for an unknown name.
    """
    schema = load_schema(name)
    if name in ("policy", "rules"):
        from policyengine.clauses import registry

        extra = registry.extra_kinds()
        if extra:
            from policyengine.clauses.generate import with_kinds

            schema = with_kinds(name, schema, extra)
    return schema


@functools.cache
def _build_validator(name: str, generation: int) -> Draft7Validator:
    return _draft7()(schema_with_kinds(name), format_checker=_format_checker())


@functools.cache
def _fact_validators() -> tuple[Draft7Validator, dict[str, Draft7Validator]]:
    """One validator for any fact, and one per known fact type (the fast path)."""
    draft7 = _draft7()
    schema = load_schema("facts")
    definitions = schema["definitions"]
    checker = _format_checker()

    def inline(node: Any) -> Any:
        # The fact definitions are not recursive: resolving every $ref up front halves the
        # time per fact (no reference lookups) and drops the editor-only annotations.
        if isinstance(node, dict):
            if "$ref" in node:  # draft-07: siblings of $ref are ignored
                return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
            out = {}
            for key, value in node.items():
                if key in _ANNOTATIONS:
                    continue
                if key == "properties":  # a mapping of field names: keep every name
                    out[key] = {name: inline(sub) for name, sub in value.items()}
                else:
                    out[key] = inline(value)
            return out
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    generic = draft7(inline(definitions["fact"]), format_checker=checker)
    types = definitions["fact"]["properties"]["type"]["enum"]
    by_type = {
        fact_type: draft7(inline(definitions[fact_type]), format_checker=checker)
        for fact_type in types
    }
    return generic, by_type


# -- public API -------------------------------------------------------------------------
def validate_document(
    doc: Any, schema_name: str, *, allow_fact_types: Iterable[str] = ()
) -> list[Diagnostic]:
    """Validate a loaded document (``loader.Document``) against a schema.

    Returns every problem as a located diagnostic (``code="schema"``), sorted by line; an
    empty list means the document is valid. ``allow_fact_types`` lists extra fact types (for
    example declared by a policy) that are not reported as unknown.
    """
    from policyengine.load.loader import json_path

    errors = _validator(schema_name).iter_errors(doc.data)
    allowed = frozenset(allow_fact_types)
    out: list[Diagnostic] = []
    for problem in _problems(errors, doc.data, allowed):
        location = _locate(doc, problem.path, problem.at_key)
        out.append(
            Diagnostic(
                file=doc.file,
                line=location[0],
                column=location[1],
                path=json_path(list(problem.path)),
                message=problem.message,
                code="schema",
                subject=_subject(doc.data, problem.path) if schema_name == "facts" else "",
                hint=problem.hint,
            )
        )
    return _finish(out)


def validate_fact(
    obj: Any, file: str, line: int, *, allow_fact_types: Iterable[str] = ()
) -> list[Diagnostic]:
    """Validate one fact (one NDJSON line, no envelope); paths are relative to the fact."""
    generic, by_type = _fact_validators()
    fact_type = obj.get("type") if isinstance(obj, Mapping) else None
    validator = by_type.get(fact_type) if isinstance(fact_type, str) else None
    errors = (validator or generic).iter_errors(obj)
    out: list[Diagnostic] = []
    subject = _fact_subject(obj)
    for problem in _problems(errors, obj, frozenset(allow_fact_types)):
        out.append(
            Diagnostic(
                file=file,
                line=line,
                column=1,
                path=_json_path(problem.path),
                message=problem.message,
                code="schema",
                subject=subject,
                hint=problem.hint,
            )
        )
    return _finish(out)


# -- error translation ------------------------------------------------------------------
class _Problem:
    __slots__ = ("path", "message", "hint", "at_key", "validator")

    def __init__(
        self,
        path: Sequence[str | int],
        message: str,
        hint: str = "",
        at_key: bool = False,
        validator: str = "",
    ) -> None:
        self.path = tuple(path)
        self.message = message
        self.hint = hint
        self.at_key = at_key
        self.validator = validator


def _problems(
    errors: Iterable[ValidationError], root: Any, allow_types: frozenset[str]
) -> list[_Problem]:
    from jsonschema.exceptions import best_match

    found: list[_Problem] = []
    for error in errors:
        while error.context:  # anyOf / oneOf: the most relevant branch, deepest first
            error = best_match(error.context)
        if allow_types and _is_allowed_type(error, allow_types):
            continue
        found.extend(_translate(error))
    # A value that fails its pattern usually fails its format as well: say it once.
    patterned = {p.path for p in found if p.validator == "pattern"}
    return [p for p in found if not (p.validator == "format" and p.path in patterned)]


def _is_allowed_type(error: ValidationError, allow_types: frozenset[str]) -> bool:
    path = list(error.absolute_path)
    return (
        error.validator == "enum"
        and bool(path)
        and path[-1] == "type"
        and error.schema.get("x-enum-label") == "fact type"
        and error.instance in allow_types
    )


def _translate(error: ValidationError) -> list[_Problem]:
    kind = str(error.validator)
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    value = error.instance
    custom = (schema.get("x-messages") or {}).get(kind)

    if "propertyNames" in error.relative_schema_path:
        # The instance is a key of the mapping at ``path``: point at the key itself.
        name_message = (schema.get("patternErrorMessage")
                        or f"{excerpt(value)} is not a valid name here")
        return [_Problem([*path, value], f"{name_message}, got {excerpt(value)}", at_key=True,
                         validator=kind)]
    if kind == "additionalProperties":
        return _unknown_fields(path, schema, value)
    if custom:
        return [_Problem(path, custom, validator=kind)]
    if kind == "required":
        missing = [name for name in error.validator_value if name not in value]
        return [
            _Problem(path, f"missing required field {excerpt(name)}", validator=kind)
            for name in missing
        ]
    if kind == "type":
        return [_type_problem(path, error.validator_value, value)]
    if kind == "enum":
        return [_enum_problem(path, schema, error.validator_value, value)]
    if kind == "const":
        return [_Problem(path, f"expected {_show(error.validator_value)}, got {_show(value)}",
                         validator=kind)]
    if kind == "pattern":
        return [_pattern_problem(path, schema, value)]
    if kind == "format":
        return [_format_problem(path, error.validator_value, value)]
    bound = error.validator_value
    simple = {
        "maximum": f"'{_number(value)}' is above the maximum of {_number(bound)}",
        "minimum": f"'{_number(value)}' is below the minimum of {_number(bound)}",
        "exclusiveMaximum": f"'{_number(value)}' must be below {_number(bound)}",
        "exclusiveMinimum": f"'{_number(value)}' must be above {_number(bound)}",
        "minLength": "must not be empty" if bound == 1 else f"needs at least {bound} characters",
        "maxLength": f"is longer than {bound} characters",
        "minItems": "the list must not be empty" if bound == 1 else
        f"the list needs at least {bound} entries",
        "maxItems": f"the list may have at most {bound} entries",
        "minProperties": "must not be empty" if bound == 1 else
        f"needs at least {bound} entries",
        "maxProperties": f"may have at most {bound} entries",
        "uniqueItems": _duplicate_message(value),
    }
    if kind in simple:
        return [_Problem(path, simple[kind], validator=kind)]
    return [_Problem(path, error.message, validator=kind)]


def _unknown_fields(path: list, schema: Mapping[str, Any], value: Any) -> list[_Problem]:
    import re

    known = list(schema.get("properties") or {})
    patterns = [re.compile(p) for p in schema.get("patternProperties") or {}]
    out = []
    for key in value:
        if key in known or any(p.search(str(key)) for p in patterns):
            continue
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=_CUTOFF)
        if close:
            hint = f"did you mean {close[0]!r}?"
        elif known:
            hint = "allowed here: " + ", ".join(known)
        else:
            hint = ""
        out.append(
            _Problem([*path, key], f"unknown field {excerpt(key)}", hint=hint, at_key=True,
                     validator="additionalProperties")
        )
    return out


def _type_problem(path: list, expected: str | list[str], value: Any) -> _Problem:
    wanted = [expected] if isinstance(expected, str) else list(expected)
    words = [_TYPE_WORDS.get(t, t) for t in wanted]
    phrase = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    hint = ""
    if "string" in wanted and _is_number(value):
        hint = "put the value in quotes"
    return _Problem(path, f"expected {phrase}, got {_describe(value)}", hint=hint,
                    validator="type")


def _enum_problem(path: list, schema: Mapping[str, Any], options: list, value: Any) -> _Problem:
    label = schema.get("x-enum-label")
    choices = ", ".join(_plain(o) for o in options)
    if label:
        message = f"unknown {label} {_show(value)}; expected one of: {choices}"
    else:
        message = f"{_show(value)} is not allowed here; expected one of: {choices}"
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, [o for o in options if isinstance(o, str)],
                                          n=1, cutoff=_CUTOFF)
        hint = f"did you mean {close[0]!r}?" if close else ""
    return _Problem(path, message, hint=hint, validator="enum")


def _pattern_problem(path: list, schema: Mapping[str, Any], value: Any) -> _Problem:
    if schema.get("format") == "date-time" and isinstance(value, str) and _is_naive(value):
        message = (
            f"timestamp {excerpt(value)} has no offset; a timestamp without an offset is refused "
            f"(write e.g. {value}Z or {value}-05:00)"
        )
    elif schema.get("patternErrorMessage"):
        message = f"{schema['patternErrorMessage']}, got {_show(value)}"
    else:
        message = f"{_show(value)} does not have the expected form"
    return _Problem(path, message, validator="pattern")


def _format_problem(path: list, format_name: str, value: Any) -> _Problem:
    hint = ""
    if format_name == "date":
        message = f"{_show(value)} is not a real calendar date"
    elif format_name == "date-time":
        message = f"{_show(value)} is not a real date and time"
    elif format_name == "amount":
        message = (f"{_show(value)} is not an amount: at most {AMOUNT_INTEGER_DIGITS} digits "
                   f"before the decimal point and {AMOUNT_PLACES} after it")
    elif format_name == "iana-timezone":
        message = f"unknown time zone {_show(value)}"
        import zoneinfo

        close = difflib.get_close_matches(str(value), sorted(zoneinfo.available_timezones()),
                                          n=1, cutoff=_CUTOFF)
        hint = f"did you mean {close[0]!r}?" if close else "use a name like America/New_York"
    else:
        message = f"{_show(value)} is not a valid {format_name}"
    return _Problem(path, message, hint=hint, validator="format")


def _is_naive(text: str) -> bool:
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return parsed.tzinfo is None and len(text) > 10


def _duplicate_message(value: Any) -> str:
    seen: list[Any] = []
    if isinstance(value, list):
        for item in value:
            if item in seen:
                return f"{_show(item)} is listed more than once"
            seen.append(item)
    return "the list names the same value more than once"


# -- presentation helpers ---------------------------------------------------------------
def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _plain(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return excerpt(value)
    if isinstance(value, bool | None):
        return _plain(value)
    if _is_number(value):
        return f"'{value}'"
    return _describe(value)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f"text {excerpt(value)}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return _plain(value)
    if _is_number(value):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a set of named fields"
    return type(value).__name__


def _json_path(path: Sequence[str | int]) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _locate(doc: Any, path: Sequence[str | int], at_key: bool) -> tuple[int, int]:
    """(line, column) of ``path``; of the key itself when ``at_key`` (unknown fields)."""
    if at_key and path:
        found = _locate_key(doc, path)
        if found is not None:
            return found
    line, column = doc.locate(list(path))
    return line, column


def _locate_key(doc: Any, path: Sequence[str | int]) -> tuple[int, int] | None:
    """Position of the mapping key ``path[-1]``, when the document can tell.

    ``Document.locate`` points at a member's value when it starts on the key's line; for
    an unknown field the key is what needs fixing. Uses ``Document.locate_key`` when the
    loader offers it, else the loader's position index (``_root``/``_where``: every
    mapping member is ``(key position, value node)``); None when neither is available.
    """
    locate_key = getattr(doc, "locate_key", None)
    if callable(locate_key):
        line, column = locate_key(list(path))
        return line, column
    node, where = getattr(doc, "_root", None), getattr(doc, "_where", None)
    if node is None or where is None:
        return None
    try:
        for step in path[:-1]:
            kids = node.kids
            node = kids[step][1] if isinstance(kids, dict) else kids[step]
        key_position = node.kids[path[-1]][0]
        line, column = where(key_position)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return None
    return line, column


def _fact_subject(fact: Any) -> str:
    if not isinstance(fact, Mapping):
        return ""
    for key in ("id", "customer"):
        if isinstance(fact.get(key), str):
            return fact[key]
    return ""


def _subject(data: Any, path: Sequence[str | int]) -> str:
    """The id of the fact a facts-document path points into (``facts[i]``)."""
    if len(path) >= 2 and path[0] == "facts" and isinstance(path[1], int):
        facts = data.get("facts") if isinstance(data, Mapping) else None
        if isinstance(facts, list) and path[1] < len(facts):
            return _fact_subject(facts[path[1]])
    return ""


def _finish(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    unique: dict[tuple[str, str], Diagnostic] = {}
    for diagnostic in diagnostics:
        unique.setdefault((diagnostic.path, diagnostic.message), diagnostic)
    return sorted(unique.values(), key=lambda d: (d.line, d.column, d.path, d.message))
