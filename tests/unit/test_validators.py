"""GB 11643 resident IDs and the other domain identifiers."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
import time_machine

from app.services.records.validators import id_check_char
from app.services.records.validators import is_mobile
from app.services.records.validators import is_practice_cert
from app.services.records.validators import is_qualification_cert
from app.services.records.validators import mask_id
from app.services.records.validators import mask_mobile
from app.services.records.validators import normalize_resident_id
from app.services.records.validators import resident_id_error


def _id_born(born: date, region: str = "110105", seq: str = "002") -> str:
    body = f"{region}{born:%Y%m%d}{seq}"
    return body + id_check_char(body)


@pytest.mark.parametrize("number", [
    "11010519491231002X",   # the standard's Beijing example
    "440524188001010014",   # the standard's own second example (born 1880)
    "320102197001010011",   # refused by python-stdnum, valid here
    "110199198001010016",   # unknown county code: people keep their number
    "11010519491231002x",   # lower-case x accepted
])
def test_valid_resident_ids(number: str) -> None:
    # GB 11643-1999: weights, check digit, lower-case x
    assert resident_id_error(number) is None


# DOMAIN §5 (resident ID): 港澳台居民居住证 numbers are 18 digits with the GB 11643 check
# character and the address code 810000 香港, 820000 澳门 or 830000 台湾.
@pytest.mark.parametrize("number", [
    "830000199001010012",   # 台湾居民居住证
    "830000199001010020",
    "810000198506120024",   # 香港居民居住证
    "820000197809300038",   # 澳门居民居住证
])
def test_residence_permit_numbers_are_accepted(number: str) -> None:
    assert resident_id_error(number) is None
    assert "校验位" in (resident_id_error(number[:17] + ("1" if number[17] != "1" else "2")) or "")


# DOMAIN §5 (resident ID): the age is ≥ 18, counted in full years (周岁) on today's date.
@pytest.mark.parametrize(("born", "today", "adult"), [
    (date(2008, 11, 25), date(2026, 11, 25), True),    # 18 today
    (date(2008, 11, 26), date(2026, 11, 25), False),   # 18 tomorrow
    (date(2026, 1, 1), date(2026, 11, 25), False),
    (date(2008, 2, 29), date(2026, 2, 28), False),     # born on 29 February:
    (date(2008, 2, 29), date(2026, 3, 1), True),       # 18 on 1 March of a common year
])
def test_holder_must_be_at_least_eighteen(born: date, today: date, adult: bool) -> None:
    err = resident_id_error(_id_born(born), today=today)
    if adult:
        assert err is None
    else:
        assert err == "按身份证号中的出生日期计算未满18周岁（须年满18周岁）"


def test_today_is_the_date_in_beijing() -> None:
    # DOMAIN §5: the age counts against today in Asia/Shanghai. At 01:00 in Beijing on the
    # 18th birthday it is still the day before in UTC.
    number = _id_born(date(2008, 11, 25))
    with time_machine.travel(datetime(2026, 11, 24, 17, 0, tzinfo=UTC), tick=False):
        assert resident_id_error(number) is None
    with time_machine.travel(datetime(2026, 11, 24, 15, 59, tzinfo=UTC), tick=False):
        assert resident_id_error(number) is not None


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
    # DOMAIN [S6][S7]: 资格证书编码 and the 15-digit 执业证书编码
    assert is_mobile("15175070658") and not is_mobile("12345678901")
    assert is_practice_cert("110430122000123") and not is_practice_cert("11043012200012")
    assert is_qualification_cert("201614110" + "11010519491231002X")
    assert not is_qualification_cert("2016141101101051949123100")


def test_masks() -> None:
    assert mask_mobile("15175070658") == "151****0658"
    assert mask_id("11010519491231002X") == "1101**********002X"
