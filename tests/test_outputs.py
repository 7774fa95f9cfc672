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
