"""CSV cells that a spreadsheet would run as a formula get a leading apostrophe; others do not."""

from __future__ import annotations

import pytest

from app.services.records.spreadsheets import safe_cell


@pytest.mark.parametrize(("value", "shown"), [
    ('=HYPERLINK("http://e.x","点")', '\'=HYPERLINK("http://e.x","点")'),
    ("+1+1", "'+1+1"), ("-1", "'-1"), (-1, "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("陈本院", "陈本院"), ("a=b", "a=b"), (" =1", " =1"), ("2026-01-01", "2026-01-01"), (4, "4"),
    ("", ""), (None, ""),
])
def test_safe_cell(value: object, shown: str) -> None:
    assert safe_cell(value) == shown
