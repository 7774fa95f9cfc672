"""``--output`` goes where the user meant, and only there (docs/hardening.md, "Outputs").

A regular file is replaced atomically and keeps its mode, owner and group; a symbolic link is
followed and stays a link; a character device or a FIFO is written in place; a block device,
a socket or a directory is refused with exit 2 and one line naming the path.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .conftest import ROOT

ARGS = ["evaluate", "--policy", str(ROOT / "policies/spirion"),
        "--facts", str(ROOT / "examples/october-2026.yaml"),
        "--as-of", "2026-11-27T12:00:00-05:00", "--format", "table"]


def _run(output: str | Path, *, fmt: str = "table") -> subprocess.CompletedProcess[str]:
    args = [a if a != "table" else fmt for a in ARGS]
    return subprocess.run([sys.executable, "-m", "policyengine", *args, "--output", str(output)],
                          capture_output=True, text=True, timeout=120)


def _expected_table() -> str:
    done = subprocess.run([sys.executable, "-m", "policyengine", *ARGS],
                          capture_output=True, text=True, check=True, timeout=120)
    return done.stdout


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_symlink_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "reports" / "2026-10.txt"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "latest.txt"
    link.symlink_to(real)
    done = _run(link)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == _expected_table()
    assert _leftovers(tmp_path) == [] and _leftovers(real.parent) == []


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    real = tmp_path / "new-report.txt"
    link = tmp_path / "latest.txt"
    link.symlink_to(real)
    done = _run(link)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and real.read_text() == _expected_table()


def test_dev_null_stays_a_device(tmp_path: Path) -> None:
    done = _run("/dev/null")
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_dev_stdout_is_written_in_place() -> None:
    # /dev/stdout is a symlink to the process's stdout (here a pipe): the report arrives on it
    done = _run("/dev/stdout", fmt="json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["credits"][0]["amount"] == "10000.00"  # acme: 120000/12


def test_fifo_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    done = _run(fifo)
    reader.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert received == [_expected_table()]
    assert _leftovers(tmp_path) == []


def test_directory_is_refused(tmp_path: Path) -> None:
    done = _run(tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"policyengine: {tmp_path}: is a directory, not a file for a report\n"


def test_socket_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        done = _run(path)
    assert done.returncode == 2
    assert done.stderr == f"policyengine: {path}: is a socket, not a file for a report\n"
    assert stat.S_ISSOCK(os.stat(path).st_mode)


def test_block_device_is_refused_and_kept(tmp_path: Path) -> None:
    device = tmp_path / "disk"
    try:
        os.mknod(device, 0o600 | stat.S_IFBLK, os.makedev(7, 200))
    except (PermissionError, OSError) as error:
        pytest.skip(f"cannot make a block device node here: {error}")
    done = _run(device)
    assert done.returncode == 2
    assert done.stderr == f"policyengine: {device}: is a block device, not a file for a report\n"
    assert stat.S_ISBLK(os.stat(device).st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a file owned by another user")
def test_replaced_file_keeps_owner_group_and_mode(tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    report.write_text("old\n")
    os.chown(report, 12345, 23456)
    os.chmod(report, 0o640)
    done = _run(report)
    assert done.returncode == 0, done.stderr
    status = os.stat(report)
    assert (status.st_uid, status.st_gid, stat.S_IMODE(status.st_mode)) == (12345, 23456, 0o640)
    assert report.read_text() == _expected_table()


# -- nothing a fact says becomes markup ------------------------------------------------------
HOSTILE = "<img src=x onerror=alert(1)>[pay](javascript:alert(2))*x*|`y`&amp;"


def _hostile_facts(tmp_path: Path) -> Path:
    """The shipped example with acme renamed to a string full of markup and controls."""
    text = (ROOT / "examples/october-2026.yaml").read_text(encoding="utf-8")
    path = tmp_path / "hostile.json"
    import yaml

    data = yaml.safe_load(text)
    for fact in data["facts"]:
        for key in ("customer",):
            if fact.get(key) == "acme":
                fact[key] = HOSTILE
        if fact.get("customers"):
            fact["customers"] = [HOSTILE if c == "acme" else c for c in fact["customers"]]
    path.write_text(json.dumps(data, default=str), encoding="utf-8")
    return path


def _evaluate(facts: Path, fmt: str, *extra: str) -> str:
    args = [a if a != "table" else fmt for a in ARGS]
    args[args.index(str(ROOT / "examples/october-2026.yaml"))] = str(facts)
    done = subprocess.run([sys.executable, "-m", "policyengine", *args, *extra],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_markdown_escapes_markup_and_html_from_facts(tmp_path: Path) -> None:
    out = _evaluate(_hostile_facts(tmp_path), "markdown", "--explain")
    escaped = ("&lt;img src=x onerror=alert(1)&gt;\\[pay\\](javascript:alert(2))\\*x\\*\\|"
               "\\`y\\`&amp;amp;")
    assert "<img" not in out and "[pay](" not in out
    # the credit row: 120000.00 / 12 = 10000.00, renewed, requested 2026-11-05 -> payable
    assert f"| {escaped} | 2026-10 | 10000.00 | USD |" in out
    assert f"- rules.month-missed [availability] {escaped}/2026-10" not in out  # rows only
    assert sum(line.count(escaped) for line in out.splitlines() if line.startswith("- ")) > 0


def test_text_outputs_show_control_characters_as_escapes() -> None:
    # the fact loader already refuses control characters; the renderers do not rely on it
    from policyengine.report.render import markdown_text, plain_text

    assert plain_text("acme\x1b[2J\r\n\x9b") == "acme\\x1b[2J\\r\\n\\x9b"
    assert markdown_text("a\x1b_b") == "a\\\\x1b\\_b"


# U+202E (right-to-left override) reorders the rest of a line; U+2066 starts an isolate;
# U+200F is a right-to-left mark; U+2028 separates lines. Facts may hold them (a customer
# name may be written right to left): each text output shows them as escapes.
BIDI = "acme\u202e moc.evil\u2066x\u2069\u200f\u2028end"
BIDI_SHOWN = "acme\\u202e moc.evil\\u2066x\\u2069\\u200f\\u2028end"


@pytest.mark.parametrize("fmt", ["table", "markdown", "html"])
def test_bidi_and_separator_characters_from_facts_are_visible_escapes(tmp_path: Path,
                                                                      fmt: str) -> None:
    """attack16 F6: passed raw into table, markdown and html ("Trojan source"); U+009B
    was already refused. One rule for every text output (docs/hardening.md)."""
    import yaml

    data = yaml.safe_load((ROOT / "examples/october-2026.yaml").read_text(encoding="utf-8"))
    for fact in data["facts"]:
        if fact.get("customer") == "acme":
            fact["customer"] = BIDI
        if fact.get("customers"):
            fact["customers"] = [BIDI if c == "acme" else c for c in fact["customers"]]
    facts = tmp_path / "bidi.json"
    facts.write_text(json.dumps(data, default=str), encoding="utf-8")
    out = _evaluate(facts, fmt)
    assert not any(c in out for c in "\u202e\u2066\u2069\u200f\u2028\x85")
    shown = BIDI_SHOWN if fmt != "markdown" else BIDI_SHOWN.replace("\\", "\\\\")
    assert shown in out


def test_policy_test_reports_show_control_and_bidi_characters_as_escapes(
        tmp_path: Path) -> None:
    """A case name with U+0085 (NEL, a C1 control), U+2028 and U+202E: printed raw by
    `policyengine test` (text and JUnit) before."""
    import shutil

    shutil.copy(ROOT / "policies/spirion/1.0.0.yaml", tmp_path / "1.0.0.yaml")
    (tmp_path / "c.test.yaml").write_text(
        'apiVersion: policyengine/v1\nkind: PolicyTest\nas_of: "2026-11-27T12:00:00-05:00"\n'
        'facts:\n  - {type: subscription, customer: acme, plan: production, deployment: '
        'saas, license: subscription, annual_fee: "1000.00", currency: USD, term_start: '
        '"2026-01-01", term_end: "2026-12-31", renewed: true, support: active}\n'
        'cases:\n  - name: "a \\u0085 \\u2028 b\\u202e c"\n'
        "    expect: {availability: [{customer: x}]}\n", encoding="utf-8")
    for fmt in ("text", "junit"):
        done = _pe("test", "c.test.yaml", "--format", fmt, cwd=tmp_path)
        assert done.returncode == 1, done.stderr
        assert not any(c in done.stdout for c in "\x85\u2028\u202e")
        assert "a \\x85 \\u2028 b\\u202e c" in done.stdout


def test_text_outputs_show_every_control_and_bidi_character_as_an_escape() -> None:
    from policyengine.diagnostics import Diagnostic
    from policyengine.report.render import plain_text

    assert plain_text("\u061c\u200e\u202a\u2029\x7f\x85") == (
        "\\u061c\\u200e\\u202a\\u2029\\x7f\\x85")
    assert plain_text("שלום") == "שלום"  # right-to-left letters themselves are text
    line = Diagnostic(file="f.json", message="fact 'a\u202eb': bad").render()
    assert line == "f.json:0:0: $: fact 'a\\u202eb': bad"


# -- an output never replaces an input, nor another output (attack16 F1, F2, F2b) ------------
def _pe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policyengine", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _clobber_setup(tmp_path: Path) -> dict[str, bytes]:
    """facts.yaml, pol/ (the shipped versions and tests), rules/, and a saved report."""
    import shutil

    shutil.copy(ROOT / "examples/october-2026.yaml", tmp_path / "facts.yaml")
    shutil.copytree(ROOT / "policies/spirion", tmp_path / "pol")
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    done = _pe("evaluate", "--policy", "pol", "--facts", "facts.yaml", "--as-of",
               "2026-11-20T00:00:00Z", "--output", "rep.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    os.link(tmp_path / "facts.yaml", tmp_path / "hard-link.yaml")
    os.link(tmp_path / "rep.json", tmp_path / "pol" / "old-report.json")
    (tmp_path / "soft-link.yaml").symlink_to("pol/1.0.0.yaml")
    return {str(p.relative_to(tmp_path)): p.read_bytes()
            for p in sorted(tmp_path.rglob("*")) if p.is_file()}


EVALUATE = ["evaluate", "--policy", "pol", "--facts", "facts.yaml", "--as-of",
            "2026-11-20T00:00:00Z", "--rules", "rules"]
CLOBBERS = {
    # a policy directory reads every document in it: a report written there would be read
    # back as a policy version at the next run
    "output-is-a-json-file-in-the-policy-directory": (
        [*EVALUATE, "--output", "pol/old-report.json"],
        "--output:0:0: $: 'pol/old-report.json' is the same file as --policy "
        "'pol/old-report.json'; writing there would replace what this command reads "
        "(choose another path)"),
    # the report written, then the decision line appended to it: corrupt JSON, exit 0
    "output-is-the-decision-log": (
        [*EVALUATE, "--output", "same.json", "--decision-log", "same.json"],
        "--decision-log:0:0: $: 'same.json' is the same file as --output 'same.json'; "
        "one file cannot take both (choose another path)"),
    "decision-log-is-the-facts": (
        [*EVALUATE, "--decision-log", "facts.yaml"],
        "--decision-log:0:0: $: 'facts.yaml' is the same file as --facts 'facts.yaml'; "
        "writing there would replace what this command reads (choose another path)"),
    "output-is-a-hard-link-to-the-facts": (
        [*EVALUATE, "--output", "hard-link.yaml"],
        "--output:0:0: $: 'hard-link.yaml' is the same file as --facts 'facts.yaml'; "
        "writing there would replace what this command reads (choose another path)"),
    "output-is-a-policy-version-in-the-directory": (
        [*EVALUATE, "--output", "pol/1.0.0.yaml"],
        "--output:0:0: $: 'pol/1.0.0.yaml' is the same file as --policy 'pol/1.0.0.yaml'; "
        "writing there would replace what this command reads (choose another path)"),
    "output-is-a-symlink-to-a-policy-version": (
        [*EVALUATE, "--output", "soft-link.yaml"],
        "--output:0:0: $: 'soft-link.yaml' is the same file as --policy 'pol/1.0.0.yaml'; "
        "writing there would replace what this command reads (choose another path)"),
    "output-is-a-rule-pack": (
        [*EVALUATE, "--output", "rules/availability.yaml"],
        "--output:0:0: $: 'rules/availability.yaml' is the same file as --rules "
        "'rules/availability.yaml'; writing there would replace what this command reads "
        "(choose another path)"),
    "report-over-its-own-saved-report": (
        ["report", "rep.json", "--output", "rep.json"],
        "--output:0:0: $: 'rep.json' is the same file as REPORT.json 'rep.json'; writing "
        "there would replace what this command reads (choose another path)"),
    "show-over-the-policy": (
        ["show", "pol", "--output", "pol/1.0.0.yaml"],
        "--output:0:0: $: 'pol/1.0.0.yaml' is the same file as POLICY 'pol/1.0.0.yaml'; "
        "writing there would replace what this command reads (choose another path)"),
    "diff-over-the-new-version": (
        ["diff", "pol/1.0.0.yaml", "soft-link.yaml", "--output", "pol/1.0.0.yaml"],
        "--output:0:0: $: 'pol/1.0.0.yaml' is the same file as OLD 'pol/1.0.0.yaml'; "
        "writing there would replace what this command reads (choose another path)"),
    "test-over-a-test-file": (
        ["test", "pol", "--output", "pol/spirion.test.yaml"],
        "--output:0:0: $: 'pol/spirion.test.yaml' is the same file as PATHS "
        "'pol/spirion.test.yaml'; writing there would replace what this command reads "
        "(choose another path)"),
}


@pytest.mark.parametrize("case", sorted(CLOBBERS))
def test_an_output_naming_an_input_or_another_output_is_refused(tmp_path: Path,
                                                                case: str) -> None:
    """Before: each of these exited 0, having destroyed the input (or written a report
    followed by a JSON line). Now: one line at the option, exit 2, nothing written."""
    before = _clobber_setup(tmp_path)
    args, line = CLOBBERS[case]
    done = _pe(*args, cwd=tmp_path)
    assert (done.returncode, done.stderr.splitlines()) == (2, [line])
    after = {str(p.relative_to(tmp_path)): p.read_bytes()
             for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    assert after == before  # nothing replaced, appended or created


def test_devices_are_written_in_place_and_never_compared(tmp_path: Path) -> None:
    """/dev/null as both --output and --decision-log replaces nothing: allowed."""
    _clobber_setup(tmp_path)
    done = _pe(*EVALUATE, "--output", "/dev/null", "--decision-log", "/dev/null",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("option", "value", "message"), [
    # wrote a regular file x.json, exit 0; the shell's `> x.json/` fails
    ("--output", "x.json/", "x.json/: a name ending in / is a directory, not a file for a "
     "report"),
    ("--decision-log", "log/", "log/: a name ending in / is a directory, not a decision log"),
    # said "cannot be written (permission denied)"
    ("--decision-log", "nodir/log", "nodir/log: No such file or directory"),
    ("--decision-log", "facts.yaml/log", "facts.yaml/log: Not a directory"),
], ids=["output-with-trailing-slash", "decision-log-with-trailing-slash",
        "decision-log-in-a-missing-directory", "decision-log-under-a-file"])
def test_an_output_path_that_names_no_file_says_why(tmp_path: Path, option: str, value: str,
                                                    message: str) -> None:
    _clobber_setup(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    done = _pe(*EVALUATE, option, value, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (2, f"policyengine: {message}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
