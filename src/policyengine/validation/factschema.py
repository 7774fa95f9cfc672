"""The fact schema compiled to fast Python predicates: one strictness for every format.

YAML and JSON fact documents are checked by ``jsonschema`` against
``schemas/facts.schema.json`` (:mod:`policyengine.validation.schemas`). That costs more per
fact than evaluating it, so NDJSON lines, fact dicts given to the API, imported records and
inline test facts are checked instead by a predicate compiled here **from the same
schema**: each fact type's definition (found in the schema's ``fact`` dispatch: ``if
type == T then $ref T``) becomes one generated Python function that answers "does this fact
conform?" in about a microsecond. Only a fact that does not conform is handed to
``jsonschema`` (:func:`schemas.validate_fact`), which words every problem exactly as it does
for a YAML document. So the two paths accept and refuse the same facts with the same
messages, and a field added to the schema is checked in every format without more code
(``tests/test_factschema.py`` checks the agreement on generated facts).

The compiler supports the keywords the fact schema uses (draft-07): ``$ref`` to
``#/definitions/...``, ``type``, ``enum``, ``const``, ``pattern`` (ECMA-262 ``$``, see
:func:`schemas.ecma_pattern`), ``format`` (the formats of :data:`schemas.FORMATS`; others
are not checked, as ``jsonschema`` does not check them), ``minLength``/``maxLength``,
``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum``, ``items`` (one schema),
``minItems``/``maxItems``/``uniqueItems``, ``properties``/``required``,
``additionalProperties`` (``false``), ``if``/``then``/``else`` and ``allOf``. Any other
keyword raises :class:`UnsupportedSchema` when the schema is compiled (a test compiles the
shipped schema), never silently accepts.
"""

from __future__ import annotations

import datetime as dt
import functools
import numbers
from collections.abc import Callable, Mapping
from typing import Any

from policyengine.validation import schemas

Predicate = Callable[[Any], bool]

_KEYWORDS = frozenset({
    "$ref", "type", "enum", "const", "pattern", "format", "minLength", "maxLength",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "items", "minItems",
    "maxItems", "uniqueItems", "properties", "required", "additionalProperties", "if", "then",
    "else", "allOf",
})
_ANNOTATIONS = frozenset({
    "title", "description", "examples", "default", "$comment", "$schema", "$id",
    "patternErrorMessage", "x-enum-label", "x-messages",
})
_TYPES = {  # JSON Schema type -> test of the value held in `{v}` (as jsonschema's draft 7)
    "string": "isinstance({v}, str)",
    "number": "_number({v})",
    "integer": "_integer({v})",
    "boolean": "isinstance({v}, bool)",
    "null": "{v} is None",
    "array": "isinstance({v}, list)",
    "object": "isinstance({v}, dict)",
}
_GUARDS = {  # keyword family -> the types it applies to (others pass it, as in JSON Schema)
    "string": ({"string"}, "isinstance({v}, str)"),
    "number": ({"number", "integer"}, "_number({v})"),
    "array": ({"array"}, "isinstance({v}, list)"),
    "object": ({"object"}, "isinstance({v}, dict)"),
}
_MISSING = object()
# formats whose check is a parser that raises ValueError for text that does not conform
# (exactly schemas.is_date / is_date_time on text; faster without the try in Python)
_PARSERS: Mapping[str, Callable[[str], Any]] = {
    "date": dt.date.fromisoformat, "date-time": dt.datetime.fromisoformat,
}


class UnsupportedSchema(ValueError):
    """The fact schema uses a keyword (or form of one) this compiler does not implement."""


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


def _integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _unbool(value: Any) -> Any:
    return ("bool", value) if isinstance(value, bool) else value


def _equal(one: Any, two: Any) -> bool:
    """JSON equality, as ``jsonschema`` compares (``true`` is not ``1``)."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(map(_equal, one, two))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    return bool(_unbool(one) == _unbool(two))


def _in(value: Any, options: tuple[Any, ...]) -> bool:
    return any(_equal(option, value) for option in options)


def _unique(items: list[Any]) -> bool:
    if all(isinstance(item, str) for item in items):
        return len(set(items)) == len(items)
    return not any(_equal(items[i], items[j])
                   for i in range(len(items)) for j in range(i + 1, len(items)))


def _searcher(pattern: str) -> Callable[[str], Any]:
    """``re.search`` of an ECMA-262 pattern; ``match`` when it is anchored at the start
    (the same answer, found sooner)."""
    compiled = schemas.ecma_pattern(pattern)
    return compiled.match if pattern.startswith("^") and _no_top_level_bar(pattern) else (
        compiled.search)


def _no_top_level_bar(pattern: str) -> bool:
    depth, in_class, escaped = 0, False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return False
    return True


class _Compiler:
    """Turns schema nodes into Python expressions and generated functions."""

    def __init__(self, definitions: Mapping[str, Any]) -> None:
        self.definitions = definitions
        self.namespace: dict[str, Any] = {
            "_M": _MISSING, "_number": _number, "_integer": _integer, "_unique": _unique,
            "_equal": _equal, "_in": _in, "_SCALARS": (str, int),
        }
        self.source: list[str] = []
        self.count = 0
        self.conditions = 0  # depth of `if` subschemas being compiled

    def name(self, value: Any, prefix: str) -> str:
        self.count += 1
        name = f"_{prefix}{self.count}"
        self.namespace[name] = value
        return name

    def function(self, node: Any, top: bool = False) -> str:
        """A generated one-argument function checking ``node``; returns its name.

        Only a ``top`` function catches the ``ValueError`` of a format's parser (which
        means "does not conform"); the others let it through to the top.
        """
        self.count += 1
        name = f"_f{self.count}"
        body = f"return {self.expr(node, 'v')}"
        if top:
            body = f"try:\n        {body}\n    except ValueError:\n        return False"
        self.source.append(f"def {name}(v):\n    {body}\n")
        return name

    def resolve(self, node: Any) -> Any:
        for _ in range(32):
            if not (isinstance(node, Mapping) and "$ref" in node):
                return node
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/definitions/"):
                raise UnsupportedSchema(f"$ref {ref!r}: only #/definitions/... is supported")
            node = self.definitions[ref.rsplit("/", 1)[-1]]  # draft-07: siblings ignored
        raise UnsupportedSchema("$ref chain too long (a cycle?)")

    def expr(self, node: Any, v: str) -> str:
        node = self.resolve(node)
        if node is True or node == {}:
            return "True"
        if node is False:
            return "False"
        if not isinstance(node, Mapping):
            raise UnsupportedSchema(f"a schema must be an object or a boolean, got {node!r}")
        unknown = set(node) - _KEYWORDS - _ANNOTATIONS
        if unknown:
            raise UnsupportedSchema(f"keyword(s) {', '.join(sorted(unknown))} not supported by "
                                    "the compiled fact check (validation/factschema.py)")
        types = node.get("type")
        allowed = [types] if isinstance(types, str) else list(types or ())
        parts = []
        if allowed:
            parts.append("(" + " or ".join(_TYPES[t].format(v=v) for t in allowed) + ")")
        families: dict[str, list[str]] = {"string": [], "number": [], "array": [], "object": []}
        self.keywords(node, v, families, parts)
        for family, checks in families.items():
            if not checks:
                continue
            kinds, guard = _GUARDS[family]
            body = " and ".join(checks)
            if allowed and set(allowed) <= kinds:
                parts.append(body)  # the type test above already holds
            else:
                parts.append(f"(not {guard.format(v=v)} or ({body}))")
        return "(" + " and ".join(parts) + ")" if parts else "True"

    def keywords(self, node: Mapping[str, Any], v: str, families: dict[str, list[str]],
                 parts: list[str]) -> None:
        string, number, array, obj = (families[k] for k in ("string", "number", "array",
                                                            "object"))
        if "enum" in node:
            options = tuple(node["enum"])
            if options and all(isinstance(o, str) for o in options):
                parts.append(f"(isinstance({v}, str) and {v} in "
                             f"{self.name(frozenset(options), 'enum')})")
            elif all(o is None or type(o) in (str, int) for o in options):
                # scalars hash and compare as jsonschema compares them (true is not 1)
                within = self.name(frozenset(options), "enum")
                general = self.name(options, "enum")
                parts.append(f"(({v} in {within}) if {v} is None or type({v}) in _SCALARS "
                             f"else _in({v}, {general}))")
            else:
                parts.append(f"_in({v}, {self.name(options, 'enum')})")
        if "const" in node:
            parts.append(f"_equal({v}, {self.name(node['const'], 'const')})")
        if "format" in node and node["format"] in schemas.FORMATS:
            parser = _PARSERS.get(node["format"])
            if parser is not None and not self.conditions:
                # the parser itself (C): a ValueError ends the whole check as "no"
                string.append(f"{self.name(parser, 'parse')}({v})")
            else:
                parts.append(f"{self.name(schemas.FORMATS[node['format']], 'format')}({v})")
        if "minLength" in node:
            string.append(f"len({v}) >= {int(node['minLength'])}")
        if "maxLength" in node:
            string.append(f"len({v}) <= {int(node['maxLength'])}")
        if "pattern" in node:
            string.append(f"{self.name(_searcher(node['pattern']), 're')}({v}) is not None")
        for keyword, operator in (("minimum", ">="), ("maximum", "<="),
                                  ("exclusiveMinimum", ">"), ("exclusiveMaximum", "<")):
            if keyword in node:
                number.append(f"{v} {operator} {self.name(node[keyword], 'bound')}")
        if "items" in node:
            if not isinstance(node["items"], Mapping | bool):
                raise UnsupportedSchema("items as a list (tuple validation) is not supported")
            array.append(f"all(map({self.function(node['items'])}, {v}))")
        if "minItems" in node:
            array.append(f"len({v}) >= {int(node['minItems'])}")
        if "maxItems" in node:
            array.append(f"len({v}) <= {int(node['maxItems'])}")
        if node.get("uniqueItems"):
            array.append(f"_unique({v})")
        for name in node.get("required", ()):
            obj.append(f"{name!r} in {v}")
        extra = node.get("additionalProperties", True)
        if extra is False:
            known = self.name(frozenset(node.get("properties", ())), "known")
            obj.append(f"{known}.issuperset({v})")
        elif extra is not True and extra != {}:
            raise UnsupportedSchema("additionalProperties other than false is not supported")
        for name, sub in (node.get("properties") or {}).items():
            self.count += 1
            held = f"_p{self.count}"  # a name of its own: checks of fields nest
            check = self.expr(sub, held)
            if check != "True":
                obj.append(f"(({held} := {v}.get({name!r}, _M)) is _M or {check})")
        if "if" in node:
            then = self.expr(node.get("then", True), v)
            otherwise = self.expr(node.get("else", True), v)
            self.conditions += 1  # a failure inside a condition is not the fact's failure
            condition = self.expr(node["if"], v)
            self.conditions -= 1
            parts.append(f"({then} if {condition} else {otherwise})")
        for sub in node.get("allOf", ()):
            parts.append(self.expr(sub, v))

    def compile(self) -> dict[str, Any]:
        code = "\n".join(self.source)
        exec(compile(code, "<facts.schema.json compiled>", "exec"), self.namespace)  # noqa: S102
        return self.namespace


def fact_types(schema: Mapping[str, Any]) -> dict[str, str]:
    """Fact type -> its definition's name, read from the schema's ``fact`` dispatch."""
    out: dict[str, str] = {}
    for branch in schema["definitions"]["fact"].get("allOf", ()):
        try:
            fact_type = branch["if"]["properties"]["type"]["const"]
            ref = branch["then"]["$ref"]
        except (KeyError, TypeError):
            raise UnsupportedSchema("each allOf branch of the fact definition must read "
                                    "if: {properties: {type: {const: T}}}, then: {$ref: ...}"
                                    ) from None
        out[fact_type] = ref.rsplit("/", 1)[-1]
    return out


def compile_facts(schema: Mapping[str, Any]) -> dict[str, Predicate]:
    """Fact type -> predicate (True: the fact conforms to its type's definition)."""
    compiler = _Compiler(schema["definitions"])
    names = {fact_type: compiler.function({"$ref": f"#/definitions/{definition}"}, top=True)
             for fact_type, definition in fact_types(schema).items()}
    namespace = compiler.compile()
    return {fact_type: namespace[name] for fact_type, name in names.items()}


@functools.cache
def predicates() -> Mapping[str, Predicate]:
    """The compiled predicates of the shipped fact schema (built once per process)."""
    return compile_facts(schemas.load_schema("facts"))


__all__ = ["Predicate", "UnsupportedSchema", "compile_facts", "fact_types", "predicates"]
