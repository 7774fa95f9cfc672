"""The wheel works on its own: a plain (non-editable) install finds its schemas and rule
packs as package data. Editable installs and the test suite read the repository's own
``schemas/`` and ``rules/``, which once hid a lookup under the wrong package: every
``validate`` and ``evaluate`` of a ``pip install .`` (the shipped pre-commit hook, the CI
job of docs/policy-ci.md) failed with "schema policy.schema.json is neither in the package
data nor in ..."."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from .conftest import ROOT

PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
import policyengine
from policyengine.load.packaged import data_dir
from policyengine.tools.check import validate_paths
assert policyengine.__file__.startswith(sys.argv[1]), policyengine.__file__
print(data_dir("schemas").relative_to(sys.argv[1]).as_posix())
print(data_dir("rules").relative_to(sys.argv[1]).as_posix())
"""


def test_a_built_wheel_reads_its_own_package_data(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
         str(tmp_path / "wheel"), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "wheel").glob("policyengine-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:  # a pure-Python wheel installs by unpacking
        archive.extractall(site)
    validate = subprocess.run(
        [sys.executable, "-c",
         "import sys; sys.path.insert(0, sys.argv[1]); sys.argv[1:] = sys.argv[2:];"
         "from policyengine.cli.main import main; main()",
         str(site), "validate", "--strict", str(ROOT / "policies" / "spirion")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert (validate.returncode, validate.stderr) == (
        0, f"ok: {ROOT / 'policies' / 'spirion'}\n")
    probe = subprocess.run([sys.executable, "-c", PROBE, str(site)], capture_output=True,
                           text=True, timeout=120, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == ["policyengine/_data/schemas", "policyengine/_data/rules"]


def test_the_version_is_the_same_everywhere() -> None:
    """pyproject.toml, ``policyengine.__version__`` and the newest CHANGELOG.md release agree
    (the release tag ``v<version>`` is made from them; docs/policy-ci.md pins it)."""
    import re
    import tomllib

    import policyengine

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    newest = re.search(r"^## (\S+) ", changelog, re.MULTILINE)
    assert newest is not None
    assert (declared, policyengine.__version__, newest.group(1)) == (declared,) * 3
    assert f"rev: v{declared}" in (ROOT / "docs" / "policy-ci.md").read_text(encoding="utf-8")
