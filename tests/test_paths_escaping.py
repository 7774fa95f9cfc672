"""Nothing a file names escapes its place; nothing a file says becomes markup (issue 16 §7).

- a policy test's ``policy:`` and ``facts_file:`` are relative paths inside the test
  file's repository (or its directory outside one): no absolute path, no ``..`` out, no
  symbolic link out;
- a policy, rules or validated directory never follows a symbolic link out of itself;
- a message quotes at most an excerpt of what it found (60 characters of a value, 500 of a
  message), so a password file named by mistake is not copied into stderr, a GitHub
  annotation or JUnit;
- GitHub annotations, JUnit XML and ``show --format markdown`` escape what they embed.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyengine.cli.main import main
from policyengine.diagnostics import Diagnostic
from policyengine.report.render import render_diagnostics

from .conftest import ROOT

POLICY = ROOT / "policies" / "spirion" / "1.0.0.yaml"
# a stand-in for a foreign file (the password file): many lines of "name:x:..." text
SECRET_LINE = "root:x:0:0:root:/root:/bin/bash"
SECRET = "".join(f"{SECRET_LINE}{n}\n" for n in range(40))  # 40 lines, 1,350 characters


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A foreign file outside the repository of the test files (``repo/``)."""
    secret = tmp_path / "secret.yaml"
    secret.write_text(SECRET, encoding="utf-8")
    return secret


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository (``.git``) with the shipped policy and one facts file."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "policies").mkdir()
    shutil.copy(POLICY, root / "policies" / "1.0.0.yaml")
    shutil.copy(ROOT / "examples" / "october-2026.yaml", root / "facts.yaml")
    (root / "tests").mkdir()
    return root


def _test_file(repo: Path, policy: str, facts_file: str) -> Path:
    file = repo / "tests" / "x.test.yaml"
    file.write_text(f"""\
apiVersion: policyengine/v1
kind: PolicyTest
metadata: {{name: x}}
policy: {policy}
cases:
  - name: c
    facts_file: {facts_file}
    as_of: 2026-11-27T12:00:00Z
    expect_counts: {{availability: 4}}
""", encoding="utf-8")
    return file


def test_paths_inside_the_repository_are_followed(repo: Path) -> None:
    """``..`` out of the test file's directory is fine while it stays in the repository
    (the shipped tests/cases name ../../../policies/spirion)."""
    file = _test_file(repo, "../policies/1.0.0.yaml", "../facts.yaml")
    code, out = _cli("test", str(file))
    assert code == 0, out


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_a_test_file_cannot_name_a_file_outside_its_repository(repo: Path, outside: Path,
                                                               how: str) -> None:
    if how == "absolute":
        policy = facts = str(outside)
        reason = "an absolute path is not allowed; name a path relative to this file"
    elif how == "dotdot":
        policy = facts = "../../secret.yaml"
        reason = (f"it leads out of {repo.resolve()} (a path a document names stays inside "
                  "the document's repository, or its directory when it is in none)")
    else:
        (repo / "tests" / "link.yaml").symlink_to(outside)
        policy = facts = "link.yaml"
        reason = (f"a symbolic link leads out of {repo.resolve()} (a path a document names "
                  "stays inside the document's repository, or its directory when it is in "
                  "none)")
    file = _test_file(repo, policy, facts)
    for fmt in ("text", "junit"):
        code, out = _cli("test", "--format", fmt, str(file))
        assert code == 2 if fmt == "text" else code in (1, 2), out
        assert SECRET_LINE not in out
        assert f"policy '{policy}': {reason}" in out
        assert f"facts_file '{facts}': {reason}" in out
    code, out = _cli("validate", "--format", "github", str(file))
    assert code == 2 and SECRET_LINE not in out
    assert f"$.policy: policy '{policy}': {reason}" in out


def test_outside_a_repository_the_root_is_the_test_files_directory(tmp_path: Path,
                                                                   outside: Path) -> None:
    (tmp_path / "t").mkdir()
    file = tmp_path / "t" / "x.test.yaml"
    file.write_text("apiVersion: policyengine/v1\nkind: PolicyTest\npolicy: ../secret.yaml\n"
                    "cases: [{name: c, facts: [], expect_counts: {availability: 0}}]\n",
                    encoding="utf-8")
    code, out = _cli("test", str(file))
    assert code == 2 and SECRET_LINE not in out
    assert f"it leads out of {(tmp_path / 't').resolve()}" in out


@pytest.mark.parametrize("place", ["policy", "rules", "validate", "tests"])
def test_a_link_out_of_a_directory_is_refused(tmp_path: Path, outside: Path,
                                              place: str) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    shutil.copy(POLICY, policies / "1.0.0.yaml")
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    facts = str(ROOT / "examples" / "october-2026.yaml")
    directory = rules if place == "rules" else policies
    link = directory / ("x.test.yaml" if place == "tests" else "2.0.0.yaml")
    link.symlink_to(outside)
    args = {"policy": ["evaluate", "--policy", str(policies), "--facts", facts],
            "rules": ["evaluate", "--policy", str(policies), "--rules", str(rules),
                      "--facts", facts],
            "validate": ["validate", "--format", "github", str(policies)],
            "tests": ["test", str(policies)]}[place]
    code, out = _cli(*args)
    assert code == 2
    assert SECRET_LINE not in out
    assert (f"a symbolic link to {outside}, outside {directory}; links out of the directory "
            "are not followed") in out


# -- excerpts ------------------------------------------------------------------------------------
def test_a_foreign_file_given_on_purpose_is_quoted_as_an_excerpt(outside: Path) -> None:
    """Named on the command line it is read, but only 60 characters of it are quoted."""
    code, out = _cli("validate", "--format", "github", str(outside))
    assert code == 2
    assert out.count(SECRET_LINE) == 1  # the first line, once
    # YAML folds the 40 lines into one text of 1,349 characters (no trailing newline)
    assert "... (1,349 characters)" in out
    assert len(out) < 300


@pytest.mark.parametrize("field", ["customer", "id", "start"])
def test_a_long_fact_value_is_quoted_as_an_excerpt(tmp_path: Path, field: str) -> None:
    """A 100,000-character value in a fact: the message quotes 60 characters of it."""
    long = "x" * 100_000
    facts = tmp_path / "facts.ndjson"
    record = {"customer": f'"{long}"', "id": f'"{long}"', "start": f'"{long}"'}[field]
    base = {"customer": '"acme"', "id": '"d-1"', "start": '"2026-10-05T10:00:00Z"'}
    base[field] = record
    facts.write_text(
        '{"type":"subscription","customer":"acme","plan":"production","deployment":"saas",'
        '"term_start":"2026-01-01","term_end":"2026-12-31","annual_fee":"100.00",'
        '"currency":"USD","renewed":true}\n'
        f'{{"type":"downtime","id":{base["id"]},"start":{base["start"]},'
        f'"end":"2026-10-05T11:00:00Z","cause":"vendor","maintenance":"none",'
        f'"customers":[{base["customer"]}]}}\n', encoding="utf-8")
    code, out = _cli("evaluate", "--policy", str(POLICY), "--facts", str(facts))
    assert code == 2, out
    assert "x" * 61 not in out
    assert len(out) < 1000


def test_every_message_is_capped() -> None:
    """A backstop for messages not built with excerpt(): 500 characters, then a count."""
    from policyengine.diagnostics import excerpt

    line = Diagnostic(file="f", message="y" * 10_000, hint="h" * 1000).render()
    assert line == ("f:0:0: $: " + "y" * 500 + "... (9,500 more characters) ("
                    + "h" * 200 + "... (800 more characters))")
    assert excerpt("z" * 61) == f"{'z' * 60!r}... (61 characters)"
    assert excerpt("z" * 60) == repr("z" * 60)


# -- escaping in every output format -------------------------------------------------------------
def test_github_annotations_escape_data_and_properties() -> None:
    """``%``, CR and LF in the message; also ``:`` and ``,`` in ``file=``, which would end
    or add properties."""
    diagnostic = Diagnostic(file="a,b:c%d\ne.yaml", line=3, column=4,
                            message="50% off\r\n::error::injected")
    assert render_diagnostics([diagnostic], "github") == (
        "::error file=a%2Cb%3Ac%25d%0Ae.yaml,line=3,col=4::$: 50%25 off\\r ::error::injected\n")


def test_text_lines_show_control_characters_as_escapes() -> None:
    line = Diagnostic(file="f", message="a\x1b[31mred\x07\tb").render()
    assert line == "f:0:0: $: a\\x1b[31mred\\x07\\tb"


def test_junit_escapes_markup(repo: Path) -> None:
    """A case name with markup: ElementTree escapes it; the document parses."""
    file = repo / "tests" / "x.test.yaml"
    file.write_text("""\
apiVersion: policyengine/v1
kind: PolicyTest
policy: ../policies/1.0.0.yaml
cases:
  - name: "a <b>&\\"' ]]> case"
    facts_file: ../facts.yaml
    as_of: 2026-11-27T12:00:00Z
    expect_counts: {availability: 5}
""", encoding="utf-8")
    code, out = _cli("test", "--format", "junit", str(file))
    assert code == 1, out
    xml = out[:out.index("</testsuites>") + len("</testsuites>")]  # then the summary (stderr)
    [case] = ET.fromstring(xml.encode("utf-8")).iter("testcase")
    assert case.get("name") == "a <b>&\"' ]]> case"
    assert "<b>" not in out  # escaped as &lt;b&gt;


def test_junit_shows_characters_xml_refuses_as_escapes() -> None:
    """The loaders refuse control characters, but JUnit also carries values computed in
    between: whatever reaches it, ESC, U+0001, a lone surrogate and U+FFFE are escapes."""
    from policyengine.tools.policytest import xml_text

    raw = "a\x1b[31m\x01\ud800\ufffe\tb\nc"
    assert xml_text(raw) == "a\\x1b[31m\\x01\\ud800\\ufffe\tb\nc"
    element = ET.Element("testcase", name=xml_text(raw))
    parsed = ET.fromstring(ET.tostring(element, encoding="unicode"))
    assert parsed.get("name") == "a\\x1b[31m\\x01\\ud800\\ufffe\tb\nc"
    with pytest.raises(ET.ParseError):  # what ElementTree alone would write
        ET.fromstring(ET.tostring(ET.Element("t", name="a\x1b"), encoding="unicode"))


def test_show_markdown_escapes_the_policys_own_strings(tmp_path: Path) -> None:
    text = POLICY.read_text(encoding="utf-8")
    title = "title: Spirion customer services and service level addendum"
    assert title in text
    policy = tmp_path / "1.0.0.yaml"
    hostile = 'title: "# <img src=x onerror=alert(1)> [a](javascript:x)"'
    policy.write_text(text.replace(title, hostile), encoding="utf-8")
    code, out = _cli("show", str(policy))
    assert code == 0, out
    first = out.splitlines()[0]
    # inside a heading a leading # is text; the tag and the link are escaped
    assert first == "# # &lt;img src=x onerror=alert(1)&gt; \\[a\\](javascript:x)"
    assert "<img" not in out
