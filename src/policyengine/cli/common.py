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
from collections.abc import Callable, Iterable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from policyengine.diagnostics import InputError, PolicyEngineError

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
    - A block device, a socket or a directory is refused: ``OSError`` naming the path.

    Raises ``OSError`` (with ``path`` as its filename) when the file cannot be written.
    """
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
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
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
    """SIGTERM (a service manager, ``timeout``, ``kill``): unwound like Ctrl-C, so every
    ``--output`` temporary file and shard file is removed on the way out."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


def handles_errors(command: Callable[..., int | None]) -> Callable[..., None]:
    """Turn library errors into located one-line messages and exit code 2."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        import signal

        with contextlib.suppress(ValueError):  # only the main thread may set a handler
            signal.signal(signal.SIGTERM, _terminate)
        try:
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
        except Terminated:
            click.echo("policyengine: terminated; nothing was written", err=True)
            code = 128 + 15  # SIGTERM
        except KeyboardInterrupt:
            click.echo("policyengine: interrupted; nothing was written", err=True)
            code = 130
        sys.exit(code)

    return wrapper
