"""Validation of domain identifiers (GB 11643 resident ID, mobile, certificate codes)."""

from __future__ import annotations

import re
from datetime import date

from app.services.engine.clock import today_cst
from app.services.records.regions import PROVINCES

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# GB/T 2260 province-level codes (first two digits); 71 台湾, 81 香港, 82 澳门 included.
# 港澳台居民居住证 numbers have the same 18-digit form and check character, with the
# address code 810000 (香港), 820000 (澳门) or 830000 (台湾): 83 is not a GB/T 2260 code.
PROVINCE_CODES = frozenset(PROVINCES) | {"83"}
ADULT_AGE = 18  # DOMAIN §5: the holder of an account is at least 18
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
QUAL_CERT_RE = re.compile(r"^\d{9}(\d{15}|\d{17}[\dX])$")
PRACTICE_CERT_RE = re.compile(r"^\d{15}$")
MAX_ID = 2**31 - 1  # the database's integer range


def id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalize_resident_id(value: str) -> str:
    """Strip, upper-case the X and upgrade a 15-digit number to 18 digits."""
    v = (value or "").strip().upper()
    if re.fullmatch(r"\d{15}", v):
        body = v[:6] + "19" + v[6:]
        v = body + id_check_char(body)
    return v


def age_on(born: date, today: date) -> int:
    """Full years of age (周岁) on ``today``; someone born on 29 February turns a year
    older on 1 March in a common year."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def resident_id_error(value: str, today: date | None = None) -> str | None:
    """Return a Chinese message if ``value`` is not a valid resident ID of an adult, else None.

    Also accepts 港澳台居民居住证 numbers (81/82/83). Retired or unknown county codes are
    accepted: people keep the number they were given. ``today`` defaults to today in Beijing.
    """
    v = normalize_resident_id(value)
    if not re.fullmatch(r"\d{17}[\dX]", v):
        return "身份证号应为18位（最后一位可以是X）或15位数字"
    if v[:2] not in PROVINCE_CODES:
        return "身份证号的前两位不是有效的省级行政区划代码"
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return "身份证号中的出生日期无效"
    today = today or today_cst()
    if born > today:
        return "身份证号中的出生日期无效"
    if id_check_char(v[:17]) != v[17]:
        return "身份证号校验位不正确，请核对后重新输入"
    if age_on(born, today) < ADULT_AGE:
        return f"按身份证号中的出生日期计算未满{ADULT_AGE}周岁（须年满{ADULT_AGE}周岁）"
    return None


def birth_date_of(resident_id: str) -> date:
    v = normalize_resident_id(resident_id)
    return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))


def sex_of(resident_id: str) -> str:
    v = normalize_resident_id(resident_id)
    return "男" if int(v[16]) % 2 else "女"


def is_mobile(value: str) -> bool:
    return bool(MOBILE_RE.fullmatch(value or ""))


def is_qualification_cert(value: str) -> bool:
    return bool(QUAL_CERT_RE.fullmatch((value or "").upper()))


def is_practice_cert(value: str) -> bool:
    return bool(PRACTICE_CERT_RE.fullmatch(value or ""))


def whole_number(value: str | None) -> int | None:
    """A whole number written in ASCII digits within the database's integer range, else None
    (so "²", "١٢", "-1" or 10**30 never reach ``int()`` or a query)."""
    if value and value.isascii() and value.isdigit() and len(value) <= 10 and int(value) <= MAX_ID:
        return int(value)
    return None


def mask_id(value: str | None) -> str:
    """Mask a resident ID for anyone but its owner: 1401**********0034."""
    if not value:
        return ""
    return value[:4] + "*" * (len(value) - 8) + value[-4:] if len(value) > 8 else "****"


def mask_mobile(value: str | None) -> str:
    """Mask a mobile number: 151****0658."""
    if not value:
        return ""
    return value[:3] + "****" + value[-4:] if len(value) >= 8 else "****"
