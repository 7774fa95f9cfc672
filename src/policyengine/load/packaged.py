"""Where the shipped data lives: the rule packs and the schemas.

An installed wheel carries them as package data, ``policyengine/_data/<name>/`` (see
``[tool.hatch.build.targets.wheel.force-include]`` in pyproject.toml); a checkout or an
editable install reads the repository's top-level ``rules/`` and ``schemas/``. This is the
one place that knows both (a second copy of the lookup once looked under the wrong package
and left a plain ``pip install`` unable to find its schemas).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # src/policyengine, or site-packages/...
PACKAGED = PACKAGE / "_data"
REPOSITORY = PACKAGE.parent.parent  # the checkout, for src/policyengine
NAMES = ("rules", "schemas")


def data_dir(name: str) -> Path:
    """The directory of the shipped ``rules`` or ``schemas``: the installed package data,
    else the repository's top level. Raises ValueError for another name."""
    if name not in NAMES:
        raise ValueError(f"unknown data {name!r}; expected one of: {', '.join(NAMES)}")
    packaged = PACKAGED / name
    return packaged if packaged.is_dir() else REPOSITORY / name
