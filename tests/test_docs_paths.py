"""Every file the README and docs/ name exists in the repository (issue 15 §5: the repository
stands alone; a moved module must not leave the docs pointing at nothing).

A path is a backticked token with a folder and a file extension, or the target of a markdown
link. It may be written from the repository root, from ``src/policyengine/`` (module paths such
as ``engine/base.py``) or from the document's own folder. The walk-through in
docs/architecture.md names the files a reader *would* add for a new clause kind: those are
listed here, explicitly.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
EXTENSIONS = "py|md|yaml|yml|json|ndjson|txt|toml|png|html|csv|cfg"
BACKTICKED = re.compile(rf"`([A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+\.(?:{EXTENSIONS}))(?::[\w.]+)?`")
LINKED = re.compile(r"\]\(((?![a-z]+:|#)[^)\s#]+)(?:#[^)]*)?\)")
# Files a walk-through tells the reader to create (a new clause kind in docs/architecture.md,
# a new policy version in docs/versions.md), and the hostile paths docs/hardening.md quotes.
NOT_FILES = {
    "tests/cases/credits/flat-credit/1.0.0.yaml",
    "tests/cases/credits/flat-credit.test.yaml",
    "policies/spirion/1.1.0.yaml",
    "../../../policies/spirion/1.0.0.yaml",
}
# Files docs/policy-language.md names inside the example folder it has just named.
EXAMPLE_FOLDERS = (ROOT / "policies" / "examples" / "forge-quarterly",)


def named_paths(document: Path) -> list[str]:
    text = document.read_text(encoding="utf-8")
    return sorted({*BACKTICKED.findall(text), *LINKED.findall(text)})


def exists(document: Path, name: str) -> bool:
    bases = (ROOT, ROOT / "src" / "policyengine", document.parent, *EXAMPLE_FOLDERS)
    return any((base / name).exists() for base in bases)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_named_file_exists(document: Path) -> None:
    names = [n for n in named_paths(document) if n not in NOT_FILES]
    assert [n for n in names if not exists(document, n)] == []


def test_the_checker_sees_a_moved_module(tmp_path: Path) -> None:
    # The fault this file guards against: README named backends/durable_backend.py after the
    # module had moved to engine/.
    doc = tmp_path / "x.md"
    doc.write_text("see `backends/durable_backend.py` and [the docs](docs/nowhere.md)\n")
    assert named_paths(doc) == ["backends/durable_backend.py", "docs/nowhere.md"]
    assert not exists(doc, "backends/durable_backend.py")
    assert exists(doc, "engine/durable_backend.py")
