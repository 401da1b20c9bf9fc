"""GB 11643 resident IDs and the other domain identifiers."""

from __future__ import annotations

from datetime import date

import pytest

from app.services.validators import is_mobile
from app.services.validators import is_practice_cert
from app.services.validators import is_qualification_cert
from app.services.validators import mask_id
from app.services.validators import mask_mobile
from app.services.validators import normalize_resident_id
from app.services.validators import resident_id_error


@pytest.mark.parametrize("number", [
    "11010519491231002X",   # the standard's Beijing example
    "440524188001010014",   # the standard's own second example (born 1880)
    "320102197001010011",   # refused by python-stdnum, valid here
    "110199198001010016",   # unknown county code: people keep their number
    "11010519491231002x",   # lower-case x accepted
])
def test_valid_resident_ids(number: str) -> None:
    assert resident_id_error(number) is None


def test_fifteen_digit_number_is_upgraded() -> None:
    assert normalize_resident_id("110105491231002") == "11010519491231002X"
    assert resident_id_error("110105491231002") is None


@pytest.mark.parametrize(("number", "message"), [
    ("110105194912310021", "校验位"),
    ("990105194912310021", "省级行政区划"),
    ("110105194902300025", "出生日期"),
    ("1101051949123100", "18位"),
    ("11010520991231002X", "出生日期"),
])
def test_invalid_resident_ids(number: str, message: str) -> None:
    err = resident_id_error(number, today=date(2026, 11, 25))
    assert err is not None and message in err


def test_other_identifiers() -> None:
    assert is_mobile("15175070658") and not is_mobile("12345678901")
    assert is_practice_cert("110430122000123") and not is_practice_cert("11043012200012")
    assert is_qualification_cert("201614110" + "11010519491231002X")
    assert not is_qualification_cert("2016141101101051949123100")


def test_masks() -> None:
    assert mask_mobile("15175070658") == "151****0658"
    assert mask_id("11010519491231002X") == "1101**********002X"
