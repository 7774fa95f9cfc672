"""Import layer: source exports (helpdesks, status pages, incident tools, CSV) → fact NDJSON.

``import_lines(source, files, mapping)`` yields the fact file's lines, one record at a time
(streaming: memory grows only by a 16-byte id fingerprint a fact), and raises
:class:`InputError` with every located problem after the last record when any record could
not be placed. Sits above
``api`` and below ``cli``; nothing below imports it (docs/import.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from policyengine.importers.core import Run
from policyengine.importers.mapping import ImportMapping, load_mapping

__all__ = ["SOURCES", "ImportMapping", "Run", "import_lines", "load_mapping"]


def _reader(source: str) -> Callable[[Run, Iterable[str]], Iterator[str]]:
    if source == "csv":
        from policyengine.importers.generic import read_csv

        return read_csv
    if source == "json":
        from policyengine.importers.generic import read_json

        return read_json
    module = __import__(f"policyengine.importers.{source.replace('-', '_')}",
                        fromlist=["read"])
    return module.read


SOURCES = ("csv", "json", "statuspage", "pagerduty", "zendesk", "jira", "servicenow")


def import_lines(run: Run, files: Iterable[str]) -> Iterator[str]:
    """The NDJSON lines of the facts made from ``files``; :meth:`Run.finish` at the end.

    Raises :class:`InputError` (located) for a bad export, or after the last record for
    records that could not be placed; ``run.warnings`` holds the warnings.
    """
    yield from _reader(run.source)(run, list(files))
    run.finish()
