"""A command run with stderr on a pseudo-terminal (test_progress.py, test_audit.py)."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios


def _on_a_terminal(args: list[str]) -> tuple[bytes, str]:
    """Run with stderr on a 100-column pseudo-terminal: (stdout, what the terminal got)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        shown = subprocess.run(args, stdout=subprocess.PIPE, stderr=slave, check=True)
        os.close(slave)
        terminal = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(master)
    return shown.stdout, terminal.decode()
