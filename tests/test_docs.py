"""Every YAML snippet in the README and docs loads; whole documents validate; examples agree."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from policyengine.load.loader import load_document, load_text
from policyengine.validation import schemas

from .conftest import ROOT, SHIPPED

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)
_SCHEMA_OF = {"Policy": "policy", "FactSet": "facts", "RulePack": "rules"}


def _snippets() -> list:
    params = []
    for doc in DOCS:
        for index, block in enumerate(_BLOCK.findall(doc.read_text(encoding="utf-8"))):
            params.append(pytest.param(doc, block, id=f"{doc.name}#{index}"))
    return params


@pytest.mark.parametrize(("doc", "block"), _snippets())
def test_yaml_snippet_loads_and_validates(doc: Path, block: str) -> None:
    if not block.strip() or block.lstrip().startswith("#") and "\n" not in block.strip():
        return  # a lone comment (the editor modeline)
    text = _dedent(block)
    document = load_text(text, f"{doc.name} snippet")
    kind = document.data.get("kind") if isinstance(document.data, dict) else None
    if kind in _SCHEMA_OF:
        assert schemas.validate_document(document, _SCHEMA_OF[kind]) == []


def _dedent(block: str) -> str:
    lines = block.splitlines()
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return "\n".join(line[indent:] for line in lines) + "\n"


def test_readme_clause_example_is_the_shipped_clause() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = next(b for b in _BLOCK.findall(readme) if "scheduled_maintenance" in b)
    shown = load_text(_dedent(block), "README").data["exclusions"][0]
    shipped = next(c for c in load_document(SHIPPED).data["spec"]["exclusions"]
                   if c["id"] == "scheduled-downtime")
    for term in ("kind", "ref", "notice", "excluded_up_to"):
        assert shown[term] == shipped[term]


def test_readme_rule_example_is_the_shipped_rule() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = next(b for b in _BLOCK.findall(readme) if "for_clause: scheduled_maintenance" in b)
    shown = load_text(_dedent(block), "README").data[0]
    shipped = next(r for r in load_document(ROOT / "rules" / "availability.yaml").data["rules"]
                   if r["id"] == "scheduled-with-notice")
    assert shown == shipped


def test_readme_quick_start_is_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = [line.strip() for line in quick.splitlines() if line.startswith("    ")]
    assert commands == ["make run", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "policyengine", "validate", str(SHIPPED)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_spirion_document_is_current() -> None:
    """docs/spirion.md is `policyengine show` of the shipped policy (golden file).

    Regenerate after a policy edit: `policyengine show policies/spirion/1.0.0.yaml
    --output docs/spirion.md`, and review the diff.
    """
    from policyengine.api import load_policies
    from policyengine.tools.show import render_policy

    rendered = render_policy(load_policies(SHIPPED)[0], "markdown")
    assert (ROOT / "docs" / "spirion.md").read_text(encoding="utf-8") == rendered
