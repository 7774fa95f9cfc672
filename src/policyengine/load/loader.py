"""Load layer: read policy files, rule packs and fact files strictly, keeping positions.

Every problem is reported as an :class:`~policyengine.diagnostics.InputError` carrying a
located :class:`~policyengine.diagnostics.Diagnostic` (``code="load"``); hostile input never
ends in a traceback. Values are plain Python: ``dict``, ``list``, ``str``, ``int``,
:class:`~decimal.Decimal` (never ``float``), ``bool`` and ``None``.

YAML is read with PyYAML's event parser (libyaml when available) and composed here, so
that positions are kept and the YAML 1.2 core schema is applied: only ``true``/``false``
are booleans (``yes``/``no``/``on``/``off`` stay strings), dates stay strings, floats
become ``Decimal`` built from the source text. JSON is read by ``json.loads`` with strict
hooks; when that refuses anything, and when positions are first asked for, a small
positional parser of our own (the reference) reads the text again, so errors and
:meth:`Document.locate` are exact. NDJSON fact files are streamed line by line.
"""

from __future__ import annotations

import json
import os
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from json.decoder import JSONDecodeError, scanstring
from typing import Any

import yaml

from policyengine.diagnostics import Diagnostic, InputError

__all__ = [
    "LIMITS",
    "Document",
    "Limits",
    "iter_ndjson",
    "json_path",
    "load_document",
    "load_text",
]


@dataclass(frozen=True)
class Limits:
    """Bounds applied while loading; every one is enforced with a located diagnostic.

    ``max_expanded_nodes`` bounds how many nodes YAML aliases may add when expanded
    (summed over the document), which defeats "billion laughs" documents.
    """

    max_bytes: int = 50 * 1024 * 1024
    max_depth: int = 64
    max_aliases: int = 100
    max_line_bytes: int = 1024 * 1024
    max_int_digits: int = 30
    max_expanded_nodes: int = 1_000_000

    def __post_init__(self) -> None:
        for name in (
            "max_bytes",
            "max_depth",
            "max_aliases",
            "max_line_bytes",
            "max_int_digits",
            "max_expanded_nodes",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"Limits.{name} must be a non-negative integer")
        if self.max_depth > 500:
            raise ValueError("Limits.max_depth must be at most 500")


LIMITS = Limits()

_CODE = "load"
_BOM_MESSAGE = "file starts with a byte-order mark; save it as UTF-8 without BOM"
_BOMS = (
    b"\xff\xfe\x00\x00",  # UTF-32 LE (checked before UTF-16 LE, which it starts with)
    b"\x00\x00\xfe\xff",  # UTF-32 BE
    b"\xef\xbb\xbf",  # UTF-8
    b"\xff\xfe",  # UTF-16 LE
    b"\xfe\xff",  # UTF-16 BE
)
# Characters YAML does not allow in a stream (also refused in JSON and NDJSON):
# C0 controls other than TAB/LF/CR, DEL, C1 controls other than NEL, U+FFFE/U+FFFF,
# and unpaired surrogates (only reachable from ``str`` input).
_BAD_CHAR = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --------------------------------------------------------------------------- public API


def json_path(path: Sequence[str | int]) -> str:
    """Render a path as a JSON path: ``["a", "b", 0, "c-d"]`` -> ``$.a.b[0]['c-d']``.

    Keys that are not ASCII identifiers are written ``['key']`` (with ``\\`` and ``'``
    escaped); integers are indexes.
    """
    parts = ["$"]
    for step in path:
        if isinstance(step, int) and not isinstance(step, bool):
            parts.append(f"[{step}]")
        else:
            key = str(step)
            if _IDENTIFIER.fullmatch(key):
                parts.append(f".{key}")
            else:
                escaped = key.replace("\\", "\\\\").replace("'", "\\'")
                escaped = _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", escaped)
                parts.append(f"['{escaped}']")
    return "".join(parts)


class _Node:
    """Position index of one value: ``kids`` is None (scalar), a list (sequence) or a dict
    mapping each key to ``(key position, value node)`` (mapping). Positions are opaque
    ints turned into ``(line, column)`` by the owning document."""

    __slots__ = ("pos", "kids")

    def __init__(self, pos: int, kids: list[_Node] | dict[str, tuple[int, _Node]] | None):
        self.pos = pos
        self.kids = kids


@dataclass
class Document:
    """A loaded file: its display name, its data and a position index for :meth:`locate`."""

    file: str
    data: Any
    _root: _Node | None = field(default=None, repr=False, compare=False)
    _where: Callable[[int], tuple[int, int]] | None = field(default=None, repr=False, compare=False)
    # Builds (_root, _where) on first use (JSON documents are indexed lazily).
    _index: Callable[[], tuple[_Node, Callable[[int], tuple[int, int]]]] | None = field(
        default=None, repr=False, compare=False
    )

    def locate(self, path: Sequence[str | int]) -> tuple[int, int]:
        """(line, column), 1-based, of the node at ``path``.

        Falls back to the nearest existing ancestor; ``(1, 1)`` for the root or an
        unknown path. For a mapping member the value's position is given when the value
        starts on the key's line (``target: abc`` points at ``abc``), otherwise the key's
        (``spec:`` followed by an indented block points at ``spec``).
        """
        if self._root is None and self._index is not None:
            self._root, self._where = self._index()
            self._index = None
        node, where = self._root, self._where
        if node is None or where is None:
            return (1, 1)
        best: tuple[int, int] = (1, 1)
        for step in path:
            kids = node.kids
            if isinstance(kids, dict) and isinstance(step, str) and step in kids:
                key_pos, node = kids[step]
                key_at = where(key_pos)
                value_at = where(node.pos)
                best = value_at if value_at[0] == key_at[0] else key_at
            elif (
                isinstance(kids, list)
                and isinstance(step, int)
                and not isinstance(step, bool)
                and 0 <= step < len(kids)
            ):
                node = kids[step]
                best = where(node.pos)
            else:
                break
        return best

    def key_position(self, path: Sequence[str | int]) -> tuple[int, int]:
        """(line, column) of the *key* of the mapping member at ``path``.

        For a problem with the name itself (an unknown field); :meth:`locate` when
        ``path`` does not end at a mapping member.
        """
        if path and isinstance(path[-1], str):
            self.locate(path[:-1])  # builds the index on first use
            node, where = self._root, self._where
            for step in path[:-1]:
                kids = node.kids if node is not None else None
                if isinstance(kids, dict) and isinstance(step, str) and step in kids:
                    node = kids[step][1]
                elif isinstance(kids, list) and isinstance(step, int) and 0 <= step < len(kids):
                    node = kids[step]
                else:
                    node = None
                    break
            kids = node.kids if node is not None else None
            if where is not None and isinstance(kids, dict) and path[-1] in kids:
                return where(kids[path[-1]][0])
        return self.locate(path)


def load_document(
    path: str | os.PathLike[str],
    *,
    display_name: str | None = None,
    limits: Limits = LIMITS,
) -> Document:
    """Read one YAML or JSON document from ``path``.

    ``.json`` files are parsed as JSON; ``.yaml``/``.yml`` and any other extension as
    YAML. ``display_name`` (default: the path as given) is the file name used in
    diagnostics. Raises :class:`InputError` for every problem, including unreadable files
    (reported at line 0, column 0 with the operating system's reason).
    """
    name = display_name if display_name is not None else os.fspath(path)
    kind = "json" if os.fspath(path).lower().endswith(".json") else "yaml"
    try:
        with open(path, "rb") as handle:
            data = handle.read(limits.max_bytes + 1)
    except OSError as exc:
        raise _error(name, 0, 0, f"cannot read file: {_os_reason(exc)}") from None
    return _load_bytes(data, name, kind, limits)


def load_text(
    text: str | bytes,
    file: str,
    *,
    kind: str = "yaml",
    limits: Limits = LIMITS,
) -> Document:
    """Parse ``text`` (``kind`` is ``"yaml"`` or ``"json"``) as one document named ``file``.

    Same strictness and limits as :func:`load_document`; bytes must be UTF-8.
    """
    if kind not in ("yaml", "json"):
        raise ValueError(f"kind must be 'yaml' or 'json', not {kind!r}")
    if isinstance(text, str):
        if text.startswith("\ufeff"):
            raise _error(file, 1, 1, _BOM_MESSAGE)
        if len(text) > limits.max_bytes:
            raise _too_large(file, limits)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            line, col = _text_position(text, exc.start)
            raise _error(file, line, col, "text contains an unpaired surrogate") from None
        return _load_bytes(data, file, kind, limits)
    return _load_bytes(bytes(text), file, kind, limits)


def iter_ndjson(
    path: str | os.PathLike[str],
    *,
    display_name: str | None = None,
    limits: Limits = LIMITS,
    byte_range: tuple[int, int | None, int] = (0, None, 1),
    tell: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Stream an NDJSON file: yield ``(line number, object)`` for each non-blank line.

    The file is read one line at a time (never whole); each line is at most
    ``limits.max_line_bytes`` bytes and is parsed with the same strictness as JSON
    documents. The first bad line raises :class:`InputError` naming ``file:line:col``;
    a line holding anything but a JSON object is an error. This is a generator: an
    unreadable file is reported when iteration starts. ``byte_range`` is
    ``(start, stop, number of the line at start)``: the lines that begin in
    ``[start, stop)``, for reading one file in parts (``start`` must begin a line).
    ``tell``, when given, is called with the byte offset read up to (in the file) every
    256 lines and once at the end of what is read: for progress displays.
    """
    name = display_name if display_name is not None else os.fspath(path)
    start, stop, first_line = byte_range
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with-block below
    except OSError as exc:
        raise _error(name, 0, 0, f"cannot read file: {_os_reason(exc)}") from None
    with handle:
        lineno = first_line - 1
        position = start
        if start:
            handle.seek(start)
        while stop is None or position < stop:
            try:
                raw = handle.readline(limits.max_line_bytes + 2)
            except OSError as exc:
                raise _error(name, 0, 0, f"cannot read file: {_os_reason(exc)}") from None
            if not raw:
                break
            position += len(raw)
            lineno += 1
            if tell is not None and not lineno & 255:
                tell(position)
            content = raw[:-1] if raw.endswith(b"\n") else raw
            if content.endswith(b"\r"):
                content = content[:-1]
            if len(content) > limits.max_line_bytes:
                raise _error(
                    name,
                    lineno,
                    1,
                    f"line is longer than {limits.max_line_bytes} bytes",
                )
            if lineno == 1 and content.startswith(_BOMS):
                raise _error(name, 1, 1, _BOM_MESSAGE)
            text = _decode(content, name, lineno)
            _check_characters(text, name, _line_where(lineno))
            if not text.strip(" \t\r"):
                continue
            value = _fast_json(text, limits)
            if value is _FAILED:
                where = _line_where(lineno)
                value, _ = _JsonParser(text, name, limits, where).parse()
            if not isinstance(value, dict):
                col = len(text) - len(text.lstrip(" \t\r")) + 1
                raise _error(name, lineno, col, "each line must hold a JSON object")
            yield lineno, value
        if tell is not None:
            tell(position)


# ------------------------------------------------------------------------------ helpers


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _one_line(text: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", text).strip()


def _show(text: str, limit: int = 60) -> str:
    """A key or value quoted for a message: one line, control characters escaped."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    text = _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return f"'{text}'"


def _error(
    file: str,
    line: int,
    column: int,
    message: str,
    path: str = "$",
    hint: str = "",
) -> InputError:
    return InputError(
        [
            Diagnostic(
                file=file,
                line=line,
                column=column,
                path=path,
                message=_one_line(message),
                code=_CODE,
                hint=hint,
            )
        ]
    )


def _os_reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def _too_large(file: str, limits: Limits) -> InputError:
    return _error(file, 0, 0, f"file is larger than the limit of {limits.max_bytes} bytes")


def _line_where(line: int) -> Callable[[int], tuple[int, int]]:
    """Positions inside one NDJSON line."""
    return lambda index: (line, index + 1)


def _text_position(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of ``text[index]``; lines end at ``\\n``."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _decode(data: bytes, file: str, line_base: int = 0) -> str:
    """Strict UTF-8 decoding; the first bad byte is reported with its position.

    ``line_base`` is the fixed line number for a single NDJSON line (0: a whole file).
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8")
        if line_base:
            line, col = line_base, len(prefix) + 1
        else:
            line, col = _text_position(prefix, len(prefix))
        bad = data[exc.start]
        raise _error(
            file,
            line,
            col,
            f"invalid UTF-8 byte 0x{bad:02X}; the file must be UTF-8 text",
        ) from None


def _string_problem(value: str) -> str:
    """Why a decoded string (escapes expanded) is refused, or ``""``."""
    match = _BAD_CHAR.search(value)
    if match is None:
        return ""
    char = match.group()
    if _SURROGATE.fullmatch(char):
        return "string contains an unpaired surrogate escape"
    return f"string contains control character U+{ord(char):04X} (written as an escape)"


def _check_characters(text: str, file: str, where: Callable[[int], tuple[int, int]]) -> None:
    match = _BAD_CHAR.search(text)
    if match is None:
        return
    char = match.group()
    line, col = where(match.start())
    if char == "\x00":
        message = "NUL character is not allowed (is this a binary file?)"
    elif _SURROGATE.fullmatch(char):
        message = "text contains an unpaired surrogate"
    else:
        message = f"control character U+{ord(char):04X} is not allowed"
    raise _error(file, line, col, message)


def _load_bytes(data: bytes, file: str, kind: str, limits: Limits) -> Document:
    if len(data) > limits.max_bytes:
        raise _too_large(file, limits)
    if data.startswith(_BOMS):
        raise _error(file, 1, 1, _BOM_MESSAGE)
    text = _decode(data, file)
    _check_characters(text, file, lambda i: _text_position(text, i))
    if kind == "json":
        return _load_json(text, file, limits)
    return _YamlComposer(text, file, limits).compose()


# ------------------------------------------------------------------------------ numbers

_INT_DEC = re.compile(r"[-+]?[0-9]+")
_INT_OCT = re.compile(r"0o([0-7]+)")
_INT_HEX = re.compile(r"0x([0-9a-fA-F]+)")
_FLOAT = re.compile(r"([-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?))(?:[eE]([-+]?[0-9]+))?")
_INFINITY = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
_NAN_MESSAGE = "NaN/Infinity not allowed"


class _Problem(Exception):
    """A problem with one value; the caller knows where it is."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint


def _make_int(digits: str, base: int, limits: Limits) -> int:
    if len(digits) > limits.max_int_digits:
        raise _Problem(f"number too large (more than {limits.max_int_digits} digits)")
    return int(digits, base)


def _make_decimal(mantissa: str, exponent: str | None, limits: Limits) -> Decimal:
    digits = sum(ch.isdigit() for ch in mantissa)
    if digits > limits.max_int_digits:
        raise _Problem(f"number has too many digits (more than {limits.max_int_digits})")
    if exponent is not None and len(exponent.lstrip("+-").lstrip("0")) > 4:
        raise _Problem("number out of range")
    try:
        value = Decimal(mantissa if exponent is None else f"{mantissa}e{exponent}")
    except InvalidOperation:  # pragma: no cover - the regexes only admit valid numbers
        raise _Problem("not a valid number") from None
    if value and value.adjusted() > limits.max_int_digits:
        raise _Problem(f"number too large (more than {limits.max_int_digits} digits)")
    if value and value.adjusted() < -limits.max_int_digits:
        raise _Problem("number too small")
    return value


def _yaml_int(text: str, limits: Limits) -> int | None:
    if _INT_DEC.fullmatch(text):
        return _make_int(text.lstrip("+-"), 10, limits) * (-1 if text[0] == "-" else 1)
    match = _INT_OCT.fullmatch(text)
    if match:
        return _make_int(match.group(1), 8, limits)
    match = _INT_HEX.fullmatch(text)
    if match:
        return _make_int(match.group(1), 16, limits)
    return None


def _yaml_float(text: str, limits: Limits) -> Decimal | None:
    match = _FLOAT.fullmatch(text)
    if match:
        return _make_decimal(match.group(1), match.group(2), limits)
    if _INFINITY.fullmatch(text) or _NAN.fullmatch(text):
        raise _Problem(_NAN_MESSAGE)
    return None


def _resolve_plain(text: str, limits: Limits) -> Any:
    """YAML 1.2 core schema, minus timestamps (strings) and NaN/Infinity (refused)."""
    if text in _NULLS:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text[0] in "-+.0123456789":
        number: Any = _yaml_int(text, limits)
        if number is not None:
            return number
        number = _yaml_float(text, limits)
        if number is not None:
            return number
    return text


# --------------------------------------------------------------------------------- YAML

_STD = "tag:yaml.org,2002:"
_STR, _INT, _FLT, _BOOL, _NULL = (_STD + t for t in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ = _STD + "map", _STD + "seq"
_ALLOWED_TAGS = "!!str, !!int, !!float, !!bool, !!null, !!map, !!seq"
_LINE_SHIFT = 32
_COL_MASK = (1 << _LINE_SHIFT) - 1


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_STD) :] if tag.startswith(_STD) else tag


def _yaml_where(pos: int) -> tuple[int, int]:
    return (pos >> _LINE_SHIFT) + 1, (pos & _COL_MASK) + 1


class _PyEventLoader(yaml.SafeLoader):
    """Pure-Python PyYAML parser; only its event stream is used (composition is ours)."""


_YAML_LOADERS: list[type] = [_PyEventLoader]
if hasattr(yaml, "CSafeLoader"):

    class _CEventLoader(yaml.CSafeLoader):  # type: ignore[name-defined,misc]
        """libyaml parser; only its event stream is used (composition is ours)."""

    _YAML_LOADERS.insert(0, _CEventLoader)

# The parser in use; tests switch it to exercise both.
_YAML_LOADER: type = _YAML_LOADERS[0]

_NO_KEY = object()

# A composed node: (value, position node, expanded size, height, is-merge-key)
_Item = tuple[Any, _Node, int, int, bool]


class _Frame:
    """A collection being composed."""

    __slots__ = (
        "is_map",
        "pos",
        "anchor",
        "value",
        "kids",
        "key",
        "key_pos",
        "key_merge",
        "merge_pos",
        "merges",
        "size",
        "height",
    )

    def __init__(self, is_map: bool, pos: int, anchor: str | None):
        self.is_map = is_map
        self.pos = pos
        self.anchor = anchor
        self.value: Any = {} if is_map else []
        self.kids: Any = {} if is_map else []
        self.key: Any = _NO_KEY
        self.key_pos = 0
        self.key_merge = False
        self.merge_pos: int | None = None
        self.merges: list[tuple[dict[str, Any], dict[str, tuple[int, _Node]]]] = []
        self.size = 1
        self.height = 1


class _YamlComposer:
    """Compose one YAML document from parser events, iteratively (no recursion)."""

    def __init__(self, text: str, file: str, limits: Limits):
        self.text = text
        self.file = file
        self.limits = limits
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Item] = {}
        self.anchor_lines: dict[str, int] = {}
        self.open_anchors: set[str] = set()
        self.aliases = 0
        self.expanded = 0

    # -- errors
    def _path(self, extra: Sequence[str | int] = ()) -> str:
        steps: list[str | int] = []
        for frame in self.stack:
            if frame.is_map:
                if frame.key is _NO_KEY:
                    break
                steps.append(frame.key)
            else:
                steps.append(len(frame.value))
        return json_path([*steps, *extra])

    def _fail(
        self, pos: int, message: str, extra: Sequence[str | int] = (), hint: str = ""
    ) -> InputError:
        line, col = _yaml_where(pos)
        return _error(self.file, line, col, message, self._path(extra), hint)

    @staticmethod
    def _pos(mark: Any) -> int:
        return (mark.line << _LINE_SHIFT) | mark.column

    # -- driver
    def compose(self) -> Document:
        parser = _YAML_LOADER(self.text)
        try:
            return self._document(parser)
        except yaml.MarkedYAMLError as exc:
            raise self._syntax_error(exc) from None
        except yaml.YAMLError as exc:
            raise _error(self.file, 1, 1, str(exc)) from None
        finally:
            parser.dispose()

    def _syntax_error(self, exc: yaml.MarkedYAMLError) -> InputError:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark is not None:
            message = (
                f"{message} ({exc.context} at line {exc.context_mark.line + 1}, "
                f"column {exc.context_mark.column + 1})"
            )
        # The composer's own path would be a guess here: syntax errors are reported at "$".
        return _error(self.file, line, col, message)

    def _document(self, parser: Any) -> Document:
        parser.get_event()  # StreamStartEvent
        event = parser.get_event()
        if isinstance(event, yaml.StreamEndEvent):
            raise _error(self.file, 1, 1, "empty document")
        first = parser.peek_event()
        if (
            isinstance(first, yaml.ScalarEvent)
            and first.value == ""
            and first.tag is None
            and first.anchor is None
            and first.implicit[0]
        ):
            raise _error(self.file, 1, 1, "empty document")
        value, node, _, _, _ = self._compose_node(parser)
        parser.get_event()  # DocumentEndEvent
        event = parser.get_event()
        if not isinstance(event, yaml.StreamEndEvent):
            line, col = _yaml_where(self._pos(event.start_mark))
            raise _error(
                self.file,
                line,
                col,
                "expected one document in the file, found a second one",
            )
        return Document(self.file, value, node, _yaml_where)

    def _compose_node(self, parser: Any) -> _Item:
        stack = self.stack
        limits = self.limits
        while True:
            event = parser.get_event()
            item: _Item
            if isinstance(event, yaml.ScalarEvent):
                item = self._scalar(event)
            elif isinstance(event, yaml.AliasEvent):
                item = self._alias(event)
            elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                is_map = isinstance(event, yaml.MappingStartEvent)
                pos = self._pos(event.start_mark)
                if len(stack) >= limits.max_depth:
                    raise self._fail(pos, f"nesting is deeper than {limits.max_depth} levels")
                self._check_collection_tag(event.tag, is_map, pos)
                if event.anchor is not None:
                    self._open_anchor(event.anchor, pos)
                stack.append(_Frame(is_map, pos, event.anchor))
                continue
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                item = self._finish(stack.pop())
            else:  # pragma: no cover - the parser only emits node events here
                raise self._fail(self._pos(event.start_mark), "unexpected YAML event")
            if not stack:
                return item
            self._attach(stack[-1], item)

    # -- anchors and aliases
    def _open_anchor(self, anchor: str, pos: int) -> None:
        if anchor in self.anchor_lines:
            raise self._fail(
                pos,
                f"duplicate anchor {_show('&' + anchor)} "
                f"(first at line {self.anchor_lines[anchor]})",
            )
        self.anchor_lines[anchor] = _yaml_where(pos)[0]
        self.open_anchors.add(anchor)

    def _close_anchor(self, anchor: str, item: _Item) -> None:
        self.open_anchors.discard(anchor)
        self.anchors[anchor] = item

    def _alias(self, event: Any) -> _Item:
        pos = self._pos(event.start_mark)
        limits = self.limits
        name = event.anchor
        self.aliases += 1
        if self.aliases > limits.max_aliases:
            raise self._fail(pos, f"too many aliases (more than {limits.max_aliases})")
        if name in self.open_anchors:
            raise self._fail(pos, f"alias {_show('*' + name)} refers to a node containing it")
        target = self.anchors.get(name)
        if target is None:
            raise self._fail(pos, f"alias {_show('*' + name)} refers to an undefined anchor")
        value, node, size, height, _ = target
        self.expanded += size
        if self.expanded > limits.max_expanded_nodes:
            raise self._fail(
                pos,
                f"aliases expand to too many nodes (more than {limits.max_expanded_nodes})",
            )
        if len(self.stack) + height > limits.max_depth:
            raise self._fail(
                pos,
                f"nesting is deeper than {limits.max_depth} levels (after expanding aliases)",
            )
        return (_copy(value), node, size, height, False)

    # -- scalars
    def _scalar(self, event: Any) -> _Item:
        pos = self._pos(event.start_mark)
        if event.anchor is not None:
            self._open_anchor(event.anchor, pos)
        tag = event.tag
        text = event.value
        merge = False
        try:
            if tag is None and event.implicit[0]:
                value = _resolve_plain(text, self.limits)
                merge = text == "<<"
            elif tag is None or tag == "!":
                value = text
            else:
                value = self._tagged_scalar(tag, text)
        except _Problem as problem:
            raise self._fail(pos, problem.message, hint=problem.hint) from None
        if isinstance(value, str):
            problem = _string_problem(value)
            if problem:
                raise self._fail(pos, problem)
        item: _Item = (value, _Node(pos, None), 1, 0, merge)
        if event.anchor is not None:
            self._close_anchor(event.anchor, item)
        return item

    def _tagged_scalar(self, tag: str, text: str) -> Any:
        limits = self.limits
        if tag == _STR:
            return text
        if tag == _INT:
            value = _yaml_int(text, limits)
            if value is None:
                raise _Problem(f"{_show(text)} is not a valid integer for !!int")
            return value
        if tag == _FLT:
            number: Any = _yaml_int(text, limits)
            if number is None:
                number = _yaml_float(text, limits)
            if number is None:
                raise _Problem(f"{_show(text)} is not a valid number for !!float")
            return Decimal(number)
        if tag == _BOOL:
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            raise _Problem(f"{_show(text)} is not a valid boolean for !!bool (use true or false)")
        if tag == _NULL:
            if text in _NULLS:
                return None
            raise _Problem(f"{_show(text)} is not a valid null for !!null")
        if tag in (_MAP, _SEQ):
            raise _Problem(f"tag {_show_tag(tag)} cannot be used on a scalar")
        raise _Problem(
            f"tag {_show(_show_tag(tag))} is not allowed",
            hint=f"only the standard tags {_ALLOWED_TAGS} are",
        )

    def _check_collection_tag(self, tag: str | None, is_map: bool, pos: int) -> None:
        if tag is None or tag == "!" or tag == (_MAP if is_map else _SEQ):
            return
        kind = "a mapping" if is_map else "a sequence"
        if tag in (_STR, _INT, _FLT, _BOOL, _NULL, _MAP, _SEQ):
            raise self._fail(pos, f"tag {_show_tag(tag)} cannot be used on {kind}")
        raise self._fail(
            pos,
            f"tag {_show(_show_tag(tag))} is not allowed",
            hint=f"only the standard tags {_ALLOWED_TAGS} are",
        )

    # -- collections
    def _attach(self, frame: _Frame, item: _Item) -> None:
        value, node, size, height, merge = item
        if frame.is_map:
            if frame.key is _NO_KEY:
                if node.kids is not None or not isinstance(value, str):
                    raise self._fail(
                        node.pos,
                        "mapping keys must be strings",
                        hint="quote the key" if node.kids is None else "",
                    )
                first = frame.merge_pos if merge else None
                if value in frame.kids:
                    first = frame.kids[value][0]
                if first is not None:
                    raise self._fail(
                        node.pos,
                        f"duplicate key {_show(value)} (first at line {_yaml_where(first)[0]})",
                        [value],
                    )
                frame.key = value
                frame.key_pos = node.pos
                frame.key_merge = merge
            else:
                if frame.key_merge:
                    self._add_merge(frame, item)
                    frame.merge_pos = frame.key_pos
                else:
                    frame.value[frame.key] = value
                    frame.kids[frame.key] = (frame.key_pos, node)
                frame.key = _NO_KEY
        else:
            frame.value.append(value)
            frame.kids.append(node)
        frame.size += size
        if height + 1 > frame.height:
            frame.height = height + 1

    def _add_merge(self, frame: _Frame, item: _Item) -> None:
        value, node, _, _, _ = item
        if isinstance(value, dict) and isinstance(node.kids, dict):
            frame.merges.append((value, node.kids))
            return
        if isinstance(value, list) and isinstance(node.kids, list):
            sources = []
            for index, (member, member_node) in enumerate(zip(value, node.kids, strict=True)):
                if not isinstance(member, dict) or not isinstance(member_node.kids, dict):
                    raise self._fail(
                        member_node.pos,
                        "merge key '<<' needs a mapping or a list of mappings",
                        [index],
                    )
                sources.append((member, member_node.kids))
            frame.merges.extend(sources)
            return
        raise self._fail(node.pos, "merge key '<<' needs a mapping or a list of mappings")

    def _finish(self, frame: _Frame) -> _Item:
        value, kids = frame.value, frame.kids
        if frame.merges:
            merged: dict[str, Any] = {}
            merged_kids: dict[str, tuple[int, _Node]] = {}
            for source, source_kids in frame.merges:
                for key, member in source.items():
                    if key not in merged and key not in kids:
                        merged[key] = member
                        merged_kids[key] = source_kids[key]
            merged.update(value)
            merged_kids.update(kids)
            value, kids = merged, merged_kids
        item: _Item = (value, _Node(frame.pos, kids), frame.size, frame.height, False)
        if frame.anchor is not None:
            self._close_anchor(frame.anchor, item)
        return item


def _copy(value: Any) -> Any:
    """Deep copy of plain data (depth is bounded by ``Limits.max_depth``)."""
    if isinstance(value, dict):
        return {key: _copy(member) for key, member in value.items()}
    if isinstance(value, list):
        return [_copy(member) for member in value]
    return value


# --------------------------------------------------------------------------------- JSON

_JSON_WS = re.compile(r"[ \t\n\r]*")
_JSON_NUMBER = re.compile(r"(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?)(?:[eE]([-+]?[0-9]+))?")


def _line_starts(text: str) -> list[int]:
    return [match.end() for match in re.finditer("\n", text)]


def _offset_where(starts: list[int]) -> Callable[[int], tuple[int, int]]:
    def where(offset: int) -> tuple[int, int]:
        index = bisect_right(starts, offset)
        return index + 1, offset - (starts[index - 1] if index else 0) + 1

    return where


def _load_json(text: str, file: str, limits: Limits) -> Document:
    value = _fast_json(text, limits)
    if value is _FAILED:
        # The positional parser is the reference: it reports the located error.
        where = _offset_where(_line_starts(text))
        value, node = _JsonParser(text, file, limits, where).parse()
        return Document(file, value, node, where)

    def index() -> tuple[_Node, Callable[[int], tuple[int, int]]]:
        where = _offset_where(_line_starts(text))
        return _JsonParser(text, file, limits, where).parse()[1], where

    return Document(file, value, _index=index)


_FAILED = object()
# Escapes of control characters (\b, \f, \u0000 ...), surrogates or non-characters are
# left to the positional parser, which checks them: surrogates must pair up, and controls
# other than TAB/LF/CR are refused, as they are in the raw text.
_SUSPICIOUS_ESCAPE = re.compile(r"\\(?:[bf]|u(?:00[0189]|007[fF]|[dD][89a-fA-F]|[fF]{3}[eEfF]))")


class _Refused(Exception):
    """Raised by the fast path's hooks; the positional parser then locates the problem."""


def _fast_json(text: str, limits: Limits) -> Any:
    """``json.loads`` with hooks enforcing the same rules as :class:`_JsonParser`.

    Returns ``_FAILED`` whenever anything is wrong (or might be); the caller then runs
    the positional parser, which is authoritative and reports where.
    """
    if _SUSPICIOUS_ESCAPE.search(text):
        return _FAILED

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(items)
        if len(result) != len(items):
            raise _Refused
        return result

    def integer(digits: str) -> int:
        if len(digits) - digits.startswith("-") > limits.max_int_digits:
            raise _Refused
        return int(digits)

    def number(source: str) -> Decimal:
        match = _JSON_NUMBER.fullmatch(source)
        if match is None:  # pragma: no cover - json only passes valid numbers
            raise _Refused
        try:
            return _make_decimal(match.group(1), match.group(2), limits)
        except _Problem:
            raise _Refused from None

    def constant(_: str) -> Any:
        raise _Refused

    try:
        value = json.loads(
            text,
            object_pairs_hook=pairs,
            parse_int=integer,
            parse_float=number,
            parse_constant=constant,
        )
    except (ValueError, RecursionError, _Refused):
        return _FAILED
    # nesting can be no deeper than the number of opening brackets: most lines skip the walk
    if text.count("{") + text.count("[") > limits.max_depth and _too_deep(value,
                                                                          limits.max_depth):
        return _FAILED
    return value


def _too_deep(value: Any, max_depth: int) -> bool:
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        container, depth = stack.pop()
        if depth > max_depth:
            return True
        members = container.values() if isinstance(container, dict) else container
        for member in members:
            if isinstance(member, dict | list):
                stack.append((member, depth + 1))
    return False


def _json_message(message: str) -> str:
    """json's scanner messages, reworded as one plain sentence."""
    message = message.removesuffix(" starting at").removesuffix(" at")
    if message == "Invalid control character":
        return "control character in string (escape it)"
    if message == "Invalid \\escape":
        return "invalid backslash escape in string"
    if message == "Invalid \\uXXXX escape":
        return "invalid unicode escape in string (expected \\u and 4 hex digits)"
    return message[:1].lower() + message[1:]


class _JsonFrame:
    __slots__ = ("is_map", "pos", "value", "kids", "key", "key_pos")

    def __init__(self, is_map: bool, pos: int):
        self.is_map = is_map
        self.pos = pos
        self.value: Any = {} if is_map else []
        self.kids: Any = {} if is_map else []
        self.key: str = ""
        self.key_pos = 0


_TOP = object()  # "the current member of the innermost container" in error paths


class _JsonParser:
    """Strict JSON (RFC 8259) with positions; iterative, so nesting cannot overflow."""

    def __init__(
        self,
        text: str,
        file: str,
        limits: Limits,
        where: Callable[[int], tuple[int, int]],
    ):
        self.text = text
        self.file = file
        self.limits = limits
        self.where = where
        self.stack: list[_JsonFrame] = []

    def _fail(self, offset: int, message: str, last: Any = _TOP) -> InputError:
        """Error at ``offset``; ``last`` is the final path step (None: the container)."""
        steps: list[str | int] = []
        for frame in self.stack[:-1]:
            steps.append(frame.key if frame.is_map else len(frame.value))
        if self.stack:
            top = self.stack[-1]
            if last is _TOP:
                steps.append(top.key if top.is_map else len(top.value))
            elif last is not None:
                steps.append(last)
        line, col = self.where(offset)
        return _error(self.file, line, col, message, json_path(steps))

    def _skip(self, index: int) -> int:
        return _JSON_WS.match(self.text, index).end()  # type: ignore[union-attr]

    def _string(self, index: int, last: Any = _TOP) -> tuple[str, int]:
        """Parse the string whose opening quote is at ``index``."""
        try:
            value, end = scanstring(self.text, index + 1, True)
        except JSONDecodeError as exc:
            raise self._fail(exc.pos, _json_message(exc.msg), last) from None
        problem = _string_problem(value)
        if problem:
            raise self._fail(index, problem, last)
        return value, end

    def _key(self, frame: _JsonFrame, index: int) -> int:
        """Parse ``"key" :`` at ``index``; return the index of the member's value."""
        if not self.text.startswith('"', index):
            if index >= len(self.text):
                raise self._fail(index, "unexpected end of file: expected an object key", None)
            raise self._fail(index, "expected a string in double quotes as object key", None)
        key, end = self._string(index, None)
        if key in frame.kids:
            first = self.where(frame.kids[key][0])[0]
            raise self._fail(index, f"duplicate key {_show(key)} (first at line {first})", key)
        frame.key = key
        frame.key_pos = index
        end = self._skip(end)
        if not self.text.startswith(":", end):
            raise self._fail(end, "expected ':' after object key")
        return self._skip(end + 1)

    def _number(self, index: int) -> tuple[int | Decimal, int]:
        text = self.text
        if text.startswith("-Infinity", index):
            raise self._fail(index, _NAN_MESSAGE)
        match = _JSON_NUMBER.match(text, index)
        if match is None:
            raise self._fail(index, "expected a JSON value, found '-'")
        mantissa, exponent = match.groups()
        try:
            if exponent is None and "." not in mantissa:
                number: int | Decimal = _make_int(mantissa.lstrip("-"), 10, self.limits)
                if mantissa[0] == "-":
                    number = -number
            else:
                number = _make_decimal(mantissa, exponent, self.limits)
        except _Problem as problem:
            raise self._fail(index, problem.message) from None
        return number, match.end()

    def parse(self) -> tuple[Any, _Node]:
        """Parse the whole text as one JSON value; return it with its position index."""
        text = self.text
        size = len(text)
        stack = self.stack
        max_depth = self.limits.max_depth
        index = self._skip(0)
        if index >= size:
            raise self._fail(0, "empty document")
        while True:
            # -- one value starting at ``index``
            start = index
            char = text[index] if index < size else ""
            value: Any
            if char == "{" or char == "[":
                if len(stack) >= max_depth:
                    raise self._fail(index, f"nesting is deeper than {max_depth} levels")
                frame = _JsonFrame(char == "{", index)
                index = self._skip(index + 1)
                if not text.startswith("}" if frame.is_map else "]", index):
                    stack.append(frame)
                    if frame.is_map:
                        index = self._key(frame, index)
                    continue
                index += 1
                value = frame.value
                node = _Node(start, frame.kids)
            elif char == '"':
                value, index = self._string(index)
                node = _Node(start, None)
            elif char == "-" or "0" <= char <= "9":
                value, index = self._number(index)
                node = _Node(start, None)
            elif text.startswith("true", index):
                value, index, node = True, index + 4, _Node(start, None)
            elif text.startswith("false", index):
                value, index, node = False, index + 5, _Node(start, None)
            elif text.startswith("null", index):
                value, index, node = None, index + 4, _Node(start, None)
            elif text.startswith(("NaN", "Infinity"), index):
                raise self._fail(index, _NAN_MESSAGE)
            elif index >= size:
                raise self._fail(index, "unexpected end of file: expected a JSON value")
            else:
                raise self._fail(index, f"expected a JSON value, found {_show(char)}")
            # -- attach the value to its parent, closing finished containers
            while True:
                if not stack:
                    index = self._skip(index)
                    if index < size:
                        raise self._fail(index, "extra data after the JSON value")
                    return value, node
                frame = stack[-1]
                if frame.is_map:
                    frame.value[frame.key] = value
                    frame.kids[frame.key] = (frame.key_pos, node)
                else:
                    frame.value.append(value)
                    frame.kids.append(node)
                index = self._skip(index)
                char = text[index] if index < size else ""
                if char == ",":
                    index = self._skip(index + 1)
                    if frame.is_map:
                        index = self._key(frame, index)
                    break
                if char == ("}" if frame.is_map else "]"):
                    stack.pop()
                    index += 1
                    value, node = frame.value, _Node(frame.pos, frame.kids)
                    continue
                if frame.is_map:
                    expected = "expected ',' or '}' after object member"
                else:
                    expected = "expected ',' or ']' after array element"
                if index >= size:
                    expected = f"unexpected end of file: {expected}"
                raise self._fail(index, expected, None)
