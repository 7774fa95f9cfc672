"""Tests for the load layer: strict YAML/JSON/NDJSON reading with located diagnostics."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.diagnostics import Diagnostic, InputError
from policyengine.load import loader
from policyengine.load.loader import (
    LIMITS,
    Document,
    Limits,
    iter_ndjson,
    json_path,
    load_document,
    load_text,
)

# ----------------------------------------------------------------------------- helpers


@pytest.fixture(
    params=loader._YAML_LOADERS,
    ids=["libyaml" if "C" in cls.__name__ else "python" for cls in loader._YAML_LOADERS],
)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type:
    """Run YAML tests with every available PyYAML parser (libyaml and pure Python)."""
    monkeypatch.setattr(loader, "_YAML_LOADER", request.param)
    return request.param


def only_diagnostic(excinfo: pytest.ExceptionInfo[InputError]) -> Diagnostic:
    (diagnostic,) = excinfo.value.diagnostics
    assert diagnostic.code == "load"
    assert "\n" not in diagnostic.render()
    return diagnostic


def refused(
    source: str | bytes, *, kind: str = "yaml", limits: Limits = LIMITS, file: str = "p.yaml"
) -> Diagnostic:
    with pytest.raises(InputError) as excinfo:
        load_text(source, file, kind=kind, limits=limits)
    return only_diagnostic(excinfo)


def billion_laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        name, prev = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def nested_block_mappings(levels: int) -> str:
    return "".join("  " * i + "k:\n" for i in range(levels)) + "  " * levels + "k: 1\n"


# ------------------------------------------------------------------ YAML: value resolution

CORE_SCHEMA = [
    pytest.param("yes", "yes", id="yes-is-string"),
    pytest.param("no", "no", id="no-is-string"),
    pytest.param("NO", "NO", id="NO-is-string"),
    pytest.param("Yes", "Yes", id="Yes-is-string"),
    pytest.param("on", "on", id="on-is-string"),
    pytest.param("off", "off", id="off-is-string"),
    pytest.param("y", "y", id="y-is-string"),
    pytest.param("n", "n", id="n-is-string"),
    pytest.param("true", True, id="true"),
    pytest.param("True", True, id="True"),
    pytest.param("TRUE", True, id="TRUE"),
    pytest.param("false", False, id="false"),
    pytest.param("FALSE", False, id="FALSE"),
    pytest.param("tRUE", "tRUE", id="mixed-case-true-is-string"),
    pytest.param("null", None, id="null"),
    pytest.param("Null", None, id="Null"),
    pytest.param("~", None, id="tilde"),
    pytest.param("", None, id="empty-value"),
    pytest.param("2024-01-01", "2024-01-01", id="date-is-string"),
    pytest.param("2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z", id="timestamp-is-string"),
    pytest.param("12:30", "12:30", id="sexagesimal-is-string"),
    pytest.param("1_000", "1_000", id="underscored-int-is-string"),
    pytest.param("0b101", "0b101", id="binary-int-is-string"),
    pytest.param("nan", "nan", id="bare-nan-is-string"),
    pytest.param("0", 0, id="zero"),
    pytest.param("-7", -7, id="negative-int"),
    pytest.param("+3", 3, id="plus-int"),
    pytest.param("012", 12, id="leading-zero-is-decimal"),
    pytest.param("0o17", 15, id="octal"),
    pytest.param("0x1F", 31, id="hex"),
    pytest.param("123456789012345678901234567890", 123456789012345678901234567890, id="30-digits"),
    pytest.param("1.10", Decimal("1.10"), id="decimal-keeps-trailing-zero"),
    pytest.param("0.1", Decimal("0.1"), id="decimal-not-float"),
    pytest.param("-2.50", Decimal("-2.50"), id="negative-decimal"),
    pytest.param(".5", Decimal("0.5"), id="leading-dot"),
    pytest.param("1e3", Decimal("1e3"), id="exponent"),
    pytest.param("'yes'", "yes", id="single-quoted"),
    pytest.param('"1"', "1", id="double-quoted-number-is-string"),
    pytest.param("'.nan'", ".nan", id="quoted-nan-is-string"),
    pytest.param("!!str 1", "1", id="tag-str"),
    pytest.param("!!int '7'", 7, id="tag-int"),
    pytest.param("!!float 1", Decimal("1"), id="tag-float-on-int"),
    pytest.param("!!float 2.25", Decimal("2.25"), id="tag-float"),
    pytest.param("!!bool 'true'", True, id="tag-bool"),
    pytest.param("!!null ''", None, id="tag-null"),
    pytest.param("! 12", "12", id="non-specific-tag-is-string"),
]


@pytest.mark.parametrize(("text", "expected"), CORE_SCHEMA)
def test_core_schema_scalars(backend: type, text: str, expected: Any) -> None:
    value = load_text(f"v: {text}\n", "p.yaml").data["v"]
    assert value == expected
    assert type(value) is type(expected)
    if isinstance(expected, Decimal):
        assert str(value) == str(expected)  # built from the source text, never a float


def test_decimal_is_exact_source_text(backend: type) -> None:
    data = load_text("price: 1.10\nrate: 0.30000000000000004\n", "p.yaml").data
    assert data == {"price": Decimal("1.10"), "rate": Decimal("0.30000000000000004")}
    assert str(data["price"]) == "1.10"


def test_plain_document(backend: type) -> None:
    doc = load_text("name: gold\ntiers:\n  - {id: a, hours: 4}\n  - id: b\n", "p.yaml")
    assert doc.file == "p.yaml"
    assert doc.data == {"name": "gold", "tiers": [{"id": "a", "hours": 4}, {"id": "b"}]}


def test_explicit_null_root_is_allowed(backend: type) -> None:
    assert load_text("~\n", "p.yaml").data is None


def test_aliases_are_independent_copies(backend: type) -> None:
    data = load_text("a: &x {k: [1]}\nb: *x\n", "p.yaml").data
    assert data == {"a": {"k": [1]}, "b": {"k": [1]}}
    data["b"]["k"].append(2)
    assert data["a"] == {"k": [1]}


# ----------------------------------------------------------------------- YAML: merge keys


def test_merge_key_explicit_keys_override(backend: type) -> None:
    source = "base: &base {timeout: 30, retries: 3}\nprod:\n  <<: *base\n  retries: 5\n"
    data = load_text(source, "p.yaml").data
    assert data["prod"] == {"timeout": 30, "retries": 5}
    assert data["base"] == {"timeout": 30, "retries": 3}


def test_merge_key_list_earlier_wins(backend: type) -> None:
    source = "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  w: 0\n"
    assert load_text(source, "p.yaml").data["c"] == {"x": 1, "y": 1, "z": 2, "w": 0}


def test_merge_key_inline_mapping_and_nesting(backend: type) -> None:
    source = "a: &a {x: 1}\nb: &b\n  <<: *a\n  y: 2\nc:\n  <<: {<<: *b, z: 3}\n"
    assert load_text(source, "p.yaml").data["c"] == {"x": 1, "y": 2, "z": 3}


def test_quoted_merge_key_is_a_plain_key(backend: type) -> None:
    assert load_text("'<<': 1\n", "p.yaml").data == {"<<": 1}


def test_merged_key_locates_in_the_base(backend: type) -> None:
    source = "base: &base\n  timeout: 30\nprod:\n  <<: *base\n  retries: 5\n"
    doc = load_text(source, "p.yaml")
    assert doc.locate(["prod", "timeout"]) == (2, 12)
    assert doc.locate(["prod", "retries"]) == (5, 12)


# --------------------------------------------------------------------- YAML: refusals

YAML_REFUSALS = [
    # source, line, column, message fragment, json path
    pytest.param(
        "a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key 'a' (first at line 1)", "$.a", id="dup-key"
    ),
    pytest.param(
        "spec:\n  x: 1\n  y: 2\n  x: 3\n",
        4,
        3,
        "duplicate key 'x' (first at line 2)",
        "$.spec.x",
        id="dup-key-nested",
    ),
    pytest.param("{a: 1, a: 2}\n", 1, 8, "duplicate key 'a'", "$.a", id="dup-key-flow"),
    pytest.param(
        "x: 1\n'x': 2\n", 2, 1, "duplicate key 'x' (first at line 1)", "$.x", id="dup-key-quoted"
    ),
    pytest.param(
        "b: &b {x: 1}\nc:\n  <<: *b\n  <<: *b\n",
        4,
        3,
        "duplicate key '<<' (first at line 3)",
        "$.c['<<']",
        id="dup-merge-key",
    ),
    pytest.param(
        "b: &b {x: 1}\nc:\n  <<: *b\n  y: 1\n  y: 2\n",
        5,
        3,
        "duplicate key 'y' (first at line 4)",
        "$.c.y",
        id="dup-key-beside-merge",
    ),
    pytest.param("a: .nan\n", 1, 4, "NaN/Infinity not allowed", "$.a", id="nan"),
    pytest.param("a: .NaN\n", 1, 4, "NaN/Infinity not allowed", "$.a", id="nan-mixed-case"),
    pytest.param("a: [1, .inf]\n", 1, 8, "NaN/Infinity not allowed", "$.a[1]", id="inf"),
    pytest.param("a: -.Inf\n", 1, 4, "NaN/Infinity not allowed", "$.a", id="negative-inf"),
    pytest.param("a: !!float .nan\n", 1, 4, "NaN/Infinity not allowed", "$.a", id="tagged-nan"),
    pytest.param(
        "n: 1234567890123456789012345678901\n", 1, 4, "number too large", "$.n", id="huge-int"
    ),
    pytest.param(
        "n: -1234567890123456789012345678901\n", 1, 4, "number too large", "$.n", id="huge-neg"
    ),
    pytest.param(
        "n: 0x1234567890123456789012345678901\n", 1, 4, "number too large", "$.n", id="huge-hex"
    ),
    pytest.param(
        "n: 1.234567890123456789012345678901\n",
        1,
        4,
        "too many digits",
        "$.n",
        id="decimal-too-many-digits",
    ),
    pytest.param("n: 1e31\n", 1, 4, "number too large", "$.n", id="huge-exponent"),
    pytest.param("n: 1e-31\n", 1, 4, "number too small", "$.n", id="tiny-exponent"),
    pytest.param("n: 1e99999\n", 1, 4, "number out of range", "$.n", id="absurd-exponent"),
    pytest.param("1: a\n", 1, 1, "mapping keys must be strings", "$", id="int-key"),
    pytest.param("a: 1\n1.5: b\n", 2, 1, "mapping keys must be strings", "$", id="float-key"),
    pytest.param("null: x\n", 1, 1, "mapping keys must be strings", "$", id="null-key"),
    pytest.param("~: x\n", 1, 1, "mapping keys must be strings", "$", id="tilde-key"),
    pytest.param("true: x\n", 1, 1, "mapping keys must be strings", "$", id="bool-key"),
    pytest.param("? [a]: b\n", 1, 3, "mapping keys must be strings", "$", id="sequence-key"),
    pytest.param("{? [a] : b}\n", 1, 4, "mapping keys must be strings", "$", id="flow-seq-key"),
    pytest.param(
        "x: !!python/object:os.system a\n",
        1,
        4,
        "tag '!!python/object:os.system' is not allowed",
        "$.x",
        id="python-object-tag",
    ),
    pytest.param(
        "x: !!python/object/apply:os.system [ls]\n",
        1,
        4,
        "is not allowed",
        "$.x",
        id="python-apply-tag",
    ),
    pytest.param("x: !!binary aGk=\n", 1, 4, "tag '!!binary' is not allowed", "$.x", id="binary"),
    pytest.param(
        "x: !!timestamp 2024-01-01\n", 1, 4, "'!!timestamp' is not allowed", "$.x", id="timestamp"
    ),
    pytest.param("x: !!set {a}\n", 1, 4, "tag '!!set' is not allowed", "$.x", id="set-tag"),
    pytest.param("x: !custom 1\n", 1, 4, "tag '!custom' is not allowed", "$.x", id="local-tag"),
    pytest.param(
        "%TAG !! tag:evil.com,2000:\n---\nx: !!str a\n",
        3,
        4,
        "tag 'tag:evil.com,2000:str' is not allowed",
        "$.x",
        id="redefined-secondary-handle",
    ),
    pytest.param(
        "x: !!map [1]\n", 1, 4, "tag !!map cannot be used on a sequence", "$.x", id="map-on-seq"
    ),
    pytest.param(
        "- !!str {a: 1}\n", 1, 3, "tag !!str cannot be used on a mapping", "$[0]", id="str-on-map"
    ),
    pytest.param("x: !!seq a\n", 1, 4, "cannot be used on a scalar", "$.x", id="seq-on-scalar"),
    pytest.param("x: !!int abc\n", 1, 4, "'abc' is not a valid integer", "$.x", id="bad-int"),
    pytest.param("x: !!float abc\n", 1, 4, "not a valid number", "$.x", id="bad-float"),
    pytest.param("x: !!bool yes\n", 1, 4, "'yes' is not a valid boolean", "$.x", id="bad-bool"),
    pytest.param("x: !!null x\n", 1, 4, "'x' is not a valid null", "$.x", id="bad-null"),
    pytest.param("<<: 1\n", 1, 5, "merge key '<<' needs a mapping", "$['<<']", id="merge-scalar"),
    pytest.param(
        "a: &a {x: 1}\nb:\n  <<: [*a, 2]\n",
        3,
        12,
        "merge key '<<' needs a mapping or a list of mappings",
        "$.b['<<'][1]",
        id="merge-list-with-scalar",
    ),
    pytest.param(
        "a: *nope\n", 1, 4, "alias '*nope' refers to an undefined anchor", "$.a", id="alias"
    ),
    pytest.param(
        "a: &x [1, *x]\n", 1, 11, "alias '*x' refers to a node containing it", "$.a[1]", id="cycle"
    ),
    pytest.param(
        "a: &x 1\nb: &x 2\n", 2, 4, "duplicate anchor '&x' (first at line 1)", "$.b", id="anchor"
    ),
    pytest.param("a: 1\n---\nb: 2\n", 2, 1, "expected one document", "$", id="second-document"),
    pytest.param("a: 1\n---\n", 2, 1, "expected one document", "$", id="second-empty-document"),
    pytest.param("", 1, 1, "empty document", "$", id="empty-file"),
    pytest.param("\n\n   \n", 1, 1, "empty document", "$", id="blank-file"),
    pytest.param("# just a comment\n# another\n", 1, 1, "empty document", "$", id="comments"),
    pytest.param("---\n", 1, 1, "empty document", "$", id="only-document-marker"),
    pytest.param(
        "a: 1\nb: \x07\n", 2, 4, "control character U+0007 is not allowed", "$", id="bell"
    ),
    pytest.param("a: \x1b[31m\n", 1, 4, "control character U+001B", "$", id="escape-sequence"),
    pytest.param("a: 1\x7f\n", 1, 5, "control character U+007F", "$", id="del"),
    pytest.param("a: 1\n\nb: x\x00y\n", 3, 5, "NUL character is not allowed", "$", id="nul"),
    pytest.param(
        'a: "x\\0y"\n', 1, 4, "string contains control character U+0000", "$.a", id="escaped-nul"
    ),
    pytest.param(
        'a: "\\e"\n', 1, 4, "string contains control character U+001B", "$.a", id="escaped-esc"
    ),
    pytest.param("\ufeffa: 1\n", 1, 1, "file starts with a byte-order mark", "$", id="bom-in-str"),
    pytest.param("a: x\ud800\n", 1, 5, "unpaired surrogate", "$", id="lone-surrogate-in-str"),
]


@pytest.mark.parametrize(("source", "line", "column", "fragment", "path"), YAML_REFUSALS)
def test_yaml_refusals(
    backend: type, source: str, line: int, column: int, fragment: str, path: str
) -> None:
    diagnostic = refused(source)
    assert (diagnostic.line, diagnostic.column) == (line, column)
    assert fragment in diagnostic.message
    assert diagnostic.path == path
    assert diagnostic.file == "p.yaml"


def test_non_string_key_message_tells_to_quote(backend: type) -> None:
    diagnostic = refused("yes: 1\n2024: x\n")
    assert (diagnostic.line, diagnostic.column) == (2, 1)
    assert diagnostic.hint == "quote the key"
    assert diagnostic.render() == ("p.yaml:2:1: $: mapping keys must be strings (quote the key)")


def test_keys_that_look_like_other_types_but_are_strings(backend: type) -> None:
    data = load_text("yes: 1\nno: 2\n2024-01-01: d\n'1': one\n", "p.yaml").data
    assert data == {"yes": 1, "no": 2, "2024-01-01": "d", "1": "one"}


SYNTAX_ERRORS = [
    pytest.param("a: b: c\n", 1, 5, "mapping values are not allowed", id="mapping-in-plain"),
    pytest.param("a: @x\n", 1, 4, "cannot start any token", id="reserved-indicator"),
    pytest.param("a: `x`\n", 1, 4, "cannot start any token", id="backtick"),
    pytest.param("a: 'open\n", 2, 1, "found unexpected end of stream", id="unterminated-quote"),
    pytest.param("a: 1\n...\nb: 2\n", 3, 1, "document start", id="content-after-end-marker"),
    pytest.param("a:\n  - x\n y: 2\n", 3, 2, "block", id="bad-indentation"),
    pytest.param("a: [1, 2\n", 2, 1, "',' or ']'", id="unclosed-flow-sequence"),
]


@pytest.mark.parametrize(("source", "line", "column", "fragment"), SYNTAX_ERRORS)
def test_yaml_syntax_errors(
    backend: type, source: str, line: int, column: int, fragment: str
) -> None:
    diagnostic = refused(source)
    assert (diagnostic.line, diagnostic.column) == (line, column)
    assert fragment in diagnostic.message
    assert diagnostic.path == "$"


def test_syntax_error_mentions_context(backend: type) -> None:
    diagnostic = refused("a: [1, 2\n")
    assert "while parsing a flow sequence at line 1, column 4" in diagnostic.message


# --------------------------------------------------------------------- YAML: resource limits


def test_billion_laughs_refused(backend: type) -> None:
    diagnostic = refused(billion_laughs())
    assert "aliases expand to too many nodes" in diagnostic.message
    assert diagnostic.line == 7  # refused while composing, long before expanding it all


def test_too_many_aliases(backend: type) -> None:
    source = "a: &a 1\nb: [*a, *a, *a]\n"
    diagnostic = refused(source, limits=Limits(max_aliases=2))
    assert (diagnostic.line, diagnostic.column) == (2, 13)
    assert "too many aliases (more than 2)" in diagnostic.message
    assert diagnostic.path == "$.b[2]"


def test_expanded_nodes_limit(backend: type) -> None:
    source = "a: &a [1, 2, 3]\nb: [*a, *a]\n"
    diagnostic = refused(source, limits=Limits(max_expanded_nodes=5))
    assert (diagnostic.line, diagnostic.column) == (2, 9)


def test_deep_flow_nesting_refused(backend: type) -> None:
    diagnostic = refused("[" * 65 + "]" * 65)
    assert (diagnostic.line, diagnostic.column) == (1, 65)
    assert "nesting is deeper than 64 levels" in diagnostic.message


def test_depth_limit_is_inclusive(backend: type) -> None:
    data = load_text("[" * 64 + "]" * 64, "p.yaml").data
    for _ in range(63):
        data = data[0]
    assert data == []


def test_deep_block_nesting_refused(backend: type) -> None:
    diagnostic = refused(nested_block_mappings(100))
    assert (diagnostic.line, diagnostic.column) == (65, 129)
    assert diagnostic.path == json_path(["k"] * 64)


def test_very_deep_nesting_does_not_recurse(backend: type) -> None:
    diagnostic = refused("a: " + "[" * 100_000)
    assert "nesting" in diagnostic.message
    if backend.__name__ == "_PyEventLoader":
        # The mapping is level 1, so the 64th bracket (column 67) is level 65.
        assert (diagnostic.line, diagnostic.column) == (1, 67)
    else:
        # libyaml looks ahead on the line and stops at its own limit of 1000 levels.
        assert (diagnostic.line, diagnostic.column) == (1, 1003)


def test_alias_expansion_counts_towards_depth(backend: type) -> None:
    source = "a: &a [[1]]\nb: [[*a]]\n"
    diagnostic = refused(source, limits=Limits(max_depth=4))
    assert (diagnostic.line, diagnostic.column) == (2, 6)
    assert "after expanding aliases" in diagnostic.message


def test_size_limit_before_parsing(backend: type) -> None:
    diagnostic = refused("a: [" + "1, " * 100 + "]", limits=Limits(max_bytes=64))
    assert (diagnostic.line, diagnostic.column) == (0, 0)
    assert "larger than the limit of 64 bytes" in diagnostic.message


# ---------------------------------------------------------------- bytes: encoding and junk

BYTE_REFUSALS = [
    pytest.param(b"\xef\xbb\xbfa: 1\n", 1, 1, "byte-order mark", id="bom-utf8"),
    pytest.param("a: 1\n".encode("utf-16"), 1, 1, "byte-order mark", id="bom-utf16"),
    pytest.param(b"\xfe\xff\x00a", 1, 1, "byte-order mark", id="bom-utf16-be"),
    pytest.param(b"\xff\xfe\x00\x00a\x00\x00\x00", 1, 1, "byte-order mark", id="bom-utf32-le"),
    pytest.param(b"\x00\x00\xfe\xff\x00\x00\x00a", 1, 1, "byte-order mark", id="bom-utf32-be"),
    pytest.param(b"a: 1\nb: \xff\xfe\n", 2, 4, "invalid UTF-8 byte 0xFF", id="bad-utf8"),
    pytest.param(b"ok: \xc3\x28\n", 1, 5, "invalid UTF-8 byte 0xC3", id="truncated-sequence"),
    pytest.param(
        "caf\u00e9: x\nb: \xe9\n".encode("latin-1"), 1, 4, "invalid UTF-8", id="latin-1-file"
    ),
    pytest.param(
        "n\u00e9: 1\nb: ".encode() + b"\x80", 2, 4, "invalid UTF-8 byte 0x80", id="column-in-chars"
    ),
    pytest.param(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1, 1, "invalid UTF-8 byte 0x89", id="png-junk"
    ),
    pytest.param(b"\x00\x01\x02\x03", 1, 1, "NUL character", id="nul-junk"),
    pytest.param(b"\x7fELF\x02\x01\x01", 1, 1, "control character U+007F", id="elf-junk"),
    pytest.param(b"a: 1\r\nb: \x01\r\n", 2, 4, "control character U+0001", id="crlf-control"),
]


@pytest.mark.parametrize(("data", "line", "column", "fragment"), BYTE_REFUSALS)
@pytest.mark.parametrize("kind", ["yaml", "json"])
def test_byte_refusals(data: bytes, line: int, column: int, fragment: str, kind: str) -> None:
    diagnostic = refused(data, kind=kind)
    assert (diagnostic.line, diagnostic.column) == (line, column)
    assert fragment in diagnostic.message


def test_bom_message_is_exact() -> None:
    diagnostic = refused(b"\xef\xbb\xbfa: 1\n")
    assert diagnostic.message == (
        "file starts with a byte-order mark; save it as UTF-8 without BOM"
    )


# --------------------------------------------------------------------------- YAML: locate

LOCATE_SOURCE = """\
# policy
apiVersion: v1
spec:
  tiers:
    - name: gold
      hours: 4
    - {name: silver, hours: 8}
  target:
    99.9
  "quoted key": [a, b]
"""

LOCATE_CASES = [
    pytest.param([], (1, 1), id="root"),
    pytest.param(["apiVersion"], (2, 13), id="scalar-value-on-key-line"),
    pytest.param(["spec"], (3, 1), id="block-value-points-at-key"),
    pytest.param(["spec", "tiers"], (4, 3), id="nested-block-key"),
    pytest.param(["spec", "tiers", 0], (5, 7), id="sequence-item"),
    pytest.param(["spec", "tiers", 0, "hours"], (6, 14), id="deep-scalar"),
    pytest.param(["spec", "tiers", 1], (7, 7), id="flow-item"),
    pytest.param(["spec", "tiers", 1, "hours"], (7, 29), id="flow-member"),
    pytest.param(["spec", "target"], (8, 3), id="value-on-next-line-points-at-key"),
    pytest.param(["spec", "quoted key", 1], (10, 21), id="quoted-key-member"),
    pytest.param(["spec", "tiers", 0, "missing"], (5, 7), id="missing-key-falls-back"),
    pytest.param(["spec", "tiers", 9, "hours"], (4, 3), id="bad-index-falls-back"),
    pytest.param(["spec", "tiers", "0"], (4, 3), id="string-step-in-sequence"),
    pytest.param(["nope"], (1, 1), id="unknown-top-level"),
]


@pytest.mark.parametrize(("path", "expected"), LOCATE_CASES)
def test_locate_yaml(backend: type, path: list[str | int], expected: tuple[int, int]) -> None:
    doc = load_text(LOCATE_SOURCE, "p.yaml")
    assert doc.locate(path) == expected


def test_locate_through_alias_points_at_anchor(backend: type) -> None:
    doc = load_text("defaults: &d\n  hours: 4\nuse: *d\n", "p.yaml")
    assert doc.locate(["use"]) == (3, 1)
    assert doc.locate(["use", "hours"]) == (2, 10)


def test_locate_on_handmade_document() -> None:
    assert Document("x.yaml", {"a": 1}).locate(["a"]) == (1, 1)


# ------------------------------------------------------------------------------------ JSON


def test_json_values() -> None:
    source = '{"a": 1, "b": [1.10, true, null, "x\\u00e9\\ud83d\\ude00"], "c": {"d": -0, "e": 1e2}}'
    data = load_text(source, "f.json", kind="json").data
    assert data == {
        "a": 1,
        "b": [Decimal("1.10"), True, None, "x\u00e9\U0001f600"],
        "c": {"d": 0, "e": Decimal("100")},
    }
    assert str(data["b"][0]) == "1.10"
    assert type(data["a"]) is int


JSON_REFUSALS = [
    pytest.param(
        '{"a": 1,\n "b": 2,\n "a": 3}',
        3,
        2,
        "duplicate key 'a' (first at line 1)",
        "$.a",
        id="dup-key",
    ),
    pytest.param(
        '{"x": {"k": 1, "k": 2}}', 1, 16, "duplicate key 'k'", "$.x.k", id="dup-key-nested"
    ),
    pytest.param('{"a": NaN}', 1, 7, "NaN/Infinity not allowed", "$.a", id="nan"),
    pytest.param("[1, Infinity]", 1, 5, "NaN/Infinity not allowed", "$[1]", id="infinity"),
    pytest.param("[1,\n -Infinity]", 2, 2, "NaN/Infinity not allowed", "$[1]", id="neg-infinity"),
    pytest.param(
        '{"n": 12345678901234567890123456789012}', 1, 7, "number too large", "$.n", id="huge-int"
    ),
    pytest.param('{"n": 1e400}', 1, 7, "number too large", "$.n", id="huge-exponent"),
    pytest.param('{"n": 1e99999}', 1, 7, "number out of range", "$.n", id="absurd-exponent"),
    pytest.param("[" * 65 + "]" * 65, 1, 65, "nesting is deeper than 64 levels", None, id="deep"),
    pytest.param("[" * 100_000, 1, 65, "nesting is deeper than 64 levels", None, id="very-deep"),
    pytest.param("", 1, 1, "empty document", "$", id="empty"),
    pytest.param(" \n\t\n", 1, 1, "empty document", "$", id="blank"),
    pytest.param('{"a": 1,}', 1, 9, "expected a string in double quotes", "$", id="trailing-comma"),
    pytest.param(
        "[1, 2,]", 1, 7, "expected a JSON value, found ']'", "$[2]", id="trailing-comma-arr"
    ),
    pytest.param('{"a" 1}', 1, 6, "expected ':' after object key", "$.a", id="missing-colon"),
    pytest.param("{'a': 1}", 1, 2, "expected a string in double quotes", "$", id="single-quotes"),
    pytest.param("{a: 1}", 1, 2, "expected a string in double quotes", "$", id="bare-key"),
    pytest.param("[1 2]", 1, 4, "expected ',' or ']'", "$", id="missing-comma"),
    pytest.param('{"a": [1, 2}', 1, 12, "expected ',' or ']'", "$.a", id="mismatched-bracket"),
    pytest.param("[1, 2", 1, 6, "unexpected end of file", "$", id="truncated"),
    pytest.param('{"a": "abc', 1, 7, "unterminated string", "$.a", id="unterminated-string"),
    pytest.param('["a\tb"]', 1, 4, "control character in string", "$[0]", id="raw-tab-in-string"),
    pytest.param('["a\\qb"]', 1, 4, "invalid backslash escape", "$[0]", id="bad-escape"),
    pytest.param('["\\u12"]', 1, 4, "invalid unicode escape", "$[0]", id="short-unicode-escape"),
    pytest.param('["\\ud800"]', 1, 2, "unpaired surrogate", "$[0]", id="lone-surrogate"),
    pytest.param('{"\\udc00": 1}', 1, 2, "unpaired surrogate", "$", id="lone-surrogate-key"),
    pytest.param('["\\u0000"]', 1, 2, "control character U+0000", "$[0]", id="escaped-nul"),
    pytest.param("01", 1, 2, "extra data after the JSON value", "$", id="leading-zero"),
    pytest.param("[1] [2]", 1, 5, "extra data", "$", id="two-values"),
    pytest.param("[.5]", 1, 2, "expected a JSON value, found '.'", "$[0]", id="bare-fraction"),
    pytest.param("[-]", 1, 2, "expected a JSON value", "$[0]", id="lone-minus"),
    pytest.param("[tru]", 1, 2, "expected a JSON value, found 't'", "$[0]", id="bad-literal"),
    pytest.param('{"a": 1} // c', 1, 10, "extra data", "$", id="comment"),
    pytest.param("a: 1\n", 1, 1, "expected a JSON value, found 'a'", "$", id="yaml-in-json"),
]


@pytest.mark.parametrize(("source", "line", "column", "fragment", "path"), JSON_REFUSALS)
def test_json_refusals(
    source: str, line: int, column: int, fragment: str, path: str | None
) -> None:
    diagnostic = refused(source, kind="json", file="f.json")
    assert (diagnostic.line, diagnostic.column) == (line, column)
    assert fragment in diagnostic.message
    if path is not None:
        assert diagnostic.path == path


def test_json_depth_limit_is_inclusive() -> None:
    assert load_text("[" * 64 + "]" * 64, "f.json", kind="json").data is not None
    # The fast path (json.loads) accepts depth 65; the limit must still apply.
    diagnostic = refused('{"a": ' + "[" * 64 + "]" * 64 + "}", kind="json")
    assert (diagnostic.line, diagnostic.column) == (1, 70)


JSON_LOCATE_SOURCE = """\
{
  "spec": {
    "tiers": [
      {"name": "gold", "hours": 4},
      {
        "name": "silver"
      }
    ],
    "target":
      99.9
  }
}
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param([], (1, 1), id="root"),
        pytest.param(["spec"], (2, 11), id="object-value-on-key-line"),
        pytest.param(["spec", "tiers"], (3, 14), id="array"),
        pytest.param(["spec", "tiers", 0], (4, 7), id="array-item"),
        pytest.param(["spec", "tiers", 0, "hours"], (4, 33), id="deep-scalar"),
        pytest.param(["spec", "tiers", 1, "name"], (6, 17), id="multi-line-item"),
        pytest.param(["spec", "target"], (9, 5), id="value-on-next-line-points-at-key"),
        pytest.param(["spec", "tiers", 5], (3, 14), id="bad-index-falls-back"),
        pytest.param(["spec", "missing", "x"], (2, 11), id="missing-key-falls-back"),
    ],
)
def test_locate_json(path: list[str | int], expected: tuple[int, int]) -> None:
    doc = load_text(JSON_LOCATE_SOURCE, "f.json", kind="json")
    assert doc.locate(path) == expected


def test_json_crlf_positions() -> None:
    diagnostic = refused('{\r\n  "a": 1,\r\n  "a": 2\r\n}', kind="json")
    assert (diagnostic.line, diagnostic.column) == (3, 3)


# ----------------------------------------------------------- JSON: fast path == reference

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**29), max_value=10**29)
    | st.decimals(allow_nan=False, allow_infinity=False, places=4, max_value=10**9)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


def _dump(value: Any, ascii_only: bool) -> str:
    """JSON text for ``value``; decimals are written with their digits (never floats)."""
    if isinstance(value, Decimal):
        return str(value) if "E" not in str(value) and "." in str(value) else f"{value:.4f}"
    if isinstance(value, dict):
        members = (
            f"{json.dumps(k, ensure_ascii=ascii_only)}: {_dump(v, ascii_only)}"
            for k, v in value.items()
        )
        return "{" + ", ".join(members) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dump(v, ascii_only) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(json_values, st.booleans())
def test_json_round_trip_fast_and_reference_agree(value: Any, ascii_only: bool) -> None:
    source = _dump(value, ascii_only)
    if loader._BAD_CHAR.search(source):
        # Raw control characters are refused before either parser runs.
        with pytest.raises(InputError, match="control character|surrogate"):
            load_text(source, "f.json", kind="json")
        return
    fast = loader._fast_json(source, LIMITS)
    try:
        reference = loader._JsonParser(
            source, "f.json", LIMITS, loader._offset_where(loader._line_starts(source))
        ).parse()[0]
    except InputError:
        assert fast is loader._FAILED
        return
    if fast is not loader._FAILED:
        assert fast == reference
        assert json.dumps(fast, default=str) == json.dumps(reference, default=str)


JSONISH = st.text(alphabet='{}[],:" \n0123456789.eE-+tfnaulrsINfyx\\u', max_size=30)


@settings(max_examples=400, deadline=None)
@given(JSONISH)
def test_json_fast_path_never_more_lenient(source: str) -> None:
    fast = loader._fast_json(source, LIMITS)
    try:
        reference = loader._JsonParser(
            source, "f.json", LIMITS, loader._offset_where(loader._line_starts(source))
        ).parse()[0]
    except InputError:
        assert fast is loader._FAILED
    else:
        if fast is not loader._FAILED:
            assert fast == reference


# -------------------------------------------------------------------- never a traceback


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["yaml", "json"]))
def test_arbitrary_bytes_never_crash(data: bytes, kind: str) -> None:
    try:
        load_text(data, "x", kind=kind)
    except InputError as exc:
        assert all(d.code == "load" and "\n" not in d.render() for d in exc.diagnostics)


YAMLISH = st.text(alphabet=":-[]{},&*!|>'\"#?<% \n\tabyn01.~@`\\", max_size=60)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(YAMLISH)
def test_arbitrary_yaml_text_never_crashes(backend: type, source: str) -> None:
    try:
        doc = load_text(source, "x.yaml")
    except InputError as exc:
        assert all(d.code == "load" and "\n" not in d.render() for d in exc.diagnostics)
    else:
        doc.locate(["a", 0, "b"])


# ---------------------------------------------------------------------------- load_document


def test_load_document_chooses_by_extension(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("a: 1.10\n", encoding="utf-8")
    (tmp_path / "p.yml").write_text("a: yes\n", encoding="utf-8")
    (tmp_path / "p.JSON").write_text('{"a": 1}', encoding="utf-8")
    (tmp_path / "p.policy").write_text("a: [1]\n", encoding="utf-8")
    assert load_document(tmp_path / "p.yaml").data == {"a": Decimal("1.10")}
    assert load_document(tmp_path / "p.yml").data == {"a": "yes"}
    assert load_document(tmp_path / "p.JSON").data == {"a": 1}
    assert load_document(str(tmp_path / "p.policy")).data == {"a": [1]}


def test_json_extension_is_parsed_as_json(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text("a: 1\n", encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        load_document(tmp_path / "p.json", display_name="policies/p.json")
    diagnostic = only_diagnostic(excinfo)
    assert diagnostic.file == "policies/p.json"
    assert (diagnostic.line, diagnostic.column) == (1, 1)


def test_load_document_display_name_and_locate(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("spec:\n  hours: 4\n", encoding="utf-8")
    doc = load_document(path, display_name="policies/policy.yaml")
    assert doc.file == "policies/policy.yaml"
    assert doc.locate(["spec", "hours"]) == (2, 10)


def test_load_document_default_display_name(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("a: 1\na: 2\n", encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        load_document(path)
    assert excinfo.value.diagnostics[0].render() == (
        f"{path}:2:1: $.a: duplicate key 'a' (first at line 1)"
    )


@pytest.mark.parametrize("kind", ["missing", "directory", "permission"])
def test_unreadable_files(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "policy.yaml"
    if kind == "directory":
        path.mkdir()
    elif kind == "permission":
        if os.name != "posix" or os.geteuid() == 0:
            pytest.skip("permissions are not enforced for root")
        path.write_text("a: 1\n", encoding="utf-8")
        path.chmod(0)
    with pytest.raises(InputError) as excinfo:
        load_document(path)
    diagnostic = only_diagnostic(excinfo)
    assert (diagnostic.line, diagnostic.column) == (0, 0)
    assert diagnostic.message.startswith("cannot read file: ")
    expected = {
        "missing": "No such file",
        "directory": "directory",
        "permission": "Permission denied",
    }
    assert expected[kind] in diagnostic.message


def test_load_document_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: " + b"x" * 200 + b"\n")
    with pytest.raises(InputError) as excinfo:
        load_document(path, limits=Limits(max_bytes=100))
    assert only_diagnostic(excinfo).message == "file is larger than the limit of 100 bytes"


def test_load_text_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        load_text("a: 1", "x", kind="toml")


# ------------------------------------------------------------------------------------ NDJSON


def write(tmp_path: Path, data: bytes, name: str = "facts.ndjson") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_ndjson_yields_line_numbers_and_skips_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"id": "a", "v": 1.10}\n\n   \r\n{"id": "b", "v": 2}\r\n{"id": "c"}')
    assert list(iter_ndjson(path)) == [
        (1, {"id": "a", "v": Decimal("1.10")}),
        (4, {"id": "b", "v": 2}),
        (5, {"id": "c"}),
    ]


def test_ndjson_empty_file(tmp_path: Path) -> None:
    assert list(iter_ndjson(write(tmp_path, b""))) == []


def test_ndjson_is_streamed(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"id": 1}\n{"id": 2}\nnot json\n')
    facts = iter_ndjson(path, display_name="facts.ndjson")
    assert next(facts) == (1, {"id": 1})
    assert next(facts) == (2, {"id": 2})
    with pytest.raises(InputError) as excinfo:
        next(facts)
    assert only_diagnostic(excinfo).render().startswith("facts.ndjson:3:1: $: ")


NDJSON_REFUSALS = [
    pytest.param(b'{"a": 1}\n{"a": 1, "a": 2}\n', 2, 10, "duplicate key 'a'", id="dup-key"),
    pytest.param(b'{"a": 1}\n{"a": NaN}\n', 2, 7, "NaN/Infinity not allowed", id="nan"),
    pytest.param(b'{"a": 1}\n\n[1, 2]\n', 3, 1, "each line must hold a JSON object", id="array"),
    pytest.param(b'  "text"\n', 1, 3, "each line must hold a JSON object", id="string"),
    pytest.param(b'{"a": 1}\n{"a": 1}}\n', 2, 9, "extra data", id="extra-data"),
    pytest.param(b'{"a": 1}\n{"a": 1\n', 2, 8, "unexpected end of file", id="truncated"),
    pytest.param(b'{"a": "\xc3\xa9\xff"}\n', 1, 9, "invalid UTF-8 byte 0xFF", id="bad-utf8"),
    pytest.param(b'{"a": 1}\n{"b": "\x00"}\n', 2, 8, "NUL character", id="nul"),
    pytest.param(b'\xef\xbb\xbf{"a": 1}\n', 1, 1, "byte-order mark", id="bom"),
    pytest.param(
        b'{"n": 1234567890123456789012345678901}\n', 1, 7, "number too large", id="huge-int"
    ),
    pytest.param(b'{"a": ' + b"[" * 70 + b"]" * 70 + b"}\n", 1, 70, "nesting is deeper", id="deep"),
]


@pytest.mark.parametrize(("data", "line", "column", "fragment"), NDJSON_REFUSALS)
def test_ndjson_refusals(
    tmp_path: Path, data: bytes, line: int, column: int, fragment: str
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(InputError) as excinfo:
        list(iter_ndjson(path, display_name="facts.ndjson"))
    diagnostic = only_diagnostic(excinfo)
    assert diagnostic.file == "facts.ndjson"
    assert (diagnostic.line, diagnostic.column) == (line, column)
    assert fragment in diagnostic.message


def test_ndjson_line_length_limit(tmp_path: Path) -> None:
    limits = Limits(max_line_bytes=16)
    ok = b'{"a": "12345678"}'  # 17 bytes
    path = write(tmp_path, b'{"a": "1234567"}\r\n' + ok + b"\n")
    facts = iter_ndjson(path, limits=limits)
    assert next(facts) == (1, {"a": "1234567"})
    with pytest.raises(InputError) as excinfo:
        next(facts)
    diagnostic = only_diagnostic(excinfo)
    assert (diagnostic.line, diagnostic.column) == (2, 1)
    assert "line is longer than 16 bytes" in diagnostic.message


def test_ndjson_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InputError) as excinfo:
        list(iter_ndjson(tmp_path / "missing.ndjson"))
    diagnostic = only_diagnostic(excinfo)
    assert (diagnostic.line, diagnostic.column) == (0, 0)
    assert "No such file" in diagnostic.message


# -------------------------------------------------------------------------- misc API


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param([], "$", id="root"),
        pytest.param(["a", "b", 0, "c"], "$.a.b[0].c", id="identifiers"),
        pytest.param(["spec", "sla-target"], "$.spec['sla-target']", id="hyphen"),
        pytest.param(["a b", 2], "$['a b'][2]", id="space"),
        pytest.param(["it's"], "$['it\\'s']", id="quote-escaped"),
        pytest.param(["1st"], "$['1st']", id="leading-digit"),
        pytest.param(["x\ny"], "$['x\\u000ay']", id="newline-escaped"),
        pytest.param(["_ok9"], "$._ok9", id="underscore"),
    ],
)
def test_json_path(path: list[str | int], expected: str) -> None:
    assert json_path(path) == expected


def test_limits_defaults_and_frozen() -> None:
    assert LIMITS.max_bytes == 50 * 1024 * 1024
    assert LIMITS.max_depth == 64
    assert LIMITS.max_aliases == 100
    assert LIMITS.max_line_bytes == 1024 * 1024
    assert LIMITS.max_int_digits == 30
    with pytest.raises(AttributeError):
        LIMITS.max_depth = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        Limits(max_depth=-1)


def test_int_digit_limit_is_configurable(backend: type) -> None:
    assert load_text("n: 12345\n", "p.yaml", limits=Limits(max_int_digits=5)).data == {"n": 12345}
    diagnostic = refused("n: 123456\n", limits=Limits(max_int_digits=5))
    assert diagnostic.message == "number too large (more than 5 digits)"
