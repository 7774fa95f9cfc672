"""Run the CLI so that a stop signal arrives at the instant of its first fork of a worker.

Usage: ``python signal_at_fork.py SIGNAL before|after policyengine-arguments...``. As the
first fork runs policyengine's at-fork hook (``before``: ``lifecycle._before_fork``;
``after``: ``lifecycle._after_fork`` in the parent), SIGNAL is sent to the process while the
forking (main) thread blocks it, so another thread takes it (here a sleeping thread, in real
runs tqdm's monitor thread): its C handler marks the Python handler pending, and CPython
runs that in the main thread at the next bytecode boundary, inside the hook. On a loaded
machine this happened by chance (tests/test_hostile.py); here it happens every time.
"""
import ctypes
import os
import signal
import sys
import threading
import time
from typing import Any

libc = ctypes.CDLL(None)
signum = getattr(signal, sys.argv[1])
hook = {"before": "_before_fork", "after": "_after_fork"}[sys.argv[2]]
other = threading.Thread(target=lambda: time.sleep(3600), daemon=True, name="other")
other.start()  # a thread that does not block signals, as tqdm's monitor thread
parent = os.getpid()
r, w = os.pipe()
os.set_blocking(w, False)
signal.set_wakeup_fd(w)


def profile(frame: Any, event: str, arg: Any) -> None:
    if event == "call" and frame.f_code.co_name == hook:
        sys.setprofile(None)
        if os.getpid() == parent:
            # the C library's kill, not os.kill (which runs the Python handler itself):
            # blocked in this thread, the signal is taken by the other one; once its C
            # handler has written to the wakeup fd the Python handler is pending, and runs
            # in this thread at once: as the hook starts
            libc.kill(parent, int(signum))
            libc.read(r, ctypes.create_string_buffer(1), 1)


import policyengine.lifecycle  # noqa: E402, F401  registers its hooks first

os.register_at_fork(before=lambda: sys.setprofile(profile))  # runs before policyengine's
sys.argv = ["policyengine"] + sys.argv[3:]
from policyengine.cli.main import main  # noqa: E402

main()
