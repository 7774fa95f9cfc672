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
  directory (a symbolic link to a file elsewhere is refused, not followed).
"""

from __future__ import annotations

import os
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


def links_out(files: Iterable[Path], root: Path) -> tuple[list[Path], list[Diagnostic]]:
    """``files`` found below directory ``root``: those inside it, and an error for each
    symbolic link that leads out (``FILE:0:0: $: a symbolic link to ..., outside ...``)."""
    kept: list[Path] = []
    problems: list[Diagnostic] = []
    for file in files:
        reason = walked_outside(file, root)
        if reason:
            problems.append(Diagnostic(file=os.fspath(file), message=reason, code="load"))
        else:
            kept.append(file)
    return kept, problems


__all__ = ["ROOT_MARKERS", "document_root", "is_inside", "links_out", "named_path",
           "walked_outside"]
