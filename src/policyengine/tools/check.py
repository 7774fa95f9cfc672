"""What ``policyengine validate`` runs: every file under the given paths, by its kind.

Policies (schema, semantics, compiled against the rule packs, version sets per directory),
rule packs, fact files and policy test files. Every problem in every file comes back as
sorted :class:`~policyengine.diagnostics.Diagnostic` lines; nothing stops at the first
error and nothing is printed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from policyengine.compile.packcheck import pack_set_problems
from policyengine.diagnostics import Diagnostic, InputError
from policyengine.load.paths import links_out, walked
from policyengine.model.policy import Policy
from policyengine.validation.policy import (
    VALIDATED_SUFFIXES,
    PolicyDocument,
    check_version_set,
    load_policy_document,
    peek,
)


def validate(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *,
             skip_unknown: bool = False) -> list[Diagnostic]:
    """Validate policy, rule-pack, fact and policy-test files; returns sorted diagnostics.

    ``paths`` is one path (a file or a directory, walked recursively) or several. Never
    prints or raises for bad input: every problem is a located Diagnostic. ``TypeError``
    when ``paths`` is neither a path nor an iterable of paths.
    """
    return validate_paths(paths, skip_unknown=skip_unknown)


def validate_paths(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *,
                   skip_unknown: bool = False,
                   skipped: list[str] | None = None) -> list[Diagnostic]:
    """Validate files and directories (recursively); every problem, sorted.

    A file that is not a policyengine document is a warning when found in a directory, and
    checked as a policy when named (a typo in ``apiVersion`` must not hide a policy) unless
    ``skip_unknown`` (pre-commit names every YAML file of a repository): then it is not
    checked, and its path (as given, or under the directory given) is appended to
    ``skipped`` when a list is passed, so that the caller can say so. A directory that
    holds no policyengine document at all is an error, as ``evaluate --policy`` says too.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    elif isinstance(paths, bytes) or not isinstance(paths, Iterable):
        raise TypeError(f"paths: expected a path or a list of paths, got {type(paths).__name__}")
    problems: list[Diagnostic] = []
    for given in paths:
        root = Path(given)
        if not root.exists():
            problems.append(Diagnostic(file=str(given), message="no such file or directory",
                                       code="load"))
            continue
        files = ([p for p in walked(root) if p.suffix in VALIDATED_SUFFIXES]
                 if root.is_dir() else [root])
        if root.is_dir():  # a link out of the directory is refused, never read
            files, outside = links_out(files, root)
            problems.extend(outside)
        by_directory: dict[Path, list[PolicyDocument]] = {}
        packs_by_directory: dict[Path, list[Any]] = {}
        ours = 0
        for file in files:
            kind, document = peek(file)
            if kind == "" and skip_unknown:
                if skipped is not None:
                    skipped.append(str(file))
                continue
            if kind == "" and not root.is_dir():  # named explicitly: never skipped
                kind = "FactSet" if "facts" in document.data else "Policy"
            ours += kind != ""
            if kind == "":
                problems.append(Diagnostic(
                    file=str(file), line=1, column=1, severity="warning", code="skipped",
                    message="not a policyengine document (no apiVersion policyengine/v1); "
                    "skipped"))
            elif kind == "RulePack":
                found, pack = _validate_rulepack(file)
                problems.extend(found)
                if pack is not None:
                    packs_by_directory.setdefault(file.parent, []).append(pack)
            elif kind == "FactSet":
                problems.extend(_validate_facts(file))
            elif kind == "PolicyTest":
                from policyengine.tools.policytest import check_test_file

                problems.extend(check_test_file(file))
            else:
                loaded = load_policy_document(file, document)
                problems.extend(loaded.problems)
                if loaded.policy is not None:
                    problems.extend(_compile_problems(loaded.policy))
                by_directory.setdefault(file.parent, []).append(loaded)
        if root.is_dir() and not ours:
            problems.append(Diagnostic(
                file=str(given), code="load",
                message="no policyengine documents here (policies, rule packs, fact files or "
                "policy tests)"))
        for versions in by_directory.values():
            if len(versions) > 1:
                problems.extend(check_version_set(versions))
        for packs in packs_by_directory.values():  # one directory is one --rules
            problems.extend(pack_set_problems(packs))
    return sorted(set(problems))


def _validate_rulepack(file: Path) -> tuple[list[Diagnostic], Any]:
    """Schema, then stages, fact types and fields (no policy: see compile.packcheck); and
    the pack, when it passed the schema."""
    from policyengine.compile.compiler import RulePack
    from policyengine.compile.packcheck import check_pack
    from policyengine.load import loader
    from policyengine.validation import schemas

    try:
        document = loader.load_document(file)
    except InputError as error:
        return error.diagnostics, None
    problems = schemas.validate_document(document, "rules")
    if problems:
        return problems, None
    pack = RulePack.from_document(document)
    return check_pack(pack)[0], pack


def _validate_facts(file: Path) -> list[Diagnostic]:
    from policyengine.validation.facts import load_facts

    try:
        facts = load_facts([file])
    except InputError as error:
        return error.diagnostics
    return list(facts.warnings)  # unknown fields, zero-length windows


def _compile_problems(policy: Policy) -> list[Diagnostic]:
    from policyengine.api import compile_versions

    try:
        compile_versions([policy])
    except InputError as error:
        # compiled against the shipped packs: a clause only the user's packs decide (a
        # third-party kind) is checked by evaluate, with the --rules it is given
        return [d for d in error.diagnostics if d.code != "undecided"]
    return []
