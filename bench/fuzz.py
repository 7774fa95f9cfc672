"""Mutation fuzzing of `policyengine validate` and `policyengine evaluate`.

Each case takes the shipped policy or the example fact file, mutates a copy (byte flips,
line deletions and duplications, type swaps of values, key renames and deletions,
truncation, junk insertion), writes it as YAML or JSON and runs the CLI in-process through
click's CliRunner. A case passes when the exit code is 0, 1 or 2, no exception other than
``SystemExit`` escaped, nothing printed a ``Traceback``, it finished within the time
limit and it left nothing behind: no file in its private ``$TMPDIR`` and no child process
(``leftovers``; the JSON report forks evaluation workers).

    python bench/fuzz.py --cases 5000 --seed 1        # the long run (docs/hardening.md)
    python bench/fuzz.py --cases 1 --seed 1 --first 417 --keep bench/out/fuzz
                                                       # replay one case, keep its input

Case ``i`` of seed ``s`` depends on nothing but ``(s, i)``, so any case replays alone.
``tests/test_fuzz.py`` runs a short, seeded run of the same cases.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
POLICY_DIR = ROOT / "policies" / "spirion"
POLICY = POLICY_DIR / "1.0.0.yaml"
FACTS = ROOT / "examples" / "october-2026.yaml"
AS_OF = "2026-11-27T12:00:00-05:00"
CASE_SECONDS = 10.0  # a case running longer than this is a hang


class CaseTimeout(BaseException):
    """Raised by the watchdog; a BaseException so that no ``except Exception`` hides it."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the case after ``seconds`` (POSIX main thread only; otherwise unlimited)."""
    usable = hasattr(signal, "setitimer")
    if usable:
        try:
            previous = signal.signal(signal.SIGALRM, _on_alarm)
        except ValueError:  # not the main thread
            usable = False
    if not usable:
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _on_alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout


# ------------------------------------------------------------------------- mutations

# Replacement values of every type the loaders and schemas meet (and some they must refuse).
ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 7, 10**12, 10**40, 1.5, -0.0, 1e300, "", "x", "0", "1e5",
    "-5", "yes", "null", "NaN", "2026-13-01", "2026-02-30T10:00:00Z", "2026-10-05T10:00:00",
    "2026-10-05T10:00:00+25:00", "0001-01-01T00:00:00Z", "9998-12-31T00:00:00Z", "24h",
    "-4h", "0h", "1/0", "P1D", "\u202e", "a\u0000b", "\ud83d\ude00", "x" * 300, [], {},
    [None], [1, "a"], {"a": 1}, {"": None}, [[[]]],
]
KEY_NOISE = ["", " ", "x", "_", "-", "\u00e9", "2", "$", ".", "<<"]


@dataclass
class Mutant:
    operator: str
    text: bytes
    suffix: str  # ".yaml" or ".json"


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def byte_flips(data: bytes, rnd: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rnd.randint(1, 8)):
        if not out:
            break
        index = rnd.randrange(len(out))
        out[index] = rnd.choice([out[index] ^ (1 << rnd.randrange(8)), rnd.randrange(256)])
    return bytes(out)


def delete_lines(data: bytes, rnd: random.Random) -> bytes:
    lines = _lines(data)
    for _ in range(rnd.randint(1, 3)):
        if len(lines) > 1:
            del lines[rnd.randrange(len(lines))]
    return b"".join(lines)


def duplicate_lines(data: bytes, rnd: random.Random) -> bytes:
    lines = _lines(data)
    for _ in range(rnd.randint(1, 3)):
        index = rnd.randrange(len(lines))
        lines.insert(index + rnd.choice([0, 1, rnd.randint(0, len(lines))]), lines[index])
    return b"".join(lines)


def truncate(data: bytes, rnd: random.Random) -> bytes:
    return data[: rnd.randrange(len(data) + 1)]


def insert_junk(data: bytes, rnd: random.Random) -> bytes:
    junk = rnd.choice([b"\t", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"&a ", b"*a ",
                       b"!!python/object:os.system ", b"{", b"]", b"---\n", b"? ", b": ", b"'",
                       b'"', b"#", b"%YAML 1.1\n", b"\r", b"\xe2\x80\xa8", b"<<: *x\n",
                       bytes([rnd.randrange(256)])])
    index = rnd.randrange(len(data) + 1)
    return data[:index] + junk + data[index:]


def _containers(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every dict and list inside ``value`` with its path."""
    found: list[tuple[tuple, Any]] = []
    stack = [(path, value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            found.append((where, node))
            stack.extend(((*where, k), v) for k, v in node.items())
        elif isinstance(node, list):
            found.append((where, node))
            stack.extend(((*where, i), v) for i, v in enumerate(node))
    return found


def swap_value_type(data: Any, rnd: random.Random) -> Any:
    for _ in range(rnd.randint(1, 3)):
        _, node = rnd.choice(_containers(data))
        if not node:
            continue
        key = rnd.choice(list(node)) if isinstance(node, dict) else rnd.randrange(len(node))
        current = node[key]
        choices = [v for v in ODD_VALUES if type(v) is not type(current)]
        node[key] = copy.deepcopy(rnd.choice(choices))
    return data


def rename_key(data: Any, rnd: random.Random) -> Any:
    maps = [node for _, node in _containers(data) if isinstance(node, dict) and node]
    for _ in range(rnd.randint(1, 2)):
        node = rnd.choice(maps)
        key = rnd.choice(list(node))
        style = rnd.randrange(5)
        if style == 0:
            new = key[:-1] if len(key) > 1 else key + "_"
        elif style == 1:
            new = key.upper()
        elif style == 2:
            new = key + rnd.choice(KEY_NOISE)
        elif style == 3:
            new = rnd.choice(KEY_NOISE)
        else:
            new = rnd.choice([k for _, m in _containers(data) if isinstance(m, dict) for k in m])
        value = node.pop(key)
        node[new] = value
    return data


def delete_key(data: Any, rnd: random.Random) -> Any:
    maps = [node for _, node in _containers(data) if isinstance(node, dict) and node]
    node = rnd.choice(maps)
    del node[rnd.choice(list(node))]
    return data


_DURATION = re.compile(r"^[0-9]+[mhd]$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MONTH = re.compile(r"^[0-9]{4}-[0-9]{2}$")


def _seen_values(*documents: Any) -> dict[str, list[Any]]:
    """Scalar values found under each key name in the originals (for plausible swaps)."""
    seen: dict[str, set[Any]] = {}
    for document in documents:
        for _, node in _containers(document):
            if isinstance(node, dict):
                for key, value in node.items():
                    if isinstance(value, str | bool | int | float) or value is None:
                        seen.setdefault(key, set()).add(value)
    return {key: sorted(values, key=repr) for key, values in seen.items()}


EXTREME_YEARS = (1, 1900, 1969, 2201, 9998, 9999)


def _tweak_scalar(key: Any, value: Any, rnd: random.Random, seen: dict[str, list[Any]],
                  extreme: bool) -> Any:
    """A plausible, often still valid, replacement: the engine gets past the schema.

    With ``extreme``, one timestamp or date in five moves to a far year (1 ... 9999).
    """
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return rnd.choice([0, 1, value * 2, -value, value + 0.5, 10**29, 99.99, 100, 101])
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            if extreme and rnd.random() < 0.2:
                return moment.replace(year=rnd.choice(EXTREME_YEARS), day=1).isoformat()
            shifted = moment + dt.timedelta(minutes=rnd.randint(-90 * 1440, 90 * 1440))
            zone = dt.timezone(dt.timedelta(minutes=rnd.choice([0, -240, -300, 330, 840])))
            return shifted.astimezone(zone).isoformat()
        if _DATE.match(value):
            if extreme and rnd.random() < 0.2:
                return f"{rnd.choice(EXTREME_YEARS):04d}-12-31"
            day = dt.date.fromisoformat(value) + dt.timedelta(days=rnd.randint(-800, 800))
            return day.isoformat()
        if _MONTH.match(value):
            return f"{rnd.choice([2025, 2026, 2027])}-{rnd.randint(1, 12):02d}"
        if _DURATION.match(value):
            return rnd.choice(["1m", "30m", "4h", "6h", "24h", "48h", "7d", "60d", "0h", "999d"])
        if key == "annual_fee" or value.replace(".", "", 1).isdigit():
            return rnd.choice(["0", "0.01", "1", "120000.00", "999999999999999999999999.99",
                               "12.345"])
    options = [v for v in seen.get(str(key), []) if v != value]
    return rnd.choice(options) if options else value


_STRUCTURAL = frozenset({"type", "kind", "apiVersion", "id", "about", "customer"})


def tweak_values(data: Any, rnd: random.Random, seen: dict[str, list[Any]],
                 extreme: bool = True) -> Any:
    slots = [(node, key) for _, node in _containers(data) if isinstance(node, dict)
             for key, value in node.items()
             if not isinstance(value, dict | list) and key not in _STRUCTURAL]
    for _ in range(rnd.randint(1, 5)):
        node, key = rnd.choice(slots)
        node[key] = _tweak_scalar(key, node[key], rnd, seen, extreme)
    return data


def reshape_list(data: Any, rnd: random.Random) -> Any:
    """Delete, duplicate (with a fresh id) or move an element of a list of mappings."""
    lists = [node for _, node in _containers(data)
             if isinstance(node, list) and node and all(isinstance(m, dict) for m in node)]
    if not lists:
        return data
    items = rnd.choice(lists)
    index = rnd.randrange(len(items))
    action = rnd.randrange(3)
    if action == 0 and len(items) > 1:
        del items[index]
    elif action == 1:
        clone = copy.deepcopy(items[index])
        if rnd.random() < 0.8:  # a fresh identity, usually (else: a duplicate)
            for name in ("id", "customer"):
                if isinstance(clone.get(name), str):
                    clone[name] += "-copy"
                    break
        items.insert(rnd.randrange(len(items) + 1), clone)
    else:
        items.insert(rnd.randrange(len(items)), items.pop(index))
    return data


def swap_values(data: Any, rnd: random.Random) -> Any:
    """Exchange two values found anywhere (a date where a plan was, a list for a number)."""
    slots = [(node, key) for _, node in _containers(data)
             for key in (node if isinstance(node, dict) else range(len(node)))]
    (a, ka), (b, kb) = rnd.choice(slots), rnd.choice(slots)
    if a is not b or ka != kb:
        first, second = copy.deepcopy(a[ka]), copy.deepcopy(b[kb])
        a[ka], b[kb] = second, first
    return data


TEXT_OPERATORS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "byte-flip": byte_flips,
    "delete-lines": delete_lines,
    "duplicate-lines": duplicate_lines,
    "truncate": truncate,
    "insert-junk": insert_junk,
}
DATA_OPERATORS: dict[str, Callable[[Any, random.Random], Any]] = {
    "swap-type": swap_value_type,
    "rename-key": rename_key,
    "delete-key": delete_key,
    "swap-values": swap_values,
}


def _plain(value: Any) -> Any:
    """YAML-loaded data made dumpable as YAML and JSON (dates become ISO strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _dump(data: Any, as_json: bool) -> bytes:
    if as_json:
        return json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8", "surrogatepass")
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None)
    return text.encode("utf-8", "surrogatepass")


@dataclass
class Sources:
    """The originals, read once."""

    raw: dict[str, bytes] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    seen: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Sources:
        sources = cls()
        for name, path in (("policy", POLICY), ("facts", FACTS)):
            sources.raw[name] = path.read_bytes()
            sources.data[name] = _plain(yaml.safe_load(sources.raw[name]))
        sources.seen = _seen_values(*sources.data.values())
        return sources


def mutate(sources: Sources, which: str, rnd: random.Random, extreme: bool = True) -> Mutant:
    """One mutant of the policy or the facts: plausible tweaks (40 %), structural data
    mutations (30 %) or raw text damage (30 %), sometimes stacked."""
    as_json = rnd.random() < 0.25
    roll = rnd.random()
    if roll < 0.4:
        data = copy.deepcopy(sources.data[which])
        names = ["tweak"]
        data = tweak_values(data, rnd, sources.seen, extreme)
        if rnd.random() < 0.5:
            names.append("reshape")
            data = reshape_list(data, rnd)
        text = _dump(data, as_json)
        return Mutant("+".join(names), text, ".json" if as_json else ".yaml")
    if roll < 0.7:
        data = copy.deepcopy(sources.data[which])
        names = rnd.sample(sorted(DATA_OPERATORS), rnd.randint(1, 2))
        for name in names:
            data = DATA_OPERATORS[name](data, rnd)
        text = _dump(data, as_json)
    else:
        names = []
        text = _dump(sources.data[which], True) if as_json else sources.raw[which]
    if not names or rnd.random() < 0.3:
        extra = rnd.sample(sorted(TEXT_OPERATORS), rnd.randint(1, 2))
        for name in extra:
            text = TEXT_OPERATORS[name](text, rnd)
        names += extra
    return Mutant("+".join(names), text, ".json" if as_json else ".yaml")


# ----------------------------------------------------------------------------- cases


@dataclass
class Outcome:
    index: int
    command: str
    operator: str
    exit_code: int | None
    problem: str = ""  # empty when the case passed
    seconds: float = 0.0
    input_file: Path | None = None


def plan(seed: int, index: int, sources: Sources, workdir: Path,
         extreme: bool = True) -> tuple[list[str], Mutant]:
    """The command line and mutant of case ``index`` (deterministic in ``(seed, index)``)."""
    rnd = random.Random(f"policyengine-fuzz:{seed}:{index}")
    which = rnd.choice(["policy", "facts"])
    mutant = mutate(sources, which, rnd, extreme)
    path = workdir / f"case-{index}-{which}{mutant.suffix}"
    path.write_bytes(mutant.text)
    if rnd.random() < 0.3:
        return ["validate", str(path)], mutant
    policy = str(path) if which == "policy" else str(POLICY_DIR)
    facts = str(path) if which == "facts" else str(FACTS)
    args = ["evaluate", "--policy", policy, "--facts", facts, "--as-of", AS_OF,
            "--engine", "durable" if index % 4 == 3 else "python"]
    args += rnd.choice([[], [], ["--format", "table"], ["--format", "markdown"],
                        ["--fail-on", "breach"], ["--explain"]])
    return args, mutant


def run_case(seed: int, index: int, sources: Sources, workdir: Path,
             limit: float = CASE_SECONDS, extreme: bool = True) -> Outcome:
    from click.testing import CliRunner

    from policyengine.cli.main import main

    args, mutant = plan(seed, index, sources, workdir, extreme)
    outcome = Outcome(index, args[0], mutant.operator, None,
                      input_file=Path(args[1] if args[0] == "validate" else
                                      next(a for a in args if "case-" in a)))
    started = time.perf_counter()
    private_tmp, children = workdir / "tmp", _children()
    private_tmp.mkdir(exist_ok=True)
    try:
        with time_limit(limit), _tmpdir(private_tmp):
            result = CliRunner().invoke(main, args, catch_exceptions=True)
    except CaseTimeout:
        outcome.problem = f"no result within {limit:.0f} s"
        outcome.seconds = time.perf_counter() - started
        return outcome
    finally:
        left = leftovers(private_tmp, children)
    if left:
        outcome.problem = left
        outcome.seconds = time.perf_counter() - started
        return outcome
    outcome.seconds = time.perf_counter() - started
    outcome.exit_code = result.exit_code
    output = (result.stdout or "") + (result.stderr or "")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        error = result.exception
        outcome.problem = f"{type(error).__name__}: {str(error)[:200]}"
    elif result.exit_code not in (0, 1, 2):
        outcome.problem = f"exit code {result.exit_code}"
    elif "Traceback" in output:
        outcome.problem = "a traceback was printed"
    return outcome


@contextlib.contextmanager
def _tmpdir(path: Path) -> Iterator[None]:
    """``tempfile.gettempdir()`` is ``path`` meanwhile (the in-process CLI's $TMPDIR)."""
    previous = tempfile.tempdir
    tempfile.tempdir = str(path)
    try:
        yield
    finally:
        tempfile.tempdir = previous


def _children() -> set[int]:
    """Live (not zombie) child processes of this process (Linux: /proc), else set()."""
    found = set()
    if not os.path.isdir("/proc"):
        return found
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as file:
                    fields = file.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me and fields[0] != "Z":
                found.add(int(entry))
    return found


def leftovers(private_tmp: Path, children_before: set[int], wait: float = 2.0) -> str:
    """What a case left behind ('' when nothing): files in its private $TMPDIR (emptied for
    the next case) and child processes still running ``wait`` seconds after it ended."""
    problems = []
    files = sorted(os.listdir(private_tmp))
    if files:
        problems.append(f"left {len(files)} file(s) in $TMPDIR: {', '.join(files[:3])}")
        for name in files:
            path = private_tmp / name
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    deadline = time.monotonic() + wait
    while (running := _children() - children_before) and time.monotonic() < deadline:
        time.sleep(0.05)
    if running:
        problems.append(f"left {len(running)} child process(es) running: {sorted(running)}")
    return "; ".join(problems)


def run(cases: int, seed: int, first: int = 0, keep: Path | None = None,
        limit: float = CASE_SECONDS, progress: bool = False,
        extreme: bool = True) -> list[Outcome]:
    sources = Sources.load()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="policyengine-fuzz-") as tmp:
        workdir = Path(tmp)
        for index in range(first, first + cases):
            outcome = run_case(seed, index, sources, workdir, limit, extreme)
            outcomes.append(outcome)
            if outcome.problem and keep is not None and outcome.input_file is not None:
                keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(outcome.input_file, keep / outcome.input_file.name)
            if outcome.input_file is not None:
                outcome.input_file.unlink(missing_ok=True)
            if progress and (index - first + 1) % 500 == 0:
                print(f"  {index - first + 1} cases", file=sys.stderr, flush=True)
    return outcomes


def summary(outcomes: list[Outcome], seed: int, seconds: float) -> str:
    codes = Counter(o.exit_code for o in outcomes)
    commands = Counter(o.command for o in outcomes)
    failures = [o for o in outcomes if o.problem]
    slowest = max(outcomes, key=lambda o: o.seconds) if outcomes else None
    lines = [
        f"cases: {len(outcomes)} (seed {seed}); "
        + ", ".join(f"{k}: {v}" for k, v in sorted(commands.items())),
        "exit codes: " + ", ".join(f"{k}: {v}" for k, v in sorted(codes.items(), key=str)),
        f"failures: {len(failures)}",
        f"time: {seconds:.1f} s total, slowest case {slowest.seconds:.2f} s"
        if slowest else "time: -",
    ]
    by_problem = Counter(o.problem.split(":")[0] for o in failures)
    lines += [f"  {count} x {problem}" for problem, count in by_problem.most_common()]
    lines += [f"  case {o.index} ({o.command}, {o.operator}): {o.problem}"
              for o in failures[:20]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    # --mode policy: edit the shipped policy's terms within what validate accepts and run
    # evaluate and due on both back-ends (bench/policyfuzz.py, its own options)
    # --mode rules: edit the shipped rule packs at random; validate, and when they validate
    # load them with the shipped policy and evaluate on both back-ends (bench/rulefuzz.py)
    chooser = argparse.ArgumentParser(add_help=False)
    chooser.add_argument("--mode", choices=("documents", "policy", "rules"),
                         default="documents")
    mode, rest = chooser.parse_known_args(argv)
    if mode.mode == "policy":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import policyfuzz

        return policyfuzz.main(rest)
    if mode.mode == "rules":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import rulefuzz

        return rulefuzz.main(rest)
    argv = rest
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--first", type=int, default=0, help="index of the first case")
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the input of every failing case into this directory")
    parser.add_argument("--limit", type=float, default=CASE_SECONDS,
                        help="seconds before a case counts as a hang")
    parser.add_argument("--no-extreme", dest="extreme", action="store_false",
                        help="never move timestamps and dates to far years (1 ... 9999)")
    options = parser.parse_args(argv)
    started = time.perf_counter()
    outcomes = run(options.cases, options.seed, options.first, options.keep, options.limit,
                   progress=True, extreme=options.extreme)
    print(summary(outcomes, options.seed, time.perf_counter() - started))
    return 1 if any(o.problem for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
