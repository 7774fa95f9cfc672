"""Generate the policy schema and the rule-pack schema's ``for_clause`` list from the registry.

``schemas/policy.schema.json`` is the base (:mod:`policyengine.clauses.schema_base`: the
envelope and the shared definitions) plus every kind's fragment, and the ``clause``
definition with the ``kind`` enum and one ``if kind == K then $ref K`` branch per kind.
``schemas/rules.schema.json`` is the checked-in file with its ``for_clause`` enum replaced.
Both are written as ``json.dumps(indent=2)`` plus a newline, keys in insertion order, so an
unchanged registry writes the files byte for byte as they are checked in.

Run ``python -m policyengine.clauses.generate`` (or ``make schemas``) after adding or
changing a kind; ``--check`` exits 1 and names the stale files instead of writing.
Only the kinds the package ships are written: a plug-in's kinds are added to the schemas in
memory when they are loaded (:func:`with_kinds`).
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from policyengine.clauses import registry
from policyengine.clauses.registry import ClauseKind
from policyengine.clauses.schema_base import CLAUSE, ENVELOPE, SHARED_DEFINITIONS

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas"
POLICY_FILE = "policy.schema.json"
RULES_FILE = "rules.schema.json"


def _branch(name: str) -> dict[str, Any]:
    return {
        "if": {"properties": {"kind": {"const": name}}, "required": ["kind"]},
        "then": {"$ref": f"#/definitions/{name}"},
    }


def _clause_definition(names: Sequence[str]) -> dict[str, Any]:
    clause = copy.deepcopy(CLAUSE)
    kind: dict[str, Any] = {}
    for key, value in clause["properties"]["kind"].items():
        kind[key] = value
        if key == "type":
            kind["enum"] = list(names)
    clause["properties"]["kind"] = kind
    clause["allOf"] = [_branch(name) for name in names]
    return clause


def policy_schema(kinds: Iterable[ClauseKind] | None = None) -> dict[str, Any]:
    """The policy schema for ``kinds`` (default: the package's own, in registry order).

    Raises ValueError when two kinds define the same helper definition or a kind's name
    clashes with a shared definition.
    """
    chosen = list(kinds) if kinds is not None else registry.kinds(builtin_only=True)
    definitions: dict[str, Any] = copy.deepcopy(SHARED_DEFINITIONS)
    for kind in chosen:
        for name, fragment in {**kind.definitions, kind.name: kind.schema()}.items():
            if name in definitions or name == "clause":
                raise ValueError(f"clause kind {kind.name!r}: definition {name!r} is already "
                                 "defined")
            definitions[name] = copy.deepcopy(fragment)
    definitions["clause"] = _clause_definition([kind.name for kind in chosen])
    return {**copy.deepcopy(ENVELOPE), "definitions": definitions}


def rules_schema(base: dict[str, Any], kinds: Iterable[ClauseKind] | None = None) -> dict[str, Any]:
    """``base`` (the rule-pack schema) with ``for_clause`` listing ``kinds``' names."""
    chosen = list(kinds) if kinds is not None else registry.kinds(builtin_only=True)
    schema = copy.deepcopy(base)
    schema["definitions"]["rule"]["properties"]["for_clause"]["enum"] = [k.name for k in chosen]
    return schema


def with_kinds(name: str, schema: dict[str, Any], kinds: Sequence[ClauseKind]) -> dict[str, Any]:
    """A loaded ``policy`` or ``rules`` schema extended with more kinds (plug-ins, tests).

    Kinds already in the schema are left as they are; the others are appended.
    """
    if name == "policy":
        known = schema["definitions"]["clause"]["properties"]["kind"]["enum"]
        extra = [kind for kind in kinds if kind.name not in known]
        if not extra:
            return schema
        extended = copy.deepcopy(schema)
        definitions = extended["definitions"]
        clause = definitions.pop("clause")
        for kind in extra:
            for def_name, fragment in {**kind.definitions, kind.name: kind.schema()}.items():
                definitions.setdefault(def_name, copy.deepcopy(fragment))
        clause["properties"]["kind"]["enum"] = [*known, *(k.name for k in extra)]
        clause["allOf"] = [*clause["allOf"], *(_branch(k.name) for k in extra)]
        definitions["clause"] = clause
        return extended
    if name == "rules":
        known = schema["definitions"]["rule"]["properties"]["for_clause"]["enum"]
        extra_names = [kind.name for kind in kinds if kind.name not in known]
        if not extra_names:
            return schema
        extended = copy.deepcopy(schema)
        extended["definitions"]["rule"]["properties"]["for_clause"]["enum"] = [*known,
                                                                               *extra_names]
        return extended
    return schema


def dumps(schema: dict[str, Any]) -> str:
    """The file text of a schema: two-space indent, keys as built, a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def expected_files(directory: Path = SCHEMA_DIR) -> dict[Path, str]:
    """Each generated file and the text it should have, from the package's kinds."""
    rules_path = directory / RULES_FILE
    rules_base = json.loads(rules_path.read_text(encoding="utf-8"))
    return {
        directory / POLICY_FILE: dumps(policy_schema()),
        rules_path: dumps(rules_schema(rules_base)),
    }


def stale_files(directory: Path = SCHEMA_DIR) -> list[Path]:
    """The generated files whose checked-in text differs from what the registry gives."""
    stale = []
    for path, text in expected_files(directory).items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != text:
            stale.append(path)
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m policyengine.clauses.generate [--check] [DIR]``: write or check."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    rest = [a for a in args if a != "--check"]
    directory = Path(rest[0]) if rest else SCHEMA_DIR
    if check:
        stale = stale_files(directory)
        for path in stale:
            print(f"{path}: stale; run `make schemas`", file=sys.stderr)
        return 1 if stale else 0
    for path, text in expected_files(directory).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


__all__ = ["dumps", "expected_files", "main", "policy_schema", "rules_schema", "stale_files",
           "with_kinds"]
