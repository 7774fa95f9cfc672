"""Benchmarks: end-to-end throughput, per-stage times, peak RSS, embedded latency, zen-engine.

    python bench/run.py                  # 10k and 100k facts, both back-ends, micro-benchmarks
    python bench/run.py --full           # adds 1M facts (~2,000 customers, one year)
    python bench/run.py 1m --backends python --no-micro --no-zen
    python bench/run.py 100k --profile   # cProfile of load+evaluate+render (top functions)
    python bench/run.py --cli 100k       # also time `policyengine evaluate` as a subprocess
                                         #   (streamed report; memory of the whole process tree)

Every measurement runs in its own child process, one at a time, so peak RSS
(``resource.getrusage``) belongs to that measurement alone and no two heavy runs overlap.
Fact files are generated on first use into ``bench/out/`` (seed 7, facts/500 customers).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
POLICY = ROOT / "policies" / "spirion"
AS_OF = "2027-01-15T12:00:00-05:00"
CLI = Path(sys.executable).with_name("policyengine")
STAGE_METHODS = ("availability", "month_rows", "tickets", "obligations", "entitlements")

TARGETS = {
    "1m_s": 60.0, "1m_rss_mb": 1536.0, "100k_s": 6.0, "due_p50_us": 200.0,
    "month_p50_ms": 1.0, "validate_s": 0.5,
}


# -- helpers -------------------------------------------------------------------------------
def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def label(size: int) -> str:
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}m"
    if size % 1_000 == 0:
        return f"{size // 1_000}k"
    return str(size)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(), "cpu": model or platform.processor(),
        "python": platform.python_version(), "platform": platform.platform(),
        "loadavg": os.getloadavg(),
    }


def dataset(size: int, seed: int) -> Path:
    """The NDJSON fact file of a size, generated once (in a child process)."""
    path = OUT / f"facts-{label(size)}-s{seed}.ndjson"
    if not path.exists():
        tmp = path.with_suffix(".tmp.ndjson")
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--facts", str(size),
                        "--seed", str(seed), "--out", str(tmp)], check=True)
        tmp.replace(path)
    return path


def child(mode: str, *args: str) -> dict[str, Any]:
    """Run ``run.py --child MODE ARGS`` alone and return its RESULT json."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", mode, *args]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"child {mode} {' '.join(args)} failed ({proc.returncode})")
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit(f"child {mode} printed no result:\n{proc.stdout[-2000:]}")


def emit(result: dict[str, Any]) -> None:
    """Print a child's result; tagged with the source it measured (others edit src/ too)."""
    result.setdefault("source", _CHILD_SOURCE or source_fingerprint())
    print("RESULT " + json.dumps(result), flush=True)


_CHILD_SOURCE: dict[str, str] = {}


class GcTimer:
    """Time spent in the cyclic garbage collector, per generation (via gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            generation = info["generation"]
            self.seconds[generation] += time.perf_counter() - self._start
            self.count[generation] += 1

    def __enter__(self) -> GcTimer:
        import gc

        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        import gc

        gc.callbacks.remove(self)


def source_fingerprint() -> dict[str, str]:
    """Which code was measured: git HEAD, whether src/ is dirty, and a hash of src/**.py."""
    import hashlib

    digest = hashlib.sha256()
    for file in sorted((ROOT / "src").rglob("*.py")):
        digest.update(file.read_bytes())
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "src", "rules", "policies"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"head": head, "src_dirty": str(bool(dirty)), "src_sha256": digest.hexdigest()[:12]}


class StageTimer:
    """Wraps ``_Run`` methods, rule stages and the back-end's ``run`` with perf_counter."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] += seconds
        self.calls[name] += 1

    def timed(self, fn: Callable[..., Any], name: str | Callable[..., str]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                key = name(*args, **kwargs) if callable(name) else name
                self.add(key, time.perf_counter() - start)

        return wrapper

    def install(self, backend: Any) -> Callable[[], None]:
        """Instrument evaluate._Run and ``backend``; returns an undo function."""
        from policyengine.evaluate import evaluator as evaluate
        from policyengine.model.results import Evaluation

        saved: list[tuple[Any, str, Any]] = []

        def patch(owner: Any, attr: str, replacement: Any) -> None:
            saved.append((owner, attr, owner.__dict__.get(attr, None)))
            setattr(owner, attr, replacement)

        for method in STAGE_METHODS:
            patch(evaluate._Run, method, self.timed(getattr(evaluate._Run, method), method))
        patch(evaluate._Run, "due", self.timed(evaluate._Run.due, "tickets: due instants"))
        patch(evaluate._Run, "stage",
              self.timed(evaluate._Run.stage, lambda _self, name, *_a, **_k: f"rules {name}"))
        patch(Evaluation, "sort", self.timed(Evaluation.sort, "sort results"))
        run = backend.run
        backend.run = self.timed(run, lambda stage, *_a, **_k: f"engine {stage.name}")

        def undo() -> None:
            for owner, attr, original in reversed(saved):
                if original is None:
                    delattr(owner, attr)
                else:
                    setattr(owner, attr, original)
            del backend.run

        return undo


# -- child: one evaluation -----------------------------------------------------------------
def child_eval(path: str, backend_name: str, profile: str | None, gc_mode: str = "default",
               ) -> None:
    import gc

    from policyengine.api import Engine
    from policyengine.report.render import render_evaluation
    from policyengine.validation.facts import load_facts

    timer = StageTimer()
    start = time.perf_counter()
    engine = Engine.load(POLICY, backend=backend_name)
    compile_s = time.perf_counter() - start
    undo = timer.install(engine.backend)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    if gc_mode == "off":  # what-if: no cyclic GC during a one-shot CLI evaluation
        gc.disable()
    with GcTimer() as gc_load:
        t0 = time.perf_counter()
        facts = load_facts([path])
        t1 = time.perf_counter()
    if gc_mode == "freeze":  # what-if: park the loaded facts in the permanent generation
        gc.freeze()
    count = facts.count()
    with GcTimer() as gc_eval:
        evaluation = engine.evaluate(facts, as_of=AS_OF)
        t2 = time.perf_counter()
        del facts  # as in the CLI, the loaded facts are garbage once evaluated
        json_bytes = _write_report(evaluation, OUT / f"report-{os.getpid()}.json")
        t3 = time.perf_counter()
    peak_end_to_end = peak_rss_mb()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    table = render_evaluation(evaluation, "table")
    t4 = time.perf_counter()
    compact = json.dumps(evaluation.to_dict(), ensure_ascii=False)  # one C-encoded document
    t5 = time.perf_counter()
    undo()
    emit({
        "facts": count, "backend": engine.backend.name, "compile_s": compile_s,
        "load_s": t1 - t0, "evaluate_s": t2 - t1, "render_json_s": t3 - t2,
        "render_table_s": t4 - t3, "render_json_compact_s": t5 - t4,
        "json_compact_bytes": len(compact.encode()), "gc_mode": gc_mode,
        "end_to_end_s": t3 - t0,
        "facts_per_s": count / (t3 - t0), "peak_rss_mb": peak_end_to_end,
        "peak_rss_with_extras_mb": peak_rss_mb(),
        "stages": dict(timer.seconds), "stage_calls": dict(timer.calls),
        "rows": {name: len(getattr(evaluation, name)) for name in
                 ("availability", "credits", "tickets", "obligations", "entitlements",
                  "findings")},
        "json_bytes": json_bytes, "table_bytes": len(table.encode()),
        "gc_load_s": sum(gc_load.seconds), "gc_eval_s": sum(gc_eval.seconds),
        "gc_full_collections": gc_load.count[2] + gc_eval.count[2],
    })


def _write_report(evaluation: Any, path: Path) -> int:
    """Render the JSON report to a file the way the CLI's --output does (streamed when the
    renderer yields pieces); returns its size in bytes. The file is removed afterwards."""
    from policyengine.report.render import render_evaluation

    rendered = render_evaluation(evaluation, "json")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as stream:
            if isinstance(rendered, str):
                stream.write(rendered)
            else:
                stream.writelines(rendered)
        return path.stat().st_size
    finally:
        path.unlink(missing_ok=True)


# -- child: embedded latencies ---------------------------------------------------------------
def _tiny_month_facts() -> list[dict[str, Any]]:
    return [
        {"type": "subscription", "customer": "acme", "plan": "production", "deployment": "saas",
         "license": "subscription", "annual_fee": "120000.00", "currency": "USD",
         "term_start": "2026-01-01", "term_end": "2026-12-31", "renewed": True,
         "support": "active"},
        {"type": "downtime", "id": "d1", "start": "2026-10-05T10:00:00-04:00",
         "end": "2026-10-05T17:30:00-04:00", "cause": "vendor", "maintenance": "none",
         "customers": ["acme"]},
        {"type": "downtime", "id": "d2", "start": "2026-10-10T01:00:00-04:00",
         "end": "2026-10-10T09:00:00-04:00", "cause": "vendor", "maintenance": "scheduled"},
        {"type": "notice", "id": "n2", "kind": "scheduled_downtime", "about": "d2",
         "sent_at": "2026-10-07T01:00:00-04:00", "channel": "email"},
        {"type": "credit_request", "customer": "acme", "month": "2026-10",
         "requested_at": "2026-11-05T10:00:00-05:00"},
    ]


def _latencies(fn: Callable[[int], Any], calls: int, warmup: int = 50) -> list[float]:
    for i in range(warmup):
        fn(i)
    out: list[float] = []
    clock = time.perf_counter
    for i in range(calls):
        start = clock()
        fn(i)
        out.append(clock() - start)
    return out


def _summary(samples: list[float], unit: float) -> dict[str, float]:
    return {"p50": percentile(samples, 50) * unit, "p99": percentile(samples, 99) * unit,
            "mean": statistics.fmean(samples) * unit, "calls": len(samples)}


def child_micro(backend_name: str, calls: int) -> None:
    import datetime as dt
    import random

    from policyengine.api import Engine, facts_from_dicts

    engine = Engine.load(POLICY, backend=backend_name)
    rng = random.Random(11)
    year = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    inputs = []
    for _ in range(calls):
        opened = year + rng.uniform(0, 360 * 86400)
        inputs.append((rng.choice([1, 2, 3]), round(opened),
                       round(opened + rng.uniform(600, 2 * 86400))))

    def one_ticket(i: int) -> bool:
        severity, opened, responded = inputs[i % len(inputs)]
        due = engine.due(severity, opened)
        return responded <= dt.datetime.fromisoformat(due.response_due).timestamp()

    due_only = _latencies(lambda i: engine.due(inputs[i % calls][0], inputs[i % calls][1]),
                          calls)
    decision = _latencies(one_ticket, calls)

    sub = _tiny_month_facts()[0]
    ticket_sets = [facts_from_dicts([sub, {
        "type": "ticket", "id": f"T{i}", "customer": "acme", "severity": inputs[i][0],
        "opened_at": dt.datetime.fromtimestamp(inputs[i][1], dt.UTC).isoformat(),
        "first_response_at": dt.datetime.fromtimestamp(inputs[i][2], dt.UTC).isoformat()}])
        for i in range(min(calls, 1000))]
    ticket_eval = _latencies(
        lambda i: engine.evaluate(ticket_sets[i % len(ticket_sets)], as_of=AS_OF),
        min(calls, 2000))

    month_facts = facts_from_dicts(_tiny_month_facts())
    month = _latencies(lambda i: engine.evaluate(month_facts, as_of=AS_OF, months="2026-10"),
                       min(calls, 2000))
    check = engine.evaluate(month_facts, as_of=AS_OF, months="2026-10")
    raw = _tiny_month_facts()
    month_with_parse = _latencies(
        lambda i: engine.evaluate(raw, as_of=AS_OF, months="2026-10"), min(calls, 1000))
    emit({
        "backend": engine.backend.name,
        "due_us": _summary(due_only, 1e6),
        "due_plus_met_us": _summary(decision, 1e6),
        "one_ticket_evaluate_us": _summary(ticket_eval, 1e6),
        "customer_month_ms": _summary(month, 1e3),
        "customer_month_from_dicts_ms": _summary(month_with_parse, 1e3),
        "customer_month_row": check.to_dict()["availability"],
        "peak_rss_mb": peak_rss_mb(),
    })


# -- child: zen-engine comparison ----------------------------------------------------------
_SEVERITY_INPUTS = ("severity", "loss_of_service", "critical_function", "production_degraded",
                    "workaround_available")


def _table(name: str, inputs: tuple[str, ...], outputs: tuple[str, ...],
           rules: list[tuple[list[str], list[str]]]) -> dict[str, Any]:
    return {
        "id": name, "type": "decisionTableNode", "name": name, "position": {"x": 0, "y": 0},
        "content": {
            "hitPolicy": "first", "passThrough": True,
            "inputs": [{"id": f"{name}-in{k}", "name": f, "field": f, "type": "expression"}
                       for k, f in enumerate(inputs)],
            "outputs": [{"id": f"{name}-out{k}", "name": f, "field": f, "type": "expression"}
                        for k, f in enumerate(outputs)],
            "rules": [{"_id": f"{name}-r{j}",
                       **{f"{name}-in{k}": cell for k, cell in enumerate(when)},
                       **{f"{name}-out{k}": cell for k, cell in enumerate(then)}}
                      for j, (when, then) in enumerate(rules)],
        },
    }


def zen_decision_model() -> dict[str, Any]:
    """The per-ticket decision as a JDM graph: severity table → response table (first hit).

    Same policy as severity-1/2/3 + the response rules of rules/support.yaml: an assigned
    severity is used as given; else loss of service or of a critical function with no
    workaround → 1, production degraded → 2, else 3. response_met: responded at or before
    the due instant → true; responded later → false; unanswered and due before as-of → false;
    else null (pending).
    """
    severity = _table("severity", _SEVERITY_INPUTS, ("severity", "severity_source"), [
        (["!= null", "", "", "", ""], ["severity", '"assigned"']),
        (["", "true", "", "", "false"], ["1", '"classified"']),
        (["", "", "true", "", "false"], ["1", '"classified"']),
        (["", "", "", "true", ""], ["2", '"classified"']),
        (["", "", "", "", ""], ["3", '"classified"']),
    ])
    response = _table("response", ("first_response_at", "as_of"), ("response_met",), [
        (["<= response_due", ""], ["true"]),
        (["!= null", ""], ["false"]),
        (["", "> response_due"], ["false"]),
        (["", ""], ["null"]),
    ])
    node = {"position": {"x": 0, "y": 0}}
    return {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [{"id": "request", "type": "inputNode", "name": "request", **node},
                  severity, response,
                  {"id": "response-out", "type": "outputNode", "name": "response", **node}],
        "edges": [{"id": "e1", "type": "edge", "sourceId": "request", "targetId": "severity"},
                  {"id": "e2", "type": "edge", "sourceId": "severity", "targetId": "response"},
                  {"id": "e3", "type": "edge", "sourceId": "response",
                   "targetId": "response-out"}],
    }


def child_zen(n: int, repeats: int) -> None:
    import datetime as dt

    import zen

    sys.path.insert(0, str(ROOT / "bench"))
    from generate import Generator
    from policyengine.api import Engine, facts_from_dicts, parse_as_of
    from policyengine.evaluate.evaluator import VersionSet, _Run
    from policyengine.model.results import Evaluation
    from policyengine.validation.facts import IMPACT_FLAGS

    gen = Generator(customers=max(5, n // 400), facts=n, seed=3)
    subs = gen.subscriptions()
    names = [s["customer"] for s in subs]
    tickets = [gen.ticket(f"T-{i:07d}", gen.rng.choice(names)) for i in range(n)]
    facts = facts_from_dicts([*subs, *tickets])
    as_of = parse_as_of(AS_OF)

    ours: dict[str, Any] = {}
    rows_by_backend: dict[str, dict[str, Any]] = {}
    for backend_name in ("python", "durable"):
        engine = Engine.load(POLICY, backend=backend_name)
        best_total = best_rules = float("inf")
        for _ in range(repeats):
            timer = StageTimer()
            undo = timer.install(engine.backend)
            run = _Run(VersionSet(engine.versions), facts, as_of, engine.backend, None)
            evaluation = Evaluation()
            start = time.perf_counter()
            run.tickets(evaluation)
            total = time.perf_counter() - start
            undo()
            rules = (timer.seconds["rules ticket-severity"]
                     + timer.seconds["rules ticket-clocks"])
            best_total, best_rules = min(best_total, total), min(best_rules, rules)
        rows_by_backend[backend_name] = {row.id: row for row in evaluation.tickets}
        ours[backend_name] = {
            "tickets_stage_s": best_total, "decisions_per_s": n / best_total,
            "rules_only_s": best_rules, "rules_only_decisions_per_s": n / best_rules,
        }

    rows = rows_by_backend["python"]
    contexts = []
    for ticket in facts.tickets:
        row = rows[ticket.id]
        impact = ticket.impact or dict.fromkeys(IMPACT_FLAGS, False)
        contexts.append({
            "severity": ticket.severity, **{flag: bool(impact[flag]) for flag in IMPACT_FLAGS},
            "first_response_at": ticket.first_response_at,
            "response_due": dt.datetime.fromisoformat(row.response_due).timestamp(),
            "as_of": as_of,
        })
    model = json.dumps(zen_decision_model())
    engine_zen = zen.ZenEngine({"loader": lambda key: model})
    decision = engine_zen.create_decision(model)
    best_zen = best_batch = best_text = float("inf")
    results: list[dict[str, Any]] = []
    texts = [json.dumps(ctx) for ctx in contexts]
    for _ in range(repeats):
        start = time.perf_counter()
        results = [decision.evaluate(ctx)["result"] for ctx in contexts]
        best_zen = min(best_zen, time.perf_counter() - start)
        start = time.perf_counter()
        for text in texts:
            decision.evaluate(text)
        best_text = min(best_text, time.perf_counter() - start)
        start = time.perf_counter()
        batch = engine_zen.evaluate_batch([{"key": "ticket", "context": ctx} for ctx in contexts])
        best_batch = min(best_batch, time.perf_counter() - start)
    batch_ok = all(item.get("success") for item in batch)

    mismatches: dict[str, int] = defaultdict(int)
    examples: list[Any] = []
    for ticket, got in zip(facts.tickets, results, strict=True):
        for backend_name, by_id in rows_by_backend.items():
            row = by_id[ticket.id]
            for name in ("severity", "severity_source", "response_met"):
                if got.get(name) != getattr(row, name):
                    mismatches[f"{backend_name}.{name}"] += 1
                    if len(examples) < 5:
                        examples.append([ticket.id, name, got.get(name), getattr(row, name)])
    zen_rate = n / best_zen
    emit({
        "n": n, "ours": ours, "zen_version": _version("zen-engine"),
        "zen": {"evaluate_s": best_zen, "decisions_per_s": zen_rate,
                "batch_s": best_batch, "batch_decisions_per_s": n / best_batch,
                "batch_ok": batch_ok, "json_text_s": best_text,
                "json_text_decisions_per_s": n / best_text},
        "ratio_vs_zen": {b: v["decisions_per_s"] / zen_rate for b, v in ours.items()},
        "ratio_rules_only_vs_zen": {b: v["rules_only_decisions_per_s"] / zen_rate
                                    for b, v in ours.items()},
        "same_decisions": not mismatches, "mismatches": dict(mismatches),
        "mismatch_examples": examples,
        "decision_mix": _mix(results),
    })


def _mix(results: list[dict[str, Any]]) -> dict[str, int]:
    mix: dict[str, int] = defaultdict(int)
    for r in results:
        mix[f"sev{r.get('severity')}/{r.get('severity_source')}/{r.get('response_met')}"] += 1
    return dict(sorted(mix.items()))


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


# -- parent-side measurements ------------------------------------------------------------
def validate_cold_start(runs: int = 5) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([str(CLI), "validate", "policies/"], cwd=ROOT, check=True,
                       capture_output=True)
        times.append(time.perf_counter() - start)
    bare = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
    return {"best_s": min(times), "median_s": statistics.median(times),
            "python_startup_best_s": min(bare)}


def cli_run(path: Path, backend_name: str, workers: int = 0) -> dict[str, Any]:
    """``policyengine evaluate`` as a user runs it: wall time and the peak memory of its
    process tree (it forks workers), sampled every 250 ms by ``bench/treemem.py``."""
    import treemem  # bench/treemem.py, beside this script

    out = OUT / f"cli-{path.stem}-{backend_name}.json"
    start = time.perf_counter()
    proc = subprocess.Popen([str(CLI), "evaluate", "--policy", str(POLICY), "--facts", str(path),
                             "--as-of", AS_OF, "--engine", backend_name, "--output", str(out),
                             "--workers", str(workers)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_rss, peak_pss, processes = treemem.watch(proc)
    wall = time.perf_counter() - start
    out.unlink(missing_ok=True)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise SystemExit(f"policyengine evaluate failed: {stderr[-2000:]}")
    return {"wall_s": wall, "peak_rss_mb": peak_rss / 2**20, "peak_pss_mb": peak_pss / 2**20,
            "processes": processes, "workers": workers, "exit": proc.returncode}


# -- printing ---------------------------------------------------------------------------------
def print_eval(result: dict[str, Any], size: int) -> None:
    r = result
    gc_note = "" if r.get("gc_mode", "default") == "default" else f", gc {r['gc_mode']}"
    gc_note += f", source {r['source']['head']}/{r['source']['src_sha256']}"
    print(f"\n== {label(size)} facts ({r['facts']}), back-end {r['backend']}{gc_note} ==")
    runs = ", ".join(f"{t:.2f}" for t in r.get("end_to_end_all_s", ()))
    print(f"  end to end (load+evaluate+json): {r['end_to_end_s']:8.2f} s   "
          f"{r['facts_per_s']:>10,.0f} facts/s   peak RSS {r['peak_rss_mb']:,.0f} MB")
    if runs:
        print(f"  (runs: {runs} s; fastest shown)")
    print(f"  policy load+compile            : {r['compile_s']:8.3f} s")
    print(f"  of which in cyclic GC          : {r['gc_load_s'] + r['gc_eval_s']:8.2f} s "
          f"(load {r['gc_load_s']:.2f} s, evaluate+render {r['gc_eval_s']:.2f} s, "
          f"{r['gc_full_collections']} full collections)")
    print(f"  load+validate facts            : {r['load_s']:8.2f} s")
    print(f"  evaluate                       : {r['evaluate_s']:8.2f} s")
    stages = r["stages"]
    for method in STAGE_METHODS:
        if method in stages:
            print(f"    {method:<28} : {stages[method]:8.2f} s")
    for name in sorted(k for k in stages if k.startswith("rules ")):
        engine_s = stages.get("engine " + name[6:], 0.0)
        print(f"      {name:<26} : {stages[name]:8.2f} s  (engine {engine_s:.2f} s, "
              f"{r['stage_calls'].get('engine ' + name[6:], 0)} sessions)")
    for name in ("tickets: due instants", "sort results"):
        if name in stages:
            print(f"    {name:<28} : {stages[name]:8.2f} s")
    print(f"  render json (to a file)        : {r['render_json_s']:8.2f} s "
          f"({r['json_bytes'] / 1e6:.0f} MB)")
    print(f"  render table                   : {r['render_table_s']:8.2f} s")
    print(f"  (json.dumps of to_dict, compact : {r['render_json_compact_s']:8.2f} s)")
    print(f"  rows: {r['rows']}")


def print_profile(path: str, top: int = 25) -> list[dict[str, Any]]:
    import io
    import pstats

    rows = []
    for key in ("tottime", "cumulative"):
        stream = io.StringIO()
        stats = pstats.Stats(path, stream=stream)
        stats.sort_stats(key).print_stats(top)
        print(f"\n-- cProfile top {top} by {key} ({path}) --")
        text = stream.getvalue()
        start = text.find("   ncalls")
        print(text[start:] if start >= 0 else text)
    stats = pstats.Stats(path)
    for (file, line, func), (_cc, nc, tt, ct, _) in sorted(
            stats.stats.items(), key=lambda kv: -kv[1][2])[:top]:  # type: ignore[attr-defined]
        rows.append({"function": f"{Path(file).name}:{line}({func})", "calls": nc,
                     "tottime": tt, "cumtime": ct})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", help="fact counts, e.g. 10k 100k 1m")
    parser.add_argument("--full", action="store_true", help="add 1M facts")
    parser.add_argument("--backends", default="durable,python")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-micro", action="store_true", help="skip latency benchmarks")
    parser.add_argument("--no-zen", action="store_true", help="skip the zen-engine comparison")
    parser.add_argument("--no-eval", action="store_true", help="skip the size runs")
    parser.add_argument("--zen-n", type=int, default=20_000, help="tickets for the zen run")
    parser.add_argument("--calls", type=int, default=10_000, help="calls per latency run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--eval-repeats", type=int, default=2,
                        help="runs per size below 1M; the fastest is reported")
    parser.add_argument("--profile", action="store_true", help="cProfile each size run")
    parser.add_argument("--gc", choices=("default", "freeze", "off"), default="default",
                        help="what-ifs for the lead: freeze = gc.freeze() after loading facts; "
                        "off = gc.disable() for the whole run")
    parser.add_argument("--cli", action="store_true", help="also time `policyengine evaluate`")
    parser.add_argument("--workers", type=int, default=0,
                        help="--workers for the CLI runs (0: one per CPU)")
    parser.add_argument("--json", type=Path, help="write every result here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--facts-file", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        _CHILD_SOURCE.update(source_fingerprint())  # before importing policyengine
    if args.child == "eval":
        child_eval(args.facts_file, args.backend, args.profile_out, args.gc)
        return 0
    if args.child == "micro":
        child_micro(args.backend, args.calls)
        return 0
    if args.child == "zen":
        child_zen(args.zen_n, args.repeats)
        return 0

    sizes = [parse_size(s) for s in args.sizes] or [10_000, 100_000]
    if args.full and 1_000_000 not in sizes:
        sizes.append(1_000_000)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    report: dict[str, Any] = {"machine": machine(), "source": source_fingerprint(),
                              "as_of": AS_OF, "runs": [], "cli": []}
    m, src = report["machine"], report["source"]
    print(f"machine: {m['nproc']} cpu, {m['cpu']}, Python {m['python']}, "
          f"load average {m['loadavg'][0]:.2f}; source {src['head']} "
          f"(src dirty: {src['src_dirty']}, sha {src['src_sha256']})")

    if not args.no_eval or args.cli:
        for size in sizes:
            path = dataset(size, args.seed)
            for backend_name in backends:
                if not args.no_eval:
                    tries = 1 if size >= 1_000_000 else args.eval_repeats
                    attempts = [child("eval", "--facts-file", str(path), "--backend",
                                      backend_name, "--gc", args.gc) for _ in range(tries)]
                    result = min(attempts, key=lambda r: r["end_to_end_s"])
                    result["size"] = size
                    result["end_to_end_all_s"] = [r["end_to_end_s"] for r in attempts]
                    report["runs"].append(result)
                    print_eval(result, size)
                    if args.profile:  # a separate run: cProfile slows everything 2-3x
                        profile_path = str(OUT / f"profile-{label(size)}-{backend_name}.pstats")
                        child("eval", "--facts-file", str(path), "--backend", backend_name,
                              "--profile-out", profile_path)
                        result["profile_top"] = print_profile(profile_path)
                if args.cli:
                    for _ in range(args.eval_repeats):
                        cli = {"size": size, "backend": backend_name,
                               **cli_run(path, backend_name, args.workers)}
                        report["cli"].append(cli)
                        print(f"\n  {label(size)} facts, {backend_name}: CLI `policyengine "
                              f"evaluate --output --workers {args.workers}`: "
                              f"{cli['wall_s']:.2f} s wall, {cli['processes']} processes, "
                              f"peak tree RSS {cli['peak_rss_mb']:,.0f} MiB, "
                              f"PSS {cli['peak_pss_mb']:,.0f} MiB")

    if not args.no_micro:
        report["micro"] = []
        for backend_name in backends:
            micro = child("micro", "--backend", backend_name, "--calls", str(args.calls))
            report["micro"].append(micro)
            print(f"\n== embedded latencies, back-end {micro['backend']}, source "
                  f"{micro['source']['head']}/{micro['source']['src_sha256']} ==")
            for key, unit in (("due_us", "µs"), ("due_plus_met_us", "µs"),
                              ("one_ticket_evaluate_us", "µs"), ("customer_month_ms", "ms"),
                              ("customer_month_from_dicts_ms", "ms")):
                s = micro[key]
                print(f"  {key:<30} p50 {s['p50']:9.1f} {unit}  p99 {s['p99']:9.1f} {unit}  "
                      f"({s['calls']} calls)")
        cold = validate_cold_start()
        report["validate"] = cold
        print(f"\n== `policyengine validate policies/` cold start: best {cold['best_s']:.3f} s, "
              f"median {cold['median_s']:.3f} s (bare python {cold['python_startup_best_s']:.3f}"
              " s) ==")

    if not args.no_zen:
        z = child("zen", "--zen-n", str(args.zen_n), "--repeats", str(args.repeats))
        report["zen"] = z
        print(f"\n== per-ticket decision vs zen-engine {z['zen_version']} ({z['n']} tickets), "
              f"source {z['source']['head']}/{z['source']['src_sha256']} ==")
        print(f"  zen decision.evaluate loop : {z['zen']['decisions_per_s']:>10,.0f} decisions/s")
        print(f"  zen evaluate_batch         : {z['zen']['batch_decisions_per_s']:>10,.0f} "
              "decisions/s")
        print(f"  zen evaluate(JSON text)    : {z['zen']['json_text_decisions_per_s']:>10,.0f} "
              "decisions/s")
        for b, v in z["ours"].items():
            print(f"  ours {b:<8} tickets stage  : {v['decisions_per_s']:>10,.0f} decisions/s "
                  f"(x{z['ratio_vs_zen'][b]:.2f} zen); rules only "
                  f"{v['rules_only_decisions_per_s']:,.0f}/s "
                  f"(x{z['ratio_rules_only_vs_zen'][b]:.2f})")
        print(f"  same decisions: {z['same_decisions']} {z['mismatches'] or ''}")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
