"""What every command shares: exit codes, error handling, atomic output.

Only the CLI package prints or exits; the library returns values and raises.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from policyengine.diagnostics import InputError, PolicyEngineError

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2
FAIL_ON = ("breach", "credit", "missed", "severity_mismatch", "expired", "warning")


def write_atomically(path: str, text: str | Iterable[str]) -> None:
    """Write ``text`` (or its pieces) to ``path`` via a temporary file and rename.

    The target is never half-written: it is either the old file or the whole new one.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    except OSError as error:
        raise OSError(error.errno, error.strerror, path) from None
    try:
        os.chmod(temporary, _mode_for(target))  # mkstemp makes 0600; keep the usual mode
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            if isinstance(text, str):
                stream.write(text)
            else:
                stream.writelines(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror, path) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode_for(target: Path) -> int:
    """The existing file's mode, or what a plain ``open(..., "w")`` would give."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
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


def handles_errors(command: Callable[..., int | None]) -> Callable[..., None]:
    """Turn library errors into located one-line messages and exit code 2."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
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
        except KeyboardInterrupt:
            click.echo("policyengine: interrupted; nothing was written", err=True)
            code = 130
        sys.exit(code)

    return wrapper
