"""Paths that documents name, and files found in directories, stay in their place.

A policy test names a policy and fact files; a policy or rules directory is walked for
documents. None of them may reach a file elsewhere on the machine (the error message for a
foreign file would quote it):

- a path named **inside a document** is relative, and resolves (symbolic links followed)
  under the document's root: the repository that holds the document (the nearest
  directory above it with a ``.git``, ``.hg`` or ``pyproject.toml`` entry), or the
  document's own directory when it is in no repository. No absolute path, no ``..`` out
  of the root, no link out of it;
- a file found by **walking a directory** given on the command line resolves under that
  directory (a symbolic link to a file elsewhere is refused, not followed) and is a regular
  file (a FIFO, socket, device or broken link with a document's name is refused: opening a
  FIFO blocks).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from policyengine.diagnostics import Diagnostic

ROOT_MARKERS = (".git", ".hg", "pyproject.toml")  # what makes a directory a repository


def document_root(document: Path) -> Path:
    """The root paths named in ``document`` must stay under (resolved, absolute)."""
    start = document.resolve().parent
    for directory in (start, *start.parents):
        if any((directory / marker).exists() for marker in ROOT_MARKERS):
            return directory
    return start


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path``, with every symbolic link resolved, is ``root`` or below it."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def named_path(document: Path, value: str) -> tuple[Path, str]:
    """The path a document names (relative to the document), or why it is refused.

    Returns ``(path, "")`` or ``(path, reason)``; the reason is one sentence without the
    target's content, e.g. ``absolute paths are not allowed``.
    """
    if os.path.isabs(value) or value.startswith("~"):
        return Path(value), ("an absolute path is not allowed; name a path relative to "
                             "this file")
    path = document.parent / value
    root = document_root(document)
    if not is_inside(path, root):
        how = "a symbolic link leads" if _lexically_inside(path, root) else "it leads"
        return path, (f"{how} out of {root} (a path a document names stays inside the "
                      "document's repository, or its directory when it is in none)")
    return path, ""


def _lexically_inside(path: Path, root: Path) -> bool:
    normal = Path(os.path.normpath(path.absolute()))
    try:
        normal.relative_to(root)
    except ValueError:
        return False
    return True


def walked_outside(path: Path, root: Path) -> str:
    """Why a file found below ``root`` is refused (a link out of it), or ``""``."""
    if is_inside(path, root):
        return ""
    return f"a symbolic link to {path.resolve()}, outside {root}; links out of the " \
           "directory are not followed"


def not_regular(path: Path) -> str:
    """Why ``path`` (symbolic links followed) is no regular file to read, or ``""``:
    ``a FIFO``, ``a socket``, ``a character device``, ``a block device``, ``a directory``,
    ``a broken symbolic link``. Opening a FIFO blocks until a writer comes: a FIFO in a
    --rules directory hung evaluate for ever."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "a broken symbolic link" if path.is_symlink() else "gone"
    except OSError as error:
        return f"unreadable ({error.strerror or error})"
    if stat.S_ISREG(mode):
        return ""
    for test, what in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a directory")):
        if test(mode):
            return what
    return "a special file"


def walked(root: Path, pattern: str = "*", recursive: bool = True) -> list[Path]:
    """Every entry below ``root`` matching ``pattern`` that is not a directory (regular or
    not: :func:`links_out` refuses the others), sorted."""
    found = root.rglob(pattern) if recursive else root.glob(pattern)
    return sorted(p for p in found if not p.is_dir())


def links_out(files: Iterable[Path], root: Path) -> tuple[list[Path], list[Diagnostic]]:
    """``files`` found below directory ``root``: the regular files inside it, and an error
    for each symbolic link that leads out (``FILE:0:0: $: a symbolic link to ..., outside
    ...``) and for each entry that is no regular file (``FILE:0:0: $: not a regular file
    (a FIFO); only regular files are read from a directory``)."""
    kept: list[Path] = []
    problems: list[Diagnostic] = []
    for file in files:
        reason = walked_outside(file, root)
        if not reason:
            what = not_regular(file)
            reason = (f"not a regular file ({what}); only regular files are read from a "
                      "directory") if what else ""
        if reason:
            problems.append(Diagnostic(file=os.fspath(file), message=reason, code="load"))
        else:
            kept.append(file)
    return kept, problems


__all__ = ["ROOT_MARKERS", "document_root", "is_inside", "links_out", "named_path",
           "not_regular", "walked", "walked_outside"]
