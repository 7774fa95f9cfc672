"""Headless Chromium for the HTML report's screenshot test (and to refresh docs/report.png).

``python -m tests.browser REPORT.html OUT.png`` takes one screenshot. Chromium comes from
the distribution (Debian package ``chromium``; ``.ci/run`` installs it when missing).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# the machine's notes: root needs --no-sandbox; nothing in the background may reach a network
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0")


def chromium() -> str | None:
    """The Chromium binary on PATH, or None."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Shot:
    png: Path
    console: list[str]  # every console message the page logged (CSP violations included)
    stderr: str


def screenshot(page: Path, png: Path, width: int = 1200, height: int = 1600) -> Shot:
    """Open ``page`` (a local file) in a fresh profile and save a screenshot to ``png``."""
    binary = chromium()
    if binary is None:
        raise FileNotFoundError("chromium is not installed")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        done = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
             f"--screenshot={png}", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 or not png.exists():
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return Shot(png, console, done.stderr)


if __name__ == "__main__":
    shot = screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
    print("\n".join(shot.console) or "no console messages")
