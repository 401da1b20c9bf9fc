"""CSV files for spreadsheet programs (Excel, WPS).

Every export goes through :func:`csv_text`: UTF-8 with a BOM so that the Chinese reads
right, and no cell that a spreadsheet would run as a formula (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """``value`` as text, with a leading ``'`` if a spreadsheet would read it as a formula
    (a negative number too: the rule has no exceptions)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """A whole CSV file: BOM, the header row, then ``rows``, every cell passed through
    :func:`safe_cell`."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([safe_cell(v) for v in header])
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return out.getvalue()


def csv_chunks(header: Iterable[Any], rows: Iterable[Iterable[Any]], per_chunk: int = 1000) -> Iterator[str]:
    """The same file as :func:`csv_text`, yielded ``per_chunk`` rows at a time, so that a
    large export is streamed and never held whole in memory."""
    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerow([safe_cell(v) for v in header])
    for n, row in enumerate(rows, 1):
        writer.writerow([safe_cell(v) for v in row])
        if n % per_chunk == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
