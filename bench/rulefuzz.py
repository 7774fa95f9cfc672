"""Rule-pack fuzzing: whatever rule packs `validate` accepts evaluate, on both back-ends alike.

Each case starts from the shipped rule packs (``rules/*.yaml``), edits them at random —
stages, clause kinds, fact types, fields, aliases and term paths renamed or misspelt; join
conditions dropped or duplicated; combine modes, set values and their types changed;
comparison operators swapped; unjoined aliases added; ``in`` lists emptied or made huge;
``any``/``all`` nested deep; message placeholders naming unknown aliases, fields and terms;
rules repeated many times; rules and packs deleted — and writes the packs to a directory of
their own. A worker process then validates the directory (``validate_paths``) and, when it
validates, loads ``Engine.load(policies/spirion, rules=dir)`` and evaluates
``examples/october-2026.yaml`` on the Python and the durable-rules back-ends.

A case fails on a traceback (any exception but ``InputError``/``EngineError``, or one of
those with a message line that is empty or spans lines), back-ends that disagree (reports,
or one refusing what the other evaluates), a hang (no answer within ``--limit`` seconds:
the worker is killed with its process group and replaced), a hard crash of the worker
(a signal, an abort in the C extension: replaced too), a file left in the worker's private
``$TMPDIR`` or a child process of the worker still running (``bench/fuzz.py``'s
``leftovers``). Case ``i`` of seed ``s`` depends on nothing but ``(s, i)``.

    python bench/fuzz.py --mode rules --cases 5000 --seed 1        # the long run
    python bench/rulefuzz.py --cases 1 --seed 1 --first 17 --keep bench/out/rules  # replay
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import random
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: fuzzcases beside it
import fuzzcases  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
POLICY_DIR = ROOT / "policies" / "spirion"
FACTS = ROOT / "examples" / "october-2026.yaml"
AS_OF = "2026-11-27T12:00:00-05:00"
CASE_SECONDS = 30.0  # a case running longer than this is a hang

STAGES = ["window-exclusions", "window-verdicts", "months", "credits", "ticket-severity",
          "ticket-clocks", "entitlements", "obligations", "obligation-verdicts"]
CLAUSES = ["availability_commitment", "claim_window", "emergency_maintenance",
           "excluded_plan", "excused_cause", "notice_obligation", "scheduled_maintenance",
           "service_credit", "severity", "severity_assignment", "support_lapse",
           "update_entitlement"]
FACT_TYPES = ["window", "window_notice", "month", "ticket", "update_request",
              "notice_subject", "subject_notice", "subscription", "downtime", "credit_request"]
OPERATORS = ["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "exists"]
COMBINES = ["max", "min", "all", "any", "unique"]
ODD_VALUES: list[Any] = [True, False, 0, -1, 1, 2.5, 10**18, 1e-05, 1e300, "", "x",
                         "scheduled", "2026-10-05T10:00:00-04:00", "1h", "99.9",
                         "\u202e", "x" * 500]


def misspell(name: str, rnd: random.Random) -> str:
    """A near miss of ``name`` (a dropped, doubled or swapped letter, or a suffix)."""
    if len(name) < 2:
        return name + "x"
    i = rnd.randrange(len(name) - 1)
    return rnd.choice([name[:i] + name[i + 1:], name[:i] + name[i] + name[i:],
                       name[:i] + name[i + 1] + name[i] + name[i + 2:], name + "s",
                       name + "_x"])


# -- where things are in the packs ----------------------------------------------------------

Packs = dict[str, dict[str, Any]]  # file name -> rule-pack document
Edit = Callable[[Packs, random.Random], str]


def _rules(packs: Packs) -> list[dict[str, Any]]:
    return [rule for pack in packs.values() for rule in pack.get("rules") or []]


def _rule(packs: Packs, rnd: random.Random) -> dict[str, Any]:
    return rnd.choice(_rules(packs))


def _conditions(node: Any) -> list[dict[str, Any]]:
    """Every condition mapping (an alias's, or one inside any/all) below ``node``."""
    found = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            for key in ("any", "all"):
                if isinstance(item.get(key), list):
                    stack.extend(item[key])
    return found


def _field_keys(condition: dict[str, Any]) -> list[str]:
    return [k for k in condition if k not in ("type", "any", "all", "where")]


def _refs(node: Any, kind: str) -> list[tuple[Any, Any]]:
    """(container, key) of every ``{kind: ...}`` reference below ``node``."""
    found = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get(kind), str):
                found.append((item, kind))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


# -- the edits -------------------------------------------------------------------------------


def stage(packs: Packs, rnd: random.Random) -> str:
    rule = _rule(packs, rnd)
    rule["stage"] = rnd.choice([misspell(rule["stage"], rnd), rnd.choice(STAGES)])
    return f"stage {rule['id']}"


def for_clause(packs: Packs, rnd: random.Random) -> str:
    rule = _rule(packs, rnd)
    rule["for_clause"] = rnd.choice([misspell(rule["for_clause"], rnd), rnd.choice(CLAUSES)])
    return f"for_clause {rule['id']}"


def fact_type(packs: Packs, rnd: random.Random) -> str:
    rule = _rule(packs, rnd)
    alias = rnd.choice(list(rule["when"]))
    old = rule["when"][alias].get("type", "window")
    rule["when"][alias]["type"] = rnd.choice([misspell(old, rnd), rnd.choice(FACT_TYPES)])
    return f"fact type {rule['id']}.{alias}"


def field_name(packs: Packs, rnd: random.Random) -> str:
    rule = _rule(packs, rnd)
    sets = rule["then"].get("set") or []
    if sets and rnd.random() < 0.4:
        item = rnd.choice(sets)
        item["field"] = misspell(item["field"], rnd)
        return f"set field {rule['id']}"
    condition = rnd.choice(_conditions(list(rule["when"].values())))
    keys = _field_keys(condition)
    if not keys:
        return "field (none)"
    key = rnd.choice(keys)
    new = rnd.choice([misspell(key, rnd), rnd.choice(["duration", "severity", "customer",
                                                       "as_of", "key", "lead", "met"])])
    condition[new] = condition.pop(key)
    return f"field {rule['id']}.{key}"


def alias(packs: Packs, rnd: random.Random) -> str:
    rule = _rule(packs, rnd)
    old = rnd.choice(list(rule["when"]))
    new = misspell(old, rnd) if rnd.random() < 0.5 else rnd.choice(["w", "t", "m", "zz"])
    when = rule["when"]
    rule["when"] = {(new if k == old else k): v for k, v in when.items()}
    if rnd.random() < 0.5:  # rename the references too (or leave them dangling)
        for container, key in _refs(rule, "fact"):
            head, _, tail = container[key].partition(".")
            if head == old:
                container[key] = f"{new}.{tail}"
        if rule["then"].get("subject") == old:
            rule["then"]["subject"] = new
        return f"alias {rule['id']}.{old} renamed"
    return f"alias {rule['id']}.{old} renamed, references dangling"


def term_path(packs: Packs, rnd: random.Random) -> str:
    rule = _rule(packs, rnd)
    refs = _refs(rule, "term")
    if not refs:
        return "term (none)"
    container, key = rnd.choice(refs)
    old = container[key]
    container[key] = rnd.choice([misspell(old, rnd), old + ".lead", "notice", "level",
                                 "target_percent", "causes", "plans", "response.target",
                                 "definition", "zz.yy"])
    return f"term {rule['id']}:{old}"


def _joins(rule: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(condition, field) of the tests that compare with another alias's field."""
    found = []
    for name, condition in rule["when"].items():
        for cond in _conditions(condition):
            for key in _field_keys(cond):
                for container, ref in _refs(cond[key], "fact"):
                    if container[ref].partition(".")[0] != name:
                        found.append((cond, key))
    return found


def drop_join(packs: Packs, rnd: random.Random) -> str:
    candidates = [r for r in _rules(packs) if _joins(r)]
    rule = rnd.choice(candidates)
    joins = _joins(rule)
    for cond, key in rnd.sample(joins, rnd.randint(1, len(joins))):
        cond.pop(key, None)
    return f"drop join {rule['id']}"


def duplicate_join(packs: Packs, rnd: random.Random) -> str:
    candidates = [r for r in _rules(packs) if _joins(r)]
    rule = rnd.choice(candidates)
    cond, key = rnd.choice(_joins(rule))
    if key in cond:
        cond.setdefault("all", []).append({key: copy.deepcopy(cond[key])})
    return f"duplicate join {rule['id']}"


def combine(packs: Packs, rnd: random.Random) -> str:
    rule = rnd.choice([r for r in _rules(packs) if r["then"].get("set")])
    item = rnd.choice(rule["then"]["set"])
    item["combine"] = rnd.choice(COMBINES)
    return f"combine {rule['id']}.{item['field']}={item['combine']}"


def set_value(packs: Packs, rnd: random.Random) -> str:
    rule = rnd.choice([r for r in _rules(packs) if r["then"].get("set")])
    item = rnd.choice(rule["then"]["set"])
    aliases = list(rule["when"])
    item["value"] = rnd.choice([
        rnd.choice(ODD_VALUES), {"term": rnd.choice(["level", "excluded_up_to", "causes",
                                                     "target_percent", "notice.lead"])},
        {"fact": f"{rnd.choice(aliases)}.{rnd.choice(['duration', 'customer', 'key'])}"},
    ])
    if rnd.random() < 0.5:
        item["combine"] = rnd.choice(COMBINES)
    return f"set value {rule['id']}.{item['field']}"


def operator(packs: Packs, rnd: random.Random) -> str:
    rule = _rule(packs, rnd)
    tests = [(c, k) for c in _conditions(list(rule["when"].values())) for k in _field_keys(c)]
    if not tests:
        return "operator (none)"
    cond, key = rnd.choice(tests)
    test = cond[key]
    operand = next(iter(test.values())) if isinstance(test, dict) and len(test) == 1 \
        and next(iter(test)) in OPERATORS else test
    new = rnd.choice(OPERATORS)
    cond[key] = {new: rnd.choice([True, False]) if new == "exists" else operand}
    return f"operator {rule['id']}.{key} {new}"


def unjoined_alias(packs: Packs, rnd: random.Random) -> str:
    rule = _rule(packs, rnd)
    count = rnd.choice([1, 1, 2, 3])
    for i in range(count):
        rule["when"][f"u{i}"] = {"type": rnd.choice(FACT_TYPES)}
    return f"unjoined alias x{count} {rule['id']}"


def in_list(packs: Packs, rnd: random.Random) -> str:
    rule = _rule(packs, rnd)
    tests = [(c, k) for c in _conditions(list(rule["when"].values())) for k in _field_keys(c)]
    if not tests:
        return "in list (none)"
    cond, key = rnd.choice(tests)
    size = rnd.choice([0, 0, 1, 200, 5000])
    kind = rnd.choice(["str", "int", "mixed"])
    values = [f"v{i}" if kind == "str" or (kind == "mixed" and i % 2) else i
              for i in range(size)]
    cond[key] = {rnd.choice(["in", "not_in"]): values}
    return f"in list x{size} {rule['id']}.{key}"


def nesting(packs: Packs, rnd: random.Random) -> str:
    rule = _rule(packs, rnd)
    name = rnd.choice(list(rule["when"]))
    cond = rule["when"][name]
    keys = _field_keys(cond)
    inner: dict[str, Any] = {k: cond.pop(k) for k in keys} or {"customer": {"exists": True}}
    depth = rnd.choice([2, 10, 40, 120])
    for level in range(depth):  # two branches on the innermost levels only (2^8 at most)
        width = rnd.choice([1, 2]) if level < 8 else 1
        inner = {rnd.choice(["any", "all"]): [copy.deepcopy(inner) for _ in range(width)]}
    cond.update(inner)
    return f"nesting depth {depth} {rule['id']}.{name}"


def message(packs: Packs, rnd: random.Random) -> str:
    rule = _rule(packs, rnd)
    rule["then"]["message"] = rnd.choice([
        "unknown alias {zz.field}", "unknown field {" + next(iter(rule["when"])) + ".nope}",
        "unknown term {term:nope.deeper}", "bad {", "bad }", "{}", "{{literal}}",
        "{term:}", "{ t.severity }", "x" * 5000, "{w.key} " * 300,
    ])
    rule["then"].setdefault("subject", next(iter(rule["when"])))
    rule["then"].setdefault("outcome", "met")
    return f"message {rule['id']}"


def copies(packs: Packs, rnd: random.Random) -> str:
    name = rnd.choice(sorted(packs))
    rules = packs[name].get("rules") or []
    if not rules:
        return "copies (none)"
    rule = rnd.choice(rules)
    count = rnd.choice([1, 2, 47, 65, 130, 300])
    same_id = rnd.random() < 0.1
    rules.extend({**copy.deepcopy(rule), "id": rule["id"] if same_id else f"{rule['id']}-c{i}"}
                 for i in range(count))
    return f"copies x{count}{' same id' if same_id else ''} {rule['id']}"


def delete(packs: Packs, rnd: random.Random) -> str:
    roll = rnd.random()
    if roll < 0.15 and len(packs) > 1:
        name = rnd.choice(sorted(packs))
        del packs[name]
        return f"delete pack {name}"
    name = rnd.choice(sorted(p for p in packs if packs[p].get("rules")))
    rules = packs[name]["rules"]
    if roll < 0.25:
        rules.clear()
        return f"empty pack {name}"
    gone = rules.pop(rnd.randrange(len(rules)))
    return f"delete rule {gone['id']}"


def outcome(packs: Packs, rnd: random.Random) -> str:
    rule = _rule(packs, rnd)
    then = rule["then"]
    choice = rnd.randrange(3)
    if choice == 0:
        then["subject"] = rnd.choice(["zz", *rule["when"]])
    elif choice == 1:
        then["outcome"] = rnd.choice(["met", "breach", "x", "BREACH", "", "open"])
    else:
        then.pop(rnd.choice(sorted(then)))
    return f"then {rule['id']}"


EDITS: list[Edit] = [stage, for_clause, fact_type, field_name, field_name, alias, term_path,
                     term_path, drop_join, drop_join, duplicate_join, combine, set_value,
                     set_value, operator, operator, unjoined_alias, in_list, nesting, message,
                     copies, delete, outcome]


def load_packs() -> Packs:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(RULES.glob("*.yaml"))}


def mutate(packs: Packs, rnd: random.Random) -> tuple[Packs, list[str]]:
    """A copy of the rule packs with one to four edits; the edits' names."""
    mutant = copy.deepcopy(packs)
    names = []
    for _ in range(rnd.randint(1, 4)):
        try:
            names.append(rnd.choice(EDITS)(mutant, rnd))
        except (IndexError, KeyError, ValueError):  # nothing of the kind left to edit
            names.append("(no-op)")
    return mutant, names


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_packs(packs: Packs, directory: Path) -> None:
    directory.mkdir(parents=True)
    for name, document in packs.items():
        (directory / name).write_text(
            yaml.dump(document, Dumper=_NoAliases, sort_keys=False, width=1000))


# -- the worker: one case at a time, in its own process ----------------------------------------


def _one_line(error: BaseException) -> str:
    """'' when ``error`` is a clean refusal, else what is wrong with it."""
    from policyengine.diagnostics import EngineError, InputError

    if isinstance(error, InputError):
        lines = [d.render() for d in error.diagnostics]
        if not lines or any(not line.strip() or "\n" in line for line in lines):
            return f"InputError with a bad message: {str(error)[:300]!r}"
        return ""
    if isinstance(error, EngineError):
        text = str(error)
        if not text.strip() or "\n" in text.strip():
            return f"EngineError with a bad message: {text[:300]!r}"
        return ""
    return "".join(traceback.format_exception(error)).strip()


def evaluate_everywhere(directory: Path) -> str:
    """Validate the packs in ``directory``; when they validate, load with the shipped policy
    and evaluate the example facts on both back-ends.

    Returns the verdict (``refused``, ``refused-at-load``, ``refused-at-evaluate`` or
    ``evaluated``); raises AssertionError for a failure (the back-ends disagree, a refusal
    without a clean message) and lets any other exception through.
    """
    from policyengine.api import Engine
    from policyengine.diagnostics import EngineError, InputError
    from policyengine.tools.check import validate_paths

    problems = validate_paths([directory])
    for problem in problems:
        line = problem.render()
        assert line.strip() and "\n" not in line, f"a bad validate line: {line[:300]!r}"
    if any(p.severity != "warning" for p in problems):
        return "refused"
    results = []
    for backend in ("python", "durable"):
        try:
            engine = Engine.load(POLICY_DIR, rules=directory, backend=backend)
        except (InputError, EngineError) as error:
            bad = _one_line(error)
            assert not bad, bad
            results.append(("refused-at-load", str(error)))
            continue
        try:
            results.append(("evaluated", engine.evaluate(FACTS, as_of=AS_OF).to_json()))
        except (InputError, EngineError) as error:
            bad = _one_line(error)
            assert not bad, bad
            results.append(("refused-at-evaluate", str(error)))
    if results[0] != results[1]:
        kinds = f"python {results[0][0]}, durable {results[1][0]}"
        refusals = [f"{name} {text[:160]}" for name, (kind, text)
                    in zip(("python", "durable"), results, strict=True) if kind != "evaluated"]
        detail = f": {'; '.join(refusals)}" if refusals else ": the reports differ"
        raise AssertionError(f"the back-ends disagree ({kinds}){detail}")
    return results[0][0]


def worker() -> int:
    """Read case directories (one JSON line each) on stdin, answer one JSON line each."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import fuzz  # for leftovers()

    answer = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the engine prints goes to stderr, not into the answers
    private = Path(os.environ["TMPDIR"])
    for line in sys.stdin:
        request = json.loads(line)
        children = fuzz._children()
        started = time.perf_counter()
        verdict, problem = "failed", ""
        try:
            verdict = evaluate_everywhere(Path(request["dir"]))
        except AssertionError as error:
            problem = str(error) or "assertion failed"
        except Exception as error:  # noqa: BLE001 - every escape is a finding
            problem = _one_line(error) or f"{type(error).__name__}: {error}"
        left = fuzz.leftovers(private, children)
        if left:
            verdict, problem = "failed", "; ".join(p for p in (problem, left) if p)
        answer.write(json.dumps({"verdict": verdict, "problem": problem,
                                 "seconds": time.perf_counter() - started}) + "\n")
    return 0


# -- the parent: plans cases, feeds the worker, watches the clock ------------------------------


@dataclass
class Outcome:
    index: int
    edits: list[str]
    verdict: str  # refused | refused-at-load | refused-at-evaluate | evaluated | failed
    problem: str = ""
    seconds: float = 0.0


@dataclass
class Worker:
    private: Path  # its $TMPDIR
    log: Path
    process: subprocess.Popen[str] | None = None
    selector: selectors.DefaultSelector = field(default_factory=selectors.DefaultSelector)

    def start(self) -> None:
        env = {**os.environ, "TMPDIR": str(self.private),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                           os.environ.get("PYTHONPATH")]))}
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--worker"], env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                start_new_session=True)
        self.selector = selectors.DefaultSelector()
        assert self.process.stdout is not None
        self.selector.register(self.process.stdout, selectors.EVENT_READ)

    def ask(self, directory: Path, limit: float) -> dict[str, Any]:
        if self.process is None or self.process.poll() is not None:
            self.start()
        assert self.process is not None and self.process.stdin and self.process.stdout
        try:
            self.process.stdin.write(json.dumps({"dir": str(directory)}) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            return self._dead("the worker was gone")
        # the first case of a worker also imports the engine: a little more time
        if not self.selector.select(limit):
            self.stop()
            return {"verdict": "failed", "problem": f"no result within {limit:g} s (hang)"}
        line = self.process.stdout.readline()
        if not line:
            return self._dead("the worker died")
        return json.loads(line)

    def _dead(self, what: str) -> dict[str, Any]:
        assert self.process is not None
        code = self.process.wait()
        tail = self.log.read_text(errors="replace").strip().splitlines()[-3:]
        self.process = None
        cause = f"signal {-code}" if code < 0 else f"exit code {code}"
        return {"verdict": "failed", "problem": f"{what} ({cause}): {' | '.join(tail)}"}

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the worker's own session
        self.process.wait()
        self.process = None
        for item in self.private.iterdir():  # a killed case may leave its files
            shutil.rmtree(item) if item.is_dir() else item.unlink()


def run(cases: int, seed: int, first: int = 0, limit: float = CASE_SECONDS,
        keep: Path | None = None, progress: bool = False) -> list[Outcome]:
    packs = load_packs()
    base = Path(tempfile.mkdtemp(prefix="rulefuzz-"))
    private, workdir = base / "tmp", base / "cases"
    private.mkdir()
    workdir.mkdir()
    pool = Worker(private, base / "worker.log")
    outcomes: list[Outcome] = []
    try:
        for index in range(first, first + cases):
            rnd = random.Random(f"rulefuzz:{seed}:{index}")
            mutant, edits = mutate(packs, rnd)
            directory = workdir / f"case-{index}"
            write_packs(mutant, directory)
            answer = pool.ask(directory, limit)
            outcome = Outcome(index, edits, answer["verdict"], answer["problem"],
                              answer.get("seconds", limit))
            if outcome.verdict == "failed" and keep is not None:
                shutil.copytree(directory, keep / directory.name, dirs_exist_ok=True)
            shutil.rmtree(directory)
            outcomes.append(outcome)
            if progress and (index - first + 1) % 250 == 0:
                failed = sum(o.verdict == "failed" for o in outcomes)
                print(f"  {index - first + 1} cases, {failed} failed", file=sys.stderr,
                      flush=True)
    finally:
        if pool.process is not None:
            assert pool.process.stdin is not None
            pool.process.stdin.close()
            try:
                pool.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pool.stop()
        shutil.rmtree(base, ignore_errors=True)
    return outcomes


def summary(outcomes: list[Outcome], seed: int, seconds: float) -> str:
    return fuzzcases.summary("rule-pack", outcomes, seed, seconds, joiner="; ", kinds=True)


def main(argv: list[str] | None = None) -> int:
    parser = fuzzcases.case_parser(__doc__.split("\n\n")[0], CASE_SECONDS,
                                   "copy the rule packs of each failing case here")
    parser.add_argument("--progress", action="store_true", help="a line every 250 cases")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker()
    started = time.perf_counter()
    outcomes = run(args.cases, args.seed, args.first, args.limit, args.keep, args.progress)
    print(summary(outcomes, args.seed, time.perf_counter() - started))
    return 1 if any(o.verdict == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    raise SystemExit(main())
