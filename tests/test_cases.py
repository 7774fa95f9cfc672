"""Data-driven evaluation cases: ``tests/cases/<area>/*.yaml``, on both back-ends.

A case file holds ``cases:``; each case is
``{note, facts, as_of, months?, policy_set?, want?, want_absent?, want_counts?, want_error?}``:
- ``policy_set`` edits the shipped policy: ``{"clause-id.term.path": value}``;
- ``want`` maps an output section to partial rows: every key given must match one row;
- ``want_absent`` lists partial rows that must match no row;
- ``want_counts`` maps a section to its exact row count;
- ``want_error`` is a fragment of the expected input-error message.
Expected values are computed by hand; the comment beside each case shows the working.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policyengine.api import facts_from_dicts
from policyengine.diagnostics import InputError
from policyengine.load.loader import load_document

from .conftest import engine_for, set_term, shipped_policy_data

CASE_DIR = Path(__file__).parent / "cases"


def _cases() -> list[Any]:
    params = []
    for file in sorted(CASE_DIR.rglob("*.yaml")):
        for case in load_document(file).data["cases"]:
            case_id = f"{file.parent.name}/{file.stem}: {case['note']}"
            params.append(pytest.param(case, id=case_id))
    return params


def _matches(row: dict[str, Any], want: dict[str, Any]) -> bool:
    return all(k in row and _same(row[k], v) for k, v in want.items())


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or expected is None or isinstance(actual, bool):
        return actual is expected if isinstance(expected, bool) or expected is None else False
    if isinstance(actual, int | float) and not isinstance(expected, str):
        return abs(float(actual) - float(expected)) < 1e-9
    return actual == expected


@pytest.mark.parametrize("case", _cases())
def test_case(case: dict[str, Any], backend: str) -> None:
    data = shipped_policy_data()
    for dotted, value in (case.get("policy_set") or {}).items():
        set_term(data, dotted, value)
    engine = engine_for(data, backend)
    if "want_error" in case:
        with pytest.raises(InputError) as caught:
            engine.evaluate(facts_from_dicts(case["facts"]), as_of=case["as_of"],
                            months=case.get("months"))
        assert case["want_error"] in str(caught.value)
        return
    result = engine.evaluate(facts_from_dicts(case["facts"]), as_of=case["as_of"],
                             months=case.get("months")).to_dict()
    for section, rows in (case.get("want") or {}).items():
        for want in rows:
            assert any(_matches(row, want) for row in result[section]), (
                f"no {section} row matches {want}\nactual rows:\n"
                + "\n".join(str(r) for r in result[section])
            )
    for section, rows in (case.get("want_absent") or {}).items():
        for want in rows:
            assert not any(_matches(row, want) for row in result[section]), (
                f"unexpected {section} row matching {want}"
            )
    for section, count in (case.get("want_counts") or {}).items():
        assert len(result[section]) == count, result[section]
