"""What every command shares: exit codes, error handling, atomic output.

Only the CLI package prints or exits; the library returns values and raises.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any

import click

from policyengine.diagnostics import Diagnostic, InputError, PolicyEngineError
from policyengine.lifecycle import owned_prefix, sweep_stale

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2
FAIL_ON = ("breach", "credit", "missed", "severity_mismatch", "expired", "at_risk", "warning")


def write_atomically(path: str, text: str | Iterable[str]) -> None:
    """Write ``text`` (or its pieces) to ``path`` where the user meant it, never half-written.

    - A regular file (or a new one) is written to a temporary file beside it and renamed over
      it: the target is either the old file or the whole new one, and a replaced file keeps
      its mode and its owner and group.
    - A symbolic link is followed, as the shell's ``>`` does: its target is written by these
      same rules and the link itself stays a link.
    - A character device or a FIFO (``/dev/stdout``, ``/dev/null``, a named pipe) is written
      in place: there is nothing to rename over.
    - A block device, a socket or a directory is refused: ``OSError`` naming the path; so
      is a name ending in ``/`` (the shell's ``> x.json/`` fails too: it names a directory).

    The temporary file is ``.<name>.policyengine-<pid>-<host>-<random>``: removed whatever
    exception unwinds (the CLI turns SIGTERM and SIGHUP into one); one a killed run left
    in that directory is removed by the next write there
    (:func:`policyengine.lifecycle.sweep_stale`).

    Raises ``OSError`` (with ``path`` as its filename) when the file cannot be written.
    """
    if path.endswith(("/", os.sep)) and not os.path.isdir(path):
        # as the shell's `> x.json/`: the user named a directory, not a file to create
        raise OSError(errno.ENOTDIR, "a name ending in / is a directory, not a file for a "
                      "report", path)
    try:
        status: os.stat_result | None = os.stat(path)  # through any symbolic links
    except FileNotFoundError:
        status = None
    except OSError as error:
        raise OSError(error.errno, error.strerror, path) from None
    if status is not None and not stat.S_ISREG(status.st_mode):
        if stat.S_ISCHR(status.st_mode) or stat.S_ISFIFO(status.st_mode):
            _write_in_place(Path(path), text, path)  # /dev/stdout links to /proc/self/fd/1
            return
        kind = ("a directory" if stat.S_ISDIR(status.st_mode)
                else "a block device" if stat.S_ISBLK(status.st_mode) else "a socket")
        raise OSError(errno.EINVAL, f"is {kind}, not a file for a report", path)
    # the file a link names is replaced in its own directory; the link stays
    target = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        # named for this process; what killed runs left here goes first
        sweep_stale(directory, hidden=True)
        handle, temporary = tempfile.mkstemp(prefix=owned_prefix(target.name), dir=directory)
    except OSError as error:
        raise OSError(error.errno, error.strerror, path) from None
    try:
        os.chmod(temporary, _mode_for(status))  # mkstemp makes 0600; keep the usual mode
        if status is not None:
            _keep_owner(temporary, status)
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            _write_all(stream, text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror, path) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


#: Files a command may read from a directory it is given (policy versions and rule packs are
#: read from every document below a directory, policy tests from *.test.yaml files): an
#: output may replace none of them.
_READ_SUFFIXES = (".yaml", ".yml", ".json", ".ndjson", ".jsonl")


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of a regular file (through links), else None (missing, a device, a
    FIFO: writing one in place replaces nothing)."""
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    return (status.st_dev, status.st_ino) if stat.S_ISREG(status.st_mode) else None


def _read_files(path: str) -> list[str]:
    """``path`` itself, or for a directory the documents in it and its subdirectories."""
    if not os.path.isdir(path):
        return [path]
    found: list[str] = []
    for root, directories, files in os.walk(path):
        directories[:] = sorted(d for d in directories if not d.startswith("."))
        found += [os.path.join(root, name) for name in sorted(files)
                  if name.endswith(_READ_SUFFIXES)]
        if len(found) > 10_000:  # not a policy or rules directory: stop looking
            break
    return found


def refuse_clobbering(outputs: Iterable[tuple[str, str | None]],
                      inputs: Iterable[tuple[str, str | os.PathLike[str] | None]]) -> None:
    """Refuse, before anything is read or written, an output that would destroy an input.

    ``outputs``: (option, path) pairs (``("--output", "r.json")``, ``("--decision-log",
    ...)``); ``inputs``: (option, path) pairs of what the command reads (a directory stands
    for the documents in it). An output that is the same file (device and inode, so also
    through a symbolic or hard link) as an input, or as another output, or two outputs
    naming one new file, raise :class:`InputError` located at the option:
    ``--output:0:0: $: 'f.yaml' is the same file as --facts 'f.yaml'; writing there would
    replace what this command reads (choose another path)`` (for two outputs: ``one file
    cannot take both``). As ``cp a a`` refuses: a
    user never means it. Character devices and FIFOs (``/dev/null``, ``/dev/stdout``) are
    written in place and never compared.
    """
    from policyengine.diagnostics import InputError

    wanted = [(option, path) for option, path in outputs if path]
    if not wanted:
        return
    seen: dict[tuple[int, int] | str, tuple[str, str]] = {}
    written: set[str] = set()
    for option, given in inputs:
        if given is None:
            continue
        for path in _read_files(os.fspath(given)):
            key = _identity(path)
            if key is not None:
                seen.setdefault(key, (option, path))
    for option, path in wanted:
        key: tuple[int, int] | str | None = _identity(path)
        if key is None and not os.path.lexists(path):  # a new file: two outputs may name it
            key = os.path.realpath(path)
        if key is None:
            continue
        if key in seen:
            other, other_path = seen[key]
            why = ("one file cannot take both" if other in written else
                   "writing there would replace what this command reads")
            raise InputError.single(
                option, f"{path!r} is the same file as {other} {other_path!r}; {why} (choose "
                "another path)", line=0, column=0, code="usage")
        seen[key] = (option, path)
        written.add(option)


def _write_all(stream: Any, text: str | Iterable[str]) -> None:
    if isinstance(text, str):
        stream.write(text)
    else:
        stream.writelines(text)


def _write_in_place(target: Path, text: str | Iterable[str], path: str) -> None:
    """A character device or FIFO: open it for writing and write, as ``>`` would."""
    try:
        with open(target, "w", encoding="utf-8", newline="\n") as stream:
            _write_all(stream, text)
    except OSError as error:
        raise OSError(error.errno, error.strerror, path) from None


def _keep_owner(temporary: str, status: os.stat_result) -> None:
    """Give the new file the replaced file's owner and group (only root may give it away)."""
    mine = os.stat(temporary)
    if (mine.st_uid, mine.st_gid) != (status.st_uid, status.st_gid):
        os.chown(temporary, status.st_uid, status.st_gid)


def _mode_for(status: os.stat_result | None) -> int:
    """The replaced file's mode, or what a plain ``open(..., "w")`` would give."""
    if status is not None:
        return status.st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def emit(text: str | Iterable[str], output: str | None) -> None:
    """Send a report to ``--output`` (atomically) or to stdout, piece by piece."""
    if output:
        write_atomically(output, text)
    elif isinstance(text, str):
        click.echo(text, nl=False)
    else:
        for piece in text:
            sys.stdout.write(piece)
        sys.stdout.flush()


class Terminated(KeyboardInterrupt):
    """SIGTERM (a service manager, ``timeout``, ``kill``), SIGHUP (the terminal went
    away) or any other stop signal (:func:`stop_signals`): unwound like Ctrl-C, so
    workers are stopped and every ``--output`` temporary file and shard file is removed on
    the way out. ``signum``: the signal's number."""

    def __init__(self, signum: int = 15) -> None:
        super().__init__(signum)
        self.signum = signum


#: Signals whose default action ends the process but which are never a clean-up's business:
#: faults (a handler cannot unwind a real one; it would run again at once), ``abort()``,
#: debuggers' traps. What they leave is swept by the next run, as after SIGKILL.
_NOT_STOPS = ("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT", "SIGIOT", "SIGTRAP",
              "SIGSYS", "SIGEMT")
#: Default actions that do not end the process: ignore, stop, continue.
_NOT_ENDING = ("SIGCHLD", "SIGCLD", "SIGCONT", "SIGURG", "SIGWINCH", "SIGTSTP", "SIGTTIN",
               "SIGTTOU", "SIGINFO", "SIGKILL", "SIGSTOP")
_SIGNAL_WORDS = {"SIGINT": "interrupted", "SIGTERM": "terminated", "SIGHUP": "hung up"}


def stop_signals() -> list[int]:
    """Every catchable signal whose default action ends the process, faults excepted.

    On Linux: SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM,
    SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGIO, SIGPWR and the real-time
    signals. The CLI unwinds on each of them (:func:`_stop_signals_unwind`) unless it
    started with another disposition for it. Python itself ignores two: SIGPIPE (a closed
    reader is ``BrokenPipeError``, exit 141) and SIGXFSZ (a write over the file size limit
    is an ``OSError``, "File too large", exit 2).
    """
    import signal

    skip = {getattr(signal, name) for name in _NOT_STOPS + _NOT_ENDING if hasattr(signal, name)}
    return sorted(int(number) for number in signal.valid_signals() if number not in skip)


def signal_name(signum: int) -> str:
    """``SIGTERM``, ``SIGRTMIN+3``: the conventional name of a signal number."""
    import signal

    with contextlib.suppress(ValueError):
        return signal.Signals(signum).name
    rtmin = getattr(signal, "SIGRTMIN", None)
    return f"SIGRTMIN+{signum - int(rtmin)}" if rtmin is not None else f"signal {signum}"


def stop_line(signum: int) -> str:
    """The one line printed when a stop signal ended a command (without the newline)."""
    word = _SIGNAL_WORDS.get(signal_name(signum), f"stopped by {signal_name(signum)}")
    return f"policyengine: {word}; nothing was written"


def _stop(signum: int, frame: Any) -> None:
    """The first stop signal unwinds the command; later ones are ignored meanwhile, so
    that the clean-up they would interrupt runs to its end (SIGKILL still ends it)."""
    import signal

    for number in _INSTALLED:
        with contextlib.suppress(ValueError, OSError):
            signal.signal(number, signal.SIG_IGN)
    if hasattr(signal, "SIGALRM"):  # the clean-up gets a grace period, never forever
        signal.signal(signal.SIGALRM, lambda _alarm, _frame: _give_up(signum))
        signal.alarm(STOP_GRACE_SECONDS)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


_INSTALLED: list[int] = []  # the signals _stop is installed for, while a command runs


#: Seconds the clean-up after a stop signal may take before the process ends anyway.
STOP_GRACE_SECONDS = 10


def _give_up(signum: int) -> None:
    """The clean-up after a stop signal did not finish in time (a worker that never started
    may hold the pool): kill this process's children and end now. What is left in $TMPDIR
    or next to --output is removed by the next run (policyengine.lifecycle.sweep_stale);
    the output itself was never replaced."""
    import signal

    me = os.getpid()
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = entry.read_text()
            if int(text[text.rindex(")") + 2:].split()[1]) == me:
                os.kill(int(entry.parent.name), signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.write(2, f"{stop_line(signum)}\n".encode())
    os._exit(128 + signum)


@contextlib.contextmanager
def _stop_signals_unwind() -> Iterator[None]:
    """Every stop signal (:func:`stop_signals`) raises in the main thread while the command runs.

    Only a signal at its default action (for SIGINT, Python's ``KeyboardInterrupt``) is
    taken over: one ignored when the command started (``nohup`` ignores SIGHUP, a shell
    ignores SIGINT for a background job, Python ignores SIGPIPE) stays ignored, and a
    caller's own handler (a test harness's SIGALRM time limit) stays theirs. The previous
    handlers are put back after.
    """
    import signal

    previous: dict[int, Any] = {}
    for number in stop_signals():
        try:
            current = signal.getsignal(number)
            if current is not signal.SIG_DFL and current is not signal.default_int_handler:
                continue
            signal.signal(number, _stop)
        except (ValueError, OSError):  # not the main thread: nothing is installed
            continue
        previous[number] = current
    _INSTALLED[:] = list(previous)
    try:
        yield
    finally:
        if hasattr(signal, "SIGALRM"):
            signal.alarm(0)  # the clean-up finished within its grace period
        _INSTALLED.clear()
        for number, handler in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(number, handler if handler is not None else signal.SIG_DFL)


def handles_errors(command: Callable[..., int | None]) -> Callable[..., None]:
    """Turn library errors into located one-line messages and exit code 2; a stop signal
    into a removal of everything temporary and exit code 128 + its number."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        with _stop_signals_unwind():
            try:
                code = _run(command, args, kwargs)
            except KeyboardInterrupt as stop:  # also raised while a message is printed
                code = _stopped(stop)
        sys.exit(code)

    return wrapper


def _refuse_empty_paths(kwargs: Any) -> None:
    """An empty path (``--rules ""``) is the current directory to the OS: every ``*.yaml``
    there was read as a rule pack. Refused for every path option and argument of every
    command, before anything is read: ``--rules:0:0: $: empty path``."""
    context = click.get_current_context(silent=True)
    if context is None:
        return
    problems = []
    for param in context.command.params:
        if not isinstance(param.type, click.Path):
            continue
        value = kwargs.get(param.name)
        values = value if isinstance(value, list | tuple) else (value,)
        if any(isinstance(v, str) and v == "" for v in values):
            name = param.opts[0] if param.opts and param.opts[0].startswith("-") \
                else (param.human_readable_name or str(param.name)).upper()
            problems.append(Diagnostic(file=name, message="empty path: name a file or "
                                       "directory (use . for the current directory)",
                                       code="usage"))
    if problems:
        raise InputError(problems)


def _run(command: Callable[..., int | None], args: Any, kwargs: Any) -> int:
    try:
        _refuse_empty_paths(kwargs)
        code = command(*args, **kwargs) or EXIT_OK
    except InputError as error:
        from policyengine.report.render import render_diagnostics

        click.echo(render_diagnostics(error.diagnostics), nl=False, err=True)
        code = EXIT_INPUT
    except PolicyEngineError as error:
        click.echo(f"policyengine: {error}", err=True)
        code = EXIT_INPUT
    except BrokenPipeError:
        # the reader went away (`... | head`): stop quietly, as `cat` does
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 128 + 13  # SIGPIPE
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        click.echo(f"policyengine: {where}{error.strerror or error}", err=True)
        code = EXIT_INPUT
    except RecursionError:
        click.echo("policyengine: input nested too deeply", err=True)
        code = EXIT_INPUT
    return code


def _stopped(stop: KeyboardInterrupt) -> int:
    """The line and exit code for a stop signal (Ctrl-C is a KeyboardInterrupt)."""
    import signal

    signum = stop.signum if isinstance(stop, Terminated) else int(signal.SIGINT)
    click.echo(stop_line(signum), err=True)
    return 128 + signum  # 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP, 138 for SIGUSR1
